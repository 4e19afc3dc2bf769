#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""stagecast-scaler's autoscaling with the local provider and real agents.

The scaler runs with --provider local: it spawns real stagecast-agent
processes from the build, and each agent runs tests/integration/fake_capture.py
as its capture (no Janus needed). A scripted demand curve of streams

    0 -> 1 -> 4 -> 5 -> 2 -> 0

(POST /v1/streams with distinct destinations up, DELETE down; the 1 -> 4 step
asks for more than the spares, so one stream waits as pending; at 5 the pool
is capped by --max) is held for a few periods per step, and checked:

 - after every step the pool settles with min(spare, max - busy) idle
   instances, every stream busy on an instance and live (its fake capture
   connected), nothing starting, within a bound per kind of step:
     up:   one scale period + one engine tick (the engine decides on its
           500 ms tick, which quantizes the period) + START_SLACK for an
           agent to exec and send its first heartbeat (it sends one at once);
     down: the stop reaching the agent and coming back (2 heartbeats +
           slack) + (down-periods + 1) periods + a tick + one cooldown (the
           retirement may come in two parts when the stops straddle a
           period) + slack;
 - the settled pool holds for the rest of the step (no flapping);
 - the scaler's own decisions, on its clock (GET /v1/events): a step up
   launches exactly the instances the new target needs (none at 4 -> 5:
   max) within one period + one tick + DECIDE_SLACK, and each launched agent
   joins within START_SLACK; a step down retires exactly the excess, no
   sooner than (down-periods - 1) periods after the first stop and within
   (down-periods + 1) periods + a tick + a cooldown of the last one;
 - at no time (a sampler thread reads GET /v1/instances, then
   GET /v1/streams, every ~100 ms) is an instance that holds a stream gone or
   lost, do more than --max instances live, or does a stream move to
   another instance; the event log shows no retirement of an instance with a
   stream on it, no lost instance, no failover;
 - each fake capture started once and got SIGTERM only when the test had
   stopped its stream (events.jsonl);
 - agent processes match the instances that are not gone; none is left,
   and no capture either, once the scaler has stopped.
