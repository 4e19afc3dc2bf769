# SPDX-License-Identifier: Apache-2.0
"""A real WebRTC conference for the capture tests: Janus VideoRoom plus
independent GStreamer webrtcbin publishers, inside a network namespace.

Stdlib only (the gi parts live in webrtc_publisher.py and
webrtc_subscriber.py, which run under Debian's /usr/bin/python3). Use:

    import harness as h
    import conference as c

    def main(t):
        conf = c.Conference(t).start()       # enters a fresh netns first
        red = conf.add_publisher('red', color=0xff0000, tone=440)
        ...
        red.stop()                           # leaves the room
        conf.wait_gone(red)

Why a network namespace: Janus never gathers ICE candidates on an interface
flagged LOOPBACK (hard-coded) and libnice skips them by default, and a
wrong `ice_enforce_list` silently falls back to the machine's real
interfaces. So the test process moves itself into a new network namespace
(unshare(CLONE_NEWNET), root only), brings `lo` up and puts 127.0.0.2/32 on
one end of a veth pair (both ends stay in the namespace; a `dummy` link
would do as well where the kernel has the module). Every process the test
starts afterwards (Janus, publishers, ffmpeg, relay, capture) inherits the
namespace; nothing can reach or be reached from the host network.
"""

import ctypes
import json
import os
import re
import shutil
import threading
import time
import urllib.request

import harness as h

HERE = os.path.dirname(os.path.abspath(__file__))
JANUS_TEMPLATES = os.path.join(HERE, 'janus')
ICE_IP = '127.0.0.2'
ICE_LINK = 'sc-ice'
ICE_PEER = 'sc-ice-peer'
SYSTEM_PYTHON = '/usr/bin/python3'
JANUS_LIBDIR = '/usr/lib/x86_64-linux-gnu/janus'
CLONE_NEWNET = 0x40000000
STREAM_AUDIO_PORT = 5002  # Streaming mountpoint 1 (Conference(streaming=True))
STREAM_VIDEO_PORT = 5004

_in_netns = False


# ---------------------------------------------------------------- namespace

def _sh(argv):
    code, out, err = h.run_tool(argv, 10)
    if code != 0:
        raise h.Failure('%s: exit %s: %s' % (' '.join(argv), code, err.strip()))
    return out


def enter_netns():
    """Move this process into a new network namespace set up for ICE.

    Must run before the test starts any thread or process. Raises Skip when
    not root or when namespaces are not available.
    """
    global _in_netns
    if _in_netns:
        return
    if os.geteuid() != 0:
        raise h.Skip('needs root for a network namespace')
    ip = h.which('ip')
    if threading.active_count() != 1:
        raise h.Failure('enter_netns() must run before any thread starts')
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(CLONE_NEWNET) != 0:
        raise h.Skip('unshare(CLONE_NEWNET): %s' % os.strerror(ctypes.get_errno()))
    _in_netns = True
    _sh([ip, 'link', 'set', 'lo', 'up'])
    # IPv6 off: no ::1 or link-local candidates, and nothing to fall back to.
    for conf in ('all', 'default', 'lo'):
        try:
            with open('/proc/sys/net/ipv6/conf/%s/disable_ipv6' % conf, 'w') as f:
                f.write('1')
        except OSError:
            pass  # kernel without IPv6: fine
    _sh([ip, 'link', 'add', ICE_LINK, 'type', 'veth', 'peer', 'name', ICE_PEER])
    _sh([ip, 'addr', 'add', ICE_IP + '/32', 'dev', ICE_LINK])
    _sh([ip, 'link', 'set', ICE_LINK, 'up'])
    _sh([ip, 'link', 'set', ICE_PEER, 'up'])
    out = _sh([ip, '-4', '-o', 'addr', 'show', 'dev', ICE_LINK])
    if ICE_IP not in out:
        raise h.Failure('%s not on %s: %s' % (ICE_IP, ICE_LINK, out))
    h.log('network namespace ready: lo up, %s on %s (veth), IPv6 off' % (ICE_IP, ICE_LINK))


def netem(args, dev='lo'):
    """tc qdisc replace dev DEV root netem ARGS (e.g. 'loss 5% delay 10ms 30ms')."""
    if not _in_netns:
        raise h.Failure('netem outside the test namespace')
    _sh([h.which('tc'), 'qdisc', 'replace', 'dev', dev, 'root', 'netem'] + args.split())


