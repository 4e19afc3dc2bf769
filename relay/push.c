/* SPDX-License-Identifier: Apache-2.0 */
/*
 * push.c - one push target: the relay publishing a stream to an upstream
 * RTMP server (the official stream), on the relay's own event loop.
 *
 *   idle -> connecting (resolve, TCP, handshake, connect, createStream,
 *   publish) -> publishing -> (error) backoff -> connecting ...
 *
 * Each attempt is a session object of its own, so that a closing socket
 * (libuv finishes its callbacks later) never touches the next attempt.
 * A target that refuses the publish is "failed" with the upstream's words
 * and is tried again after the longest backoff. Nothing here blocks: DNS
 * goes through uv_getaddrinfo, every write through the bounded sc_outq.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "amf0.h"
#include "log.h"
#include "relay.h"
#include "rtmp_chunk.h"
#include "rtmp_handshake.h"
#include "url.h"

#define BACKOFF_MIN_MS	   1000
#define BACKOFF_MAX_MS	   30000
#define ATTEMPT_TIMEOUT_MS 10000
#define STABLE_US	   (10 * 1000000ull) /* publishing this long resets the backoff */
#define READ_BUF_SIZE	   16384

typedef enum {
	PUSH_IDLE,
	PUSH_CONNECTING,
	PUSH_PUBLISHING,
	PUSH_BACKOFF,
	PUSH_FAILED,
} push_state;

static const char *const state_names[] = {"idle", "connecting", "publishing", "backoff", "failed"};

enum { TXN_CONNECT = 1, TXN_RELEASE, TXN_FCPUBLISH, TXN_CREATE };

typedef struct session session;

struct sc_push {
	sc_relay *relay;
	sc_stream *stream;
	char id[16];
	char url[SC_URL_MAX];
	char redacted[SC_URL_MAX];
	sc_rtmp_url u;
	bool from_template;
	push_state state;
	bool wanted;
	session *sess;
	uv_timer_t timer; /* backoff and attempt timeout */
	unsigned attempt;
	uint64_t publishing_since;
	uint64_t bytes_gone, drops_gone, reconnects;
	char last_error[256];
};

struct session {
	sc_push *push; /* NULL once the push has let go of it */
	int refs;      /* the TCP handle, a pending DNS lookup */
	uv_getaddrinfo_t gai;
	uv_connect_t creq;
	uv_tcp_t tcp;
	bool tcp_open;
	sc_outq q;
	sc_rtmp_handshake *hs;
	sc_rtmp_chunk_reader *reader;
	uint8_t *rbuf;
	bool handshaken;
	bool publish_sent; /* and no answer yet */
	uint32_t msid;
	uint64_t bytes_in, acked_in;
	uint32_t peer_window;
};

static void schedule_retry(sc_push *p, const char *why, bool failed);
static void attempt(sc_push *p);

/* ---- session lifetime */

static void session_unref(session *s)
{
	if (--s->refs > 0)
		return;
	sc_outq_clear(&s->q);
	sc_rtmp_handshake_free(s->hs);
	sc_rtmp_chunk_reader_free(s->reader);
	free(s->rbuf);
	free(s);
}

static void on_tcp_closed(uv_handle_t *h)
{
	session_unref(h->data);
}

/* The push lets go of its session; the socket closes in the background. */
static void session_drop(sc_push *p)
{
	session *s = p->sess;
	if (!s)
		return;
	p->sess = NULL;
	p->bytes_gone += s->q.bytes_out;
	p->drops_gone += s->q.drops;
	s->push = NULL;
	sc_outq_close(&s->q);
	if (s->tcp_open) {
		s->tcp_open = false;
		uv_close((uv_handle_t *)&s->tcp, on_tcp_closed);
	}
	if (s->refs > 0 && s->gai.data == s)
		uv_cancel((uv_req_t *)&s->gai);
}

static void session_fail(session *s, const char *why, bool rejected)
{
	sc_push *p = s->push;
	if (!p)
		return;
	session_drop(p);
	schedule_retry(p, why, rejected);
}

