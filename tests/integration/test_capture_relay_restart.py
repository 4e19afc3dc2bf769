#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The relay dies mid-stream and comes back: the capture's output resumes
within 2 s and the capture never leaves the room.

Janus VideoRoom in the test's network namespace, two webrtcbin publishers
(red VP8 440 Hz, blue H.264 880 Hz), stagecast-capture publishing the mix
to stagecast-relay. The test SIGKILLs the relay (by PID), starts a new one
on the same ports after RELAY_GAP_S, and measures the time from the new
relay accepting connections to /v1/streams/mix showing live again
(bound: 2 s, the issue's number; the capture's backoff is at most 1.75 s
plus the connect).

"Never left the room", as far as it can be observed from outside: during
the outage and after it Janus's listparticipants keeps the capture's own
participant (it joins as a non-publishing participant to follow the room)
with the same id, the capture's /v1/status keeps the same two
participants, its transport rx_packets keep growing (media still flows
from Janus), its log shows no new join or WebRTC set-up, and Janus creates
no new session or handle (its log). Afterwards
the output shows the mix again: both colours in their tiles, both tones.
Root only.
"""

import os
import signal
import time

import captest as ct
import conference as c
import harness as h
import mixcheck as mx

SIZE = (640, 360)
RELAY_GAP_S = 0.8  # between the kill and the new relay's start
LIMIT_S = 2.0


def rx_packets(cap):
    st = cap.status() or {}
    return (st.get('transport') or {}).get('rx_packets'), sorted(
        (p['id'], p['display']) for p in st.get('participants', []))


def janus_counts(conf):
    text = conf.proc.output()
    return text.count('Creating new session:'), text.count('Creating new handle in session')


def main(t):
    conf = c.Conference(t, room=1234, publishers=9).start()
    conf.add_publisher('red', color=0xff0000, tone=440, codec='vp8')
    conf.add_publisher('blue', color=0x0000ff, tone=880, codec='h264')
    relay = h.Relay(t).start()
    cap = ct.Capture(t, conf, relay)
    relay.wait_live('mix', timeout=15)
    cap.wait_names(['blue', 'red'])
    time.sleep(2)

    me0 = ct.in_room(conf)
    t.check(len(me0) == 1, 'Janus lists the capture as a participant (id %s)' % me0)
    rx0, parts0 = rx_packets(cap)
    sessions0, handles0 = janus_counts(conf)
    caplog0 = cap.proc.output()
    h.log('before: rx_packets %s, participants %s, Janus sessions %d handles %d'
          % (rx0, parts0, sessions0, handles0))

    # Kill the relay by PID, wait RELAY_GAP_S, start a new one on the same ports.
    pid = relay.proc.pid
    relay.proc.must_live = False
    t_kill = time.monotonic()
    os.kill(pid, signal.SIGKILL)
    t.equal(relay.proc.wait(5), -signal.SIGKILL, 'relay killed')
    samples = []
    while time.monotonic() - t_kill < RELAY_GAP_S:
        samples.append(rx_packets(cap))
        time.sleep(0.1)
    relay2 = h.Relay(t, name='relay2', rtmp_port=relay.rtmp_port, http_port=relay.http_port)
    os.makedirs(relay2.hls_dir, exist_ok=True)
    relay2.proc = h.Proc(t, 'relay2', [relay2.exe, '--rtmp', '127.0.0.1:%d' % relay2.rtmp_port,
                                       '--http', '127.0.0.1:%d' % relay2.http_port,
                                       '--hls-dir', relay2.hls_dir, '--log-level', 'debug'])
    relay2.proc.must_live = True
    t_start = time.monotonic()
    while not h.port_open(relay2.rtmp_port):
        if time.monotonic() - t_start > 10:
            raise h.Failure('the new relay does not listen on %d' % relay2.rtmp_port)
        if not relay2.proc.alive():
            raise h.Failure('the new relay exited: %s' % relay2.proc.tail(20))
        time.sleep(0.01)
    t_accept = time.monotonic()
    h.wait_for_port(relay2.http_port, 10, relay2.proc)
    h.log('relay killed; the new one accepts RTMP %.2f s later (started %.2f s after the kill)'
          % (t_accept - t_kill, t_start - t_kill))

    during = [ct.in_room(conf)]

    def live():
        samples.append(rx_packets(cap))
        return (relay2.stream('mix') or {}).get('live') is True
    t.wait('the capture is live at the new relay', live, 10, 0.05)
    t_live = time.monotonic()
    resumed = t_live - t_accept
    h.log('output resumed %.2f s after the new relay accepted connections (%.2f s after the '
          'kill); each /v1 poll adds up to 0.05 s + its own time' % (resumed, t_live - t_kill))
    t.check(resumed <= LIMIT_S, 'output resumes within %.1f s of the relay coming back '
            '(%.2f s)' % (LIMIT_S, resumed))

    # The conference side during the outage.
    # (the status is a snapshot renewed twice a second: count the distinct values)
    vals = [rx0] + [rx for rx, _ in samples if rx is not None]
    rxs = sorted(set(vals))
    h.log('rx_packets during the outage: %s' % rxs)
    t.check(len(rxs) >= 3 and all(a <= b for a, b in zip(vals, vals[1:])),
            'media kept arriving during the outage (rx_packets %s)' % rxs)
    changed = [p for _, p in samples if p and p != parts0]
    t.check(not changed, 'same participants in the capture throughout', changed[:1])
    # (/v1/status is a snapshot renewed twice a second)
    st = t.wait('status: output connected again after a reconnect',
                lambda: (lambda s: s if s and s['output']['connected'] and
                         s['output']['reconnects'] >= 1 else None)(cap.status()), 3, 0.1)
    h.log('capture output status: %s' % st['output'])

    # The mix is back: both colours in their tiles, both tones.
    time.sleep(1)
    rgb = mx.grab_rgb(relay2.rtmp('mix'), SIZE, skip=1.0)
    spots = []
    for name, colour in (('red', 0xff0000), ('blue', 0x0000ff)):
        frac, centre = mx.find_colour(rgb, SIZE, colour)
        h.log('after the restart: %s covers %.1f%% at %s' % (name, 100 * frac, centre))
        t.check(frac > 0.03, 'after the restart: %s is in the picture (%.1f%%)'
                % (name, 100 * frac))
        spots.append(centre)
    t.check(abs(spots[0][0] - spots[1][0]) > 60, 'after the restart: each has its own tile',
            spots)
    pcm, rate = mx.grab_pcm(relay2.rtmp('mix'), 2, skip=1.0)
    levels = mx.tone_levels(pcm, rate, [440, 880])
    h.log('after the restart: tone levels %s' % {k: round(v, 3) for k, v in levels.items()})
    t.check(levels[440] > 0.05 and levels[880] > 0.05, 'after the restart: both tones heard')

    # Nothing rejoined: the capture's log and Janus's.
    rx1, parts1 = rx_packets(cap)
    me1 = ct.in_room(conf)
    t.check(during[0] == me0 and me1 == me0, 'Janus kept the capture in the room, same id '
            '(%s during the outage, %s after)' % (during[0], me1))
    sessions1, handles1 = janus_counts(conf)
    new_log = cap.proc.output()[len(caplog0):]
    rejoin = [line for line in new_log.splitlines()
              if 'joining' in line or 'webrtc:' in line or 'joined the mix' in line or
              'left the mix' in line]
    h.log('after: rx_packets %s, Janus sessions %d handles %d; capture log since: %s'
          % (rx1, sessions1, handles1, [x for x in new_log.splitlines() if x][:8]))
    t.check(parts1 == parts0, 'the capture still mixes the same participants')
    t.check(not rejoin, 'the capture did not rejoin or renegotiate', rejoin)
    t.equal((sessions1, handles1), (sessions0, handles0),
            'no new Janus session or handle (sessions, handles)')

    t.equal(cap.stop(), 0, 'capture exit code after SIGTERM')
    t.equal(relay2.stop(), 0, 'relay exit code after SIGTERM')


if __name__ == '__main__':
    h.run(main)