"""

import os
import re
import signal
import threading
import time

import harness as h
import scaler as sc

PERIOD = 0.5  # --scale-period
TICK = 0.5  # the engine's fixed tick (engine.c): autoscale runs on ticks
DOWN_PERIODS = 3  # --scale-down-periods
COOLDOWN = 1.0  # --scale-down-cooldown
SPARE = 2
MAX = 6
HB = 0.3  # agents' --heartbeat-interval
CONNECT_AFTER = 0.2  # FAKE_CAPTURE_CONNECT_AFTER
STATUS_EVERY = 0.5  # SC_AGENT_STATUS_EVERY_MS: an agent polls a starting capture
START_SLACK = 2.5  # exec an agent, its first heartbeat, a loaded 2-core machine
DECIDE_SLACK = 0.5  # the engine thread's wake-up and the event's store write
SAMPLE = 0.1
HOLD = 2.5  # how long a settled pool is watched (5 periods)
CURVE = [1, 4, 5, 2, 0]

UP_BOUND = PERIOD + TICK + START_SLACK
# A stream is live after: its agent's next heartbeat, the capture's start,
# CONNECT_AFTER, a status poll, the next heartbeat; plus a new agent's start
# when it was pending.
LIVE_BOUND = UP_BOUND + 2 * HB + CONNECT_AFTER + STATUS_EVERY + 1.5
DOWN_BOUND = 2 * HB + 1.0 + (DOWN_PERIODS + 1) * PERIOD + TICK + COOLDOWN + 1.0

ACTIVE = ('assigned', 'starting', 'live', 'stopping')
ALIVE = ('starting', 'idle', 'busy', 'draining')


def agent_binary():
    return h.binary('STAGECAST_AGENT', 'scaler', 'stagecast-agent')


def proc_alive(pid):
    """Running and not a zombie."""
    try:
        with open('/proc/%d/stat' % pid) as f:
            return f.read().rsplit(')', 1)[-1].split()[0] != 'Z'
    except OSError:
        return False


def agents_of(port):
    """pid -> instance id of every live stagecast-agent talking to this scaler."""
    mark = '--scaler\0http://%s:%d\0' % (sc.LOOPBACK, port)
    found = {}
    for d in os.listdir('/proc'):
        if not d.isdigit():
            continue
        try:
            with open('/proc/%s/cmdline' % d, 'rb') as f:
                cmd = f.read().decode('utf-8', 'replace')
        except OSError:
            continue
        if mark in cmd and proc_alive(int(d)):
            argv = cmd.split('\0')
            found[int(d)] = argv[argv.index('--instance-id') + 1]
    return found


class Sampler:
    """Reads the pool every SAMPLE s; checks what must hold at every instant."""

    def __init__(self, s):
        self.s = s
        self.t0 = time.monotonic()
        self.samples = []  # (t, instances, streams)
        self.violations = []
        self.errors = []
        self.timeline = []
        self.home = {}  # stream id -> the instance it first ran on
        self.lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._stop.set()
        self._thread.join(10)

    def _run(self):
        n = 0
        while not self._stop.is_set() and n < 20000:
            n += 1
            t = time.monotonic()
            try:
                insts = self.s.instances()  # instances first: see _check
                streams = self.s.streams()
            except Exception as e:  # noqa: BLE001 - reported by the test
                self.errors.append('%.2f %r' % (t - self.t0, e))
                if len(self.errors) > 20:
                    return
            else:
                with self.lock:
                    self.samples.append((t, insts, streams))
                self._check(t, insts, streams)
            self._stop.wait(max(0.0, SAMPLE - (time.monotonic() - t)))

    def _check(self, t, insts, streams):
        at = t - self.t0
        bad = lambda what: self.violations.append('%.2fs: %s' % (at, what))
        states = {i: v['state'] for i, v in insts.items()}
        alive = [i for i, st in states.items() if st in ALIVE]
        if len(alive) > MAX:
            bad('%d instances alive (max %d): %s' % (len(alive), MAX, sorted(alive)))
        for i, st in states.items():
            if st == 'lost':
                bad('instance %s lost' % i)
        for x in streams:
            if x['state'] not in ACTIVE or not x.get('instance'):
                continue
            # A gone instance never takes a stream, so a stream seen on it
            # after it was seen gone was on it while it was retired.
            if states.get(x['instance']) in ('gone', 'lost'):
                bad('stream %s (%s) on instance %s, which is %s' % (
                    x['name'], x['state'], x['instance'], states[x['instance']]))
            home = self.home.setdefault(x['id'], x['instance'])
            if home != x['instance']:
                bad('stream %s moved from %s to %s' % (x['name'], home, x['instance']))
        summary = summarize(insts, streams)
        if not self.timeline or self.timeline[-1][1] != summary:
            self.timeline.append((at, summary))

    def since(self, t):
        self.assert_clean()
        with self.lock:
            return [x for x in self.samples if x[0] >= t]

    def assert_clean(self):
        """Fails at once (t.wait does not retry an AssertionError)."""
        if self.violations:
            raise AssertionError('violation at a sampled instant: %s'
                                 % '; '.join(self.violations[:5]))


def summarize(insts, streams):
    count = lambda st: sum(v['state'] == st for v in insts.values())
    return (count('idle'), count('busy'), count('starting'), count('gone'),
            sum(x['state'] == 'live' for x in streams),
            sum(x['state'] in ACTIVE for x in streams))


def settled(insts, streams, want_ids, k):
    idle, busy, starting, _, _, active = summarize(insts, streams)
    by_id = {x['id']: x for x in streams}
    return (idle == min(SPARE, MAX - k) and busy == k and starting == 0 and active == k and
            not any(v['state'] == 'draining' for v in insts.values()) and
            all(by_id.get(sid, {}).get('state') == 'live' for sid in want_ids))


def check_event_log(t, s):
    """Replays the scaler's events: nobody retired with a stream on it."""
    events = s.events(1000)
    on = {}  # instance -> set of stream ids
    where = {}  # stream id -> instance
    retired = []
    for e in events:
        k = e['kind']
        if k == 'assign':
            m = re.search(r' to instance (\S+),', e['detail'])
            t.check(m, 'assign event names the instance', e)
            on.setdefault(m.group(1), set()).add(e['subject'])
            where[e['subject']] = m.group(1)
        elif k in ('stopped', 'failed'):
            inst = where.pop(e['subject'], None)
            if inst:
                on[inst].discard(e['subject'])
        elif k in ('scale-down', 'retire'):
            retired.append(e['subject'])
            t.check(not on.get(e['subject']), 'instance %s had no stream when retired (%s)'
                    % (e['subject'], k), sorted(on.get(e['subject'], ())))
    kinds = [e['kind'] for e in events]
    for k in ('lost', 'failover', 'unassign', 'provider-error', 'failed'):
        t.check(k not in kinds, 'no %s event' % k, [e for e in events if e['kind'] == k])
    return events, retired


