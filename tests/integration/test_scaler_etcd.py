# SPDX-License-Identifier: Apache-2.0
"""Two stagecast-scaler replicas on a 3-node etcd cluster, black-box.

The replicas share --store etcd://A,B,C. One leads (a lease-bound
`leader` key): it alone takes mutating requests (starts, stops, drains,
pool changes, heartbeats); the other stands by and answers those with 503
("standing by"), while it serves reads (streams, instances, events) from
the shared store. There is no redirect or proxy to the leader.

1. Lock race through the API: 100 concurrent starts for one destination,
   half to each replica: exactly one 201 (from the leader), the leader's
   other answers 409 naming the holder, the follower's 503; in etcd the
   winner holds exactly its two lock keys.
2. SIGKILL the leading scaler: the other leads within the lease + a margin
   (measured, logged as FAILOVER); the stream is still listed, a start for
   the held destination still 409s with the same holder, a new start gets
   a higher fence, and the instance's streams fail over to another agent
   under higher fences. A real stagecast-agent (--scaler A,B, fake
   captures) runs a stream of its own through the kill: it finds the new
   leader by itself, its capture keeps running (same process, never
   signalled) and its stream keeps its fence.
3. SIGKILL the etcd leader node: locks stay exclusive (the held destination
   409s, a new destination 201s under a higher fence), the scaler keeps
   leading, and etcd's lock keys each name one live stream.

Needs STAGECAST_SCALER and etcd (exit 77 without); the real agent also
needs STAGECAST_AGENT (else that part is left out, and logged).
"""

import http.client
import json
import os
import signal
import threading
import time

import etcd
import harness as h
import scaler as sc

LEASE_S = 3
DEST = 'rtmp://Upstream.Example:1935/live/etcd-key-1'
RACERS = 100


class EtcdScaler(sc.Scaler):
    def __init__(self, t, spec, node_id, **kw):
        super().__init__(t, name=node_id, lease='%ds' % LEASE_S, **kw)
        self.spec = spec
        self.node_id = node_id

    def argv(self):
        argv = super().argv()
        i = argv.index('--store')
        argv[i + 1] = self.spec
        return argv + ['--node-id', self.node_id]

    def ready(self):
        """/readyz JSON or None."""
        try:
            r = self.get('/readyz', token=False, timeout=2)
        except OSError:
            return None
        return r.json() if r.status == 200 else None

    def leads(self):
        if not self.proc.alive():
            return False
        r = self.ready()
        return bool(r and r.get('leader'))

    def kill(self):
        self.proc.must_live = False
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)


class Front:
    """What a load balancer in front of the replicas would do for the fake
    agent: send the heartbeat to each live replica until one takes it."""

    def __init__(self, replicas):
        self.replicas = replicas
        self.tokens = replicas[0].tokens

    def heartbeat(self, instance, captures=(), slots=1, token=None):
        last = None
        for s in self.replicas:
            if not s.proc.alive():
                continue
            try:
                r = s.heartbeat(instance, captures, slots=slots, token=token)
            except OSError as e:
                last = e
                continue
            if r.status == 200:
                return r
            last = r
        if isinstance(last, h.Response):
            return last
        raise h.Failure('no replica takes the heartbeat: %r' % (last,))


