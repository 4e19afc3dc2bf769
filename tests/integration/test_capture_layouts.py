#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""stagecast-capture's layouts and profiles against the real rig.

- speaker: two publishers, one loud and one quiet (webrtc_publisher.py
  --volume/--volume2; SIGUSR1 swaps the two levels). The loud one's colour
  covers a much larger area; a half-second swap does not move the big tile
  (hysteresis); a lasting swap moves it within ~3 s, not at once.
- single:NAME: only NAME's colour, the whole height, letterboxed (a 4:3
  publisher on a 16:9 canvas); the slate once NAME has left.
- 720p30 and 1080p30: the size and frame rate of what the relay gets.
Root only (network namespace).
"""

import json
import os
import signal
import time

import conference as c
import harness as h
import mixcheck as mx

SIZE = (640, 360)
RED, GREEN = 0xff0000, 0x00ff00
SLATE = 0x14286e  # capture/mixer_video.c: sc_mixvid_slate, RGB(20, 40, 110)
BLACK = 0x000000
LOUD, QUIET = 0.5, 0.01


def capture_binary():
    exe = os.environ.get('STAGECAST_CAPTURE') or os.path.join(h.BUILD_DIR, 'capture',
                                                              'stagecast-capture')
    if not os.access(exe, os.X_OK):
        raise h.Skip('no stagecast-capture at %s' % exe)
    return exe


class Capture:
    def __init__(self, t, conf, relay, name, layout, profile='360p15', extra=()):
        self.t = t
        self.port = h.free_port()
        self.url = relay.rtmp(name)
        self.proc = h.Proc(t, 'capture-%s' % name,
                           [capture_binary(), '--conference', conf.url, '--output', self.url,
                            '--profile', profile, '--layout', layout, '--bind-address',
                            c.ICE_IP, '--status', '127.0.0.1:%d' % self.port] + list(extra))
        self.proc.must_live = True
        relay.wait_live(name, 15)

    def status(self):
        r = h.http_get('http://127.0.0.1:%d/v1/status' % self.port, timeout=3)
        return r.json() if r.status == 200 else None

    def names(self):
        return sorted(p['display'] for p in (self.status() or {}).get('participants', []))

    def speaker(self):
        return ((self.status() or {}).get('output') or {}).get('speaker')

    def wait_names(self, names, timeout=15):
        want = sorted(names)
        return self.t.wait('capture mixes %s' % want, lambda: self.names() == want, timeout)

    def wait_pictures(self, timeout=15):
        """Until every participant's pictures are decoded (fps measured)."""
        def ok():
            parts = (self.status() or {}).get('participants', [])
            return parts and all(p['video']['fps'] > 0 for p in parts)
        return self.t.wait('every participant has pictures', ok, timeout)

    def stop(self):
        self.proc.must_live = False
        return self.proc.stop(15)


def covers(t, url, what, colours):
    """{name: fraction of the picture} for one frame of url."""
    rgb = mx.grab_rgb(url, SIZE, skip=2.5)
    out = {}
    for name, colour in colours.items():
        out[name] = mx.find_colour(rgb, SIZE, colour)[0]
    h.log('%s: %s' % (what, {k: '%.1f%%' % (100 * v) for k, v in out.items()}))
    return out


def swap(pubs):
    for p in pubs:
        p.proc.send_signal(signal.SIGUSR1)


def check_speaker(t, conf, relay):
    vol = ['--volume', str(LOUD), '--volume2', str(QUIET)]
    red = conf.add_publisher('red', color=RED, tone=440, extra=vol)
    green = conf.add_publisher('green', color=GREEN, tone=660,
                               extra=['--volume', str(QUIET), '--volume2', str(LOUD)])
    cap = Capture(t, conf, relay, 'speaker', 'speaker')
    cap.wait_names(['green', 'red'])
    cap.wait_pictures()
    t.wait('red (loud) is the speaker', lambda: cap.speaker() == 'red', 6)
    f = covers(t, cap.url, 'red loud', {'red': RED, 'green': GREEN})
    t.check(f['red'] > 0.3, 'speaker: the loud one (red) is large (%.1f%%)' % (100 * f['red']))
    t.check(0.003 < f['green'] < f['red'] / 4,
            'speaker: the quiet one (green) is small but there (%.1f%% vs %.1f%%)'
            % (100 * f['green'], 100 * f['red']))

    # A half-second swap: the big tile stays (hysteresis).
    swap([red, green])
    time.sleep(0.5)
    swap([red, green])
    t0 = time.monotonic()
    seen = set()
    while time.monotonic() - t0 < 3.5:
        seen.add(cap.speaker())
        time.sleep(0.1)
    h.log('speakers seen after a 0.5 s swap: %s' % sorted(x or '' for x in seen))
    t.equal(seen, {'red'}, 'a 0.5 s swap does not move the big tile')

    # A lasting swap: green becomes the speaker, not at once, within ~3 s.
    t0 = time.monotonic()
    swap([red, green])
    t.wait('green (now loud) becomes the speaker', lambda: cap.speaker() == 'green', 8, 0.05)
    took = time.monotonic() - t0
    h.log('the speaker moved %.2f s after the levels swapped' % took)
    t.check(1.2 <= took <= 3.0, 'speaker switch after ~1.5 s of hysteresis, within 3 s '
            '(%.2f s)' % took)
    f = covers(t, cap.url, 'green loud', {'red': RED, 'green': GREEN})
    t.check(f['green'] > 0.3, 'speaker: green is large now (%.1f%%)' % (100 * f['green']))
    t.check(0.003 < f['red'] < f['green'] / 4, 'speaker: red is small now (%.1f%% vs %.1f%%)'
            % (100 * f['red'], 100 * f['green']))
    t.equal(cap.stop(), 0, 'speaker capture: exit code after SIGTERM')
    return red, green


