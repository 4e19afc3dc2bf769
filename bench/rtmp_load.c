/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rtmp_load.c - the RTMP load generator of the relay benchmark.
 *
 * Opens N play connections spread over S stream names and, with --publish,
 * one publisher per stream name that sends a pre-encoded FLV file paced in
 * real time, looping. Every H.264 frame a publisher sends carries one extra
 * SEI NAL unit (user data unregistered) with the send time, so a player in
 * this process reads back publish-to-play latency whatever a relay does to
 * message timestamps. Only a sample of the players parse the chunk stream;
 * the others only count bytes once their first media message arrived.
 *
 * On stdout: "# window start" and "# window end" when the measurement
 * window opens and closes (the caller samples the relay's CPU then), then
 * one JSON object. One thread, one libuv loop; every phase is bounded in
 * time.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <uv.h>

#include "amf0.h"
#include "buf.h"
#include "rtmp_chunk.h"
#include "rtmp_handshake.h"

#define RBUF_SIZE	(256 * 1024)
#define ACK_EVERY	2500000u /* below both relays' window ack size */
#define PUB_CHUNK_SIZE	4096
#define MAX_MSG		(8 * 1024 * 1024)
#define MAX_PUB_BACKLOG (32 * 1024 * 1024) /* bytes queued in one publisher */
#define MAX_LAT_SAMPLES (4 * 1024 * 1024)
#define RAMP_PER_TICK	25
#define TICK_MS		5
#define LINGER_S	1.0 /* seconds the load stays on after the window */
#define SEI_NAL_LEN	36

/* 16 bytes, no zero byte: no emulation prevention needed in the SEI. */
static const uint8_t sei_uuid[16] = "stagecast-bench!";

typedef struct {
	uint8_t type;
	uint32_t ts;
	bool seqhdr;
	const uint8_t *data;
	size_t len;
} flv_tag;

typedef enum {
	ST_IDLE,
	ST_HANDSHAKE,
	ST_CONNECT, /* connect sent */
	ST_CREATE,  /* createStream sent */
	ST_START,   /* play or publish sent */
	ST_MEDIA,   /* playing (parsed) or publishing */
	ST_COUNT,   /* playing, bytes counted only */
	ST_CLOSED,
} conn_state;

typedef struct {
	uv_tcp_t tcp;
	uv_connect_t creq;
	bool publisher, sampled, got_media;
	conn_state state;
	int stream;
	sc_rtmp_handshake *hs;
	sc_rtmp_chunk_reader *rd;
	uint64_t bytes_in, acked;
	uint32_t stream_id;
	/* publisher */
	size_t next_tag;
	uint64_t loop_off_ms, start_ms;
} conn;

typedef struct {
	uv_write_t req;
	uint8_t data[];
} wreq;

static struct {
	uv_loop_t *loop;
	struct sockaddr_storage play_addr, pub_addr;
	const char *app, *prefix, *flv_path;
	char tc_url[256];
	int n_streams, n_players, n_sample;
	double warmup_s, duration_s, player_delay_s;
	uint8_t *flv;
	flv_tag *tags;
	size_t n_tags;
	uint32_t flv_dur_ms;
	conn *players, *pubs;
	int started;
	uv_timer_t tick;
	uint64_t t0_us, win_start_us, win_end_us;
	int phase; /* 0 warm-up, 1 window, 2 linger, 3 done */
	uint64_t player_bytes, pub_bytes, win_player_bytes, win_pub_bytes;
	uint64_t video_msgs, audio_msgs, pub_drops;
	uint32_t *lat;
	size_t n_lat;
	int playing, publishing, errors, closed_early;
	char last_error[256];
	struct rusage ru0, ru1;
	sc_buf scratch, wire;
	uint8_t rbuf[RBUF_SIZE];
} L;

static uint64_t now_us(void)
{
	return uv_hrtime() / 1000;
}

static void fail(conn *c, const char *what, int err)
{
	L.errors++;
	snprintf(L.last_error, sizeof(L.last_error), "%s %s%d: %s", what,
		 c->publisher ? "publisher " : "player ", c->stream, err ? uv_strerror(err) : "");
	if (c->state != ST_CLOSED) {
		if (L.phase < 2)
			L.closed_early++;
		c->state = ST_CLOSED;
		uv_close((uv_handle_t *)&c->tcp, NULL);
	}
}

static void on_written(uv_write_t *req, int status)
{
	(void)status;
	free(req);
}

static void conn_send(conn *c, const uint8_t *p, size_t n)
{
	if (c->state == ST_CLOSED || !n)
		return;
	wreq *w = malloc(sizeof(*w) + n);
	if (!w) {
		fail(c, "out of memory in", 0);
		return;
	}
	memcpy(w->data, p, n);
	uv_buf_t b = uv_buf_init((char *)w->data, (unsigned)n);
	int rc = uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, on_written);
	if (rc < 0) {
		free(w);
		fail(c, "write", rc);
	}
}

