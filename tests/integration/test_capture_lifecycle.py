#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""stagecast-capture's lifecycle: exit codes, auto-stop, SIGTERM, status.

Against the real rig (Janus VideoRoom in the test's network namespace,
GStreamer webrtcbin publishers, stagecast-relay):
- exit codes: --help (0, lists the codes), bad flags (2, the message names
  the flag), a publish token the relay refuses for good (7: older fence,
  expired; the same fence as the live publisher is retried instead), a room that does not exist (3), a wrong pin (4), a Janus port
  nobody listens on or that never answers (5, within ~10 s);
- --empty-timeout in an empty room: exit 0 by itself after the timeout,
  the slate on the relay meanwhile; with a participant, the timer counts
  from the moment the room empties;
- --max-duration: exit 0 after it (here in a room with a pin, so a right
  pin is shown to work too);
- SIGTERM: exit 0 within 3 s, the RTMP stream ends with FCUnpublish /
  deleteStream at the relay, the capture's own participant leaves Janus;
- --status: /healthz, /metrics, /v1/status with the participants and the
  output's numbers.
Root only (network namespace).
"""

import json
import os
import re
import signal
import socket
import time

import conference as c
import harness as h

SLATE = (20, 40, 110)  # capture/mixer_video.c: sc_mixvid_slate, BT.601 limited
SMALL = (64, 36)
OWN_NAME = 'sc-lifecycle'  # the capture's --display in the room


def capture_binary():
    exe = os.environ.get('STAGECAST_CAPTURE') or os.path.join(h.BUILD_DIR, 'capture',
                                                              'stagecast-capture')
    if not os.access(exe, os.X_OK):
        raise h.Skip('no stagecast-capture at %s' % exe)
    return exe


def start_capture(t, conf_url, relay, name, extra=(), status_port=None, proc_name='capture'):
    argv = [capture_binary(), '--conference', conf_url, '--output', relay.rtmp(name),
            '--profile', '360p15', '--bind-address', c.ICE_IP, '--display', OWN_NAME]
    if status_port:
        argv += ['--status', '127.0.0.1:%d' % status_port]
    return h.Proc(t, proc_name, argv + list(extra))


def timed_exit(proc, t0, timeout):
    """(exit code or None, seconds from t0 to the exit)."""
    code = proc.wait(timeout)
    return code, time.monotonic() - t0


def status(port):
    r = h.http_get('http://127.0.0.1:%d/v1/status' % port, timeout=3)
    return r.json() if r.status == 200 else None


def names_in_mix(port):
    return sorted(p['display'] for p in (status(port) or {}).get('participants', []))


def own_ids(conf, room=None):
    """Janus's participants that are the capture itself (it joins as a
    publisher that never publishes, to get the room's events)."""
    return [p['id'] for p in conf.participants(room) if p.get('display') == OWN_NAME]


class Recorder:
    """ffmpeg playing a relay stream from before it is published until it
    ends: every video frame, shrunk to SMALL, as RGB24 in a file."""

    def __init__(self, t, url, name):
        self.path = t.path('%s.rgb' % name)
        argv = [h.which('ffmpeg'), '-v', 'error', '-nostdin', '-y', '-rw_timeout', '15000000',
                '-i', url, '-map', '0:v:0', '-fps_mode', 'passthrough', '-vf',
                'scale=%d:%d:flags=area,format=rgb24' % SMALL, '-f', 'rawvideo', self.path]
        self.proc = h.Proc(t, 'rec-%s' % name, argv)

    def finish(self, timeout=10):
        """Waits for ffmpeg to end (the stream ended or went silent); frames."""
        if self.proc.wait(timeout) is None:
            self.proc.stop(5, sig=signal.SIGINT)
        with open(self.path, 'rb') as f:
            data = f.read()
        n = SMALL[0] * SMALL[1] * 3
        return [data[i:i + n] for i in range(0, len(data) - n + 1, n)]


def colour_fraction(rgb, colour, tol=40):
    cr, cg, cb = colour
    n = len(rgb) // 3
    hit = 0
    for i in range(0, n * 3, 3):
        if abs(rgb[i] - cr) < tol and abs(rgb[i + 1] - cg) < tol and abs(rgb[i + 2] - cb) < tol:
            hit += 1
    return hit / n