static void on_q_error(void *owner, int status)
{
	session_fail(owner, uv_strerror(status), false);
}

/* ---- sending */

static void send_msg(session *s, uint32_t csid, uint8_t type, uint32_t msid, const sc_buf *b)
{
	sc_buf out;
	sc_buf_init(&out, SIZE_MAX);
	if (sc_rtmp_chunk_write(&out, SC_PLAY_CHUNK_SIZE, csid, type, msid, 0, b->data, b->len) ==
	    0)
		sc_outq_bytes(&s->q, out.data, out.len);
	sc_buf_free(&out);
}

/* The stream key with its query: what publish and FCPublish name. */
static void publish_name(const sc_push *p, char *out, size_t outlen)
{
	if (p->u.query[0])
		snprintf(out, outlen, "%s?%s", p->u.name, p->u.query);
	else
		snprintf(out, outlen, "%s", p->u.name);
}

static void send_connect(session *s)
{
	sc_push *p = s->push;
	char tc_url[SC_URL_MAX];
	bool v6 = strchr(p->u.host, ':') != NULL;
	snprintf(tc_url, sizeof(tc_url), "%s://%s%s%s:%u/%s", p->u.scheme, v6 ? "[" : "", p->u.host,
		 v6 ? "]" : "", p->u.port, p->u.app);

	sc_buf b;
	sc_buf_init(&b, 4096);
	sc_amf0_put_string(&b, "connect");
	sc_amf0_put_number(&b, TXN_CONNECT);
	sc_amf0_put_object_begin(&b);
	sc_amf0_put_prop_string(&b, "app", p->u.app);
	sc_amf0_put_prop_string(&b, "type", "nonprivate");
	sc_amf0_put_prop_string(&b, "flashVer", "FMLE/3.0 (compatible; stagecast)");
	sc_amf0_put_prop_string(&b, "tcUrl", tc_url);
	sc_amf0_put_object_end(&b);
	send_msg(s, SC_RTMP_CSID_COMMAND, SC_RTMP_MSG_COMMAND_AMF0, 0, &b);
	sc_buf_free(&b);
}

static void send_simple(session *s, const char *cmd, double txn, const char *arg, uint32_t msid)
{
	sc_buf b;
	sc_buf_init(&b, 4096);
	sc_amf0_put_string(&b, cmd);
	sc_amf0_put_number(&b, txn);
	sc_amf0_put_null(&b);
	if (arg)
		sc_amf0_put_string(&b, arg);
	send_msg(s, msid ? SC_RTMP_CSID_DATA : SC_RTMP_CSID_COMMAND, SC_RTMP_MSG_COMMAND_AMF0, msid,
		 &b);
	sc_buf_free(&b);
}

static void send_publish(session *s)
{
	char name[SC_URL_MAX];
	publish_name(s->push, name, sizeof(name));
	sc_buf b;
	sc_buf_init(&b, 4096);
	sc_amf0_put_string(&b, "publish");
	sc_amf0_put_number(&b, 0);
	sc_amf0_put_null(&b);
	sc_amf0_put_string(&b, name);
	sc_amf0_put_string(&b, "live");
	send_msg(s, SC_RTMP_CSID_DATA, SC_RTMP_MSG_COMMAND_AMF0, s->msid, &b);
	sc_buf_free(&b);
	s->publish_sent = true;
}

static void replay_one(void *ud, sc_media *m)
{
	session *s = ud;
	sc_outq_media(&s->q, m);
}

static void start_publishing(session *s)
{
	sc_push *p = s->push;
	p->state = PUSH_PUBLISHING;
	p->publishing_since = sc_now_us();
	p->last_error[0] = 0;
	uv_timer_stop(&p->timer);
	s->q.msid = s->msid;
	sc_log_info(sc_stream_name(p->stream), "push %s %s: publishing", p->id, p->redacted);
	sc_stream_replay(p->stream, replay_one, s);
}

/* ---- receiving */