/* Send L.scratch as one message. */
static void send_msg(conn *c, uint32_t csid, uint8_t type, uint32_t msid, uint32_t ts)
{
	sc_buf_reset(&L.wire);
	if (sc_rtmp_chunk_write(&L.wire, PUB_CHUNK_SIZE, csid, type, msid, ts, L.scratch.data,
				L.scratch.len) == 0)
		conn_send(c, L.wire.data, L.wire.len);
}

static void stream_name(int i, char *out, size_t n)
{
	snprintf(out, n, "%s%d", L.prefix, i);
}

/* ---- commands */

static void send_connect(conn *c)
{
	/* Every message we send uses this chunk size: say so first. */
	sc_buf_reset(&L.wire);
	sc_rtmp_write_set_chunk_size(&L.wire, PUB_CHUNK_SIZE);
	conn_send(c, L.wire.data, L.wire.len);
	sc_buf_reset(&L.scratch);
	sc_amf0_put_string(&L.scratch, "connect");
	sc_amf0_put_number(&L.scratch, 1);
	sc_amf0_put_object_begin(&L.scratch);
	sc_amf0_put_prop_string(&L.scratch, "app", L.app);
	sc_amf0_put_prop_string(&L.scratch, "flashVer",
				c->publisher ? "FMLE/3.0" : "LNX 9,0,124,2");
	sc_amf0_put_prop_string(&L.scratch, "tcUrl", L.tc_url);
	sc_amf0_put_prop_bool(&L.scratch, "fpad", false);
	sc_amf0_put_prop_number(&L.scratch, "capabilities", 15);
	sc_amf0_put_prop_number(&L.scratch, "audioCodecs", 4071);
	sc_amf0_put_prop_number(&L.scratch, "videoCodecs", 252);
	sc_amf0_put_prop_number(&L.scratch, "videoFunction", 1);
	sc_amf0_put_object_end(&L.scratch);
	send_msg(c, SC_RTMP_CSID_COMMAND, SC_RTMP_MSG_COMMAND_AMF0, 0, 0);
	c->state = ST_CONNECT;
}

static void send_create(conn *c)
{
	sc_buf_reset(&L.scratch);
	sc_amf0_put_string(&L.scratch, "createStream");
	sc_amf0_put_number(&L.scratch, 2);
	sc_amf0_put_null(&L.scratch);
	send_msg(c, SC_RTMP_CSID_COMMAND, SC_RTMP_MSG_COMMAND_AMF0, 0, 0);
	c->state = ST_CREATE;
}

static void send_start(conn *c)
{
	char name[64];
	stream_name(c->stream, name, sizeof(name));
	sc_buf_reset(&L.scratch);
	sc_amf0_put_string(&L.scratch, c->publisher ? "publish" : "play");
	sc_amf0_put_number(&L.scratch, 3);
	sc_amf0_put_null(&L.scratch);
	sc_amf0_put_string(&L.scratch, name);
	if (c->publisher)
		sc_amf0_put_string(&L.scratch, "live");
	else
		sc_amf0_put_number(&L.scratch, -2000);
	send_msg(c, 8, SC_RTMP_MSG_COMMAND_AMF0, c->stream_id, 0);
	c->state = ST_START;
}

/* onMetaData from the file, as @setDataFrame. */
static void send_metadata(conn *c)
{
	for (size_t i = 0; i < L.n_tags && i < 4; i++) {
		if (L.tags[i].type != SC_RTMP_MSG_DATA_AMF0)
			continue;
		sc_buf_reset(&L.scratch);
		sc_amf0_put_string(&L.scratch, "@setDataFrame");
		sc_buf_append(&L.scratch, L.tags[i].data, L.tags[i].len);
		send_msg(c, SC_RTMP_CSID_DATA, SC_RTMP_MSG_DATA_AMF0, c->stream_id, 0);
		return;
	}
}

