#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""A second publisher to a live name is refused; the first keeps flowing.

This is the FOSDEM 2021 failure: two recorders broadcasting to one URL. The
second ffmpeg must exit non-zero quickly, the first must keep reaching both
the push target (nginx) and RTMP players, HLS must not see a second source
(no discontinuity), and the refusal is counted in /metrics.
"""

import time

import harness as h

NAME = 'k1-dup'


def refused(relay):
    return h.metric(relay.metrics(), 'stagecast_relay_publish_refused_total')


def main(t):
    ng = h.Nginx(t).start()
    relay = h.Relay(t, ['--push', ng.push_template()]).start()
    pub1 = h.ffmpeg_publish(t, relay.rtmp(NAME), name='publisher1')
    pub1.must_live = True
    st = relay.wait_live(NAME) and relay.stream(NAME)
    since = (st.get('publisher') or {}).get('since')
    t.wait('nginx receives the push', lambda: ng.stat().get(NAME, {}).get('publishing'), 20)
    relay.wait_segments(NAME, 1, 30)
    before = refused(relay)

    pub2 = h.ffmpeg_publish(t, relay.rtmp(NAME), name='publisher2', freq=880)
    t.wait('second publisher exits', lambda: not pub2.alive(), 15)
    t.check(pub2.returncode != 0, 'second publisher exit code %s != 0' % pub2.returncode)
    t.check(pub1.alive(), 'first publisher still connected')

    st = relay.stream(NAME)
    t.equal(st['live'], True, '/v1 still live')
    t.equal((st.get('publisher') or {}).get('since'), since, '/v1 publisher unchanged')
    t.wait('refused counter incremented', lambda: refused(relay) >= before + 1, 5)
    m = relay.metrics()
    dup = h.metric(m, 'stagecast_relay_publish_refused_total', reason='duplicate')
    h.log('refused{reason="duplicate"} = %s' % dup)

    # The first publisher keeps flowing to nginx...
    b0 = ng.stat()[NAME]['bytes_in']
    time.sleep(3)
    b1 = ng.stat()[NAME]['bytes_in']
    t.check(b1 - b0 > 100000, 'nginx keeps receiving (%d bytes in 3 s)' % (b1 - b0))
    n = h.count_packets(ng.rtmp(NAME), 3)
    t.check(n >= 50, 'frames read from nginx keep coming (%d in 3 s)' % n)
    # ... and to RTMP players, with the first publisher's tone.
    n = h.count_packets(relay.rtmp(NAME), 3)
    t.check(n >= 50, 'frames read from the relay keep coming (%d in 3 s)' % n)
    tone = h.decode_tone(relay.rtmp(NAME))
    t.check(abs(tone - 440) < 20, 'players hear the first publisher (%.0f Hz, not 880)' % tone)

    relay.hls_advances(NAME)
    pl = relay.playlist(NAME)
    t.equal(pl['discontinuities'], 0, 'HLS discontinuities')

    # A third try is refused the same way.
    pub3 = h.ffmpeg_publish(t, relay.rtmp(NAME), name='publisher3')
    t.wait('third publisher exits', lambda: not pub3.alive(), 15)
    t.check(pub3.returncode != 0, 'third publisher exit code %s != 0' % pub3.returncode)
    t.check(pub1.alive(), 'first publisher still connected')
    t.check(refused(relay) >= before + 2, 'refused counter incremented again')

    pub1.must_live = False
    pub1.stop()
    t.equal(relay.stop(), 0, 'relay exit code after SIGTERM')


if __name__ == '__main__':
    h.run(main)
