# SPDX-License-Identifier: Apache-2.0
"""A fake stagecast-scaler for the agent's and the CLI's tests.

An HTTP server on a loopback port, in a thread of the test process, that
speaks enough of the scaler's /v1 API (see /v1 in scaler/openapi.yaml):

  POST /v1/agent/heartbeat  records the body and answers
                            {lease_ms, assignments, stop, drain} from the
                            attributes of the same names
  GET/POST/DELETE /v1/streams..., GET /v1/instances, GET/PUT /v1/pool,
  POST /v1/instances/ID/drain
                            answer from canned data (streams, instances,
                            pool) and record the request

Every request lands in .requests as a Request (method, path, headers,
body, json). .down() closes the listening socket (clients get "connection
refused") and .up() opens it again on the same port. With token set, every
request must carry "Authorization: Bearer TOKEN" (else 401).

With heartbeat_status set to something other than 200 (503: a standby
replica), heartbeats are answered with that status and an error; their
arrival times land in .refused, and nothing in .heartbeats.
"""

import http.server
import json
import socket
import threading
import time


class Request:
    def __init__(self, method, path, headers, body):
        self.method = method
        self.path = path
        self.headers = headers
        self.body = body
        self.t = time.time()
        try:
            self.json = json.loads(body) if body else None
        except ValueError:
            self.json = None

    def header(self, name):
        for k, v in self.headers.items():
            if k.lower() == name.lower():
                return v
        return None


