/* SPDX-License-Identifier: Apache-2.0 */
/*
 * conn.c - one RTMP connection accepted by the relay: handshake, chunk
 * stream, NetConnection and NetStream commands, then either a publisher
 * feeding a stream or a player fed by one.
 *
 * Bad input of any kind (a bad handshake, a malformed chunk, AMF that does
 * not parse, a message over the size bound) closes this connection and
 * nothing else.
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

#define OUR_WINDOW	   5000000
#define IDLE_TIMEOUT_US	   (15 * 1000000ull) /* handshake..publish/play */
#define PUBLISH_TIMEOUT_US (30 * 1000000ull) /* a publisher that sends nothing */
#define STREAM_ID	   1

typedef enum {
	CONN_HANDSHAKE,
	CONN_COMMANDS, /* connected, before publish or play */
	CONN_PUBLISHING,
	CONN_PLAYING,
	CONN_CLOSING,
} conn_state;

struct sc_conn {
	sc_conn *prev, *next; /* relay->conns */
	sc_relay *relay;
	uint64_t id;
	uv_tcp_t tcp;
	conn_state state;
	char peer[80];
	char app[128];
	char name[160]; /* stream name (no query) once publishing or playing */
	sc_rtmp_handshake *hs;
	sc_rtmp_chunk_reader *reader;
	sc_outq q;
	sc_stream *stream;
	uint64_t bytes_in;
	uint64_t acked_in;
	uint32_t peer_window;
	uint64_t created_us, last_media_us;
	bool read_stopped;
	bool close_when_drained;
};

static void on_close(uv_handle_t *h)
{
	sc_conn *c = h->data;
	sc_outq_clear(&c->q);
	sc_rtmp_handshake_free(c->hs);
	sc_rtmp_chunk_reader_free(c->reader);
	free(c);
}

static const char *log_name(const sc_conn *c)
{
	return c->name[0] ? c->name : NULL;
}

void sc_conn_close(sc_conn *c, const char *why)
{
	if (!c || c->state == CONN_CLOSING)
		return;
	conn_state was = c->state;
	c->state = CONN_CLOSING;
	if (why)
		sc_log_info(log_name(c), "rtmp %s: closed: %s", c->peer, why);
	if (was == CONN_PUBLISHING && c->stream)
		sc_stream_unpublish(c->stream, c);
	else if (was == CONN_PLAYING && c->stream)
		sc_stream_remove_player(c->stream, c);
	c->stream = NULL;
	if (c->prev)
		c->prev->next = c->next;
	else
		c->relay->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->prev = c->next = NULL;
	sc_outq_close(&c->q);
	uv_close((uv_handle_t *)&c->tcp, on_close);
}

/* Stop reading and close once what is queued (an error status) is out. */
static void close_after_flush(sc_conn *c, const char *why)
{
	if (c->state == CONN_CLOSING)
		return;
	if (why)
		sc_log_info(log_name(c), "rtmp %s: closing: %s", c->peer, why);
	uv_read_stop((uv_stream_t *)&c->tcp);
	c->read_stopped = true;
	c->close_when_drained = true;
	if (!c->q.inflight && !c->q.head)
		sc_conn_close(c, NULL);
}

static void on_q_error(void *owner, int status)
{
	sc_conn *c = owner;
	sc_conn_close(c, uv_strerror(status));
}

static void on_q_drain(void *owner)
{
	sc_conn *c = owner;
	if (c->close_when_drained)
		sc_conn_close(c, NULL);
}

/* ---- sending */

static void send_chunked(sc_conn *c, uint32_t csid, uint8_t type, uint32_t msid,
			 const sc_buf *payload)
{
	sc_buf out;
	sc_buf_init(&out, SIZE_MAX);
	if (sc_rtmp_chunk_write(&out, SC_PLAY_CHUNK_SIZE, csid, type, msid, 0, payload->data,
				payload->len) == 0)
		sc_outq_bytes(&c->q, out.data, out.len);
	sc_buf_free(&out);
}

static void send_control(sc_conn *c, int (*fn)(sc_buf *, uint32_t), uint32_t v)
{
	sc_buf out;
	sc_buf_init(&out, 256);
	if (fn(&out, v) == 0)
		sc_outq_bytes(&c->q, out.data, out.len);
	sc_buf_free(&out);
}