static void on_status(conn *c, const sc_amf0_value *info)
{
	const char *code = sc_amf0_str(sc_amf0_get(info, "code"));
	const char *level = sc_amf0_str(sc_amf0_get(info, "level"));
	if (!code)
		return;
	if (level && !strcmp(level, "error")) {
		L.errors++;
		snprintf(L.last_error, sizeof(L.last_error), "%s on stream %d", code, c->stream);
		return;
	}
	if (c->publisher && !strcmp(code, "NetStream.Publish.Start") && c->state == ST_START) {
		c->state = ST_MEDIA;
		c->start_ms = now_us() / 1000;
		L.publishing++;
		send_metadata(c);
	} else if (!c->publisher && !strcmp(code, "NetStream.Play.Start") && c->state == ST_START) {
		c->state = ST_MEDIA;
	}
}

static int on_command(conn *c, const uint8_t *p, size_t n)
{
	sc_amf0_value **v = NULL;
	size_t nv = 0;
	if (sc_amf0_decode_all(p, n, &v, &nv) < 0)
		return 0; /* not ours to judge; ignore */
	const char *cmd = nv > 0 ? sc_amf0_str(v[0]) : NULL;
	double txn = nv > 1 ? sc_amf0_num(v[1], 0) : 0;
	if (!cmd) {
		/* nothing */
	} else if (!strcmp(cmd, "_result") && txn == 1 && c->state == ST_CONNECT) {
		send_create(c);
	} else if (!strcmp(cmd, "_result") && txn == 2 && c->state == ST_CREATE) {
		c->stream_id = nv > 3 ? (uint32_t)sc_amf0_num(v[3], 1) : 1;
		send_start(c);
	} else if (!strcmp(cmd, "_error")) {
		L.errors++;
		snprintf(L.last_error, sizeof(L.last_error), "_error for txn %g on stream %d", txn,
			 c->stream);
	} else if (!strcmp(cmd, "onStatus") && nv > 3) {
		on_status(c, v[3]);
	}
	sc_amf0_free_all(v, nv);
	return 0;
}

/* The send time a publisher put into a video message, or 0. */
static uint64_t sei_time(const uint8_t *p, size_t n)
{
	if (n < 9 + SEI_NAL_LEN || (p[0] & 0x0f) != 7 || p[1] != 1 ||
	    sc_rd_be32(p + 5) != SEI_NAL_LEN || p[9] != 0x06 || p[10] != 5 || p[11] != 32 ||
	    memcmp(p + 12, sei_uuid, 16) != 0)
		return 0;
	uint64_t t = 0;
	for (int i = 0; i < 16; i++) {
		uint8_t ch = p[28 + i];
		t = t << 4 | (uint64_t)(ch <= '9' ? ch - '0' : ch - 'a' + 10);
	}
	return t;
}

static uint64_t read_time_us; /* when the data being parsed arrived */

static int on_message(void *ud, const sc_rtmp_msg *m)
{
	conn *c = ud;
	if (c->state == ST_CLOSED || c->state == ST_COUNT)
		return 0;
	switch (m->type) {
	case SC_RTMP_MSG_AUDIO:
	case SC_RTMP_MSG_VIDEO:
		if (c->publisher)
			return 0;
		if (!c->got_media) {
			c->got_media = true;
			L.playing++;
			if (!c->sampled) {
				c->state = ST_COUNT;
				return 0;
			}
		}
		if (L.phase != 1)
			return 0;
		if (m->type == SC_RTMP_MSG_AUDIO) {
			L.audio_msgs++;
			return 0;
		}
		L.video_msgs++;
		uint64_t t = sei_time(m->payload, m->len);
		if (t && L.n_lat < MAX_LAT_SAMPLES && read_time_us >= t)
			L.lat[L.n_lat++] = (uint32_t)(read_time_us - t);
		return 0;
	case SC_RTMP_MSG_COMMAND_AMF0:
		return on_command(c, m->payload, m->len);
	case SC_RTMP_MSG_COMMAND_AMF3:
		return m->len ? on_command(c, m->payload + 1, m->len - 1) : 0;
	case SC_RTMP_MSG_USER_CONTROL:
		if (m->len >= 6 && sc_rd_be16(m->payload) == SC_RTMP_UC_PING_REQUEST) {
			sc_buf_reset(&L.wire);
			sc_rtmp_write_user_control(&L.wire, SC_RTMP_UC_PING_RESPONSE,
						   sc_rd_be32(m->payload + 2));
			conn_send(c, L.wire.data, L.wire.len);
		}
		return 0;
	default:
		return 0;
	}
}

