/* SPDX-License-Identifier: Apache-2.0 */
/*
 * store_probe - drive a store from the command line for the integration
 * tests and the benchmark (tests/integration/test_store_etcd.py):
 *
 *   store_probe SPEC race STREAM_ID KEY N HOLD_MS MARKER
 *       N attempts, 10-30 ms apart, to lock KEY for STREAM_ID; while
 *       holding it (HOLD_MS), MARKER is
 *       created with O_EXCL (an existing MARKER means two holders at once:
 *       reported, exit 3), then removed before unlocking. One line per
 *       acquisition: "acq FENCE T_ACQ_NS T_REL_NS" (CLOCK_MONOTONIC, the
 *       lock held at least from T_ACQ to T_REL), then
 *       "summary ok=X busy=Y err=Z".
 *   store_probe SPEC lead NAME TTL_MS SECONDS
 *       lead() every 200 ms for SECONDS; prints "lead 0|1 T_NS" on every
 *       change (and errors as "lead -ERRNO T_NS").
 *   store_probe SPEC bench N
 *       N lock() calls on fresh keys, then N unlock(): "bench lock_per_s=X
 *       unlock_per_s=Y".
 *   store_probe SPEC fill N
 *       N finished streams, written as a start and a stop through the API
 *       leave them (pending, then stopped: a record and two history
 *       entries each): "fill n=N per_s=X". The benchmark's finished-streams
 *       rounds.
 * Exit 0, 1 on bad usage or a failed open, 3 on a double holder.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "store.h"

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

static int race(const sc_store_ops *o, void *p, char **argv)
{
	const char *id = argv[0], *marker = argv[4];
	const char *keys[1] = {argv[1]};
	long n = atol(argv[2]), hold_ms = atol(argv[3]), ok = 0, busy = 0, err = 0;
	int rc = 0;

	for (long i = 0; i < n && rc == 0; i++) {
		uint64_t fence;
		char holder[SC_ID_MAX];
		long long t_acq, t_rel;
		int r, fd;

		if (i)
			sleep_ms(10 + rand() % 21);
		r = o->lock(p, id, keys, 1, &fence, holder, sizeof(holder));
		if (r == -EBUSY) {
			busy++;
			continue;
		}
		if (r < 0) {
			/* A timed-out lock may have committed: release it. */
			err++;
			fprintf(stderr, "lock: %s\n", strerror(-r));
			o->unlock(p, id);
			continue;
		}
		t_acq = now_ns();
		fd = open(marker, O_CREAT | O_EXCL | O_WRONLY, 0600);
		if (fd < 0) {
			printf("double-holder %s fence %llu: %s\n", id, (unsigned long long)fence,
			       strerror(errno));
			rc = 3;
			break;
		}
		close(fd);
		ok++;
		sleep_ms(hold_ms);
		unlink(marker);
		t_rel = now_ns();
		printf("acq %llu %lld %lld\n", (unsigned long long)fence, t_acq, t_rel);
		for (int tries = 0; (r = o->unlock(p, id)) < 0 && tries < 20; tries++) {
			fprintf(stderr, "unlock: %s\n", strerror(-r));
			sleep_ms(100);
		}
		if (r < 0) {
			printf("unlock failed: %s\n", strerror(-r));
			rc = 2;
		}
	}
	printf("summary ok=%ld busy=%ld err=%ld\n", ok, busy, err);
	return rc;
}

static int lead(const sc_store_ops *o, void *p, char **argv)
{
	const char *name = argv[0];
	int ttl_ms = atoi(argv[1]), last = -1000;
	long long end = now_ns() + atoll(argv[2]) * 1000000000LL;

	while (now_ns() < end) {
		int r = o->lead(p, name, ttl_ms);

		if (r != last)
			printf("lead %d %lld\n", r, now_ns());
		last = r;
		sleep_ms(200);
	}
	return 0;
}

