#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""stagecast-scaler end to end: real processes all the way.

A Janus room (the conference rig, network namespace) with two webrtcbin
publishers (red 440 Hz, green 660 Hz); stagecast-relay with a publish
secret; nginx-rtmp as the destination; stagecast-scaler (SQLite, local
provider, lease 4 s, min 2, spare 1) running real stagecast-agents that run
real stagecast-captures; the real `stagecast` CLI as the operator.

1. Lifecycle: `stagecast start` -> live at the relay with a fence > 0, HLS
   has segments, the relay pushes to nginx, the mix shows both colours;
   `stagecast stop` frees the instance (idle) and the lock (a new start for
   the same destination succeeds).
2. Failover: SIGKILL the agent and its capture mid-stream: the instance is
   lost, the stream moves to the spare under a higher fence and is live at
   the relay again within 15 s of the kill; a capture started by hand with
   the old token is refused by the relay (and exits 7 by itself) while the
   new one keeps publishing.
3. The widget race: start/stop/start the same destination N times as fast
   as the API allows (every other cycle stops a capture that is publishing,
   the others stop it while it is still starting); the relay never has a publisher replaced or a second
   one refused, and nginx never shows two publishers for the name.
4. Relay restart: with the last start live, stagecast-relay is stopped and
   started again on the same ports with the same secret; the capture
   publishes again and, within RELAY_READD_BOUND s of that, the scaler's
   reconciliation has put the push target back (event
   "relay-target-readded") and nginx shows the publisher again.
5. Scaler restart: the scaler stops (its local agents and captures with it)
   and starts again on the same SQLite file while the stream is live; the
   stream comes back live; `stagecast stop` then removes the relay's push
   target for the name although the new scaler never added it itself.
6. A removal whose target id the scaler never learned, against a fake relay
   API (a scaler with a FakeAgent): the scaler restarts while the relay's
   list fails, the stream stops; the scaler makes one GET per pass, logs the
   outage once and calls nothing else; when the list works again it learns
   the id with the idempotent POST (the fake answers 409 with the id) and
   DELETEs it.
