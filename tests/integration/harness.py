# SPDX-License-Identifier: Apache-2.0
"""Black-box test harness for stagecast: real binaries, real peers.

Stdlib only. Every process a test starts is tracked and killed at exit
(atexit, signal handlers, a parent-death signal and process groups), its
output goes to a log file, and the logs are printed when a test fails. Every
wait is bounded in time. Everything listens on and talks to 127.0.0.1 only.

A test is a script that does

    import harness as h

    def main(t):
        relay = h.Relay(t).start()
        ...
        t.check(cond, 'what was checked')

    h.run(main)

and exits 0 (pass), 1 (fail) or 77 (skipped: meson's convention).

Binaries come from the environment meson sets: STAGECAST_RELAY (the relay
executable), SC_BUILD_DIR and SC_SOURCE_DIR.

The nginx-rtmp upstream (Nginx, NginxAuth, nginx_conf) lives in
harness_nginx.py and is re-exported here: tests use h.Nginx as before.
"""

import atexit
import ctypes
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.error
import urllib.request

LOOPBACK = '127.0.0.1'
HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.environ.get('SC_SOURCE_DIR') or os.path.dirname(os.path.dirname(HERE))
BUILD_DIR = os.environ.get('SC_BUILD_DIR') or os.path.join(SOURCE_DIR, 'build')
NGINX_RTMP_MODULE = '/usr/lib/nginx/modules/ngx_rtmp_module.so'

_procs = []
_tmpdirs = []


class Failure(Exception):
    """A check failed."""


class Skip(Exception):
    """The test cannot run here (a tool is missing)."""


def log(msg):
    print('[%7.2f] %s' % (time.monotonic() - _t0, msg), flush=True)


_t0 = time.monotonic()


# ---------------------------------------------------------------- processes

