#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Publish to the relay with ffmpeg; read it back over RTMP play and LL-HLS.

Checks content (codecs, size, frame rate, a decoded picture and tone), the
LL-HLS playlist (segment and part durations, EXT-X-PART, EXT-X-MAP, blocking
reload, CORS), the parts (every listed one served; a complete segment's parts
are the segment cut in pieces, with the same bytes before and after the relay
serves them from their files instead of memory; the open segment's parts equal
their files and its segment is not there yet), /v1/streams, /metrics and a
clean SIGTERM shutdown.
"""

import os
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


def part_msn(uri):
    """'12.3.m4s' -> 12."""
    return int(uri.split('.')[0])


def fetch(t, relay, uri):
    r = h.http_get(relay.hls(NAME, uri))
    t.check(r.status == 200 and len(r.body) > 0, 'GET %s: %d, %d bytes'
            % (uri, r.status, len(r.body)), r.status)
    return r.body


def check_parts(t, relay):
    """The open segment's parts (in memory), fetched again once it is
    complete and its files are written (served from them): the same bytes,
    and back to back the segment, over HTTP and on disk. Then every part
    listed, against its segment."""
    def with_open_parts():
        p = relay.playlist(NAME)
        return p if p and p['last_msn'] is not None and p['trailing_parts'] > 0 else None
    pl = t.wait('a playlist with parts of the open segment', with_open_parts, 10)
    open_msn = pl['last_msn'] + 1
    early = {p['uri']: fetch(t, relay, p['uri']) for p in pl['parts']
             if part_msn(p['uri']) == open_msn}
    t.check(len(early) > 0, 'open segment %d: %d parts listed' % (open_msn, len(early)))
    seg_path = os.path.join(relay.hls_dir, NAME, '%d.m4s' % open_msn)
    t.wait('segment %d complete and on disk' % open_msn,
           lambda: (relay.playlist(NAME)['last_msn'] >= open_msn
                    and os.path.exists(seg_path)), 15)
    time.sleep(0.5)  # the relay hears that the write is done and lets the parts go

    pl = relay.playlist(NAME)
    by_msn = {}
    for p in pl['parts']:
        by_msn.setdefault(part_msn(p['uri']), []).append(p['uri'])
    complete = [s['msn'] for s in pl['segments'] if s['msn'] in by_msn]
    t.check(open_msn in complete, 'segment %d listed with its parts' % open_msn,
            (complete, sorted(by_msn)))
    t.check(len(complete) >= 2, 'parts of %d complete segments listed' % len(complete))
    for msn in complete:
        uris = by_msn[msn]
        t.equal(uris, ['%d.%d.m4s' % (msn, i) for i in range(len(uris))],
                'segment %d: parts %d.0 .. listed in order' % (msn, msn))
        bodies = [fetch(t, relay, u) for u in uris]
        seg = fetch(t, relay, '%d.m4s' % msn)
        t.check(b''.join(bodies) == seg, 'segment %d (%d bytes) is its %d parts back to back'
                % (msn, len(seg), len(uris)), [len(b) for b in bodies])
        if msn == open_msn:
            same = all(bodies[uris.index(u)] == b for u, b in early.items())
            t.check(same, 'segment %d: its parts fetched while it was open are unchanged'
                    % msn, sorted(early))
            with open(seg_path, 'rb') as f:
                t.check(f.read() == seg, 'segment %d over HTTP equals %s' % (msn, seg_path))
    # The open segment: not listed as a segment, and 404 (its file comes
    # when it completes); its parts, served from their files once written
    # (from memory before), are the bytes of those files.
    open_msn = pl['last_msn'] + 1
    t.check(all(s['msn'] != open_msn for s in pl['segments']),
            'open segment %d is not listed as a segment' % open_msn)
    r = h.http_get(relay.hls(NAME, '%d.m4s' % open_msn))
    t.check(r.status == 404 or relay.playlist(NAME)['last_msn'] >= open_msn,
            'open segment %d.m4s: 404 while open' % open_msn, r.status)
    for uri in by_msn.get(open_msn, []):
        body = fetch(t, relay, uri)
        path = os.path.join(relay.hls_dir, NAME, uri)
        t.wait('%s on disk' % uri, lambda: os.path.exists(path), 5)
        with open(path, 'rb') as f:
            t.check(f.read() == body, 'open segment part %s over HTTP equals its file' % uri)


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
    check_parts(t, relay)

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