# ---------------------------------------------------------------- (a) exit codes

def check_flags(t, exe, relay):
    code, out, err = h.run_tool([exe, '--help'], 10)
    t.equal(code, 0, '--help exit code')
    for n in range(8):
        t.check(re.search(r'^\s*%d\s+\S' % n, out, re.M) is not None,
                '--help lists exit code %d' % n)
    out_url = relay.rtmp('flags')
    good = ['--conference', 'janus://127.0.0.2:8088/1234', '--output', out_url]
    cases = [
        ('no --output', ['--conference', 'janus://127.0.0.2:8088/1234'], '--output'),
        ('no --conference', ['--output', out_url], '--conference'),
        ('bad --profile', good + ['--profile', '4k60'], '--profile'),
        ('bad --layout', good + ['--layout', 'mosaic'], '--layout'),
        ('bad --layout single:', good + ['--layout', 'single:'], '--layout'),
        ('non-rtmp --output', ['--conference', 'janus://127.0.0.2:8088/1234', '--output',
                               'http://127.0.0.1:8080/live/x'], '--output'),
        ('unknown conference scheme', ['--conference', 'sip://127.0.0.2/1234', '--output',
                                       out_url], '--conference'),
        ('bad --empty-timeout', good + ['--empty-timeout', 'soon'], '--empty-timeout'),
        ('bad --max-duration', good + ['--max-duration', '-5s'], '--max-duration'),
        ('bad --status', good + ['--status', 'nowhere'], '--status'),
        ('unknown flag', good + ['--frobnicate'], '--frobnicate'),
    ]
    for what, args, flag in cases:
        t0 = time.monotonic()
        code, out, err = h.run_tool([exe] + args, 10)
        h.log('%s: exit %s in %.2f s: %s' % (what, code, time.monotonic() - t0,
                                               err.strip().splitlines()[:1]))
        t.equal(code, 2, '%s: exit code' % what)
        t.check(flag in err, '%s: the message names %s' % (what, flag), err.strip()[-300:])

    # The example config shipped with the systemd unit parses: with it the
    # only complaint is about the flag given on the command line.
    example = os.path.join(h.SOURCE_DIR, 'systemd', 'capture.conf.example')
    if os.path.exists(example):
        code, _, err = h.run_tool([exe, '--config', example, '--profile', '4k60'], 10)
        t.equal(code, 2, 'example config + bad --profile: exit code')
        t.check('--profile' in err and 'capture.conf.example' not in err,
                'systemd/capture.conf.example parses (only --profile is refused)', err.strip())
    bad_conf = t.path('bad.conf')
    with open(bad_conf, 'w') as f:
        f.write('conference = janus://127.0.0.2:8088/1234\noutput = %s\nprofil = 720p30\n'
                % out_url)
    code, _, err = h.run_tool([exe, '--config', bad_conf], 10)
    t.equal(code, 2, 'config file with an unknown key: exit code')
    t.check('profil' in err and ('bad.conf' in err or ':3' in err),
            'config file error names the key and the place', err.strip())


def expect_exit(t, exe, relay, conf_url, want, words, limit, what, runs=1):
    """The capture ends by itself with `want` within `limit` s, saying one of words."""
    for i in range(runs):
        t0 = time.monotonic()
        p = start_capture(t, conf_url, relay, 'exit%d' % want, proc_name='capture-exit%d' % want)
        code, took = timed_exit(p, t0, limit + 5)
        if code is None:
            p.stop(timeout=3)
            raise h.Failure('%s: still running after %.1f s (run %d of %d; want exit %d): %s'
                            % (what, took, i + 1, runs, want, p.tail(8)))
        text = p.output()
        lines = [ln for ln in text.splitlines() if 'error' in ln.lower()]
        h.log('%s: exit %s after %.2f s (run %d): %s' % (what, code, took, i + 1, lines[:2]))
        t.equal(code, want, '%s: exit code (run %d)' % (what, i + 1))
        t.check(took <= limit, '%s: exits within %g s (%.2f s)' % (what, limit, took))
        t.check(any(re.search(w, text, re.I) for w in words),
                '%s: the message says why (%s)' % (what, ' or '.join(words)), lines[-3:])