static void send_user_control(sc_conn *c, uint16_t ev, uint32_t v)
{
	sc_buf out;
	sc_buf_init(&out, 256);
	if (sc_rtmp_write_user_control(&out, ev, v) == 0)
		sc_outq_bytes(&c->q, out.data, out.len);
	sc_buf_free(&out);
}

/* _result / _error with a null command object and an optional info object. */
static void send_result(sc_conn *c, const char *name, double txn, const char *code,
			const char *desc, bool stream_id)
{
	sc_buf b;
	sc_buf_init(&b, 4096);
	sc_amf0_put_string(&b, name);
	sc_amf0_put_number(&b, txn);
	sc_amf0_put_null(&b);
	if (stream_id) {
		sc_amf0_put_number(&b, STREAM_ID);
	} else if (code) {
		sc_amf0_put_object_begin(&b);
		sc_amf0_put_prop_string(&b, "level", strcmp(name, "_error") ? "status" : "error");
		sc_amf0_put_prop_string(&b, "code", code);
		sc_amf0_put_prop_string(&b, "description", desc ? desc : "");
		sc_amf0_put_object_end(&b);
	}
	send_chunked(c, SC_RTMP_CSID_COMMAND, SC_RTMP_MSG_COMMAND_AMF0, 0, &b);
	sc_buf_free(&b);
}

static void send_status(sc_conn *c, const char *level, const char *code, const char *desc)
{
	sc_buf b;
	sc_buf_init(&b, 4096);
	sc_amf0_put_string(&b, "onStatus");
	sc_amf0_put_number(&b, 0);
	sc_amf0_put_null(&b);
	sc_amf0_put_object_begin(&b);
	sc_amf0_put_prop_string(&b, "level", level);
	sc_amf0_put_prop_string(&b, "code", code);
	sc_amf0_put_prop_string(&b, "description", desc);
	sc_amf0_put_object_end(&b);
	send_chunked(c, SC_RTMP_CSID_DATA, SC_RTMP_MSG_COMMAND_AMF0, STREAM_ID, &b);
	sc_buf_free(&b);
}

void sc_conn_play_status(sc_conn *c, const char *code, const char *desc)
{
	if (c->state == CONN_PLAYING)
		send_status(c, "status", code, desc);
}

void sc_conn_play_media(sc_conn *c, sc_media *m)
{
	if (c->state == CONN_PLAYING && sc_outq_media(&c->q, m) < 0)
		sc_conn_close(c, "out of memory");
}

const char *sc_conn_peer(const sc_conn *c)
{
	return c->peer;
}
uint64_t sc_conn_bytes_out(const sc_conn *c)
{
	return c->q.bytes_out;
}
uint64_t sc_conn_drops(const sc_conn *c)
{
	return c->q.drops;
}

/* ---- commands */

static void cmd_connect(sc_conn *c, double txn, const sc_amf0_value *obj)
{
	const char *app = sc_amf0_str(sc_amf0_get(obj, "app"));
	if (!app) {
		send_result(c, "_error", txn, "NetConnection.Connect.Rejected", "no app", false);
		close_after_flush(c, "connect without app");
		return;
	}
	/* "live" and "live/" (some clients add a slash) are the one app. */
	size_t n = strcspn(app, "/?");
	if (n != 4 || strncmp(app, "live", 4) != 0) {
		send_result(c, "_error", txn, "NetConnection.Connect.Rejected",
			    "unknown application: use rtmp://HOST/live/NAME", false);
		close_after_flush(c, "connect to an app other than live");
		return;
	}
	snprintf(c->app, sizeof(c->app), "live");

	send_control(c, sc_rtmp_write_window_ack_size, OUR_WINDOW);
	sc_buf out;
	sc_buf_init(&out, 256);
	if (sc_rtmp_write_set_peer_bw(&out, OUR_WINDOW, 2) == 0)
		sc_outq_bytes(&c->q, out.data, out.len);
	sc_buf_free(&out);
	send_control(c, sc_rtmp_write_set_chunk_size, SC_PLAY_CHUNK_SIZE);

	sc_buf b;
	sc_buf_init(&b, 4096);
	sc_amf0_put_string(&b, "_result");
	sc_amf0_put_number(&b, txn);
	sc_amf0_put_object_begin(&b);
	sc_amf0_put_prop_string(&b, "fmsVer", "FMS/3,0,1,123");
	sc_amf0_put_prop_number(&b, "capabilities", 31);
	sc_amf0_put_object_end(&b);
	sc_amf0_put_object_begin(&b);
	sc_amf0_put_prop_string(&b, "level", "status");
	sc_amf0_put_prop_string(&b, "code", "NetConnection.Connect.Success");
	sc_amf0_put_prop_string(&b, "description", "Connection succeeded.");
	sc_amf0_put_prop_number(&b, "objectEncoding", 0);
	sc_amf0_put_object_end(&b);
	send_chunked(c, SC_RTMP_CSID_COMMAND, SC_RTMP_MSG_COMMAND_AMF0, 0, &b);
	sc_buf_free(&b);
}