/* ---- reading */

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	(void)h;
	(void)suggested;
	*buf = uv_buf_init((char *)L.rbuf, RBUF_SIZE);
}

static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
	conn *c = st->data;
	const uint8_t *p = (const uint8_t *)buf->base;
	size_t n = nread > 0 ? (size_t)nread : 0;

	if (nread < 0) {
		fail(c, "read from", (int)nread);
		return;
	}
	if (!n || c->state == ST_CLOSED)
		return;
	c->bytes_in += n;
	if (!c->publisher)
		L.player_bytes += n;
	if (c->state == ST_COUNT)
		goto ack;
	if (c->state == ST_HANDSHAKE) {
		size_t used = 0;
		sc_buf_reset(&L.wire);
		int rc = sc_rtmp_handshake_feed(c->hs, p, n, &used, &L.wire);
		conn_send(c, L.wire.data, L.wire.len);
		if (rc < 0) {
			fail(c, "handshake with", 0);
			return;
		}
		if (rc == 0)
			return;
		sc_rtmp_handshake_free(c->hs);
		c->hs = NULL;
		send_connect(c);
		p += used;
		n -= used;
	}
	read_time_us = now_us();
	if (n && sc_rtmp_chunk_reader_feed(c->rd, p, n) < 0) {
		fail(c, "bad chunk stream from relay to", 0);
		return;
	}
ack:
	if (c->bytes_in - c->acked >= ACK_EVERY && c->state != ST_CLOSED) {
		c->acked = c->bytes_in;
		sc_buf_reset(&L.wire);
		sc_rtmp_write_ack(&L.wire, (uint32_t)c->bytes_in);
		conn_send(c, L.wire.data, L.wire.len);
	}
}

static void on_connect(uv_connect_t *req, int status)
{
	conn *c = req->data;
	if (status < 0) {
		fail(c, "connect", status);
		return;
	}
	uv_tcp_nodelay(&c->tcp, 1);
	c->hs = sc_rtmp_handshake_new(SC_RTMP_HS_CLIENT);
	c->rd = sc_rtmp_chunk_reader_new(c->publisher || c->sampled ? MAX_MSG : 1024 * 1024,
					 on_message, c);
	if (!c->hs || !c->rd) {
		fail(c, "out of memory for", 0);
		return;
	}
	c->state = ST_HANDSHAKE;
	sc_buf_reset(&L.wire);
	sc_rtmp_handshake_start(c->hs, &L.wire);
	conn_send(c, L.wire.data, L.wire.len);
	int rc = uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
	if (rc < 0)
		fail(c, "read start", rc);
}

static void conn_start(conn *c, const struct sockaddr_storage *addr)
{
	uv_tcp_init(L.loop, &c->tcp);
	c->tcp.data = c;
	c->creq.data = c;
	c->state = ST_IDLE;
	int rc = uv_tcp_connect(&c->creq, &c->tcp, (const struct sockaddr *)addr, on_connect);
	if (rc < 0)
		fail(c, "connect", rc);
}

/* ---- publishing */

static void send_tag(conn *c, const flv_tag *t, uint32_t ts)
{
	sc_buf_reset(&L.scratch);
	if (t->type == SC_RTMP_MSG_VIDEO && t->len >= 5 && (t->data[0] & 0x0f) == 7 &&
	    t->data[1] == 1) {
		char hex[17];
		snprintf(hex, sizeof(hex), "%016" PRIx64, now_us());
		sc_buf_append(&L.scratch, t->data, 5);
		sc_buf_append_be32(&L.scratch, SEI_NAL_LEN);
		sc_buf_append_u8(&L.scratch, 0x06); /* SEI */
		sc_buf_append_u8(&L.scratch, 5);    /* user data unregistered */
		sc_buf_append_u8(&L.scratch, 32);
		sc_buf_append(&L.scratch, sei_uuid, 16);
		sc_buf_append(&L.scratch, hex, 16);
		sc_buf_append_u8(&L.scratch, 0x80); /* rbsp trailing bits */
		sc_buf_append(&L.scratch, t->data + 5, t->len - 5);
	} else {
		sc_buf_append(&L.scratch, t->data, t->len);
	}
	send_msg(c, t->type == SC_RTMP_MSG_VIDEO ? SC_RTMP_CSID_VIDEO : SC_RTMP_CSID_AUDIO, t->type,
		 c->stream_id, ts);
	L.pub_bytes += L.wire.len;
}

