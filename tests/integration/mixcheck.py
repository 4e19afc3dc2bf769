# SPDX-License-Identifier: Apache-2.0
"""What is in a mixed stream: colours in the picture, tones in the sound.

Stdlib only. Frames and audio are decoded with ffmpeg; colours are found by
counting pixels near a target colour, tones with the Goertzel algorithm
(the power of one frequency), so a test can say "red, green and blue are
each in their own part of the picture" and "440, 660 and 880 Hz are all
audible" without knowing the layout or the mix gains.
"""

import math
import subprocess

import harness as h


def grab_rgb(url, size, skip=0.0, timeout=25):
    """One decoded frame of url as RGB24 bytes, `skip` seconds of media in
    (skip the relay's cached GOP to see what is live now)."""
    w, hgt = size
    argv = [h.which('ffmpeg'), '-v', 'error', '-nostdin']
    if url.startswith('rtmp://'):
        argv += ['-rw_timeout', str(int(timeout * 1e6))]
    argv += ['-i', url]
    if skip:
        argv += ['-ss', '%.2f' % skip]
    argv += ['-frames:v', '1', '-s', '%dx%d' % (w, hgt), '-pix_fmt', 'rgb24', '-f', 'rawvideo', '-']
    r = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True,
                       timeout=timeout + skip + 5, preexec_fn=h._pdeathsig)
    if r.returncode != 0 or len(r.stdout) != w * hgt * 3:
        raise h.Failure('grabbing a frame of %s failed: %s' % (url, r.stderr.decode()[-800:]))
    return r.stdout


def find_colour(rgb, size, colour, tol=60):
    """(fraction of pixels within tol of colour, centroid (x, y) or None)."""
    w, hgt = size
    cr, cg, cb = (colour >> 16) & 255, (colour >> 8) & 255, colour & 255
    n = sx = sy = 0
    step = 2  # every other pixel in both directions is plenty
    for y in range(0, hgt, step):
        row = y * w * 3
        for x in range(0, w, step):
            i = row + x * 3
            if (abs(rgb[i] - cr) < tol and abs(rgb[i + 1] - cg) < tol and
                    abs(rgb[i + 2] - cb) < tol):
                n += 1
                sx += x
                sy += y
    total = (w // step) * (hgt // step)
    return n / total, ((sx / n, sy / n) if n else None)


def grab_pcm(url, seconds, skip=0.0, rate=16000, timeout=25):
    """Mono s16 samples of url's audio, `skip` seconds in."""
    argv = [h.which('ffmpeg'), '-v', 'error', '-nostdin']
    if url.startswith('rtmp://'):
        argv += ['-rw_timeout', str(int(timeout * 1e6))]
    argv += ['-i', url]
    if skip:
        argv += ['-ss', '%.2f' % skip]
    argv += ['-vn', '-t', str(seconds), '-ac', '1', '-ar', str(rate), '-f', 's16le', '-']
    r = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True,
                       timeout=timeout + skip + seconds + 5, preexec_fn=h._pdeathsig)
    n = len(r.stdout) // 2
    if r.returncode != 0 or n < rate * seconds // 2:
        raise h.Failure('decoding audio of %s failed: %s' % (url, r.stderr.decode()[-800:]))
    return memoryview(r.stdout[:n * 2]).cast('h'), rate


def goertzel(samples, rate, freq):
    """Power of freq in samples, normalised by the signal's total power
    (1.0 for a pure sine at freq, near 0 where it is absent)."""
    n = len(samples)
    k = 2.0 * math.cos(2.0 * math.pi * freq / rate)
    s1 = s2 = 0.0
    energy = 0.0
    for x in samples:
        s0 = x + k * s1 - s2
        s2, s1 = s1, s0
        energy += x * x
    power = s1 * s1 + s2 * s2 - k * s1 * s2
    if energy <= 0:
        return 0.0
    return 2.0 * power / (n * energy)


def tone_levels(samples, rate, freqs):
    return {f: goertzel(samples, rate, f) for f in freqs}