class RealAgent:
    """stagecast-agent with every replica's URL, running fake_capture.py."""

    def __init__(self, t, replicas, tokens, instance='real-1'):
        self.t = t
        self.instance = instance
        self.exe = os.environ.get('STAGECAST_AGENT') or os.path.join(
            h.BUILD_DIR, 'scaler', 'stagecast-agent')
        self.dir = t.path('%s-captures' % instance)
        self.token_file = t.path('%s.token' % instance)
        self.urls = ','.join('http://%s:%d' % (sc.LOOPBACK, s.port) for s in replicas)
        self.tokens = tokens
        self.proc = None

    def available(self):
        return os.access(self.exe, os.X_OK)

    def start(self):
        os.mkdir(self.dir)
        with open(self.token_file, 'w') as f:
            f.write(self.tokens.agent + '\n')
        self.proc = h.Proc(self.t, self.instance, [
            self.exe, '--scaler', self.urls, '--instance-id', self.instance, '--slots', '1',
            '--token-file', self.token_file, '--heartbeat-interval', '500ms',
            '--capture-cmd', os.path.join(h.HERE, 'fake_capture.py')],
            env={'FAKE_CAPTURE_DIR': self.dir, 'FAKE_CAPTURE_CONNECT_AFTER': '0.5'})
        self.proc.must_live = True
        return self

    def events(self, ev=None):
        try:
            with open(os.path.join(self.dir, 'events.jsonl')) as f:
                evs = [json.loads(line) for line in f if line.strip()]
        except FileNotFoundError:
            return []
        return [e for e in evs if ev is None or e['ev'] == ev]

    def stop(self):
        self.proc.must_live = False
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(15)


def leader_of(t, replicas, timeout=15):
    """The one replica that leads (waits until exactly one does)."""
    def one():
        lead = [s for s in replicas if s.proc.alive() and s.leads()]
        return lead[0] if len(lead) == 1 else None
    return t.wait('exactly one scaler leads', one, timeout, interval=0.1)


def start_retry(t, s, name, dest, timeout=20):
    """A start, retried (same Idempotency-Key) while the store is unavailable."""
    key = os.urandom(8).hex()
    end = time.monotonic() + timeout
    while True:
        r = s.start_stream(name, dest, key=key)
        if r.status != 503 or time.monotonic() > end:
            return r
        h.log('start %s: 503 %s; retrying' % (name, r.text.strip()))
        time.sleep(0.3)


def part_race(t, replicas, leader):
    barrier = threading.Barrier(RACERS)
    results = [None] * RACERS

    def worker(i):
        s = replicas[i % 2]
        conn = http.client.HTTPConnection(sc.LOOPBACK, s.port, timeout=60)
        body = json.dumps({'name': 'race-%d' % i, 'conference': sc.CONFERENCE,
                           'destination': DEST}).encode()
        try:
            conn.connect()
            barrier.wait(30)
            conn.request('POST', '/v1/streams', body=body,
                         headers={'Idempotency-Key': 'etcd-race-%d' % i,
                                  'Content-Type': 'application/json',
                                  'Authorization': 'Bearer %s' % s.tokens.operator})
            r = conn.getresponse()
            results[i] = (s, r.status, json.loads(r.read()))
        except Exception as e:  # noqa: BLE001
            results[i] = (s, None, repr(e))
        finally:
            conn.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(RACERS)]
    t0 = time.monotonic()
    for th in threads:
        th.start()
    for th in threads:
        th.join(90)
    took = time.monotonic() - t0
    won = [(s, b) for s, st, b in results if st == 201]
    t.equal(len(won), 1, 'exactly one 201 among %d starts across both replicas' % RACERS)
    winner_s, winner = won[0]
    t.check(winner_s is leader, 'the 201 came from the leader')
    follower = [s for s in replicas if s is not leader][0]
    counts = {}
    bad = []
    for s, st, b in results:
        counts[(s.name, st)] = counts.get((s.name, st), 0) + 1
        if s is leader and st != 201 and (st != 409 or b.get('holder') != winner['id']):
            bad.append((s.name, st, b))
        elif s is follower and (st != 503 or 'standing by' not in b.get('error', '')):
            bad.append((s.name, st, b))
    t.check(not bad, "the leader's others are 409 naming the holder, the follower's "
            '503 "standing by"', bad[:5])
    h.log('race: %s in %.2f s' % (sorted(counts.items()), took))
    return winner


def lock_keys(cluster, ns):
    return cluster.get_prefix('/%s/locks/' % ns)


