#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Publish tokens and fencing.

relay --secret-file; tokens from `stagecast-relay --sign-token`. Without a
token, with a bad one, for another name, or expired: refused. Fence 2 takes
over from fence 1 (fence 1's publisher is dropped, HLS shows a
discontinuity); fence 1 cannot come back.
"""

import os
import time

import harness as h

NAME = 'k1-tokens'


def sign(t, secret_file, name, fence, ttl=3600):
    code, out, err = h.run_tool([h.relay_binary(), '--sign-token', name, '--fence', fence,
                                 '--ttl', ttl, '--secret-file', secret_file], 10)
    t.check(code == 0 and out.strip(), 'sign-token %s fence %s ttl %s' % (name, fence, ttl),
            (code, err))
    token = out.strip().splitlines()[-1].strip()
    return token


def refused(t, relay, token, label, before):
    pub = h.ffmpeg_publish(t, relay.rtmp(NAME, token), name='pub-' + label.replace(' ', '-'))
    t.wait('%s: publisher exits' % label, lambda: not pub.alive(), 15)
    t.check(pub.returncode != 0, '%s: refused (ffmpeg exit %s)' % (label, pub.returncode))
    t.wait('%s: counted in publish_refused_total' % label,
           lambda: h.metric(relay.metrics(), 'stagecast_relay_publish_refused_total') > before,
           5)
    return h.metric(relay.metrics(), 'stagecast_relay_publish_refused_total')


def main(t):
    secret = t.path('secret')
    with open(secret, 'w') as f:
        f.write(os.urandom(32).hex() + '\n')
    other = t.path('other-secret')
    with open(other, 'w') as f:
        f.write(os.urandom(32).hex() + '\n')
    os.chmod(secret, 0o600)

    tok1 = sign(t, secret, NAME, 1)
    tok2 = sign(t, secret, NAME, 2)
    t.check(tok1 != tok2, 'tokens differ by fence')
    foreign = sign(t, other, NAME, 5)
    wrong_name = sign(t, secret, 'someone-else', 5)
    short = sign(t, secret, NAME, 9, ttl=1)
    t.check(NAME not in tok1 or len(tok1) > len(NAME) + 16, 'token is not just the name')

    relay = h.Relay(t, ['--secret-file', secret]).start()
    n = 0.0
    n = refused(t, relay, None, 'no token', n)
    n = refused(t, relay, 'not-a-token', 'garbage token', n)
    n = refused(t, relay, tok1[:-4] + ('AAAA' if not tok1.endswith('AAAA') else 'BBBB'),
                'tampered token', n)
    n = refused(t, relay, foreign, 'token signed with another secret', n)
    n = refused(t, relay, wrong_name, 'token for another name', n)
    t.check(not (relay.stream(NAME) or {}).get('live'), 'nothing live after refusals')

    pub1 = h.ffmpeg_publish(t, relay.rtmp(NAME, tok1), name='publisher-fence1')
    pub1.must_live = True
    relay.wait_live(NAME)
    t.equal((relay.stream(NAME)['publisher'] or {}).get('fence'), 1, '/v1 publisher fence')
    relay.wait_segments(NAME, 2, 30)
    t.equal(relay.playlist(NAME)['discontinuities'], 0, 'discontinuities before takeover')

    pub2 = h.ffmpeg_publish(t, relay.rtmp(NAME, tok2), name='publisher-fence2', freq=880)
    pub2.must_live = True
    pub1.must_live = False
    t.wait('fence 2 takes over: fence 1 publisher disconnected', lambda: not pub1.alive(), 15)
    t.wait('/v1 publisher fence 2',
           lambda: ((relay.stream(NAME) or {}).get('publisher') or {}).get('fence') == 2, 10)
    t.wait('HLS playlist shows EXT-X-DISCONTINUITY',
           lambda: (relay.playlist(NAME) or {}).get('discontinuities', 0) >= 1, 20)
    tone = h.decode_tone(relay.rtmp(NAME))
    t.check(abs(tone - 880) < 30, 'players hear fence 2 (%.0f Hz ~ 880)' % tone)

    n = h.metric(relay.metrics(), 'stagecast_relay_publish_refused_total')
    n = refused(t, relay, tok1, 'fence 1 again', n)
    t.check(pub2.alive(), 'fence 2 publisher unaffected')
    t.equal(relay.stream(NAME)['publisher']['fence'], 2, '/v1 publisher fence still')

    time.sleep(2.5)
    n = refused(t, relay, short, 'expired token (fence 9)', n)
    t.check(pub2.alive(), 'fence 2 publisher unaffected by the expired token')
    relay.hls_advances(NAME)

    pub2.must_live = False
    pub2.stop()
    t.equal(relay.stop(), 0, 'relay exit code after SIGTERM')


if __name__ == '__main__':
    h.run(main)