def main(t):
    agent = agent_binary()
    cap_dir = t.path('captures')
    os.mkdir(cap_dir)
    caps = h.JsonLines(os.path.join(cap_dir, 'events.jsonl'))
    fake_cap = os.path.join(h.HERE, 'fake_capture.py')
    tokens = sc.Tokens(t)
    s = sc.Scaler(t, name='autoscale', provider='local', tokens=tokens, lease='3s',
                  env={'FAKE_CAPTURE_DIR': cap_dir,
                       'FAKE_CAPTURE_CONNECT_AFTER': str(CONNECT_AFTER)},
                  args=['--agent-cmd', agent, '--capture-cmd', fake_cap,
                        '--min', 0, '--max', MAX, '--spare', SPARE,
                        '--scale-period', '%dms' % (PERIOD * 1000),
                        '--scale-down-periods', DOWN_PERIODS,
                        '--scale-down-cooldown', '%dms' % (COOLDOWN * 1000),
                        '--agent-arg', '--heartbeat-interval',
                        '--agent-arg', '%dms' % (HB * 1000),
                        '--agent-arg', '--bind-address', '--agent-arg', sc.LOOPBACK])
    h.log('bounds: up %.1fs, live %.1fs, down %.1fs' % (UP_BOUND, LIVE_BOUND, DOWN_BOUND))
    t_up, wall_up = time.monotonic(), time.time()
    s.start()
    sampler = Sampler(s).start()
    try:
        run_curve(t, s, sampler, caps, t_up, wall_up)
    finally:
        sampler.stop()
        h.log('timeline (s: idle busy starting gone | live active streams):')
        for at, (idle, busy, starting, gone, live, active) in sampler.timeline:
            h.log('  %6.2f: %d %d %d %d | %d %d' % (at, idle, busy, starting, gone, live,
                                                    active))
        leftover = agents_of(s.port)
        code = s.stop()
        # The scaler stops its agents; anything still there is killed by
        # pid (and fails the test below).
        deadline = time.monotonic() + 10
        while agents_of(s.port) and time.monotonic() < deadline:
            time.sleep(0.1)
        left = agents_of(s.port)
        for pid in left:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        cap_left = [e['pid'] for e in caps.all() if e['ev'] == 'start' and
                    proc_alive(e['pid'])]
        for pid in cap_left:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    h.log('agents before the scaler stopped: %s' % sorted(leftover.values()))
    t.equal(code, 0, 'scaler exit status')
    t.equal(left, {}, 'no agent left after the scaler stopped')
    t.equal(cap_left, [], 'no fake capture left')