static int bench(const sc_store_ops *o, void *p, char **argv)
{
	long n = atol(argv[0]);
	char key[SC_KEY_HEX], id[SC_ID_MAX], holder[SC_ID_MAX];
	long long t0 = now_ns(), t1;
	uint64_t fence;

	for (long i = 0; i < n; i++) {
		const char *keys[1] = {key};
		int r;

		snprintf(key, sizeof(key), "bench%d-%ld", (int)getpid(), i);
		snprintf(id, sizeof(id), "st-b%d-%ld", (int)getpid(), i);
		r = o->lock(p, id, keys, 1, &fence, holder, sizeof(holder));
		if (r < 0) {
			printf("lock: %s\n", strerror(-r));
			return 2;
		}
	}
	t1 = now_ns();
	for (long i = 0; i < n; i++) {
		snprintf(id, sizeof(id), "st-b%d-%ld", (int)getpid(), i);
		if (o->unlock(p, id) < 0)
			return 2;
	}
	printf("bench lock_per_s=%.1f unlock_per_s=%.1f\n", n / ((t1 - t0) / 1e9),
	       n / ((now_ns() - t1) / 1e9));
	return 0;
}

static int fill(const sc_store_ops *o, void *p, char **argv)
{
	long n = atol(argv[0]);
	long long t0 = now_ns();
	int64_t ms = (int64_t)time(NULL) * 1000;
	/* About what a sealed destination takes (base64 of nonce, URL, tag). */
	static char sealed[] = "c2VhbGVkLWRlc3RpbmF0aW9uLW9mLXRoZS1iZW5jaC1maWxsLXN0cmVhbXMtcn"
			       "RtcDovL3Vwc3RyZWFtLmV4YW1wbGUvbGl2ZS9zZWNyZXQta2V5LXBhZGRpbmc=";

	for (long i = 0; i < n; i++) {
		sc_stream_rec s = {0};
		int r;

		snprintf(s.id, sizeof(s.id), "st-f%d-%ld", (int)getpid(), i);
		snprintf(s.name, sizeof(s.name), "fill-%d-%ld", (int)getpid(), i);
		snprintf(s.conference, sizeof(s.conference), "janus://127.0.0.1:8088/1234");
		snprintf(s.destination_redacted, sizeof(s.destination_redacted),
			 "rtmp://upstream.example/live/***");
		s.destination_sealed = sealed;
		snprintf(s.profile, sizeof(s.profile), "720p30");
		snprintf(s.layout, sizeof(s.layout), "grid");
		s.state = SC_ST_PENDING;
		snprintf(s.reason, sizeof(s.reason), "start requested");
		s.fence = (uint64_t)i + 1;
		s.created_ms = s.updated_ms = ms;
		r = o->stream_put(p, &s);
		if (r == 0) {
			s.state = SC_ST_STOPPED;
			snprintf(s.reason, sizeof(s.reason), "stopped before it had an instance");
			r = o->stream_put(p, &s);
		}
		if (r < 0) {
			printf("stream_put: %s\n", strerror(-r));
			return 2;
		}
	}
	printf("fill n=%ld per_s=%.1f\n", n, n / ((now_ns() - t0) / 1e9));
	return 0;
}

int main(int argc, char **argv)
{
	char err[256];
	sc_store *s;
	int rc = 1;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 3) {
		fprintf(stderr, "usage: store_probe SPEC race|lead|bench|fill ARGS...\n");
		return 1;
	}
	srand((unsigned)getpid());
	s = sc_store_open(argv[1], err, sizeof(err));
	if (!s) {
		fprintf(stderr, "store_probe: %s\n", err);
		return 1;
	}
	if (!strcmp(argv[2], "race") && argc == 8)
		rc = race(sc_store_ops_of(s), sc_store_priv(s), argv + 3);
	else if (!strcmp(argv[2], "lead") && argc == 6)
		rc = lead(sc_store_ops_of(s), sc_store_priv(s), argv + 3);
	else if (!strcmp(argv[2], "bench") && argc == 4)
		rc = bench(sc_store_ops_of(s), sc_store_priv(s), argv + 3);
	else if (!strcmp(argv[2], "fill") && argc == 4)
		rc = fill(sc_store_ops_of(s), sc_store_priv(s), argv + 3);
	else
		fprintf(stderr, "store_probe: bad arguments (see the comment at the top)\n");
	sc_store_close(s);
	return rc;
}
