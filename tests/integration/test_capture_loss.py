#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""stagecast-capture under packet loss and jitter: the picture keeps moving,
NACKs and PLIs do the recovery.

Janus VideoRoom in the test's network namespace, two webrtcbin publishers
whose pictures change on every frame (scrolling SMPTE bars, one VP8, one
H.264), stagecast-capture mixing them (360p15 grid) into stagecast-relay.
The publishers answer NACKs with retransmissions (RTX), as browsers do.
Once everyone is in the mix, the test impairs the WebRTC media with
5 % loss and 30 ms of jitter (around 40 ms of delay), records ~10 s
of the relay's output and checks that each publisher's tile changes from
one frame to the next at least once a second (no frozen picture over 1 s)
and never becomes the stale-video placeholder, that the capture's NACK and
PLI counters (/v1/status tracks[].nacks/plis, /metrics
stagecast_capture_nacks_total and _plis_total) went up, and that NACKs
repaired the losses for every participant: at most 10 % of each video
track's frames given up (tracks[].frames_dropped against tracks[].frames).
SC_LOSS_PCT, SC_LOSS_DELAY_MS, SC_LOSS_JITTER_MS, SC_LOSS_LEG (all,
publishers, capture) and SC_LOSS_PUB_NACK=0 change the conditions to
investigate.

