#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""stagecast-agent against a fake scaler, with a fake capture.

The fake scaler (fake_scaler.py) hands out assignments and records
heartbeats; the fake capture (fake_capture.py, run through --capture-cmd)
records its argv and signals and serves a /v1/status that turns
"connected" after a second. Checked, in one run of one agent:

 - heartbeats carry the instance id and slots, with the bearer token;
 - an assignment starts a capture with the right argv (conference, output,
   profile, layout, bind address, a loopback status address);
 - it is reported starting, then live once its status says connected;
 - a crash (exit 1) is restarted while the assignment stands; a refused
   token (exit 7) too, with the newest token the scaler sent (with none
   newer it is reported failed, not restarted again); a room error
   (exit 3) is reported failed and not restarted;
 - a stop command sends SIGTERM and the capture is reported stopped;
 - drain: a new assignment is not taken;
 - self-fencing: with the scaler gone for longer than the lease the
   capture gets SIGTERM within lease + 2 s, and is reported stopped once
   the scaler is back;
 - SIGTERM to the agent stops its captures; the agent exits 0;
 - state changes are sent at once: the report that a capture started, or
   stopped after a stop command, reaches the scaler well under one
   heartbeat interval after the heartbeat that carried the command
   (measured, logged as START_REPORT / STOP_REPORT).

Then a second agent with two fake scalers (--scaler A,B: replicas behind
one shared store, both assigning the same stream):

 - it heartbeats to the first and only to it while it answers;
 - the first answers 503 (standing by): the agent moves to the second at
   once (logged as MOVE), sticks with it, and its capture keeps running;
 - the second stops listening, the first leads again: the agent moves back,
   the capture still the same process;
 - the first fails (500) while the second is still gone: one pass over
   the list per interval (no spinning), and self-fencing after the lease
   counted from the last 200 of either; reported stopped to whichever
   answers again. (A 503 "standing by" would add one lease for a scaler
   failover: test_scaler_etcd.py runs a real agent through one.)
