#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""RTMP players start at once, at a key frame, and 20 of them at a time.

The publisher sends a 2 s GOP (-g 50 at 25 fps). A player that connects
mid-GOP must get the cached GOP from its key frame right away: its first
video packet is a key frame, its first frame decodes without errors, and
it is decoded well under 1.5 s after ffmpeg starts, at every GOP phase.

ffmpeg's own probing is kept out of the measure with -fpsprobesize 0: by
default it waits for 40 frame durations (1.6 s of 25 fps video) to guess
the frame rate, so its time to a first frame is 1.6 s minus the part of
the GOP the relay had cached, whatever the relay does (it is logged).

With LL-HLS parts on disk the relay keeps no second copy of the cached
GOP: the frames already in written part files are read back from them when
a player joins. /v1 shows how many were on disk at each join; the frames a
player got are compared, byte for byte (ffprobe's packet hashes), with the
same frames in the HLS output.

Then 20 players read at once: all get frames and /v1 counts 20 players.
"""

import threading
import time

import harness as h

NAME = 'k1-start'
PLAYERS = 20
H264_ERRORS = ('non-existing PPS', 'no frame', 'decode_slice_header error',
               'Invalid NAL', 'concealing', 'error while decoding')


def first_packet_flags(url):
    argv = [h.which('ffprobe'), '-v', 'error', '-rw_timeout', '20000000', '-select_streams',
            'v:0', '-show_entries', 'packet=flags,pts_time', '-read_intervals', '%+#1',
            '-print_format', 'compact', url]
    code, out, err = h.run_tool(argv, 25)
    if code != 0:
        raise h.Failure('ffprobe first packet of %s failed: %s' % (url, err[-500:]))
    for line in out.splitlines():
        if line.startswith('packet|'):
            return dict(kv.split('=', 1) for kv in line.split('|')[1:] if '=' in kv)
    raise h.Failure('no video packet read from %s' % url)


def video_packet_hashes(url, count):
    """{pts in ms: md5 of the packet} of the first count video packets."""
    argv = [h.which('ffprobe'), '-v', 'error', '-rw_timeout', '20000000', '-select_streams',
            'v:0', '-show_entries', 'packet=pts_time,data_hash', '-show_data_hash', 'md5',
            '-read_intervals', '%%+#%d' % count, '-print_format', 'compact', url]
    code, out, err = h.run_tool(argv, 40)
    if code != 0:
        raise h.Failure('ffprobe packets of %s failed: %s' % (url, err[-500:]))
    hashes = {}
    for line in out.splitlines():
        if line.startswith('packet|'):
            kv = dict(x.split('=', 1) for x in line.split('|')[1:] if '=' in x)
            if kv.get('pts_time', 'N/A') != 'N/A':
                hashes[round(float(kv['pts_time']) * 1000)] = kv.get('data_hash')
    return hashes


def main(t):
    relay = h.Relay(t).start()
    pub = h.ffmpeg_publish(t, relay.rtmp(NAME))
    pub.must_live = True
    relay.wait_live(NAME)
    time.sleep(5.5)
    url = relay.rtmp(NAME)

    # Joins at different phases of the 2 s GOP (the pauses do not divide 2 s).
    times = []
    in_parts = []
    for i, pause in enumerate((0.0, 0.45, 0.8, 0.3, 1.15, 0.6)):
        time.sleep(pause)
        in_parts.append(relay.stream(NAME)['gop_cache']['in_parts'])
        dt, code, err = h.first_frame_time(url, extra=['-fpsprobesize', '0'])
        t.equal(code, 0, 'join %d: ffmpeg decoded a frame' % i)
        bad = [e for e in H264_ERRORS if e in err]
        t.check(not bad and not err.strip(), 'join %d: no decoding errors' % i, err[-600:])
        times.append(dt)
        t.check(dt < 1.5, 'join %d: first decoded frame %.2f s after ffmpeg started' % (i, dt),
                times)
        pkt = first_packet_flags(url)
        t.check(pkt.get('flags', '').startswith('K'),
                'join %d: first video packet is a key frame (pts %s)' % (i, pkt.get('pts_time')),
                pkt)
    h.log('first frame times (s): %s' % ' '.join('%.2f' % x for x in times))
    h.log('cached GOP messages only in HLS parts at each join: %s' % in_parts)
    t.check(sum(1 for n in in_parts if n > 0) >= 3,
            'the cached GOP was only in HLS parts at most joins', in_parts)
    t.check(relay.stream(NAME)['gop_cache']['loads'] > 0,
            '/v1 gop_cache.loads counts messages read back from HLS parts')

    # The frames a joining player gets are the published bytes: the same as
    # the HLS output's frames at the same times. It joins when the cached
    # GOP is in parts, so that they are read back for it.
    loads = relay.stream(NAME)['gop_cache']['loads']
    t.wait('the cached GOP is in HLS parts again',
           lambda: relay.stream(NAME)['gop_cache']['in_parts'] > 0, 5, 0.05)
    rtmp = video_packet_hashes(url, 40)
    t.check(relay.stream(NAME)['gop_cache']['loads'] > loads,
            'that join read messages back from HLS parts')
    hls = video_packet_hashes(relay.url('/hls/%s/index.m3u8' % NAME), 250)
    common = sorted(set(rtmp) & set(hls))
    t.check(len(common) >= 30, 'a joining player\'s frames are in the HLS output (%d of %d '
            'by time)' % (len(common), len(rtmp)), (sorted(rtmp)[:5], sorted(hls)[:5]))
    same = [ms for ms in common if rtmp[ms] == hls[ms]]
    t.equal(len(same), len(common), 'every one of them has the same bytes')
    dt, code, err = h.first_frame_time(url)
    h.log('for information: with ffmpeg\'s default frame rate probing: %.2f s (exit %s)'
          % (dt, code))

    # PLAYERS at once.
    results = [None] * PLAYERS

    def play(i):
        try:
            results[i] = h.count_packets(url, 8)
        except Exception as e:  # reported below
            results[i] = e
    threads = [threading.Thread(target=play, args=(i,), daemon=True) for i in range(PLAYERS)]
    for th in threads:
        th.start()
    t.wait('/v1 shows %d players' % PLAYERS,
           lambda: (relay.stream(NAME) or {}).get('players') == PLAYERS, 15)
    n = h.metric(relay.metrics(), 'stagecast_relay_players', stream=NAME)
    t.equal(n, PLAYERS, 'stagecast_relay_players{stream}')
    for th in threads:
        th.join(60)
    t.check(not any(th.is_alive() for th in threads), 'all players finished')
    errors = [r for r in results if not isinstance(r, int)]
    t.check(not errors, 'every player read the stream', errors[:3])
    t.check(min(results) >= 150, 'every player got frames (%d..%d video packets in 8 s of '
            'stream)' % (min(results), max(results)), results)
    t.wait('/v1 players back to 0', lambda: relay.stream(NAME)['players'] == 0, 10)
    t.check(pub.alive(), 'publisher unaffected')

    pub.must_live = False
    pub.stop()
    t.equal(relay.stop(), 0, 'relay exit code after SIGTERM')


if __name__ == '__main__':
    h.run(main)
