#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""capture/signaling against a real Janus VideoRoom (tests/capture/sig_probe).

The probe joins the rig's room (conference.py: Janus in a network namespace,
webrtcbin publishers) and prints what capture/janus.c reports as JSON
lines, answering every offer with sc_sdp_answer() and dummy ICE/DTLS
values. Checked: the first offer lists both publishers' streams with their
names; a new publisher gets a new offer within 2 s of Janus announcing it;
one that leaves gets its sections inactive within 2 s; wrong pin, missing
room and an unreachable port give their exit codes; a Janus restart gives
a non-fatal error and a fresh offer once Janus and a publisher are back;
stop takes under 2 s, also with Janus frozen (SIGSTOP). Root only (network
namespace): exit 77 otherwise, or when the probe binary is not built.
"""

import json
import os
import signal
import time

import conference as c
import harness as h

EXIT = {'UNREACHABLE': 11, 'NOT_FOUND': 12, 'DENIED': 13, 'PROTOCOL': 14}


def probe_binary():
    p = os.environ.get('STAGECAST_SIG_PROBE')
    if not p:
        p = os.path.join(os.environ.get('SC_BUILD_DIR', 'build'), 'tests', 'capture', 'sig_probe')
    if not os.access(p, os.X_OK):
        raise h.Skip('sig_probe not built (%s)' % p)
    return p


class Probe:
    def __init__(self, t, url, name='probe', seconds=600):
        self.proc = h.Proc(t, name, [probe_binary(), url, '--seconds', seconds])
        self.t = t

    def events(self, kind=None):
        out = []
        for line in self.proc.output().splitlines():
            if line.startswith('{'):
                try:
                    e = json.loads(line)
                except ValueError:
                    continue
                if kind is None or e.get('event') == kind:
                    out.append(e)
        return out

    def offers(self):
        return self.events('offer')

    def wait_offer(self, what, pred, timeout):
        def ready():
            for e in self.offers():
                if pred(e):
                    return e
            if not self.proc.alive():
                raise c._Fatal('probe exited %s: %s' % (self.proc.returncode,
                                                        self.proc.tail(20)))
            return None
        try:
            return self.t.wait(what, ready, timeout, 0.05)
        except c._Fatal as e:
            raise h.Failure(str(e))

    def wait_exit(self, timeout):
        return self.proc.wait(timeout)


def active_feeds(offer):
    """{feed: display} of the active sections, and the kinds per feed."""
    feeds, kinds = {}, {}
    for s in offer['streams']:
        if s['active']:
            feeds[s['feed']] = s['display']
            kinds.setdefault(s['feed'], set()).add(s['kind'])
    return feeds, kinds


def first_participants_with(probe, pred):
    for e in probe.events('participants'):
        if pred({p['feed'] for p in e['people']}):
            return e
    return None


def main(t):
    binary = probe_binary()
    conf = c.Conference(t, room=1234, publishers=9).start()
    conf.create_room(5678, pin='s3cret')
    alice = conf.add_publisher('alice', color=0xff0000, tone=440)
    bob = conf.add_publisher('bob', color=0x00ff00, tone=660)
    ids = {str(alice.id): 'alice', str(bob.id): 'bob'}

    # Refusals first (fatal, distinct exit codes).
    t0 = time.monotonic()
    code = h.Proc(t, 'probe-unreachable',
                  [binary, 'janus://%s:%d/1234' % (c.ICE_IP, h.free_port()), '--seconds', 30])
    t.equal(code.wait(10), EXIT['UNREACHABLE'], 'unreachable port: exit code')
    t.check(time.monotonic() - t0 < 5, 'unreachable reported within 5 s',
            time.monotonic() - t0)
    for name, url, want in [
            ('probe-noroom', 'janus://%s:%d/9999' % (conf.host, conf.http_port), 'NOT_FOUND'),
            ('probe-badpin', 'janus://%s:%d/5678?pin=nope' % (conf.host, conf.http_port),
             'DENIED'),
            ('probe-nopin', 'janus://%s:%d/5678' % (conf.host, conf.http_port), 'DENIED')]:
        p = Probe(t, url, name)
        t.equal(p.wait_exit(10), EXIT[want], '%s: exit code' % name)
        errs = p.events('error')
        t.check(errs and errs[0]['fatal'] and errs[0]['code'] == want,
                '%s: one fatal %s error' % (name, want), errs)
    p = Probe(t, 'janus://%s:%d/5678?pin=s3cret' % (conf.host, conf.http_port), 'probe-pin')
    t.wait('right pin: joined (empty participant list)',
           lambda: any(e['people'] == [] for e in p.events('participants')), 10)
    t.equal(p.proc.stop(), 0, 'probe-pin exits 0 on SIGTERM')

    # The room with two publishers.
    probe = Probe(t, conf.url)
    first = probe.wait_offer('first offer with alice and bob',
                             lambda e: active_feeds(e)[0] == ids, 10)
    feeds, kinds = active_feeds(first)
    t.check(all(k == {'audio', 'video'} for k in kinds.values()),
            'an audio and a video section per publisher', kinds)
    t.check(all(e['result'] == 0 for e in probe.events('answered')), 'offers answered',
            probe.events('answered'))

    # A third publisher: a new offer within 2 s of Janus announcing it.
    carol = conf.add_publisher('carol', color=0x0000ff, tone=880)
    ids[str(carol.id)] = 'carol'
    o = probe.wait_offer('offer with carol', lambda e: active_feeds(e)[0] == ids, 5)
    seen = first_participants_with(probe, lambda f: str(carol.id) in f)
    t.check(seen is not None, 'participants event with carol')
    t.check(o['t'] - seen['t'] <= 2000, 'carol subscribed within 2 s (%d ms)'
            % (o['t'] - seen['t']))

    # One leaves: its sections go inactive within 2 s.
    t_stop = time.monotonic()
    bob.stop()
    del ids[str(bob.id)]
    o = probe.wait_offer('offer without bob', lambda e: active_feeds(e)[0] == ids, 5)
    t.check(time.monotonic() - t_stop <= 3, 'bob gone from the offer %.2f s after his SIGTERM'
            % (time.monotonic() - t_stop))
    dead = [s for s in o['streams'] if not s['active']]
    t.check(len(dead) >= 2 and all(s['feed'] == str(bob.id) for s in dead[-2:]),
            "bob's sections are inactive and still named", dead)
    seen = first_participants_with(probe, lambda f: str(bob.id) not in f and f)
    t.check(seen is not None and abs(o['t'] - seen['t']) <= 2000,
            'participants without bob and the offer together', seen)

    # Janus restarts: a non-fatal error, then a fresh offer once a publisher is back.
    n_offers = len(probe.offers())
    conf.restart()
    t.wait('non-fatal error after the restart',
           lambda: any(not e['fatal'] for e in probe.events('error')), 15)
    dave = conf.add_publisher('dave', color=0xffff00, tone=550)
    o = probe.wait_offer('fresh offer with dave after the restart',
                         lambda e: active_feeds(e)[0] == {str(dave.id): 'dave'}, 20)
    t.check(len(probe.offers()) > n_offers and probe.proc.alive(), 'the probe stayed up')

    # Stop: under 2 s, also with Janus frozen.
    conf.proc.send_signal(signal.SIGSTOP)
    t0 = time.monotonic()
    code = probe.proc.stop(timeout=5)
    conf.proc.send_signal(signal.SIGCONT)
    took = time.monotonic() - t0
    t.equal(code, 0, 'probe exit code after SIGTERM')
    t.check(took < 2.5, 'stop with Janus frozen took %.2f s' % took)
    stopped = probe.events('stopped')
    t.check(stopped and stopped[0]['stop_ms'] <= 2000, 'sc_signaling_free within 2 s', stopped)
    h.log('offers: %d; errors: %s' % (len(probe.offers()),
                                      [(e['code'], e['fatal']) for e in probe.events('error')]))
    h.log('probe output (sdp_len and answers):\n' + '\n'.join(
        l[:300] for l in probe.proc.output().splitlines()))
    t.equal(conf.stop(), 0, 'Janus exit code after SIGTERM')


if __name__ == '__main__':
    h.run(main)
