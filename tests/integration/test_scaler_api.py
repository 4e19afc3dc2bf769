# SPDX-License-Identifier: Apache-2.0
"""stagecast-scaler's API, locks, fences, failover and providers, black-box.

1. Lock race: 200 concurrent starts for one destination from 200 separate
   connections: exactly one 201, 199 409s naming the holder; retries with
   the same key replay; the same key with another body is 422.
2. Bad input (malformed JSON, oversized bodies, unknown fields, bad URLs,
   missing or wrong tokens, the wrong role): 4xx with a message, nothing
   changed.
3. A fake agent gets the assignment (relay URL with a token of the right
   fence); DELETE -> stop in the next heartbeat; reported stopped ->
   STOPPED, lock free, a new start gets a higher fence.
4. Lease expiry: the instance is lost, the stream goes back to pending and
   a second agent gets it under a higher fence.
5. The exec provider, driven by a demand curve, through a recording script;
   deploy/aws-asg-provider with a fake `aws` on PATH.
6. A restart keeps streams, locks and fences (SQLite).
"""

import http.client
import os
import stat
import subprocess
import threading
import time

import harness as h
import scaler as sc

DEST = 'rtmp://Upstream.Example:1935/live/secret-key-1'


def part_lock_race(t):
    s = sc.Scaler(t, name='race').start()
    n = 200
    barrier = threading.Barrier(n)
    results = [None] * n
    body = lambda i: ('{"name": "race-%d", "conference": "%s", "destination": "%s"}'
                      % (i, sc.CONFERENCE, DEST)).encode()

    def post(i, conn=None):
        own = conn is None
        conn = conn or http.client.HTTPConnection(sc.LOOPBACK, s.port, timeout=60)
        try:
            conn.connect()
            if own:
                barrier.wait(30)
            conn.request('POST', '/v1/streams', body=body(i),
                          headers={'Idempotency-Key': 'race-key-%d' % i,
                                   'Content-Type': 'application/json'})
            r = conn.getresponse()
            return r.status, sc.json.loads(r.read())
        finally:
            conn.close()

    def worker(i):
        try:
            results[i] = post(i)
        except Exception as e:  # noqa: BLE001
            results[i] = (None, repr(e))

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    t0 = time.monotonic()
    for th in threads:
        th.start()
    for th in threads:
        th.join(90)
    h.log('200 starts answered in %.2fs' % (time.monotonic() - t0))
    codes = [r[0] for r in results]
    t.equal(codes.count(201), 1, 'number of 201s')
    t.equal(codes.count(409), n - 1, 'number of 409s')
    winner = codes.index(201)
    sid = results[winner][1]['id']
    t.check(all(r[1].get('holder') == sid for r in results if r[0] == 409),
            'every 409 names the holder %s' % sid)
    t.check(all('error' in r[1] for r in results if r[0] == 409), 'every 409 has a message')
    t.equal(len(s.streams()), 1, 'streams after the race')

    # Retries: each key gets its own earlier response back.
    for i in (winner, (winner + 1) % n, (winner + 57) % n):
        st, js = post(i, http.client.HTTPConnection(sc.LOOPBACK, s.port, timeout=10))
        t.equal((st, js), results[i], 'replay of race-key-%d' % i)
    # Same key, another body: 422.
    r = s.start_stream('race-other', DEST, key='race-key-%d' % winner)
    t.equal(r.status, 422, 'same key with another body')
    t.check('error' in r.json(), '422 has a message', r.text)
    r = s.start_stream('race-%d' % winner, 'rtmp://elsewhere.example/live/k',
                       key='race-key-%d' % ((winner + 1) % n))
    t.equal(r.status, 422, 'a 409 key reused with another body')
    m = s.metrics()
    t.equal(h.metric(m, 'stagecast_scaler_lock_conflicts_total'), float(n - 1),
            'lock conflicts metric')
    t.equal(len(s.streams()), 1, 'streams after the retries')
    s.stop()