Where the impairment goes: every process runs in the test's namespace and
talks to 127.0.0.2, a local address, so all of this traffic goes through
`lo` (a qdisc on the veth that carries 127.0.0.2 never sees it). Putting
publishers in a second namespace would mean routing 127/8 between
namespaces (route_localnet, removing the local 127/8 route) or moving
Janus's only ICE address out of 127/8, both changes to the rig. So the
impairment sits on `lo`'s output and takes UDP only: the media (publisher
-> Janus and Janus -> capture: RTP, RTCP, DTLS, ICE) is impaired, TCP
(Janus's HTTP API, RTMP to the relay, the recording ffmpeg, the status API)
is not, so what the test measures is the capture's recovery, not TCP's.

How: netem's model (each packet lost with 5 % probability, the others
delayed by 40 +- 30 ms uniformly, each on its own, hence reordered), done by
nfq_impair.py behind an iptables NFQUEUE rule, because kernels built
without sch_netem (like the CI VM's: no netem, no prio, no gact) cannot run
`tc netem`. Needs iptables (Debian package `iptables`). Root only.
"""

import json
import os
import sys
import threading
import time

import captest as ct
import conference as c
import harness as h

SIZE = (160, 90)  # analysis size (the output is 640x360)
TILES = {'left': (0.03, 0.30, 0.47, 0.70), 'right': (0.53, 0.30, 0.97, 0.70)}
RECORD_S = 12.0
SKIP_S = 2.0  # the relay's cached GOP may be from before the impairment
CHANGED = 1.0  # mean |difference| (0-255) above which a tile changed
# The numbers; the environment can change them to investigate.
LOSS_PCT = float(os.environ.get('SC_LOSS_PCT', 5))
DELAY_MS = float(os.environ.get('SC_LOSS_DELAY_MS', 40))
JITTER_MS = float(os.environ.get('SC_LOSS_JITTER_MS', 30))
LEG = os.environ.get('SC_LOSS_LEG', 'all')  # all, publishers (to Janus), capture (Janus <->)
QUEUE = 7
# Publishers answer NACKs (RTX) like browsers do; SC_LOSS_PUB_NACK=0 makes
# every loss on a publisher's own leg permanent (only key frames repair it).
PUB_NACK = os.environ.get('SC_LOSS_PUB_NACK', '1') != '0'
DROPPED_MAX = 0.10  # frames given up (after NACKs) per frame received, per video track


def udp_ports(pid):
    """Local UDP ports of process pid (ss -uanp)."""
    _, out, _ = h.run_tool([h.which('ss'), '-u', '-a', '-n', '-p'], 10)
    ports = set()
    for line in out.splitlines():
        if 'pid=%d,' % pid in line:
            local = line.split()[3]
            ports.add(int(local.rsplit(':', 1)[1]))
    return sorted(ports)


class Impairment:
    """UDP on lo through nfq_impair.py (loss and jitter) while it lives.

    leg: 'all' UDP; 'publishers' all but the capture's own (so the
    publishers' legs to and from Janus); 'capture' only Janus <-> capture.
    """

    def __init__(self, t, leg='all', cap_pid=None):
        self.iptables = h.which('iptables')
        self.proc = h.Proc(t, 'impair', [sys.executable, os.path.join(h.HERE, 'nfq_impair.py'),
                                         '--queue', QUEUE, '--loss', LOSS_PCT,
                                         '--delay-ms', DELAY_MS, '--jitter-ms', JITTER_MS])
        self.proc.must_live = True
        t.wait('nfq_impair bound to queue %d' % QUEUE, lambda: '"ready"' in self.proc.output(),
               10, 0.05)
        base = ['OUTPUT', '-o', 'lo', '-p', 'udp']
        queue = ['-j', 'NFQUEUE', '--queue-num', str(QUEUE), '--queue-bypass']
        self.rules = []
        ports = udp_ports(cap_pid) if leg != 'all' else []
        if leg != 'all' and not ports:
            raise h.Failure('no UDP socket of the capture (pid %s)' % cap_pid)
        for port in ports:
            for d in ('--dport', '--sport'):
                self.rules.append(base + [d, str(port)] + (['-j', 'ACCEPT'] if leg ==
                                                            'publishers' else queue))
        if leg in ('all', 'publishers'):
            self.rules.append(base + queue)
        for r in self.rules:
            h.run_tool([self.iptables, '-A'] + r, 10, check=True)
        h.log('impairing %s: capture ports %s' % (leg, ports))

    def stop(self):
        """Rules out, impairer stopped; returns its stats dict."""
        for r in self.rules:
            h.run_tool([self.iptables, '-D'] + r, 10, check=True)
        self.rules = []
        self.proc.must_live = False
        self.proc.stop(5)
        for line in self.proc.output().splitlines():
            if line.startswith('{') and '"stats"' in line:
                return json.loads(line)
        return None


def counters(cap):
    """{(participant, kind): {lost, nacks, plis, frames}} and the /metrics totals."""
    st = cap.status() or {}
    per = {}
    for p in st.get('participants', []):
        for tr in p.get('tracks', []):
            per[(p['display'], tr['kind'])] = {k: tr.get(k, 0) for k in
                                               ('frames', 'lost', 'nacks', 'plis',
                                                'frames_dropped')}
    m = cap.metrics()
    totals = {k: h.metric(m, 'stagecast_capture_%s_total' % k)
              for k in ('rtp_lost', 'nacks', 'plis')}
    return per, totals


class Sampler:
    """Samples the capture's per-participant video counters every 0.5 s."""

    def __init__(self, cap):
        self.cap = cap
        self.rows = []
        self.done = threading.Event()
        self.th = threading.Thread(target=self.run, daemon=True)
        self.th.start()

    def run(self):
        t0 = time.monotonic()
        while not self.done.wait(0.5):
            try:
                st = self.cap.status() or {}
            except (OSError, ValueError):
                continue
            row = {}
            for p in st.get('participants', []):
                v = [tr for tr in p.get('tracks', []) if tr['kind'] == 'video']
                if v:
                    row[p['display']] = (p['video'].get('fps'), v[0]['frames'], v[0]['lost'],
                                         v[0]['nacks'], v[0]['plis'])
            self.rows.append((time.monotonic() - t0, row))

    def stop(self):
        self.done.set()
        self.th.join(2)

    def log(self):
        """One line per participant: where its decoded video stalled."""
        names = sorted({n for _, r in self.rows for n in r})
        for n in names:
            pts = [(t, r[n]) for t, r in self.rows if n in r]
            stalls, last = [], None
            for (t0, a), (t1, b) in zip(pts, pts[1:]):
                if b[1] == a[1]:
                    last = last or t0
                elif last is not None:
                    stalls.append('%.1f-%.1f s' % (last, t1))
                    last = None
            if last is not None:
                stalls.append('%.1f s-' % last)
            h.log('%s video: frames %d -> %d, plis %d -> %d; no new frame at %s'
                  % (n, pts[0][1][1], pts[-1][1][1], pts[0][1][4], pts[-1][1][4],
                     ', '.join(stalls) or 'no time'))


def tile_changes(frames, box):
    """(pts of frames that differ from the one before, spatial spread per frame)."""
    w, hh = SIZE
    x0, x1 = int(box[0] * w), int(box[2] * w)
    y0, y1 = int(box[1] * hh), int(box[3] * hh)

    def tile(pic):
        return [pic[y * w + x] for y in range(y0, y1) for x in range(x0, x1)]
    changed, diffs, spreads, prev = [], [], [], None
    for pts, pic in frames:
        cur = tile(pic)
        mean = sum(cur) / len(cur)
        spreads.append(sum(abs(v - mean) for v in cur) / len(cur))
        if prev is not None:
            d = sum(abs(a - b) for a, b in zip(cur, prev)) / len(cur)
            diffs.append(d)
            if d > CHANGED:
                changed.append(pts)
        prev = cur
    return changed, diffs, spreads


def main(t):
    h.which('iptables')  # Skip (77) early when it is missing
    conf = c.Conference(t, room=1234, publishers=9).start()
    moving = ['--pattern', 'smpte', '--horizontal-speed', '8']
    if PUB_NACK:
        moving.append('--nack')
    conf.add_publisher('vp8', codec='vp8', tone=440, extra=moving)
    conf.add_publisher('h264', codec='h264', tone=880, extra=moving)
    relay = h.Relay(t).start()
    cap = ct.Capture(t, conf, relay)
    relay.wait_live('mix', timeout=15)
    cap.wait_names(['h264', 'vp8'])
    time.sleep(2)

    per0, tot0 = counters(cap)
    h.log('before the impairment: %s; %s' % (tot0, per0))
    sampler = Sampler(cap)
    imp = Impairment(t, LEG, cap.proc.pid)
    h.log('UDP on lo (%s): %g%% loss, %g +- %g ms delay' % (LEG, LOSS_PCT, DELAY_MS, JITTER_MS))
    time.sleep(2)
    t0 = time.monotonic()
    rec = ct.record(t, relay.rtmp('mix'), RECORD_S, t.path('loss.flv'))
    h.log('recorded %.0f s of output in %.1f s' % (RECORD_S, time.monotonic() - t0))
    per1, tot1 = counters(cap)
    stats = imp.stop()
    sampler.stop()
    sampler.log()
    h.log('impairment: %s' % stats)
    t.check(stats and stats['dropped'] > 0 and stats['packets'] > 1000,
            'the media went through the impairment', stats)
    t.check(cap.proc.alive(), 'capture still running')

    d = {k: tot1[k] - tot0[k] for k in tot0}
    h.log('during the impairment (/metrics): lost +%d, nacks +%d, plis +%d'
          % (d['rtp_lost'], d['nacks'], d['plis']))
    for key in sorted(per1):
        a, b = per0.get(key, {}), per1[key]
        h.log('  %s %s: %s' % (key[0], key[1], {k: '%d (+%d)' % (b[k], b[k] - a.get(k, 0))
                                                for k in b}))

    # Grid tiles go left to right in the order participants joined the mix.
    order = [line.split()[2] for line in cap.proc.output().splitlines()
             if line.startswith('capture: participant ') and line.endswith('joined the mix')]
    frames = ct.gray_frames(rec, SIZE)
    start = frames[0][0] + SKIP_S
    frames = [f for f in frames if f[0] >= start]
    span = frames[-1][0] - frames[0][0]
    results = []
    for i, (side, box) in enumerate(sorted(TILES.items())):
        who = order[i] if i < len(order) else '?'
        changed, diffs, spreads = tile_changes(frames, box)
        marks = [frames[0][0]] + changed + [frames[-1][0]]
        worst = max(b - a for a, b in zip(marks, marks[1:]))
        still = sum(1 for x in diffs if x <= CHANGED)
        srt = sorted(diffs)
        h.log('%s tile (%s): %d of %d frames changed, median change %.1f, longest still '
              '%.2f s, flattest frame spread %.1f' % (side, who, len(changed), len(diffs),
                                                      srt[len(srt) // 2], worst, min(spreads)))
        h.log('  %s' % ''.join('P' if sp < 10 else '#' if x > CHANGED else '.'
                               for x, sp in zip([0] + diffs, spreads)))
        results.append((side, who, worst, still, min(spreads)))

    t.check(span >= RECORD_S - SKIP_S - 1.5, 'analysed %.1f s of video (%d frames)'
            % (span, len(frames)))
    for side, who, worst, still, flat in results:
        t.check(worst <= 1.0, '%s tile (%s): no frozen picture over 1 s (longest %.2f s, %d '
                'still frames)' % (side, who, worst, still))
        t.check(flat > 10, '%s tile (%s): the picture, never the placeholder (spread %.1f)'
                % (side, who, flat))
    t.check(d['rtp_lost'] > 0 or d['nacks'] > 0, 'the capture saw the loss')
    t.check(d['nacks'] > 0, 'NACKs sent during the loss (+%d)' % d['nacks'])
    t.check(d['plis'] > 0, 'PLIs sent during the loss (+%d)' % d['plis'])
    for who in ('vp8', 'h264'):
        a, b = per0.get((who, 'video'), {}), per1.get((who, 'video'), {})
        t.check(b.get('nacks', 0) > a.get('nacks', 0),
                '%s video: /v1/status nacks went up (%s -> %s)'
                % (who, a.get('nacks'), b.get('nacks')))
    if PUB_NACK:
        # Every leg can retransmit: NACKs must repair nearly everything, for
        # every participant (not only the first m-line's).
        for who in ('vp8', 'h264'):
            a, b = per0.get((who, 'video'), {}), per1.get((who, 'video'), {})
            frames = b.get('frames', 0) - a.get('frames', 0)
            dropped = b.get('frames_dropped', 0) - a.get('frames_dropped', 0)
            t.check(frames > 0 and dropped <= DROPPED_MAX * frames,
                    '%s video: NACKs repaired the losses (%d frames given up, %d received, '
                    'at most %d%%)' % (who, dropped, frames, 100 * DROPPED_MAX))

    t.equal(cap.stop(), 0, 'capture exit code after SIGTERM')
    t.equal(relay.stop(), 0, 'relay exit code after SIGTERM')


if __name__ == '__main__':
    h.run(main)
