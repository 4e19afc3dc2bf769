/* SPDX-License-Identifier: Apache-2.0 */
/*
 * relay.h - the objects of stagecast-relay and how they point at each other.
 *
 *   sc_relay (one per process, owns the libuv loop)
 *     `- sc_stream (one per name)     publisher: sc_conn *
 *          |- players:  sc_conn  ...  each with its own sc_outq
 *          |- targets:  sc_push  ...  each with its own sc_outq
 *          `- hls:      sc_hls        (memory + disk worker)
 *
 * Everything here runs on the loop thread. An object is never freed from
 * inside one of its own callbacks: connections and pushes are closed with
 * uv_close() and freed in its close callback, after libuv has finished
 * every write callback for them.
 */
#ifndef SC_RELAY_H
#define SC_RELAY_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "buf.h"
#include "config.h"
#include "hls.h"
#include "http.h"
#include "json.h"
#include "media.h"
#include "metrics.h"
#include "outq.h"
#include "token.h"

typedef struct sc_relay sc_relay;
typedef struct sc_stream sc_stream;
typedef struct sc_conn sc_conn;
typedef struct sc_push sc_push;

typedef struct {
	char *rtmp_addr;
	char *http_addr;
	char *hls_dir;
	int64_t hls_segment_ms;
	int64_t hls_part_ms;
	int64_t hls_window;
	sc_strlist push;
	char *secret_file;
	char *api_token_file;
	int64_t push_queue_bytes;
	int64_t push_queue_ms;
	int64_t player_queue_bytes;
	int64_t play_merge_ms;
	int64_t max_msg_bytes;
	int64_t gop_cache_bytes;
	int64_t max_streams;
} sc_relay_config;

/* Counters of refused publishes, by reason (metric label). */
enum {
	SC_REFUSE_DUPLICATE,
	SC_REFUSE_NO_TOKEN,
	SC_REFUSE_BAD_TOKEN,
	SC_REFUSE_EXPIRED,
	SC_REFUSE_STALE_FENCE,
	SC_REFUSE_BAD_NAME,
	SC_REFUSE_N
};
extern const char *const sc_refuse_reason[SC_REFUSE_N];

struct sc_relay {
	uv_loop_t *loop;
	sc_relay_config cfg;
	unsigned char secret[SC_SECRET_MAX];
	size_t secret_len; /* 0: development mode, unsigned publishes */
	char *api_token;   /* NULL: only loopback clients may change things */

	sc_outq_sched outsched; /* writes to every RTMP peer */
	uv_tcp_t rtmp_listener;
	sc_http_server *http;
	uv_poll_t http_poll;
	uv_timer_t http_timer;
	uv_timer_t tick; /* 1 s: stream housekeeping, watchdog */
	uv_signal_t sigterm, sigint;

	sc_stream *streams; /* list; at most cfg.max_streams */
	size_t n_streams;
	sc_conn *conns;		     /* every RTMP connection, for shutdown */
	uint8_t read_buf[64 * 1024]; /* what every RTMP connection reads into (conn.c) */
	uint64_t next_conn_id;
	uint64_t refused[SC_REFUSE_N];
	uint64_t conns_accepted, conns_rejected_proto;
	bool stopping;
	int exit_code;
};

/* ---- server.c */
int sc_relay_start(sc_relay *r, char *err, size_t errlen);
void sc_relay_stop(sc_relay *r); /* begin a clean shutdown */
uint64_t sc_now_us(void);	 /* CLOCK_MONOTONIC */

/* ---- conn.c: one RTMP connection accepted by the server */
sc_conn *sc_conn_accept(sc_relay *r, uv_stream_t *listener);
void sc_conn_close(sc_conn *c, const char *why); /* idempotent */
/* Player side: queue a message for this player. */
void sc_conn_play_media(sc_conn *c, sc_media *m);
/* Player side: the stream's publisher changed or left. */
void sc_conn_play_status(sc_conn *c, const char *code, const char *desc);
const char *sc_conn_peer(const sc_conn *c);
void sc_conn_tick(sc_conn *c, uint64_t now_us);
sc_conn *sc_conn_next(sc_conn *c);
uint64_t sc_conn_bytes_out(const sc_conn *c);
uint64_t sc_conn_drops(const sc_conn *c);

