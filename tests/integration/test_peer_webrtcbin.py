#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""capture/peer.c against a real, independent WebRTC sender.

A GStreamer webrtcbin sender (solid-colour VP8 + Opus tone, sendonly,
max-bundle) offers; tests/capture/peer_probe (one sc_peer bound to
127.0.0.2) answers with sc_sdp_answer and counts what it decrypts, sending
an RR + SDES + PLI compound each second. Both run in the test's network
namespace (conference.enter_netns()). Checked:

  - the peer reaches UP; RTP of both payload types arrives decrypted, RTP
    version 2, with the SSRCs the offer announced; the sender's SRs arrive;
  - webrtcbin's get-stats shows our RTCP: PLIs counted on the video
    outbound-rtp and remote-inbound-rtp entries from our RRs;
  - random UDP datagrams sent to the peer's port during the call are
    dropped and counted while media keeps flowing and the peer stays up;
  - with the offer's a=fingerprint tampered, the peer ends FAILED (a
    fingerprint mismatch) and delivers no media.

Root only (network namespace): exit 77 otherwise. The sender is this file
run by Debian's /usr/bin/python3 (gi) with --sender.
"""

import json
import os
import random
import re
import signal
import socket
import struct
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


# ---------------------------------------------------------------- the sender (gi)

def sender_main(argv):
    import argparse
    import threading

    import gi
    gi.require_version('Gst', '1.0')
    gi.require_version('GstWebRTC', '1.0')
    gi.require_version('GstSdp', '1.0')
    from gi.repository import GLib, Gst, GstSdp, GstWebRTC

    sys.path.insert(0, HERE)
    import webrtc_publisher as wp  # quiet_ice(), add_candidates()

    ap = argparse.ArgumentParser()
    ap.add_argument('--sender', action='store_true')
    ap.add_argument('--dir', required=True)
    a = ap.parse_args(argv)

    def say(event, **kw):
        kw['event'] = event
        kw['t'] = round(time.monotonic(), 3)
        sys.stdout.write(json.dumps(kw) + '\n')
        sys.stdout.flush()

    Gst.init(None)
    loop = GLib.MainLoop()
    desc = ('webrtcbin name=webrtc bundle-policy=max-bundle latency=100 '
            'videotestsrc is-live=true pattern=solid-color foreground-color=%d '
            '! video/x-raw,format=I420,width=320,height=240,framerate=15/1 '
            '! queue max-size-buffers=4 ! vp8enc deadline=1 cpu-used=8 keyframe-max-dist=3000 '
            '! rtpvp8pay pt=96 picture-id-mode=15-bit '
            '! application/x-rtp,media=video,encoding-name=VP8,payload=96 ! webrtc. '
            'audiotestsrc is-live=true wave=sine freq=440 volume=0.3 samplesperbuffer=480 '
            '! audio/x-raw,format=S16LE,layout=interleaved,rate=48000,channels=1 '
            '! queue ! audioconvert ! audioresample ! opusenc bitrate=64000 frame-size=20 '
            '! rtpopuspay pt=111 ! application/x-rtp,media=audio,encoding-name=OPUS,payload=111 '
            '! webrtc. ' % (0xff000000 | 0xff0000))
    pipe = Gst.parse_launch(desc)
    webrtc = pipe.get_by_name('webrtc')
    keep = []
    wp.quiet_ice(webrtc, keep)
    gathered = threading.Event()
    cands = []
    webrtc.connect('on-ice-candidate', lambda w, m, c: cands.append((m, c)))

    def on_gathering(w, pspec):
        if w.get_property('ice-gathering-state') == GstWebRTC.WebRTCICEGatheringState.COMPLETE:
            gathered.set()
    webrtc.connect('notify::ice-gathering-state', on_gathering)

    def on_conn(w, pspec):
        say('connection-state', state=w.get_property('connection-state').value_nick)
    webrtc.connect('notify::connection-state', on_conn)

    def on_error(bus, msg):
        err, dbg = msg.parse_error()
        say('error', error='%s: %s' % (msg.src.get_name(), err.message))
        loop.quit()
    bus = pipe.get_bus()
    bus.add_signal_watch()
    bus.connect('message::error', on_error)

    def call(name, *args):
        p = Gst.Promise.new()
        webrtc.emit(name, *args, p)
        if p.wait() != Gst.PromiseResult.REPLIED:
            raise RuntimeError('%s: no reply' % name)
        return p.get_reply()

    def to_py(v):
        if hasattr(v, 'value_nick'):  # GI enums are ints too: first
            return v.value_nick
        if isinstance(v, (bool, int, float, str)):
            return v
        return None

    def stats():
        reply = call('get-stats', None)
        out = []
        for i in range(reply.n_fields()):
            s = reply.get_value(reply.nth_field_name(i))
            if not isinstance(s, Gst.Structure):
                continue
            d = {}
            for j in range(s.n_fields()):
                k = s.nth_field_name(j)
                v = to_py(s.get_value(k))
                if v is not None:
                    d[k] = v
            if d.get('type') in ('outbound-rtp', 'remote-inbound-rtp'):
                out.append(d)
        return out

    def work():
        try:
            pipe.set_state(Gst.State.PLAYING)
            for i in range(2):
                tr = webrtc.emit('get-transceiver', i)
                if tr is not None:
                    tr.set_property('direction',
                                    GstWebRTC.WebRTCRTPTransceiverDirection.SENDONLY)
            # a=ssrc lines need caps with an SSRC on every sink pad first.
            deadline = time.monotonic() + 10
            while True:
                pads, ok = 0, True
                it = webrtc.iterate_sink_pads()
                while True:
                    res, pad = it.next()
                    if res != Gst.IteratorResult.OK:
                        break
                    pads += 1
                    caps = pad.get_current_caps()
                    ok = ok and caps is not None and caps.get_structure(0).has_field('ssrc')
                if ok and pads >= 2:
                    break
                if time.monotonic() > deadline:
                    raise RuntimeError('no caps with ssrc')
                time.sleep(0.02)
            for attempt in range(3):  # seen once: a reply without an offer
                reply = call('create-offer', None)
                offer = reply.get_value('offer')
                if offer is not None:
                    break
                say('create-offer-retry', reply=reply.to_string())
                time.sleep(0.2)
            else:
                raise RuntimeError('create-offer: %s' % reply.to_string())
            call('set-local-description', offer)
            if not gathered.wait(5):
                raise RuntimeError('ICE gathering did not complete')
            sdp = webrtc.get_property('local-description').sdp.as_text()
            if 'a=candidate:' not in sdp:
                sdp = wp.add_candidates(sdp, cands)
            with open(os.path.join(a.dir, 'offer.sdp.tmp'), 'w') as f:
                f.write(sdp)
            os.rename(os.path.join(a.dir, 'offer.sdp.tmp'), os.path.join(a.dir, 'offer.sdp'))
            say('offer')
            path = os.path.join(a.dir, 'answer.sdp')
            deadline = time.monotonic() + 30
            while not os.path.exists(path):
                if time.monotonic() > deadline:
                    raise RuntimeError('no answer')
                time.sleep(0.05)
            with open(path) as f:
                text = f.read()
            res, msg = GstSdp.SDPMessage.new_from_text(text)
            if res != GstSdp.SDPResult.OK:
                raise RuntimeError('bad answer SDP')
            answer = GstWebRTC.WebRTCSessionDescription.new(GstWebRTC.WebRTCSDPType.ANSWER, msg)
            call('set-remote-description', answer)
            say('answered')
            while True:
                time.sleep(0.5)
                say('stats', stats=stats())
        except Exception as e:
            say('error', error='%s: %s' % (type(e).__name__, e))
            GLib.idle_add(loop.quit)

    def on_signal(*_):
        loop.quit()
        return GLib.SOURCE_REMOVE
    GLib.unix_signal_add(GLib.PRIORITY_HIGH, signal.SIGTERM, on_signal)
    threading.Thread(target=work, daemon=True).start()
    loop.run()
    pipe.set_state(Gst.State.NULL)
    return 0


if __name__ == '__main__' and '--sender' in sys.argv:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    sys.exit(sender_main(sys.argv[1:]))


# ---------------------------------------------------------------- the test (stdlib)

import conference as c  # noqa: E402
import harness as h  # noqa: E402


def probe_binary():
    p = os.environ.get('STAGECAST_PEER_PROBE') or os.path.join(h.BUILD_DIR, 'tests', 'capture',
                                                              'peer_probe')
    if not os.access(p, os.X_OK):
        raise h.Skip('peer_probe not built (%s)' % p)
    return p


def events(proc):
    out = []
    for line in proc.output().splitlines():
        if line.startswith('{'):
            try:
                out.append(json.loads(line))
            except ValueError:
                pass
    return out


def last(proc, name):
    evs = [e for e in events(proc) if e.get('event') == name]
    return evs[-1] if evs else None


def offer_ssrcs(sdp):
    """{'video': ssrc, 'audio': ssrc} from the first a=ssrc of each m-section."""
    out, kind = {}, None
    for line in sdp.splitlines():
        if line.startswith('m='):
            kind = line[2:].split()[0]
        m = re.match(r'a=ssrc:(\d+) ', line)
        if m and kind and kind not in out:
            out[kind] = int(m.group(1))
    return out


def tamper_fingerprint(sdp):
    """Flip the first hex digit of every sha-256 fingerprint."""
    def flip(m):
        d = m.group(2)
        return m.group(1) + ('0' if d.upper() != '0' else '1') + m.group(3)
    out, n = re.subn(r'(a=fingerprint:sha-256 )([0-9A-Fa-f])([0-9A-Fa-f:]+)', flip, sdp)
    if n == 0:
        raise h.Failure('no sha-256 fingerprint in the offer')
    return out


def candidates(sdp):
    """[(ip, port)] of the UDP a=candidate lines of sdp."""
    out = []
    for line in sdp.splitlines():
        f = line.split()
        if line.startswith('a=candidate:') and len(f) >= 8 and f[2].lower() == 'udp':
            if (f[4], int(f[5])) not in out:
                out.append((f[4], int(f[5])))
    return out


def garbage(src, dst, n, seed):
    """n random datagrams of every RFC 7983 first-byte class from src to dst.

    libnice drops datagrams from addresses that are not a remote candidate,
    so they carry the sender's own address and port (a raw socket: root).
    """
    rnd = random.Random(seed)
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    try:
        for i in range(n):
            size = rnd.randint(1, 400)
            b = bytearray(rnd.getrandbits(8) for _ in range(size))
            if i % 3 == 0:
                b[0] = rnd.randint(128, 191)  # looks like SRTP / SRTCP
            elif i % 3 == 1:
                b[0] = rnd.choice([rnd.randint(4, 19), rnd.randint(64, 127),
                                   rnd.randint(192, 255)])  # nothing we know
            udp = struct.pack('!HHHH', src[1], dst[1], 8 + size, 0) + bytes(b)
            ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(udp), 0, 0, 64,
                             socket.IPPROTO_UDP, 0, socket.inet_aton(src[0]),
                             socket.inet_aton(dst[0]))
            s.sendto(ip + udp, (dst[0], 0))
            if i % 20 == 19:
                time.sleep(0.01)
    finally:
        s.close()


def alive(proc):
    """False while proc runs; raises once it has exited."""
    if not proc.alive():
        raise h.Failure('%s exited (%s): %s' % (proc.name, proc.returncode, proc.tail(10)))
    return False


def start_call(t, name, tamper, seconds):
    d = t.path(name)
    os.makedirs(d)
    sender = h.Proc(t, '%s-sender' % name, [c.SYSTEM_PYTHON, os.path.abspath(__file__),
                                            '--sender', '--dir', d], env=c._gst_env())
    t.wait('%s: webrtcbin offers' % name,
           lambda: os.path.exists(os.path.join(d, 'offer.sdp')) or alive(sender), 20)
    with open(os.path.join(d, 'offer.sdp')) as f:
        offer = f.read()
    if tamper:
        offer = tamper_fingerprint(offer)
    with open(os.path.join(d, 'offer-for-probe.sdp'), 'w') as f:
        f.write(offer)
    probe = h.Proc(t, '%s-probe' % name, [probe_binary(), '--offer',
                                           os.path.join(d, 'offer-for-probe.sdp'),
                                           '--bind', c.ICE_IP, '--seconds', seconds,
                                           '--timeout', 20])
    ans = t.wait('%s: the probe answers' % name, lambda: last(probe, 'answer') or alive(probe),
                 10)
    with open(os.path.join(d, 'answer.tmp'), 'w') as f:
        f.write(ans['sdp'])
    os.rename(os.path.join(d, 'answer.tmp'), os.path.join(d, 'answer.sdp'))
    return sender, probe, offer, ans


def normal_call(t):
    seconds = 8
    sender, probe, offer, ans = start_call(t, 'call', False, seconds)
    ssrcs = offer_ssrcs(offer)
    t.check('video' in ssrcs and 'audio' in ssrcs, 'the offer announces SSRCs', ssrcs)
    accepted = [ch for ch in ans['choices'] if ch['accepted']]
    t.equal(sorted((ch['codec'], ch['pt']) for ch in accepted), [('opus', 111), ('vp8', 96)],
            'answer takes VP8/96 and Opus/111')
    t.wait('peer is up', lambda: any(e.get('event') == 'state' and e['state'] == 'up'
                                     for e in events(probe)), 20)

    # Garbage for ~1 s in the middle of the call.
    time.sleep(2)
    ours, theirs = candidates(ans['sdp']), candidates(offer)
    t.check(ours and theirs, 'UDP candidates on both sides', (ours, theirs))
    t.check(last(probe, 'stats') is None, 'probe still running')
    mark = time.monotonic()
    for src in theirs:
        garbage(src, ours[0], 600, 1234)
    h.log('sent 600 garbage datagrams from each of %s to %s in %.2f s'
          % (theirs, ours[0], time.monotonic() - mark))

    code = probe.wait(seconds + 15)
    st = last(probe, 'stats')
    h.log('probe stats: %s' % json.dumps(st))
    t.equal(code, 0, 'probe exit code (peer came up and stayed up)')
    t.check(st['up'] and not st['failed'], 'peer up, not failed', st['why'])
    streams = {(s['ssrc'], s['pt']): s['packets'] for s in st['streams']}
    t.check(streams.get((ssrcs['video'], 96), 0) >= 5 * seconds,
            'VP8 RTP (pt 96, ssrc %d) decrypted: %d packets'
            % (ssrcs['video'], streams.get((ssrcs['video'], 96), 0)), streams)
    t.check(streams.get((ssrcs['audio'], 111), 0) >= 30 * seconds,
            'Opus RTP (pt 111, ssrc %d) decrypted: %d packets'
            % (ssrcs['audio'], streams.get((ssrcs['audio'], 111), 0)), streams)
    t.check(set(streams) <= {(ssrcs['video'], 96), (ssrcs['audio'], 111)},
            'only the announced SSRCs/PTs', streams)
    t.equal(st['bad_rtp'], 0, 'every delivered packet is RTP version 2')
    t.check(st['rtcp_in'] >= 2, 'sender reports decrypted (%d RTCP)' % st['rtcp_in'])
    t.check(st['rtcp_sent'] >= seconds - 2 and st['rtcp_send_errors'] == 0,
            'our RTCP sent each second (%d)' % st['rtcp_sent'], st)
    p = st['peer']
    t.check(p['dropped_unknown'] >= 100, 'garbage of no known kind dropped (%d)'
            % p['dropped_unknown'])
    t.check(p['dropped_srtp'] >= 100, 'garbage that looks like SRTP dropped (%d)'
            % p['dropped_srtp'])
    t.equal(p['tx_rtcp'], st['rtcp_sent'], 'peer tx_rtcp counter')

    # Media kept flowing after the garbage: the per-second ticks say so.
    ticks = [e for e in events(probe) if e.get('event') == 'tick']
    after = [e for e in ticks if e['t'] >= mark + 1.5]
    t.check(len(after) >= 2 and after[-1]['rtp'] - after[0]['rtp'] >= 30,
            'RTP keeps arriving after the garbage', [(e['t'], e['rtp']) for e in ticks])

    # webrtcbin saw our RTCP.
    ss = t.wait('webrtcbin stats show our PLI and RR', lambda: rtcp_seen(sender, ssrcs), 5)
    h.log('webrtcbin: %s' % ss)
    sender.stop()


def rtcp_seen(sender, ssrcs):
    ev = last(sender, 'stats')
    if not ev:
        return None
    pli = remote_in = 0
    for s in ev['stats']:
        if s.get('type') == 'outbound-rtp' and s.get('ssrc') == ssrcs['video']:
            pli = max(pli, s.get('pli-count', 0))
        if s.get('type') == 'remote-inbound-rtp':
            remote_in += 1
    if pli >= 1 and remote_in >= 1:
        return 'video pli-count %d, %d remote-inbound-rtp entries' % (pli, remote_in)
    return None


def tampered_call(t):
    sender, probe, offer, ans = start_call(t, 'tampered', True, 5)
    code = probe.wait(40)
    st = last(probe, 'stats')
    h.log('probe stats: %s' % json.dumps(st))
    states = [e['state'] for e in events(probe) if e.get('event') == 'state']
    t.equal(code, 2, 'probe exit code with a tampered fingerprint')
    t.check(st['failed'] and not st['up'], 'peer FAILED, never up', states)
    t.check('fingerprint' in st['why'], 'failure names the fingerprint', st['why'])
    t.check('connected' in states, 'ICE connected before DTLS failed', states)
    t.equal(st['streams'], [], 'no media delivered')
    t.equal(st['peer']['rtp'] + st['peer']['rtcp'], 0, 'peer delivered no RTP/RTCP')
    sender.stop()


def main(t):
    probe_binary()
    if not os.access(c.SYSTEM_PYTHON, os.X_OK):
        raise h.Skip('%s missing' % c.SYSTEM_PYTHON)
    code, _, err = h.run_tool([c.SYSTEM_PYTHON, '-c', 'import gi; '
                               'gi.require_version("Gst", "1.0"); '
                               'gi.require_version("GstWebRTC", "1.0"); '
                               'from gi.repository import Gst, GstWebRTC'], 20)
    if code != 0:
        raise h.Skip('no GStreamer webrtc in %s: %s' % (c.SYSTEM_PYTHON, err.strip()[-300:]))
    c.enter_netns()
    normal_call(t)
    tampered_call(t)


if __name__ == '__main__':
    h.run(main)