/* "NAME?token=..." -> name and token. -EINVAL for a name we do not accept. */
static int split_name(const char *arg, char *name, size_t namelen, char *token, size_t toklen)
{
	size_t n = strcspn(arg, "?");
	if (n == 0 || n >= namelen)
		return -EINVAL;
	memcpy(name, arg, n);
	name[n] = 0;
	token[0] = 0;
	if (arg[n] == '?' && sc_query_get(arg + n + 1, "token", token, toklen) < 0)
		token[0] = 0;
	return sc_stream_name_valid(name) ? 0 : -EINVAL;
}

static void cmd_publish(sc_conn *c, double txn, const char *arg)
{
	char name[sizeof(c->name)], token[SC_TOKEN_MAX * 2];
	char msg[256];
	int reason;

	if (c->state != CONN_COMMANDS || !c->app[0]) {
		close_after_flush(c, "publish in the wrong state");
		return;
	}
	if (!arg || split_name(arg, name, sizeof(name), token, sizeof(token)) < 0) {
		c->relay->refused[SC_REFUSE_BAD_NAME]++;
		send_status(c, "error", "NetStream.Publish.BadName",
			    "bad stream name: use 1-128 of A-Z a-z 0-9 . _ -");
		close_after_flush(c, "publish refused: bad stream name");
		return;
	}
	sc_stream *s = sc_stream_get(c->relay, name);
	if (!s) {
		send_status(c, "error", "NetStream.Publish.BadName",
			    errno == ENOSPC ? "the relay has too many streams" : "out of memory");
		close_after_flush(c, errno == ENOSPC ? "publish refused: too many streams"
						     : "out of memory");
		return;
	}
	snprintf(c->name, sizeof(c->name), "%s", name);
	if (sc_stream_publish(s, c, token[0] ? token : NULL, &reason, msg, sizeof(msg)) < 0) {
		c->relay->refused[reason]++;
		send_status(c, "error", "NetStream.Publish.BadName", msg);
		char why[320];
		snprintf(why, sizeof(why), "publish refused: %s", msg);
		close_after_flush(c, why);
		return;
	}
	c->stream = s;
	c->state = CONN_PUBLISHING;
	c->last_media_us = sc_now_us();
	send_user_control(c, SC_RTMP_UC_STREAM_BEGIN, STREAM_ID);
	send_status(c, "status", "NetStream.Publish.Start", "Start publishing");
}