static void pace(conn *c, uint64_t now_ms)
{
	uint64_t elapsed = now_ms - c->start_ms;
	for (int guard = 0; guard < 10000 && c->state == ST_MEDIA; guard++) {
		const flv_tag *t = &L.tags[c->next_tag];
		uint64_t ts = t->ts + c->loop_off_ms;
		if (ts > elapsed)
			break;
		bool skip = t->type == SC_RTMP_MSG_DATA_AMF0 || (t->seqhdr && c->loop_off_ms);
		if (!skip) {
			if (uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp) >
			    MAX_PUB_BACKLOG)
				L.pub_drops++;
			else
				send_tag(c, t, (uint32_t)ts);
		}
		if (++c->next_tag == L.n_tags) {
			c->next_tag = 0;
			c->loop_off_ms += L.flv_dur_ms;
		}
	}
}

/* ---- the clock */

static void snapshot_window(void)
{
	L.win_player_bytes = L.player_bytes;
	L.win_pub_bytes = L.pub_bytes;
}

static void on_tick(uv_timer_t *t)
{
	(void)t;
	uint64_t now = now_us();
	double el = (double)(now - L.t0_us) / 1e6;

	for (int i = 0; i < L.n_streams && L.pubs; i++)
		pace(&L.pubs[i], now / 1000);
	if (el >= L.player_delay_s) {
		for (int k = 0; k < RAMP_PER_TICK && L.started < L.n_players; k++)
			conn_start(&L.players[L.started++], &L.play_addr);
	}
	if (L.phase == 0 && el >= L.warmup_s) {
		L.phase = 1;
		L.win_start_us = now;
		snapshot_window();
		getrusage(RUSAGE_SELF, &L.ru0);
		printf("# window start\n");
		fflush(stdout);
	} else if (L.phase == 1 && el >= L.warmup_s + L.duration_s) {
		L.phase = 2;
		L.win_end_us = now;
		L.win_player_bytes = L.player_bytes - L.win_player_bytes;
		L.win_pub_bytes = L.pub_bytes - L.win_pub_bytes;
		getrusage(RUSAGE_SELF, &L.ru1);
		printf("# window end\n");
		fflush(stdout);
	} else if (L.phase == 2 && el >= L.warmup_s + L.duration_s + LINGER_S) {
		/* Kept going a moment, so that whoever samples at the end of
		 * the window sees the load still on. */
		L.phase = 3;
		uv_stop(L.loop);
	}
}

/* ---- FLV file */

static int load_flv(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return -errno;
	fseek(f, 0, SEEK_END);
	long sz = ftell(f);
	fseek(f, 0, SEEK_SET);
	if (sz < 13 || sz > 512L * 1024 * 1024) {
		fclose(f);
		return -EINVAL;
	}
	L.flv = malloc((size_t)sz);
	if (!L.flv || fread(L.flv, 1, (size_t)sz, f) != (size_t)sz) {
		fclose(f);
		return -EIO;
	}
	fclose(f);
	if (memcmp(L.flv, "FLV", 3) != 0)
		return -EINVAL;
	size_t off = sc_rd_be32(L.flv + 5) + 4, cap = 0;
	while (off + 11 <= (size_t)sz) {
		const uint8_t *h = L.flv + off;
		size_t len = sc_rd_be24(h + 1);
		if (off + 11 + len > (size_t)sz)
			break;
		if (L.n_tags == cap) {
			cap = cap ? cap * 2 : 1024;
			flv_tag *nt = realloc(L.tags, cap * sizeof(*nt));
			if (!nt)
				return -ENOMEM;
			L.tags = nt;
		}
		flv_tag *t = &L.tags[L.n_tags++];
		t->type = h[0];
		t->ts = sc_rd_be24(h + 4) | (uint32_t)h[7] << 24;
		t->data = h + 11;
		t->len = len;
		t->seqhdr = len >= 2 && ((t->type == SC_RTMP_MSG_VIDEO && t->data[1] == 0) ||
					 (t->type == SC_RTMP_MSG_AUDIO && (t->data[0] >> 4) == 10 &&
					  t->data[1] == 0));
		if (t->ts + 34 > L.flv_dur_ms)
			L.flv_dur_ms = t->ts + 34;
		off += 11 + len + 4;
	}
	return L.n_tags ? 0 : -EINVAL;
}