def sign(t, secret_file, name, fence, ttl=3600):
    code, out, err = h.run_tool([h.relay_binary(), '--sign-token', name, '--fence', fence,
                                 '--ttl', ttl, '--secret-file', secret_file], 10)
    t.check(code == 0 and out.strip(), 'sign-token %s fence %s' % (name, fence), err)
    return out.strip()


def check_refused_token(t, exe, conf):
    """A token the relay will never take ends the capture with exit 7 at
    once; a name held by a publisher of the same fence is retried."""
    secret = t.path('lifecycle-secret')
    with open(secret, 'w') as f:
        f.write(os.urandom(32).hex() + '\n')
    os.chmod(secret, 0o600)
    relay = h.Relay(t, args=['--secret-file', secret], name='relay-secret').start()
    conf_url = 'janus://%s:%d/1234' % (conf.host, conf.http_port)
    name = 'fenced'

    def capture(fence, what, ttl=3600):
        token = sign(t, secret, name, fence, ttl)
        if ttl < 10:
            time.sleep(ttl + 1.5)  # expiry is in whole seconds
        argv = [exe, '--conference', conf_url, '--output', relay.rtmp(name) + '?token=' + token,
                '--profile', '360p15', '--bind-address', c.ICE_IP, '--display', OWN_NAME]
        return h.Proc(t, what, argv)

    newer = capture(2, 'capture-fence2')
    t.wait('fence 2 publishes', lambda: ((relay.stream(name) or {}).get('publisher') or {})
           .get('fence') == 2, 15, interval=0.1)
    for what, fence, ttl in (('an older fence', 1, 3600), ('the same fence', 2, 3600),
                             ('an expired token', 3, 1)):
        p = capture(fence, 'capture-%s' % what.replace(' ', '-'), ttl)
        t0 = time.monotonic()
        if fence == 2:
            # Held by a live publisher with this fence: maybe our own
            # earlier connection, so the capture keeps trying.
            code = p.wait(6)
            t.check(code is None, '%s: still retrying after 6 s (exit %s)' % (what, code),
                    p.tail(5))
            t.check(re.search(r'already has a publisher', p.output()) is not None,
                    '%s: says the name is held' % what, p.tail(5))
            p.stop()
            continue
        code, took = timed_exit(p, t0, 15)
        if code is None:
            p.stop()
        h.log('%s: exit %s after %.2f s' % (what, code, took))
        t.equal(code, 7, '%s: exit code' % what)
        t.check(took < 10, '%s: gives up at once (%.2f s)' % (what, took))
        t.check(re.search(r'refused the publish: token', p.output()) is not None,
                '%s: the message says the relay refused the token' % what, p.tail(5))
    st = relay.stream(name) or {}
    t.equal((st.get('publisher') or {}).get('fence'), 2, 'fence 2 kept publishing')
    newer.send_signal(signal.SIGTERM)
    t.equal(newer.wait(10), 0, 'fence 2 capture: SIGTERM exit 0')
    relay.stop()


