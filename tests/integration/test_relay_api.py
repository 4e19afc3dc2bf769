#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The /v1 target API, the config file and the command line.

The relay runs from `--config FILE` alone (rtmp, http, hls-dir, push,
api-token-file, log-level from the file). POST /v1/streams/NAME/targets adds
a push target only with the bearer token; the new target publishes to a
second nginx until DELETE removes it. Bad bodies get a 4xx with a message
and add nothing. A target whose upstream refuses the publish (nginx-rtmp
on_publish answering 403) does not disturb the stream's other target or
HLS. --help, an unknown flag and an unknown config key behave.
"""

import os
import time

import harness as h

NAME = 'k1-api'

# What /v1 shows for a target whose upstream refuses the publish. nginx-rtmp
# refuses by closing the connection after `publish` without an onStatus;
# the relay takes that as a refusal, like an onStatus error.
REFUSED_STATES = ('failed',)


def targets(relay):
    return {x['id']: x for x in (relay.stream(NAME) or {}).get('targets') or []}


def error_message(r):
    """The {"error": ...} message of a response, or None."""
    try:
        msg = r.json().get('error')
    except (ValueError, AttributeError):
        return None
    return msg if isinstance(msg, str) and msg.strip() else None


def check_cli(t, cfg_dir):
    exe = h.relay_binary()
    code, out, err = h.run_tool([exe, '--help'], 10)
    t.equal(code, 0, '--help exit code')
    t.check('--push' in out and '--secret-file' in out, '--help mentions --push and --secret-file',
            out[:300])

    code, out, err = h.run_tool([exe, '--no-such-flag'], 10)
    t.equal(code, 2, 'unknown flag exit code')
    t.check('--no-such-flag' in err, 'unknown flag named on stderr', err.strip())

    bad = os.path.join(cfg_dir, 'bad.conf')
    with open(bad, 'w') as f:
        f.write('# a comment\nrtmp = 127.0.0.1:%d\nno-such-key = 1\nlog-level = info\n'
                % h.free_port())
    code, out, err = h.run_tool([exe, '--config', bad], 10)
    t.equal(code, 2, 'unknown config key exit code')
    t.check('%s:3' % bad in err, 'unknown config key reported as FILE:LINE', err.strip())


def check_bad_bodies(t, relay, path, token, before):
    long_url = 'rtmp://127.0.0.1:1/live/' + 'a' * (70 * 1024)
    cases = [
        ('not JSON', b'this is not json'),
        ('a JSON array', b'[{"url": "rtmp://127.0.0.1:1/live/x"}]'),
        ('no url', b'{}'),
        ('an unknown field', {'url': 'rtmp://127.0.0.1:1/live/x', 'colour': 'red'}),
        ('an http:// url', {'url': 'http://x'}),
        ('a url with control characters', {'url': 'rtmp://127.0.0.1:1/live/a\x01\nb'}),
        ('a 70 KB body', {'url': long_url}),
    ]
    for what, body in cases:
        r = h.api_call(relay, 'POST', path, body, token)
        msg = error_message(r)
        h.log('%s -> %d %s' % (what, r.status, (msg or r.text)[:120]))
        t.check(400 <= r.status < 500, 'POST with %s: 4xx' % what, (r.status, r.text[:200]))
        t.check(msg is not None, 'POST with %s: {"error": message}' % what, r.text[:200])
        t.equal(sorted(targets(relay)), before, 'targets after POST with %s' % what)
    # A refused request for a name the relay does not know creates nothing.
    r = h.api_call(relay, 'POST', '/v1/streams/ghost/targets', {'url': 'http://x'}, token)
    t.equal(r.status, 400, 'POST a bad url for an unknown name')
    t.equal(relay.stream('ghost'), None, 'GET the unknown name after a refused POST (404)')


def main(t):
    cfg_dir = t.path('config')
    os.makedirs(cfg_dir)
    check_cli(t, cfg_dir)

    ng1 = h.Nginx(t, name='nginx1').start()
    ng2 = h.Nginx(t, name='nginx2').start()
    ng3 = h.NginxAuth(t, name='nginx-auth', refuse='badkey').start()

    token = os.urandom(16).hex()
    token_file = os.path.join(cfg_dir, 'api-token')
    with open(token_file, 'w') as f:
        f.write(token + '\n')
    os.chmod(token_file, 0o600)
    rtmp_port, http_port = h.free_port(), h.free_port()
    hls_dir = t.path('from-config-hls')
    os.makedirs(hls_dir)
    cfg = os.path.join(cfg_dir, 'relay.conf')
    with open(cfg, 'w') as f:
        f.write('# stagecast-relay test config\n'
                'rtmp = 127.0.0.1:%d\n'
                'http = 127.0.0.1:%d\n'
                'hls-dir = %s\n'
                'push = %s\n'
                'api-token-file = %s\n'
                'log-level = warn\n' % (rtmp_port, http_port, hls_dir, ng1.push_template(),
                                         token_file))
    relay = h.relay_start_config(t, cfg, rtmp_port=rtmp_port, http_port=http_port)
    time.sleep(0.5)
    out = relay.proc.output()
    t.check('warning: ' in out and 'listening on' not in out,
            'log-level warn from the file: warnings logged, info lines not', out[-500:])

    pub = h.ffmpeg_publish(t, relay.rtmp(NAME))
    pub.must_live = True
    relay.wait_live(NAME)
    t.wait('config push template: nginx1 receives',
           lambda: ng1.stat().get(NAME, {}).get('publishing'), 20)
    relay.wait_segments(NAME, 1, 30)
    t.check(os.path.exists(os.path.join(hls_dir, NAME, 'index.m3u8')),
            'HLS written under the hls-dir from the file')
    tpl = list(targets(relay).values())
    t.equal(len(tpl), 1, 'targets from the config')
    t.equal(tpl[0]['state'], 'publishing', 'config target state')

    # Adding a target needs the bearer token.
    path = '/v1/streams/%s/targets' % NAME
    body = {'url': ng2.rtmp(NAME)}
    r = h.api_call(relay, 'POST', path, body)
    t.equal(r.status, 401, 'POST without a token')
    t.check(error_message(r), 'POST without a token: {"error": message}', r.text)
    r = h.api_call(relay, 'POST', path, body, token='x' + token[1:])
    t.equal(r.status, 401, 'POST with a wrong token')
    r = h.api_call(relay, 'POST', path, body, headers={'Authorization': token})
    t.equal(r.status, 401, 'POST with the token but not as a bearer')
    t.equal(len(targets(relay)), 1, 'no target added by refused POSTs')

    r = h.api_call(relay, 'POST', path, body, token)
    t.equal(r.status, 201, 'POST with the bearer token')
    tid = r.json().get('id')
    t.check(isinstance(tid, str) and tid, 'POST answer has an id', r.text)
    t.equal(r.headers.get('Location'), '%s/%s' % (path, tid), 'Location header')
    # The same upstream twice would publish twice to one key: refused.
    r = h.api_call(relay, 'POST', path, body, token)
    t.equal(r.status, 409, 'POST the same target URL again')
    t.check(tid in (error_message(r) or ''), '409 names the existing target', r.text)
    t.wait('nginx2 receives the new target', lambda: ng2.stat().get(NAME, {}).get('publishing'),
           20)
    s = h.streams_by_type(h.ffprobe(ng2.rtmp(NAME)))
    t.check(s['video'] is not None, 'nginx2 stream has video', s)
    t.equal(s['video']['codec_name'], 'h264', 'video codec read from nginx2')
    t.equal((s['video']['width'], s['video']['height']), (640, 360), 'video size from nginx2')

    tg = t.wait('/v1 shows target %s publishing' % tid,
                lambda: targets(relay).get(tid, {}).get('state') == 'publishing' and
                targets(relay)[tid], 10)
    t.check(NAME not in tg['url'], '/v1 redacts the stream key in the target url', tg['url'])
    b0 = tg['bytes_out']
    time.sleep(2)
    b1 = targets(relay)[tid]['bytes_out']
    t.check(b1 - b0 > 50000, 'target bytes_out rises (%d bytes in 2 s)' % (b1 - b0), (b0, b1))

    check_bad_bodies(t, relay, path, token, sorted(targets(relay)))

    r = h.api_call(relay, 'DELETE', '%s/%s' % (path, tid))
    t.equal(r.status, 401, 'DELETE without a token')
    t.check(tid in targets(relay), 'target still there after a refused DELETE')
    r = h.api_call(relay, 'DELETE', '%s/%s' % (path, tid), token=token)
    t.equal(r.status, 204, 'DELETE with the bearer token')
    t.check(tid not in targets(relay), 'target gone from /v1', targets(relay))
    t.wait('nginx2 stops receiving (no publisher in /stat)',
           lambda: not ng2.stat().get(NAME, {}).get('publishing'), 5)
    r = h.api_call(relay, 'DELETE', '%s/%s' % (path, tid), token=token)
    t.equal(r.status, 404, 'DELETE again')
    t.check(error_message(r), 'DELETE again: {"error": message}', r.text)

    # An upstream that refuses the publish (on_publish -> 403 for "badkey").
    cfg_target = tpl[0]['id']
    r = h.api_call(relay, 'POST', path, {'url': ng3.rtmp('badkey')}, token)
    t.equal(r.status, 201, 'POST a target that the upstream refuses')
    bad = r.json()['id']
    seen = set()

    def refused():
        tg = targets(relay).get(bad, {})
        seen.add(tg.get('state'))
        return tg if tg.get('state') in REFUSED_STATES and tg.get('last_error') else None
    tg = t.wait('/v1 shows the refused target %s with an error' % bad, refused, 15)
    h.log('refused target: state %r, last_error %r' % (tg['state'], tg['last_error']))
    t.check('403' in ng3.access_log() and 'name=badkey' in ng3.access_log(),
            'nginx on_publish hook answered 403 for name=badkey', ng3.access_log()[-500:])
    time.sleep(3)
    tg = targets(relay)[bad]
    seen.add(tg['state'])
    t.check('publishing' not in seen, 'refused target never shows publishing', seen)
    t.check(tg['last_error'], 'refused target keeps its last_error (%r)' % tg['last_error'])
    t.check(not ng3.stat().get('badkey', {}).get('publishing'), 'nginx-auth has no publisher')
    t.equal(targets(relay)[cfg_target]['state'], 'publishing', 'other target still publishing')
    b0 = ng1.stat()[NAME]['bytes_in']
    relay.hls_advances(NAME)
    time.sleep(1)
    t.check(ng1.stat()[NAME]['bytes_in'] > b0, 'nginx1 keeps receiving')
    r = h.api_call(relay, 'DELETE', '%s/%s' % (path, bad), token=token)
    t.equal(r.status, 204, 'DELETE the refused target')

    pub.must_live = False
    pub.stop()
    t.equal(relay.stop(), 0, 'relay exit code after SIGTERM')


if __name__ == '__main__':
    h.run(main)
