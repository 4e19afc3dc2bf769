#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Bad input and bad peers must not hurt anyone else.

Raw sockets send garbage, a truncated handshake, an absurd chunk size, an
oversize message length and a malformed AMF0 connect: each connection is
closed, the relay stays up, and a publisher running meanwhile is unaffected
(its HLS keeps advancing). Then slow targets: a TCP server that accepts and
never reads, and a real nginx frozen with SIGSTOP after the push started
(so its socket fills up): the other nginx target and HLS are unaffected and
/v1 shows drops rising on the frozen one.
"""

import os
import signal
import socket
import struct
import threading
import time

import harness as h

NAME = 'k1-faults'


def connect(relay):
    s = socket.create_connection((h.LOOPBACK, relay.rtmp_port), timeout=5)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def handshake(s):
    """Plain RTMP handshake: C0 C1, read S0 S1 S2, send C2."""
    c1 = struct.pack('>II', 0, 0) + os.urandom(1528)
    s.sendall(b'\x03' + c1)
    got = b''
    deadline = time.monotonic() + 5
    while len(got) < 1 + 1536 * 2 and time.monotonic() < deadline:
        d = s.recv(8192)
        if not d:
            raise h.Failure('relay closed during a valid handshake')
        got += d
    if len(got) < 1 + 1536 * 2 or got[0] != 3:
        raise h.Failure('bad S0/S1/S2 (%d bytes)' % len(got))
    s.sendall(got[1:1 + 1536])  # C2 echoes S1


def chunk0(csid, msg_type, payload, stream_id=0, length=None):
    """One type-0 chunk header + payload (no splitting; caller keeps it small)."""
    n = len(payload) if length is None else length
    return (bytes([csid & 0x3f]) + struct.pack('>I', 0)[1:] + struct.pack('>I', n)[1:]
            + bytes([msg_type]) + struct.pack('<I', stream_id) + payload)


def amf_str(s):
    b = s.encode()
    return b'\x02' + struct.pack('>H', len(b)) + b


def amf_num(x):
    return b'\x00' + struct.pack('>d', x)


def closed_by_relay(s, timeout=10, keep_sending=None):
    """True if the relay closes the connection within timeout s."""
    deadline = time.monotonic() + timeout
    s.settimeout(0.2)
    while time.monotonic() < deadline:
        try:
            if keep_sending is not None:
                s.sendall(keep_sending)
            d = s.recv(65536)
            if not d:
                return True
        except socket.timeout:
            continue
        except (ConnectionResetError, BrokenPipeError):
            return True
    return False


def case_garbage(relay):
    s = connect(relay)
    s.sendall(b'GET / HTTP/1.1\r\nHost: x\r\n\r\n' + os.urandom(4000))
    return s, None


def case_truncated_handshake(relay):
    s = connect(relay)
    s.sendall(b'\x03' + os.urandom(700))
    s.shutdown(socket.SHUT_WR)
    return s, None


def case_chunk_size_zero(relay):
    s = connect(relay)
    handshake(s)
    s.sendall(chunk0(2, 1, struct.pack('>I', 0)))
    return s, None


def case_chunk_size_absurd(relay):
    s = connect(relay)
    handshake(s)
    s.sendall(chunk0(2, 1, struct.pack('>I', 0xFFFFFFFF)))
    return s, None


def case_oversize_message(relay):
    s = connect(relay)
    handshake(s)
    # 16 MiB - 1 AMF0 command: more than any sane limit; keep feeding it.
    s.sendall(chunk0(3, 20, b'\x02' * 128, length=0xFFFFFF))
    return s, b'\xc3' + b'\x00' * 128


def case_bad_amf_connect(relay):
    s = connect(relay)
    handshake(s)
    # "connect", 1, then an object whose first key claims 65535 bytes.
    body = amf_str('connect') + amf_num(1) + b'\x03\xff\xffab'
    s.sendall(chunk0(3, 20, body))
    return s, None


def case_amf_wrong_types(relay):
    s = connect(relay)
    handshake(s)
    body = amf_num(1) + amf_num(2) + b'\x0a\xff\xff\xff\xff'  # strict array of 4G items
    s.sendall(chunk0(3, 20, body))
    return s, None


CASES = [case_garbage, case_truncated_handshake, case_chunk_size_zero, case_chunk_size_absurd,
         case_oversize_message, case_bad_amf_connect, case_amf_wrong_types]


class NeverReads:
    """A TCP server on loopback that accepts connections and never reads."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self.sock.bind((h.LOOPBACK, 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.conns = []
        self.stop = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        self.sock.settimeout(0.2)
        while not self.stop and len(self.conns) < 64:
            try:
                c, _ = self.sock.accept()
                self.conns.append(c)
            except socket.timeout:
                continue
            except OSError:
                return

    def close(self):
        self.stop = True
        self.thread.join(2)
        for c in self.conns:
            c.close()
        self.sock.close()