/* ---- results */

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

static double pct(double p)
{
	if (!L.n_lat)
		return 0;
	size_t i = (size_t)(p / 100.0 * (double)(L.n_lat - 1) + 0.5);
	return L.lat[i] / 1000.0;
}

static double tv_s(struct timeval tv)
{
	return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

static void report(void)
{
	double win =
		L.win_end_us > L.win_start_us ? (double)(L.win_end_us - L.win_start_us) / 1e6 : 0;
	double cpu = tv_s(L.ru1.ru_utime) + tv_s(L.ru1.ru_stime) - tv_s(L.ru0.ru_utime) -
		     tv_s(L.ru0.ru_stime);
	qsort(L.lat, L.n_lat, sizeof(*L.lat), cmp_u32);
	printf("{\"players\": %d, \"players_playing\": %d, \"streams\": %d, "
	       "\"publishers_publishing\": %d, \"window_s\": %.3f, "
	       "\"player_bytes\": %" PRIu64 ", \"player_gbps\": %.4f, "
	       "\"publisher_bytes\": %" PRIu64 ", \"publisher_mbps\": %.3f, "
	       "\"publisher_drops\": %" PRIu64 ", \"sampled_video_msgs\": %" PRIu64
	       ", \"sampled_audio_msgs\": %" PRIu64 ", "
	       "\"latency_ms\": {\"n\": %zu, \"p50\": %.2f, \"p90\": %.2f, \"p99\": %.2f, "
	       "\"max\": %.2f}, \"load_cpu_s\": %.3f, \"errors\": %d, \"closed_early\": %d, "
	       "\"last_error\": \"%s\"}\n",
	       L.n_players, L.playing, L.n_streams, L.publishing, win, L.win_player_bytes,
	       win > 0 ? (double)L.win_player_bytes * 8 / win / 1e9 : 0, L.win_pub_bytes,
	       win > 0 ? (double)L.win_pub_bytes * 8 / win / 1e6 : 0, L.pub_drops, L.video_msgs,
	       L.audio_msgs, L.n_lat, pct(50), pct(90), pct(99),
	       L.n_lat ? L.lat[L.n_lat - 1] / 1000.0 : 0, cpu, L.errors, L.closed_early,
	       L.last_error);
	fflush(stdout);
}

static void close_walk(uv_handle_t *h, void *arg)
{
	(void)arg;
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

static void free_conns(conn *cs, int n)
{
	for (int i = 0; cs && i < n; i++) {
		sc_rtmp_handshake_free(cs[i].hs);
		sc_rtmp_chunk_reader_free(cs[i].rd);
	}
	free(cs);
}

static int parse_addr(const char *s, struct sockaddr_storage *ss)
{
	char host[128];
	const char *colon = strrchr(s, ':');
	if (!colon || (size_t)(colon - s) >= sizeof(host))
		return -EINVAL;
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = 0;
	int port = atoi(colon + 1);
	if (port <= 0 || port > 65535)
		return -EINVAL;
	return uv_ip4_addr(host, port, (struct sockaddr_in *)ss) == 0 ? 0 : -EINVAL;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: rtmp_load --addr HOST:PORT [options]\n"
		"  --addr HOST:PORT      where players connect (IPv4)\n"
		"  --pub-addr HOST:PORT  where publishers connect (default: --addr)\n"
		"  --app NAME            application (live)\n"
		"  --prefix P            stream names P0..P(S-1) (s)\n"
		"  --streams S           stream names (1)\n"
		"  --players N           play connections, spread over the streams (0)\n"
		"  --publish FILE.flv    one publisher per stream sends FILE in real time\n"
		"  --sample K            players per stream that parse and measure latency (8)\n"
		"  --warmup SEC          before the window opens (5)\n"
		"  --duration SEC        measurement window (20)\n"
		"  --player-delay SEC    players start this long after publishers (1)\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"addr", required_argument, NULL, 'a'},
		{"pub-addr", required_argument, NULL, 'P'},
		{"app", required_argument, NULL, 'A'},
		{"prefix", required_argument, NULL, 'x'},
		{"streams", required_argument, NULL, 's'},
		{"players", required_argument, NULL, 'n'},
		{"publish", required_argument, NULL, 'f'},
		{"sample", required_argument, NULL, 'k'},
		{"warmup", required_argument, NULL, 'w'},
		{"duration", required_argument, NULL, 'd'},
		{"player-delay", required_argument, NULL, 'D'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *addr = NULL, *pub_addr = NULL;
	int o;

	L.app = "live";
	L.prefix = "s";
	L.n_streams = 1;
	L.n_sample = 8;
	L.warmup_s = 5;
	L.duration_s = 20;
	L.player_delay_s = 1;
	while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (o) {
		case 'a':
			addr = optarg;
			break;
		case 'P':
			pub_addr = optarg;
			break;
		case 'A':
			L.app = optarg;
			break;
		case 'x':
			L.prefix = optarg;
			break;
		case 's':
			L.n_streams = atoi(optarg);
			break;
		case 'n':
			L.n_players = atoi(optarg);
			break;
		case 'f':
			L.flv_path = optarg;
			break;
		case 'k':
			L.n_sample = atoi(optarg);
			break;
		case 'w':
			L.warmup_s = atof(optarg);
			break;
		case 'd':
			L.duration_s = atof(optarg);
			break;
		case 'D':
			L.player_delay_s = atof(optarg);
			break;
		case 'h':
			usage();
			return 0;
		default:
			usage();
			return 2;
		}
	}
	if (!addr || parse_addr(addr, &L.play_addr) < 0 ||
	    parse_addr(pub_addr ? pub_addr : addr, &L.pub_addr) < 0 || L.n_streams < 1 ||
	    L.n_streams > 10000 || L.n_players < 0 || L.n_players > 100000 || L.duration_s <= 0 ||
	    L.warmup_s < 0) {
		usage();
		return 2;
	}
	if (L.flv_path) {
		int rc = load_flv(L.flv_path);
		if (rc < 0) {
			fprintf(stderr, "rtmp_load: %s: %s\n", L.flv_path, strerror(-rc));
			return 1;
		}
	}
	snprintf(L.tc_url, sizeof(L.tc_url), "rtmp://%s/%s", addr, L.app);
	sc_buf_init(&L.scratch, MAX_MSG);
	sc_buf_init(&L.wire, 2 * MAX_MSG);
	L.lat = malloc(MAX_LAT_SAMPLES * sizeof(*L.lat));
	L.players = calloc((size_t)L.n_players + 1, sizeof(conn));
	L.pubs = L.flv_path ? calloc((size_t)L.n_streams, sizeof(conn)) : NULL;
	if (!L.lat || !L.players || (L.flv_path && !L.pubs)) {
		fprintf(stderr, "rtmp_load: out of memory\n");
		return 1;
	}
	for (int i = 0; i < L.n_players; i++) {
		L.players[i].stream = i % L.n_streams;
		L.players[i].sampled = i / L.n_streams < L.n_sample;
	}
	L.loop = uv_default_loop();
	L.t0_us = now_us();
	for (int i = 0; L.pubs && i < L.n_streams; i++) {
		L.pubs[i].publisher = true;
		L.pubs[i].stream = i;
		conn_start(&L.pubs[i], &L.pub_addr);
	}
	uv_timer_init(L.loop, &L.tick);
	uv_timer_start(&L.tick, on_tick, TICK_MS, TICK_MS);
	uv_run(L.loop, UV_RUN_DEFAULT);
	report();

	uv_walk(L.loop, close_walk, NULL);
	uv_run(L.loop, UV_RUN_DEFAULT);
	uv_loop_close(L.loop);
	free_conns(L.players, L.n_players);
	free_conns(L.pubs, L.pubs ? L.n_streams : 0);
	sc_buf_free(&L.scratch);
	sc_buf_free(&L.wire);
	free(L.lat);
	free(L.tags);
	free(L.flv);
	return 0;
}
