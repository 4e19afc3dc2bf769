#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""capture/whep.c against a real WHEP server: janus-whep-server (npm, in
tests/integration/whep: `npm ci --prefix tests/integration/whep`) in front
of the rig's Janus Streaming plugin (Conference(streaming=True)), whose RTP
mountpoint a GStreamer sender feeds with VP8 and Opus.

tests/capture/sig_probe offers one audio and one video section
(sc_sdp_offer_recvonly with dummy ICE/DTLS values): 201, an answer with two
live m-sections named after the endpoint, and a DELETE of the resource on
stop (the server reports the subscriber gone). A wrong token gives DENIED,
a missing endpoint NOT_FOUND, a closed port UNREACHABLE. Root only (network
namespace); exit 77 when node, the npm package or the probe is missing.
"""

import json
import os
import shutil
import time

import conference as c
import harness as h
from test_signaling_janus import EXIT, probe_binary

HERE = os.path.dirname(os.path.abspath(__file__))
WHEP_DIR = os.path.join(HERE, 'whep')
TOKEN = 'sc-whep-token'


def lines(proc, kind=None):
    out = []
    for line in proc.output().splitlines():
        if line.startswith('{'):
            try:
                e = json.loads(line)
            except ValueError:
                continue
            if kind is None or e.get('event') == kind:
                out.append(e)
    return out


def main(t):
    probe = probe_binary()
    node = shutil.which('node')
    if not node:
        raise h.Skip('node missing')
    if not os.path.isdir(os.path.join(WHEP_DIR, 'node_modules', 'janus-whep-server')):
        raise h.Skip('janus-whep-server missing: npm ci --prefix %s' % WHEP_DIR)
    conf = c.Conference(t, streaming=True).start()
    gst = h.which('gst-launch-1.0')
    sender = h.Proc(t, 'gst-sender', [
        gst, '-q', 'videotestsrc', 'is-live=true', 'pattern=smpte', '!',
        'video/x-raw,width=320,height=240,framerate=15/1', '!', 'vp8enc', 'deadline=1', '!',
        'rtpvp8pay', 'pt=96', '!', 'udpsink', 'host=' + c.ICE_IP,
        'port=%d' % c.STREAM_VIDEO_PORT,
        'audiotestsrc', 'is-live=true', 'freq=440', '!', 'opusenc', '!', 'rtpopuspay', 'pt=111',
        '!', 'udpsink', 'host=' + c.ICE_IP, 'port=%d' % c.STREAM_AUDIO_PORT])
    sender.must_live = True
    port = h.free_port()
    server = h.Proc(t, 'whep-server', [node, os.path.join(WHEP_DIR, 'server.mjs'), conf.ws_url,
                                       port, TOKEN], cwd=WHEP_DIR)
    t.wait('janus-whep-server ready', lambda: lines(server, 'ready'), 20)
    server.must_live = True
    base = 'whep+http://%s:%d/whep/endpoint/' % (c.ICE_IP, port)

    p = h.Proc(t, 'probe', [probe, base + 'stage', '--token', TOKEN, '--seconds', 60])
    ans = t.wait('WHEP answer', lambda: lines(p, 'answer'), 10)[0]
    kinds = [(s['kind'], s['active'], s['feed'], s['display']) for s in ans['streams']]
    t.equal(kinds, [('audio', True, 'whep', 'stage'), ('video', True, 'whep', 'stage')],
            'two live m-sections in the answer')
    t.wait('server counts a subscriber', lambda: lines(server, 'new-subscriber'), 5)
    t0 = time.monotonic()
    t.equal(p.stop(), 0, 'probe exit code after SIGTERM')
    t.check(time.monotonic() - t0 < 2.5, 'stop within 2 s')
    t.wait('DELETE ended the subscription', lambda: lines(server, 'subscriber-gone'), 5)

    for name, url, token, want in [
            ('probe-token', base + 'stage', 'wrong', 'DENIED'),
            ('probe-notoken', base + 'stage', None, 'DENIED'),
            ('probe-missing', base + 'nothing', TOKEN, 'NOT_FOUND'),
            ('probe-closed', 'whep+http://%s:%d/whep/endpoint/stage' % (c.ICE_IP, h.free_port()),
             TOKEN, 'UNREACHABLE')]:
        argv = [probe, url, '--seconds', 30] + (['--token', token] if token else [])
        q = h.Proc(t, name, argv)
        t.equal(q.wait(10), EXIT[want], '%s: exit code' % name)
        errs = lines(q, 'error')
        t.check(errs and errs[0]['code'] == want and errs[0]['fatal'],
                '%s: fatal %s' % (name, want), errs)
    server.must_live = False
    server.stop()
    sender.must_live = False
    sender.stop()
    t.equal(conf.stop(), 0, 'Janus exit code after SIGTERM')


if __name__ == '__main__':
    h.run(main)