/* ---- stream.c */
typedef struct {
	char codec[16];
	int width, height;
	double fps;
	double bitrate; /* bits per second, over the last few seconds */
	int sample_rate, channels;
} sc_track_info;

sc_stream *sc_stream_find(sc_relay *r, const char *name);
sc_stream *sc_stream_next(const sc_stream *s);
sc_relay *sc_stream_relay(const sc_stream *s);
/* Find or create. NULL with errno ENOSPC (--max-streams reached) or ENOMEM. */
sc_stream *sc_stream_get(sc_relay *r, const char *name);
/*
 * A publisher asks for name with token (may be NULL). 0: it is now the
 * publisher; a negative errno and *ret_reason (SC_REFUSE_*) with a message
 * in msg when refused. Checks everything before touching the stream.
 */
int sc_stream_publish(sc_stream *s, sc_conn *c, const char *token, int *ret_reason, char *msg,
		      size_t msglen);
void sc_stream_unpublish(sc_stream *s, sc_conn *c);
void sc_stream_media(sc_stream *s, sc_conn *publisher, uint8_t type, uint32_t ts,
		     const uint8_t *data, size_t len);
void sc_stream_add_player(sc_stream *s, sc_conn *c);
void sc_stream_remove_player(sc_stream *s, sc_conn *c);
/* Replay what a new sink needs: metadata, sequence headers, the cached GOP. */
void sc_stream_replay(sc_stream *s, void (*fn)(void *ud, sc_media *m), void *ud);
const char *sc_stream_name(const sc_stream *s);
bool sc_stream_live(const sc_stream *s);
void sc_stream_gc(sc_relay *r); /* once a second: meters, waiters, idle names */
void sc_stream_free_all(sc_relay *r);
/* Runtime targets (API). 0 and the id, or negative errno with msg. */
int sc_stream_add_target(sc_stream *s, const char *url, bool from_template, char *ret_id,
			 size_t idlen, char *msg, size_t msglen);
int sc_stream_remove_target(sc_stream *s, const char *id);
json_t *sc_stream_to_json(const sc_stream *s);
void sc_stream_metrics(sc_relay *r, sc_metrics *m);
sc_hls *sc_stream_hls(sc_stream *s);
/*
 * HTTP requests waiting for the next playlist change (LL-HLS blocking
 * reload, preload hints). retry() is called after each change and returns
 * true once it has answered; with timed_out (deadline passed, stream gone,
 * shutdown) it must answer.
 */
typedef bool (*sc_hls_retry_fn)(sc_stream *s, sc_http_request *req, bool timed_out);
int sc_stream_wait_hls(sc_stream *s, sc_http_request *req, uint64_t deadline_us,
		       sc_hls_retry_fn retry);

/* ---- push.c: one push target of a stream */
sc_push *sc_push_new(sc_relay *r, sc_stream *s, const char *url, const char *id,
		     bool from_template);
void sc_push_free(sc_push *p);	/* closes; memory goes when libuv is done */
void sc_push_start(sc_push *p); /* the stream has a publisher */
void sc_push_stop(sc_push *p);	/* the stream lost it */
void sc_push_media(sc_push *p, sc_media *m);
/* Can a push target use this URL? 0, or -EINVAL with a message. */
int sc_push_url_check(const char *url, char *msg, size_t msglen);
const char *sc_push_id(const sc_push *p);
const char *sc_push_url(const sc_push *p);
uint64_t sc_push_bytes_out(const sc_push *p);
json_t *sc_push_to_json(const sc_push *p);
bool sc_push_from_template(const sc_push *p);
/* Metrics: family f's header once, then each target's samples of it. */
enum {
	SC_PUSH_METRIC_STATE,
	SC_PUSH_METRIC_BYTES,
	SC_PUSH_METRIC_DROPS,
	SC_PUSH_METRIC_RECONNECTS,
	SC_PUSH_METRIC_N
};
void sc_push_metric_family(sc_metrics *m, int f);
void sc_push_metrics(const sc_push *p, const char *stream, sc_metrics *m, int f);

/* ---- http.c / api.c */
int sc_relay_http_start(sc_relay *r, char *err, size_t errlen);
void sc_relay_http_stop(sc_relay *r);
void sc_relay_api(sc_relay *r, sc_http_request *req, const char *path);

#endif
