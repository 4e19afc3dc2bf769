#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Lip sync through stagecast-capture: a flash and a beep sent together
come out of the mix together (within 45 ms).

Janus VideoRoom in the test's network namespace with two webrtcbin
publishers: "flash" (black and silence, except a white picture and a 1 kHz
beep that start on the same timestamp, rig mode "flash") and an ordinary
red/440 Hz one. stagecast-capture mixes them and publishes to
stagecast-relay; the test records ~10 s of the relay's output (stream copy,
timestamps as the capture wrote them), skips the first 2 s (the relay's
cached GOP comes out in a burst), finds each flash (the flash tile's luma
jumps) and each beep (1 kHz amplitude over 5 ms Hann windows crossing half
its peak), pairs them and checks the median |offset|.

Measuring a flash on the output's frame clock: the capture shows, at each
output frame time g, the newest picture whose time is <= g, so the first
frame that shows a flash that started at F is the first g >= F, between 0
and one frame interval T after F (T = 67 ms at 15 fps). The flash is put
at g - T/2 (the middle of that interval). The publisher flashes every
1040 ms (not every 1000 ms), so that successive flashes fall on five
different phases of the output's frame clock and the half-frame error
averages out in the median instead of being the same for every flash.
The raw g - beep numbers are reported too.

SC_LIPSYNC_PROFILE=720p30 runs it at 720p30 (T = 33 ms). Root only.
"""

import os
import statistics
import time

import captest as ct
import conference as c
import harness as h

PROFILES = {'360p15': ((640, 360), 15), '720p30': ((1280, 720), 30)}
BEEP_HZ = 1000
PUB_FPS = 25
PERIOD_MS = 1040  # 26 frames at 25 fps, 104 audio chunks of 10 ms
RECORD_S = 10.0
SKIP_S = 2.0  # the relay's cached GOP (key frame every 2 s)
LIMIT_MS = 45


def flash_onsets(frames, size):
    """(video onsets [pts of the first bright frame], the cell used, levels)."""
    cols, rows = 8, 6
    best = None
    for cy in range(rows):
        for cx in range(cols):
            box = (cx / cols, cy / rows, (cx + 1) / cols, (cy + 1) / rows)
            lv = [ct.region_mean(pic, size, box) for _, pic in frames]
            rng = max(lv) - min(lv)
            if best is None or rng > best[0]:
                best = (rng, box, lv)
    rng, box, lv = best
    lo, hi = min(lv), max(lv)
    thr = (lo + hi) / 2
    onsets = []
    for i in range(1, len(frames)):
        if lv[i] > thr >= lv[i - 1]:
            onsets.append(frames[i][0])
    return onsets, box, (lo, hi)


def beep_onsets(pcm, time_of, rate=48000):
    env = ct.tone_envelope(pcm, rate, BEEP_HZ, win=240, hop=48)
    peak = max(a for _, a in env)
    thr = peak / 2
    onsets, last_above = [], None
    for centre, a in env:
        if a >= thr:
            if last_above is None or centre - last_above > 0.2 * rate:
                onsets.append(time_of(centre))
            last_above = centre
    return onsets, peak


def main(t):
    profile = os.environ.get('SC_LIPSYNC_PROFILE', '360p15')
    if profile not in PROFILES:
        raise h.Failure('SC_LIPSYNC_PROFILE: one of %s' % sorted(PROFILES))
    (w, hh), fps = PROFILES[profile]
    conf = c.Conference(t, room=1234, publishers=9).start()
    conf.add_publisher('flash', codec='vp8', fps=PUB_FPS, mode='flash',
                       extra=['--flash-period-ms', PERIOD_MS])
    conf.add_publisher('red', color=0xff0000, tone=440, codec='vp8')
    relay = h.Relay(t).start()
    cap = ct.Capture(t, conf, relay, profile=profile)
    relay.wait_live('mix', timeout=15)
    cap.wait_names(['flash', 'red'])
    info = h.streams_by_type(h.ffprobe(relay.rtmp('mix')))
    t.equal((info['video']['width'], info['video']['height']), (w, hh),
            'video size (%s)' % profile)
    time.sleep(3)  # first sender reports in, decoders on their first key frames

    rec = ct.record(t, relay.rtmp('mix'), RECORD_S, t.path('lipsync.flv'))
    frames = ct.gray_frames(rec)
    pcm, time_of, gaps = ct.audio_samples(rec)
    t.check(len(frames) >= fps * (RECORD_S - 1), 'recorded %d video frames' % len(frames))
    t.check(not gaps, 'audio frames are contiguous', gaps[:5])
    start = frames[0][0] + SKIP_S
    frames = [f for f in frames if f[0] >= start - 0.5]
    steps = sorted(b[0] - a[0] for a, b in zip(frames, frames[1:]))
    period = steps[len(steps) // 2]
    t.check(abs(period - 1 / fps) < 0.004, 'output frame interval %.1f ms' % (1000 * period))

    flashes, box, (lo, hi) = flash_onsets(frames, (64, 36))
    flashes = [v for v in flashes if v >= start]
    h.log('flash tile cell %s: luma %.0f (dark) .. %.0f (flash); %d flashes'
          % (tuple(round(x, 2) for x in box), lo, hi, len(flashes)))
    t.check(hi - lo > 100, 'the flash shows in the picture (luma %.0f..%.0f)' % (lo, hi))
    beeps, peak = beep_onsets(pcm, time_of)
    beeps = [a for a in beeps if a >= start - 0.3]
    h.log('beeps: %d, 1 kHz peak amplitude %.3f' % (len(beeps), peak))
    t.check(peak > 0.05, 'the beep is heard (amplitude %.3f)' % peak)

    raw, offsets = [], []
    for g in flashes:
        v = g - period / 2
        near = min(beeps, key=lambda a: abs(a - v), default=None)
        if near is None or abs(near - v) > 0.4:
            h.log('flash at %.3f s: no beep near it' % g)
            continue
        raw.append(round(1000 * (near - g), 1))
        offsets.append(round(1000 * (near - v), 1))
    h.log('audio minus video, raw (beep - first flash frame), ms: %s' % raw)
    h.log('audio minus video, flash at mid-frame (beep - (frame - T/2)), ms: %s' % offsets)
    t.check(len(offsets) >= 5, 'at least 5 flash/beep pairs (%d)' % len(offsets))
    # 5 successive flashes cover the 5 phases once: their mean is the offset
    # with the frame quantisation averaged out (to within T/10).
    h.log('mean over one cycle of phases (5 flashes): %+.1f ms' % statistics.mean(offsets[:5]))
    med = statistics.median(abs(x) for x in offsets)
    h.log('%s: median |offset| %.1f ms, median offset %+.1f ms, spread %.1f..%.1f ms'
          % (profile, med, statistics.median(offsets), min(offsets), max(offsets)))
    t.check(med <= LIMIT_MS, 'median |A/V offset| %.1f ms <= %d ms' % (med, LIMIT_MS))
    t.check(abs(statistics.median(offsets)) <= LIMIT_MS, 'median A/V offset %+.1f ms within '
            '%d ms' % (statistics.median(offsets), LIMIT_MS))

    t.equal(cap.stop(), 0, 'capture exit code after SIGTERM')
    t.equal(relay.stop(), 0, 'relay exit code after SIGTERM')


if __name__ == '__main__':
    h.run(main)