def run_curve(t, s, sampler, caps, t_up, wall_up):
    k = 0
    live = []  # (stream id, name) in start order
    stopped_at = {}  # name -> wall time the test asked it to stop
    started = set()
    report = []

    # Step 0: an empty pool grows to the spares.
    t.wait('the pool starts with %d idle agents' % SPARE,
           lambda: any(settled(i, st, [], 0) for _, i, st in sampler.since(t_up)),
           UP_BOUND + 5, 0.05)
    first = next(x for x in sampler.since(t_up) if settled(x[1], x[2], [], 0))
    decide = check_decisions(t, s, wall_up, '0', 0, min(SPARE, MAX))
    report.append(('0', first[0] - t_up, first[0] - t_up, decide))
    hold(t, s, sampler, [], 0, '0')

    serial = 0
    for step, k_new in enumerate(CURVE, 1):
        label = '%d -> %d' % (k, k_new)
        h.log('---- step %d: %s streams' % (step, label))
        t_step = time.monotonic()
        wall_step = time.time()
        if k_new > k:
            for _ in range(k_new - k):
                serial += 1
                name = 'as-%d' % serial
                r = s.start_stream(name, 'rtmp://up%d.example/live/key-%d' % (serial, serial))
                t.equal(r.status, 201, 'start %s' % name)
                live.append((r.json()['id'], name))
                started.add(name)
        else:
            # Stop the newest: the oldest instances stay busy, so a
            # scale-down that takes "oldest idle first" must skip them.
            for sid, name in live[k_new:]:
                stopped_at[name] = time.time()
                r = s.stop_stream(sid)
                t.check(r.status in (200, 202), 'stop %s' % name, r.text)
            for sid, name in live[k_new:]:
                s.wait_state(sid, 'stopped', DOWN_BOUND)
            del live[k_new:]
        ids = [sid for sid, _ in live]
        up = k_new > k
        bound = UP_BOUND if up else DOWN_BOUND

        # The pool: idle == spare (capped by max), busy == k, nothing starting.
        pool_ok = lambda x: (summarize(x[1], x[2])[:3] == (min(SPARE, MAX - k_new), k_new, 0))
        got = t.wait('%s: pool settles' % label,
                     lambda: next((x for x in sampler.since(t_step) if pool_ok(x)), None),
                     bound + 3, 0.05)
        pool_t = got[0] - t_step
        got = t.wait('%s: every stream live' % label,
                     lambda: next((x for x in sampler.since(t_step)
                                   if settled(x[1], x[2], ids, k_new)), None),
                     LIVE_BOUND + bound + 3, 0.05)
        live_t = got[0] - t_step
        h.log('%s: pool in %.2fs, all live and settled in %.2fs' % (label, pool_t, live_t))
        t.check(pool_t <= bound, '%s: pool settled within %.1fs' % (label, bound),
                '%.2fs' % pool_t)
        if up:
            t.check(live_t <= LIVE_BOUND, '%s: streams live within %.1fs' % (label, LIVE_BOUND),
                    '%.2fs' % live_t)
        for sid, name in live:
            t.check(len(caps.of(name, 'start')) == 1, '%s: its capture started once' % name,
                    caps.of(name, 'start'))
        decide = check_decisions(t, s, wall_step, label, min(k + SPARE, MAX),
                                 min(k_new + SPARE, MAX))
        report.append((label, pool_t, live_t, decide))
        hold(t, s, sampler, ids, k_new, label)
        k = k_new

    # Fake captures: SIGTERM only for streams the test stopped, after it did.
    for e in caps.all():
        if e['ev'] == 'sigterm':
            t.check(e['name'] in stopped_at and e['t'] >= stopped_at[e['name']],
                    'capture %s got SIGTERM only after the test stopped it' % e['name'], e)
    for name in started:
        t.check(len(caps.of(name, 'start')) == 1 and len(caps.of(name, 'sigterm')) == 1 and
                [e.get('why') for e in caps.of(name, 'exit')] == ['signal'],
                '%s: one start, one SIGTERM, one exit on it' % name)
    events, retired = check_event_log(t, s)
    ups = [e for e in events if e['kind'] == 'launch']
    h.log('launched %d agents, retired %s' % (len(ups), retired))
    t.check(len(retired) >= 4, 'agents were retired on the way down', retired)
    t.check(not sampler.errors, 'every sample read', sampler.errors[:5])
    t.check(not sampler.violations, 'no violation at any sampled instant',
            sampler.violations[:10])
    h.log('%d samples; after each step, seconds to: the pool at target, every stream live;'
          ' the scaler\'s decision (up: launch after the step; down: last retirement after'
          ' the last stop)' % len(sampler.samples))
    for label, pool_t, live_t, decide in report:
        h.log('  %-7s pool %.2f  live %.2f  decision %s' % (
            label, pool_t, live_t, '-' if decide is None else '%.2f' % decide))