def find_target(relay, port):
    for tg in (relay.stream(NAME) or {}).get('targets') or []:
        if ':%d/' % port in tg.get('url', ''):
            return tg
    return None


def main(t):
    ng = h.Nginx(t, name='nginx-good').start()
    frozen = h.Nginx(t, name='nginx-frozen').start()
    never = NeverReads()
    relay = h.Relay(t, ['--push', ng.push_template(), '--push', frozen.push_template(),
                        '--push', 'rtmp://%s:%d/live/{name}' % (h.LOOPBACK, never.port),
                        '--push-queue', '512k', '--push-queue-time', '1s']).start()
    pub = h.ffmpeg_publish(t, relay.rtmp(NAME), extra=['-b:v', '2500k', '-maxrate', '2500k',
                                                       '-bufsize', '2500k'])
    pub.must_live = True
    relay.wait_live(NAME)
    relay.wait_segments(NAME, 1, 30)

    for case in CASES:
        what = case.__name__[5:].replace('_', ' ')
        s, feed = case(relay)
        try:
            t.check(closed_by_relay(s, 10, feed), '%s: relay closed the connection' % what)
        finally:
            s.close()
        t.check(relay.alive(), '%s: relay still running' % what)
        t.equal(relay.get('/healthz').status, 200, '%s: /healthz' % what)
        t.check(pub.alive(), '%s: publisher still connected' % what)
        relay.hls_advances(NAME, 10)

    # Many bad connections at once, while the publisher runs.
    socks = []
    for _ in range(20):
        s = connect(relay)
        s.sendall(os.urandom(2000))
        socks.append(s)
    # A first byte of 3 (one run in 13 has one) is a valid C0: that one
    # waits for the rest of its handshake until the relay's 15 s idle limit.
    t.check(all(closed_by_relay(s, 20) for s in socks), '20 garbage connections all closed')
    for s in socks:
        s.close()
    relay.hls_advances(NAME, 10)

    # Slow targets.
    t.wait('good nginx receives the push',
           lambda: ng.stat().get(NAME, {}).get('publishing'), 20)
    t.wait('frozen-to-be nginx receives the push',
           lambda: frozen.stat().get(NAME, {}).get('publishing'), 20)
    t.wait('/v1 lists the never-reading target',
           lambda: find_target(relay, never.port) is not None, 10)
    frozen.proc.send_signal(signal.SIGSTOP)
    h.log('nginx-frozen stopped with SIGSTOP')

    tg = t.wait('/v1 shows drops on the frozen target',
                lambda: (find_target(relay, frozen.rtmp_port) or {}).get('drops', 0) > 0
                and find_target(relay, frozen.rtmp_port), 90, 1)
    d0 = tg['drops']
    t.wait('drops keep rising (%d so far)' % d0,
           lambda: (find_target(relay, frozen.rtmp_port) or {}).get('drops', 0) > d0, 30, 1)
    m = relay.metrics()
    t.check(h.metric(m, 'stagecast_relay_target_drops_total', stream=NAME) > 0,
            'metric target_drops_total > 0')

    b0 = ng.stat()[NAME]['bytes_in']
    relay.hls_advances(NAME, 10)
    time.sleep(3)
    b1 = ng.stat()[NAME]['bytes_in']
    t.check(b1 - b0 > 300000, 'good nginx keeps receiving (%d bytes in >3 s)' % (b1 - b0))
    n = h.count_packets(ng.rtmp(NAME), 3)
    t.check(n >= 50, 'frames read from the good nginx keep coming (%d in 3 s)' % n)
    good = find_target(relay, ng.rtmp_port)
    t.equal(good and good['state'], 'publishing', 'good target state')
    stuck = find_target(relay, never.port)
    t.check(stuck and stuck['state'] != 'publishing',
            'never-reading target is not publishing (%s)' % (stuck and stuck['state']))
    t.check(pub.alive(), 'publisher unaffected by slow targets')

    frozen.proc.send_signal(signal.SIGCONT)
    never.close()
    pub.must_live = False
    pub.stop()
    t.equal(relay.stop(), 0, 'relay exit code after SIGTERM')


if __name__ == '__main__':
    h.run(main)