def main(t):
    if not os.environ.get('STAGECAST_SCALER') and not os.path.exists(
            os.path.join(h.BUILD_DIR, 'scaler', 'stagecast-scaler')):
        raise h.Skip('STAGECAST_SCALER not set')
    etcd.etcd_binary()
    cluster = etcd.Cluster(t, 3).start()
    ns = 'scaler-%d' % os.getpid()
    spec = cluster.spec(ns)
    tokens = sc.Tokens(t)
    secret = sc.write_secret(t)
    a = EtcdScaler(t, spec, 'scaler-a', tokens=tokens, secret=secret).start()
    t.wait('scaler-a leads', a.leads, 15, interval=0.1)
    b = EtcdScaler(t, spec, 'scaler-b', tokens=tokens, secret=secret).start()
    replicas = [a, b]
    leader = leader_of(t, replicas)
    t.check(leader is a, 'the first scaler keeps the lead when the second joins')
    t.check(b.ready() == {'ready': True, 'leader': False}, 'the follower is ready, not leading',
            b.ready())

    # 1. the lock race
    winner = part_race(t, replicas, leader)
    held = lock_keys(cluster, ns)
    t.equal(sorted(set(held.values())), [winner['id']], 'etcd: every lock names the winner')
    t.equal(len(held), 2, 'etcd: the winner holds its destination and its name')
    t.equal([s['id'] for s in b.streams()], [winner['id']],
            'the follower lists the stream from the shared store')

    front = Front(replicas)
    agent = sc.FakeAgent(front, 'fake-1').start(interval=0.3)
    leader.wait_state(winner['id'], 'live', timeout=15)
    fences = [winner['fence']]

    # A real agent that knows both replicas runs a stream of its own.
    real = RealAgent(t, replicas, tokens)
    real_st = None
    if real.available():
        real.start()
        t.wait('the real agent registers', lambda: real.instance in leader.instances(), 10,
               interval=0.2)
        r = start_retry(t, leader, 'real-1', 'rtmp://upstream.example/live/etcd-key-real')
        t.equal(r.status, 201, 'a stream for the real agent')
        real_st = r.json()
        fences.append(real_st['fence'])
        s = leader.wait_state(real_st['id'], 'live', timeout=15)
        t.equal(s['instance'], real.instance, 'the real agent runs it')
    else:
        h.log('STAGECAST_AGENT not built: no real agent in this run')

    # 2. SIGKILL the leading scaler
    other = [s for s in replicas if s is not leader][0]
    h.log('SIGKILL the leading scaler %s (pid %d)' % (leader.name, leader.proc.pid))
    t_kill = time.monotonic()
    leader.kill()
    t.wait('%s leads' % other.name, other.leads, LEASE_S + 10, interval=0.05)
    failover = time.monotonic() - t_kill
    h.log('FAILOVER scaler leadership moved in %.2f s (lease %d s)' % (failover, LEASE_S))
    t.check(failover <= LEASE_S + 2.5, 'the standby leads within the lease + 2.5 s',
            '%.2f s' % failover)
    new = other
    ids = [s['id'] for s in new.streams()]
    t.check(winner['id'] in ids, 'the new leader lists the stream', ids)
    r = start_retry(t, new, 'again-1', DEST)
    t.equal(r.status, 409, 'a start for the held destination still 409s')
    t.equal(r.json().get('holder'), winner['id'], 'held by the same stream')
    r = start_retry(t, new, 'fresh-1', 'rtmp://upstream.example/live/etcd-key-2')
    t.equal(r.status, 201, 'a new destination starts on the new leader')
    fences.append(r.json()['fence'])
    fresh1 = r.json()['id']

    # A new leader gives agents one lease to find it (the takeover itself
    # took about a lease): an agent that keeps heartbeating is not declared
    # lost, and its stream keeps its fence, so the relay keeps its publisher.
    time.sleep(1.0)
    st = new.stream(winner['id'])
    inst = new.instances().get('fake-1', {})
    lost = [e for e in new.events() if e.get('kind') == 'lost' and e.get('subject') == 'fake-1']
    h.log('after failover: stream %s state %s fence %s (was %s); instance fake-1 %s; '
          'lost events %d' % (winner['id'], st['state'], st.get('fence'), winner['fence'],
                              inst.get('state'), len(lost)))
    t.equal(len(lost), 0, 'a heartbeating agent is not declared lost by the new leader')
    t.equal(st.get('fence'), winner['fence'], 'its stream keeps its fence across the failover')
    t.check(st['state'] in ('pending', 'assigned', 'live'), 'the stream is still active', st)
    if st.get('fence', 0) > fences[0]:
        fences.append(st['fence'])
    if real_st:
        def real_ok():
            x = new.stream(real_st['id'])
            return x['state'] == 'live' and x['instance'] == real.instance and x
        x = t.wait("the real agent's stream is live on the new leader", real_ok, LEASE_S + 5,
                   interval=0.2)
        t.equal(x['fence'], real_st['fence'], "the real agent's stream keeps its fence")
        lost = [e for e in new.events()
                if e.get('kind') == 'lost' and e.get('subject') == real.instance]
        t.equal(len(lost), 0, 'the real agent is not declared lost')
        starts, terms = real.events('start'), real.events('sigterm')
        h.log('real agent after failover: %d capture start(s), %d SIGTERM(s)'
              % (len(starts), len(terms)))
        t.check(len(starts) == 1 and not terms, "the real agent's capture keeps running "
                '(not self-fenced, not restarted)', real.events())

    # The agent goes away: its streams fail over to another one, fences up.
    agent.stop()
    t.check(not agent.errors or all('503' in str(e) or 'no replica' in str(e)
                                    for e in agent.errors),
            'the fake agent saw only failover errors', agent.errors[-3:])
    agent2 = sc.FakeAgent(front, 'fake-2', slots=4).start(interval=0.3)

    def moved():
        s = new.stream(winner['id'])
        return s['state'] == 'live' and s['instance'] == 'fake-2' and s
    s = t.wait('the stream fails over to fake-2', moved, LEASE_S + 15, interval=0.2)
    t.check(s['fence'] > max(fences), 'the failed-over stream has a higher fence',
            '%s after %s' % (s['fence'], fences))
    fences.append(s['fence'])

    # 3. SIGKILL the etcd leader node
    i = cluster.leader()
    h.log('SIGKILL etcd leader node %d' % i)
    t_kill = time.monotonic()
    cluster.kill(i)
    r = start_retry(t, new, 'again-2', DEST)
    h.log('first start after the etcd kill answered %d in %.2f s'
          % (r.status, time.monotonic() - t_kill))
    t.equal(r.status, 409, 'with an etcd node down the held destination still 409s')
    t.equal(r.json().get('holder'), winner['id'], 'held by the same stream')
    r = start_retry(t, new, 'fresh-2', 'rtmp://upstream.example/live/etcd-key-3')
    t.equal(r.status, 201, 'with an etcd node down a new destination gets 201')
    t.check(r.json()['fence'] > max(fences), 'its fence is higher than all before',
            '%s after %s' % (r.json()['fence'], fences))
    fences.append(r.json()['fence'])
    fresh2 = r.json()['id']
    r = start_retry(t, new, 'again-3', 'rtmp://upstream.example/live/etcd-key-3')
    t.equal(r.status, 409, 'and that one is exclusive too')
    t.equal(r.json().get('holder'), fresh2, 'held by the new stream')
    t.wait('the scaler still leads after the etcd kill', new.leads, 15, interval=0.2)
    held = lock_keys(cluster, ns)
    live = {x['id'] for x in new.streams() if x['state'] not in ('stopped', 'failed')}
    want = {winner['id'], fresh1, fresh2} | ({real_st['id']} if real_st else set())
    t.equal(len(held), 2 * len(want), 'etcd: %d streams hold two keys each' % len(want))
    t.check(set(held.values()) == want <= live, 'etcd: each lock names a live stream',
            (held, live))
    agent2.stop()
    if real_st:
        t.equal(real.stop(), 0, 'the real agent exits 0 on SIGTERM')
    h.log('fences in order: %s' % fences)
    a.proc.must_live = False
    b.proc.must_live = False


if __name__ == '__main__':
    h.run(main)