def silent_listener():
    """A TCP port that accepts connections (the kernel does) and never answers."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((c.ICE_IP, 0))
    s.listen(16)
    return s


# ---------------------------------------------------------------- (b) (c) auto-stop

def check_empty_room(t, conf, relay):
    """--empty-timeout 3s in an empty room: exits 0 by itself; slate meanwhile."""
    rec = Recorder(t, relay.rtmp('empty'), 'empty')
    time.sleep(0.5)  # the player is waiting at the relay
    t0 = time.monotonic()
    p = start_capture(t, conf.url, relay, 'empty', ['--empty-timeout', '3s'],
                      proc_name='capture-empty')
    code, took = timed_exit(p, t0, 15)
    h.log('empty room, --empty-timeout 3s: exit %s after %.2f s' % (code, took))
    if code is None:
        p.stop(3)
    t.equal(code, 0, 'empty room: exit code after --empty-timeout')
    t.check(2.9 <= took <= 4.5, 'empty room: stops ~3 s after start (%.2f s)' % took)
    t.check(re.search(r'empty', p.output()) is not None, 'empty room: says why it stopped',
            p.tail(3))
    frames = rec.finish(15)
    fracs = [colour_fraction(f, SLATE) for f in frames]
    h.log('empty room: %d frames at the relay, slate cover min %.2f max %.2f'
          % (len(frames), min(fracs or [0]), max(fracs or [0])))
    t.check(len(frames) >= 15, 'empty room: frames flowed to the relay (%d)' % len(frames))
    t.check(all(x > 0.85 for x in fracs), 'empty room: every frame is the slate',
            [round(x, 2) for x in fracs][:40])
    # Not black, and not a participant's colour: the slate's own blue.
    mean = [sum(f[k::3]) / (len(f) // 3) for f in frames[-1:] for k in range(3)]
    t.check(mean[2] > 80 and mean[0] < 60, 'empty room: slate is the dark blue, not black',
            mean)
    t.wait('relay: the empty-room stream ended', lambda: not (relay.stream('empty') or {})
           .get('live'), 5)


def check_empty_after_leave(t, conf, relay, pub):
    """The empty-timeout counts from the moment the room empties."""
    port = h.free_port()
    t0 = time.monotonic()
    p = start_capture(t, conf.url, relay, 'leave', ['--empty-timeout', '3s'], port,
                      proc_name='capture-leave')
    t.wait('capture mixes %s' % pub.name, lambda: names_in_mix(port) == [pub.name], 15)
    time.sleep(4)  # longer than the timeout: nobody stops while someone is in
    t.check(p.alive(), 'capture still running %.1f s after start with %s in the room'
            % (time.monotonic() - t0, pub.name))
    t_leave = time.monotonic()
    t.equal(pub.stop(), 0, '%s leaves (exit 0)' % pub.name)
    t.wait('capture sees the room empty', lambda: names_in_mix(port) == [] or not p.alive(),
           10, 0.05)
    t_empty = time.monotonic()
    code, _ = timed_exit(p, t_leave, 15)
    t_exit = time.monotonic()
    h.log('after the leave: empty in the mix after %.2f s, exit %s after %.2f s '
          '(%.2f s after the mix emptied)' % (t_empty - t_leave, code, t_exit - t_leave,
                                             t_exit - t_empty))
    if code is None:
        p.stop(3)
    t.equal(code, 0, 'empty after a leave: exit code')
    t.check(2.4 <= t_exit - t_empty <= 4.2,
            'empty timer counts from the leave (%.2f s after the mix emptied)'
            % (t_exit - t_empty))


def check_max_duration(t, conf, relay, room, pin):
    """--max-duration 6s in a room with a pin (the right one): exit 0 at ~6 s."""
    port = h.free_port()
    url = 'janus://%s:%d/%d?pin=%s' % (conf.host, conf.http_port, room, pin)
    t0 = time.monotonic()
    p = start_capture(t, url, relay, 'maxdur', ['--max-duration', '6s'], port,
                      proc_name='capture-maxdur')
    t.wait('the capture is in room %d (right pin)' % room, lambda: own_ids(conf, room), 6, 0.1)
    code, took = timed_exit(p, t0, 15)
    h.log('--max-duration 6s: exit %s after %.2f s' % (code, took))
    if code is None:
        p.stop(3)
    t.equal(code, 0, '--max-duration: exit code')
    t.check(5.9 <= took <= 7.5, '--max-duration: stops at ~6 s (%.2f s)' % took)
    t.check('max-duration' in p.output(), '--max-duration: says why it stopped', p.tail(3))
    t.wait('the capture left room %d' % room, lambda: not own_ids(conf, room), 5)


# ---------------------------------------------------------------- (d) (e) status, SIGTERM

def check_status_and_sigterm(t, conf, relay, pubs):
    port = h.free_port()
    p = start_capture(t, conf.url, relay, 'live', ['--layout', 'grid'], port,
                      proc_name='capture-live')
    p.must_live = True
    want = sorted(x.name for x in pubs)
    t.wait('capture mixes %s' % want, lambda: names_in_mix(port) == want, 15)
    relay.wait_live('live', 15)

    def rates_in():
        # fps is measured over 2 s windows of decoded pictures
        st = status(port) or {}
        parts = st.get('participants', [])
        return len(parts) == len(pubs) and all(x['video']['fps'] > 0 for x in parts)
    t.wait('every participant has a measured frame rate', rates_in, 15)
    time.sleep(2)

    r = h.http_get('http://127.0.0.1:%d/healthz' % port)
    t.equal(r.status, 200, '/healthz status')
    r = h.http_get('http://127.0.0.1:%d/metrics' % port)
    t.equal(r.status, 200, '/metrics status')
    t.check(r.headers.get('Content-Type', '').startswith('text/plain'),
            '/metrics is text/plain', r.headers.get('Content-Type'))
    m = h.parse_metrics(r.text)
    t.equal(h.metric(m, 'stagecast_capture_participants'), float(len(pubs)),
            'stagecast_capture_participants')
    t.equal(h.metric(m, 'stagecast_capture_output_connected'), 1.0,
            'stagecast_capture_output_connected')
    f1 = h.metric(m, 'stagecast_capture_frames_out_total')
    r = h.http_get('http://127.0.0.1:%d/v1/status' % port)
    t.equal(r.status, 200, '/v1/status status')
    t.check(r.headers.get('Content-Type', '').startswith('application/json'),
            '/v1/status is JSON', r.headers.get('Content-Type'))
    st = r.json()
    h.log('status: %s' % json.dumps(st))
    codecs = {x.name: x.codec for x in pubs}
    for part in st['participants']:
        name = part['display']
        v = part.get('video', {})
        kbps = {tr['kind']: tr['kbps'] for tr in part.get('tracks', [])}
        h.log('status: %s video %s %s fps, kbps %s' % (name, v.get('codec'), v.get('fps'), kbps))
        t.equal(str(v.get('codec', '')).lower(), codecs[name], '%s: video codec' % name)
        t.check(12 <= v.get('fps', 0) <= 18, '%s: video fps ~15 (%.1f)' % (name, v.get('fps', 0)))
        # A solid colour compresses to almost nothing: 3-10 kb/s of VP8 or H.264.
        t.check(kbps.get('video', 0) > 0.5, '%s: video kbps > 0.5 (%s)'
                % (name, kbps.get('video')))
        t.check(kbps.get('audio', 0) > 10, '%s: audio kbps > 10 (%s)' % (name, kbps.get('audio')))
    out = st['output']
    t.equal((out['width'], out['height'], out['fps']), (640, 360, 15), 'status: profile')
    t.check(abs(out['fps_out'] - 15) <= 1.5, 'status: output fps ~15 (%.2f)' % out['fps_out'])
    t.check(out['encode_speed'] > 1, 'status: encode_speed > 1 (%.2f)' % out['encode_speed'])
    t.check(out['video_kbps'] > 0, 'status: output video kbps (%.0f)' % out['video_kbps'])
    t.check(out['connected'] is True, 'status: output connected')
    t.check(st['uptime_s'] > 3, 'status: uptime (%.1f s)' % st['uptime_s'])
    time.sleep(2)
    f2 = h.metric(h.parse_metrics(h.http_get('http://127.0.0.1:%d/metrics' % port).text),
                  'stagecast_capture_frames_out_total')
    t.check(20 <= f2 - f1 <= 45, 'frames_out_total grows ~15/s (%d in ~2 s)' % (f2 - f1))
    t.check(len(own_ids(conf)) == 1, 'the capture is in the room as %s' % OWN_NAME,
            conf.participants())

    # SIGTERM: leaves the room, flushes, closes the RTMP stream cleanly.
    before = relay.proc.output()
    p.must_live = False
    t0 = time.monotonic()
    p.send_signal(signal.SIGTERM)
    code, took = timed_exit(p, t0, 10)
    h.log('SIGTERM: exit %s after %.2f s' % (code, took))
    if code is None:
        p.stop(3)
    t.equal(code, 0, 'SIGTERM: exit code')
    t.check(took <= 3.0, 'SIGTERM: exits within 3 s (%.2f s)' % took)
    t.wait('relay: the live stream ended', lambda: not (relay.stream('live') or {}).get('live'),
           5)
    new = relay.proc.output()[len(before):]
    lines = [ln for ln in new.splitlines() if 'live' in ln]
    h.log('relay after SIGTERM: %s' % lines[-4:])
    t.check(re.search(r'live\]: rtmp \S+: clos(ed|ing): stream closed by peer', new) is not None,
            'relay: the capture closed the stream (FCUnpublish/deleteStream), no reset',
            lines[-6:])
    t.check(re.search(r'live\]: publisher \S+ left', new) is not None,
            'relay: logs the publisher left', lines[-6:])
    t.wait('the capture left the Janus room', lambda: not own_ids(conf), 3, 0.1)
    ids = {x.id for x in pubs}
    t.check(ids <= set(conf.publisher_ids()), 'the publishers are still in the room')


def main(t):
    exe = capture_binary()
    conf = c.Conference(t, room=1234, publishers=9).start()
    relay = h.Relay(t).start()
    failed = []
    only = [x for x in os.environ.get('SC_ONLY_PARTS', '').split(',') if x]

    def part(what, fn, *args, **kw):
        """Runs one part; a failure is recorded and the next parts still run.
        SC_ONLY_PARTS=name,name (a debugging aid) runs only those parts."""
        if only and what not in only:
            h.log('skipping part %s (SC_ONLY_PARTS)' % what)
            return
        try:
            fn(*args, **kw)
        except h.Failure as e:
            h.log('FAILED (%s): %s' % (what, e))
            failed.append('%s: %s' % (what, e))

    part('flags', check_flags, t, exe, relay)
    part('refused token', check_refused_token, t, exe, conf)

    # Errors from the conference side.
    part('missing room', expect_exit, t, exe, relay,
         'janus://%s:%d/98765' % (conf.host, conf.http_port), 3,
         [r'no such room', r'does not exist', r'not found', r'room'], 10,
         'a room that does not exist')
    pin_room, pin = 4321, 'right-pin'
    conf.create_room(pin_room, pin=pin)
    t.check(conf.exists(pin_room), 'room %d (with a pin) exists' % pin_room)
    part('wrong pin', expect_exit, t, exe, relay,
         'janus://%s:%d/%d?pin=wrong' % (conf.host, conf.http_port, pin_room), 4,
         [r'pin', r'denied', r'unauthori'], 10, 'a wrong pin')
    part('no pin', expect_exit, t, exe, relay,
         'janus://%s:%d/%d' % (conf.host, conf.http_port, pin_room), 4,
         [r'pin', r'denied', r'unauthori'], 10, 'no pin for a room with one')
    # Nobody listens: refused at once. Several runs: an early failure must
    # end the process however fast it comes.
    part('refused', expect_exit, t, exe, relay,
         'janus://%s:%d/1234' % (c.ICE_IP, h.free_port()), 5,
         [r'connect', r'reach', r'refused'], 10, 'a Janus port nobody listens on', runs=4)
    s = silent_listener()
    try:
        part('silent', expect_exit, t, exe, relay, 'janus://%s:%d/1234' % s.getsockname(), 5,
             [r'time', r'reach', r'connect'], 12.5, 'a Janus port that never answers')
    finally:
        s.close()

    # Auto-stop.
    part('empty room', check_empty_room, t, conf, relay)
    part('max duration', check_max_duration, t, conf, relay, pin_room, pin)

    # Status and SIGTERM with two participants (VP8 and H.264).
    red = conf.add_publisher('red', color=0xff0000, tone=440, codec='vp8')
    blue = conf.add_publisher('blue', color=0x0000ff, tone=880, codec='h264')
    part('status and SIGTERM', check_status_and_sigterm, t, conf, relay, [red, blue])

    blue.stop()
    part('empty after a leave', check_empty_after_leave, t, conf, relay, red)
    t.equal(relay.stop(), 0, 'relay exit code after SIGTERM')
    if failed:
        raise h.Failure('%d part(s) failed:\n  %s' % (len(failed), '\n  '.join(failed)))


if __name__ == '__main__':
    h.run(main)
