# SPDX-License-Identifier: Apache-2.0
"""Reading a capture's output back, for bench/run-capture-bench.

The grid layout of stagecast-capture (and of index.html), the clock barcode
of clock_publisher.py (and of the floor's lavfi canvas), and a small RTMP
player that timestamps every video frame the relay sends and passes the
stream on as FLV. Python standard library only.
"""
import random
import socket
import struct
import threading
import time

NSTRIPES = 20  # clock_publisher.py: white, black, 16 bits, parity, white
BITS = 16


# ---------------------------------------------------------------- layout, barcodes

def even(v):
    return v & ~1


def tile_size(w, h, cw, ch):
    tw = cw
    if ch * w // h < tw:
        tw = ch * w // h
    tw = even(tw)
    th = even(tw * h // w)
    return max(tw, 2), max(th, 2)


def grid(n, w, h):
    """capture/mixer_video.c sc_layout_grid: [(x, y, w, h)] per tile."""
    best_cols, best_tw = 1, -1
    for cols in range(1, n + 1):
        rows = (n + cols - 1) // cols
        tw, _ = tile_size(w, h, w // cols, h // rows)
        if tw >= best_tw:
            best_tw, best_cols = tw, cols
    cols = best_cols
    rows = (n + cols - 1) // cols
    tw, th = tile_size(w, h, w // cols, h // rows)
    y0 = even((h - rows * th) // 2)
    out = []
    for i in range(n):
        r, col = i // cols, i % cols
        in_row = n - r * cols if r == rows - 1 else cols
        x0 = even((w - in_row * tw) // 2)
        out.append((x0 + col * tw, y0 + r * th, tw, th))
    return out


def floor_filter(w, h, fps, n, mono_off_ms):
    """lavfi: black canvas, n barcode tiles showing CLOCK_MONOTONIC ms."""
    f = ['settb=1/1000',
         # frame N leaves -re at about RTCSTART + N/fps (realtime), in monotonic ms
         'setpts=N*1000/%d+RTCSTART/1000-%d' % (fps, mono_off_ms)]
    ms = 'floor(t*1000+0.5)'
    bit = ['mod(floor(%s/%d),2)' % (ms, 1 << (BITS - 1 - i)) for i in range(BITS)]
    parity = 'mod(%s,2)' % '+'.join(bit)
    for (x, y, tw, th) in grid(n, w, h):
        cols = [(x + k * tw // NSTRIPES, x + (k + 1) * tw // NSTRIPES) for k in range(NSTRIPES)]
        for k, (x0, x1) in enumerate(cols):
            if k == 1:
                continue  # black
            en = '' if k in (0, NSTRIPES - 1) else ":enable='%s'" % (
                bit[k - 2] if k - 2 < BITS else parity)
            f.append('drawbox=x=%d:y=%d:w=%d:h=%d:color=white:t=fill%s' % (x0, y, x1 - x0, th, en))
    f.append('setpts=PTS-STARTPTS')  # back to a timeline from 0 for the encoder
    return ','.join(f)


def decode_stripes(levels):
    """16-bit value from NSTRIPES luma levels, or None."""
    bits = []
    for v in levels:
        if v >= 150:
            bits.append(1)
        elif v <= 100:
            bits.append(0)
        else:
            return None
    if bits[0] != 1 or bits[1] != 0 or bits[-1] != 1:
        return None
    data = bits[2:2 + BITS]
    if sum(data) % 2 != bits[2 + BITS]:
        return None
    v = 0
    for b in data:
        v = v << 1 | b
    return v


# ---------------------------------------------------------------- RTMP player


def amf_enc(v):
    if v is None:
        return b'\x05'
    if isinstance(v, bool):
        return b'\x01' + bytes([int(v)])
    if isinstance(v, (int, float)):
        return b'\x00' + struct.pack('>d', float(v))
    if isinstance(v, str):
        b = v.encode()
        return b'\x02' + struct.pack('>H', len(b)) + b
    if isinstance(v, dict):
        out = b'\x03'
        for k, x in v.items():
            kb = k.encode()
            out += struct.pack('>H', len(kb)) + kb + amf_enc(x)
        return out + b'\x00\x00\x09'
    raise ValueError(v)


def amf_dec(b, i=0, depth=0):
    """(value, next index) of the AMF0 value at b[i]; bounded nesting."""
    if depth > 8:
        raise ValueError('AMF0 nesting')
    t = b[i]
    i += 1
    if t == 0x00:
        return struct.unpack_from('>d', b, i)[0], i + 8
    if t == 0x01:
        return bool(b[i]), i + 1
    if t == 0x02:
        n = struct.unpack_from('>H', b, i)[0]
        return b[i + 2:i + 2 + n].decode('utf-8', 'replace'), i + 2 + n
    if t in (0x03, 0x08):
        if t == 0x08:
            i += 4
        o = {}
        for _ in range(1000):
            n = struct.unpack_from('>H', b, i)[0]
            if n == 0 and b[i + 2] == 0x09:
                return o, i + 3
            k = b[i + 2:i + 2 + n].decode('utf-8', 'replace')
            o[k], i = amf_dec(b, i + 2 + n, depth + 1)
        raise ValueError('AMF0 object too long')
    if t in (0x05, 0x06):
        return None, i
    if t == 0x0a:
        n = struct.unpack_from('>I', b, i)[0]
        i += 4
        out = []
        for _ in range(min(n, 1000)):
            x, i = amf_dec(b, i, depth + 1)
            out.append(x)
        return out, i
    raise ValueError('AMF0 type %d' % t)


def amf_all(b):
    out, i = [], 0
    while i < len(b) and len(out) < 32:
        v, i = amf_dec(b, i)
        out.append(v)
    return out


class RtmpPlayer:
    """Plays rtmp://127.0.0.1:PORT/live/NAME: video frame arrival times, and
    the FLV it receives written to a sink (the decoder's stdin)."""

    def __init__(self, port, name, sink=None, dump=None):
        self.port, self.name, self.sink = port, name, sink
        self.dump = open(dump, 'wb') if dump else None
        self.frames = []  # arrival (monotonic) of every video frame (not headers)
        self.error = None
        self._buf = bytearray()
        self._stop = threading.Event()
        self._th = threading.Thread(target=self._run, daemon=True)
        self.sock = None

    def start(self):
        self.sock = socket.create_connection(('127.0.0.1', self.port), timeout=5)
        self._handshake()
        self._th.start()
        return self

    def stop(self):
        self._stop.set()
        self._th.join(timeout=5)
        try:
            self.sock.close()
        except OSError:
            pass
        if self.dump:
            self.dump.close()

    def _recv(self, n):
        while len(self._buf) < n:
            if self._stop.is_set():
                raise EOFError('stopped')
            try:
                d = self.sock.recv(262144)
            except socket.timeout:
                continue
            if not d:
                raise EOFError('relay closed the connection')
            self._buf += d
            self.rx += len(d)
        out = bytes(self._buf[:n])
        del self._buf[:n]
        return out

    def _handshake(self):
        self.rx = 0
        c1 = struct.pack('>II', 0, 0) + random.randbytes(1528)
        self.sock.sendall(b'\x03' + c1)
        self.sock.settimeout(5)
        s = self._recv(1 + 1536 + 1536)
        self.sock.sendall(s[1:1537])  # C2 echoes S1
        self.sock.settimeout(0.5)

    def _send(self, csid, typ, msid, payload):
        hdr = bytes([csid]) + (0).to_bytes(3, 'big') + len(payload).to_bytes(3, 'big') + \
            bytes([typ]) + struct.pack('<I', msid)
        self.sock.sendall(hdr + payload)  # one chunk: our chunk size is 65536

    def _run(self):
        try:
            self._session()
        except (OSError, EOFError, ValueError, IndexError, struct.error) as e:
            if not self._stop.is_set():
                self.error = str(e)

    def _session(self):
        self._send(2, 1, 0, struct.pack('>I', 65536))
        tc = 'rtmp://127.0.0.1:%d/live' % self.port
        self._send(3, 20, 0, amf_enc('connect') + amf_enc(1) +
                   amf_enc({'app': 'live', 'tcUrl': tc, 'flashVer': 'LNX 9,0,124,2'}))
        chunk, window, acked = 128, 0, 0
        chans = {}
        stream_id = None
        for f in (self.sink, self.dump):
            if f:
                f.write(b'FLV\x01\x05\x00\x00\x00\x09\x00\x00\x00\x00')
        for _ in range(1 << 40):  # until stopped or the relay closes
            b0 = self._recv(1)[0]
            fmt, csid = b0 >> 6, b0 & 0x3f
            if csid == 0:
                csid = 64 + self._recv(1)[0]
            elif csid == 1:
                x = self._recv(2)
                csid = 64 + x[0] + 256 * x[1]
            ch = chans.setdefault(csid, {'ts': 0, 'len': 0, 'type': 0, 'msid': 0, 'delta': 0,
                                         'ext': False, 'data': bytearray()})
            if fmt <= 2:
                ts = int.from_bytes(self._recv(3), 'big')
                if fmt <= 1:
                    ch['len'] = int.from_bytes(self._recv(3), 'big')
                    ch['type'] = self._recv(1)[0]
                if fmt == 0:
                    ch['msid'] = struct.unpack('<I', self._recv(4))[0]
                ch['ext'] = ts == 0xffffff
                if ch['ext']:
                    ts = struct.unpack('>I', self._recv(4))[0]
                if fmt == 0:
                    ch['ts'] = ts
                else:
                    ch['delta'] = ts
                    if not ch['data']:
                        ch['ts'] += ts
            else:
                if ch['ext']:
                    self._recv(4)
                if not ch['data']:
                    ch['ts'] += ch['delta']
            if ch['len'] > 16 << 20:
                raise ValueError('message of %d bytes' % ch['len'])
            ch['data'] += self._recv(min(chunk, ch['len'] - len(ch['data'])))
            if window and self.rx - acked >= window // 2:
                acked = self.rx
                self._send(2, 3, 0, struct.pack('>I', self.rx & 0xffffffff))
            if len(ch['data']) < ch['len']:
                continue
            msg, typ = bytes(ch['data']), ch['type']
            ch['data'] = bytearray()
            now = time.monotonic()
            if typ == 1:
                chunk = struct.unpack('>I', msg[:4])[0] & 0x7fffffff
            elif typ == 5:
                window = struct.unpack('>I', msg[:4])[0]
            elif typ == 4 and len(msg) >= 6 and struct.unpack('>H', msg[:2])[0] == 6:
                self._send(2, 4, 0, struct.pack('>H', 7) + msg[2:6])  # ping -> pong
            elif typ == 20:
                v = amf_all(msg)
                if v and v[0] == '_result' and len(v) > 1 and v[1] == 1:
                    self._send(3, 20, 0, amf_enc('createStream') + amf_enc(2) + amf_enc(None))
                elif v and v[0] == '_result' and len(v) > 3 and v[1] == 2:
                    stream_id = int(v[3])
                    self._send(8, 20, stream_id, amf_enc('play') + amf_enc(0) + amf_enc(None) +
                               amf_enc(self.name) + amf_enc(-1000))
                elif v and v[0] == '_error':
                    raise ValueError('relay: %s' % (v,))
            elif typ in (8, 9, 18):
                if typ == 9 and len(msg) > 1 and msg[1] == 1:
                    self.frames.append(now)
                ts = ch['ts'] & 0xffffffff
                tag = bytes([typ]) + len(msg).to_bytes(3, 'big') + \
                    (ts & 0xffffff).to_bytes(3, 'big') + bytes([ts >> 24]) + b'\x00\x00\x00'
                tag += msg + struct.pack('>I', 11 + len(msg))
                if self.dump:
                    self.dump.write(tag)
                if self.sink:
                    try:
                        self.sink.write(tag)
                        self.sink.flush()
                    except (BrokenPipeError, ValueError):
                        self.sink = None
