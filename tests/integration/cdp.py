# SPDX-License-Identifier: Apache-2.0
"""Headless Chromium driven over the DevTools protocol, stdlib only.

A minimal WebSocket client (RFC 6455: HTTP upgrade, masked client frames,
fragmented and 64-bit-length server frames, ping/pong, close) carries CDP
JSON messages. Only 127.0.0.1.
"""

import base64
import json
import os
import socket
import struct
import time

import harness as h


class WebSocket:
    def __init__(self, url, timeout=10):
        if not url.startswith('ws://'):
            raise ValueError('only ws:// URLs: %s' % url)
        hostport, _, path = url[5:].partition('/')
        host, _, port = hostport.rpartition(':')
        if host not in (h.LOOPBACK, 'localhost'):
            raise ValueError('refusing non-loopback DevTools host %s' % host)
        self.sock = socket.create_connection((h.LOOPBACK, int(port)), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        req = ('GET /%s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n'
               'Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n'
               % (path, hostport, key))
        self.sock.sendall(req.encode())
        self.buf = b''
        while b'\r\n\r\n' not in self.buf:
            self._fill(timeout)
            if len(self.buf) > 65536:
                raise ValueError('oversized WebSocket handshake response')
        head, _, self.buf = self.buf.partition(b'\r\n\r\n')
        status = head.split(b'\r\n', 1)[0]
        if b' 101 ' not in status + b' ':
            raise ValueError('WebSocket upgrade refused: %r' % status)

    def _fill(self, timeout):
        self.sock.settimeout(max(timeout, 0.01))
        data = self.sock.recv(1 << 20)
        if not data:
            raise ConnectionError('DevTools connection closed')
        self.buf += data

    def _take(self, n, deadline):
        while len(self.buf) < n:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError('WebSocket read timed out')
            self._fill(left)
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def send(self, text, opcode=1):
        payload = text.encode() if isinstance(text, str) else text
        n = len(payload)
        if n < 126:
            hdr = struct.pack('!BB', 0x80 | opcode, 0x80 | n)
        elif n < 65536:
            hdr = struct.pack('!BBH', 0x80 | opcode, 0x80 | 126, n)
        else:
            hdr = struct.pack('!BBQ', 0x80 | opcode, 0x80 | 127, n)
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i & 3] for i, b in enumerate(payload))
        self.sock.sendall(hdr + mask + masked)

    def recv(self, timeout):
        """One whole text message, or raises TimeoutError."""
        deadline = time.monotonic() + timeout
        parts = []
        while True:
            b0, b1 = self._take(2, deadline)
            fin, opcode, n = b0 & 0x80, b0 & 0x0f, b1 & 0x7f
            if n == 126:
                n = struct.unpack('!H', self._take(2, deadline))[0]
            elif n == 127:
                n = struct.unpack('!Q', self._take(8, deadline))[0]
            if n > 256 << 20:
                raise ValueError('oversized WebSocket frame')
            mask = self._take(4, deadline) if b1 & 0x80 else None
            payload = self._take(n, deadline)
            if mask:
                payload = bytes(b ^ mask[i & 3] for i, b in enumerate(payload))
            if opcode == 8:
                raise ConnectionError('DevTools closed the WebSocket')
            if opcode == 9:
                self.send(payload, opcode=10)
                continue
            if opcode == 10:
                continue
            parts.append(payload)
            if fin:
                return b''.join(parts).decode('utf-8', 'replace')

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


