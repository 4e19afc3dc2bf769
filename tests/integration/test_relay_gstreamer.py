#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""A publisher that is not ffmpeg: GStreamer's flvmux + rtmp2sink.

GStreamer writes its own RTMP (chunking, connect/publish sequence, audio
at 44.1 kHz mono, onMetaData sent again and again while streaming), much
as OBS and hardware encoders differ from ffmpeg. The stream must come out
the same over RTMP play and over HLS: h264 640x360 at 30 fps and AAC, and
the 660 Hz tone must survive. Skipped when gst-launch-1.0 is missing.
"""

import time

import harness as h

NAME = 'k1-gst'
ELEMENTS = ('videotestsrc', 'x264enc', 'h264parse', 'flvmux', 'rtmp2sink', 'audiotestsrc',
            'audioconvert', 'avenc_aac', 'aacparse')


def gst_publish(t, url):
    argv = [h.which('gst-launch-1.0'), '-q',
            'videotestsrc', 'is-live=true', '!',
            'video/x-raw,width=640,height=360,framerate=30/1', '!',
            'x264enc', 'tune=zerolatency', 'key-int-max=60', 'bitrate=1500', '!',
            'h264parse', '!', 'flvmux', 'name=m', 'streamable=true', '!',
            'rtmp2sink', 'location=%s' % url,
            'audiotestsrc', 'is-live=true', 'freq=660', '!', 'audioconvert', '!',
            'avenc_aac', '!', 'aacparse', '!', 'm.']
    return h.Proc(t, 'gstreamer', argv)


def check_av(t, info, where, want_fps=True):
    for s in info.get('streams', []):
        h.log('%s: stream %s %s/%s' % (where, s.get('index'), s.get('codec_type'),
                                       s.get('codec_name')))
    s = h.streams_by_type(info)
    t.check(s['video'] is not None and s['audio'] is not None,
            '%s: has video and audio' % where, info.get('streams'))
    # flvmux repeats onMetaData; it must not turn into a data/subtitle track.
    kinds = sorted(x.get('codec_type') for x in info.get('streams', []))
    t.equal(kinds, ['audio', 'video'], '%s: only an audio and a video stream' % where)
    v, a = s['video'], s['audio']
    t.equal(v['codec_name'], 'h264', '%s: video codec' % where)
    t.equal((v['width'], v['height']), (640, 360), '%s: video size' % where)
    if want_fps:
        t.check(abs(h.fps(v) - 30) < 0.5, '%s: 30 fps (%.2f)' % (where, h.fps(v)), v)
    t.equal(a['codec_name'], 'aac', '%s: audio codec' % where)
    h.log('%s: audio %s Hz, %s channel(s)' % (where, a.get('sample_rate'), a.get('channels')))


def main(t):
    h.which('gst-launch-1.0')
    for el in ELEMENTS:
        code, _, _ = h.run_tool(['gst-inspect-1.0', el], 20)
        t.check(code == 0, 'GStreamer element %s installed (tools/install-deps)' % el)

    relay = h.Relay(t).start()
    pub = gst_publish(t, relay.rtmp(NAME))
    pub.must_live = True
    st = relay.wait_live(NAME) and relay.stream(NAME)
    h.log('/v1 video %s audio %s' % (st.get('video'), st.get('audio')))

    # RTMP play.
    play = relay.rtmp(NAME)
    check_av(t, h.ffprobe(play), 'RTMP play')
    n = h.count_packets(play, 4)
    t.check(90 <= n <= 170, 'RTMP play: %d video packets in 4 s of stream (30 fps)' % n, n)
    luma = h.decode_luma(play)
    t.check(luma > 30, 'RTMP play: decoded frame is the test pattern (mean luma %.0f)' % luma)
    tone = h.decode_tone(play)
    t.check(abs(tone - 660) < 25, 'RTMP play: decoded tone %.0f Hz ~ 660 Hz' % tone)

    # HLS.
    relay.wait_segments(NAME, 2, 40)
    check_av(t, h.ffprobe(relay.hls(NAME)), 'HLS')
    tone = h.decode_tone(relay.hls(NAME))
    t.check(abs(tone - 660) < 25, 'HLS: decoded tone %.0f Hz ~ 660 Hz' % tone)
    relay.hls_advances(NAME)
    t.equal(relay.playlist(NAME)['discontinuities'], 0, 'HLS discontinuities')

    st = relay.stream(NAME)
    h.log('/v1 video %s audio %s' % (st.get('video'), st.get('audio')))
    t.check(st['video'] and st['video']['codec'] == 'h264' and st['video']['width'] == 640,
            '/v1 video h264 640 wide', st['video'])
    t.check(abs((st['video'].get('fps') or 0) - 30) <= 2, '/v1 video fps ~30', st['video'])
    t.check(st['audio'] and st['audio']['codec'] == 'aac', '/v1 audio aac', st['audio'])
    t.equal(st['audio']['sample_rate'], 44100, '/v1 audio sample rate (audiotestsrc)')
    t.check(pub.alive(), 'GStreamer still publishing')
    time.sleep(0.5)

    pub.must_live = False
    pub.stop(sig=2)
    t.equal(relay.stop(), 0, 'relay exit code after SIGTERM')


if __name__ == '__main__':
    h.run(main)