def _pdeathsig():
    """In the child: die with SIGKILL when the harness dies, whatever kills it."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
    except Exception:
        pass


class Proc:
    """A child process in its own process group, its output in a log file."""

    def __init__(self, t, name, argv, env=None, cwd=None):
        self.name = name
        self.argv = [str(a) for a in argv]
        self.log_path = t.path('%s.log' % name)
        n = 1
        while os.path.exists(self.log_path):
            n += 1
            self.log_path = t.path('%s.%d.log' % (name, n))
        self._log = open(self.log_path, 'wb')
        full_env = dict(os.environ)
        if env:
            full_env.update(env)
        self.p = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=self._log,
                                  stderr=subprocess.STDOUT, env=full_env, cwd=cwd,
                                  start_new_session=True, preexec_fn=_pdeathsig)
        self.pid = self.p.pid
        _procs.append(self)
        t.procs.append(self)

    def alive(self):
        return self.p.poll() is None

    @property
    def returncode(self):
        return self.p.poll()

    def wait(self, timeout):
        """Returns the exit code, or None if still running after timeout s."""
        try:
            return self.p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def send_signal(self, sig):
        if self.alive():
            try:
                os.killpg(self.pid, sig)
            except ProcessLookupError:
                pass

    def stop(self, timeout=10, sig=signal.SIGTERM):
        """sig to the group, then SIGKILL after timeout. Returns the exit code."""
        if self.alive():
            self.send_signal(sig)
            self.send_signal(signal.SIGCONT)  # a stopped process must run to die
            if self.wait(timeout) is None:
                self.send_signal(signal.SIGKILL)
                self.wait(5)
        else:
            # Reap stragglers the leader left in its group.
            try:
                os.killpg(self.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        self._log.flush()
        return self.p.poll()

    def kill(self):
        return self.stop(timeout=0.1, sig=signal.SIGKILL)

    def output(self):
        self._log.flush()
        with open(self.log_path, 'rb') as f:
            return f.read().decode('utf-8', 'replace')

    def tail(self, lines=80):
        return '\n'.join(self.output().splitlines()[-lines:])


def _cleanup():
    for p in reversed(_procs):
        try:
            p.stop(timeout=3)
        except Exception:
            pass
    del _procs[:]
    keep = os.environ.get('SC_KEEP_TMP')
    for d in _tmpdirs:
        if keep:
            print('kept %s' % d)
        else:
            shutil.rmtree(d, ignore_errors=True)
    del _tmpdirs[:]


def _on_signal(signum, frame):
    raise SystemExit(128 + signum)


atexit.register(_cleanup)
signal.signal(signal.SIGTERM, _on_signal)
signal.signal(signal.SIGHUP, _on_signal)


def which(tool):
    path = shutil.which(tool)
    if not path:
        raise Skip('%s not found' % tool)
    return path


def run_tool(argv, timeout, check=False):
    """Run a short tool to completion. Returns (code, stdout, stderr)."""
    try:
        r = subprocess.run([str(a) for a in argv], stdin=subprocess.DEVNULL,
                           capture_output=True, timeout=timeout, preexec_fn=_pdeathsig)
    except subprocess.TimeoutExpired as e:
        out = e.stdout.decode('utf-8', 'replace') if e.stdout else ''
        err = e.stderr.decode('utf-8', 'replace') if e.stderr else ''
        if check:
            raise Failure('%s: timed out after %ss: %s' % (argv[0], timeout, err[-2000:]))
        return None, out, err
    out = r.stdout.decode('utf-8', 'replace')
    err = r.stderr.decode('utf-8', 'replace')
    if check and r.returncode != 0:
        raise Failure('%s exited %d: %s' % (' '.join(map(str, argv)), r.returncode, err[-2000:]))
    return r.returncode, out, err


# ---------------------------------------------------------------- test context

class Test:
    def __init__(self, name):
        self.name = name
        self.tmp = tempfile.mkdtemp(prefix='sc-%s-' % name)
        _tmpdirs.append(self.tmp)
        self.procs = []
        self.checks = 0

    def path(self, *parts):
        return os.path.join(self.tmp, *parts)

    def check(self, cond, what, detail=None):
        self.checks += 1
        if not cond:
            raise Failure(what + ('' if detail is None else ': %s' % (detail,)))
        log('ok: %s' % what)

    def equal(self, got, want, what):
        self.check(got == want, '%s == %r' % (what, want), 'got %r' % (got,))

    def wait(self, what, fn, timeout, interval=0.25):
        """Poll fn() until it returns a true value; fail after timeout s."""
        deadline = time.monotonic() + timeout
        last_exc = None
        while True:
            try:
                v = fn()
                if v:
                    log('ok: %s' % what)
                    self.checks += 1
                    return v
            except (OSError, ValueError, KeyError, Failure) as e:
                last_exc = e
            if time.monotonic() >= deadline:
                raise Failure('timed out after %ss waiting for: %s%s' % (
                    timeout, what, '' if last_exc is None else ' (last error: %s)' % last_exc))
            for p in self.procs:
                if getattr(p, 'must_live', False) and not p.alive():
                    raise Failure('%s exited (%s) while waiting for: %s'
                                  % (p.name, p.returncode, what))
            time.sleep(interval)


def run(main, name=None):
    """Run main(t); print the verdict; exit 0, 1, or 77 when skipped."""
    name = name or os.path.splitext(os.path.basename(sys.argv[0]))[0]
    t = Test(name)
    code = 1
    verdict = 'FAIL %s' % name
    try:
        main(t)
        code = 0
    except Skip as e:
        print('SKIP %s: %s' % (name, e), flush=True)
        code = 77
    except (Failure, AssertionError) as e:
        verdict = 'FAIL %s: %s' % (name, e)
        print(verdict, flush=True)
    except BaseException as e:
        if isinstance(e, SystemExit) and e.code == 0:
            code = 0
        else:
            verdict = 'FAIL %s: %s' % (name, ''.join(traceback.format_exception(e)).strip())
            print(verdict, flush=True)
    finally:
        if code == 1:
            for p in t.procs:
                print('---- %s (pid %d, exit %s): %s ----' % (p.name, p.pid, p.returncode,
                                                         ' '.join(p.argv)))
                print(p.tail(120))
            print('---- end of logs ----')
            print(verdict, flush=True)  # again: meson shows only the last lines
        _cleanup()
    if code == 0:
        print('PASS %s (%d checks)' % (name, t.checks), flush=True)
    sys.exit(code)


# ---------------------------------------------------------------- network

def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]
    finally:
        s.close()


def port_open(port, host=LOOPBACK):
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def wait_for_port(port, timeout=10, proc=None, host=LOOPBACK):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if port_open(port, host):
            return
        if proc is not None and not proc.alive():
            raise Failure('%s exited (%s) before listening on %d'
                          % (proc.name, proc.returncode, port))
        time.sleep(0.1)
    raise Failure('nothing listens on %s:%d after %ss' % (host, port, timeout))


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    @property
    def text(self):
        return self.body.decode('utf-8', 'replace')

    def json(self):
        return json.loads(self.body)


def http(method, url, body=None, headers=None, timeout=5):
    """One HTTP request; HTTP errors are returned, not raised."""
    data = None
    hdrs = dict(headers or {})
    if body is not None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        hdrs.setdefault('Content-Type', 'application/json')
    req = urllib.request.Request(url, data=data, headers=hdrs, method=method)
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(req, timeout=timeout) as r:
            return Response(r.status, dict(r.headers), r.read())
    except urllib.error.HTTPError as e:
        return Response(e.code, dict(e.headers), e.read())


def http_get(url, timeout=5, headers=None):
    return http('GET', url, headers=headers, timeout=timeout)


def http_post(url, body=None, timeout=5, headers=None):
    return http('POST', url, body=body, headers=headers, timeout=timeout)


def parse_metrics(text):
    """Prometheus text -> {(name, ((label, value), ...)): float}."""
    out = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith('#'):
            continue
        m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)', line)
        if not m:
            continue
        labels = tuple(sorted(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"',
                                         m.group(3) or '')))
        try:
            out[(m.group(1), labels)] = float(m.group(4))
        except ValueError:
            pass
    return out


def metric(metrics, name, **labels):
    """Sum of the samples of name whose labels include the given ones."""
    total = 0.0
    for (n, lbls), v in metrics.items():
        if n == name and all((k, str(val)) in lbls for k, val in labels.items()):
            total += v
    return total


# ---------------------------------------------------------------- media tools

def ffprobe(url, timeout=25, extra=()):
    """ffprobe -show_streams -show_format as a dict."""
    argv = [which('ffprobe'), '-v', 'error', '-print_format', 'json', '-show_streams',
            '-show_format'] + list(extra)
    if url.startswith('rtmp://'):
        argv += ['-rw_timeout', str(int(timeout * 1e6))]
    argv.append(url)
    code, out, err = run_tool(argv, timeout + 5)
    if code != 0:
        raise Failure('ffprobe %s failed (%s): %s' % (url, code, err.strip()[-1000:]))
    return json.loads(out)


def fps(stream):
    """Frame rate of an ffprobe stream dict (avg_frame_rate, else r_frame_rate)."""
    for key in ('avg_frame_rate', 'r_frame_rate'):
        v = stream.get(key, '0/0')
        num, _, den = v.partition('/')
        try:
            if float(den or 1) > 0 and float(num) > 0:
                return float(num) / float(den or 1)
        except ValueError:
            pass
    return 0.0


def streams_by_type(info):
    """{'video': first video stream, 'audio': first audio stream} (or None)."""
    out = {'video': None, 'audio': None}
    for s in info.get('streams', []):
        kind = s.get('codec_type')
        if kind in out and out[kind] is None:
            out[kind] = s
    return out


def count_packets(url, seconds, select='v:0', timeout=None):
    """Packets of one stream read during the first `seconds` of url."""
    timeout = timeout or seconds + 25
    argv = [which('ffprobe'), '-v', 'error', '-select_streams', select, '-count_packets',
            '-show_entries', 'stream=nb_read_packets', '-print_format', 'json',
            '-read_intervals', '%%+%g' % seconds]
    if url.startswith('rtmp://'):
        argv += ['-rw_timeout', str(int(timeout * 1e6))]
    argv.append(url)
    code, out, err = run_tool(argv, timeout)
    if code != 0:
        raise Failure('ffprobe -count_packets %s failed (%s): %s' % (url, code, err[-1000:]))
    streams = json.loads(out).get('streams', [])
    return int(streams[0].get('nb_read_packets', 0)) if streams else 0


def decode_luma(url, timeout=25):
    """Mean luma (0-255) of one decoded video frame of url, taken 1 s in."""
    argv = [which('ffmpeg'), '-v', 'error', '-nostdin']
    if url.startswith('rtmp://'):
        argv += ['-rw_timeout', str(int(timeout * 1e6))]
    argv += ['-i', url, '-ss', '1', '-frames:v', '1', '-vf', 'scale=64:36,format=gray',
             '-f', 'rawvideo', '-']
    r = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True,
                       timeout=timeout + 5, preexec_fn=_pdeathsig)
    if r.returncode != 0 or not r.stdout:
        raise Failure('decoding a frame of %s failed: %s' % (url, r.stderr.decode()[-1000:]))
    return sum(r.stdout) / len(r.stdout)


def decode_tone(url, seconds=2, timeout=25):
    """Dominant frequency (Hz) of the audio of url, from zero crossings."""
    rate = 16000
    argv = [which('ffmpeg'), '-v', 'error', '-nostdin']
    if url.startswith('rtmp://'):
        argv += ['-rw_timeout', str(int(timeout * 1e6))]
    argv += ['-i', url, '-vn', '-t', str(seconds), '-ac', '1', '-ar', str(rate),
             '-f', 's16le', '-']
    r = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True,
                       timeout=timeout + seconds + 5, preexec_fn=_pdeathsig)
    data = r.stdout
    n = len(data) // 2
    if r.returncode != 0 or n < rate // 2:
        raise Failure('decoding audio of %s failed: %s' % (url, r.stderr.decode()[-1000:]))
    samples = memoryview(data[:n * 2]).cast('h')
    crossings = 0
    prev = samples[0]
    for s in samples[1:]:
        if (prev < 0) != (s < 0):
            crossings += 1
        prev = s
    return crossings / 2.0 / (n / rate)


def ffmpeg_publish(t, url, name='publisher', size='640x360', rate=25, freq=440,
                   duration=None, extra=()):
    """ffmpeg publishing test pattern + sine over RTMP, in real time."""
    argv = [which('ffmpeg'), '-hide_banner', '-nostdin', '-loglevel', 'warning', '-re',
            '-f', 'lavfi', '-i', 'testsrc2=size=%s:rate=%d' % (size, rate),
            '-f', 'lavfi', '-i', 'sine=frequency=%d:sample_rate=48000' % freq]
    if duration:
        argv += ['-t', str(duration)]
    argv += ['-c:v', 'libx264', '-preset', 'veryfast', '-tune', 'zerolatency',
             '-pix_fmt', 'yuv420p', '-g', str(2 * rate), '-keyint_min', str(2 * rate),
             '-sc_threshold', '0', '-b:v', '800k', '-threads', '1',
             '-c:a', 'aac', '-b:a', '96k'] + list(extra) + ['-f', 'flv', url]
    return Proc(t, name, argv)


# ---------------------------------------------------------------- HLS

def parse_m3u8(text):
    """The parts of a media playlist the tests look at."""
    pl = {'version': None, 'target': None, 'part_target': None, 'msn': 0,
          'segments': [], 'parts': [], 'discontinuities': 0, 'map': None,
          'endlist': False, 'server_control': None, 'preload_hint': None}
    seq = None
    dur = None
    disc = False
    trailing = 0
    lines = text.splitlines()
    if not lines or lines[0].strip() != '#EXTM3U':
        raise ValueError('not a playlist')
    for line in lines[1:]:
        line = line.strip()
        if not line:
            continue
        tag, _, val = line.partition(':')
        if tag == '#EXT-X-VERSION':
            pl['version'] = int(val)
        elif tag == '#EXT-X-TARGETDURATION':
            pl['target'] = int(val)
        elif tag == '#EXT-X-MEDIA-SEQUENCE':
            pl['msn'] = int(val)
        elif tag == '#EXT-X-PART-INF':
            m = re.search(r'PART-TARGET=([0-9.]+)', val)
            pl['part_target'] = float(m.group(1)) if m else None
        elif tag == '#EXT-X-SERVER-CONTROL':
            pl['server_control'] = val
        elif tag == '#EXT-X-MAP':
            m = re.search(r'URI="([^"]*)"', val)
            pl['map'] = m.group(1) if m else val
        elif tag == '#EXT-X-PART':
            m = re.search(r'DURATION=([0-9.]+)', val)
            u = re.search(r'URI="([^"]*)"', val)
            pl['parts'].append({'duration': float(m.group(1)) if m else None,
                                'uri': u.group(1) if u else None,
                                'independent': 'INDEPENDENT=YES' in val})
            trailing += 1
        elif tag == '#EXT-X-PRELOAD-HINT':
            pl['preload_hint'] = val
        elif tag == '#EXT-X-DISCONTINUITY':
            pl['discontinuities'] += 1
            disc = True
        elif tag == '#EXT-X-ENDLIST':
            pl['endlist'] = True
        elif tag == '#EXTINF':
            dur = float(val.split(',')[0])
        elif not line.startswith('#'):
            if dur is not None:
                if seq is None:
                    seq = pl['msn']
                pl['segments'].append({'uri': line, 'duration': dur, 'msn': seq,
                                       'discontinuity': disc})
                seq += 1
                trailing = 0
            dur = None
            disc = False
    pl['last_msn'] = seq - 1 if seq is not None else None
    pl['trailing_parts'] = trailing  # parts of the segment in progress
    return pl


# ---------------------------------------------------------------- relay

def binary(env, subdir, name):
    """A built program: $env if set, else BUILD_DIR/subdir/name."""
    exe = os.environ.get(env) or os.path.join(BUILD_DIR, subdir, name)
    if not os.access(exe, os.X_OK):
        raise Failure('%s not found: %s (set %s)' % (name, exe, env))
    return exe


def relay_binary():
    return binary('STAGECAST_RELAY', 'relay', 'stagecast-relay')


class JsonLines:
    """A file of one JSON object a line that another process appends to
    (fake_capture.py's events.jsonl): read afresh at every call."""

    def __init__(self, path):
        self.path = path

    def all(self):
        try:
            with open(self.path) as f:
                return [json.loads(line) for line in f if line.strip()]
        except FileNotFoundError:
            return []

    def of(self, name, ev=None):
        return [e for e in self.all() if e.get('name') == name and (ev is None or e['ev'] == ev)]


class Relay:
    """A stagecast-relay on free loopback ports with its own --hls-dir."""

    def __init__(self, t, args=(), name='relay', rtmp_port=None, http_port=None):
        self.t = t
        self.name = name
        self.args = [str(a) for a in args]
        self.rtmp_port = rtmp_port or free_port()
        self.http_port = http_port or free_port()
        self.hls_dir = t.path('%s-hls' % name)
        self.proc = None
        self.exe = relay_binary()

    def start(self, timeout=10):
        os.makedirs(self.hls_dir, exist_ok=True)
        argv = [self.exe, '--rtmp', '%s:%d' % (LOOPBACK, self.rtmp_port),
                '--http', '%s:%d' % (LOOPBACK, self.http_port),
                '--hls-dir', self.hls_dir, '--log-level', 'debug'] + self.args
        self.proc = Proc(self.t, self.name, argv)
        self.proc.must_live = True
        wait_for_port(self.rtmp_port, timeout, self.proc)
        wait_for_port(self.http_port, timeout, self.proc)
        log('%s up: rtmp %d, http %d' % (self.name, self.rtmp_port, self.http_port))
        return self

    def stop(self, timeout=None):
        """SIGTERM; returns the exit code (SIGKILL after timeout gives -9).
        The relay stops in well under a second (1.4 s with ASan's leak check
        at exit); the budget is for a 2-core machine under load, twice that
        in sanitizer builds. If it runs out, where the process sits is
        logged before it is killed, so a real hang can be told from load."""
        if timeout is None:
            timeout = 40 if os.environ.get('ASAN_OPTIONS') else 20
        self.proc.must_live = False
        if not self.proc.alive():
            return self.proc.stop()
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout)
        if code is None:
            where = {}
            for tid in os.listdir('/proc/%d/task' % self.proc.pid):
                try:
                    with open('/proc/%d/task/%s/wchan' % (self.proc.pid, tid)) as f:
                        where[tid] = f.read().strip()
                except OSError:
                    pass
            log('%s did not exit %d s after SIGTERM; its threads wait in %s'
                % (self.name, timeout, where))
            code = self.proc.stop(1, sig=signal.SIGKILL)
        return code

    def alive(self):
        return self.proc is not None and self.proc.alive()

    def rtmp(self, name, token=None):
        url = 'rtmp://%s:%d/live/%s' % (LOOPBACK, self.rtmp_port, name)
        return url + ('?token=%s' % token if token else '')

    def url(self, path):
        return 'http://%s:%d%s' % (LOOPBACK, self.http_port, path)

    def hls(self, name, file='index.m3u8'):
        return self.url('/hls/%s/%s' % (name, file))

    def get(self, path, timeout=5, headers=None):
        return http_get(self.url(path), timeout=timeout, headers=headers)

    def streams(self):
        r = self.get('/v1/streams')
        if r.status != 200:
            raise Failure('GET /v1/streams: %d %s' % (r.status, r.text[:200]))
        return {s['name']: s for s in r.json().get('streams', [])}

    def stream(self, name):
        """The /v1 stream object, or None on 404."""
        r = self.get('/v1/streams/%s' % name)
        if r.status == 404:
            return None
        if r.status != 200:
            raise Failure('GET /v1/streams/%s: %d %s' % (name, r.status, r.text[:200]))
        return r.json()

    def metrics(self):
        r = self.get('/metrics')
        if r.status != 200:
            raise Failure('GET /metrics: %d' % r.status)
        return parse_metrics(r.text)

    def playlist(self, name, timeout=5):
        """Parsed index.m3u8 of name, or None while it does not exist."""
        r = http_get(self.hls(name), timeout=timeout)
        if r.status == 404:
            return None
        if r.status != 200:
            raise Failure('GET %s: %d' % (self.hls(name), r.status))
        return parse_m3u8(r.text)

    def wait_live(self, name, timeout=20):
        return self.t.wait('/v1 shows %s live' % name,
                           lambda: (self.stream(name) or {}).get('live') is True, timeout)

    def wait_segments(self, name, n=1, timeout=30):
        def ready():
            pl = self.playlist(name)
            return pl if pl and len(pl['segments']) >= n else None
        return self.t.wait('%s playlist has %d segment(s)' % (name, n), ready, timeout)

    def hls_advances(self, name, timeout=15):
        """Waits until the playlist's last segment or part moves on."""
        first = self.playlist(name)
        if first is None:
            raise Failure('no playlist for %s' % name)
        def mark(pl):
            last_part = pl['parts'][-1]['uri'] if pl['parts'] else None
            return (pl['last_msn'] if pl['last_msn'] is not None else -1, last_part,
                    pl['preload_hint'])
        m0 = mark(first)

        def moved():
            pl = self.playlist(name)
            return pl is not None and mark(pl) != m0 and mark(pl)[0] >= m0[0]
        return self.t.wait('HLS of %s keeps advancing' % name, moved, timeout)