static int on_command(session *s, const uint8_t *data, size_t len)
{
	sc_amf0_value **v = NULL;
	size_t n = 0;
	if (sc_amf0_decode_all(data, len, &v, &n) < 0)
		return -EPROTO;
	const char *cmd = n > 0 ? sc_amf0_str(v[0]) : NULL;
	double txn = n > 1 ? sc_amf0_num(v[1], 0) : 0;
	char why[300];
	int rc = 0;

	if (!cmd) {
		rc = -EPROTO;
	} else if (!strcmp(cmd, "_result")) {
		if (txn == TXN_CONNECT) {
			char name[SC_URL_MAX];
			publish_name(s->push, name, sizeof(name));
			send_simple(s, "releaseStream", TXN_RELEASE, name, 0);
			send_simple(s, "FCPublish", TXN_FCPUBLISH, name, 0);
			send_simple(s, "createStream", TXN_CREATE, NULL, 0);
		} else if (txn == TXN_CREATE) {
			double id = n > 3 ? sc_amf0_num(v[3], 1) : 1;
			s->msid = id >= 1 && id < 1e6 ? (uint32_t)id : 1;
			send_publish(s);
		}
	} else if (!strcmp(cmd, "_error")) {
		if (txn == TXN_CONNECT || txn == TXN_CREATE) {
			const char *d =
				n > 3 ? sc_amf0_str(sc_amf0_get(v[3], "description")) : NULL;
			const char *c = n > 3 ? sc_amf0_str(sc_amf0_get(v[3], "code")) : NULL;
			snprintf(why, sizeof(why), "upstream refused %s: %s%s%s",
				 txn == TXN_CONNECT ? "connect" : "createStream", c ? c : "error",
				 d ? ": " : "", d ? d : "");
			rc = -EPERM;
		}
	} else if (!strcmp(cmd, "onStatus")) {
		const sc_amf0_value *info = n > 3 ? v[3] : NULL;
		const char *level = sc_amf0_str(sc_amf0_get(info, "level"));
		const char *code = sc_amf0_str(sc_amf0_get(info, "code"));
		const char *desc = sc_amf0_str(sc_amf0_get(info, "description"));
		if (code && !strcmp(code, "NetStream.Publish.Start")) {
			if (s->push->state == PUSH_CONNECTING)
				start_publishing(s);
		} else if (level && !strcmp(level, "error")) {
			snprintf(why, sizeof(why), "upstream refused the publish: %s%s%s",
				 code ? code : "error", desc ? ": " : "", desc ? desc : "");
			rc = -EPERM;
		}
	}
	sc_amf0_free_all(v, n);
	if (rc == -EPERM)
		session_fail(s, why, true);
	return rc;
}

static int on_message(void *ud, const sc_rtmp_msg *m)
{
	session *s = ud;
	if (!s->push)
		return -ECANCELED;
	switch (m->type) {
	case SC_RTMP_MSG_COMMAND_AMF0:
		return on_command(s, m->payload, m->len);
	case SC_RTMP_MSG_COMMAND_AMF3:
		return m->len ? on_command(s, m->payload + 1, m->len - 1) : -EPROTO;
	case SC_RTMP_MSG_USER_CONTROL:
		if (m->len >= 6 && sc_rd_be16(m->payload) == SC_RTMP_UC_PING_REQUEST) {
			sc_buf b;
			sc_buf_init(&b, 64);
			if (sc_rtmp_write_user_control(&b, SC_RTMP_UC_PING_RESPONSE,
						       sc_rd_be32(m->payload + 2)) == 0)
				sc_outq_bytes(&s->q, b.data, b.len);
			sc_buf_free(&b);
		}
		return 0;
	case SC_RTMP_MSG_WINDOW_ACK_SIZE:
		if (m->len >= 4)
			s->peer_window = sc_rd_be32(m->payload);
		return 0;
	default:
		return 0;
	}
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	session *s = h->data;
	*buf = uv_buf_init((char *)s->rbuf, READ_BUF_SIZE);
}

