#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The stagecast CLI against a fake scaler (fake_scaler.py).

 - ls and instances: readable tables, and the API's JSON with --json;
 - start: the JSON body, an Idempotency-Key header (random, or the one
   given, which makes a retry return the same stream), --takeover, a 409
   that names the holder and says what to do;
 - stop NAME: finds the stream's id and DELETEs it; an unknown name fails;
 - pool shows and changes {min, max, spare}; drain ID;
 - bearer token from --token-file; a 401 tells how to pass one;
 - the scaler down: "the scaler at URL is not running: start it with
   `stagecast up`", exit 3; usage errors exit 2;
 - --scaler A,B,C: a replica that is down or standing by (503) passes the
   call to the next;
 - up, with stand-in relay and scaler programs in --bin-dir: their command
   lines, the banner, SIGTERM stops both (scaler first) and up exits 0; a
   child that dies takes up down with exit 1.
"""

import json
import os
import re
import signal
import stat
import sys
import time

import harness as h

sys.path.insert(0, h.HERE)
import fake_scaler  # noqa: E402

TOKEN = 'operator-token-for-tests'


def cli_binary():
    exe = os.environ.get('STAGECAST_CLI') or os.path.join(h.BUILD_DIR, 'scaler', 'stagecast')
    if not os.access(exe, os.X_OK):
        raise h.Failure('CLI binary not found: %s (set STAGECAST_CLI)' % exe)
    return exe


def cli(*args, timeout=20):
    return h.run_tool([cli_binary()] + list(args), timeout=timeout)


def now_ms():
    return int(time.time() * 1000)


def check_tables(t, fake, sc):
    code, out, err = cli('ls', *sc)
    t.equal(code, 0, 'ls exit status')
    lines = out.splitlines()
    t.check(re.match(r'NAME\s+STATE\s+INSTANCE\s+FENCE\s+AGE\s+ID\s+DESTINATION$', lines[0]),
            'ls header', lines[0])
    t.equal(len(lines), 3, 'ls lines')
    t.check(re.match(r'k1-janson\s+live\s+local-1\s+7\s+\d+s\s+st-0000000000000001\s+'
                     r'rtmp://ingest.example/live/\*\*\*$', lines[1]), 'ls row', lines[1])
    t.check(re.match(r'k2-other\s+pending\s+-\s+3\s', lines[2]), 'ls row without instance',
            lines[2])
    code, out, _ = cli('ls', '--json', *sc)
    t.equal((code, json.loads(out)), (0, {'streams': fake.streams}), 'ls --json')

    code, out, _ = cli('instances', *sc)
    lines = out.splitlines()
    t.equal(code, 0, 'instances exit status')
    t.check(re.match(r'ID\s+STATE\s+SLOTS\s+HEARTBEAT\s+PROTECTED$', lines[0]),
            'instances header', lines[0])
    t.check(re.match(r'local-1\s+busy\s+1/2\s+\ds ago\s+yes$', lines[1]), 'instances row',
            lines[1])
    code, out, _ = cli('instances', '--json', *sc)
    t.equal((code, json.loads(out)), (0, {'instances': fake.instances}), 'instances --json')

    fake.streams, saved = [], fake.streams
    code, out, _ = cli('ls', *sc)
    t.check(code == 0 and 'stagecast start' in out, 'an empty ls says how to start', out)
    fake.streams = saved


def check_start(t, fake, sc):
    n = len(fake.requests_to('POST', '/v1/streams'))
    code, out, err = cli('start', 'k3-new', '--conference', 'janus://10.0.0.1:8088/1234',
                         '--to', 'rtmp://ingest.example/live/SECRETKEY', '--profile', '360p15',
                         '--layout', 'speaker', *sc)
    t.equal(code, 0, 'start exit status')
    req = fake.requests_to('POST', '/v1/streams')[n]
    t.equal(req.json, {'name': 'k3-new', 'conference': 'janus://10.0.0.1:8088/1234',
                       'destination': 'rtmp://ingest.example/live/SECRETKEY',
                       'profile': '360p15', 'layout': 'speaker'}, 'start body')
    t.check(re.fullmatch(r'[0-9a-f]{32}', req.header('Idempotency-Key') or ''),
            'a random Idempotency-Key', req.header('Idempotency-Key'))
    t.equal(req.header('Content-Type'), 'application/json', 'Content-Type')
    t.check('started k3-new' in out and 'http://127.0.0.1:8080/watch/k3-new' in out,
            'start says where to watch', out)

    # The same key twice: the scaler replays, the CLI shows the same stream.
    args = ('start', 'k4-retry', '--conference', 'janus://10.0.0.1:8088/1',
            '--to', 'rtmp://ingest.example/live/k4', '--idempotency-key', 'key-42', '--json')
    c1, o1, _ = cli(*args, *sc)
    c2, o2, _ = cli(*args, *sc)
    t.check(c1 == 0 and c2 == 0 and json.loads(o1)['id'] == json.loads(o2)['id'],
            'a retry with the same key returns the same stream', (o1, o2))
    reqs = fake.requests_to('POST', '/v1/streams')[-2:]
    t.equal([r.header('Idempotency-Key') for r in reqs], ['key-42', 'key-42'],
            'the given Idempotency-Key is sent')

    # A conflict names the holder and says what to do.
    code, out, err = cli('start', 'k3-new', '--conference', 'janus://10.0.0.1:8088/1234',
                         '--to', 'rtmp://ingest.example/live/SECRETKEY', *sc)
    holder = fake.streams[-2]['id']
    t.equal(code, 1, 'conflicting start exit status')
    t.check(holder in err and '--takeover' in err and 'stagecast stop' in err,
            'the conflict message names the holder and the way out', err)
    t.check('SECRETKEY' not in err, 'no stream key in the message', err)
    code, out, err = cli('start', 'k3-new', '--conference', 'janus://10.0.0.1:8088/1234',
                         '--to', 'rtmp://ingest.example/live/SECRETKEY', '--takeover', *sc)
    t.equal((code, fake.requests_to('POST', '/v1/streams')[-1].json.get('takeover')), (0, True),
            'start --takeover')

    code, _, err = cli('start', 'k5', '--conference', 'janus://h:8088/1', *sc)
    t.check(code == 2 and '--to' in err, 'start without --to is a usage error', err)


def check_stop_pool(t, fake, sc):
    code, out, err = cli('stop', 'k1-janson', *sc)
    t.equal(code, 0, 'stop exit status')
    t.equal(fake.requests_to('DELETE', '/v1/streams/')[-1].path,
            '/v1/streams/st-0000000000000001', 'stop DELETEs the stream by id')
    t.check('stopping k1-janson' in out, 'stop says what happens', out)
    code, out, err = cli('stop', 'nope', *sc)
    t.check(code == 1 and 'no stream named nope' in err and 'stagecast ls' in err,
            'stop of an unknown name', (code, err))

    code, out, _ = cli('pool', *sc)
    t.equal((code, out.strip()), (0, 'pool: min 0, max 10, spare 1'), 'pool')
    code, out, _ = cli('pool', '--spare', '3', *sc)
    t.equal(fake.requests_to('PUT', '/v1/pool')[-1].json, {'min': 0, 'max': 10, 'spare': 3},
            'pool --spare PUTs the whole pool')
    t.equal((code, out.strip()), (0, 'pool: min 0, max 10, spare 3'), 'pool after the change')
    code, _, err = cli('pool', '--min', '20', *sc)
    t.check(code == 1 and 'min must not be above max' in err, 'a refused pool change', err)
    code, _, err = cli('pool', '--spare', 'lots', *sc)
    t.check(code == 2 and '--spare' in err, 'a bad count is a usage error', err)

    code, out, _ = cli('drain', 'local-1', *sc)
    t.check(code == 0 and 'draining local-1' in out, 'drain', out)
    code, _, err = cli('drain', 'local-9', *sc)
    t.check(code == 1 and 'stagecast instances' in err, 'drain of an unknown instance', err)


def check_errors(t, fake, token_file):
    code, _, err = cli('ls', '--scaler', fake.url)
    t.check(code == 1 and '--token-file' in err, 'a 401 says to pass --token-file', err)
    port = h.free_port()
    down = 'http://127.0.0.1:%d' % port
    code, _, err = cli('ls', '--scaler', down)
    t.equal(code, 3, 'exit status with the scaler down')
    t.check('the scaler at %s is not running: start it with `stagecast up`' % down in err,
            'the message says what to do', err)
    code, _, err = cli('start', 'x', '--conference', 'janus://h:1/1', '--to', 'rtmp://h/a/b',
                       '--scaler', down)
    t.equal(code, 3, 'start with the scaler down')
    for args, what in [((), 'no command'), (('frob',), 'unknown command'),
                       (('ls', '--frob'), 'unknown option'), (('stop',), 'stop without a name'),
                       (('ls', 'extra'), 'an extra argument'), (('ls', '--scaler'),
                                                                'a flag without its value')]:
        code, _, err = cli(*args)
        t.check(code == 2 and err.startswith('stagecast: '), 'usage error: %s' % what,
                (code, err))
    code, out, _ = cli('--help')
    t.check(code == 0 and 'start NAME' in out, '--help')


def check_replicas(t, fake, token_file):
    """--scaler A,B,C: one that is down or standing by passes the call on."""
    standby = fake_scaler.FakeScaler(token=TOKEN).up()
    standby.api_status = 503
    down = 'http://127.0.0.1:%d' % h.free_port()
    try:
        both = '%s,%s,%s' % (down, standby.url, fake.url)
        code, out, err = cli('ls', '--scaler', both, '--token-file', token_file)
        t.check(code == 0 and 'k1-janson' in out, 'ls through a down and a standby replica',
                (code, err))
        n_standby, n_fake = len(standby.requests), len(fake.requests)
        code, out, err = cli('start', 'k9-replica', '--conference', 'janus://h:1/1', '--to',
                             'rtmp://replica.example/live/k9', '--scaler', both,
                             '--token-file', token_file, '--json')
        t.check(code == 0 and json.loads(out).get('name') == 'k9-replica',
                'start through the replicas', (code, out, err))
        t.equal(len(standby.requests) - n_standby, 1, 'the standby was asked once')
        posts = [r for r in fake.requests[n_fake:] if r.method == 'POST']
        t.equal(len(posts), 1, 'the leader got the start once')
        code, _, err = cli('ls', '--scaler', '%s,%s' % (down, standby.url),
                           '--token-file', token_file)
        t.check(code == 1 and 'standing by' in err, 'no leader among them: the standby\'s '
                'message, exit 1', (code, err))
    finally:
        standby.down()


FAKE_DAEMON = r'''#!/usr/bin/env python3
import http.server, json, os, signal, sys, threading, time
log = os.path.join(os.environ['FAKE_UP_DIR'], os.path.basename(sys.argv[0]) + '.jsonl')
def rec(ev, **kw):
    kw.update(ev=ev, t=time.time())
    with open(log, 'a') as f:
        f.write(json.dumps(kw) + '\n')
rec('start', argv=sys.argv[1:], pid=os.getpid())
a = sys.argv[1:]
addr = a[a.index('--http') + 1] if '--http' in a else a[a.index('--api') + 1]
host, port = addr.rsplit(':', 1)
class H(http.server.BaseHTTPRequestHandler):
    def do_HEAD(self):
        self.send_response(200 if self.path == '/healthz' else 404)
        self.send_header('Content-Length', '0')
        self.end_headers()
    do_GET = do_HEAD
    def log_message(self, *args):
        pass
srv = http.server.ThreadingHTTPServer((host, int(port)), H)
threading.Thread(target=srv.serve_forever, daemon=True).start()
ev = threading.Event()
signal.signal(signal.SIGTERM, lambda *a: ev.set())
while not ev.wait(0.1):
    if os.path.exists(log + '.die'):
        rec('die')
        os._exit(5)
rec('sigterm')
sys.exit(0)
'''


def check_up(t):
    bindir = t.path('bin')
    os.mkdir(bindir)
    for name in ('stagecast-relay', 'stagecast-scaler', 'stagecast-agent', 'stagecast-capture'):
        p = os.path.join(bindir, name)
        with open(p, 'w') as f:
            f.write(FAKE_DAEMON if name in ('stagecast-relay', 'stagecast-scaler')
                    else '#!/bin/sh\nexit 0\n')
        os.chmod(p, os.stat(p).st_mode | stat.S_IXUSR)
    up_dir = t.path('up')
    os.mkdir(up_dir)
    state = t.path('state')
    rtmp, http_, api = h.free_port(), h.free_port(), h.free_port()

    def events(name):
        try:
            with open(os.path.join(up_dir, name + '.jsonl')) as f:
                return [json.loads(x) for x in f if x.strip()]
        except FileNotFoundError:
            return []

    def run_up():
        return h.Proc(t, 'up', [cli_binary(), 'up', '--bin-dir', bindir, '--state-dir', state,
                                '--rtmp', '127.0.0.1:%d' % rtmp, '--http', '127.0.0.1:%d' % http_,
                                '--api', '127.0.0.1:%d' % api, '--spare', '2'],
                      env={'FAKE_UP_DIR': up_dir})

    up = run_up()
    t.wait('up prints its banner', lambda: 'Ctrl-C stops everything' in up.output(), 15)
    out = up.output()
    t.check('http://127.0.0.1:%d/watch/NAME' % http_ in out and
            'rtmp://127.0.0.1:%d/live/NAME' % rtmp in out, 'the banner says where to watch', out)
    relay_argv = events('stagecast-relay')[0]['argv']
    t.equal(relay_argv, ['--rtmp', '127.0.0.1:%d' % rtmp, '--http', '127.0.0.1:%d' % http_,
                         '--hls-dir', state + '/hls', '--secret-file', state + '/secret'],
            'relay argv')
    scaler_argv = events('stagecast-scaler')[0]['argv']
    t.equal(scaler_argv, ['--api', '127.0.0.1:%d' % api, '--store',
                          'sqlite:%s/scaler.db' % state, '--provider', 'local', '--agent-cmd',
                          bindir + '/stagecast-agent', '--capture-cmd',
                          bindir + '/stagecast-capture', '--relay',
                          'rtmp://127.0.0.1:%d/live' % rtmp, '--relay-api',
                          'http://127.0.0.1:%d' % http_, '--secret-file', state + '/secret',
                          '--spare', '2'], 'scaler argv')
    t.check(os.stat(state + '/secret').st_mode & 0o077 == 0, 'the secret is private')

    # A second `up` on the same ports refuses with a clear message.
    code, _, err = h.run_tool([cli_binary(), 'up', '--bin-dir', bindir, '--state-dir', state,
                               '--http', '127.0.0.1:%d' % http_], timeout=10)
    t.check(code == 1 and 'already in use' in err and '--http' in err,
            'a busy port is named with the flag to change', err)

    up.send_signal(signal.SIGTERM)
    t.equal(up.wait(15), 0, 'up exit status after SIGTERM')
    s_term = [e for e in events('stagecast-scaler') if e['ev'] == 'sigterm']
    r_term = [e for e in events('stagecast-relay') if e['ev'] == 'sigterm']
    t.check(s_term and r_term and s_term[0]['t'] <= r_term[0]['t'],
            'both got SIGTERM, the scaler first')

    # A child that dies takes the appliance down.
    up = run_up()
    t.wait('up again', lambda: 'Ctrl-C stops everything' in up.output(), 15)
    open(os.path.join(up_dir, 'stagecast-relay.jsonl.die'), 'w').close()
    t.equal(up.wait(15), 1, 'up exit status when the relay dies')
    t.check('stagecast-relay exited (exit status 5)' in up.output(), 'up says which one died',
            up.tail(5))
    t.equal(len([e for e in events('stagecast-scaler') if e['ev'] == 'sigterm']), 2,
            'the scaler was stopped too')


def main(t):
    fake = fake_scaler.FakeScaler(token=TOKEN).up()
    token_file = t.path('operator.token')
    with open(token_file, 'w') as f:
        f.write(TOKEN + '\n')
    sc = ('--scaler', fake.url, '--token-file', token_file)
    fake.streams = [
        {'id': 'st-0000000000000001', 'name': 'k1-janson', 'state': 'live',
         'instance': 'local-1', 'fence': 7, 'destination': 'rtmp://ingest.example/live/***',
         'destination_key': 'rtmp://ingest.example/live/SECRET1',
         'created_ms': now_ms() - 60000, 'updated_ms': now_ms() - 5000},
        {'id': 'st-0000000000000002', 'name': 'k2-other', 'state': 'pending', 'instance': '',
         'fence': 3, 'destination': 'rtmp://other.example/app/***',
         'created_ms': now_ms(), 'updated_ms': now_ms()},
    ]
    fake.next_id = 10
    fake.instances = [{'id': 'local-1', 'state': 'busy', 'slots': 2, 'used': 1,
                       'last_heartbeat_ms': now_ms() - 1000, 'protected': True}]
    check_tables(t, fake, sc)
    check_start(t, fake, sc)
    check_stop_pool(t, fake, sc)
    t.check(all(r.header('Authorization') == 'Bearer ' + TOKEN for r in fake.requests),
            'every call carries the token')
    check_errors(t, fake, token_file)
    check_replicas(t, fake, token_file)
    check_up(t)


h.run(main)