# ---------------------------------------------------------------- additions: config, API

def relay_start_config(t, config_path, extra=(), name='relay', rtmp_port=None, http_port=None,
                       timeout=10):
    """A Relay started as `stagecast-relay --config FILE` and nothing else.

    rtmp_port and http_port are where the file says it listens (the harness
    waits for them and uses them for URLs); hls_dir is left to the file.
    """
    relay = Relay(t, name=name, rtmp_port=rtmp_port, http_port=http_port)
    argv = [relay.exe, '--config', config_path] + [str(a) for a in extra]
    relay.proc = Proc(t, name, argv)
    relay.proc.must_live = True
    wait_for_port(relay.rtmp_port, timeout, relay.proc)
    wait_for_port(relay.http_port, timeout, relay.proc)
    log('%s up from %s: rtmp %d, http %d' % (name, config_path, relay.rtmp_port,
                                             relay.http_port))
    return relay


def api_call(relay, method, path, body=None, token=None, timeout=5, headers=None):
    """A /v1 request to relay; token adds `Authorization: Bearer token`."""
    hdrs = dict(headers or {})
    if token is not None:
        hdrs['Authorization'] = 'Bearer %s' % token
    return http(method, relay.url(path), body=body, headers=hdrs, timeout=timeout)


def first_frame_time(url, timeout=20, extra=()):
    """(seconds until ffmpeg decoded the first video frame of url, exit code, stderr).

    Wall time of `ffmpeg -i url -frames:v 1 -f null -`, process start included.
    """
    argv = [which('ffmpeg'), '-hide_banner', '-nostdin', '-v', 'error']
    if url.startswith('rtmp://'):
        argv += ['-rw_timeout', str(int(timeout * 1e6))]
    argv += list(extra) + ['-i', url, '-map', '0:v:0', '-frames:v', '1', '-f', 'null', '-']
    t0 = time.monotonic()
    code, _, err = run_tool(argv, timeout + 5)
    return time.monotonic() - t0, code, err


# ---------------------------------------------------------------- nginx-rtmp

# Last, once everything above is defined: harness_nginx takes what it needs
# from this module, and tests keep using h.Nginx, h.NginxAuth, h.nginx_conf.
import harness_nginx  # noqa: E402

NGINX_CONF = harness_nginx.NGINX_CONF
NGINX_ON_PUBLISH = harness_nginx.NGINX_ON_PUBLISH
NGINX_AUTH_LOCATION = harness_nginx.NGINX_AUTH_LOCATION
nginx_conf = harness_nginx.nginx_conf
Nginx = harness_nginx.Nginx
NginxAuth = harness_nginx.NginxAuth