class FakeScaler:
    def __init__(self, port=None, lease_ms=3000, token=None):
        self.port = port or _free_port()
        self.url = 'http://127.0.0.1:%d' % self.port
        self.lease_ms = lease_ms
        self.token = token
        self.lock = threading.Lock()
        self.requests = []
        self.heartbeats = []  # (time the reply went out, request body)
        self.heartbeat_status = 200
        self.api_status = 200  # e.g. 503: every other /v1 call answered as a standby would
        self.refused = []  # times of heartbeats answered with heartbeat_status != 200
        self.assignments = []
        self.stop = []
        self.drain = False
        self.streams = []
        self.instances = []
        self.pool = {'min': 0, 'max': 10, 'spare': 1}
        self.next_id = 1
        self.idempotency = {}
        self.srv = None
        self.thread = None
        self.conns = set()
        self.is_down = True

    # ---- lifecycle

    def up(self):
        handler = _make_handler(self)
        http.server.ThreadingHTTPServer.allow_reuse_address = True
        self.srv = http.server.ThreadingHTTPServer(('127.0.0.1', self.port), handler)
        self.srv.daemon_threads = True
        self.thread = threading.Thread(target=self.srv.serve_forever, daemon=True)
        self.thread.start()
        self.is_down = False
        return self

    start = up

    def down(self):
        """Stop listening and cut every open (keep-alive) connection."""
        self.is_down = True
        with self.lock:
            conns = list(self.conns)
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if self.srv:
            self.srv.shutdown()
            self.srv.server_close()
            self.srv = None

    # ---- what tests look at

    def last_heartbeat(self):
        with self.lock:
            return self.heartbeats[-1] if self.heartbeats else (None, None)

    def heartbeats_since(self, t):
        with self.lock:
            return [b for (at, b) in self.heartbeats if at >= t]

    def heartbeat_times(self, since=0):
        with self.lock:
            return [at for (at, _) in self.heartbeats if at >= since]

    def refused_since(self, t):
        with self.lock:
            return [at for at in self.refused if at >= t]

    def reported(self, stream, since=0):
        """The states the agent reported for stream since time since."""
        out = []
        for body in self.heartbeats_since(since):
            for c in (body or {}).get('captures') or []:
                if c.get('stream') == stream:
                    out.append(c)
        return out

    def requests_to(self, method, prefix):
        with self.lock:
            return [r for r in self.requests if r.method == method and r.path.startswith(prefix)]

    # ---- answers

    def _answer(self, method, path, req):
        if self.token is not None and req.header('Authorization') != 'Bearer ' + self.token:
            return 401, {'error': 'missing or wrong bearer token'}
        if path == '/v1/agent/heartbeat' and method == 'POST':
            if not isinstance(req.json, dict) or 'instance' not in req.json:
                return 400, {'error': 'body must be a heartbeat'}
            with self.lock:
                if self.heartbeat_status != 200:
                    self.refused.append(time.time())
                    return self.heartbeat_status, {
                        'error': 'this scaler is standing by (another one leads); retry'}
                self.heartbeats.append((time.time(), req.json))
                return 200, {'lease_ms': self.lease_ms, 'assignments': list(self.assignments),
                             'stop': list(self.stop), 'drain': self.drain}
        if self.api_status != 200:
            return self.api_status, {
                'error': 'this scaler is standing by (another one leads); retry'}
        if path == '/v1/streams' and method == 'GET':
            return 200, {'streams': self.streams}
        if path == '/v1/streams' and method == 'POST':
            return self._start(req)
        if path.startswith('/v1/streams/'):
            sid = path[len('/v1/streams/'):]
            s = next((x for x in self.streams if x.get('id') == sid), None)
            if s is None:
                return 404, {'error': 'no stream %s' % sid}
            if method == 'GET':
                return 200, s
            if method == 'DELETE':
                if s['state'] in ('stopped', 'failed'):
                    return 200, {'id': sid, 'state': s['state']}
                s['state'] = 'stopping'
                return 202, {'id': sid, 'state': 'stopping'}
        if path == '/v1/instances' and method == 'GET':
            return 200, {'instances': self.instances}
        if path.startswith('/v1/instances/') and path.endswith('/drain') and method == 'POST':
            iid = path.split('/')[3]
            i = next((x for x in self.instances if x.get('id') == iid), None)
            if i is None:
                return 404, {'error': 'no instance %s' % iid}
            i['state'] = 'draining'
            return 200, i
        if path == '/v1/pool' and method == 'GET':
            return 200, self.pool
        if path == '/v1/pool' and method == 'PUT':
            b = req.json
            if not isinstance(b, dict) or set(b) - {'min', 'max', 'spare'}:
                return 400, {'error': 'want {min, max, spare}'}
            if b.get('min', 0) > b.get('max', 0):
                return 400, {'error': 'min must not be above max'}
            self.pool.update(b)
            return 200, self.pool
        return 404, {'error': 'not found: %s %s' % (method, path)}

    def _start(self, req):
        key = req.header('Idempotency-Key')
        if not key:
            return 400, {'error': 'the Idempotency-Key header is required'}
        b = req.json
        if not isinstance(b, dict):
            return 400, {'error': 'body is not valid JSON'}
        if key in self.idempotency:
            body, resp = self.idempotency[key]
            return (201, resp) if body == b else (422, {'error': 'key reused with another body'})
        for s in self.streams:
            if s['state'] not in ('stopped', 'failed') and not b.get('takeover') and (
                    s['name'] == b.get('name') or s.get('destination_key') == b.get('destination')):
                return 409, {'error': 'destination or name held by stream %s' % s['id'],
                             'holder': s['id']}
        sid = 'st-%016x' % self.next_id
        self.next_id += 1
        s = {'id': sid, 'name': b.get('name'), 'state': 'pending', 'fence': self.next_id,
             'conference': b.get('conference'), 'destination': 'rtmp://redacted/***',
             'destination_key': b.get('destination'), 'instance': '',
             'created_ms': int(time.time() * 1000), 'updated_ms': int(time.time() * 1000),
             'hls_url': 'http://127.0.0.1:8080/hls/%s/index.m3u8' % b.get('name'),
             'watch_url': 'http://127.0.0.1:8080/watch/%s' % b.get('name')}
        self.streams.append(s)
        resp = {k: s[k] for k in ('id', 'name', 'state', 'fence', 'hls_url', 'watch_url')}
        self.idempotency[key] = (b, resp)
        return 201, resp


def _make_handler(fake):
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = 'HTTP/1.1'

        def setup(self):
            super().setup()
            with fake.lock:
                fake.conns.add(self.connection)

        def finish(self):
            with fake.lock:
                fake.conns.discard(self.connection)
            super().finish()

        def _handle(self):
            if fake.is_down:
                self.close_connection = True
                return
            n = int(self.headers.get('Content-Length') or 0)
            body = self.rfile.read(n) if n else b''
            path = self.path.split('?', 1)[0]
            req = Request(self.command, path, dict(self.headers.items()), body)
            with fake.lock:
                fake.requests.append(req)
            status, obj = fake._answer(self.command, path, req)
            data = json.dumps(obj).encode()
            self.send_response(status)
            self.send_header('Content-Type', 'application/json')
            self.send_header('Content-Length', str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_DELETE = _handle

        def log_message(self, fmt, *args):
            pass

    return Handler


def _free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]
    finally:
        s.close()