static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
	session *s = st->data;
	if (!s->push)
		return;
	if (nread < 0) {
		/* Servers like nginx-rtmp refuse a publish (an on_publish hook
		 * said no) by closing without an onStatus: that is a refusal. */
		if (s->publish_sent && s->push->state == PUSH_CONNECTING)
			session_fail(s,
				     "upstream closed the connection after publish: "
				     "the stream key or the publish was refused",
				     true);
		else
			session_fail(s,
				     nread == UV_EOF ? "upstream closed the connection"
						     : uv_strerror((int)nread),
				     false);
		return;
	}
	const uint8_t *p = (const uint8_t *)buf->base;
	size_t n = (size_t)nread;
	s->bytes_in += n;
	if (!s->handshaken) {
		sc_buf out;
		size_t used = 0;
		sc_buf_init(&out, 8192);
		int rc = sc_rtmp_handshake_feed(s->hs, p, n, &used, &out);
		if (out.len)
			sc_outq_bytes(&s->q, out.data, out.len);
		sc_buf_free(&out);
		if (rc < 0) {
			session_fail(s, "bad handshake from upstream", false);
			return;
		}
		if (rc == 0)
			return;
		s->handshaken = true;
		sc_buf b;
		sc_buf_init(&b, 64);
		sc_rtmp_write_set_chunk_size(&b, SC_PLAY_CHUNK_SIZE);
		sc_outq_bytes(&s->q, b.data, b.len);
		sc_buf_free(&b);
		send_connect(s);
		p += used;
		n -= used;
	}
	if (n && sc_rtmp_chunk_reader_feed(s->reader, p, n) < 0 && s->push) {
		char why[256];
		snprintf(why, sizeof(why), "protocol error from upstream: %s",
			 sc_rtmp_chunk_reader_error(s->reader)
				 ? sc_rtmp_chunk_reader_error(s->reader)
				 : "bad message");
		session_fail(s, why, false);
		return;
	}
	if (s->push && s->peer_window && s->bytes_in - s->acked_in >= s->peer_window) {
		sc_buf b;
		sc_buf_init(&b, 64);
		s->acked_in = s->bytes_in;
		if (sc_rtmp_write_ack(&b, (uint32_t)s->bytes_in) == 0)
			sc_outq_bytes(&s->q, b.data, b.len);
		sc_buf_free(&b);
	}
}

static void on_connected(uv_connect_t *req, int status)
{
	session *s = req->data;
	if (!s->push)
		return;
	if (status < 0) {
		char why[128];
		snprintf(why, sizeof(why), "connect: %s", uv_strerror(status));
		session_fail(s, why, false);
		return;
	}
	uv_tcp_nodelay(&s->tcp, 1);
	sc_buf b;
	sc_buf_init(&b, 4096);
	if (sc_rtmp_handshake_start(s->hs, &b) < 0 ||
	    uv_read_start((uv_stream_t *)&s->tcp, on_alloc, on_read) < 0) {
		sc_buf_free(&b);
		session_fail(s, "cannot start the handshake", false);
		return;
	}
	sc_outq_bytes(&s->q, b.data, b.len);
	sc_buf_free(&b);
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
	session *s = req->data;
	s->gai.data = NULL;
	if (s->push) {
		if (status < 0 || !res) {
			char why[300];
			snprintf(why, sizeof(why), "cannot resolve %s: %s", s->push->u.host,
				 uv_strerror(status));
			session_fail(s, why, false);
		} else {
			s->creq.data = s;
			int rc = uv_tcp_connect(&s->creq, &s->tcp, res->ai_addr, on_connected);
			if (rc < 0) {
				char why[128];
				snprintf(why, sizeof(why), "connect: %s", uv_strerror(rc));
				session_fail(s, why, false);
			}
		}
	}
	if (res)
		uv_freeaddrinfo(res);
	session_unref(s);
}

/* ---- the target's state machine */

static void on_timer(uv_timer_t *t)
{
	sc_push *p = t->data;
	if (p->state == PUSH_CONNECTING) {
		session_drop(p);
		schedule_retry(p, "no publish within 10 s", false);
	} else if ((p->state == PUSH_BACKOFF || p->state == PUSH_FAILED) && p->wanted) {
		attempt(p);
	}
}

