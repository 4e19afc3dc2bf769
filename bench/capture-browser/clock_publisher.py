#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""A rig publisher whose picture is a clock: for the capture benchmark.

tests/integration/webrtc_publisher.py (GStreamer webrtcbin, a real WebRTC
peer the project did not write the media side of) in its appsrc mode, with
the picture replaced: each frame is NSTRIPES full-height vertical stripes,

    white, black, 16 bits (MSB first), even parity, white

where the 16 bits are CLOCK_MONOTONIC in milliseconds (mod 65536) at the
moment the frame is handed to the encoder. bench/run-capture-bench reads
the stripes back from the RTMP output and subtracts: publisher frame to
RTMP output latency, whatever tile the publisher lands in. The sound is the
rig's flash-mode beep (1 kHz, 40 ms, once a second). Frames are pushed when
their timestamp is due (no lead), so the stamp is the time the frame
starts its way. Same arguments as webrtc_publisher.py; --mode is forced to
flash (the appsrc pipeline).
"""

import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(HERE)), 'tests', 'integration'))
import webrtc_publisher as wp  # noqa: E402
from webrtc_publisher import Gst  # noqa: E402

NSTRIPES = 20
BITS = 16


def stripes(value):
    """The NSTRIPES levels (True = white) that encode value (16 bits)."""
    bits = [bool((value >> (BITS - 1 - i)) & 1) for i in range(BITS)]
    return [True, False] + bits + [sum(bits) % 2 == 1, True]


class ClockFrames(wp.Flash):
    """Flash's appsrc feeding, but every frame is a clock barcode."""

    def __init__(self, pipe, a):
        super().__init__(pipe, a)
        w, h = a.width, a.height
        self.w, self.h = w, h
        self.chroma = bytes([128]) * (2 * (w // 2) * (h // 2))
        # Stripe k covers columns [k*w/N, (k+1)*w/N).
        self.cols = [(k * w // NSTRIPES, (k + 1) * w // NSTRIPES) for k in range(NSTRIPES)]
        self.lead = 0

    def frame(self, value):
        row = bytearray(self.w)
        for (x0, x1), white in zip(self.cols, stripes(value)):
            row[x0:x1] = (b'\xeb' if white else b'\x10') * (x1 - x0)
        return bytes(row) * self.h + self.chroma

    def tick(self):
        now = self.now()
        if now is None:
            return True
        fps = self.a.fps
        while True:
            pts = Gst.util_uint64_scale(self.nv, Gst.SECOND, fps)
            if pts > now:
                break
            stamp = int(time.monotonic() * 1000) & 0xffff
            buf = Gst.Buffer.new_wrapped(self.frame(stamp))
            buf.pts = pts
            buf.duration = Gst.util_uint64_scale(self.nv + 1, Gst.SECOND, fps) - pts
            self.vsrc.emit('push-buffer', buf)
            self.nv += 1
        while True:
            pts = Gst.util_uint64_scale(self.na * self.CHUNK, Gst.SECOND, self.RATE)
            if pts > now + 40 * Gst.MSECOND:
                break
            k = self.na % (self.RATE // self.CHUNK)
            data = self.beeps[k] if k < self.beep_chunks else self.silence
            buf = Gst.Buffer.new_wrapped(data)
            buf.pts = pts
            buf.duration = 10 * Gst.MSECOND
            self.asrc.emit('push-buffer', buf)
            self.na += 1
        return True


wp.Flash = ClockFrames

if __name__ == '__main__':
    if '--mode' not in sys.argv:
        sys.argv += ['--mode', 'flash']
    sys.exit(wp.main())
