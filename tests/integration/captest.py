# SPDX-License-Identifier: Apache-2.0
"""Shared pieces of the stagecast-capture tests: start the capture, read its
status, record the relay's output and turn it into numbers.

Stdlib only. A recording is taken with `ffmpeg -c copy` (the timestamps the
capture wrote, untouched by decoding), then decoded twice: the picture as
small grey frames with their pts, the sound as mono 48 kHz samples with the
pts of each AAC frame, so that both can be put on one timeline.
"""

import json
import math
import os
import subprocess
import time

import conference as c
import harness as h


def capture_binary():
    exe = os.environ.get('STAGECAST_CAPTURE') or os.path.join(h.BUILD_DIR, 'capture',
                                                              'stagecast-capture')
    if not os.access(exe, os.X_OK):
        raise h.Skip('no stagecast-capture at %s' % exe)
    return exe


DISPLAY = 'capture'  # the capture's own name in the room


def in_room(conf, display=DISPLAY):
    """Janus's ids for the capture's own (non-publishing) participant."""
    return sorted(p['id'] for p in conf.participants()
                  if p.get('display') == display and not p.get('publisher'))


class Capture:
    """stagecast-capture on conf's room, publishing to relay as `name`."""

    def __init__(self, t, conf, relay, name='mix', profile='360p15', layout='grid',
                 extra=(), proc_name='capture', display=None):
        self.t = t
        self.name = name
        self.display = display or DISPLAY
        self.status_port = h.free_port()
        self.argv = [capture_binary(), '--conference', conf.url, '--output',
                     relay.rtmp(name), '--profile', profile, '--layout', layout,
                     '--bind-address', c.ICE_IP, '--log-level', 'debug',
                     '--status', '127.0.0.1:%d' % self.status_port,
                     '--display', self.display] + list(extra)
        self.t0 = time.monotonic()
        self.proc = h.Proc(t, proc_name, self.argv)
        self.proc.must_live = True

    def status(self):
        r = h.http_get('http://127.0.0.1:%d/v1/status' % self.status_port, timeout=3)
        return r.json() if r.status == 200 else None

    def metrics(self):
        r = h.http_get('http://127.0.0.1:%d/metrics' % self.status_port, timeout=3)
        if r.status != 200:
            raise h.Failure('capture /metrics: %d' % r.status)
        return h.parse_metrics(r.text)

    def names(self):
        s = self.status() or {}
        return sorted(p['display'] for p in s.get('participants', []))

    def wait_names(self, names, timeout=15):
        want = sorted(names)
        return self.t.wait('capture mixes %s' % ', '.join(want),
                           lambda: self.names() == want, timeout)

    def stop(self, timeout=15):
        self.proc.must_live = False
        return self.proc.stop(timeout)


def record(t, url, seconds, path, timeout=30):
    """`seconds` of url's media copied (not decoded) into the FLV file path."""
    argv = [h.which('ffmpeg'), '-v', 'error', '-nostdin', '-y',
            '-rw_timeout', str(int(timeout * 1e6)), '-i', url, '-t', '%g' % seconds,
            '-map', '0', '-c', 'copy', '-f', 'flv', path]
    code, _, err = h.run_tool(argv, seconds + timeout + 10)
    if code != 0 or not os.path.exists(path):
        raise h.Failure('recording %s failed (%s): %s' % (url, code, err[-800:]))
    return path


def _run(argv, timeout=120):
    r = subprocess.run([str(a) for a in argv], stdin=subprocess.DEVNULL, capture_output=True,
                       timeout=timeout, preexec_fn=h._pdeathsig)
    if r.returncode != 0:
        raise h.Failure('%s failed (%d): %s' % (os.path.basename(argv[0]), r.returncode,
                                               r.stderr.decode(errors='replace')[-800:]))
    return r.stdout


