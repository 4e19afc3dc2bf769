# SPDX-License-Identifier: Apache-2.0
"""Real etcd for the tests: one node or a cluster on 127.0.0.1.

Debian's etcd-server (3.4). Each node gets its own ports and a data
directory in the test's temporary directory; nodes are started, killed
(SIGKILL, by PID) and restarted on the same data. Every wait is bounded.

    import etcd
    cluster = etcd.Cluster(t, 3).start()
    spec = cluster.spec('run1')          # etcd://127.0.0.1:P1,...,/run1
    cluster.kill(cluster.leader())
    cluster.restart(i)
"""

import base64
import json
import os
import shutil
import signal
import time
import urllib.error
import urllib.request

import harness as h


def etcd_binary():
    path = shutil.which('etcd') or ('/usr/bin/etcd' if os.path.exists('/usr/bin/etcd') else None)
    if not path:
        raise h.Skip('etcd not found (apt-get install etcd-server)')
    return path


def _post(port, path, body, timeout=2.0):
    """POST JSON to a node's gateway; the decoded answer or None."""
    req = urllib.request.Request('http://%s:%d%s' % (h.LOOPBACK, port, path),
                                 data=json.dumps(body).encode(), method='POST',
                                 headers={'Content-Type': 'application/json'})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(req, timeout=timeout) as r:
            return json.loads(r.read())
    except (OSError, ValueError, urllib.error.URLError):
        return None


def b64(s):
    return base64.b64encode(s.encode()).decode()


class Node:
    def __init__(self, t, name, client_port, peer_port, data_dir):
        self.t = t
        self.name = name
        self.client_port = client_port
        self.peer_port = peer_port
        self.data_dir = data_dir
        self.proc = None

    @property
    def endpoint(self):
        return '%s:%d' % (h.LOOPBACK, self.client_port)

    def alive(self):
        return self.proc is not None and self.proc.alive()

    def healthy(self):
        """The node answers and the cluster it sees has a leader."""
        if not self.alive():
            return False
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        try:
            with opener.open('http://%s/health' % self.endpoint, timeout=1.5) as r:
                return json.loads(r.read()).get('health') == 'true'
        except (OSError, ValueError, urllib.error.URLError):
            return False

    def status(self):
        """maintenance/status: {'member_id', 'leader'} as strings, or None."""
        r = _post(self.client_port, '/v3/maintenance/status', {})
        if not r or 'header' not in r:
            return None
        return {'member_id': r['header'].get('member_id'), 'leader': r.get('leader')}


class Cluster:
    _count = 0

    def __init__(self, t, size=1, election_ms=1000, heartbeat_ms=100):
        Cluster._count += 1
        self.t = t
        self.binary = etcd_binary()
        self.election_ms = election_ms
        self.heartbeat_ms = heartbeat_ms
        self.token = 'sc-%d-%d-%d' % (os.getpid(), int(time.time()), Cluster._count)
        self.nodes = [Node(t, 'n%d' % i, h.free_port(), h.free_port(),
                           t.path('etcd%d-n%d' % (Cluster._count, i))) for i in range(size)]

    def initial_cluster(self):
        return ','.join('%s=http://%s:%d' % (n.name, h.LOOPBACK, n.peer_port) for n in self.nodes)

    def _argv(self, n):
        return [self.binary,
                '--name', n.name,
                '--data-dir', n.data_dir,
                '--listen-client-urls', 'http://%s' % n.endpoint,
                '--advertise-client-urls', 'http://%s' % n.endpoint,
                '--listen-peer-urls', 'http://%s:%d' % (h.LOOPBACK, n.peer_port),
                '--initial-advertise-peer-urls', 'http://%s:%d' % (h.LOOPBACK, n.peer_port),
                '--initial-cluster', self.initial_cluster(),
                '--initial-cluster-state', 'new',
                '--initial-cluster-token', self.token,
                '--heartbeat-interval', str(self.heartbeat_ms),
                '--election-timeout', str(self.election_ms),
                '--logger', 'zap', '--log-level', 'warn']

    def _spawn(self, i):
        n = self.nodes[i]
        n.proc = h.Proc(self.t, 'etcd-%s' % n.name, self._argv(n))
        n.proc.must_live = False

    def start(self, timeout=30):
        for i in range(len(self.nodes)):
            self._spawn(i)
        self.wait_healthy(timeout=timeout)
        return self

    def wait_healthy(self, nodes=None, timeout=30):
        """Until every listed (default: every running) node reports health."""
        idx = nodes if nodes is not None else [i for i, n in enumerate(self.nodes) if n.alive()]

        def ok():
            for i in idx:
                if not self.nodes[i].alive():
                    raise h.Failure('etcd %s exited (%s)' % (self.nodes[i].name,
                                                            self.nodes[i].proc.returncode))
            return all(self.nodes[i].healthy() for i in idx)
        self.t.wait('etcd %s healthy' % ','.join(self.nodes[i].name for i in idx), ok, timeout)

    def endpoints(self):
        return ','.join(n.endpoint for n in self.nodes)

    def spec(self, namespace=None):
        return 'etcd://%s%s' % (self.endpoints(), '/' + namespace if namespace else '')

    def leader(self, timeout=15):
        """Index of the leader node, as the running nodes agree on it."""
        def find():
            ids = {}
            leaders = set()
            for i, n in enumerate(self.nodes):
                if not n.alive():
                    continue
                s = n.status()
                if not s:
                    return None
                ids[s['member_id']] = i
                leaders.add(s['leader'])
            if len(leaders) == 1:
                lid = leaders.pop()
                if lid in ids:
                    return ids[lid] + 1  # 0 would read as "not yet"
            return None
        return self.t.wait('etcd leader known', find, timeout) - 1

    def kill(self, i):
        """SIGKILL node i by its PID; waits until it is gone."""
        n = self.nodes[i]
        if n.proc is not None and n.proc.alive():
            h.log('killing etcd %s (pid %d)' % (n.name, n.proc.pid))
            os.kill(n.proc.pid, signal.SIGKILL)
            if n.proc.wait(10) is None:
                raise h.Failure('etcd %s (pid %d) survived SIGKILL' % (n.name, n.proc.pid))

    def restart(self, i, timeout=30):
        """Start node i again on its data directory (rejoins the cluster)."""
        self.kill(i)
        self._spawn(i)
        self.wait_healthy([i], timeout=timeout)

    def stop(self):
        for n in self.nodes:
            if n.proc is not None:
                n.proc.stop(timeout=5)

    # Direct reads, for checks that bypass the code under test.
    def get_prefix(self, prefix):
        """{key: value} under prefix, read from any running node."""
        end = prefix[:-1] + chr(ord(prefix[-1]) + 1)
        for n in self.nodes:
            if not n.alive():
                continue
            r = _post(n.client_port, '/v3/kv/range', {'key': b64(prefix), 'range_end': b64(end)})
            if r is not None and 'header' in r:
                return {base64.b64decode(kv['key']).decode(): base64.b64decode(
                    kv.get('value', '')).decode() for kv in r.get('kvs', [])}
        raise h.Failure('no etcd node answers a range on %s' % prefix)
