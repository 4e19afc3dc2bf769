#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Publish to the relay with ffmpeg; read it back over RTMP play and LL-HLS.

Checks content (codecs, size, frame rate, a decoded picture and tone), the
LL-HLS playlist (segment and part durations, EXT-X-PART, EXT-X-MAP, blocking
reload, CORS), /v1/streams, /metrics and a clean SIGTERM shutdown.
"""

import time

import harness as h

NAME = 'k1-publish'


def check_av(t, info, where, want_fps=True):
    s = h.streams_by_type(info)
    t.check(s['video'] is not None, '%s: has a video stream' % where, info)
    t.check(s['audio'] is not None, '%s: has an audio stream' % where, info)
    v, a = s['video'], s['audio']
    t.equal(v['codec_name'], 'h264', '%s: video codec' % where)
    t.equal((v['width'], v['height']), (640, 360), '%s: video size' % where)
    if want_fps:
        t.check(abs(h.fps(v) - 25) < 0.5, '%s: 25 fps (%.2f)' % (where, h.fps(v)), v)
    t.equal(a['codec_name'], 'aac', '%s: audio codec' % where)
    t.equal(int(a['sample_rate']), 48000, '%s: audio sample rate' % where)


def main(t):
    relay = h.Relay(t).start()
    t.equal(relay.get('/healthz').status, 200, '/healthz status')

    pub = h.ffmpeg_publish(t, relay.rtmp(NAME))
    pub.must_live = True
    relay.wait_live(NAME)

    # RTMP play.
    play = relay.rtmp(NAME)
    check_av(t, h.ffprobe(play), 'RTMP play')
    n = h.count_packets(play, 4)
    t.check(70 <= n <= 140, 'RTMP play: %d video packets in 4 s of stream (25 fps)' % n, n)
    luma = h.decode_luma(play)
    t.check(luma > 30, 'RTMP play: decoded frame is the test pattern (mean luma %.0f)' % luma)
    tone = h.decode_tone(play)
    t.check(abs(tone - 440) < 20, 'RTMP play: decoded tone %.0f Hz ~ 440 Hz' % tone)

    # LL-HLS playlist.
    pl = relay.wait_segments(NAME, 3, 40)
    t.check(pl['map'] is not None, 'playlist has EXT-X-MAP (fMP4 init %s)' % pl['map'])
    t.check(pl['target'] is not None and 2 <= pl['target'] <= 3,
            'EXT-X-TARGETDURATION %s for a 2 s segment target' % pl['target'])
    durs = [s['duration'] for s in pl['segments']]
    t.check(all(round(d) <= pl['target'] for d in durs),
            'every EXTINF rounds to <= TARGETDURATION', durs)
    t.check(all(1.5 <= d <= 2.5 for d in durs[1:]),
            'segments after the first last ~2 s (GOP 2 s): %s' % durs, durs)
    t.check(len(pl['parts']) > 0, 'EXT-X-PART present (%d parts)' % len(pl['parts']))
    t.check(pl['part_target'] is not None and 0.2 <= pl['part_target'] <= 0.5,
            'EXT-X-PART-INF PART-TARGET %s for 333ms' % pl['part_target'])
    pdurs = [p['duration'] for p in pl['parts']]
    t.check(all(d is not None and 0 < d <= pl['part_target'] + 0.001 for d in pdurs),
            'every part duration <= PART-TARGET', (pl['part_target'], pdurs))
    t.check(pl['server_control'] and 'CAN-BLOCK-RELOAD=YES' in pl['server_control'],
            'EXT-X-SERVER-CONTROL has CAN-BLOCK-RELOAD=YES', pl['server_control'])
    t.check(not pl['endlist'], 'live playlist has no EXT-X-ENDLIST')

    r = h.http_get(relay.hls(NAME))
    t.equal(r.headers.get('Access-Control-Allow-Origin'), '*', 'playlist CORS header')
    r = h.http_get(relay.hls(NAME, pl['map']))
    t.check(r.status == 200 and b'ftyp' in r.body[:64], 'init segment is fMP4 (ftyp)',
            (r.status, r.body[:16]))
    r = h.http_get(relay.hls(NAME, pl['segments'][-1]['uri']))
    t.check(r.status == 200 and len(r.body) > 1000, 'last segment served (%d bytes)'
            % len(r.body), r.status)

    # Blocking playlist reload: ask for the next segment's first part.
    nxt = pl['last_msn'] + 1
    t0 = time.monotonic()
    r = h.http_get(relay.hls(NAME, 'index.m3u8?_HLS_msn=%d&_HLS_part=0' % nxt), timeout=15)
    took = time.monotonic() - t0
    t.equal(r.status, 200, 'blocking reload status')
    bl = h.parse_m3u8(r.text)
    t.check(took < 8, 'blocking reload answered in %.1f s' % took)
    t.check(bl['last_msn'] >= nxt or (bl['last_msn'] == nxt - 1 and bl['trailing_parts'] > 0),
            'blocking reload returns a playlist reaching msn %d' % nxt,
            (bl['last_msn'], bl['trailing_parts']))
    relay.hls_advances(NAME)

    # HLS read back by ffprobe.
    check_av(t, h.ffprobe(relay.hls(NAME)), 'HLS', want_fps=False)
    luma = h.decode_luma(relay.hls(NAME))
    t.check(luma > 30, 'HLS: decoded frame is the test pattern (mean luma %.0f)' % luma)

    # API and metrics.
    st = relay.streams().get(NAME)
    t.check(st is not None, '/v1/streams lists %s' % NAME)
    t.equal(st['live'], True, '/v1 live')
    t.check(st['publisher'] and st['publisher']['addr'].startswith('127.0.0.1'),
            '/v1 publisher addr is loopback', st['publisher'])
    v, a = st['video'] or {}, st['audio'] or {}
    t.check(str(v.get('codec', '')).lower() in ('h264', 'avc', 'avc1')
            or str(v.get('codec', '')).lower().startswith('avc1'),
            '/v1 video codec h264 (%s)' % v.get('codec'), v)
    t.equal((v.get('width'), v.get('height')), (640, 360), '/v1 video size')
    t.check(v.get('fps') is None or abs(float(v['fps']) - 25) < 1, '/v1 fps ~25', v)
    t.check(str(a.get('codec', '')).lower() in ('aac', 'mp4a') or
            str(a.get('codec', '')).lower().startswith('mp4a'),
            '/v1 audio codec aac (%s)' % a.get('codec'), a)
    t.equal(a.get('sample_rate'), 48000, '/v1 audio sample rate')
    t.check(st['bytes_in'] > 100000, '/v1 bytes_in %d' % st['bytes_in'])

    m = relay.metrics()
    t.equal(h.metric(m, 'stagecast_relay_publishers'), 1.0, 'metric publishers')
    t.check(h.metric(m, 'stagecast_relay_bytes_in_total', stream=NAME) > 100000,
            'metric bytes_in_total{stream=%s}' % NAME)
    t.check(h.metric(m, 'stagecast_relay_streams') >= 1, 'metric streams')

    pub.must_live = False
    pub.stop()
    t.wait('%s not live after the publisher left' % NAME,
           lambda: not (relay.stream(NAME) or {}).get('live'), 15)
    t.equal(relay.stop(), 0, 'relay exit code after SIGTERM')


if __name__ == '__main__':
    h.run(main)