Root only (network namespace); exit 77 without Janus, GStreamer or nginx-rtmp.
"""

import http.server
import json
import os
import re
import signal
import subprocess
import threading
import time
import xml.etree.ElementTree as ET

import conference as c
import harness as h
import mixcheck as mx
import scaler as sc

SIZE = (640, 360)
NAME = 'e2e-talk'
RACE_N = int(os.environ.get('SC_E2E_RACE_N', '50'))
FAILOVER_BOUND = 15.0
RELAY_READD_BOUND = 10.0


def binary(env, sub, name):
    try:
        return h.binary(env, sub, name)
    except h.Failure as e:
        raise h.Skip(str(e))


class Cli:
    def __init__(self, scaler):
        self.exe = binary('STAGECAST_CLI', 'scaler', 'stagecast')
        self.scaler = scaler

    def __call__(self, *args, timeout=20):
        argv = [self.exe] + list(args) + ['--scaler', self.scaler.url(''), '--json']
        t0 = time.monotonic()
        code, out, err = h.run_tool(argv, timeout)
        body = None
        try:
            body = json.loads(out) if out.strip() else None
        except ValueError:
            pass
        return code, body, out + err, time.monotonic() - t0


# ---------------------------------------------------------------- processes

def proc_children(pid):
    out = []
    for d in os.listdir('/proc'):
        if not d.isdigit():
            continue
        try:
            with open('/proc/%s/stat' % d) as f:
                st = f.read()
        except OSError:
            continue
        fields = st[st.rindex(')') + 2:].split()
        if int(fields[1]) == pid:
            out.append(int(d))
    return out


def cmdline(pid):
    try:
        with open('/proc/%d/cmdline' % pid, 'rb') as f:
            return [a.decode() for a in f.read().split(b'\0') if a]
    except OSError:
        return []


def agent_pid(scaler, instance):
    for pid in proc_children(scaler.proc.pid):
        argv = cmdline(pid)
        if 'stagecast-agent' in os.path.basename(argv[0] if argv else '') and instance in argv:
            return pid
    return None


def capture_pids(agent):
    return [p for p in proc_children(agent)
            if cmdline(p) and os.path.basename(cmdline(p)[0]) == 'stagecast-capture']


def arg_after(argv, flag):
    return argv[argv.index(flag) + 1] if flag in argv else None


def nginx_publishers(nginx):
    """{stream name: number of publishing clients} from nginx-rtmp /stat."""
    r = h.http_get('http://%s:%d/stat' % (h.LOOPBACK, nginx.http_port), timeout=3)
    root = ET.fromstring(r.body)
    out = {}
    for st in root.iter('stream'):
        name = st.findtext('name', '')
        out[name] = sum(1 for cl in st.iter('client') if cl.find('publishing') is not None)
    return out


def refused(relay):
    m = relay.metrics()
    return {r: h.metric(m, 'stagecast_relay_publish_refused_total', reason=r) or 0.0
            for r in ('stale_fence', 'duplicate', 'bad_token', 'no_token', 'expired')}


class FakeRelayApi:
    """Enough of the relay's /v1 push-target API, in a thread: GET /v1/streams
    (503 while list_ok is False), POST .../targets (201, or 409 naming the id
    when the URL already is a target), DELETE .../targets/ID. Records calls."""

    def __init__(self):
        self.targets = {}  # name -> {id: url}
        self.calls = []  # (method, path)
        self.list_ok = True
        self.next_id = 0
        fake = self

        class H(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def reply(self, code, obj=None):
                body = json.dumps(obj).encode() if obj is not None else b''
                self.send_response(code)
                self.send_header('Content-Length', str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                fake.calls.append(('GET', self.path))
                if not fake.list_ok:
                    return self.reply(503, {'error': 'down for the test'})
                self.reply(200, {'streams': [
                    {'name': n, 'targets': [{'id': i, 'url': 'rtmp://***', 'template': False}
                                            for i in ts]}
                    for n, ts in fake.targets.items()]})

            def do_POST(self):
                fake.calls.append(('POST', self.path))
                m = re.fullmatch(r'/v1/streams/([^/]+)/targets', self.path)
                n = int(self.headers.get('Content-Length', '0'))
                url = json.loads(self.rfile.read(n))['url']
                ts = fake.targets.setdefault(m.group(1), {})
                for i, u in ts.items():
                    if u == url:
                        return self.reply(409, {'error': 'already a target of this stream '
                                                         '(%s)' % i})
                fake.next_id += 1
                i = 't%d' % fake.next_id
                ts[i] = url
                self.reply(201, {'id': i})

            def do_DELETE(self):
                fake.calls.append(('DELETE', self.path))
                m = re.fullmatch(r'/v1/streams/([^/]+)/targets/([^/]+)', self.path)
                if not m or fake.targets.get(m.group(1), {}).pop(m.group(2), None) is None:
                    return self.reply(404, {'error': 'no such target'})
                self.reply(204)

        self.srv = http.server.ThreadingHTTPServer((h.LOOPBACK, 0), H)
        self.port = self.srv.server_address[1]
        self.th = threading.Thread(target=self.srv.serve_forever, daemon=True)
        self.th.start()

    def url(self):
        return 'http://%s:%d' % (h.LOOPBACK, self.port)

    def stop(self):
        self.srv.shutdown()
        self.srv.server_close()


def removal_learns_the_id(t, secret):
    """Part 6: see the module doc."""
    fake = FakeRelayApi()
    name, dest = 'learn-talk', 'rtmp://127.0.0.1:9/live/learn-key'
    s = sc.Scaler(t, name='scaler-learn', secret=secret, relay_api=fake.url()).start()
    agent = sc.FakeAgent(s, 'fake-learn').start()
    r = s.start_stream(name, dest)
    t.equal(r.status, 201, 'part 6: start (%s)' % r.text)
    sid = r.json()['id']
    s.wait_state(sid, 'live', 10)
    t.wait('part 6: the fake relay has the target',
           lambda: fake.targets.get(name) == {'t1': dest}, 10, interval=0.1)
    t.equal(s.stop(20), 0, 'part 6: scaler exit status (restart)')
    fake.list_ok = False
    s = sc.Scaler(t, name='scaler-learn2', secret=secret, relay_api=fake.url(), db=s.db,
                  port=s.port).start()
    r = s.stop_stream(sid)
    t.check(r.status in (200, 202), 'part 6: stop (%d %s)' % (r.status, r.text))
    s.wait_state(sid, 'stopped', 15)
    n0 = len(fake.calls)
    time.sleep(11)
    during = fake.calls[n0:]
    h.log('part 6: calls while the list fails (11 s): %s' % during)
    t.check(during and all(c == ('GET', '/v1/streams') for c in during) and len(during) <= 3,
            'part 6: one GET per pass while the relay is down, nothing else', during)
    warned = s.proc.output().count('cannot list its push targets')
    t.equal(warned, 1, 'part 6: the outage is logged once')
    n0 = len(fake.calls)
    fake.list_ok = True
    t.wait('part 6: the target is removed', lambda: fake.targets.get(name) == {}, 10,
           interval=0.1)
    after = fake.calls[n0:]
    h.log('part 6: calls once the list works: %s' % after)
    t.check(('POST', '/v1/streams/%s/targets' % name) in after and
            ('DELETE', '/v1/streams/%s/targets/t1' % name) in after,
            'part 6: the idempotent POST learned t1, then DELETE', after)
    ev = [e for e in s.events() if e['subject'] == sid and e['kind'] == 'relay-target-removed']
    t.check(ev and 'learned' in ev[0]['detail'], 'part 6: event relay-target-removed '
            '(learned)', ev)
    agent.stop()
    t.equal(s.stop(20), 0, 'part 6: scaler exit status')
    fake.stop()


# ---------------------------------------------------------------- checks

def check_mix(t, relay, what):
    rgb = mx.grab_rgb(relay.rtmp(NAME), SIZE, skip=2.5)
    for name, colour in (('red', 0xff0000), ('green', 0x00ff00)):
        frac, centre = mx.find_colour(rgb, SIZE, colour)
        h.log('%s: %s covers %.1f%% at %s' % (what, name, 100 * frac, centre))
        t.check(frac > 0.03, '%s: %s is in the picture (%.1f%%)' % (what, name, 100 * frac))


def wait_relay_live(t, relay, above=0, timeout=30, what=None):
    def live():
        s = relay.stream(NAME) or {}
        p = s.get('publisher') or {}
        return s if s.get('live') and p.get('fence', 0) > above else None
    return t.wait(what or 'relay: %s live with a fence > %d' % (NAME, above), live, timeout,
                  interval=0.1)


def start_cli(t, cli, dest, conf, retry_for=0.0):
    """stagecast start; retried on 409 (exit 1, holder) for retry_for s."""
    deadline = time.monotonic() + retry_for
    tries = 0
    while True:
        tries += 1
        code, body, text, took = cli('start', NAME, '--conference', conf.url, '--to', dest,
                                     '--profile', '360p15')
        if code == 0:
            return body, tries
        if time.monotonic() >= deadline:
            raise h.Failure('stagecast start: exit %s after %d tries: %s' % (code, tries, text))
        time.sleep(0.05)


def main(t):
    agent_exe = binary('STAGECAST_AGENT', 'scaler', 'stagecast-agent')
    capture_exe = binary('STAGECAST_CAPTURE', 'capture', 'stagecast-capture')
    conf = c.Conference(t, room=1234, publishers=9).start()  # enters the namespace first
    conf.add_publisher('red', color=0xff0000, tone=440, codec='vp8')
    conf.add_publisher('green', color=0x00ff00, tone=660, codec='vp8')
    secret = sc.write_secret(t, 'shared-secret')
    relay = h.Relay(t, args=['--secret-file', secret]).start()
    nginx = h.Nginx(t).start()
    dest = nginx.rtmp(NAME)
    cap_logs = t.path('capture-logs')
    os.makedirs(cap_logs)
    scaler_args = ['--relay', 'rtmp://127.0.0.1:%d/live' % relay.rtmp_port,
                   '--agent-cmd', agent_exe, '--capture-cmd', capture_exe,
                   '--agent-arg=--bind-address', '--agent-arg=' + c.ICE_IP,
                   '--agent-arg=--capture-log-dir', '--agent-arg=' + cap_logs,
                   '--min', '2', '--spare', '1', '--scale-period', '1s']
    s = sc.Scaler(t, provider='local', lease='4s', secret=secret, relay_api=relay.url(''),
                  args=scaler_args).start()
    cli = Cli(s)
    t.wait('two idle instances', lambda: [i['state'] for i in s.instances().values()]
           .count('idle') >= 2, 30)

    # ---- 1. lifecycle
    t0 = time.monotonic()
    body, _ = start_cli(t, cli, dest, conf)
    sid1 = body['id']
    h.log('stagecast start: %s fence %s' % (sid1, body.get('fence')))
    st = wait_relay_live(t, relay, 0, 40)
    h.log('live at the relay %.2f s after stagecast start (fence %d)'
          % (time.monotonic() - t0, st['publisher']['fence']))
    s.wait_state(sid1, 'live', 10)
    relay.wait_segments(NAME, 2, 30)
    t.wait('nginx receives %s from the relay' % NAME,
           lambda: nginx.stat().get(NAME, {}).get('publishing')
           and nginx.stat()[NAME]['bytes_in'] > 0, 20)
    targets = relay.stream(NAME)['targets']
    t.equal(len(targets), 1, 'relay push targets for %s' % NAME)
    time.sleep(1.5)
    check_mix(t, relay, 'first assignment')
    inst1 = s.stream(sid1)['instance']
    code, _, text, _ = cli('stop', NAME)
    t.equal(code, 0, 'stagecast stop exit status (%s)' % text.strip())
    s.wait_state(sid1, 'stopped', 15)
    t.wait('instance %s idle again' % inst1, lambda: s.instances()[inst1]['state'] == 'idle'
           and s.instances()[inst1]['used'] == 0, 10)
    t.wait('relay: %s no longer live' % NAME,
           lambda: not (relay.stream(NAME) or {}).get('live'), 10)
    body, tries = start_cli(t, cli, dest, conf)
    t.equal(tries, 1, 'a new start for the same destination after the stop: first try')
    sid2 = body['id']
    t.check(sid2 != sid1, 'the new start is a new stream (%s)' % sid2)

    # ---- 2. failover
    st = wait_relay_live(t, relay, 0, 40, 'relay: second stream live')
    s.wait_state(sid2, 'live', 10)
    old_fence = st['publisher']['fence']
    takeovers0 = st['takeovers']
    inst2 = s.stream(sid2)['instance']
    apid = agent_pid(s, inst2)
    t.check(apid, 'agent process of %s found' % inst2)
    caps = capture_pids(apid)
    t.equal(len(caps), 1, 'captures under the agent %d' % apid)
    old_argv = cmdline(caps[0])
    old_url = arg_after(old_argv, '--output')
    t.equal(sc.token_fence(old_url), old_fence, 'fence in the old capture\'s token')
    spare = [i for i, v in s.instances().items() if v['state'] == 'idle']
    h.log('killing agent %s (pid %d) and capture (pid %d); idle spare(s): %s'
          % (inst2, apid, caps[0], spare))
    t.check(spare, 'a spare is idle before the kill')
    os.kill(caps[0], signal.SIGKILL)
    os.kill(apid, signal.SIGKILL)
    t_kill = time.monotonic()
    lost = t.wait('%s lost' % inst2,
                  lambda: s.instances().get(inst2, {}).get('state') in ('lost', 'gone'), 15,
                  interval=0.1)
    h.log('%s marked %s %.2f s after the kill' % (inst2, lost and s.instances()[inst2]['state'],
                                                 time.monotonic() - t_kill))
    st = wait_relay_live(t, relay, old_fence, 30, 'relay: live again under a higher fence')
    back_in = time.monotonic() - t_kill
    new_fence = st['publisher']['fence']
    h.log('FAILOVER: live again at the relay %.2f s after the kill (fence %d -> %d)'
          % (back_in, old_fence, new_fence))
    t.check(back_in <= FAILOVER_BOUND, 'live again within %.0f s of the kill (%.2f s)'
            % (FAILOVER_BOUND, back_in))
    s2 = s.stream(sid2)
    t.check(s2['instance'] not in (None, inst2), 'stream moved to another instance (%s)'
            % s2['instance'])
    t.equal(s2['fence'], new_fence, 'scaler fence == relay publisher fence')
    h.log('history: %s' % [(x['state'], x['reason']) for x in s2['history']])
    # The old token, by hand: refused while the new capture publishes.
    r0 = refused(relay)
    old = h.Proc(t, 'old-token-capture', [capture_exe, '--conference', conf.url, '--output',
                                          old_url, '--profile', '360p15',
                                          '--bind-address', c.ICE_IP])
    t.wait('the relay refuses the old token',
           lambda: sum(refused(relay).values()) > sum(r0.values()), 30)
    # It gives up by itself: exit 7, the relay refused its token for good.
    old_code = old.wait(15)
    r1 = refused(relay)
    h.log('refused after the old-token capture: %s (before %s); it exited %s'
          % (r1, r0, old_code))
    t.equal(old_code, 7, 'the old-token capture exits 7 (token refused for good)')
    t.check(r1['stale_fence'] > r0['stale_fence'] and r1['duplicate'] == r0['duplicate'],
            'refused as a stale fence (not as a duplicate)', (r0, r1))
    st = relay.stream(NAME)
    t.check(st['live'] and st['publisher']['fence'] == new_fence,
            'the new capture keeps publishing (fence %s)' % st['publisher']['fence'])
    t.equal(st['takeovers'], takeovers0, 'no takeover by the old token')
    if old_code is None:
        old.stop(5)
    relay.hls_advances(NAME, 15)

    # ---- 3. the widget race
    code, _, text, _ = cli('stop', NAME)
    t.equal(code, 0, 'stop before the race (%s)' % text.strip())
    s.wait_state(sid2, 'stopped', 15)
    base = relay.stream(NAME) or {}
    takeovers0 = base.get('takeovers', 0)
    r0 = refused(relay)
    seen = {'relay_polls': 0, 'nginx_polls': 0, 'max_nginx': 0, 'fences': [],
            'takeovers': takeovers0, 'errors': []}
    stop_poll = threading.Event()

    def poll():
        last = None
        while not stop_poll.is_set():
            try:
                st = relay.stream(NAME) or {}
                seen['relay_polls'] += 1
                seen['takeovers'] = max(seen['takeovers'], st.get('takeovers', 0))
                f = (st.get('publisher') or {}).get('fence')
                if f is not None and f != last:
                    seen['fences'].append(f)
                    last = f
                n = nginx_publishers(nginx).get(NAME, 0)
                seen['nginx_polls'] += 1
                seen['max_nginx'] = max(seen['max_nginx'], n)
            except Exception as e:  # noqa: BLE001
                seen['errors'].append(repr(e))
            time.sleep(0.02)
    th = threading.Thread(target=poll, daemon=True)
    th.start()
    t_race = time.monotonic()
    total_tries = 0
    went_live = 0
    for i in range(RACE_N):
        body, tries = start_cli(t, cli, dest, conf, retry_for=30)
        total_tries += tries
        if i % 2:  # every other cycle: stop a capture that is publishing
            t.wait('race %d: live at the relay under fence %d' % (i, body['fence']),
                   lambda: ((relay.stream(NAME) or {}).get('publisher') or {})
                   .get('fence') == body['fence'], 30, interval=0.1)
            went_live += 1
        code, _, text, _ = cli('stop', NAME)
        t.check(code == 0, 'race %d: stop (%s)' % (i, text.strip()))
    body, tries = start_cli(t, cli, dest, conf, retry_for=30)
    total_tries += tries
    race_s = time.monotonic() - t_race
    st = wait_relay_live(t, relay, 0, 40, 'relay: the last start goes live')
    t.wait('nginx gets the last start', lambda: nginx_publishers(nginx).get(NAME) == 1, 20)
    time.sleep(2)
    stop_poll.set()
    th.join(5)
    r1 = refused(relay)
    h.log('RACE: %d start/stop cycles + a final start in %.1f s, %d start attempts '
          '(409 retries %d), %d of them stopped while live; relay polls %d, '
          'nginx polls %d, fences seen %s, refused %s -> %s, poll errors %d'
          % (RACE_N, race_s, total_tries, total_tries - RACE_N - 1, went_live,
             seen['relay_polls'], seen['nginx_polls'], seen['fences'], r0, r1,
             len(seen['errors'])))
    t.equal(seen['takeovers'], takeovers0, 'relay: no publisher replaced during the race')
    t.equal(r1['duplicate'], r0['duplicate'], 'relay: no second publisher refused as duplicate')
    t.equal(r1['stale_fence'], r0['stale_fence'], 'relay: no stale fence refused')
    t.check(seen['fences'] == sorted(seen['fences']), 'fences only go up', seen['fences'])
    t.check(seen['max_nginx'] <= 1, 'nginx never had two publishers (max %d)'
            % seen['max_nginx'])
    t.equal(len(relay.stream(NAME)['targets']), 1, 'relay push targets after the race')
    t.check(nginx.error_log().count('already publishing') == 0,
            'nginx never refused a second publisher', nginx.error_log()[-2000:])

    # ---- 4. relay restart: the scaler puts the push target back
    sid_last = body['id']
    s.wait_state(sid_last, 'live', 20)
    readded0 = h.metric(s.metrics(), 'stagecast_scaler_relay_targets_readded_total')
    t.equal(relay.stop(), 0, 'relay exit status after SIGTERM (restart)')
    t_down = time.monotonic()
    t.wait('nginx loses the publisher with the relay',
           lambda: nginx_publishers(nginx).get(NAME, 0) == 0, 15, interval=0.1)
    relay = h.Relay(t, name='relay2', args=['--secret-file', secret],
                    rtmp_port=relay.rtmp_port, http_port=relay.http_port).start()
    t_up = time.monotonic()
    wait_relay_live(t, relay, 0, 30, 'relay2: the capture publishes again')
    t_live = time.monotonic()
    t.wait('relay2: %s has its push target again' % NAME,
           lambda: len((relay.stream(NAME) or {}).get('targets', [])) == 1,
           RELAY_READD_BOUND + 10, interval=0.1)
    t_target = time.monotonic()
    t.wait('nginx shows the publisher again',
           lambda: nginx_publishers(nginx).get(NAME, 0) == 1, RELAY_READD_BOUND + 10,
           interval=0.1)
    t_nginx = time.monotonic()
    h.log('RELAY RESTART: relay down %.2f s; capture live again %.2f s after the new relay '
          'listened; push target back %.2f s after that, nginx has the publisher %.2f s '
          'after that'
          % (t_up - t_down, t_live - t_up, t_target - t_live, t_nginx - t_live))
    t.check(t_nginx - t_live <= RELAY_READD_BOUND,
            'target and nginx publisher back within %.0f s of the capture (%.2f s)'
            % (RELAY_READD_BOUND, t_nginx - t_live))
    t.wait('nginx receives media from relay2',
           lambda: nginx.stat().get(NAME, {}).get('bytes_in', 0) > 0, 10)
    ev = [e for e in s.events() if e['kind'] == 'relay-target-readded']
    h.log('relay-target-readded events: %s' % [(e['subject'], e['detail']) for e in ev])
    t.check(any(e['subject'] == sid_last for e in ev),
            'event relay-target-readded for %s' % sid_last)
    t.check(h.metric(s.metrics(), 'stagecast_scaler_relay_targets_readded_total')
            >= readded0 + 1, 'stagecast_scaler_relay_targets_readded_total went up')
    t.equal(len(relay.stream(NAME)['targets']), 1, 'one push target after the relay restart')

    # ---- 5. scaler restart: the target it never added is removed at the stop
    fence0 = relay.stream(NAME)['publisher']['fence']
    t.equal(s.stop(20), 0, 'scaler exit status after SIGTERM (restart)')
    t_stop = time.monotonic()
    s = sc.Scaler(t, name='scaler2', provider='local', lease='4s', secret=secret,
                  relay_api=relay.url(''), db=s.db, port=s.port, args=scaler_args).start()
    cli = Cli(s)
    h.log('scaler restarted in %.2f s' % (time.monotonic() - t_stop))
    s.wait_state(sid_last, 'live', 60)
    st = wait_relay_live(t, relay, 0, 30, 'relay: live under the new scaler')
    h.log('publisher fence %d before the scaler restart, %d after'
          % (fence0, st['publisher']['fence']))
    t.wait('the new scaler learned the push target of %s' % sid_last,
           lambda: 'of %s learned' % sid_last in s.proc.output(), 15)
    t.equal(len(relay.stream(NAME)['targets']), 1,
            'one push target under the new scaler (learned, not added twice)')
    code, _, text, _ = cli('stop', NAME)
    t.equal(code, 0, 'stagecast stop after the scaler restart (%s)' % text.strip())
    s.wait_state(sid_last, 'stopped', 20)
    t_stopped = time.monotonic()
    t.wait('relay: the push target of %s is removed' % NAME,
           lambda: (relay.stream(NAME) or {}).get('targets', []) == [], 15, interval=0.1)
    h.log('push target removed %.2f s after the stream stopped'
          % (time.monotonic() - t_stopped))
    ev = [e for e in s.events() if e['subject'] == sid_last and e['kind'].startswith('relay')]
    h.log('relay events of %s under the new scaler: %s'
          % (sid_last, [(e['kind'], e['detail']) for e in ev]))
    t.check(any(e['kind'] == 'relay-target-removed' for e in ev),
            'event relay-target-removed for %s' % sid_last)
    t.wait('nginx: no publisher for %s' % NAME,
           lambda: nginx_publishers(nginx).get(NAME, 0) == 0, 15, interval=0.1)

    # ---- the end: everything by PID
    cli('stop', NAME)
    t.equal(s.stop(20), 0, 'scaler exit status after SIGTERM')
    t.equal(relay.stop(), 0, 'relay exit status after SIGTERM')
    nginx.stop()
    conf.stop()

    # ---- 6. a removal that learns the target id (fake relay API)
    removal_learns_the_id(t, secret)


if __name__ == '__main__':
    h.run(main)