# ---------------------------------------------------------------- Janus HTTP API

class JanusError(Exception):
    def __init__(self, code, reason):
        Exception.__init__(self, '%s: %s' % (code, reason))
        self.code = code
        self.reason = reason


class JanusClient:
    """One Janus API session over HTTP (stdlib only, thread-safe calls)."""

    def __init__(self, base_url, timeout=10):
        self.base = base_url.rstrip('/')
        self.timeout = timeout
        self.session = None
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        self._n = 0
        self._lock = threading.Lock()

    def _tid(self):
        with self._lock:
            self._n += 1
            return 'sc%d-%d' % (os.getpid(), self._n)

    def _send(self, url, body=None, timeout=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(url, data=data, method='GET' if body is None else 'POST',
                                     headers={'Content-Type': 'application/json'})
        with self._opener.open(req, timeout=timeout or self.timeout) as r:
            return json.loads(r.read())

    def post(self, path, body):
        """POST body (a transaction is added); raises JanusError on 'error'."""
        body = dict(body)
        body.setdefault('transaction', self._tid())
        r = self._send(self.base + path, body)
        if r.get('janus') == 'error':
            e = r.get('error', {})
            raise JanusError(e.get('code'), e.get('reason'))
        return r

    def info(self):
        return self._send(self.base + '/info')

    def create(self):
        self.session = self.post('', {'janus': 'create'})['data']['id']
        return self.session

    def attach(self, plugin='janus.plugin.videoroom'):
        r = self.post('/%d' % self.session, {'janus': 'attach', 'plugin': plugin})
        return r['data']['id']

    def message(self, handle, body, jsep=None):
        """A plugin message: the 'ack' of an async request or the sync result."""
        msg = {'janus': 'message', 'body': body}
        if jsep is not None:
            msg['jsep'] = jsep
        return self.post('/%d/%d' % (self.session, handle), msg)

    def request(self, handle, body):
        """A synchronous plugin request; returns plugindata.data."""
        r = self.message(handle, body)
        data = r.get('plugindata', {}).get('data', {})
        if 'error_code' in data or data.get('videoroom') == 'error':
            raise JanusError(data.get('error_code'), data.get('error'))
        return data

    def trickle(self, handle, candidate):
        return self.post('/%d/%d' % (self.session, handle),
                         {'janus': 'trickle', 'candidate': candidate})

    def keepalive(self):
        return self.post('/%d' % self.session, {'janus': 'keepalive'})

    def poll(self, maxev=10, timeout=40):
        """Long poll (Janus holds it up to 30 s): a list of events."""
        url = '%s/%d?rid=%d&maxev=%d' % (self.base, self.session,
                                         int(time.time() * 1000), maxev)
        r = self._send(url, timeout=timeout)
        events = r if isinstance(r, list) else [r]
        return [e for e in events if e.get('janus') != 'keepalive']

    def detach(self, handle):
        return self.post('/%d/%d' % (self.session, handle), {'janus': 'detach'})

    def destroy(self):
        if self.session is not None:
            try:
                self.post('/%d' % self.session, {'janus': 'destroy'})
            finally:
                self.session = None


# ---------------------------------------------------------------- the conference

def _fill(template, values):
    with open(os.path.join(JANUS_TEMPLATES, template)) as f:
        text = f.read()
    for k, v in values.items():
        text = text.replace('@%s@' % k, str(v))
    left = set(re.findall(r'@[A-Z_]+@', text)) - {'@NAME@'}
    if left:
        raise h.Failure('%s: unfilled placeholders %s' % (template, sorted(left)))
    return text


def _private_folder(dst, src, keep):
    """dst holds symlinks to the libraries of src named in keep (only)."""
    shutil.rmtree(dst, ignore_errors=True)  # a restart writes it again
    os.makedirs(dst)
    others = []
    for name in sorted(os.listdir(src)) if os.path.isdir(src) else []:
        if not name.endswith('.so'):
            continue
        if name in keep:
            os.symlink(os.path.join(src, name), os.path.join(dst, name))
        else:
            others.append(name)
    missing = [k for k in keep if not os.path.exists(os.path.join(dst, k))]
    if missing:
        raise h.Skip('Janus library missing: %s (apt-get install janus)' % ', '.join(missing))
    return ','.join(others)


class Conference:
    """Janus (VideoRoom + HTTP only) in the test's network namespace."""

    def __init__(self, t, room=1234, publishers=9, pin=None, http_port=None,
                 host=ICE_IP, debug_level=4, streaming=False):
        self.t = t
        self.room = room
        self.max_publishers = publishers
        self.pin = pin
        self.host = host
        self.http_port = http_port
        self.debug_level = debug_level
        self.dir = t.path('janus')
        self.proc = None
        self.publishers = []
        self.secret = 'sc-room-secret'
        self.admin_key = 'sc-admin-key'
        self._api = None
        self._handle = None
        self.started_in = None
        # streaming=True: also the Streaming plugin with one RTP mountpoint
        # (id 1, Opus on STREAM_AUDIO_PORT, VP8 on STREAM_VIDEO_PORT) and the
        # WebSockets transport on ws_port (for janus-whep-server).
        self.streaming = streaming
        self.ws_port = None

    # URLs the capture and the publishers use
    @property
    def http_url(self):
        return 'http://%s:%d/janus' % (self.host, self.http_port)

    @property
    def ws_url(self):
        return 'ws://%s:%d' % (self.host, self.ws_port)

    @property
    def url(self):
        """The capture's --conference URL."""
        return 'janus://%s:%d/%d' % (self.host, self.http_port, self.room)

    def start(self, timeout=20):
        janus = h.which('janus')
        if not os.access(SYSTEM_PYTHON, os.X_OK):
            raise h.Skip('%s missing' % SYSTEM_PYTHON)
        code, _, err = h.run_tool([SYSTEM_PYTHON, '-c', 'import gi; '
                                   'gi.require_version("Gst", "1.0"); '
                                   'gi.require_version("GstWebRTC", "1.0"); '
                                   'from gi.repository import Gst, GstWebRTC'], 20)
        if code != 0:
            raise h.Skip('no GStreamer webrtc in %s (tools/install-deps): %s'
                         % (SYSTEM_PYTHON, err.strip()[-300:]))
        enter_netns()
        if self.http_port is None:
            self.http_port = h.free_port()
        os.makedirs(self.dir, exist_ok=True)
        d = self.dir
        values = {
            'CONFDIR': d, 'PLUGINS_DIR': d + '/plugins', 'TRANSPORTS_DIR': d + '/transports',
            'EVENTS_DIR': d + '/events', 'LOGGERS_DIR': d + '/loggers',
            'DEBUG_LEVEL': self.debug_level, 'ICE_IP': ICE_IP,
            'ADMIN_SECRET': 'sc-admin-secret', 'RTP_PORTS': '20000-40000',
            'HTTP_IP': self.host, 'HTTP_PORT': self.http_port,
            'ADMIN_KEY': self.admin_key, 'ROOM': self.room, 'ROOM_SECRET': self.secret,
            'PIN_LINE': '\tpin = "%s"' % self.pin if self.pin else '',
            'PUBLISHERS': self.max_publishers,
        }
        plugins, transports = ['libjanus_videoroom.so'], ['libjanus_http.so']
        configs = ['janus.jcfg', 'janus.transport.http.jcfg', 'janus.plugin.videoroom.jcfg']
        if self.streaming:
            if self.ws_port is None:
                self.ws_port = h.free_port()
            values.update({'WS_PORT': self.ws_port, 'AUDIO_PORT': STREAM_AUDIO_PORT,
                           'VIDEO_PORT': STREAM_VIDEO_PORT})
            plugins.append('libjanus_streaming.so')
            transports.append('libjanus_websockets.so')
            configs += ['janus.plugin.streaming.jcfg', 'janus.transport.websockets.jcfg']
        values['DISABLE_PLUGINS'] = _private_folder(
            d + '/plugins', JANUS_LIBDIR + '/plugins', plugins)
        values['DISABLE_TRANSPORTS'] = _private_folder(
            d + '/transports', JANUS_LIBDIR + '/transports', transports)
        values['DISABLE_LOGGERS'] = _private_folder(
            d + '/loggers', JANUS_LIBDIR + '/loggers', [])
        _private_folder(d + '/events', JANUS_LIBDIR + '/events', [])
        for name in configs:
            with open(os.path.join(d, name), 'w') as f:
                f.write(_fill(name + '.in', values))
        t0 = time.monotonic()
        self.proc = h.Proc(self.t, 'janus', [janus, '-F', d, '-C', d + '/janus.jcfg', '-o'],
                           cwd=d)
        self.proc.must_live = True
        info = self.t.wait('Janus answers /janus/info', self._info_ready, timeout, 0.1)
        self.started_in = time.monotonic() - t0
        self.t.check('janus.plugin.videoroom' in info.get('plugins', {}),
                     'Janus loaded the VideoRoom plugin', sorted(info.get('plugins', {})))
        self.t.equal(sorted(info.get('plugins', {})),
                     ['janus.plugin.streaming', 'janus.plugin.videoroom'] if self.streaming
                     else ['janus.plugin.videoroom'], 'Janus plugins')
        self.t.equal(sorted(info.get('transports', {})),
                     ['janus.transport.http', 'janus.transport.websockets'] if self.streaming
                     else ['janus.transport.http'], 'Janus transports')
        self._api = JanusClient(self.http_url)
        self._api.create()
        self._handle = self._api.attach()
        self._keepalive = threading.Event()
        th = threading.Thread(target=self._keepalives, daemon=True)
        th.start()
        self.t.check(self.exists(self.room), 'room %d exists' % self.room)
        h.log('janus up in %.2f s: %s' % (self.started_in, self.url))
        return self

    def _info_ready(self):
        if not h.port_open(self.http_port, self.host):
            return None
        r = h.http_get(self.http_url + '/info', timeout=2)
        return r.json() if r.status == 200 else None

    def _keepalives(self):
        while not self._keepalive.wait(25):
            try:
                self._api.keepalive()
            except Exception:
                pass

    def stop(self, timeout=10):
        for p in list(self.publishers):
            p.stop()
        if self._api is not None:
            self._keepalive.set()
            try:
                self._api.destroy()
            except Exception:
                pass
            self._api = None
        if self.proc is not None:
            self.proc.must_live = False
            return self.proc.stop(timeout)
        return None

    def restart(self, timeout=20):
        """Kill Janus (SIGKILL) and start it again with the same config and port."""
        self.proc.must_live = False
        self.proc.kill()
        if self._api is not None:
            self._keepalive.set()
            self._api = None
        for p in self.publishers:
            p.must_live = False
        return self.start(timeout)

    # VideoRoom requests (synchronous ones, through the test's own handle)
    def request(self, body):
        return self._api.request(self._handle, body)

    def exists(self, room):
        return self.request({'request': 'exists', 'room': room}).get('exists') is True

    def create_room(self, room, publishers=9, pin=None, **extra):
        body = {'request': 'create', 'room': room, 'publishers': publishers,
                'audiocodec': 'opus', 'videocodec': 'vp8,h264', 'admin_key': self.admin_key,
                'secret': self.secret, 'permanent': False}
        if pin:
            body['pin'] = pin
        body.update(extra)
        return self.request(body)

    def destroy_room(self, room):
        return self.request({'request': 'destroy', 'room': room, 'secret': self.secret})

    def participants(self, room=None):
        """listparticipants: [{id, display, publisher, talking?}, ...]."""
        return self.request({'request': 'listparticipants',
                             'room': room or self.room}).get('participants', [])

    def publisher_ids(self, room=None):
        return {p['id']: p.get('display') for p in self.participants(room)
                if p.get('publisher')}

    # publishers
    def add_publisher(self, name, color=0xff0000, tone=440, codec='vp8', size=(640, 360),
                      fps=15, mode='solid', wait=True, timeout=30, extra=()):
        p = Publisher(self, name, color, tone, codec, size, fps, mode, extra)
        self.publishers.append(p)
        if wait:
            p.wait_ready(timeout)
        return p

    def wait_publishing(self, pub, timeout=10):
        return self.t.wait('%s listed as publisher' % pub.name,
                           lambda: pub.id in self.publisher_ids(), timeout)

    def wait_gone(self, pub, timeout=10):
        return self.t.wait('%s no longer in the room' % pub.name,
                           lambda: pub.id not in [p['id'] for p in self.participants()],
                           timeout)

    def subscribe(self, feed, seconds=3, timeout=40, name='subscriber'):
        """Runs webrtc_subscriber.py on feed; returns its result dict."""
        argv = [SYSTEM_PYTHON, os.path.join(HERE, 'webrtc_subscriber.py'),
                '--url', self.http_url, '--room', self.room, '--feed', feed,
                '--seconds', seconds]
        if self.pin:
            argv += ['--pin', self.pin]
        proc = h.Proc(self.t, name, argv, env=_gst_env())
        code = proc.wait(timeout)
        if code is None:
            proc.stop()
            raise h.Failure('%s on feed %s did not finish in %ss' % (name, feed, timeout))
        result = None
        for line in proc.output().splitlines():
            if line.startswith('{'):
                msg = json.loads(line)
                if msg.get('event') == 'result':
                    result = msg
        if code != 0 or result is None:
            raise h.Failure('%s on feed %s failed (exit %s): %s'
                            % (name, feed, code, proc.tail(30)))
        return result


def _gst_env():
    # No user registry surprises; warnings only, unless the caller asks more.
    return {'GST_DEBUG': os.environ.get('SC_GST_DEBUG', '1'), 'GST_DEBUG_NO_COLOR': '1',
            'PYTHONUNBUFFERED': '1', 'PYTHONDONTWRITEBYTECODE': '1'}


class Publisher:
    """One webrtc_publisher.py process: a participant with a colour and a tone."""

    def __init__(self, conf, name, color, tone, codec, size, fps, mode, extra=()):
        self.conf = conf
        self.name = name
        self.color = color
        self.tone = tone
        self.codec = codec
        self.mode = mode
        self.id = None
        self.ready_in = None
        argv = [SYSTEM_PYTHON, os.path.join(HERE, 'webrtc_publisher.py'),
                '--url', conf.http_url, '--room', conf.room, '--display', name,
                '--color', '0x%06x' % color, '--tone', tone, '--codec', codec,
                '--size', '%dx%d' % size, '--fps', fps, '--mode', mode] + list(extra)
        if conf.pin:
            argv += ['--pin', conf.pin]
        self._t0 = time.monotonic()
        self.proc = h.Proc(conf.t, 'pub-%s' % name, argv, env=_gst_env())

    @property
    def must_live(self):
        return self.proc.must_live if hasattr(self.proc, 'must_live') else False

    @must_live.setter
    def must_live(self, v):
        self.proc.must_live = v

    def events(self):
        out = []
        for line in self.proc.output().splitlines():
            if line.startswith('{'):
                try:
                    out.append(json.loads(line))
                except ValueError:
                    pass
        return out

    def _ready(self):
        for e in self.events():
            if e.get('event') == 'ready':
                return e
            if e.get('event') == 'error':
                raise h.Failure('publisher %s: %s' % (self.name, e.get('error')))
        if not self.proc.alive():
            raise h.Failure('publisher %s exited (%s)' % (self.name, self.proc.returncode))
        return None

    def wait_ready(self, timeout=30):
        def ready():
            try:
                return self._ready()
            except h.Failure as e:
                raise _Fatal(str(e))
        try:
            e = self.conf.t.wait('publisher %s up (webrtcup)' % self.name, ready, timeout, 0.1)
        except _Fatal as e:
            raise h.Failure(str(e))
        self.id = e['id']
        self.ready_in = time.monotonic() - self._t0

        def media():
            kinds = {e.get('type') for e in self.events()
                     if e.get('event') == 'janus-media' and e.get('receiving')}
            return {'audio', 'video'} <= kinds
        self.conf.t.wait('Janus receives audio and video from %s' % self.name, media, 10, 0.1)
        self.proc.must_live = True
        what = ('#%06x, %g Hz' % (self.color, self.tone) if self.mode == 'solid'
                else 'flash+beep')
        h.log('publisher %s (id %s, %s, %s) ready in %.2f s'
              % (self.name, self.id, self.codec, what, self.ready_in))
        return self

    def alive(self):
        return self.proc.alive()

    def stop(self, timeout=10):
        """SIGTERM: the publisher leaves the room and exits. Returns its exit code."""
        self.proc.must_live = False
        if self in self.conf.publishers:
            self.conf.publishers.remove(self)
        return self.proc.stop(timeout)

    def kill(self):
        """SIGKILL: gone without leaving (Janus notices when ICE/DTLS dies)."""
        self.proc.must_live = False
        if self in self.conf.publishers:
            self.conf.publishers.remove(self)
        return self.proc.kill()


class _Fatal(BaseException):
    """Escapes Test.wait's retry loop (it retries on Failure)."""


def rgb_close(got, want, tol=40):
    """got: [r, g, b]; want: 0xRRGGBB. True when each channel is within tol."""
    w = ((want >> 16) & 255, (want >> 8) & 255, want & 255)
    return all(abs(g - x) <= tol for g, x in zip(got, w))