def part_bad_input(t):
    tokens = sc.Tokens(t)
    s = sc.Scaler(t, name='bad', tokens=tokens).start()
    good = {'name': 'ok-1', 'conference': sc.CONFERENCE, 'destination': DEST}

    def post(body, key='k-bad', token=None, path='/v1/streams', raw=False):
        hdrs = {'Idempotency-Key': key} if key else {}
        if raw:
            hdrs['Content-Type'] = 'application/json'
        return s.call('POST', path, body, token=token, headers=hdrs)

    def refused(r, what, codes=(400,)):
        t.check(r.status in codes, '%s -> %s' % (what, r.status), r.text)
        try:
            msg = r.json().get('error')
        except ValueError:
            msg = None
        t.check(bool(msg), '%s has a message' % what, r.text)
        h.log('   %s: %s' % (what, msg))

    refused(post(b'{"name": "x", ', raw=True), 'malformed JSON')
    refused(post(b'[1, 2]', raw=True), 'a JSON array')
    refused(post(b'', raw=True), 'an empty body')
    big = dict(good, layout='x' * (70 * 1024))
    refused(post(big), 'a 70 KiB body', codes=(413,))
    refused(post(dict(good, colour='red')), 'an unknown field')
    refused(post(dict(good, name=7)), 'a number for name')
    refused(post(dict(good, takeover='yes')), 'a string for takeover')
    del_dest = dict(good)
    del del_dest['destination']
    refused(post(del_dest), 'a missing destination')
    for bad in ('http://upstream.example/live/k', 'rtmp://', 'rtmp://host.example/live',
                'not a url', 'rtmp://host.example:99999/live/k', 'rtmp://host example/a/b',
                'rtmp://h.example/live/k\u0001'):
        refused(post(dict(good, destination=bad)), 'destination %r' % bad)
    for bad in ('http://janus.example/1234', 'janus://', 'janus://host:8088/',
                'whep://x.example/a', 'whep+ftp://x.example/a', 'janus://h:8088/1/2'):
        refused(post(dict(good, conference=bad)), 'conference %r' % bad)
    for bad in ('', '../x', '.hidden', 'a b', 'x' * 129, 'a/b'):
        refused(post(dict(good, name=bad)), 'name %r' % bad)
    refused(post(dict(good, profile='x' * 40)), 'a long profile')
    refused(post(good, key=None), 'no Idempotency-Key')
    refused(post(good, key='k' * 300), 'a 300-character Idempotency-Key')

    # Tokens and roles.
    refused(post(good, token=False), 'no token', codes=(401,))
    refused(post(good, token='op-wrong-token-0123456789abcdef'), 'a wrong token', codes=(401,))
    refused(post(good, token=tokens.agent), 'an agent token on POST /v1/streams', codes=(403,))
    refused(s.call('GET', '/v1/streams', token=tokens.agent), 'an agent token on GET /v1/streams',
            codes=(403,))
    refused(s.call('GET', '/v1/streams', token=False), 'no token on GET /v1/streams',
            codes=(401,))
    refused(s.heartbeat('fake-1', token=tokens.operator),
            'an operator token on the heartbeat', codes=(403,))
    refused(s.heartbeat('fake-1', token='ag-wrong-token-0123456789abcdef'),
            'a wrong agent token', codes=(401,))
    refused(s.call('POST', '/v1/agent/heartbeat', {'instance': 'fake-1'}, token=False),
            'a heartbeat without a token', codes=(401,))

    # Heartbeat bodies.
    ag = tokens.agent
    for what, body in (
            ('unknown heartbeat field', {'instance': 'f1', 'slots': 1, 'extra': 1}),
            ('bad instance id', {'instance': 'a b', 'slots': 1}),
            ('slots out of range', {'instance': 'f1', 'slots': 1000}),
            ('captures not a list', {'instance': 'f1', 'captures': {}}),
            ('bad capture state', {'instance': 'f1', 'captures': [
                {'stream': 'st-1', 'fence': 1, 'state': 'dancing'}]}),
            ('unknown capture field', {'instance': 'f1', 'captures': [
                {'stream': 'st-1', 'fence': 1, 'state': 'live', 'x': 1}]}),
            ('negative fence', {'instance': 'f1', 'captures': [
                {'stream': 'st-1', 'fence': -1, 'state': 'live'}]}),
            ('too many captures', {'instance': 'f1', 'captures': [
                {'stream': 'st-%d' % i, 'fence': 1, 'state': 'live'} for i in range(65)]})):
        refused(s.call('POST', '/v1/agent/heartbeat', body, token=ag), what)
    refused(s.call('PUT', '/v1/pool', {'min': 5, 'max': 2}), 'pool min above max')
    refused(s.call('PUT', '/v1/pool', {'spare': -1}), 'negative spare')
    refused(s.call('PUT', '/v1/pool', {'spare': 1, 'x': 1}), 'unknown pool field')
    refused(s.call('GET', '/v1/streams/..'), 'a bad stream id')
    refused(s.call('GET', '/v1/streams/st-0000000000000000'), 'an unknown stream', codes=(404,))
    refused(s.call('DELETE', '/v1/streams/st-0000000000000000'), 'stopping an unknown stream',
            codes=(404,))
    refused(s.call('POST', '/v1/instances/nope/drain'), 'draining an unknown instance',
            codes=(404,))
    refused(s.call('PATCH', '/v1/streams'), 'PATCH /v1/streams', codes=(405,))
    refused(s.call('GET', '/v1/nothing'), 'an unknown path', codes=(404,))
    refused(s.call('GET', '/v1/events?limit=0'), 'events limit 0')

    t.equal(s.streams(), [], 'streams after all that')
    t.equal(s.instances(), {}, 'instances after all that')
    pool = s.get('/v1/pool').json()
    t.equal((pool['min'], pool['max'], pool['spare']), (0, 10, 1), 'pool unchanged')
    kinds = [e['kind'] for e in s.events()]
    t.check(not kinds, 'no events recorded', kinds)
    # And the good request does pass with the operator token.
    r = post(good)
    t.equal(r.status, 201, 'the good start')
    t.check(s.get('/metrics', token=False).status == 200, '/metrics is open')
    t.check(s.get('/healthz', token=False).status == 200, '/healthz is open')
    s.stop()


