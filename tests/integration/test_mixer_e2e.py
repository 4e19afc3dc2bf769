#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The capture's media back end against the real relay.

tests/capture/mixer_e2e runs sc_mixer (360p15, grid) with two synthetic
participants encoded in-process: red VP8 + 440 Hz Opus and blue H.264 +
880 Hz Opus. The output goes to stagecast-relay over RTMP. Checks: ffprobe
(h264 640x360 15 fps, aac 48 kHz), a decoded frame (red left tile, blue
right tile), the audio (both tones), then kills the relay and restarts it
on the same port: the output resumes within 2 s of the relay being back,
and the mixer's frame counter keeps rising all along.
"""

import json
import math
import os
import signal
import subprocess
import time

import harness as h

NAME = 'k1-mixer'


def mixer_binary():
    exe = os.environ.get('STAGECAST_MIXER_E2E') or os.path.join(h.BUILD_DIR, 'tests', 'capture',
                                                               'mixer_e2e')
    if not os.access(exe, os.X_OK):
        raise h.Failure('mixer_e2e not found: %s (set STAGECAST_MIXER_E2E)' % exe)
    return exe


def stats_lines(proc):
    out = []
    for line in proc.output().splitlines():
        line = line.strip()
        if line.startswith('{'):
            try:
                out.append(json.loads(line))
            except ValueError:
                pass
    return out


def probe_rgb(url, timeout=25):
    """One decoded frame of url, 1 s in, as 64x36 RGB24 rows: [[(r, g, b)...]...]."""
    argv = [h.which('ffmpeg'), '-v', 'error', '-nostdin', '-rw_timeout', str(int(timeout * 1e6)),
            '-i', url, '-ss', '1', '-frames:v', '1', '-vf', 'scale=64:36', '-pix_fmt', 'rgb24',
            '-f', 'rawvideo', '-']
    r = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout + 5)
    if r.returncode != 0 or len(r.stdout) < 64 * 36 * 3:
        raise h.Failure('decoding a frame of %s failed: %s' % (url, r.stderr.decode()[-1000:]))
    d = r.stdout
    return [[tuple(d[(y * 64 + x) * 3:(y * 64 + x) * 3 + 3]) for x in range(64)]
            for y in range(36)]


def tone_levels(url, freqs, seconds=3, timeout=25):
    """Amplitude (0..1) of each frequency in the first seconds of url's audio."""
    rate = 16000
    argv = [h.which('ffmpeg'), '-v', 'error', '-nostdin', '-rw_timeout', str(int(timeout * 1e6)),
            '-i', url, '-vn', '-t', str(seconds), '-ac', '1', '-ar', str(rate), '-f', 's16le',
            '-']
    r = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True,
                       timeout=timeout + seconds + 5)
    n = len(r.stdout) // 2
    if r.returncode != 0 or n < rate:
        raise h.Failure('decoding audio of %s failed: %s' % (url, r.stderr.decode()[-1000:]))
    x = memoryview(r.stdout[:2 * n]).cast('h')
    out = {}
    for f in freqs:  # Goertzel
        w = 2 * math.pi * f / rate
        c = 2 * math.cos(w)
        s1 = s2 = 0.0
        for v in x:
            s0 = v + c * s1 - s2
            s2, s1 = s1, s0
        power = s1 * s1 + s2 * s2 - c * s1 * s2
        out[f] = 2 * math.sqrt(max(power, 0)) / n / 32768
    return out


def is_red(p):
    return p[0] > 150 and p[1] < 80 and p[2] < 80


def is_blue(p):
    return p[2] > 150 and p[0] < 80 and p[1] < 80