static void cmd_play(sc_conn *c, double txn, const char *arg)
{
	char name[sizeof(c->name)], token[SC_TOKEN_MAX * 2];

	if (c->state != CONN_COMMANDS || !c->app[0]) {
		close_after_flush(c, "play in the wrong state");
		return;
	}
	if (!arg || split_name(arg, name, sizeof(name), token, sizeof(token)) < 0) {
		send_status(c, "error", "NetStream.Play.StreamNotFound", "bad stream name");
		close_after_flush(c, "play refused: bad stream name");
		return;
	}
	sc_stream *s = sc_stream_get(c->relay, name);
	if (!s) {
		send_status(c, "error", "NetStream.Play.Failed",
			    errno == ENOSPC ? "the relay has too many streams" : "out of memory");
		close_after_flush(c, errno == ENOSPC ? "play refused: too many streams"
						     : "out of memory");
		return;
	}
	snprintf(c->name, sizeof(c->name), "%s", name);
	c->stream = s;
	c->state = CONN_PLAYING;
	send_user_control(c, SC_RTMP_UC_STREAM_IS_RECORDED, STREAM_ID);
	send_user_control(c, SC_RTMP_UC_STREAM_BEGIN, STREAM_ID);
	send_status(c, "status", "NetStream.Play.Reset", "Playing and resetting");
	send_status(c, "status", "NetStream.Play.Start", "Started playing");

	sc_buf b;
	sc_buf_init(&b, 256);
	sc_amf0_put_string(&b, "|RtmpSampleAccess");
	sc_amf0_put_bool(&b, true);
	sc_amf0_put_bool(&b, true);
	send_chunked(c, SC_RTMP_CSID_DATA, SC_RTMP_MSG_DATA_AMF0, STREAM_ID, &b);
	sc_buf_free(&b);

	sc_log_info(c->name, "rtmp %s: player joined", c->peer);
	sc_stream_add_player(s, c);
}

static int on_command(sc_conn *c, const uint8_t *p, size_t n)
{
	sc_amf0_value **v = NULL;
	size_t nv = 0;
	int rc = sc_amf0_decode_all(p, n, &v, &nv);
	if (rc < 0) {
		sc_log_warn(log_name(c), "rtmp %s: malformed AMF0 command dropped the connection",
			    c->peer);
		return -EPROTO;
	}
	const char *cmd = nv > 0 ? sc_amf0_str(v[0]) : NULL;
	double txn = nv > 1 ? sc_amf0_num(v[1], 0) : 0;
	const sc_amf0_value *obj = nv > 2 ? v[2] : NULL;
	const char *arg = nv > 3 ? sc_amf0_str(v[3]) : NULL;

	if (!cmd) {
		rc = -EPROTO;
	} else if (!strcmp(cmd, "connect")) {
		if (c->app[0])
			rc = -EPROTO; /* connect twice */
		else
			cmd_connect(c, txn, obj);
	} else if (!strcmp(cmd, "createStream")) {
		send_result(c, "_result", txn, NULL, NULL, true);
	} else if (!strcmp(cmd, "releaseStream") || !strcmp(cmd, "FCPublish") ||
		   !strcmp(cmd, "FCSubscribe") || !strcmp(cmd, "getStreamLength")) {
		if (txn > 0)
			send_result(c, "_result", txn, NULL, NULL, false);
	} else if (!strcmp(cmd, "publish")) {
		cmd_publish(c, txn, arg);
	} else if (!strcmp(cmd, "play")) {
		cmd_play(c, txn, arg);
	} else if (!strcmp(cmd, "deleteStream") || !strcmp(cmd, "FCUnpublish") ||
		   !strcmp(cmd, "closeStream")) {
		if (c->state == CONN_PUBLISHING || c->state == CONN_PLAYING)
			close_after_flush(c, "stream closed by peer");
	} else {
		sc_log_debug(log_name(c), "rtmp %s: ignoring command %s", c->peer, cmd);
	}
	sc_amf0_free_all(v, nv);
	return rc;
}

/* @setDataFrame("onMetaData", {...}) from the publisher becomes onMetaData. */
static void on_data(sc_conn *c, const sc_rtmp_msg *m)
{
	static const uint8_t set_data_frame[] = {0x02, 0x00, 0x0d, '@', 's', 'e', 't', 'D',
						 'a',  't',  'a',  'F', 'r', 'a', 'm', 'e'};
	const uint8_t *p = m->payload;
	size_t n = m->len;
	if (c->state != CONN_PUBLISHING)
		return;
	if (n > sizeof(set_data_frame) && !memcmp(p, set_data_frame, sizeof(set_data_frame))) {
		p += sizeof(set_data_frame);
		n -= sizeof(set_data_frame);
	}
	/* Only onMetaData goes on to players and targets. */
	static const uint8_t on_meta[] = {0x02, 0x00, 0x0a, 'o', 'n', 'M', 'e',
					  't',	'a',  'D',  'a', 't', 'a'};
	if (n >= sizeof(on_meta) && !memcmp(p, on_meta, sizeof(on_meta)))
		sc_stream_media(c->stream, c, SC_RTMP_MSG_DATA_AMF0, 0, p, n);
}

