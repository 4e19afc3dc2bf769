/* SPDX-License-Identifier: Apache-2.0 */
/*
 * server.c - the relay's event loop: the RTMP listener, the once-a-second
 * housekeeping tick (stream meters, idle connections, systemd watchdog),
 * and a clean shutdown on SIGTERM/SIGINT.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "sc_config.h"
#if SC_HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "log.h"
#include "relay.h"

uint64_t sc_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void notify(const char *state)
{
#if SC_HAVE_SYSTEMD
	sd_notify(0, state);
#else
	(void)state;
#endif
}

static void on_connection(uv_stream_t *listener, int status)
{
	sc_relay *r = listener->data;
	if (status < 0) {
		sc_log_warn(NULL, "rtmp accept: %s", uv_strerror(status));
		return;
	}
	if (r->stopping)
		return;
	sc_conn_accept(r, listener);
}

static void on_tick(uv_timer_t *t)
{
	sc_relay *r = t->data;
	uint64_t now = sc_now_us();
	for (sc_conn *c = r->conns, *next; c; c = next) {
		next = sc_conn_next(c);
		sc_conn_tick(c, now);
	}
	sc_stream_gc(r);
	notify("WATCHDOG=1");
}

static void on_signal(uv_signal_t *sig, int signum)
{
	sc_relay *r = sig->data;
	sc_log_info(NULL, "%s: shutting down", signum == SIGTERM ? "SIGTERM" : "SIGINT");
	sc_relay_stop(r);
}

static int listen_rtmp(sc_relay *r, char *err, size_t errlen)
{
	char host[256];
	uint16_t port;
	struct sockaddr_storage ss;
	if (sc_parse_hostport(r->cfg.rtmp_addr, host, sizeof(host), &port) < 0) {
		snprintf(err, errlen, "--rtmp: bad address \"%s\": want HOST:PORT",
			 r->cfg.rtmp_addr);
		return -EINVAL;
	}
	if (uv_ip4_addr(host[0] ? host : "0.0.0.0", port, (struct sockaddr_in *)&ss) < 0 &&
	    uv_ip6_addr(host, port, (struct sockaddr_in6 *)&ss) < 0) {
		snprintf(err, errlen, "--rtmp: \"%s\" is not a numeric address", host);
		return -EINVAL;
	}
	uv_tcp_init(r->loop, &r->rtmp_listener);
	r->rtmp_listener.data = r;
	int rc = uv_tcp_bind(&r->rtmp_listener, (struct sockaddr *)&ss, 0);
	if (rc == 0)
		rc = uv_listen((uv_stream_t *)&r->rtmp_listener, 511, on_connection);
	if (rc < 0) {
		snprintf(err, errlen, "rtmp: cannot listen on %s: %s", r->cfg.rtmp_addr,
			 uv_strerror(rc));
		return -EADDRINUSE;
	}
	sc_log_info(NULL, "rtmp listening on %s, publish to rtmp://%s/live/NAME", r->cfg.rtmp_addr,
		    r->cfg.rtmp_addr);
	return 0;
}

int sc_relay_start(sc_relay *r, char *err, size_t errlen)
{
	sc_outq_sched_init(&r->outsched, r->loop);
	int rc = listen_rtmp(r, err, errlen);
	if (rc < 0)
		return rc;
	rc = sc_relay_http_start(r, err, errlen);
	if (rc < 0)
		return rc;
	uv_timer_init(r->loop, &r->tick);
	r->tick.data = r;
	uv_timer_start(&r->tick, on_tick, 1000, 1000);
	uv_signal_init(r->loop, &r->sigterm);
	uv_signal_init(r->loop, &r->sigint);
	r->sigterm.data = r->sigint.data = r;
	uv_signal_start(&r->sigterm, on_signal, SIGTERM);
	uv_signal_start(&r->sigint, on_signal, SIGINT);
	notify("READY=1\nSTATUS=relaying");
	return 0;
}

void sc_relay_stop(sc_relay *r)
{
	if (r->stopping)
		return;
	r->stopping = true;
	notify("STOPPING=1");
	/* Close only what sc_relay_start got to initialize (loop is set then). */
	uv_handle_t *handles[] = {(uv_handle_t *)&r->rtmp_listener, (uv_handle_t *)&r->tick,
				  (uv_handle_t *)&r->sigterm, (uv_handle_t *)&r->sigint};
	for (size_t i = 0; i < sizeof(handles) / sizeof(handles[0]); i++)
		if (handles[i]->loop && !uv_is_closing(handles[i]))
			uv_close(handles[i], NULL);
	/* Publishers first: each one ends its HLS playlist as it goes. */
	while (r->conns)
		sc_conn_close(r->conns, NULL);
	/* Streams answer their waiting HTTP requests and finish HLS writes. */
	sc_stream_free_all(r);
	sc_relay_http_stop(r);
	sc_outq_sched_close(&r->outsched);
}
