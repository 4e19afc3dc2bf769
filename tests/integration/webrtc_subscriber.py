#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Subscribe to one Janus VideoRoom feed with GStreamer webrtcbin and report
what it looks and sounds like. Independent of stagecast: it checks the test
rig itself (test_conference_rig.py).

    webrtc_subscriber.py --url http://127.0.0.2:PORT/janus --room 1234 \
        --feed ID [--seconds 3]

After the first decoded video frame and --warmup seconds, it watches
--seconds of media, prints one JSON line
  {"event": "result", "feed": ID, "rgb": [r, g, b], "frames": N, "fps": F,
   "width": W, "height": H, "video_codec": "VP8", "audio_freq": HZ,
   "audio_rms": R, "flashes": [...], "beeps": [...], "av_offset_ms": MS}
(flashes and beeps: onset times in seconds on the pipeline's running time
clock, which rtpbin's RTCP sync puts audio and video on; av_offset_ms is
the median beep-minus-flash offset, or null) and exits 0 after leaving.
"""

import argparse
import os
import queue
import signal
import sys
import threading
import time

import gi

gi.require_version('Gst', '1.0')
gi.require_version('GstWebRTC', '1.0')
gi.require_version('GstSdp', '1.0')
from gi.repository import GLib, Gst, GstSdp, GstWebRTC  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import conference  # noqa: E402
from webrtc_publisher import Stop, add_candidates, quiet_ice, say  # noqa: E402

signal.signal(signal.SIGTERM, signal.SIG_DFL)

ARATE = 16000


class Sub:
    def __init__(self, a, loop):
        self.a = a
        self.loop = loop
        self.api = conference.JanusClient(a.url, timeout=10)
        self.events = queue.Queue()
        self.stopping = threading.Event()
        self.gathered = threading.Event()
        self.candidates = []
        self.keep = []
        self.handle = None
        self.lock = threading.Lock()
        self.t_first = None      # running time of the first video frame
        self.win = None          # (start, end) of the measuring window
        self.rgb_sum = [0, 0, 0]
        self.frames = 0
        self.size = None
        self.vcodec = None
        self.samples = []
        self.lumas = []          # (t, mean luma) of every frame
        self.energy = []         # (t, rms) per 5 ms of audio
        self.exit_code = 1
        self.done = False
        self.pads = []

    # ---------------------------------------------------------- signaling
    def poller(self):
        while not self.stopping.is_set():
            try:
                for e in self.api.poll():
                    self.events.put(e)
            except Exception:
                if self.stopping.is_set():
                    return
                time.sleep(0.5)

    def wait_event(self, what, pred, timeout):
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or self.stopping.is_set():
                raise Stop('timed out after %ss waiting for %s' % (timeout, what))
            try:
                e = self.events.get(timeout=min(left, 0.2))
            except queue.Empty:
                continue
            data = e.get('plugindata', {}).get('data', {})
            if e.get('janus') == 'hangup':
                raise Stop('hangup: %s' % e.get('reason'))
            if 'error_code' in data:
                raise Stop('videoroom error %s: %s' % (data['error_code'], data.get('error')))
            if pred(e, data):
                return e, data

    def call(self, name, *args):
        p = Gst.Promise.new()
        self.webrtc.emit(name, *args, p)
        if p.wait() != Gst.PromiseResult.REPLIED:
            raise Stop('%s: no reply' % name)
        return p.get_reply()

    def signaling(self):
        try:
            a = self.a
            self.api.create()
            self.handle = self.api.attach('janus.plugin.videoroom')
            threading.Thread(target=self.poller, daemon=True).start()
            join = {'request': 'join', 'ptype': 'subscriber', 'room': a.room,
                    'streams': [{'feed': a.feed}]}
            if a.pin:
                join['pin'] = a.pin
            self.api.message(self.handle, join)
            e, data = self.wait_event('offer', lambda e, d: 'jsep' in e, 10)
            self.add_transceivers(e['jsep']['sdp'])
            res, msg = GstSdp.SDPMessage.new_from_text(e['jsep']['sdp'])
            if res != GstSdp.SDPResult.OK:
                raise Stop('bad offer SDP')
            offer = GstWebRTC.WebRTCSessionDescription.new(GstWebRTC.WebRTCSDPType.OFFER, msg)
            self.call('set-remote-description', offer)
            reply = self.call('create-answer', None)
            answer = reply.get_value('answer')
            if answer is None or answer.sdp is None:
                raise Stop('create-answer failed: %s' % reply.to_string())
            self.call('set-local-description', answer)
            if not self.gathered.wait(5):
                raise Stop('ICE gathering did not complete in 5 s')
            sdp = self.webrtc.get_property('local-description').sdp.as_text()
            if 'a=candidate:' not in sdp:
                sdp = add_candidates(sdp, self.candidates)
            self.api.message(self.handle, {'request': 'start'},
                             jsep={'type': 'answer', 'sdp': sdp})
            self.wait_event('webrtcup', lambda e, d: e.get('janus') == 'webrtcup', 20)
            say('ready', feed=a.feed)
            while not self.stopping.is_set():
                self.wait_event('nothing', lambda e, d: False, 1e9)
        except Stop as e:
            if not self.stopping.is_set():
                say('error', error=str(e))
                GLib.idle_add(self.loop.quit)

    def add_transceivers(self, sdp):
        """One recvonly transceiver per offered m= line, with its first codec.

        Without codec preferences, webrtcbin's answer-side transceivers
        cannot map the incoming payload types and the receive path fails
        with not-linked as soon as media flows.
        """
        media, pt, rtpmap = None, None, {}
        for line in sdp.splitlines() + ['m=end 0 x 0']:
            if line.startswith('m='):
                if media in ('audio', 'video') and pt in rtpmap:
                    name, rate = rtpmap[pt][:2]
                    caps = Gst.Caps.from_string(
                        'application/x-rtp,media=%s,encoding-name=%s,payload=%s,'
                        'clock-rate=%s' % (media, name.upper(), pt, rate))
                    self.webrtc.emit('add-transceiver',
                                     GstWebRTC.WebRTCRTPTransceiverDirection.RECVONLY, caps)
                parts = line[2:].split()
                media, pt, rtpmap = parts[0], parts[3] if len(parts) > 3 else None, {}
            elif line.startswith('a=rtpmap:'):
                num, _, enc = line[9:].partition(' ')
                rtpmap[num] = enc.split('/')

    def leave(self):
        self.stopping.set()
        if self.handle is not None:
            try:
                self.api.message(self.handle, {'request': 'leave'})
                self.api.detach(self.handle)
            except Exception:
                pass
        try:
            self.api.destroy()
        except Exception:
            pass

    # ---------------------------------------------------------- media
    def build(self):
        self.pipe = Gst.Pipeline.new('sub')
        self.webrtc = Gst.ElementFactory.make('webrtcbin', 'webrtc')
        self.webrtc.set_property('bundle-policy', GstWebRTC.WebRTCBundlePolicy.MAX_BUNDLE)
        self.pipe.add(self.webrtc)
        quiet_ice(self.webrtc, self.keep)
        self.webrtc.connect('on-ice-candidate', lambda w, m, c: self.candidates.append((m, c)))
        self.webrtc.connect('notify::ice-gathering-state', self.on_gathering)
        self.webrtc.connect('pad-added', self.on_pad)
        bus = self.pipe.get_bus()
        bus.add_signal_watch()
        bus.connect('message::error', self.on_error)
        self.pipe.set_state(Gst.State.PLAYING)

    def on_error(self, bus, msg):
        err, dbg = msg.parse_error()
        say('error', error='%s: %s (%s)' % (msg.src.get_name(), err.message, dbg))
        self.loop.quit()

    def on_gathering(self, w, pspec):
        if w.get_property('ice-gathering-state') == GstWebRTC.WebRTCICEGatheringState.COMPLETE:
            self.gathered.set()

    def on_pad(self, w, pad):
        if pad.direction != Gst.PadDirection.SRC:
            return
        s = pad.get_current_caps().get_structure(0)
        media, enc = s.get_string('media'), (s.get_string('encoding-name') or '').upper()
        self.pads.append('%s/%s' % (media, enc))
        chains = {'VP8': 'rtpvp8depay ! vp8dec name=dec',
                  'H264': 'rtph264depay ! h264parse ! avdec_h264 name=dec',
                  'OPUS': 'rtpopusdepay ! opusdec name=dec'}
        if enc not in chains:
            say('error', error='unexpected %s codec %s' % (media, enc))
            GLib.idle_add(self.loop.quit)
            return
        if media == 'video':
            self.vcodec = enc
            desc = ('%s ! videoconvert ! videoscale ! '
                    'video/x-raw,format=RGB,width=64,height=36 ! '
                    'appsink name=sink emit-signals=true sync=false max-buffers=5 drop=true'
                    % chains[enc])
        else:
            desc = ('%s ! audioconvert ! audioresample ! '
                    'audio/x-raw,format=S16LE,layout=interleaved,channels=1,rate=%d ! '
                    'appsink name=sink emit-signals=true sync=false' % (chains[enc], ARATE))
        bin_ = Gst.parse_bin_from_description(desc, True)
        self.pipe.add(bin_)
        sink = bin_.get_by_name('sink')
        sink.connect('new-sample', self.on_video if media == 'video' else self.on_audio)
        if media == 'video':
            bin_.get_by_name('dec').get_static_pad('src').connect('notify::caps', self.on_caps)
        bin_.sync_state_with_parent()
        ret = pad.link(bin_.get_static_pad('sink'))
        if ret != Gst.PadLinkReturn.OK:
            say('error', error='linking %s: %s' % (media, ret))
            GLib.idle_add(self.loop.quit)

    def on_caps(self, pad, pspec):
        caps = pad.get_current_caps()
        if caps is not None:
            st = caps.get_structure(0)
            self.size = (st.get_value('width'), st.get_value('height'))

    def running(self, buf):
        return buf.pts / 1e9 if buf.pts != Gst.CLOCK_TIME_NONE else None

    def on_video(self, sink):
        sample = sink.emit('pull-sample')
        buf = sample.get_buffer()
        t = self.running(buf)
        ok, info = buf.map(Gst.MapFlags.READ)
        if not ok or t is None:
            return Gst.FlowReturn.OK
        data = info.data
        n = len(data) // 3
        r = sum(data[0::3]) / n
        g = sum(data[1::3]) / n
        b = sum(data[2::3]) / n
        buf.unmap(info)
        with self.lock:
            if self.t_first is None:
                self.t_first = t
                self.win = (t + self.a.warmup, t + self.a.warmup + self.a.seconds)
            self.lumas.append((t, 0.299 * r + 0.587 * g + 0.114 * b))
            if self.win[0] <= t < self.win[1]:
                self.frames += 1
                self.rgb_sum[0] += r
                self.rgb_sum[1] += g
                self.rgb_sum[2] += b
            if t >= self.win[1] and not self.done:
                self.done = True
                GLib.idle_add(self.finish)
        return Gst.FlowReturn.OK

    def on_audio(self, sink):
        sample = sink.emit('pull-sample')
        buf = sample.get_buffer()
        t = self.running(buf)
        ok, info = buf.map(Gst.MapFlags.READ)
        if not ok or t is None:
            return Gst.FlowReturn.OK
        s = memoryview(bytes(info.data)).cast('h')
        buf.unmap(info)
        step = ARATE // 200  # 5 ms
        with self.lock:
            for i in range(0, len(s) - step + 1, step):
                chunk = s[i:i + step]
                self.energy.append((t + i / ARATE,
                                    (sum(x * x for x in chunk) / step) ** 0.5 / 32768))
            if self.win is not None and self.win[0] <= t < self.win[1]:
                self.samples.extend(s)
        return Gst.FlowReturn.OK

    def finish(self):
        with self.lock:
            n = max(self.frames, 1)
            rgb = [round(x / n, 1) for x in self.rgb_sum]
            freq, rms = tone(self.samples)
            flashes = onsets(self.lumas, 128)
            beeps = onsets(self.energy, 0.05)
        offsets = []
        for f in flashes:
            near = [b - f for b in beeps if abs(b - f) < 0.5]
            if near:
                offsets.append(min(near, key=abs))
        offsets.sort()
        say('result', feed=self.a.feed, rgb=rgb, frames=self.frames,
            fps=round(self.frames / self.a.seconds, 2),
            width=self.size[0] if self.size else None,
            height=self.size[1] if self.size else None, video_codec=self.vcodec,
            audio_freq=round(freq, 1), audio_rms=round(rms, 4),
            flashes=[round(x, 3) for x in flashes], beeps=[round(x, 3) for x in beeps],
            av_offset_ms=round(offsets[len(offsets) // 2] * 1000, 1) if offsets else None)
        self.exit_code = 0
        self.loop.quit()
        return False


def tone(samples):
    """(dominant frequency from zero crossings, RMS 0..1) of s16 samples."""
    if len(samples) < ARATE // 10:
        return 0.0, 0.0
    crossings = 0
    prev = samples[0]
    for x in samples:
        if (prev < 0) != (x < 0):
            crossings += 1
        prev = x
    rms = (sum(x * x for x in samples) / len(samples)) ** 0.5 / 32768
    return crossings / 2.0 / (len(samples) / ARATE), rms


def onsets(series, threshold):
    """Times where (t, v) series goes from below to at-or-above threshold."""
    out = []
    prev = None
    for t, v in sorted(series):
        if prev is not None and prev < threshold <= v:
            out.append(t)
        prev = v
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--url', required=True)
    ap.add_argument('--room', type=int, default=1234)
    ap.add_argument('--feed', type=int, required=True)
    ap.add_argument('--pin')
    ap.add_argument('--seconds', type=float, default=3.0)
    ap.add_argument('--warmup', type=float, default=1.0)
    ap.add_argument('--timeout', type=float, default=30.0)
    a = ap.parse_args()
    Gst.init(None)
    loop = GLib.MainLoop()
    sub = Sub(a, loop)

    def quit_(*_):
        loop.quit()
        return GLib.SOURCE_REMOVE
    GLib.unix_signal_add(GLib.PRIORITY_HIGH, signal.SIGTERM, quit_)
    GLib.timeout_add(int(a.timeout * 1000), lambda: (say(
        'error', error='timeout', pads=sub.pads, video_frames=len(sub.lumas),
        audio_chunks=len(sub.energy)), quit_()))
    sub.build()
    threading.Thread(target=sub.signaling, daemon=True).start()
    loop.run()
    sub.leave()
    sub.pipe.set_state(Gst.State.NULL)
    return sub.exit_code


if __name__ == '__main__':
    sys.exit(main())
