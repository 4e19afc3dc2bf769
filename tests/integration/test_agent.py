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
 - a crash (exit 1) is restarted while the assignment stands; a room error
   (exit 3) is reported failed and not restarted;
 - a stop command sends SIGTERM and the capture is reported stopped;
 - drain: a new assignment is not taken;
 - self-fencing: with the scaler gone for longer than the lease the
   capture gets SIGTERM within lease + 2 s, and is reported stopped once
   the scaler is back;
 - SIGTERM to the agent stops its captures; the agent exits 0.
"""

import json
import os
import signal
import sys
import time

import harness as h

sys.path.insert(0, h.HERE)
import fake_scaler  # noqa: E402

LEASE_MS = 3000
TOKEN = 'agent-token-for-tests'


def agent_binary():
    exe = os.environ.get('STAGECAST_AGENT') or os.path.join(h.BUILD_DIR, 'scaler',
                                                            'stagecast-agent')
    if not os.access(exe, os.X_OK):
        raise h.Failure('agent binary not found: %s (set STAGECAST_AGENT)' % exe)
    return exe


class Events:
    def __init__(self, path):
        self.path = path

    def all(self):
        try:
            with open(self.path) as f:
                return [json.loads(line) for line in f if line.strip()]
        except FileNotFoundError:
            return []

    def of(self, name, ev=None):
        return [e for e in self.all() if e.get('name') == name and (ev is None or e['ev'] == ev)]


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


def main(t):
    fake = fake_scaler.FakeScaler(lease_ms=LEASE_MS, token=TOKEN).up()
    cap_dir = t.path('captures')
    os.mkdir(cap_dir)
    events = Events(os.path.join(cap_dir, 'events.jsonl'))
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
    fake.stop = ['st-aaaa']
    t.wait('k1-a got SIGTERM', lambda: [e for e in events.of('k1-a', 'sigterm')
                                        if e['pid'] == pid_a], 5)
    rep = t.wait('k1-a reported stopped', lambda: (state_of(fake, 'st-aaaa') or {}).get(
        'state') == 'stopped' and state_of(fake, 'st-aaaa'), 5)
    t.check('request' in rep['reason'], 'the reason says why', rep['reason'])
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