/* FLV tags packed into one message (type 22). */
static int on_aggregate(sc_conn *c, const sc_rtmp_msg *m)
{
	const uint8_t *p = m->payload;
	size_t n = m->len;
	uint32_t base = 0;
	bool first = true;
	while (n >= 11) {
		uint8_t type = p[0];
		uint32_t size = sc_rd_be24(p + 1);
		uint32_t ts = sc_rd_be24(p + 4) | (uint32_t)p[7] << 24;
		if (n < 11 + (size_t)size + 4)
			return -EPROTO;
		if (first) {
			base = ts;
			first = false;
		}
		if (type == SC_RTMP_MSG_AUDIO || type == SC_RTMP_MSG_VIDEO)
			sc_stream_media(c->stream, c, type, m->timestamp + (ts - base), p + 11,
					size);
		p += 11 + size + 4;
		n -= 11 + size + 4;
	}
	return 0;
}

static int on_message(void *ud, const sc_rtmp_msg *m)
{
	sc_conn *c = ud;
	if (c->state == CONN_CLOSING)
		return -ECANCELED;

	switch (m->type) {
	case SC_RTMP_MSG_AUDIO:
	case SC_RTMP_MSG_VIDEO:
		if (c->state == CONN_PUBLISHING && m->len > 0) {
			c->last_media_us = sc_now_us();
			sc_stream_media(c->stream, c, m->type, m->timestamp, m->payload, m->len);
		}
		return 0;
	case SC_RTMP_MSG_AGGREGATE:
		if (c->state == CONN_PUBLISHING) {
			c->last_media_us = sc_now_us();
			return on_aggregate(c, m);
		}
		return 0;
	case SC_RTMP_MSG_DATA_AMF0:
		on_data(c, m);
		return 0;
	case SC_RTMP_MSG_DATA_AMF3:
		return 0;
	case SC_RTMP_MSG_COMMAND_AMF0:
		return on_command(c, m->payload, m->len);
	case SC_RTMP_MSG_COMMAND_AMF3:
		/* An AMF3 command message starts with a format byte, then AMF0. */
		if (m->len < 1)
			return -EPROTO;
		return on_command(c, m->payload + 1, m->len - 1);
	case SC_RTMP_MSG_USER_CONTROL:
		if (m->len >= 6 && sc_rd_be16(m->payload) == SC_RTMP_UC_PING_REQUEST)
			send_user_control(c, SC_RTMP_UC_PING_RESPONSE, sc_rd_be32(m->payload + 2));
		return 0;
	case SC_RTMP_MSG_WINDOW_ACK_SIZE:
		if (m->len >= 4)
			c->peer_window = sc_rd_be32(m->payload);
		return 0;
	default:
		return 0; /* acks, peer bandwidth, unknown types: nothing to do */
	}
}

/* ---- reading */

/*
 * Every connection reads into the relay's one buffer: on_read consumes
 * what it got before it returns (the handshake and the chunk reader copy
 * what they keep), and libuv calls alloc and read back to back on the loop
 * thread. A buffer per connection cost each publisher 64 KB of resident
 * memory for nothing.
 */
static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	sc_conn *c = h->data;
	(void)suggested;
	*buf = uv_buf_init((char *)c->relay->read_buf, sizeof(c->relay->read_buf));
}