def check_decisions(t, s, wall_step, label, before, after):
    """The scaler's own decisions in this step, on its clock (event times).

    Up: exactly the instances the new target asks for are launched, the
    decision within one period (+ one tick, + DECIDE_SLACK for the engine
    thread's wake-up), each agent joining within START_SLACK of its launch.
    Down: exactly the excess is retired, none before (down-periods - 1)
    periods after the first stop, all within (down-periods + 1) periods + a
    tick + one cooldown of the last stop.
    """
    evs = [e for e in s.events(1000) if e['at_ms'] >= wall_step * 1000 - 1]
    at = lambda kind: [e['at_ms'] / 1000 for e in evs if e['kind'] == kind]
    launches = [e for e in evs if e['kind'] == 'launch']
    downs = at('scale-down')
    t.equal(len(launches), max(0, after - before), '%s: agents launched' % label)
    t.equal(len(downs), max(0, before - after), '%s: agents retired' % label)
    decide = None
    if launches:
        decide = launches[0]['at_ms'] / 1000 - wall_step
        t.check(decide <= PERIOD + TICK + DECIDE_SLACK,
                '%s: scaled up %.2fs after the step (<= %.2fs)'
                % (label, decide, PERIOD + TICK + DECIDE_SLACK))
        for e in launches:
            joined = [x['at_ms'] / 1000 for x in evs
                      if x['kind'] == 'join' and x['subject'] == e['subject']]
            t.check(joined, '%s: launched %s joined' % (label, e['subject']), evs)
            boot = joined[0] - e['at_ms'] / 1000
            t.check(boot <= START_SLACK, '%s: %s heartbeat %.2fs after its launch (<= %.1fs)'
                    % (label, e['subject'], boot, START_SLACK))
    if downs:
        stops = at('stopped')
        t.check(stops, '%s: streams stopped before the scale-down' % label, evs)
        decide = downs[-1] - stops[-1]
        least = (DOWN_PERIODS - 1) * PERIOD - 0.01
        most = (DOWN_PERIODS + 1) * PERIOD + TICK + COOLDOWN + DECIDE_SLACK
        t.check(downs[0] - stops[0] >= least,
                '%s: first scale-down %.2fs after the first stop (>= %.2fs)'
                % (label, downs[0] - stops[0], least))
        t.check(decide <= most, '%s: last scale-down %.2fs after the last stop (<= %.2fs)'
                % (label, decide, most))
    return decide


def hold(t, s, sampler, ids, k, label):
    """The settled pool stays so for HOLD s; the agents match the pool."""
    t_hold = time.monotonic()
    time.sleep(HOLD)
    samples = sampler.since(t_hold)
    t.check(len(samples) >= HOLD / SAMPLE / 3, '%s: sampled while holding' % label,
            len(samples))
    bad = [(round(x[0] - sampler.t0, 2), summarize(x[1], x[2])) for x in samples
           if not settled(x[1], x[2], ids, k)]
    t.check(not bad, '%s: the pool held (%d idle, %d busy) for %.1fs' % (
        label, min(SPARE, MAX - k), k, HOLD), bad[:5])
    insts = s.instances()
    want = sorted(i for i, v in insts.items() if v['state'] in ALIVE)
    t.wait('%s: agent processes are the %d instances not gone' % (label, len(want)),
           lambda: sorted(agents_of(s.port).values()) == want, 8, 0.1)


h.run(main)