def part_assign_stop(t):
    tokens = sc.Tokens(t, 'tokens-life')
    s = sc.Scaler(t, name='life', tokens=tokens).start()
    r = s.start_stream('talk-1', DEST, extra={'profile': '720p30', 'layout': 'grid'})
    t.equal(r.status, 201, 'start')
    st = r.json()
    t.check(st['hls_url'].endswith('/hls/talk-1/index.m3u8'), 'hls_url', st)
    t.check(st['watch_url'].endswith('/watch/talk-1'), 'watch_url', st)
    agent = sc.FakeAgent(s, 'fake-1')
    reply = agent.beat()
    t.equal(len(reply['assignments']), 1, 'assignments in the first heartbeat')
    a = reply['assignments'][0]
    t.equal(a['stream'], st['id'], 'assigned stream')
    t.equal((a['name'], a['conference'], a['profile'], a['layout']),
            ('talk-1', sc.CONFERENCE, '720p30', 'grid'), 'assignment fields')
    t.check(a['output'].startswith('rtmp://127.0.0.1:1935/live/talk-1?token='),
            'output is the relay URL with a token', a['output'])
    t.equal(sc.token_fence(a['output']), st['fence'], 'token fence')
    t.equal(a['fence'], st['fence'], 'assignment fence')
    t.check('secret-key-1' not in str(reply), 'no stream key in the heartbeat reply')
    agent.beat()  # reports live
    s.wait_state(st['id'], 'live')
    t.equal(s.instances()['fake-1']['state'], 'busy', 'instance busy')

    r = s.start_stream('talk-2', DEST.replace('Upstream.Example:1935', 'upstream.example'))
    t.equal(r.status, 409, 'the same normalized destination while live')
    t.equal(r.json().get('holder'), st['id'], 'holder')

    r = s.stop_stream(st['id'])
    t.equal(r.status, 202, 'DELETE while live')
    t.equal(r.json()['state'], 'stopping', 'state after DELETE')
    t.equal(s.stop_stream(st['id']).status, 202, 'DELETE again (idempotent)')
    r = s.start_stream('talk-3', DEST)
    t.equal(r.status, 409, 'locks held while stopping')
    reply = agent.beat()
    t.equal(reply['stop'], [st['id']], 'the next heartbeat carries the stop')
    t.equal(reply['assignments'], [], 'and no assignment')
    agent.beat()  # reports stopped
    got = s.wait_state(st['id'], 'stopped')
    states = [x['state'] for x in got['history']]
    t.check(states[:1] == ['pending'] and 'assigned' in states and 'live' in states and
            states[-2:] == ['stopping', 'stopped'], 'history', states)
    t.check(all('reason' in x and 'at_ms' in x for x in got['history']), 'history has reasons')
    t.equal(s.stop_stream(st['id']).status, 200, 'DELETE of a stopped stream')
    t.equal(s.instances()['fake-1']['state'], 'idle', 'instance idle again')
    r = s.start_stream('talk-1', DEST)
    t.equal(r.status, 201, 'a new start for the destination')
    t.check(r.json()['fence'] > st['fence'], 'with a higher fence',
            (r.json()['fence'], st['fence']))
    reply = agent.beat()
    t.equal(sc.token_fence(reply['assignments'][0]['output']), r.json()['fence'],
            'new token fence')
    kinds = [e['kind'] for e in s.events()]
    for k in ('start', 'join', 'assign', 'live', 'stop', 'stopped'):
        t.check(k in kinds, 'event %s recorded' % k, kinds)
    t.check(all('secret-key-1' not in e['detail'] for e in s.events()), 'no key in events')

    # Takeover: a new start moves the keys under a higher fence.
    old = r.json()
    agent.beat()
    r = s.start_stream('talk-1', DEST, takeover=True)
    t.equal(r.status, 201, 'takeover start')
    t.check(r.json()['fence'] > old['fence'], 'takeover fence is higher')
    t.equal(s.stream(old['id'])['state'], 'stopping', 'the old stream is stopping')
    reply = agent.beat()
    t.check(old['id'] in reply['stop'], 'the old stream is stopped on its agent')
    s.stop()


