#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""stagecast-capture pulls a WHEP stream and publishes it to the relay.

A real WHEP server (janus-whep-server from npm, in front of the rig's
Janus Streaming plugin) serves a GStreamer sender's solid magenta VP8 and a
660 Hz Opus tone. stagecast-capture (whep+http://..., bearer token) must
put that colour and that tone into its RTMP output at the profile's size
and frame rate, and on SIGTERM DELETE its WHEP session and exit 0. A wrong
token exits 4 (denied). Root only (network namespace); exit 77 when node
or the npm package is missing.
"""

import os
import shutil
import time

import conference as c
import harness as h
import mixcheck as mx
from test_capture_janus import capture_binary
from test_signaling_whep import TOKEN, WHEP_DIR, lines

SIZE = (640, 360)


def main(t):
    exe = capture_binary()
    node = shutil.which('node')
    if not node:
        raise h.Skip('node missing')
    if not os.path.isdir(os.path.join(WHEP_DIR, 'node_modules', 'janus-whep-server')):
        raise h.Skip('janus-whep-server missing: npm ci --prefix %s' % WHEP_DIR)
    conf = c.Conference(t, streaming=True).start()
    gst = h.which('gst-launch-1.0')
    sender = h.Proc(t, 'gst-sender', [
        gst, '-q', 'videotestsrc', 'is-live=true', 'pattern=solid-color',
        'foreground-color=0xffff00ff', '!', 'video/x-raw,width=320,height=240,framerate=15/1',
        '!', 'vp8enc', 'deadline=1', 'keyframe-max-dist=30', '!', 'rtpvp8pay', 'pt=96', '!',
        'udpsink', 'host=' + c.ICE_IP, 'port=%d' % c.STREAM_VIDEO_PORT,
        'audiotestsrc', 'is-live=true', 'freq=660', '!', 'opusenc', '!', 'rtpopuspay', 'pt=111',
        '!', 'udpsink', 'host=' + c.ICE_IP, 'port=%d' % c.STREAM_AUDIO_PORT])
    sender.must_live = True
    port = h.free_port()
    server = h.Proc(t, 'whep-server', [node, os.path.join(WHEP_DIR, 'server.mjs'), conf.ws_url,
                                       port, TOKEN], cwd=WHEP_DIR)
    t.wait('janus-whep-server ready', lambda: lines(server, 'ready'), 20)
    server.must_live = True
    url = 'whep+http://%s:%d/whep/endpoint/stage' % (c.ICE_IP, port)
    relay = h.Relay(t).start()

    token_file = t.path('whep-token')
    with open(token_file, 'w') as f:
        f.write(TOKEN + '\n')
    bad_file = t.path('whep-bad-token')
    with open(bad_file, 'w') as f:
        f.write('wrong\n')
    denied = h.Proc(t, 'capture-denied', [exe, '--conference', url, '--output',
                                          relay.rtmp('denied'), '--bearer-token-file', bad_file,
                                          '--bind-address', c.ICE_IP])
    t.equal(denied.wait(15), 4, 'a wrong WHEP token exits 4 (denied)')

    cap = h.Proc(t, 'capture', [exe, '--conference', url, '--output', relay.rtmp('whep'),
                                '--profile', '360p15', '--bearer-token-file', token_file,
                                '--bind-address', c.ICE_IP, '--log-level', 'debug'])
    cap.must_live = True
    relay.wait_live('whep', timeout=15)
    t.wait('the WHEP server counts our subscription',
           lambda: lines(server, 'new-subscriber'), 10)
    time.sleep(3)  # first key frame, decoders settle

    s = h.streams_by_type(h.ffprobe(relay.rtmp('whep')))
    t.equal(s['video']['codec_name'], 'h264', 'video codec')
    t.equal((s['video']['width'], s['video']['height']), SIZE, 'video size (360p15)')
    t.check(abs(h.fps(s['video']) - 15) < 0.5, 'frame rate 15 (%.2f)' % h.fps(s['video']))
    t.equal(s['audio']['codec_name'], 'aac', 'audio codec')

    rgb = mx.grab_rgb(relay.rtmp('whep'), SIZE, skip=2.5)
    frac, centre = mx.find_colour(rgb, SIZE, 0xff00ff)
    h.log('magenta covers %.1f%% at %s' % (100 * frac, centre))
    t.check(frac > 0.3, 'the WHEP stream\'s colour fills its tile (%.1f%%)' % (100 * frac))
    pcm, rate = mx.grab_pcm(relay.rtmp('whep'), 2, skip=2.5)
    lv = mx.tone_levels(pcm, rate, [660, 440])
    h.log('tone levels %s' % lv)
    t.check(lv[660] > 0.3, 'the WHEP stream\'s 660 Hz is heard (%.3f)' % lv[660])

    cap.must_live = False
    t.equal(cap.stop(timeout=15), 0, 'capture exit code after SIGTERM')
    t.wait('DELETE ended the WHEP session', lambda: lines(server, 'subscriber-gone'), 5)
    server.must_live = False
    server.stop()
    sender.must_live = False
    sender.stop()
    t.equal(relay.stop(), 0, 'relay exit code after SIGTERM')


if __name__ == '__main__':
    h.run(main)
