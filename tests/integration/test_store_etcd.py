# SPDX-License-Identifier: Apache-2.0
"""The etcd store against a real etcd (Debian etcd-server).

1. One node: the shared store suite (tests/scaler/test_store.c) with
   SC_STORE_SPEC=etcd://...; lock acquisitions per second (bench, logged).
2. A 3-node cluster on loopback:
   - 4 processes x 100 lock attempts on one key while the etcd leader is
     SIGKILLed mid-run: never two holders (an O_EXCL marker file and
     non-overlapping hold intervals), fences rise in the order of the
     acquisitions, and the race goes on after the kill;
   - the store suite again with the killed node first in the endpoint list
     (every call fails over), then the node rejoins;
   - leadership: two processes call lead(); one leads; SIGKILL it and the
     other leads within the lease's ttl, never both at once.

Binaries: SC_TEST_STORE (test_store) and SC_STORE_PROBE (store_probe), by
default under SC_BUILD_DIR/tests/scaler/ (test_scaler_store,
store_probe). Exit 77 (skip) without etcd.
"""

import os
import re
import signal
import time

import etcd
import harness as h

RACERS = 4
ATTEMPTS = 100
HOLD_MS = 5
LEAD_TTL_MS = 3000


def binary(env, name):
    path = os.environ.get(env) or os.path.join(h.BUILD_DIR, 'tests', 'scaler', name)
    if not os.access(path, os.X_OK):
        raise h.Skip('%s not built (%s)' % (name, path))
    return path


def run_suite(t, test_store, spec, what):
    h.log('store suite against %s (%s)' % (spec, what))
    env = dict(os.environ, SC_STORE_SPEC=spec)
    p = h.Proc(t, 'test_store-%s' % what, [test_store], env=env)
    code = p.wait(400)
    if code is None:
        p.kill()
    out = p.output()
    passed = re.search(r'\[  PASSED  \] (\d+) test', out)
    t.check(code == 0, 'store suite passes on etcd (%s)' % what,
            'exit %s\n%s' % (code, '\n'.join(out.splitlines()[-40:])))
    h.log('suite (%s): %s tests passed' % (what, passed.group(1) if passed else '?'))


def bench(t, probe, spec, n=500):
    code, out, err = h.run_tool([probe, spec, 'bench', n], timeout=120)
    m = re.search(r'lock_per_s=([\d.]+) unlock_per_s=([\d.]+)', out)
    t.check(code == 0 and m, 'bench ran', out + err)
    h.log('BENCH etcd 1 node: %s lock acquisitions/s, %s unlocks/s (%d sequential calls)'
          % (m.group(1), m.group(2), n))


def parse_race(out):
    acq = []
    summary = None
    for line in out.splitlines():
        f = line.split()
        if f[:1] == ['acq'] and len(f) == 4:
            acq.append((int(f[2]), int(f[3]), int(f[1])))  # t_acq, t_rel, fence
        elif f[:1] == ['summary']:
            summary = dict(kv.split('=') for kv in f[1:])
        elif f[:1] == ['double-holder']:
            raise h.Failure('two holders at once: %s' % line)
    return acq, summary


