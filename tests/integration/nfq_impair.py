#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""netem's loss and jitter, in user space, for kernels without sch_netem.

    iptables -A OUTPUT -o lo -p udp -j NFQUEUE --queue-num 7 --queue-bypass
    nfq_impair.py --queue 7 --loss 5 --delay-ms 40 --jitter-ms 30

Every packet the rule sends to the queue is dropped with probability
--loss percent, the others are let through after a delay drawn uniformly
from [delay - jitter, delay + jitter] ms, each on its own (so packets are
reordered, as netem does). Stdlib only: the nfnetlink_queue protocol over
a raw netlink socket (linux/netfilter/nfnetlink_queue.h), packets copied
as metadata only. Prints {"event": "ready"} once bound, and on SIGTERM
{"event": "stats", "packets": N, "dropped": N, "delay_ms": [min, mean, max]}.
With --queue-bypass on the rule, packets pass unharmed when this is not
running; the queue is opened fail-open, so a full queue passes packets too.
"""

import argparse
import heapq
import json
import os
import random
import select
import signal
import socket
import struct
import sys
import time

NETLINK_NETFILTER = 12
SOL_NETLINK = 270
NETLINK_NO_ENOBUFS = 5
NFNL_SUBSYS_QUEUE = 3
NFQNL_MSG_PACKET, NFQNL_MSG_VERDICT, NFQNL_MSG_CONFIG = 0, 1, 2
NFQA_CFG_CMD, NFQA_CFG_PARAMS, NFQA_CFG_FLAGS, NFQA_CFG_MASK = 1, 2, 4, 5
NFQNL_CFG_CMD_BIND = 1
NFQNL_COPY_META = 1
NFQA_CFG_F_FAIL_OPEN = 1
NFQA_PACKET_HDR, NFQA_VERDICT_HDR = 1, 2
NLM_F_REQUEST, NLM_F_ACK = 1, 4
NLMSG_ERROR = 2
NF_DROP, NF_ACCEPT = 0, 1


def attr(kind, payload):
    n = 4 + len(payload)
    return struct.pack('=HH', n, kind) + payload + b'\0' * ((4 - n % 4) % 4)


def message(msg, queue, attrs, flags=NLM_F_REQUEST, seq=0):
    body = struct.pack('=BBH', socket.AF_UNSPEC, 0, socket.htons(queue)) + b''.join(attrs)
    return struct.pack('=IHHII', 16 + len(body), (NFNL_SUBSYS_QUEUE << 8) | msg, flags, seq,
                       0) + body


def attrs_of(data):
    out, i = {}, 0
    while i + 4 <= len(data):
        n, kind = struct.unpack_from('=HH', data, i)
        if n < 4:
            break
        out[kind & 0x7fff] = data[i + 4:i + n]
        i += (n + 3) & ~3
    return out


class Queue:
    def __init__(self, num):
        self.num = num
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        self.sock.setsockopt(SOL_NETLINK, NETLINK_NO_ENOBUFS, 1)
        self.sock.bind((0, 0))
        self.seq = 0
        self.config([attr(NFQA_CFG_CMD, struct.pack('!BBH', NFQNL_CFG_CMD_BIND, 0, 0))])
        self.config([attr(NFQA_CFG_PARAMS, struct.pack('!IB', 0, NFQNL_COPY_META))])
        self.config([attr(NFQA_CFG_FLAGS, struct.pack('!I', NFQA_CFG_F_FAIL_OPEN)),
                     attr(NFQA_CFG_MASK, struct.pack('!I', NFQA_CFG_F_FAIL_OPEN))])

    def config(self, attrs):
        self.seq += 1
        self.sock.send(message(NFQNL_MSG_CONFIG, self.num, attrs, NLM_F_REQUEST | NLM_F_ACK,
                               self.seq))
        while True:
            data = self.sock.recv(65536)
            length, kind, _, seq, _ = struct.unpack_from('=IHHII', data)
            if kind == NLMSG_ERROR and seq == self.seq:
                err = struct.unpack_from('=i', data, 16)[0]
                if err:
                    raise OSError(-err, 'nfqueue config: %s' % os.strerror(-err))
                return

    def packets(self):
        """Packet ids from one recv (several messages may come at once)."""
        data = self.sock.recv(1 << 20)
        ids, i = [], 0
        while i + 16 <= len(data):
            length, kind, _, _, _ = struct.unpack_from('=IHHII', data, i)
            if length < 16:
                break
            if kind == (NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET:
                a = attrs_of(data[i + 20:i + length])
                hdr = a.get(NFQA_PACKET_HDR)
                if hdr and len(hdr) >= 4:
                    ids.append(struct.unpack_from('!I', hdr)[0])
            i += (length + 3) & ~3
        return ids

    def verdict(self, pid, v):
        self.sock.send(message(NFQNL_MSG_VERDICT, self.num,
                               [attr(NFQA_VERDICT_HDR, struct.pack('!II', v, pid))]))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--queue', type=int, default=7)
    ap.add_argument('--loss', type=float, default=0.0, help='percent of packets dropped')
    ap.add_argument('--delay-ms', type=float, default=0.0)
    ap.add_argument('--jitter-ms', type=float, default=0.0)
    ap.add_argument('--seed', type=int)
    a = ap.parse_args()
    rnd = random.Random(a.seed)
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    q = Queue(a.queue)
    print(json.dumps({'event': 'ready', 'queue': a.queue}), flush=True)
    due = []  # (time, packet id)
    n = dropped = 0
    dsum, dmin, dmax = 0.0, None, 0.0
    while not stop:
        now = time.monotonic()
        while due and due[0][0] <= now:
            q.verdict(heapq.heappop(due)[1], NF_ACCEPT)
        wait = max(0.0, due[0][0] - now) if due else 0.2
        try:
            ready, _, _ = select.select([q.sock], [], [], wait)
        except InterruptedError:
            continue
        if not ready:
            continue
        now = time.monotonic()
        for pid in q.packets():
            n += 1
            if rnd.random() * 100 < a.loss:
                dropped += 1
                q.verdict(pid, NF_DROP)
                continue
            d = max(0.0, rnd.uniform(a.delay_ms - a.jitter_ms, a.delay_ms + a.jitter_ms))
            dsum += d
            dmin = d if dmin is None else min(dmin, d)
            dmax = max(dmax, d)
            if d <= 0:
                q.verdict(pid, NF_ACCEPT)
            else:
                heapq.heappush(due, (now + d / 1000, pid))
    for _, pid in due:
        q.verdict(pid, NF_ACCEPT)
    passed = n - dropped
    print(json.dumps({'event': 'stats', 'packets': n, 'dropped': dropped,
                      'delay_ms': [round(dmin or 0, 1), round(dsum / passed, 1) if passed else 0,
                                   round(dmax, 1)]}), flush=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