class Chromium:
    """A headless Chromium with one page, controlled over CDP."""

    def __init__(self, t, name='chromium'):
        self.t = t
        self.exe = None
        for cand in ('chromium', 'chromium-browser', 'google-chrome'):
            try:
                self.exe = h.which(cand)
                break
            except h.Skip:
                pass
        if not self.exe:
            raise h.Skip('chromium not found')
        self.name = name
        self.port = h.free_port()
        self.proc = None
        self.ws = None
        self.next_id = 0
        self.events = []

    def start(self, timeout=30):
        profile = self.t.path('%s-profile' % self.name)
        os.makedirs(profile, exist_ok=True)
        argv = [self.exe, '--headless=new', '--no-sandbox', '--disable-gpu',
                '--disable-background-networking', '--disable-component-update',
                '--disable-sync', '--no-first-run', '--no-default-browser-check',
                '--disable-extensions', '--disable-default-apps', '--mute-audio',
                '--disable-dev-shm-usage', '--password-store=basic',
                '--use-mock-keychain', '--metrics-recording-only',
                '--disable-features=Translate,MediaRouter,OptimizationHints',
                '--user-data-dir=%s' % profile,
                '--remote-debugging-address=127.0.0.1',
                '--remote-debugging-port=%d' % self.port, 'about:blank']
        self.proc = h.Proc(self.t, self.name, argv, env={'HOME': profile})
        self.proc.must_live = True
        url = self.t.wait('chromium DevTools endpoint', self._page_ws_url, timeout, 0.2)
        self.ws = WebSocket(url)
        return self

    def _page_ws_url(self):
        r = h.http_get('http://%s:%d/json/list' % (h.LOOPBACK, self.port), timeout=2)
        if r.status != 200:
            return None
        for target in r.json():
            if target.get('type') == 'page' and target.get('webSocketDebuggerUrl'):
                return target['webSocketDebuggerUrl']
        return None

    def call(self, method, params=None, timeout=15):
        self.next_id += 1
        mid = self.next_id
        self.ws.send(json.dumps({'id': mid, 'method': method, 'params': params or {}}))
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise h.Failure('CDP %s timed out' % method)
            msg = json.loads(self.ws.recv(left))
            if msg.get('id') == mid:
                if 'error' in msg:
                    raise h.Failure('CDP %s: %s' % (method, msg['error']))
                return msg.get('result', {})
            if 'method' in msg:
                self.events.append(msg)
                if len(self.events) > 10000:
                    del self.events[:5000]

    def pump(self, seconds):
        """Collect events for a while."""
        deadline = time.monotonic() + seconds
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            try:
                msg = json.loads(self.ws.recv(left))
            except (TimeoutError, socket.timeout):
                return
            if 'method' in msg:
                self.events.append(msg)

    def evaluate(self, expr, timeout=15):
        """The value of a JavaScript expression (promises awaited)."""
        r = self.call('Runtime.evaluate', {'expression': expr, 'returnByValue': True,
                                           'awaitPromise': True}, timeout)
        if 'exceptionDetails' in r:
            d = r['exceptionDetails']
            raise h.Failure('JS exception in %r: %s' % (
                expr[:80], d.get('exception', {}).get('description') or d.get('text')))
        return r.get('result', {}).get('value')

    def navigate(self, url, timeout=20):
        self.call('Page.enable')
        self.call('Network.enable')
        self.call('Runtime.enable')
        r = self.call('Page.navigate', {'url': url}, timeout)
        if r.get('errorText'):
            raise h.Failure('navigating to %s: %s' % (url, r['errorText']))
        self.t.wait('page %s loaded' % url,
                    lambda: self.evaluate('document.readyState') == 'complete', timeout)

    def screenshot(self, path):
        r = self.call('Page.captureScreenshot', {'format': 'png'}, 20)
        with open(path, 'wb') as f:
            f.write(base64.b64decode(r['data']))
        return path

    def requested_urls(self):
        return [e['params']['request']['url'] for e in self.events
                if e.get('method') == 'Network.requestWillBeSent']

    def console(self):
        out = []
        for e in self.events:
            if e.get('method') == 'Runtime.consoleAPICalled':
                args = e['params'].get('args', [])
                out.append(' '.join(str(a.get('value', a.get('description', ''))) for a in args))
            elif e.get('method') == 'Runtime.exceptionThrown':
                out.append('exception: %s' % e['params']['exceptionDetails'].get('text'))
        return out

    def stop(self):
        if self.ws:
            try:
                self.call('Browser.close', timeout=3)
            except Exception:
                pass
            self.ws.close()
            self.ws = None
        if self.proc:
            self.proc.must_live = False
            self.proc.stop(5)
