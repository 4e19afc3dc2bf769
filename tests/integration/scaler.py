# SPDX-License-Identifier: Apache-2.0
"""Helpers for black-box tests of stagecast-scaler.

    import harness as h
    import scaler as sc

    def main(t):
        tokens = sc.Tokens(t)
        s = sc.Scaler(t, tokens=tokens).start()
        r = s.start_stream('talk-1', 'rtmp://upstream.example/live/key1')
        agent = sc.FakeAgent(s, 'fake-1')
        reply = agent.beat()

The scaler runs with a temporary SQLite store, --provider none (unless
given), a short lease, and a secret file (so relay URLs carry tokens).
The binary comes from STAGECAST_SCALER, else SC_BUILD_DIR/scaler/.
A FakeAgent is the test posting heartbeats as an instance: it reports
what it was told to run, as a real agent would, without running anything.
"""

import json
import os
import secrets
import threading
import time

import harness as h

LOOPBACK = h.LOOPBACK
CONFERENCE = 'janus://127.0.0.1:8088/1234'


def scaler_binary():
    exe = os.environ.get('STAGECAST_SCALER') or os.path.join(h.BUILD_DIR, 'scaler',
                                                             'stagecast-scaler')
    if not os.access(exe, os.X_OK):
        raise h.Failure('scaler binary not found: %s (set STAGECAST_SCALER)' % exe)
    return exe


class Tokens:
    """A --tokens-file with one operator and one agent token."""

    def __init__(self, t, name='tokens'):
        self.operator = 'op-' + secrets.token_hex(16)
        self.agent = 'ag-' + secrets.token_hex(16)
        self.path = t.path('%s.txt' % name)
        with open(self.path, 'w') as f:
            f.write('# test tokens\noperator %s\nagent %s\n' % (self.operator, self.agent))


def write_secret(t, name='secret'):
    path = t.path('%s.txt' % name)
    with open(path, 'w') as f:
        f.write(secrets.token_hex(24) + '\n')
    return path


def token_fence(url):
    """The fence signed into a relay URL's ?token=FENCE.EXPIRY.SIG, or None."""
    if '?token=' not in url:
        return None
    return int(url.split('?token=', 1)[1].split('.', 1)[0])


class Scaler:
    """A stagecast-scaler on a free loopback port with its own SQLite store."""

    def __init__(self, t, args=(), name='scaler', tokens=None, db=None, provider='none',
                 lease='2s', secret=True, port=None, relay_api='', env=None):
        self.t = t
        self.name = name
        self.args = [str(a) for a in args]
        self.tokens = tokens
        self.db = db or t.path('%s.db' % name)
        self.provider = provider
        self.lease = lease
        self.secret = write_secret(t, name + '-secret') if secret is True else secret
        self.port = port or h.free_port()
        self.relay_api = relay_api
        self.env = env
        self.proc = None
        self.exe = scaler_binary()

    def argv(self):
        argv = [self.exe, '--api', '%s:%d' % (LOOPBACK, self.port),
                '--store', 'sqlite:' + self.db, '--provider', self.provider,
                '--lease', self.lease, '--relay-api', self.relay_api,
                '--log-level', 'debug']
        if self.tokens:
            argv += ['--tokens-file', self.tokens.path]
        if self.secret:
            argv += ['--secret-file', self.secret]
        return argv + self.args

    def start(self, timeout=10):
        self.proc = h.Proc(self.t, self.name, self.argv(), env=self.env)
        self.proc.must_live = True
        h.wait_for_port(self.port, timeout, self.proc)
        self.t.wait('%s ready' % self.name,
                    lambda: self.get('/readyz', token=False).status == 200, timeout)
        h.log('%s up on %d' % (self.name, self.port))
        return self

    def stop(self, timeout=20):
        self.proc.must_live = False
        return self.proc.stop(timeout)

    def url(self, path):
        return 'http://%s:%d%s' % (LOOPBACK, self.port, path)

    # ---- calls

    def call(self, method, path, body=None, token=None, headers=None, timeout=10):
        """token None: the operator token (if any); False: none; else that token."""
        hdrs = dict(headers or {})
        if token is None and self.tokens:
            token = self.tokens.operator
        if token:
            hdrs['Authorization'] = 'Bearer %s' % token
        return h.http(method, self.url(path), body=body, headers=hdrs, timeout=timeout)

    def get(self, path, **kw):
        return self.call('GET', path, **kw)

    def start_stream(self, name, destination, conference=CONFERENCE, key=None,
                     takeover=None, token=None, extra=None):
        body = {'name': name, 'conference': conference, 'destination': destination}
        if takeover is not None:
            body['takeover'] = takeover
        body.update(extra or {})
        key = key or secrets.token_hex(8)
        return self.call('POST', '/v1/streams', body, token=token,
                         headers={'Idempotency-Key': key})

    def stop_stream(self, sid, token=None):
        return self.call('DELETE', '/v1/streams/%s' % sid, token=token)

    def heartbeat(self, instance, captures=(), slots=1, token=None):
        if token is None and self.tokens:
            token = self.tokens.agent
        body = {'instance': instance, 'slots': slots, 'captures': list(captures)}
        return self.call('POST', '/v1/agent/heartbeat', body, token=token or False)

    def streams(self):
        r = self.get('/v1/streams')
        if r.status != 200:
            raise h.Failure('GET /v1/streams: %d %s' % (r.status, r.text))
        return r.json()['streams']

    def stream(self, sid):
        r = self.get('/v1/streams/%s' % sid)
        if r.status != 200:
            raise h.Failure('GET /v1/streams/%s: %d %s' % (sid, r.status, r.text))
        return r.json()

    def instances(self):
        r = self.get('/v1/instances')
        if r.status != 200:
            raise h.Failure('GET /v1/instances: %d %s' % (r.status, r.text))
        return {i['id']: i for i in r.json()['instances']}

    def events(self, limit=1000):
        return self.get('/v1/events?limit=%d' % limit).json()['events']

    def metrics(self):
        return h.parse_metrics(self.get('/metrics').text)

    def wait_state(self, sid, state, timeout=10):
        return self.t.wait('stream %s %s' % (sid, state),
                           lambda: self.stream(sid)['state'] == state and self.stream(sid),
                           timeout, interval=0.1)


