#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Janus restarts under a running capture: the output keeps going (the
slate) and the capture rejoins by itself, with backoff, and mixes the
people who join afterwards.

Janus VideoRoom in the test's network namespace, two webrtcbin publishers
(red VP8 440 Hz, blue H.264 880 Hz), stagecast-capture publishing the mix
to stagecast-relay. The test SIGKILLs Janus and starts it again on the
same port (conference.restart()); the publishers lose their sessions and
exit, as the rig's publishers do. Then:

- during the outage the relay's stream stays live on the same RTMP
  connection (/v1/streams/mix: live, same publisher.since, bytes_in
  growing) and the capture keeps encoding (frames_out_total growing); with
  nobody left, the picture is the slate (no red, no blue);
- the capture rejoins the room by itself: its own participant shows up in
  Janus's listparticipants again (bound: REJOIN_LIMIT_S after Janus
  answers again; the capture's backoff is 0.5 s doubling);
- two new publishers (green VP8 660 Hz, yellow H.264 550 Hz) join; they
  are in the capture's mix within JOIN_LIMIT_S of being up in Janus (the
  issue's 2 s for a new publisher plus polling), and their colours and
  tones are in the output.
Root only.
"""

import time

import captest as ct
import conference as c
import harness as h
import mixcheck as mx

SIZE = (640, 360)
SLATE_RGB = 0x14286e  # sc_mixvid_slate (Y 52, U 162, V 114) in BT.601 RGB
REJOIN_LIMIT_S = 5.0
JOIN_LIMIT_S = 3.0


def relay_state(relay):
    s = relay.stream('mix') or {}
    return s.get('live'), (s.get('publisher') or {}).get('since'), s.get('bytes_in', 0)


def frames_out(cap):
    return h.metric(cap.metrics(), 'stagecast_capture_frames_out_total')


def check_picture(t, url, present, absent, what):
    rgb = mx.grab_rgb(url, SIZE, skip=2.5)
    spots = []
    for name, colour in present:
        frac, centre = mx.find_colour(rgb, SIZE, colour)
        h.log('%s: %s covers %.1f%% at %s' % (what, name, 100 * frac, centre))
        t.check(frac > 0.03, '%s: %s is in the picture (%.1f%%)' % (what, name, 100 * frac))
        spots.append(centre)
    for name, colour in absent:
        frac, _ = mx.find_colour(rgb, SIZE, colour)
        t.check(frac < 0.005, '%s: %s is not in the picture (%.2f%%)' % (what, name, 100 * frac))
    if len(spots) == 2:
        t.check(abs(spots[0][0] - spots[1][0]) + abs(spots[0][1] - spots[1][1]) > 60,
                '%s: each has its own tile' % what, spots)
    return rgb


def check_sound(t, url, present, what):
    pcm, rate = mx.grab_pcm(url, 2, skip=2.5)
    levels = mx.tone_levels(pcm, rate, [hz for _, hz in present])
    h.log('%s: tone levels %s' % (what, {k: round(v, 3) for k, v in levels.items()}))
    for name, hz in present:
        t.check(levels[hz] > 0.05, '%s: %s\'s %d Hz is heard (%.3f)' % (what, name, hz,
                                                                         levels[hz]))


def main(t):
    conf = c.Conference(t, room=1234, publishers=9).start()
    old = [conf.add_publisher('red', color=0xff0000, tone=440, codec='vp8'),
           conf.add_publisher('blue', color=0x0000ff, tone=880, codec='h264')]
    relay = h.Relay(t).start()
    cap = ct.Capture(t, conf, relay)
    relay.wait_live('mix', timeout=15)
    cap.wait_names(['blue', 'red'])
    time.sleep(2)  # decoders on their first key frames
    check_picture(t, relay.rtmp('mix'), [('red', 0xff0000), ('blue', 0x0000ff)], [],
                  'before the restart')
    me0 = ct.in_room(conf)
    t.check(len(me0) == 1, 'Janus lists the capture as a participant (id %s)' % me0)
    live0, since0, bytes0 = relay_state(relay)
    fo0 = frames_out(cap)

    # Janus goes away and comes back on the same port.
    t0 = time.monotonic()
    conf.restart()
    t_back = time.monotonic()
    h.log('Janus killed and back in %.2f s' % (t_back - t0))
    t.wait('the old publishers exit with their sessions',
           lambda: not any(p.alive() for p in old), 15, 0.1)
    h.log('old publishers exited (%s) %.2f s after the restart'
          % (', '.join('%s %s' % (p.name, p.proc.returncode) for p in old),
             time.monotonic() - t0))
    for p in old:
        conf.publishers.remove(p)

    # The capture rejoins by itself; meanwhile the output keeps running.
    samples = []

    def rejoined():
        samples.append((time.monotonic() - t0, relay_state(relay), cap.names()))
        return ct.in_room(conf)
    me1 = t.wait('the capture is back in the room', rejoined, 15, 0.1)
    t_rejoin = time.monotonic()
    h.log('capture rejoined %.2f s after Janus answered again (%.2f s after the kill); '
          'Janus id %s -> %s' % (t_rejoin - t_back, t_rejoin - t0, me0, me1))
    t.check(t_rejoin - t_back <= REJOIN_LIMIT_S, 'capture rejoined within %.0f s of Janus '
            'coming back (%.2f s)' % (REJOIN_LIMIT_S, t_rejoin - t_back))
    t.wait('the old publishers left the capture\'s mix', lambda: cap.names() == [], 10)
    check_picture(t, relay.rtmp('mix'), [('slate', SLATE_RGB)],
                  [('red', 0xff0000), ('blue', 0x0000ff)], 'nobody in the room (slate)')
    live1, since1, bytes1 = relay_state(relay)
    fo1 = frames_out(cap)
    h.log('during the outage: relay live %s, publisher since %s (before %s), bytes_in %d -> '
          '%d; capture frames_out %d -> %d' % (live1, since1, since0, bytes0, bytes1, fo0, fo1))
    not_live = [s for s in samples if s[1][0] is not True]
    t.check(live0 and live1 and not not_live, 'the relay stream stayed live', not_live[:2])
    t.check(since1 == since0 and all(s[1][1] == since0 for s in samples),
            'same RTMP publish session at the relay (since %s)' % since0)
    t.check(bytes1 > bytes0 and fo1 - fo0 >= 10 * (time.monotonic() - t0),
            'output kept flowing (bytes_in +%d, frames_out +%d in %.1f s)'
            % (bytes1 - bytes0, fo1 - fo0, time.monotonic() - t0))

    # New people join after the restart; the capture mixes them.
    new = [conf.add_publisher('green', color=0x00ff00, tone=660, codec='vp8'),
           conf.add_publisher('yellow', color=0xffff00, tone=550, codec='h264')]
    t_ready = time.monotonic()
    cap.wait_names(['green', 'yellow'], timeout=15)
    joined = time.monotonic() - t_ready
    h.log('green and yellow in the capture\'s mix %.2f s after both were up in Janus '
          '(%.2f s after the Janus kill)' % (joined, time.monotonic() - t0))
    t.check(joined <= JOIN_LIMIT_S, 'new publishers mixed within %.0f s (%.2f s)'
            % (JOIN_LIMIT_S, joined))
    time.sleep(1)
    check_picture(t, relay.rtmp('mix'), [('green', 0x00ff00), ('yellow', 0xffff00)],
                  [('red', 0xff0000), ('blue', 0x0000ff)], 'after the restart')
    h.log('colours in the output %.2f s after the new publishers were up (includes the '
          '2.5 s skip past the relay\'s cached GOP)' % (time.monotonic() - t_ready))
    check_sound(t, relay.rtmp('mix'), [('green', 660), ('yellow', 550)], 'after the restart')
    t.check(relay_state(relay)[1] == since0, 'still the same RTMP publish session')

    for p in new:
        p.stop()
    t.equal(cap.stop(), 0, 'capture exit code after SIGTERM')
    t.equal(relay.stop(), 0, 'relay exit code after SIGTERM')


if __name__ == '__main__':
    h.run(main)