static void attempt(sc_push *p)
{
	session *s = calloc(1, sizeof(*s));
	if (!s) {
		schedule_retry(p, "out of memory", false);
		return;
	}
	s->push = p;
	s->refs = 1; /* the TCP handle */
	s->msid = 1;
	uv_tcp_init(p->relay->loop, &s->tcp);
	s->tcp.data = s;
	s->tcp_open = true;
	p->sess = s;
	p->state = PUSH_CONNECTING;
	sc_outq_init(&s->q, &p->relay->outsched, (uv_stream_t *)&s->tcp,
		     (size_t)p->relay->cfg.push_queue_bytes, (uint32_t)p->relay->cfg.push_queue_ms,
		     1, on_q_error, s);
	s->rbuf = malloc(READ_BUF_SIZE);
	s->hs = sc_rtmp_handshake_new(SC_RTMP_HS_CLIENT);
	s->reader = sc_rtmp_chunk_reader_new(1 << 20, on_message, s);
	if (!s->rbuf || !s->hs || !s->reader) {
		session_fail(s, "out of memory", false);
		return;
	}
	char port[8];
	snprintf(port, sizeof(port), "%u", p->u.port);
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
	s->gai.data = s;
	s->refs++;
	int rc = uv_getaddrinfo(p->relay->loop, &s->gai, on_resolved, p->u.host, port, &hints);
	if (rc < 0) {
		s->refs--;
		s->gai.data = NULL;
		session_fail(s, uv_strerror(rc), false);
		return;
	}
	uv_timer_start(&p->timer, on_timer, ATTEMPT_TIMEOUT_MS, 0);
}

static void schedule_retry(sc_push *p, const char *why, bool failed)
{
	const char *stream = sc_stream_name(p->stream);
	uint64_t now = sc_now_us();
	if (p->state == PUSH_PUBLISHING && now - p->publishing_since > STABLE_US)
		p->attempt = 0;
	snprintf(p->last_error, sizeof(p->last_error), "%s", why);
	uv_timer_stop(&p->timer);
	if (!p->wanted) {
		p->state = PUSH_IDLE;
		return;
	}
	uint64_t delay;
	if (failed) {
		delay = BACKOFF_MAX_MS;
	} else {
		uint64_t base = (uint64_t)BACKOFF_MIN_MS << (p->attempt < 5 ? p->attempt : 5);
		if (base > BACKOFF_MAX_MS)
			base = BACKOFF_MAX_MS;
		/* Equal jitter: half fixed, half random, so targets spread out. */
		delay = base / 2 + (uint64_t)rand() % (base / 2 + 1);
	}
	p->attempt++;
	p->reconnects++;
	p->state = failed ? PUSH_FAILED : PUSH_BACKOFF;
	sc_log_warn(stream, "push %s %s %s: %s, retry in %.1fs", p->id, p->redacted,
		    failed ? "failed" : "lost", why, (double)delay / 1000);
	uv_timer_start(&p->timer, on_timer, delay, 0);
}

int sc_push_url_check(const char *url, char *msg, size_t msglen)
{
	sc_rtmp_url u;
	if (sc_rtmp_url_parse(url, &u) < 0 || !u.app[0] || !u.name[0]) {
		snprintf(msg, msglen, "not an rtmp://HOST[:PORT]/APP/KEY URL");
		return -EINVAL;
	}
	if (!strcmp(u.scheme, "rtmps")) {
		snprintf(msg, msglen, "rtmps push targets are not supported yet");
		return -EINVAL;
	}
	return 0;
}

sc_push *sc_push_new(sc_relay *r, sc_stream *s, const char *url, const char *id, bool from_template)
{
	sc_push *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	if (sc_rtmp_url_parse(url, &p->u) < 0) {
		free(p);
		return NULL;
	}
	p->relay = r;
	p->stream = s;
	p->from_template = from_template;
	snprintf(p->id, sizeof(p->id), "%s", id);
	snprintf(p->url, sizeof(p->url), "%s", url);
	sc_url_redact(url, p->redacted, sizeof(p->redacted));
	uv_timer_init(r->loop, &p->timer);
	p->timer.data = p;
	return p;
}

