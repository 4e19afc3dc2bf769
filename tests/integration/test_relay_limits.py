#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Names cost nothing until published, and there is a cap on them.

Players and probes may ask for any name: that must not create HLS folders
on disk, and past --max-streams new names are refused (publish and play)
while the streams already running are untouched.
"""

import os

import harness as h

LIVE = 'k1-limits'


def main(t):
    relay = h.Relay(t, ['--max-streams', '3']).start()
    pub = h.ffmpeg_publish(t, relay.rtmp(LIVE), name='publisher')
    pub.must_live = True
    relay.wait_live(LIVE)
    relay.wait_segments(LIVE, 1, 30)

    # Two played-only names: they count as names but get no folder.
    for name in ('probe-a', 'probe-b'):
        h.run_tool(['ffprobe', '-v', 'error', '-rw_timeout', '2000000',
                    relay.rtmp(name)], timeout=10)
    folders = sorted(os.listdir(relay.hls_dir))
    t.equal(folders, [LIVE], 'HLS folders on disk (played-only names make none)')
    t.equal(h.metric(relay.metrics(), 'stagecast_relay_streams'), 3, 'names known')

    # A fourth name is refused for publish...
    extra = h.ffmpeg_publish(t, relay.rtmp('one-too-many'), name='extra')
    t.wait('publisher of a fourth name exits', lambda: not extra.alive(), 15)
    t.check(extra.returncode != 0, 'fourth name refused (exit %s)' % extra.returncode)
    t.check('too many streams' in relay.proc.output(),
            'relay log says why', relay.proc.tail(20))
    # ... and the API cannot add it either.
    r = h.http_post(relay.url('/v1/streams/one-too-many/targets'),
                    body=b'{"url": "rtmp://127.0.0.1:1/live/x"}',
                    headers={'Content-Type': 'application/json'})
    t.equal(r.status, 503, 'POST targets for a fourth name')

    # The running stream never noticed.
    t.check(pub.alive(), 'first publisher still connected')
    relay.hls_advances(LIVE)
    n = h.count_packets(relay.rtmp(LIVE), 3)
    t.check(n >= 50, 'players of the running stream get frames (%d in 3 s)' % n)

    pub.must_live = False
    pub.stop()
    t.equal(relay.stop(), 0, 'relay exit code after SIGTERM')


if __name__ == '__main__':
    h.run(main)
