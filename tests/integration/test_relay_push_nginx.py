#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Push to a real nginx-rtmp upstream, survive its crash, resume when it returns.

relay --push rtmp://127.0.0.1:NGINX/live/{name}. ffprobe reads the stream
back from nginx; nginx is killed mid-stream (HLS must keep advancing, the
target goes to backoff); nginx comes back on the same port and the push
resumes by itself.
"""

import harness as h

NAME = 'k1-push'


def check_upstream(t, ng, where):
    t.wait('%s: nginx has %s published' % (where, NAME),
           lambda: ng.stat().get(NAME, {}).get('publishing'), 35, 0.5)
    s = h.streams_by_type(h.ffprobe(ng.rtmp(NAME)))
    t.check(s['video'] is not None and s['audio'] is not None,
            '%s: nginx stream has video and audio' % where, s)
    t.equal(s['video']['codec_name'], 'h264', '%s: video codec read from nginx' % where)
    t.equal((s['video']['width'], s['video']['height']), (640, 360),
            '%s: video size read from nginx' % where)
    t.equal(s['audio']['codec_name'], 'aac', '%s: audio codec read from nginx' % where)
    luma = h.decode_luma(ng.rtmp(NAME))
    t.check(luma > 30, '%s: picture from nginx is the test pattern (%.0f)' % (where, luma))


def target(relay):
    st = relay.stream(NAME) or {}
    targets = st.get('targets') or []
    return targets[0] if len(targets) == 1 else None


def main(t):
    ng = h.Nginx(t).start()
    relay = h.Relay(t, ['--push', ng.push_template()]).start()
    pub = h.ffmpeg_publish(t, relay.rtmp(NAME))
    pub.must_live = True
    relay.wait_live(NAME)

    check_upstream(t, ng, 'before the crash')
    tg = t.wait('/v1 shows one target publishing',
                lambda: (target(relay) or {}).get('state') == 'publishing' and target(relay),
                15)
    t.check('{name}' not in tg['url'], '/v1 target url has the name filled in', tg['url'])
    out0 = tg['bytes_out']
    t.wait('target bytes_out rising',
           lambda: (target(relay) or {}).get('bytes_out', 0) > out0 + 20000, 10)
    relay.wait_segments(NAME, 2, 30)

    ng.kill()
    h.log('nginx killed (SIGKILL)')
    t.wait('/v1 shows the target in backoff',
           lambda: (target(relay) or {}).get('state') == 'backoff', 20, 0.1)
    relay.hls_advances(NAME)
    relay.hls_advances(NAME)
    t.check(pub.alive(), 'publisher still connected while the upstream is down')
    t.equal(relay.stream(NAME)['live'], True, '/v1 stream still live')
    t.equal(relay.get('/healthz').status, 200, '/healthz while the upstream is down')

    ng.start()
    h.log('nginx restarted on port %d' % ng.rtmp_port)
    check_upstream(t, ng, 'after the restart')
    tg = t.wait('/v1 target publishing again',
                lambda: (target(relay) or {}).get('state') == 'publishing' and target(relay),
                10)
    t.check(tg['reconnects'] >= 1, '/v1 target reconnects %d >= 1' % tg['reconnects'], tg)
    m = relay.metrics()
    t.check(h.metric(m, 'stagecast_relay_target_reconnects_total', stream=NAME) >= 1,
            'metric target_reconnects_total >= 1')
    t.check(h.metric(m, 'stagecast_relay_bytes_out_total', stream=NAME) > 0,
            'metric bytes_out_total > 0')
    relay.hls_advances(NAME)

    pub.must_live = False
    pub.stop()
    t.equal(relay.stop(), 0, 'relay exit code after SIGTERM')


if __name__ == '__main__':
    h.run(main)