def check_single(t, conf, relay, red):
    # green as 4:3 on the 16:9 canvas: 480x360 fits 75% of the width.
    green = conf.add_publisher('green', color=GREEN, tone=660, size=(480, 360))
    cap = Capture(t, conf, relay, 'single', 'single:green')
    cap.wait_names(['green', 'red'])
    cap.wait_pictures()
    f = covers(t, cap.url, 'single:green', {'red': RED, 'green': GREEN, 'black': BLACK,
                                            'slate': SLATE})
    t.check(0.70 <= f['green'] <= 0.80, 'single: green fills the height, 4:3 in 16:9 '
            '(%.1f%%, 75%% expected)' % (100 * f['green']))
    t.check(0.20 <= f['black'] <= 0.30, 'single: black bars at the sides (%.1f%%)'
            % (100 * f['black']))
    t.check(f['red'] < 0.002, 'single: red is not shown (%.2f%%)' % (100 * f['red']))
    rgb = mx.grab_rgb(cap.url, SIZE, skip=2.5)
    _, centre = mx.find_colour(rgb, SIZE, GREEN)
    t.check(centre and abs(centre[0] - SIZE[0] / 2) < 20 and abs(centre[1] - SIZE[1] / 2) < 20,
            'single: green is centred', centre)

    t.equal(green.stop(), 0, 'green leaves')
    cap.wait_names(['red'], 10)
    time.sleep(1)
    f = covers(t, cap.url, 'single:green, green gone', {'red': RED, 'green': GREEN,
                                                         'slate': SLATE})
    t.check(f['slate'] > 0.85, 'single: the slate once green has left (%.1f%%)'
            % (100 * f['slate']))
    t.check(f['red'] < 0.002 and f['green'] < 0.002, 'single: nobody else is shown instead')
    t.equal(cap.stop(), 0, 'single capture: exit code after SIGTERM')


def check_profile(t, conf, relay, profile, size, fps):
    name = 'p%s' % profile
    cap = Capture(t, conf, relay, name, 'grid', profile)
    cap.wait_names(['red'])
    info = h.ffprobe(cap.url)
    s = h.streams_by_type(info)
    got = h.fps(s['video'])
    h.log('%s: %dx%d at %.2f fps (%s)' % (profile, s['video']['width'], s['video']['height'],
                                         got, s['video'].get('profile')))
    t.equal((s['video']['width'], s['video']['height']), size, '%s: size' % profile)
    t.check(abs(got - fps) < 0.5, '%s: frame rate %d (%.2f)' % (profile, fps, got))
    n = h.count_packets(cap.url, 6)
    time.sleep(3)
    out = cap.status()['output']
    h.log('%s: status output %s; %d video packets in 6 s of media' % (profile, json.dumps(out),
                                                                      n))
    t.check(abs(out['fps_out'] - fps) <= 0.1 * fps, '%s: output fps ~%d (%.2f)'
            % (profile, fps, out['fps_out']))
    t.check(out['encode_speed'] > 1, '%s: encode_speed > 1 (%.2f)' % (profile,
                                                                     out['encode_speed']))
    t.check(n >= 5.5 * fps, '%s: %d video packets in 6 s of media' % (profile, n))
    t.equal(cap.stop(), 0, '%s capture: exit code after SIGTERM' % profile)


def main(t):
    capture_binary()
    conf = c.Conference(t, room=1234, publishers=9).start()
    relay = h.Relay(t).start()
    failed = []
    only = [x for x in os.environ.get('SC_ONLY_PARTS', '').split(',') if x]

    def part(what, fn, *args):
        if only and what not in only:
            h.log('skipping part %s (SC_ONLY_PARTS)' % what)
            return None
        try:
            return fn(*args)
        except h.Failure as e:
            h.log('FAILED (%s): %s' % (what, e))
            failed.append('%s: %s' % (what, e))
            return None

    part('speaker', check_speaker, t, conf, relay)
    for p in list(conf.publishers):
        p.stop()
    red = conf.add_publisher('red', color=RED, tone=440)
    part('single', check_single, t, conf, relay, red)
    part('720p30', check_profile, t, conf, relay, '720p30', (1280, 720), 30)
    part('1080p30', check_profile, t, conf, relay, '1080p30', (1920, 1080), 30)
    t.equal(relay.stop(), 0, 'relay exit code after SIGTERM')
    if failed:
        raise h.Failure('%d part(s) failed:\n  %s' % (len(failed), '\n  '.join(failed)))


if __name__ == '__main__':
    h.run(main)
