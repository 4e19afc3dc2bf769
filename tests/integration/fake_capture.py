#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""A stand-in for stagecast-capture in the agent's tests.

Takes the capture's command line (--conference, --output, --profile,
--layout, --bind-address, --status ADDR:PORT), records what happens to it
in $FAKE_CAPTURE_DIR/events.jsonl (one JSON object a line: start with the
argv and pid, sigterm, exit), and serves a tiny /v1/status on --status that
says {"output": {"connected": true}} once $FAKE_CAPTURE_CONNECT_AFTER
seconds (default 1) have passed.

Tests steer it with files in $FAKE_CAPTURE_DIR: NAME.exit holding an exit
code makes the capture called NAME (the last path segment of --output)
exit with that code at once (the file is removed first, so a restarted
capture runs normally).
"""

import http.server
import json
import os
import signal
import sys
import threading
import time
import urllib.parse

DIR = os.environ.get('FAKE_CAPTURE_DIR', '.')
CONNECT_AFTER = float(os.environ.get('FAKE_CAPTURE_CONNECT_AFTER', '1'))
T0 = time.monotonic()


def record(ev, **kw):
    kw.update(ev=ev, pid=os.getpid(), t=time.time())
    line = (json.dumps(kw) + '\n').encode()
    fd = os.open(os.path.join(DIR, 'events.jsonl'), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)


def arg(name):
    argv = sys.argv[1:]
    if name in argv:
        i = argv.index(name)
        if i + 1 < len(argv):
            return argv[i + 1]
    return None


class Status(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path != '/v1/status':
            self.send_error(404)
            return
        connected = time.monotonic() - T0 >= CONNECT_AFTER
        body = json.dumps({'conference': 'janus', 'output': {'connected': connected}}).encode()
        self.send_response(200)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt, *args):
        pass


def main():
    output = arg('--output') or ''
    name = urllib.parse.urlsplit(output).path.rsplit('/', 1)[-1] or 'unnamed'
    record('start', name=name, argv=sys.argv[1:])
    print('fake capture %s: pid %d, publishing to %s' % (name, os.getpid(), name), flush=True)

    stop = threading.Event()
    got = {}

    def on_term(signum, frame):
        got['sig'] = signum
        stop.set()

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)

    status = arg('--status')
    if status:
        host, port = status.rsplit(':', 1)
        srv = http.server.ThreadingHTTPServer((host, int(port)), Status)
        srv.daemon_threads = True
        threading.Thread(target=srv.serve_forever, daemon=True).start()

    exit_file = os.path.join(DIR, name + '.exit')
    while not stop.wait(0.05):
        try:
            with open(exit_file) as f:
                code = int(f.read().strip() or '1')
            os.unlink(exit_file)
        except (OSError, ValueError):
            continue
        record('exit', name=name, code=code, why='asked to')
        print('fake capture %s: exiting with %d' % (name, code), flush=True)
        os._exit(code)
    record('sigterm', name=name)
    print('fake capture %s: stopping on signal %d' % (name, got.get('sig', 0)), flush=True)
    record('exit', name=name, code=0, why='signal')
    os._exit(0)


if __name__ == '__main__':
    main()
