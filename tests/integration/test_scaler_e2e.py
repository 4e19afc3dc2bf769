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
   the old token is refused by the relay while the new one keeps publishing.
3. The widget race: start/stop/start the same destination N times as fast
   as the API allows (every other cycle stops a capture that is publishing,
   the others stop it while it is still starting); the relay never has a publisher replaced or a second
   one refused, and nginx never shows two publishers for the name.
Root only (network namespace); exit 77 without Janus, GStreamer or nginx-rtmp.
"""

import json
import os
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
RACE_N = int(os.environ.get('SC_E2E_RACE_N', '10'))
FAILOVER_BOUND = 15.0


def binary(env, sub, name):
    exe = os.environ.get(env) or os.path.join(h.BUILD_DIR, sub, name)
    if not os.access(exe, os.X_OK):
        raise h.Skip('no %s at %s (set %s)' % (name, exe, env))
    return exe


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
    s = sc.Scaler(t, provider='local', lease='4s', secret=secret, relay_api=relay.url(''),
                  args=['--relay', 'rtmp://127.0.0.1:%d/live' % relay.rtmp_port,
                        '--agent-cmd', agent_exe, '--capture-cmd', capture_exe,
                        '--agent-arg=--bind-address', '--agent-arg=' + c.ICE_IP,
                        '--agent-arg=--capture-log-dir', '--agent-arg=' + cap_logs,
                        '--min', '2', '--spare', '1', '--scale-period', '1s']).start()
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
    time.sleep(3)
    r1 = refused(relay)
    h.log('refused after the old-token capture: %s (before %s)' % (r1, r0))
    t.check(r1['stale_fence'] + r1['duplicate'] > r0['stale_fence'] + r0['duplicate'],
            'refusals are stale_fence/duplicate')
    st = relay.stream(NAME)
    t.check(st['live'] and st['publisher']['fence'] == new_fence,
            'the new capture keeps publishing (fence %s)' % st['publisher']['fence'])
    t.equal(st['takeovers'], takeovers0, 'no takeover by the old token')
    old_code = old.returncode
    h.log('old-token capture: %s' % ('exited %d' % old_code if old_code is not None
                                     else 'still running (retrying its output)'))
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

    # ---- the end: everything by PID
    cli('stop', NAME)
    t.equal(s.stop(20), 0, 'scaler exit status after SIGTERM')
    t.equal(relay.stop(), 0, 'relay exit status after SIGTERM')
    nginx.stop()
    conf.stop()


if __name__ == '__main__':
    h.run(main)