static void feed(sc_conn *c, const uint8_t *p, size_t n)
{
	if (c->state == CONN_HANDSHAKE) {
		sc_buf out;
		size_t used = 0;
		sc_buf_init(&out, 8192);
		int rc = sc_rtmp_handshake_feed(c->hs, p, n, &used, &out);
		if (out.len)
			sc_outq_bytes(&c->q, out.data, out.len);
		sc_buf_free(&out);
		if (rc < 0) {
			c->relay->conns_rejected_proto++;
			sc_conn_close(c, sc_rtmp_handshake_error(c->hs));
			return;
		}
		if (rc == 0)
			return;
		c->state = CONN_COMMANDS;
		sc_rtmp_handshake_free(c->hs);
		c->hs = NULL;
		p += used;
		n -= used;
		if (!n)
			return;
	}
	int rc = sc_rtmp_chunk_reader_feed(c->reader, p, n);
	if (rc < 0 && c->state != CONN_CLOSING) {
		c->relay->conns_rejected_proto++;
		char why[256];
		snprintf(why, sizeof(why), "protocol error: %s",
			 rc == -EPROTO && sc_rtmp_chunk_reader_error(c->reader)
				 ? sc_rtmp_chunk_reader_error(c->reader)
				 : strerror(-rc));
		sc_conn_close(c, why);
		return;
	}
	/* Acknowledge what we received, as the peer asked (Window Ack Size). */
	if (c->state != CONN_CLOSING && c->peer_window &&
	    c->bytes_in - c->acked_in >= c->peer_window) {
		c->acked_in = c->bytes_in;
		send_control(c, sc_rtmp_write_ack, (uint32_t)c->bytes_in);
	}
}

static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
	sc_conn *c = st->data;
	if (nread < 0) {
		sc_conn_close(c, nread == UV_EOF ? "peer closed" : uv_strerror((int)nread));
		return;
	}
	if (nread == 0 || c->state == CONN_CLOSING || c->read_stopped)
		return;
	c->bytes_in += (uint64_t)nread;
	feed(c, (const uint8_t *)buf->base, (size_t)nread);
}

sc_conn *sc_conn_accept(sc_relay *r, uv_stream_t *listener)
{
	sc_conn *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->relay = r;
	c->id = ++r->next_conn_id;
	c->created_us = sc_now_us();
	uv_tcp_init(r->loop, &c->tcp);
	c->tcp.data = c;
	if (uv_accept(listener, (uv_stream_t *)&c->tcp) < 0) {
		uv_close((uv_handle_t *)&c->tcp, (uv_close_cb)free);
		return NULL;
	}
	/* From here on the handle is live: failures go through sc_conn_close. */
	c->prev = NULL;
	c->next = r->conns;
	if (r->conns)
		r->conns->prev = c;
	r->conns = c;
	sc_outq_init(&c->q, &r->outsched, (uv_stream_t *)&c->tcp, (size_t)r->cfg.player_queue_bytes,
		     10000, STREAM_ID, on_q_error, c);
	c->q.on_drain = on_q_drain;
	c->q.merge_ms = (uint32_t)r->cfg.play_merge_ms;

	struct sockaddr_storage ss;
	int len = sizeof(ss);
	snprintf(c->peer, sizeof(c->peer), "?");
	if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &len) == 0) {
		char ip[64];
		if (ss.ss_family == AF_INET) {
			struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
			uv_ip4_name(sin, ip, sizeof(ip));
			snprintf(c->peer, sizeof(c->peer), "%s:%u", ip, ntohs(sin->sin_port));
		} else if (ss.ss_family == AF_INET6) {
			struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
			uv_ip6_name(sin6, ip, sizeof(ip));
			snprintf(c->peer, sizeof(c->peer), "[%s]:%u", ip, ntohs(sin6->sin6_port));
		}
	}
	uv_tcp_nodelay(&c->tcp, 1);
	c->hs = sc_rtmp_handshake_new(SC_RTMP_HS_SERVER);
	c->reader = sc_rtmp_chunk_reader_new((size_t)r->cfg.max_msg_bytes, on_message, c);
	if (!c->hs || !c->reader || uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) < 0) {
		sc_conn_close(c, "out of memory");
		return NULL;
	}
	r->conns_accepted++;
	return c;
}

/* Once a second from the server: drop connections that hang around. */
void sc_conn_tick(sc_conn *c, uint64_t now)
{
	if ((c->state == CONN_HANDSHAKE || c->state == CONN_COMMANDS) &&
	    now - c->created_us > IDLE_TIMEOUT_US)
		sc_conn_close(c, "no publish or play within 15 s");
	else if (c->state == CONN_PUBLISHING && now - c->last_media_us > PUBLISH_TIMEOUT_US)
		sc_conn_close(c, "publisher sent nothing for 30 s");
}

sc_conn *sc_conn_next(sc_conn *c)
{
	return c->next;
}
