#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""A WebRTC publisher for a Janus VideoRoom: GStreamer webrtcbin, no browser.

Run with Debian's /usr/bin/python3 (python3-gi, gir1.2-gst-plugins-bad-1.0,
gstreamer1.0-nice), inside the test's network namespace (conference.py).

    webrtc_publisher.py --url http://127.0.0.2:PORT/janus --room 1234 \
        --display red --color 0xff0000 --tone 440 --codec vp8

Modes:
  solid  a solid colour (videotestsrc) and a sine tone (audiotestsrc).
  flash  for lip sync: black and silence, except once a second (at every
         whole second of the stream's timeline) a white picture for
         --flash-frames frames and a --beep-freq beep of --beep-ms, both
         starting on the same timestamp. Built from two appsrc elements fed
         by a timer with exact timestamps. --flash-period-ms sets another
         period (a whole number of frames and of 10 ms), so that the flashes
         fall on different phases of a receiver's frame clock.

In solid mode, --pattern NAME (a videotestsrc pattern, e.g. ball or smpte)
and --horizontal-speed N give a picture that changes on every frame.
--nack makes the publisher answer NACKs with retransmissions, as browsers
do (off by default: a lost packet is then lost for good).

Prints JSON lines on stdout: {"event": "joined", "id": N},
{"event": "ready", "id": N, ...} once Janus reports webrtcup,
{"event": "error", "error": "..."} before exiting 1, {"event": "left"}.
SIGTERM (or SIGINT) leaves the room, destroys the session and exits 0.
"""

import argparse
import array
import json
import math
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
import conference  # noqa: E402  (Janus HTTP client, stdlib only)

signal.signal(signal.SIGTERM, signal.SIG_DFL)  # harness's handler is for tests


def say(event, **kw):
    kw['event'] = event
    kw['t'] = round(time.monotonic(), 3)
    sys.stdout.write(json.dumps(kw) + '\n')
    sys.stdout.flush()


class Stop(Exception):
    pass


def quiet_ice(webrtc, keep):
    """No ICE-TCP, no UPnP; keep references to the ICE objects alive.

    webrtcbin's "ice-agent" is a GstWebRTCNice (1.22) with an "ice-tcp"
    property and the libnice NiceAgent as "agent", which has "upnp".
    Python must hold both: when the wrappers go away while GStreamer still
    uses them, PyGObject drops a reference it does not own.
    """
    ice = webrtc.get_property('ice-agent')
    keep.append(ice)
    if ice.find_property('ice-tcp') is not None:
        ice.set_property('ice-tcp', False)
    agent = ice.get_property('agent') if ice.find_property('agent') else None
    if agent is not None:
        keep.append(agent)
        if agent.find_property('upnp') is not None:
            agent.set_property('upnp', False)
        if agent.find_property('ice-tcp') is not None:
            agent.set_property('ice-tcp', False)
    return ice, agent


class Peer:
    """The Janus session, the signaling thread and the webrtcbin pipeline."""

    def __init__(self, args, loop):
        self.args = args
        self.loop = loop
        self.api = conference.JanusClient(args.url, timeout=10)
        self.events = queue.Queue()
        self.stopping = threading.Event()
        self.handle = None
        self.id = None
        self.keep = []
        self.gathered = threading.Event()
        self.candidates = []
        self.exit_code = 0
        self.pipe = None
        self.webrtc = None

    # ------------------------------------------------------------ Janus side
    def poller(self):
        """Long polls; Janus unreachable for 3 s ends the publisher.

        A publisher does not rejoin: when Janus restarts, its session is
        gone ("error" event) and the test starts new publishers.
        """
        down_since = None
        while not self.stopping.is_set():
            try:
                for e in self.api.poll():
                    self.events.put(e)
                down_since = None
            except Exception as e:
                if self.stopping.is_set():
                    return
                now = time.monotonic()
                down_since = down_since or now
                gone = getattr(e, 'code', None) == 404  # session unknown: Janus restarted
                if gone or now - down_since >= 3:
                    self.events.put({'janus': 'error', 'error': {
                        'code': None, 'reason': 'session lost: %s' % e}})
                    return
                time.sleep(0.25)

    def keepalive(self):
        while not self.stopping.wait(25):
            try:
                self.api.keepalive()
            except Exception:
                pass

    def wait_event(self, what, pred, timeout):
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise Stop('timed out after %ss waiting for %s' % (timeout, what))
            if self.stopping.is_set():
                raise Stop('stopped')
            try:
                e = self.events.get(timeout=min(left, 0.2))
            except queue.Empty:
                continue
            data = e.get('plugindata', {}).get('data', {})
            if e.get('janus') == 'error':
                raise Stop('Janus: %s' % e.get('error', {}).get('reason'))
            if e.get('janus') == 'hangup':
                raise Stop('hangup: %s' % e.get('reason'))
            if 'error_code' in data:
                raise Stop('videoroom error %s: %s' % (data['error_code'], data.get('error')))
            if pred(e, data):
                return e, data
            self.note(e, data)

    def note(self, e, data):
        kind = e.get('janus')
        if kind in ('media', 'slowlink', 'webrtcup'):
            say('janus-' + kind, **{k: v for k, v in e.items() if k in
                                    ('type', 'receiving', 'uplink', 'lost', 'error', 'mid')})

    def signaling(self):
        try:
            self._signaling()
        except Stop as e:
            if not self.stopping.is_set():
                say('error', error=str(e))
                self.exit_code = 1
                GLib.idle_add(self.loop.quit)
        except Exception as e:
            say('error', error='%s: %s' % (type(e).__name__, e))
            self.exit_code = 1
            GLib.idle_add(self.loop.quit)

    def _signaling(self):
        a = self.args
        self.api.create()
        self.handle = self.api.attach('janus.plugin.videoroom')
        threading.Thread(target=self.poller, daemon=True).start()
        threading.Thread(target=self.keepalive, daemon=True).start()
        join = {'request': 'join', 'ptype': 'publisher', 'room': a.room, 'display': a.display}
        if a.pin:
            join['pin'] = a.pin
        self.api.message(self.handle, join)
        _, data = self.wait_event('joined', lambda e, d: d.get('videoroom') == 'joined', 10)
        self.id = data['id']
        say('joined', id=self.id, private_id=data.get('private_id'),
            others=[p.get('id') for p in data.get('publishers', [])])

        offer = self.make_offer()
        body = {'request': 'publish', 'audiocodec': 'opus', 'videocodec': a.codec,
                'display': a.display}
        self.api.message(self.handle, body, jsep={'type': 'offer', 'sdp': offer})
        e, data = self.wait_event('answer', lambda e, d: 'jsep' in e, 15)
        if data.get('configured') != 'ok':
            raise Stop('publish not configured: %s' % data)
        self.set_answer(e['jsep']['sdp'])
        say('negotiated', local=candidate_addrs(offer), remote=candidate_addrs(e['jsep']['sdp']))
        self.wait_event('webrtcup', lambda e, d: e.get('janus') == 'webrtcup', 20)
        say('ready', id=self.id, display=a.display, codec=a.codec, color='0x%06x' % a.color,
            tone=a.tone, mode=a.mode)
        while True:
            self.wait_event('nothing', lambda e, d: False, 1e9)

    def leave(self):
        """Polite exit; every call bounded by the client's timeout."""
        self.stopping.set()
        if self.handle is not None:
            for body in ({'request': 'unpublish'}, {'request': 'leave'}):
                try:
                    self.api.message(self.handle, body)
                except Exception:
                    pass
            try:
                self.api.detach(self.handle)
            except Exception:
                pass
        try:
            self.api.destroy()
        except Exception:
            pass
        say('left', id=self.id)

    # ------------------------------------------------------------ GStreamer side
    def build(self):
        a = self.args
        w, h_ = a.width, a.height
        if a.codec == 'vp8':
            venc = ('vp8enc deadline=1 cpu-used=8 keyframe-max-dist=%d target-bitrate=600000 '
                    '! rtpvp8pay pt=96 picture-id-mode=15-bit '
                    '! application/x-rtp,media=video,encoding-name=VP8,payload=96'
                    % (a.fps * 2))
        else:
            venc = ('x264enc tune=zerolatency speed-preset=ultrafast key-int-max=%d '
                    'bitrate=600 ! video/x-h264,profile=constrained-baseline,level=(string)3.1 '
                    '! h264parse ! rtph264pay pt=102 config-interval=-1 aggregate-mode=zero-latency '
                    '! application/x-rtp,media=video,encoding-name=H264,payload=102,'
                    'clock-rate=90000,packetization-mode=(string)1' % (a.fps * 2))
        aenc = ('opusenc bitrate=64000 frame-size=20 ! rtpopuspay pt=111 '
                '! application/x-rtp,media=audio,encoding-name=OPUS,payload=111')
        raw_v = 'video/x-raw,format=I420,width=%d,height=%d,framerate=%d/1' % (w, h_, a.fps)
        raw_a = 'audio/x-raw,format=S16LE,layout=interleaved,rate=48000,channels=1'
        if a.mode == 'solid':
            vsrc = ('videotestsrc is-live=true pattern=%s foreground-color=%d '
                    'horizontal-speed=%d ! %s'
                    % (a.pattern, 0xff000000 | a.color, a.horizontal_speed, raw_v))
            asrc = ('audiotestsrc name=sine is-live=true wave=sine freq=%g volume=%g '
                    'samplesperbuffer=480 ! %s' % (a.tone, a.volume, raw_a))
        else:
            vsrc = ('appsrc name=vsrc is-live=true format=time do-timestamp=false '
                    'caps="%s"' % raw_v)
            asrc = ('appsrc name=asrc is-live=true format=time do-timestamp=false '
                    'caps="%s"' % raw_a)
        desc = ('webrtcbin name=webrtc bundle-policy=max-bundle latency=100 '
                '%s ! queue max-size-buffers=4 ! %s ! webrtc. '
                '%s ! queue ! audioconvert ! audioresample ! %s ! webrtc. '
                % (vsrc, venc, asrc, aenc))
        self.pipe = Gst.parse_launch(desc)
        self.webrtc = self.pipe.get_by_name('webrtc')
        quiet_ice(self.webrtc, self.keep)
        # RTCP sender reports map RTP time to the capture time, not the send
        # time: nothing downstream of webrtcbin reports a latency, so the
        # send time is unknown ("Can't determine running time" warnings)
        # and the SRs would not carry a usable audio/video mapping.
        rtpbin = self.webrtc.get_by_name('rtpbin')
        if rtpbin is not None and rtpbin.find_property('rtcp-sync-send-time'):
            rtpbin.set_property('rtcp-sync-send-time', False)
        self.webrtc.connect('on-ice-candidate', self.on_candidate)
        self.webrtc.connect('notify::ice-gathering-state', self.on_gathering)
        bus = self.pipe.get_bus()
        bus.add_signal_watch()
        bus.connect('message::error', self.on_error)
        if a.mode == 'flash':
            self.flash = Flash(self.pipe, a)

    def start(self):
        if self.pipe.set_state(Gst.State.PLAYING) == Gst.StateChangeReturn.FAILURE:
            raise Stop('pipeline does not start')
        for i in range(2):
            tr = self.webrtc.emit('get-transceiver', i)
            if tr is not None:
                tr.set_property('direction', GstWebRTC.WebRTCRTPTransceiverDirection.SENDONLY)
                if self.args.nack and tr.find_property('do-nack') is not None:
                    tr.set_property('do-nack', True)  # answer NACKs (RTX), as browsers do
        if self.args.mode == 'flash':
            self.flash.start()
        threading.Thread(target=self.signaling, daemon=True).start()

    def on_error(self, bus, msg):
        err, dbg = msg.parse_error()
        say('error', error='%s: %s (%s)' % (msg.src.get_name(), err.message, dbg))
        self.exit_code = 1
        self.loop.quit()

    def on_candidate(self, webrtc, mline, cand):
        self.candidates.append((mline, cand))

    def on_gathering(self, webrtc, pspec):
        if webrtc.get_property('ice-gathering-state') == GstWebRTC.WebRTCICEGatheringState.COMPLETE:
            self.gathered.set()

    def call(self, signal_name, *args):
        """Emit a webrtcbin action signal that takes a promise; wait for it."""
        p = Gst.Promise.new()
        self.webrtc.emit(signal_name, *args, p)
        if p.wait() != Gst.PromiseResult.REPLIED:
            raise Stop('%s: no reply' % signal_name)
        return p.get_reply()

    def wait_caps(self, timeout=10):
        """Until every webrtcbin sink pad has caps with an SSRC.

        An offer made earlier (x264enc can take a moment for its first
        frame) has no a=ssrc for that stream, and Janus then drops the
        stream's packets ("Unknown SSRC").
        """
        deadline = time.monotonic() + timeout
        while True:
            pads, ok = [], True
            it = self.webrtc.iterate_sink_pads()
            while True:
                res, pad = it.next()
                if res != Gst.IteratorResult.OK:
                    break
                caps = pad.get_current_caps()
                pads.append(pad.get_name())
                if caps is None or not caps.get_structure(0).has_field('ssrc'):
                    ok = False
            if ok and len(pads) >= 2:
                return
            if time.monotonic() >= deadline:
                raise Stop('no media caps on %s after %ss' % (pads, timeout))
            time.sleep(0.02)

    def make_offer(self):
        self.wait_caps()
        reply = self.call('create-offer', None)
        offer = reply.get_value('offer')
        if offer is None:
            raise Stop('create-offer failed: %s' % reply.to_string())
        self.call('set-local-description', offer)
        # Half trickle: every candidate goes in the offer. One interface, no
        # STUN: gathering takes milliseconds; bounded anyway.
        if not self.gathered.wait(5):
            raise Stop('ICE gathering did not complete in 5 s')
        sdp = self.webrtc.get_property('local-description').sdp.as_text()
        if 'a=candidate:' not in sdp:
            sdp = add_candidates(sdp, self.candidates)
        if self.args.codec == 'h264' and self.args.h264_profile:
            # x264's constrained baseline says 42c0xx; rooms (and browsers)
            # use 42e01f. Same bitstream constraints that matter here.
            sdp = sdp.replace('profile-level-id=42c01f',
                              'profile-level-id=' + self.args.h264_profile)
        return sdp

    def set_answer(self, text):
        res, msg = GstSdp.SDPMessage.new_from_text(text)
        if res != GstSdp.SDPResult.OK:
            raise Stop('bad answer SDP')
        answer = GstWebRTC.WebRTCSessionDescription.new(GstWebRTC.WebRTCSDPType.ANSWER, msg)
        self.call('set-remote-description', answer)


def candidate_addrs(sdp):
    """['udp 127.0.0.2:40000 host', ...] from the a=candidate lines of sdp."""
    out = []
    for line in sdp.splitlines():
        if line.startswith('a=candidate:'):
            f = line.split()
            if len(f) >= 8:
                out.append('%s %s:%s %s' % (f[2].lower(), f[4], f[5], f[7]))
    return sorted(set(out))


def add_candidates(sdp, candidates):
    """Insert a=candidate lines (and end-of-candidates) under their m= line."""
    lines = sdp.rstrip('\r\n').split('\r\n')
    out, m = [], -1
    bymline = {}
    for mline, cand in candidates:
        bymline.setdefault(mline, []).append(cand)

    def flush():
        if m >= 0:
            for c in bymline.get(m, []):
                out.append(c if c.startswith('a=') else 'a=' + c)
            out.append('a=end-of-candidates')
    for line in lines:
        if line.startswith('m='):
            flush()
            m += 1
        out.append(line)
    flush()
    return '\r\n'.join(out) + '\r\n'


class Flash:
    """Black/silence, with a white flash and a beep on every whole second."""

    RATE = 48000
    CHUNK = 480  # 10 ms of audio per buffer

    def __init__(self, pipe, a):
        self.a = a
        self.pipe = pipe
        self.vsrc = pipe.get_by_name('vsrc')
        self.asrc = pipe.get_by_name('asrc')
        w, h_ = a.width, a.height
        y, c = w * h_, (w // 2) * (h_ // 2)
        self.white = bytes([235]) * y + bytes([128]) * (2 * c)
        self.black = bytes([16]) * y + bytes([128]) * (2 * c)
        self.silence = bytes(2 * self.CHUNK)
        self.beep_chunks = int(round(a.beep_ms / 10.0))
        self.frames_per_period = a.flash_period_ms * a.fps // 1000
        self.chunks_per_period = a.flash_period_ms // 10
        self.beeps = []
        for k in range(self.beep_chunks):
            s = array.array('h', (int(a.volume * 32767 * math.sin(
                2 * math.pi * a.beep_freq * (k * self.CHUNK + i) / self.RATE))
                for i in range(self.CHUNK)))
            if sys.byteorder != 'little':
                s.byteswap()
            self.beeps.append(s.tobytes())
        self.nv = 0
        self.na = 0
        self.lead = 40 * Gst.MSECOND

    def start(self):
        GLib.timeout_add(5, self.tick)

    def now(self):
        clock = self.pipe.get_clock()
        if clock is None:
            return None
        return clock.get_time() - self.pipe.get_base_time()

    def tick(self):
        now = self.now()
        if now is None:
            return True
        fps = self.a.fps
        while True:
            pts = Gst.util_uint64_scale(self.nv, Gst.SECOND, fps)
            if pts > now + self.lead:
                break
            white = (self.nv % self.frames_per_period) < self.a.flash_frames
            buf = Gst.Buffer.new_wrapped(self.white if white else self.black)
            buf.pts = pts
            buf.duration = Gst.util_uint64_scale(self.nv + 1, Gst.SECOND, fps) - pts
            self.vsrc.emit('push-buffer', buf)
            self.nv += 1
        while True:
            pts = Gst.util_uint64_scale(self.na * self.CHUNK, Gst.SECOND, self.RATE)
            if pts > now + self.lead:
                break
            k = self.na % self.chunks_per_period  # chunk index within the period
            data = self.beeps[k] if k < self.beep_chunks else self.silence
            buf = Gst.Buffer.new_wrapped(data)
            buf.pts = pts
            buf.duration = 10 * Gst.MSECOND
            self.asrc.emit('push-buffer', buf)
            self.na += 1
        return True


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--url', required=True, help='Janus HTTP API, e.g. http://127.0.0.2:8088/janus')
    ap.add_argument('--room', type=int, default=1234)
    ap.add_argument('--pin')
    ap.add_argument('--display', default='publisher')
    ap.add_argument('--color', type=lambda s: int(s, 0), default=0xff0000, help='0xRRGGBB')
    ap.add_argument('--tone', type=float, default=440.0, help='sine frequency, Hz')
    ap.add_argument('--volume', type=float, default=0.3)
    ap.add_argument('--volume2', type=float,
                    help='solid mode: SIGUSR1 switches the tone between --volume and this')
    ap.add_argument('--codec', choices=('vp8', 'h264'), default='vp8')
    ap.add_argument('--h264-profile', default='42e01f',
                    help='profile-level-id announced for H.264 ("" keeps x264\'s)')
    ap.add_argument('--size', default='640x360')
    ap.add_argument('--fps', type=int, default=15)
    ap.add_argument('--mode', choices=('solid', 'flash'), default='solid')
    ap.add_argument('--flash-frames', type=int, default=2)
    ap.add_argument('--beep-freq', type=float, default=1000.0)
    ap.add_argument('--beep-ms', type=int, default=40, help='a multiple of 10')
    ap.add_argument('--flash-period-ms', type=int, default=1000,
                    help='flash mode: time from one flash (and beep) to the next')
    ap.add_argument('--pattern', default='solid-color',
                    help='solid mode: videotestsrc pattern (ball, smpte, ...)')
    ap.add_argument('--nack', action='store_true',
                    help='retransmit what Janus NACKs (webrtcbin do-nack: RTX offered)')
    ap.add_argument('--horizontal-speed', type=int, default=0,
                    help='solid mode: videotestsrc horizontal-speed (pixels per frame)')
    a = ap.parse_args()
    a.width, a.height = (int(x) for x in a.size.split('x'))
    if a.mode == 'flash' and a.fps not in (15, 25, 30, 50, 60):
        ap.error('flash mode wants an integer frame rate that divides into seconds')
    if a.mode == 'flash' and (a.flash_period_ms % 10 or (a.flash_period_ms * a.fps) % 1000 or
                              a.flash_period_ms * a.fps // 1000 <= a.flash_frames):
        ap.error('--flash-period-ms must be a multiple of 10 ms and of the frame time, '
                 'and longer than the flash')

    Gst.init(None)
    loop = GLib.MainLoop()
    peer = Peer(a, loop)

    def on_signal(*_):
        peer.stopping.set()
        loop.quit()
        return GLib.SOURCE_REMOVE
    GLib.unix_signal_add(GLib.PRIORITY_HIGH, signal.SIGTERM, on_signal)
    GLib.unix_signal_add(GLib.PRIORITY_HIGH, signal.SIGINT, on_signal)
    if a.volume2 is not None and a.mode == 'solid':
        levels = [a.volume, a.volume2]

        def on_usr1(*_):
            levels.reverse()
            sine = peer.pipe.get_by_name('sine') if peer.pipe is not None else None
            if sine is not None:
                sine.set_property('volume', levels[0])
            say('volume', volume=levels[0])
            return GLib.SOURCE_CONTINUE
        GLib.unix_signal_add(GLib.PRIORITY_HIGH, signal.SIGUSR1, on_usr1)
    try:
        peer.build()
        peer.start()
    except (Stop, GLib.Error) as e:
        say('error', error=str(e))
        return 1
    loop.run()
    peer.leave()
    peer.pipe.set_state(Gst.State.NULL)
    return peer.exit_code


if __name__ == '__main__':
    sys.exit(main())