def main(t):
    relay = h.Relay(t).start()
    url = relay.rtmp(NAME)
    mixer = h.Proc(t, 'mixer_e2e', [mixer_binary(), url, '--profile', '360p15', '--layout',
                                    'grid', '--sources', '2'])
    mixer.must_live = True
    relay.wait_live(NAME)

    info = h.ffprobe(url)
    s = h.streams_by_type(info)
    t.check(s['video'] is not None and s['audio'] is not None, 'video and audio streams', info)
    v, a = s['video'], s['audio']
    t.equal(v['codec_name'], 'h264', 'video codec')
    t.equal((v['width'], v['height']), (640, 360), 'video size')
    t.check(abs(h.fps(v) - 15) < 0.5, '15 fps (%.2f)' % h.fps(v), v)
    t.equal(a['codec_name'], 'aac', 'audio codec')
    t.equal(int(a['sample_rate']), 48000, 'audio sample rate')
    t.equal(int(a.get('channels', 0)), 2, 'audio channels')

    rgb = probe_rgb(url)
    left, right = rgb[18][16], rgb[18][48]
    t.check(is_red(left), 'left tile is red %s' % (left,))
    t.check(is_blue(right), 'right tile is blue %s' % (right,))
    # 16:9 tiles side by side on a 16:9 canvas: letterboxed above and below
    top = rgb[2][16]
    t.check(max(top) < 40, 'black letterbox above the tiles %s' % (top,))

    lv = tone_levels(url, [440, 880, 660, 1320])
    t.check(lv[440] > 0.1 and lv[880] > 0.1, 'both tones in the mix: 440 Hz %.3f, 880 Hz %.3f'
            % (lv[440], lv[880]), lv)
    t.check(lv[660] < lv[440] / 20 and lv[1320] < lv[880] / 20,
            'nothing else: 660 Hz %.4f, 1320 Hz %.4f' % (lv[660], lv[1320]), lv)

    # Relay restart: kill it, leave it down for 3 s, bring it back on the same port.
    before = stats_lines(mixer)[-1]
    t.check(before['connected'] and before['reconnects'] == 0, 'connected once before the kill',
            before)
    t_kill = time.monotonic()
    relay.proc.must_live = False
    relay.proc.kill()
    t.wait('mixer sees the output drop', lambda: not stats_lines(mixer)[-1]['connected'], 5,
           interval=0.05)
    time.sleep(max(0, t_kill + 3 - time.monotonic()))
    relay2 = h.Relay(t, name='relay2', rtmp_port=relay.rtmp_port, http_port=relay.http_port)
    t_spawn = time.monotonic()
    relay2.start()
    t_up = time.monotonic()  # the port answers (polled every 0.1 s)

    def live_again():
        st = relay2.stream(NAME)
        return st is not None and st.get('live') is True
    t.wait('stream live again on the restarted relay', live_again, 10, interval=0.02)
    t_live = time.monotonic()

    def resumed():
        for st in stats_lines(mixer):
            if st['t'] >= t_spawn and st['connected'] and st['reconnects'] >= 1:
                return st
        return None
    st = t.wait('mixer reconnected', resumed, 5, interval=0.05)
    h.log('relay spawned %.3f, port up %.3f, mixer connected %.3f, relay shows live %.3f '
          '(s after spawn)' % (0, t_up - t_spawn, st['t'] - t_spawn, t_live - t_spawn))
    t.check(st['t'] - t_spawn < 2.0,
            'output resumed %.2f s after the relay restarted (< 2 s)' % (st['t'] - t_spawn))
    t.check(t_live - t_spawn < 2.3,
            'relay shows the stream live %.2f s after its restart' % (t_live - t_spawn))

    # The mixer never stalled: frames kept coming at 15 fps through the outage.
    time.sleep(1)
    lines = [x for x in stats_lines(mixer) if x['t'] >= t_kill - 0.5]
    gaps = []
    last_t, last_f = None, None
    for x in lines:
        if last_f is not None and x['frames'] > last_f:
            gaps.append(x['t'] - last_t)
        if last_f is None or x['frames'] > last_f:
            last_t, last_f = x['t'], x['frames']
    span = lines[-1]['t'] - lines[0]['t']
    rate = (lines[-1]['frames'] - lines[0]['frames']) / span
    t.check(max(gaps) < 0.3, 'frame counter never stalled (longest wait %.3f s)' % max(gaps))
    t.check(abs(rate - 15) < 1, 'mixer ran at %.2f fps through the outage' % rate)

    # And the content is back.
    rgb = probe_rgb(url)
    t.check(is_red(rgb[18][16]) and is_blue(rgb[18][48]), 'red and blue tiles after the restart')
    n = h.count_packets(url, 2)
    t.check(n >= 25, '%d video packets in 2 s after the restart' % n)

    mixer.send_signal(signal.SIGTERM)
    code = mixer.wait(15)
    t.equal(code, 0, 'mixer_e2e exit code after SIGTERM')
    last = stats_lines(mixer)[-1]
    h.log('last stats: %s' % (last,))


if __name__ == '__main__':
    h.run(main)