def frame_pts(path, kind):
    """pts (seconds) of every decoded frame of the first `kind` stream ('v' or 'a')."""
    out = _run([h.which('ffprobe'), '-v', 'error', '-select_streams', '%s:0' % kind,
                '-show_entries', 'frame=pts_time,nb_samples', '-of', 'json', path])
    return [(float(f['pts_time']), int(f.get('nb_samples') or 0))
            for f in json.loads(out).get('frames', [])]


def gray_frames(path, size=(64, 36)):
    """[(pts seconds, bytes of a w*h grey picture)] for every video frame."""
    w, hh = size
    pts = [p for p, _ in frame_pts(path, 'v')]
    raw = _run([h.which('ffmpeg'), '-v', 'error', '-nostdin', '-i', path, '-map', '0:v:0',
                '-fps_mode', 'passthrough', '-vf',
                'scale=%d:%d:flags=area,format=gray' % (w, hh), '-f', 'rawvideo', '-'])
    n = len(raw) // (w * hh)
    if n != len(pts):
        raise h.Failure('%s: %d decoded frames but %d frame times' % (path, n, len(pts)))
    return [(pts[i], raw[i * w * hh:(i + 1) * w * hh]) for i in range(n)]


def region_mean(pic, size, box):
    """Mean of the grey picture pic (size w*h) over box (x0, y0, x1, y1), fractions."""
    w, hh = size
    x0, x1 = int(box[0] * w), int(box[2] * w)
    y0, y1 = int(box[1] * hh), int(box[3] * hh)
    total = 0
    for y in range(y0, y1):
        total += sum(pic[y * w + x0:y * w + x1])
    return total / max(1, (x1 - x0) * (y1 - y0))


def audio_samples(path, rate=48000):
    """(samples as a memoryview of int16 mono, time_of(k) -> seconds).

    The time of a sample comes from the pts of the AAC frame it was decoded
    from; frames are checked to be contiguous (a gap would shift the rest).
    """
    frames = frame_pts(path, 'a')
    raw = _run([h.which('ffmpeg'), '-v', 'error', '-nostdin', '-i', path, '-map', '0:a:0',
                '-ac', '1', '-ar', str(rate), '-f', 's16le', '-'])
    pcm = memoryview(raw[:len(raw) // 2 * 2]).cast('h')
    starts, k = [], 0
    for pts, n in frames:
        starts.append((k, pts, n))
        k += n
    if k != len(pcm):
        raise h.Failure('%s: %d decoded samples but the frames say %d' % (path, len(pcm), k))
    gaps = [(a[1], b[1]) for a, b in zip(starts, starts[1:])
            if abs(b[1] - a[1] - a[2] / rate) > 0.003]
    starts_k = [s[0] for s in starts]

    def time_of(i):
        # the frame holding sample i: binary search
        lo, hi = 0, len(starts_k) - 1
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if starts_k[mid] <= i:
                lo = mid
            else:
                hi = mid - 1
        return starts[lo][1] + (i - starts[lo][0]) / rate
    return pcm, time_of, gaps


def tone_envelope(pcm, rate, freq, win, hop, start=0, end=None):
    """[(centre sample, amplitude of freq)] over Hann windows of win samples
    every hop samples (a complex demodulation, i.e. one DFT bin). A full
    scale sine at freq has amplitude 1."""
    end = len(pcm) if end is None else min(end, len(pcm))
    start = max(0, start)
    hann = [0.5 - 0.5 * math.cos(2 * math.pi * (i + 0.5) / win) for i in range(win)]
    norm = sum(hann) / 2 * 32768.0
    w0 = 2 * math.pi * freq / rate
    re = [pcm[n] * math.cos(w0 * n) for n in range(start, end)]
    im = [pcm[n] * math.sin(w0 * n) for n in range(start, end)]
    out = []
    for s in range(0, end - start - win + 1, hop):
        a = sum(x * y for x, y in zip(re[s:s + win], hann))
        b = sum(x * y for x, y in zip(im[s:s + win], hann))
        out.append((start + s + win // 2, math.sqrt(a * a + b * b) / norm))
    return out