"""

import os
import signal
import sys
import time

import harness as h

sys.path.insert(0, h.HERE)
import fake_scaler  # noqa: E402

LEASE_MS = 3000
INTERVAL = 2.0  # the agent's default --heartbeat-interval
TOKEN = 'agent-token-for-tests'


def agent_binary():
    return h.binary('STAGECAST_AGENT', 'scaler', 'stagecast-agent')


def assignment(stream, name, fence):
    return {'stream': stream, 'name': name, 'fence': fence,
            'conference': 'janus://127.0.0.1:8088/1234',
            'output': 'rtmp://127.0.0.1:1935/live/%s?token=%d.1999999999.sig' % (name, fence),
            'profile': '360p15', 'layout': 'grid'}


def state_of(fake, stream, since=0):
    got = fake.reported(stream, since)
    return got[-1] if got else None


def forgotten(fake, stream, since):
    """The last heartbeat since since no longer mentions stream."""
    hbs = fake.heartbeats_since(since)
    return hbs and all(c.get('stream') != stream for c in hbs[-1].get('captures') or [])


def first_report(fake, stream, since, state):
    """Arrival time of the first heartbeat since since reporting stream in state."""
    with fake.lock:
        hbs = [(at, b) for (at, b) in fake.heartbeats if at >= since]
    for at, body in hbs:
        if any(c.get('stream') == stream and c.get('state') == state
               for c in (body or {}).get('captures') or []):
            return at
    return None


def report_lag(t, fake, stream, since, state, what):
    """Seconds from the heartbeat whose reply carried a command (the first
    since since) to the first one reporting stream in state."""
    carried = fake.heartbeat_times(since)[0]
    got = first_report(fake, stream, since, state)
    lag = got - carried
    h.log('%s %s reported %s %.3f s after the heartbeat that carried the command '
          '(interval %.1f s)' % (what, stream, state, lag, INTERVAL))
    t.check(lag < INTERVAL / 2, '%s reported at once, not at the next tick' % state,
            '%.3f s' % lag)


def main(t):
    fake = fake_scaler.FakeScaler(lease_ms=LEASE_MS, token=TOKEN).up()
    cap_dir = t.path('captures')
    os.mkdir(cap_dir)
    events = h.JsonLines(os.path.join(cap_dir, 'events.jsonl'))
    token_file = t.path('agent.token')
    with open(token_file, 'w') as f:
        f.write(TOKEN + '\n')
    fake_cap = os.path.join(h.HERE, 'fake_capture.py')

    # Bad options: exit 2 with a message.
    code, _, err = h.run_tool([agent_binary(), '--slots', '2'], timeout=10)
    t.equal(code, 2, 'agent without --scaler exits')
    t.check('--scaler' in err, 'the message names the missing flag', err)
    code, out, _ = h.run_tool([agent_binary(), '--help'], timeout=10)
    t.check(code == 0 and '--instance-id' in out, '--help')
    code, _, err = h.run_tool([agent_binary(), '--instance-id', 'x', '--scaler',
                               'http://127.0.0.1:1, ftp://127.0.0.1:2'], timeout=10)
    t.check(code == 2 and 'ftp://127.0.0.1:2' in err, 'a bad URL in a --scaler list', err)
    code, _, err = h.run_tool([agent_binary(), '--instance-id', 'x', '--scaler',
                               'http://127.0.0.1:1', '--scaler', 'ftp://127.0.0.1:3'],
                              timeout=10)
    t.check(code == 2 and 'ftp://127.0.0.1:3' in err, '--scaler repeated: each is read', err)

    agent = h.Proc(t, 'agent', [agent_binary(), '--scaler', fake.url + '/', '--instance-id',
                                'test-1', '--slots', '2', '--token-file', token_file,
                                '--capture-cmd', fake_cap, '--bind-address', '127.0.0.1'],
                   env={'FAKE_CAPTURE_DIR': cap_dir, 'FAKE_CAPTURE_CONNECT_AFTER': '1.5'})
    agent.must_live = True

    t.wait('a first heartbeat', lambda: fake.last_heartbeat()[1], 5)
    hb = fake.last_heartbeat()[1]
    t.equal((hb['instance'], hb['slots'], hb['captures']), ('test-1', 2, []),
            'heartbeat (instance, slots, captures)')
    hbs = fake.requests_to('POST', '/v1/agent/heartbeat')
    t.equal(hbs[0].header('Authorization'), 'Bearer ' + TOKEN, 'bearer token')
    t.check(set(hbs[-1].json) <= {'instance', 'slots', 'captures'}, 'no unknown fields',
            hbs[-1].json)

    # ---- an assignment starts a capture with the right argv; starting -> live
    a = assignment('st-aaaa', 'k1-a', 7)
    assigned_at = time.time()
    fake.assignments = [a]
    start = t.wait('capture k1-a started', lambda: events.of('k1-a', 'start'), 5)[0]
    argv = start['argv']
    status = argv[argv.index('--status') + 1] if '--status' in argv else ''
    t.equal(argv, ['--conference', a['conference'], '--output', a['output'], '--profile',
                   '360p15', '--layout', 'grid', '--bind-address', '127.0.0.1', '--status',
                   status], 'capture argv')
    t.check(status.startswith('127.0.0.1:'), 'status on loopback', status)
    t.wait('k1-a reported starting', lambda: (state_of(fake, 'st-aaaa') or {}).get('state') ==
           'starting', 5)
    report_lag(t, fake, 'st-aaaa', assigned_at, 'starting', 'START_REPORT')
    rep = t.wait('k1-a reported live', lambda: (state_of(fake, 'st-aaaa') or {}).get('state') ==
                 'live' and state_of(fake, 'st-aaaa'), 8)
    t.equal(rep['fence'], 7, 'reported fence')

    # ---- a crash is restarted while the assignment stands
    with open(os.path.join(cap_dir, 'k1-a.exit'), 'w') as f:
        f.write('1')
    t.wait('k1-a restarted after exit 1', lambda: len(events.of('k1-a', 'start')) >= 2, 8)
    crash = t.wait('the crash reported', lambda: [
        c for c in fake.reported('st-aaaa') if 'exit 1' in (c.get('reason') or '')], 4)
    t.equal(crash[0]['state'], 'starting', 'state reported after the crash')
    since = time.time()
    t.wait('k1-a live again', lambda: (state_of(fake, 'st-aaaa', since) or {}).get(
        'state') == 'live', 10)

    # ---- a token the relay refused for good (exit 7) restarts with the
    # newest token the scaler sent (the scaler signs a fresh one into every
    # reply; the first may have expired)
    fresh = dict(a, output=a['output'].replace('.1999999999.', '.2999999999.'))
    t_fresh = time.time()
    fake.assignments = [fresh]
    t.wait('a heartbeat reply carried the fresh token',
           lambda: len(fake.heartbeats_since(t_fresh)) >= 2, 8)
    n_starts = len(events.of('k1-a', 'start'))
    with open(os.path.join(cap_dir, 'k1-a.exit'), 'w') as f:
        f.write('7')
    t.wait('k1-a restarted after exit 7', lambda: len(events.of('k1-a', 'start')) > n_starts, 8)
    argv = events.of('k1-a', 'start')[-1]['argv']
    t.equal(argv[argv.index('--output') + 1], fresh['output'],
            'the restart publishes with the newest token')
    t.check([c for c in fake.reported('st-aaaa') if 'exit 7' in (c.get('reason') or '')],
            'exit 7 reported with its meaning', fake.reported('st-aaaa')[-3:])
    a = fresh
    since = time.time()
    t.wait('k1-a live again after exit 7', lambda: (state_of(fake, 'st-aaaa', since) or {})
           .get('state') == 'live', 10)

    # ---- exit 7 with no newer token (a stale fence: the scaler does not
    # send the assignment any more, or sends the same URL): failed, not
    # restarted again and again
    c7 = assignment('st-cccc', 'k1-c', 4)
    fake.assignments = [a, c7]
    t.wait('capture k1-c started', lambda: events.of('k1-c', 'start'), 5)
    fake.assignments = [a]  # what the scaler does once the fence moved on
    t0 = time.time()
    with open(os.path.join(cap_dir, 'k1-c.exit'), 'w') as f:
        f.write('7')
    rep = t.wait('k1-c reported failed', lambda: (state_of(fake, 'st-cccc') or {}).get(
        'state') == 'failed' and state_of(fake, 'st-cccc'), 4 * INTERVAL + 4)
    h.log('k1-c failed %.2f s after the refusal: %s' % (time.time() - t0, rep['reason']))
    t.check('no newer' in rep['reason'], 'the reason says no newer token came', rep['reason'])
    t.equal(len(events.of('k1-c', 'start')), 1, 'k1-c is not restarted with the same token')
    t_rep = time.time()
    t.wait('k1-c forgotten once reported', lambda: forgotten(fake, 'st-cccc', t_rep),
           3 * INTERVAL)

    # ---- a room error is not restarted
    b = assignment('st-bbbb', 'k1-b', 3)
    fake.assignments = [a, b]
    t.wait('capture k1-b started', lambda: events.of('k1-b', 'start'), 5)
    with open(os.path.join(cap_dir, 'k1-b.exit'), 'w') as f:
        f.write('3')
    rep = t.wait('k1-b reported failed', lambda: (state_of(fake, 'st-bbbb') or {}).get(
        'state') == 'failed' and state_of(fake, 'st-bbbb'), 6)
    t.check('exit 3' in rep['reason'], 'the reason has the exit code', rep['reason'])
    time.sleep(2.5)
    t.equal(len(events.of('k1-b', 'start')), 1, 'k1-b starts (not restarted)')
    fake.assignments = [a]
    since = time.time()
    t.wait('failed k1-b forgotten once reported and unassigned',
           lambda: forgotten(fake, 'st-bbbb', since), 6)

    # ---- stop command: SIGTERM, reported stopped
    pid_a = events.of('k1-a', 'start')[-1]['pid']
    fake.assignments = []
    stop_at = time.time()
    fake.stop = ['st-aaaa']
    t.wait('k1-a got SIGTERM', lambda: [e for e in events.of('k1-a', 'sigterm')
                                        if e['pid'] == pid_a], 5)
    rep = t.wait('k1-a reported stopped', lambda: (state_of(fake, 'st-aaaa') or {}).get(
        'state') == 'stopped' and state_of(fake, 'st-aaaa'), 5)
    t.check('request' in rep['reason'], 'the reason says why', rep['reason'])
    report_lag(t, fake, 'st-aaaa', stop_at, 'stopped', 'STOP_REPORT')
    fake.stop = []
    since = time.time()
    t.wait('stopped k1-a forgotten', lambda: forgotten(fake, 'st-aaaa', since), 6)
    t.check(not any(p for p in [pid_a] if _alive(p)), 'the k1-a capture process is gone')

    # ---- drain: no new assignments
    fake.drain = True
    since = time.time()
    t.wait('drain delivered', lambda: fake.heartbeats_since(since), 4)
    fake.assignments = [assignment('st-dddd', 'k1-d', 1)]
    time.sleep(4.5)
    t.equal(events.of('k1-d', 'start'), [], 'a draining agent starts nothing')
    fake.assignments = []
    fake.drain = False

    # ---- self-fencing
    c = assignment('st-cccc', 'k1-c', 11)
    fake.assignments = [c]
    t.wait('k1-c live', lambda: (state_of(fake, 'st-cccc') or {}).get('state') == 'live', 10)
    fake.down()
    last_ok = fake.last_heartbeat()[0]
    term = t.wait('k1-c got SIGTERM (self-fenced)', lambda: events.of('k1-c', 'sigterm'),
                  LEASE_MS / 1000 + 6)[0]
    delay = term['t'] - last_ok
    t.check(LEASE_MS / 1000 - 0.5 <= delay <= LEASE_MS / 1000 + 2,
            'fenced within lease + 2 s of the last heartbeat', '%.2f s' % delay)
    fake.assignments = []  # the scaler expired the instance meanwhile
    back = time.time()
    fake.up()
    rep = t.wait('k1-c reported stopped once the scaler is back',
                 lambda: state_of(fake, 'st-cccc', back), 6)
    t.equal(rep['state'], 'stopped', 'state after self-fencing')
    t.check('fence' in rep['reason'], 'the reason says self-fenced', rep['reason'])

    # ---- SIGTERM: captures stopped, exit 0
    e = assignment('st-eeee', 'k1-e', 2)
    fake.assignments = [e]
    t.wait('k1-e live', lambda: (state_of(fake, 'st-eeee') or {}).get('state') == 'live', 10)
    agent.must_live = False
    stopping = time.time()
    agent.send_signal(signal.SIGTERM)
    t.equal(agent.wait(12), 0, 'agent exit status after SIGTERM')
    t.check(events.of('k1-e', 'sigterm'), 'k1-e got SIGTERM')
    t.equal((state_of(fake, 'st-eeee', stopping) or {}).get('state'), 'stopped',
            'the last heartbeat reports k1-e stopped')
    t.check(not _alive(events.of('k1-e', 'start')[-1]['pid']), 'no capture left running')
    fake.down()

    part_replicas(t, events, cap_dir, token_file, fake_cap)


def part_replicas(t, events, cap_dir, token_file, fake_cap):
    fa = fake_scaler.FakeScaler(lease_ms=LEASE_MS, token=TOKEN).up()
    fb = fake_scaler.FakeScaler(lease_ms=LEASE_MS, token=TOKEN).up()
    a = assignment('st-ffff', 'k1-f', 21)
    fa.assignments = [a]  # one shared store behind both replicas
    fb.assignments = [a]
    agent = h.Proc(t, 'agent-2', [agent_binary(), '--scaler', '%s/, %s' % (fa.url, fb.url),
                                  '--instance-id', 'test-2', '--token-file', token_file,
                                  '--capture-cmd', fake_cap],
                   env={'FAKE_CAPTURE_DIR': cap_dir, 'FAKE_CAPTURE_CONNECT_AFTER': '1'})
    agent.must_live = True

    def state(fake):
        return (state_of(fake, 'st-ffff') or {}).get('state')

    def capture_undisturbed(what):
        starts = events.of('k1-f', 'start')
        t.check(len(starts) == 1 and not events.of('k1-f', 'sigterm') and
                _alive(starts[0]['pid']), 'the capture keeps running (%s)' % what,
                events.of('k1-f'))

    t.wait('k1-f live through the first scaler', lambda: state(fa) == 'live', 10)
    t.equal((fb.heartbeat_times(), fb.refused), ([], []),
            'the second scaler hears nothing while the first answers')

    # The first stands by: 503. The agent moves to the second at once.
    t503 = time.time()
    fa.heartbeat_status = 503
    refused = t.wait('a heartbeat refused by the first', lambda: fa.refused_since(t503),
                     INTERVAL + 2)[0]
    moved = t.wait('heartbeats reach the second', lambda: fb.heartbeat_times(), 4)[0]
    h.log('MOVE first scaler 503 -> second answered %.3f s later' % (moved - refused))
    t.check(moved - refused < 0.5, 'moved at once, not an interval later',
            '%.3f s' % (moved - refused))
    quiet = time.time()
    time.sleep(2 * INTERVAL + 0.5)
    t.equal(len(fa.refused_since(t503)), 1, 'it sticks with the second (one 503 in all)')
    n = len(fb.heartbeat_times(quiet))
    t.check(2 <= n <= 4, 'heartbeats every interval to the second, no more', n)
    t.equal(state(fb), 'live', 'the capture is reported live to the second')
    capture_undisturbed('moved on a 503')

    # The second goes away, the first leads again: back to the first.
    fa.heartbeat_status = 200
    gone = time.time()
    fb.down()
    last_b = fb.heartbeat_times()[-1]
    back = t.wait('heartbeats reach the first again', lambda: fa.heartbeat_times(gone),
                  INTERVAL + 3)[0]
    h.log('MOVE second scaler gone -> first answered %.3f s after the last heartbeat to the '
          'second' % (back - last_b))
    t.check(back - last_b < INTERVAL + 0.5, 'moved back within an interval',
            '%.3f s' % (back - last_b))
    t.wait('the capture reported live to the first again', lambda: state_of(
        fa, 'st-ffff', gone), 4)
    capture_undisturbed('the second gone')

    # The first fails too (500: broken, not standing by), the second still
    # gone: one pass per interval; self-fenced a lease after the last 200.
    fa.heartbeat_status = 500
    both = time.time()
    last_ok = max(fa.heartbeat_times() + fb.heartbeat_times())
    term = t.wait('k1-f got SIGTERM (self-fenced)', lambda: events.of('k1-f', 'sigterm'),
                  LEASE_MS / 1000 + 6)[0]
    delay = term['t'] - last_ok
    t.check(LEASE_MS / 1000 - 0.5 <= delay <= LEASE_MS / 1000 + 2,
            'fenced within lease + 2 s of the last 200 from either scaler', '%.2f s' % delay)
    tries = len(fa.refused_since(both))
    span = term['t'] - both
    h.log('first 500, second gone: %d heartbeats to the first in %.2f s before self-fencing'
          % (tries, span))
    t.check(1 <= tries <= span / INTERVAL + 2, 'no spinning: one pass over the list per '
            'interval', '%d tries in %.2f s' % (tries, span))

    # The second leads: it hears that the capture stopped.
    fa.assignments = []
    fb.assignments = []
    again = time.time()
    fb.up()
    rep = t.wait('k1-f reported stopped to the second', lambda: state_of(fb, 'st-ffff', again),
                 INTERVAL + 4)
    t.equal(rep['state'], 'stopped', 'state after self-fencing')
    t.check('fence' in rep['reason'], 'the reason says self-fenced', rep['reason'])

    agent.must_live = False
    agent.send_signal(signal.SIGTERM)
    t.equal(agent.wait(12), 0, 'agent-2 exit status after SIGTERM')
    fa.down()
    fb.down()


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is not alive for our purposes.
    try:
        with open('/proc/%d/stat' % pid) as f:
            return f.read().split(')')[-1].split()[0] != 'Z'
    except OSError:
        return False


h.run(main)