def part_lease_expiry(t):
    s = sc.Scaler(t, name='lease', lease='2s').start()
    st = s.start_stream('talk-9', DEST).json()
    a1 = sc.FakeAgent(s, 'fake-1')
    a1.beat()
    a1.beat()
    s.wait_state(st['id'], 'live')
    t0 = time.monotonic()
    t.wait('fake-1 lost', lambda: s.instances()['fake-1']['state'] == 'lost', 8, 0.1)
    h.log('lost after %.1fs' % (time.monotonic() - t0))
    got = s.stream(st['id'])
    t.equal(got['state'], 'pending', 'stream back to pending')
    t.check(got['fence'] > st['fence'], 'refenced', (got['fence'], st['fence']))
    a2 = sc.FakeAgent(s, 'fake-2')
    reply = a2.beat()
    t.equal([x['stream'] for x in reply['assignments']], [st['id']], 'fake-2 gets it')
    fence2 = reply['assignments'][0]['fence']
    t.check(fence2 > st['fence'], 'under a higher fence')
    t.equal(sc.token_fence(reply['assignments'][0]['output']), fence2, 'token fence')
    a2.beat()
    s.wait_state(st['id'], 'live')
    # The old instance comes back: told to stop its stale capture.
    reply = a1.beat()
    t.equal(reply['stop'], [st['id']], 'the stale capture is stopped')
    t.equal(reply['assignments'], [], 'and nothing assigned to it')
    t.equal(s.stream(st['id'])['instance'], 'fake-2', 'the stream stays on fake-2')
    kinds = [e['kind'] for e in s.events()]
    t.check('lost' in kinds and 'failover' in kinds, 'lost and failover events', kinds)
    s.stop()