void sc_push_start(sc_push *p)
{
	p->wanted = true;
	if (p->state == PUSH_IDLE || p->state == PUSH_BACKOFF) {
		uv_timer_stop(&p->timer);
		p->attempt = 0;
		attempt(p);
	}
}

void sc_push_stop(sc_push *p)
{
	p->wanted = false;
	session *s = p->sess;
	if (s && p->state == PUSH_PUBLISHING) {
		char name[SC_URL_MAX];
		publish_name(p, name, sizeof(name));
		send_simple(s, "FCUnpublish", 0, name, 0);
		send_simple(s, "deleteStream", 0, NULL, 0);
	}
	session_drop(p);
	uv_timer_stop(&p->timer);
	p->state = PUSH_IDLE;
}

static void on_timer_closed(uv_handle_t *h)
{
	free(h->data);
}

void sc_push_free(sc_push *p)
{
	if (!p)
		return;
	sc_push_stop(p);
	uv_close((uv_handle_t *)&p->timer, on_timer_closed);
}

void sc_push_media(sc_push *p, sc_media *m)
{
	if (p->state == PUSH_PUBLISHING && p->sess && sc_outq_media(&p->sess->q, m) < 0)
		session_fail(p->sess, "out of memory", false);
}

const char *sc_push_url(const sc_push *p)
{
	return p->url;
}

const char *sc_push_id(const sc_push *p)
{
	return p->id;
}
bool sc_push_from_template(const sc_push *p)
{
	return p->from_template;
}

uint64_t sc_push_bytes_out(const sc_push *p)
{
	return p->bytes_gone + (p->sess ? p->sess->q.bytes_out : 0);
}

static uint64_t drops(const sc_push *p)
{
	return p->drops_gone + (p->sess ? p->sess->q.drops : 0);
}

json_t *sc_push_to_json(const sc_push *p)
{
	return json_pack("{s:s, s:s, s:s, s:b, s:I, s:I, s:I, s:I, s:s?}", "id", p->id, "url",
			 p->redacted, "state", state_names[p->state], "template", p->from_template,
			 "bytes_out", (json_int_t)sc_push_bytes_out(p), "drops",
			 (json_int_t)drops(p), "reconnects", (json_int_t)p->reconnects,
			 "queued_bytes", (json_int_t)(p->sess ? sc_outq_pending(&p->sess->q) : 0),
			 "last_error", p->last_error[0] ? p->last_error : NULL);
}

static const char *const metric_names[SC_PUSH_METRIC_N] = {
	"stagecast_relay_target_state",
	"stagecast_relay_target_bytes_out_total",
	"stagecast_relay_target_drops_total",
	"stagecast_relay_target_reconnects_total",
};

void sc_push_metric_family(sc_metrics *m, int f)
{
	static const char *const help[SC_PUSH_METRIC_N] = {
		"1 for the state each push target is in.",
		"Bytes sent to each push target.",
		"Media messages dropped for a slow push target.",
		"Times a push target was lost or refused.",
	};
	sc_metrics_family(m, metric_names[f], f == SC_PUSH_METRIC_STATE ? "gauge" : "counter",
			  help[f]);
}

void sc_push_metrics(const sc_push *p, const char *stream, sc_metrics *m, int f)
{
	if (f == SC_PUSH_METRIC_STATE) {
		for (int st = 0; st <= PUSH_FAILED; st++)
			sc_metrics_sample(m, metric_names[f],
					  (const char *[]){"stream", stream, "target", p->id,
							   "state", state_names[st], NULL},
					  st == (int)p->state);
		return;
	}
	double v = f == SC_PUSH_METRIC_BYTES   ? (double)sc_push_bytes_out(p)
		   : f == SC_PUSH_METRIC_DROPS ? (double)drops(p)
					       : (double)p->reconnects;
	sc_metrics_sample(m, metric_names[f],
			  (const char *[]){"stream", stream, "target", p->id, NULL}, v);
}