def lock_race(t, cluster, probe):
    key = 'race%d' % os.getpid()
    marker = t.path('held')
    spec = cluster.spec('race')
    procs = [h.Proc(t, 'racer%d' % i, [probe, spec, 'race', 'st-racer%d' % i, key, ATTEMPTS,
                                       HOLD_MS, marker]) for i in range(RACERS)]
    time.sleep(0.7)
    victim = cluster.leader()
    t_kill = time.monotonic_ns()
    cluster.kill(victim)
    for p in procs:
        if p.wait(180) is None:
            p.kill()
            raise h.Failure('%s did not finish in 180 s' % p.name)
    acqs, totals = [], {'ok': 0, 'busy': 0, 'err': 0}
    for p in procs:
        acq, summary = parse_race(p.output())
        t.check(p.returncode == 0 and summary is not None, '%s finished cleanly' % p.name,
                'exit %s: %s' % (p.returncode, p.tail(20)))
        for k in totals:
            totals[k] += int(summary[k])
        acqs += acq
    h.log('race: %s; %d acquisitions' % (totals, len(acqs)))
    t.check(totals['ok'] > 0, 'someone got the lock')
    acqs.sort()
    for (a0, r0, f0), (a1, r1, f1) in zip(acqs, acqs[1:]):
        if a1 < r0:
            raise h.Failure('hold intervals overlap: fence %d [%d, %d] and fence %d [%d, %d]'
                            % (f0, a0, r0, f1, a1, r1))
        if f1 <= f0:
            raise h.Failure('fence went down: %d then %d' % (f0, f1))
    t.check(True, 'no two holders at once; fences rise with every acquisition')
    gap = max((a1 - r0 for (a0, r0, f0), (a1, r1, f1) in zip(acqs, acqs[1:])), default=0)
    h.log('race: longest time without a holder %.2f s (the etcd leader was killed)' % (gap / 1e9))
    after = [a for a in acqs if a[0] > t_kill]
    t.check(len(after) > 0, 'locks still granted after the etcd leader was killed',
            '%d acquisitions after the kill' % len(after))
    return victim


def leadership(t, cluster, probe):
    spec = cluster.spec('lead')
    secs = 60
    a = h.Proc(t, 'lead-a', [probe, spec, 'lead', 'scaler-a', LEAD_TTL_MS, secs])
    b = h.Proc(t, 'lead-b', [probe, spec, 'lead', 'scaler-b', LEAD_TTL_MS, secs])

    def states(p):
        return [(int(m.group(1)), int(m.group(2)))
                for m in re.finditer(r'^lead (-?\d+) (\d+)$', p.output(), re.M)]

    def now_leading(p):
        s = states(p)
        return s[-1][0] if s else None

    t.wait('one of two leads, the other does not',
           lambda: {now_leading(a), now_leading(b)} == {0, 1}, 15)
    leader, other = (a, b) if now_leading(a) == 1 else (b, a)
    time.sleep(1.0)
    t.check(now_leading(leader) == 1 and now_leading(other) == 0, 'leadership is stable')
    t_kill = time.monotonic_ns()
    os.kill(leader.pid, signal.SIGKILL)
    leader.wait(5)
    t.wait('%s takes over' % other.name, lambda: now_leading(other) == 1,
           LEAD_TTL_MS / 1000 + 5)
    took = [ts for v, ts in states(other) if v == 1][0]
    t.check(all(v != 1 for v, ts in states(other) if ts < t_kill),
            'never two leaders: %s did not lead before the kill' % other.name)
    h.log('leadership moved %.2f s after the kill (lease ttl %.1f s)'
          % ((took - t_kill) / 1e9, LEAD_TTL_MS / 1000))
    t.check((took - t_kill) / 1e6 <= LEAD_TTL_MS + 1500, 'takeover within the ttl (+1.5 s)')
    other.stop()


def main(t):
    test_store = binary('SC_TEST_STORE', 'test_scaler_store')
    probe = binary('SC_STORE_PROBE', 'store_probe')

    one = etcd.Cluster(t, 1).start()
    run_suite(t, test_store, one.spec('suite1'), '1 node')
    bench(t, probe, one.spec('bench'))
    one.stop()

    three = etcd.Cluster(t, 3).start()
    victim = lock_race(t, three, probe)
    # The suite with the dead node first: every call fails over.
    alive = [n.endpoint for i, n in enumerate(three.nodes) if i != victim]
    spec = 'etcd://%s,%s/suite3' % (three.nodes[victim].endpoint, ','.join(alive))
    run_suite(t, test_store, spec, '3 nodes, one down')
    three.restart(victim)
    three.wait_healthy()
    leadership(t, three, probe)
    three.stop()


if __name__ == '__main__':
    h.run(main)