class FakeAgent:
    """Heartbeats as an instance; runs what it is told, on paper.

    Assignments become captures in state `live` (or `capture_state`); a stop
    makes a capture `stopped`, reported once, then forgotten. With
    background=True a thread heartbeats every `interval` seconds.
    """

    def __init__(self, scaler, instance, slots=1, capture_state='live'):
        self.s = scaler
        self.instance = instance
        self.slots = slots
        self.capture_state = capture_state
        self.caps = {}  # stream id -> {stream, fence, state, reason}
        self.assignments = {}  # stream id -> assignment of the last reply
        self.replies = []
        self.drain = False
        self.lock = threading.Lock()
        self._thread = None
        self._stop = threading.Event()
        self.errors = []

    def beat(self):
        with self.lock:
            report = list(self.caps.values())
            r = self.s.heartbeat(self.instance, report, slots=self.slots)
            if r.status != 200:
                raise h.Failure('heartbeat %s: %d %s' % (self.instance, r.status, r.text))
            reply = r.json()
            self.replies.append(reply)
            for c in report:  # terminal states are reported once
                if c['state'] in ('stopped', 'failed'):
                    self.caps.pop(c['stream'], None)
            for sid in reply['stop']:
                c = self.caps.get(sid)
                if c is not None:
                    c['state'] = 'stopped'
                    c['reason'] = 'stopped on request'
            self.assignments = {a['stream']: a for a in reply['assignments']}
            for a in reply['assignments']:
                c = self.caps.get(a['stream'])
                if c is None or c['fence'] < a['fence']:
                    self.caps[a['stream']] = {'stream': a['stream'], 'fence': a['fence'],
                                              'state': self.capture_state, 'reason': ''}
            self.drain = reply['drain']
            return reply

    def set_state(self, sid, state, reason=''):
        with self.lock:
            self.caps[sid]['state'] = state
            self.caps[sid]['reason'] = reason

    def start(self, interval=0.3):
        def loop():
            while not self._stop.is_set():
                try:
                    self.beat()
                except Exception as e:  # noqa: BLE001 - kept for the test to see
                    self.errors.append(e)
                self._stop.wait(interval)
        self._thread = threading.Thread(target=loop, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self._stop.set()
        if self._thread:
            self._thread.join(5)


def dump(v):
    return json.dumps(v, indent=1, sort_keys=True)