def write_script(path, text):
    with open(path, 'w') as f:
        f.write(text)
    os.chmod(path, os.stat(path).st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


def read_calls(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [line.split() for line in f.read().splitlines() if line.strip()]


def part_exec_provider(t):
    calls = t.path('provider-calls.txt')
    script = t.path('provider.sh')
    write_script(script, '#!/bin/sh\necho "$@" >> %s\n' % calls)
    s = sc.Scaler(t, name='exec', provider='exec:' + script, lease='3s',
                  args=['--min', 0, '--max', 3, '--spare', 1, '--scale-period', '300ms',
                        '--scale-down-periods', 2, '--scale-down-cooldown', '1s']).start()
    desired = lambda: [c[1] for c in read_calls(calls) if c[0] == 'set-desired']
    t.wait('set-desired 1 (the spare)', lambda: desired() == ['1'], 5, 0.1)
    agents = {}

    def join(name):
        agents[name] = sc.FakeAgent(s, name).start(0.3)
        t.wait('%s idle' % name,
               lambda: s.instances().get(name, {}).get('state') == 'idle', 5, 0.1)

    join('i-1')
    s1 = s.start_stream('d-1', 'rtmp://up.example/live/k1').json()
    s.wait_state(s1['id'], 'live')
    t.wait('set-desired 2', lambda: desired() == ['1', '2'], 5, 0.1)
    join('i-2')
    s2 = s.start_stream('d-2', 'rtmp://up.example/live/k2').json()
    s.wait_state(s2['id'], 'live')
    t.equal(s.stream(s2['id'])['instance'], 'i-2', 'd-2 runs on the idle instance')
    t.wait('set-desired 3', lambda: desired() == ['1', '2', '3'], 5, 0.1)
    join('i-3')
    t.check(['protect', 'i-1'] in read_calls(calls) and ['protect', 'i-2'] in read_calls(calls),
            'busy instances protected', read_calls(calls))

    # Demand falls: d-1 stops; i-1 goes idle, is unprotected and retired.
    s.stop_stream(s1['id'])
    s.wait_state(s1['id'], 'stopped')
    t.wait('i-1 terminated', lambda: ['terminate', 'i-1'] in read_calls(calls), 10, 0.1)
    t.wait('i-1 gone', lambda: s.instances()['i-1']['state'] == 'gone', 5, 0.1)
    agents['i-1'].stop()
    time.sleep(1.5)  # a few periods: nothing else goes
    c = read_calls(calls)
    t.check(not any(x[0] == 'terminate' and x[1] != 'i-1' for x in c),
            'only the idle one is retired (never the busy i-2)', c)
    s.stop_stream(s2['id'])
    s.wait_state(s2['id'], 'stopped')
    t.wait('a second idle instance retired',
           lambda: len([x for x in read_calls(calls) if x[0] == 'terminate']) == 2, 10, 0.1)
    time.sleep(1.5)
    c = read_calls(calls)
    h.log('provider calls: %s' % ' | '.join(' '.join(x) for x in c))
    # Every call in order of the rules.
    t.equal([x for x in c if x[0] == 'set-desired'], [['set-desired', '1'], ['set-desired', '2'],
                                                     ['set-desired', '3']], 'set-desired calls')
    idx = lambda call: c.index(call)
    t.check(idx(['protect', 'i-1']) < idx(['unprotect', 'i-1']) < idx(['terminate', 'i-1']),
            'i-1: protect, unprotect, terminate')
    t.check(idx(['protect', 'i-2']) < idx(['unprotect', 'i-2']) < idx(['terminate', 'i-2']),
            'i-2: protect, unprotect, terminate')
    t.check(idx(['terminate', 'i-1']) < idx(['unprotect', 'i-2']),
            'i-2 was retired only after it went idle')
    t.check(['terminate', 'i-3'] not in c, 'the last spare stays')
    t.equal(len(c), 9, 'number of provider calls')
    for a in agents.values():
        a.stop()
    s.stop()

    # deploy/aws-asg-provider against a fake aws CLI.
    bindir = t.path('fakebin')
    os.makedirs(bindir)
    aws_log = t.path('aws-calls.txt')
    write_script(os.path.join(bindir, 'aws'),
                 '#!/bin/sh\necho "$@" >> %s\n[ "$FAKE_AWS_FAIL" = 1 ] && exit 255\nexit 0\n'
                 % aws_log)
    tool = os.path.join(h.SOURCE_DIR, 'deploy', 'aws-asg-provider')
    env = dict(os.environ, PATH=bindir + ':' + os.environ['PATH'], STAGECAST_ASG='capture-asg')
    run = lambda *a, **kw: subprocess.run([tool] + list(a), env=kw.get('env', env),
                                          capture_output=True, timeout=20)
    for args in (('set-desired', '4'), ('protect', 'i-0abc'), ('unprotect', 'i-0abc'),
                 ('terminate', 'i-0def')):
        r = run(*args)
        t.equal(r.returncode, 0, 'aws-asg-provider %s' % ' '.join(args))
    got = read_calls(aws_log)
    t.equal(got, [
        'autoscaling set-desired-capacity --auto-scaling-group-name capture-asg '
        '--desired-capacity 4 --no-honor-cooldown'.split(),
        'autoscaling set-instance-protection --auto-scaling-group-name capture-asg '
        '--instance-ids i-0abc --protected-from-scale-in'.split(),
        'autoscaling set-instance-protection --auto-scaling-group-name capture-asg '
        '--instance-ids i-0abc --no-protected-from-scale-in'.split(),
        'autoscaling terminate-instance-in-auto-scaling-group --instance-id i-0def '
        '--should-decrement-desired-capacity'.split()], 'aws calls')
    for bad in (('set-desired', 'x'), ('protect', 'a;b'), ('frobnicate', '1'), ()):
        r = run(*bad)
        t.check(r.returncode != 0 and r.stderr, 'aws-asg-provider refuses %r' % (bad,), r)
    r = run('set-desired', '1', env=dict(env, FAKE_AWS_FAIL='1'))
    t.check(r.returncode != 0, 'an aws failure is a failure')
    r = run('set-desired', '1', env={k: v for k, v in env.items() if k != 'STAGECAST_ASG'})
    t.check(r.returncode != 0 and b'STAGECAST_ASG' in r.stderr, 'STAGECAST_ASG is required')
    t.equal(len(read_calls(aws_log)), 5, 'refused calls never reach aws')

    # And the scaler drives it, with the fake aws on its PATH.
    s = sc.Scaler(t, name='aws', provider='exec:' + tool, env=env,
                  args=['--spare', 2, '--scale-period', '300ms']).start()
    t.wait('the scaler asks the ASG for 2 instances',
           lambda: read_calls(aws_log)[-1:] == [
               'autoscaling set-desired-capacity --auto-scaling-group-name capture-asg '
               '--desired-capacity 2 --no-honor-cooldown'.split()], 5, 0.1)
    s.stop()


def part_restart(t):
    db = t.path('restart.db')
    secret = sc.write_secret(t, 'restart-secret')
    s = sc.Scaler(t, name='restart', db=db, secret=secret).start()
    live = s.start_stream('r-1', DEST).json()
    gone = s.start_stream('r-2', 'rtmp://up.example/live/r2').json()
    agent = sc.FakeAgent(s, 'fake-1', slots=2)
    agent.beat()
    agent.beat()
    s.wait_state(live['id'], 'live')
    s.stop_stream(gone['id'])
    agent.beat()
    agent.beat()
    s.wait_state(gone['id'], 'stopped')
    before = {x['id']: x for x in s.streams()}
    t.equal(s.stop(), 0, 'clean exit on SIGTERM')

    s2 = sc.Scaler(t, name='restart2', db=db, secret=secret).start()
    after = {x['id']: x for x in s2.streams()}
    t.equal(set(after), set(before), 'the same streams after the restart')
    for k in after:
        t.equal((after[k]['state'], after[k]['fence']), (before[k]['state'], before[k]['fence']),
                'stream %s state and fence' % k)
    r = s2.start_stream('r-3', DEST)
    t.equal((r.status, r.json().get('holder')), (409, live['id']), 'the lock survived')
    r = s2.start_stream('r-2', 'rtmp://up.example/live/r2')
    t.equal(r.status, 201, 'a released lock stays released')
    t.check(r.json()['fence'] > gone['fence'], 'and its fence still goes up',
            (r.json()['fence'], gone['fence']))
    agent.s = s2
    reply = agent.beat()
    t.check(live['id'] in [x['stream'] for x in reply['assignments']],
            'the agent keeps its stream after the restart', reply)
    t.equal(s2.stream(live['id'])['state'], 'live', 'still live')
    # A second scaler on the same file is refused.
    s3 = sc.Scaler(t, name='restart3', db=db, secret=secret)
    p = h.Proc(t, 'restart3', s3.argv())
    code = p.wait(10)
    t.equal(code, 1, 'a second scaler on the same store exits 1')
    s2.stop()


FAKE_AGENT = r"""#!/usr/bin/env python3
# A stand-in for stagecast-agent: records its argv, heartbeats, exits on SIGTERM.
import json, signal, sys, time, urllib.request
args = sys.argv[1:]
opt = lambda k: args[args.index(k) + 1]
with open(%r, 'a') as f:
    f.write(json.dumps(args) + '\n')
signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
tok = open(opt('--token-file')).read().strip() if '--token-file' in args else None
while True:
    body = json.dumps({'instance': opt('--instance-id'), 'slots': int(opt('--slots')),
                       'captures': []}).encode()
    req = urllib.request.Request(opt('--scaler') + '/v1/agent/heartbeat', data=body,
                                 headers={'Content-Type': 'application/json'})
    if tok:
        req.add_header('Authorization', 'Bearer ' + tok)
    try:
        urllib.request.urlopen(req, timeout=2).read()
    except Exception as e:
        print('heartbeat failed:', e, flush=True)
    time.sleep(0.3)
"""


def part_local_provider(t):
    argv_log = t.path('agent-argv.txt')
    agent = t.path('fake-agent')
    write_script(agent, FAKE_AGENT % argv_log)
    tokens = sc.Tokens(t, 'tokens-local')
    s = sc.Scaler(t, name='local', provider='local', tokens=tokens,
                  args=['--agent-cmd', agent, '--capture-cmd', '/bin/true', '--spare', 2,
                        '--max', 3, '--scale-period', '300ms', '--scale-down-periods', 1,
                        '--scale-down-cooldown', '0', '--agent-arg', '--bind-address',
                        '--agent-arg', '10.9.8.7']).start()
    idle = lambda: sorted(k for k, v in s.instances().items() if v['state'] == 'idle')
    t.wait('two local agents idle', lambda: idle() == ['local-1', 'local-2'], 10, 0.1)
    with open(argv_log) as f:
        runs = [sc.json.loads(x) for x in f.read().splitlines()]
    a = runs[0]
    t.equal(a[:6], ['--scaler', 'http://127.0.0.1:%d' % s.port, '--instance-id', a[3],
                    '--slots', '1'], 'agent argv head')
    t.check(a[a.index('--capture-cmd') + 1] == '/bin/true', '--capture-cmd passed', a)
    t.equal(a[-2:], ['--bind-address', '10.9.8.7'], '--agent-arg passed through')
    t.check('--token-file' in a, 'the agent gets a token file', a)
    st = s.start_stream('loc-1', DEST).json()
    t.wait('a third agent for the spare', lambda: len(idle()) == 2 and
           s.stream(st['id'])['state'] in ('assigned',), 10, 0.1)
    s.stop_stream(st['id'])  # the stand-in never reports it: wait for "not running"
    s.wait_state(st['id'], 'stopped', 10)
    t.wait('back to two spares: one agent retired',
           lambda: sum(v['state'] == 'gone' for v in s.instances().values()) == 1, 10, 0.1)
    gone = [k for k, v in s.instances().items() if v['state'] == 'gone'][0]
    pids = lambda: subprocess.run(['pgrep', '-f', '^python3 %s ' % agent], capture_output=True,
                                  text=True).stdout.split()
    t.wait('two agent processes left', lambda: len(pids()) == 2, 10, 0.1)
    t.equal(s.stop(), 0, 'scaler exit')
    t.wait('agents gone with the scaler', lambda: not pids(), 10, 0.2)
    h.log('retired %s' % gone)


def main(t):
    parts = os.environ.get('SC_SCALER_PARTS', 'race,bad,life,lease,exec,restart,local').split(',')
    table = {'race': part_lock_race, 'bad': part_bad_input, 'life': part_assign_stop,
             'lease': part_lease_expiry, 'exec': part_exec_provider, 'restart': part_restart,
             'local': part_local_provider}
    for p in parts:
        h.log('---- %s' % p)
        table[p](t)


h.run(main)
