/* SPDX-License-Identifier: Apache-2.0 */
/*
 * stream.c - one stream name: who publishes it (exactly one, fenced), what
 * a newcomer needs to start (metadata, sequence headers, the GOP since the
 * last key frame), and the explicit list of sinks it feeds: players, push
 * targets, HLS. No hook chains: the order is the order of this file.
 *
 * Timestamps: every sink sees one continuous timeline per name. When a new
 * publisher takes over (or comes back), its timestamps are shifted to
 * continue just after the last message sent, so players, targets and HLS
 * never see time go backwards.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "codec_info.h"
#include "gop.h"
#include "log.h"
#include "relay.h"
#include "rtmp_chunk.h"
#include "url.h"

#define RATE_WINDOW  4 /* seconds over which bitrate and fps are measured */
#define MAX_PLAYERS  10000
#define MAX_TARGETS  32
#define MAX_WAITERS  4096
#define IDLE_FREE_US (300 * 1000000ull)

const char *const sc_refuse_reason[SC_REFUSE_N] = {
	[SC_REFUSE_DUPLICATE] = "duplicate",	 [SC_REFUSE_NO_TOKEN] = "no_token",
	[SC_REFUSE_BAD_TOKEN] = "bad_token",	 [SC_REFUSE_EXPIRED] = "expired",
	[SC_REFUSE_STALE_FENCE] = "stale_fence", [SC_REFUSE_BAD_NAME] = "bad_name",
};

typedef struct {
	uint64_t bytes[RATE_WINDOW + 1];
	uint32_t frames[RATE_WINDOW + 1];
	unsigned slot;
	unsigned filled; /* completed seconds, up to RATE_WINDOW */
} rate_meter;

typedef struct {
	sc_http_request *req;
	uint64_t deadline_us;
	sc_hls_retry_fn retry;
} hls_waiter;

struct sc_stream {
	sc_stream *next;
	sc_relay *relay;
	char name[160];

	sc_conn *publisher;
	char publisher_addr[64];
	struct timespec since; /* wall clock, for the API */
	uint64_t fence;	       /* of the current publisher */
	uint64_t max_fence;    /* highest ever accepted for this name */
	uint64_t publishes, takeovers;

	/* timeline */
	bool have_out_ts, rebase;
	uint32_t last_out_ts;
	uint32_t ts_offset;

	/* what a newcomer needs */
	sc_media *meta, *vseq, *aseq;
	sc_gop gop;

	/* sinks */
	sc_conn **players;
	size_t n_players, cap_players;
	sc_push *targets[MAX_TARGETS];
	size_t n_targets;
	unsigned next_target_id;
	sc_hls *hls;
	bool hls_failed;
	hls_waiter *waiters;
	size_t n_waiters, cap_waiters;

	/* stats */
	uint64_t bytes_in, bytes_out_gone, player_drops_gone;
	sc_track_info video, audio;
	bool has_video, has_audio;
	rate_meter vrate, arate;
	uint64_t idle_since_us;
};

static void set_cached(sc_media **slot, sc_media *m)
{
	if (*slot)
		sc_media_unref(*slot);
	*slot = m ? sc_media_ref(m) : NULL;
}

/* The key frame cache could not read back a part (see gop.h). */
static void gop_lost(sc_stream *s, int64_t msn, int64_t part, int rc)
{
	sc_log_warn(s->name,
		    "key frame cache: HLS part %lld.%lld cannot be read back (%s); newcomers "
		    "wait for the next key frame",
		    (long long)msn, (long long)part, strerror(-rc));
}

static void on_hls_update(void *ud);
static void on_hls_part(void *ud, int64_t msn, int64_t part, const sc_hls_frame_at *frames,
			size_t n);
static void on_hls_drop(void *ud, int64_t msn);

sc_stream *sc_stream_find(sc_relay *r, const char *name)
{
	for (sc_stream *s = r->streams; s; s = s->next)
		if (!strcmp(s->name, name))
			return s;
	return NULL;
}

/* "{name}" in a push template becomes the stream name. */
static int expand_template(const char *tpl, const char *name, char *out, size_t outlen)
{
	size_t o = 0;
	for (const char *p = tpl; *p;) {
		const char *add = p;
		size_t n = 1;
		if (!strncmp(p, "{name}", 6)) {
			add = name;
			n = strlen(name);
			p += 6;
		} else {
			p++;
		}
		if (o + n >= outlen)
			return -ENOBUFS;
		memcpy(out + o, add, n);
		o += n;
	}
	out[o] = 0;
	return 0;
}

sc_stream *sc_stream_get(sc_relay *r, const char *name)
{
	sc_stream *s = sc_stream_find(r, name);
	if (s)
		return s;
	if (r->n_streams >= (size_t)r->cfg.max_streams) {
		errno = ENOSPC;
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	r->n_streams++;
	s->relay = r;
	snprintf(s->name, sizeof(s->name), "%s", name);
	s->idle_since_us = sc_now_us();

	for (size_t i = 0; i < r->cfg.push.n; i++) {
		char url[SC_URL_MAX], id[16], msg[256];
		if (expand_template(r->cfg.push.v[i], name, url, sizeof(url)) < 0 ||
		    sc_stream_add_target(s, url, true, id, sizeof(id), msg, sizeof(msg)) < 0)
			sc_log_error(name, "push template %zu skipped: %s", i + 1,
				     "bad URL after expansion");
	}
	s->next = r->streams;
	r->streams = s;
	return s;
}

const char *sc_stream_name(const sc_stream *s)
{
	return s->name;
}

sc_stream *sc_stream_next(const sc_stream *s)
{
	return s->next;
}

sc_relay *sc_stream_relay(const sc_stream *s)
{
	return s->relay;
}

bool sc_stream_live(const sc_stream *s)
{
	return s->publisher != NULL;
}
sc_hls *sc_stream_hls(sc_stream *s)
{
	return s->hls;
}

/* ---- publishing */

/* HLS starts with the first publish, so that names only ever played or
 * probed cost no folder on disk. */
static void ensure_hls(sc_stream *s)
{
	sc_relay *r = s->relay;
	char err[256];
	if (s->hls)
		return;
	sc_hls_config hc = {
		.dir = r->cfg.hls_dir && r->cfg.hls_dir[0] ? r->cfg.hls_dir : NULL,
		.target_ms = r->cfg.hls_segment_ms,
		.part_ms = r->cfg.hls_part_ms,
		.window = (int)r->cfg.hls_window,
		.on_update = on_hls_update,
		.on_part = on_hls_part,
		.on_drop = on_hls_drop,
		.userdata = s,
	};
	s->hls = sc_hls_new(r->loop, &hc, s->name, err, sizeof(err));
	if (!s->hls)
		sc_log_error(s->name, "hls disabled for this stream: %s", err);
}

int sc_stream_publish(sc_stream *s, sc_conn *c, const char *token, int *ret_reason, char *msg,
		      size_t msglen)
{
	sc_relay *r = s->relay;
	uint64_t fence = 0;

	if (r->secret_len) {
		if (!token) {
			*ret_reason = SC_REFUSE_NO_TOKEN;
			snprintf(msg, msglen,
				 "token required: publish to rtmp://HOST/live/NAME?token=TOKEN");
			return -EPERM;
		}
		int rc = sc_token_verify(r->secret, r->secret_len, s->name, token, time(NULL),
					 &fence, NULL);
		if (rc < 0) {
			*ret_reason = rc == -ETIME ? SC_REFUSE_EXPIRED : SC_REFUSE_BAD_TOKEN;
			snprintf(msg, msglen, "token refused: %s", sc_token_strerror(rc));
			return -EPERM;
		}
		/*
		 * Refusals of the token itself (a missing one too, above) read
		 * "token ...": a client may give up on those (stagecast-capture
		 * does), while a duplicate with the same fence may be its own
		 * earlier connection that has not been noticed gone yet, so it
		 * is worth retrying.
		 */
		if (s->publishes && fence < s->max_fence) {
			*ret_reason = SC_REFUSE_STALE_FENCE;
			snprintf(msg, msglen, "token fence %llu is older than fence %llu",
				 (unsigned long long)fence, (unsigned long long)s->max_fence);
			return -EPERM;
		}
		if (s->publisher && fence <= s->fence) {
			*ret_reason = SC_REFUSE_DUPLICATE;
			snprintf(msg, msglen,
				 "stream already has a publisher (fence %llu, this token has %llu)",
				 (unsigned long long)s->fence, (unsigned long long)fence);
			return -EBUSY;
		}
	} else if (s->publisher) {
		*ret_reason = SC_REFUSE_DUPLICATE;
		snprintf(msg, msglen, "stream already has a publisher");
		return -EBUSY;
	}

	sc_conn *old = s->publisher;
	s->publisher = c;
	s->fence = fence;
	if (fence > s->max_fence)
		s->max_fence = fence;
	s->publishes++;
	clock_gettime(CLOCK_REALTIME, &s->since);
	snprintf(s->publisher_addr, sizeof(s->publisher_addr), "%s", sc_conn_peer(c));
	s->rebase = s->have_out_ts;
	memset(&s->vrate, 0, sizeof(s->vrate));
	memset(&s->arate, 0, sizeof(s->arate));

	if (old) {
		/* Take over: the old publisher goes, every sink stays. */
		s->takeovers++;
		sc_log_info(s->name, "publisher %s (fence %llu) takes over from %s",
			    sc_conn_peer(c), (unsigned long long)fence, sc_conn_peer(old));
		sc_conn_close(old, "taken over by a newer fence");
		if (s->hls)
			sc_hls_discontinuity(s->hls);
		set_cached(&s->vseq, NULL);
		set_cached(&s->aseq, NULL);
		set_cached(&s->meta, NULL);
		sc_gop_clear(&s->gop);
	} else {
		sc_log_info(s->name, "publish from %s (fence %llu)", sc_conn_peer(c),
			    (unsigned long long)fence);
		ensure_hls(s);
		for (size_t i = 0; i < s->n_targets; i++)
			sc_push_start(s->targets[i]);
		for (size_t i = 0; i < s->n_players; i++)
			sc_conn_play_status(s->players[i], "NetStream.Play.PublishNotify",
					    "stream is now published");
	}
	return 0;
}

void sc_stream_unpublish(sc_stream *s, sc_conn *c)
{
	if (s->publisher != c)
		return;
	sc_log_info(s->name, "publisher %s left", sc_conn_peer(c));
	s->publisher = NULL;
	s->idle_since_us = sc_now_us();
	if (s->hls)
		sc_hls_end(s->hls);
	for (size_t i = 0; i < s->n_targets; i++)
		sc_push_stop(s->targets[i]);
	for (size_t i = 0; i < s->n_players; i++)
		sc_conn_play_status(s->players[i], "NetStream.Play.UnpublishNotify",
				    "stream is now unpublished");
	set_cached(&s->vseq, NULL);
	set_cached(&s->aseq, NULL);
	set_cached(&s->meta, NULL);
	sc_gop_clear(&s->gop);
	s->has_video = s->has_audio = false;
}

/* ---- media */

static void meter_add(rate_meter *rm, size_t bytes, bool frame)
{
	rm->bytes[rm->slot] += bytes;
	if (frame)
		rm->frames[rm->slot]++;
}

/* Rates over the last RATE_WINDOW whole seconds (fewer right after a start). */
static void meter_tick(rate_meter *rm, sc_track_info *ti, bool count_fps)
{
	uint64_t bytes = 0;
	uint32_t frames = 0;
	if (rm->filled < RATE_WINDOW)
		rm->filled++;
	for (unsigned i = 0; i <= RATE_WINDOW; i++)
		if (i != (rm->slot + 1) % (RATE_WINDOW + 1)) {
			bytes += rm->bytes[i];
			frames += rm->frames[i];
		}
	ti->bitrate = (double)bytes * 8 / rm->filled;
	if (count_fps)
		ti->fps = (double)frames / rm->filled;
	rm->slot = (rm->slot + 1) % (RATE_WINDOW + 1);
	rm->bytes[rm->slot] = 0;
	rm->frames[rm->slot] = 0;
}

static void learn(sc_stream *s, const sc_media *m)
{
	if (sc_media_is_video(m)) {
		s->has_video = true;
		meter_add(&s->vrate, m->len, !(m->flags & SC_MEDIA_SEQHDR));
		if ((m->flags & SC_MEDIA_SEQHDR) && (m->flags & SC_MEDIA_H264)) {
			snprintf(s->video.codec, sizeof(s->video.codec), "h264");
			if (m->len > 5)
				sc_h264_avcc_size(m->data + 5, m->len - 5, &s->video.width,
						  &s->video.height);
		} else if (!(m->flags & SC_MEDIA_H264) && !s->video.codec[0]) {
			snprintf(s->video.codec, sizeof(s->video.codec), "flv-%u",
				 m->len ? m->data[0] & 0x0f : 0);
		}
	} else if (sc_media_is_audio(m)) {
		s->has_audio = true;
		meter_add(&s->arate, m->len, true);
		if ((m->flags & SC_MEDIA_SEQHDR) && (m->flags & SC_MEDIA_AAC)) {
			snprintf(s->audio.codec, sizeof(s->audio.codec), "aac");
			if (m->len > 2)
				sc_aac_asc_info(m->data + 2, m->len - 2, &s->audio.sample_rate,
						&s->audio.channels);
		} else if (!(m->flags & SC_MEDIA_AAC) && !s->audio.codec[0]) {
			snprintf(s->audio.codec, sizeof(s->audio.codec), "flv-%u",
				 m->len ? m->data[0] >> 4 : 0);
		}
	}
}

static void cache(sc_stream *s, sc_media *m)
{
	if (m->type == SC_RTMP_MSG_DATA_AMF0) {
		set_cached(&s->meta, m);
		return;
	}
	if (m->flags & SC_MEDIA_SEQHDR) {
		set_cached(sc_media_is_video(m) ? &s->vseq : &s->aseq, m);
		return;
	}
	sc_gop_add(&s->gop, m, (size_t)s->relay->cfg.gop_cache_bytes);
}

void sc_stream_media(sc_stream *s, sc_conn *publisher, uint8_t type, uint32_t ts,
		     const uint8_t *data, size_t len)
{
	if (s->publisher != publisher)
		return;
	s->bytes_in += len;

	/*
	 * onMetaData goes out at time 0, as players expect it (ffmpeg's flv
	 * reader takes metadata at any other time for a subtitle stream), and
	 * only when it changed: some encoders (GStreamer's flvmux) repeat it
	 * many times a second.
	 */
	uint32_t out;
	if (type == SC_RTMP_MSG_DATA_AMF0) {
		if (s->meta && s->meta->len == len && !memcmp(s->meta->data, data, len))
			return;
		out = 0;
	} else {
		if (s->rebase) {
			s->ts_offset = s->last_out_ts + 40 - ts;
			s->rebase = false;
		}
		out = ts + s->ts_offset;
		s->last_out_ts = out;
		s->have_out_ts = true;
	}

	sc_media *m = sc_media_new(type, out, data, len);
	if (!m) {
		sc_log_error(s->name, "out of memory: message dropped");
		return;
	}
	learn(s, m);
	cache(s, m);

	for (size_t i = 0; i < s->n_players; i++)
		sc_conn_play_media(s->players[i], m);
	for (size_t i = 0; i < s->n_targets; i++)
		sc_push_media(s->targets[i], m);
	if (s->hls && type != SC_RTMP_MSG_DATA_AMF0) {
		char err[256];
		if (sc_hls_write(s->hls, m, err, sizeof(err)) < 0) {
			if (!s->hls_failed)
				sc_log_error(s->name, "hls: %s", err);
			s->hls_failed = true;
		} else {
			s->hls_failed = false;
		}
	}
	sc_media_unref(m);
}

void sc_stream_replay(sc_stream *s, void (*fn)(void *ud, sc_media *m), void *ud)
{
	if (s->meta)
		fn(ud, s->meta);
	if (s->vseq)
		fn(ud, s->vseq);
	if (s->aseq)
		fn(ud, s->aseq);
	int64_t msn, part;
	int rc = sc_gop_replay(&s->gop, s->hls, fn, ud, &msn, &part);
	if (rc < 0)
		gop_lost(s, msn, part, rc);
}

/* ---- players */

static void replay_to_player(void *ud, sc_media *m)
{
	sc_conn_play_media(ud, m);
}

void sc_stream_add_player(sc_stream *s, sc_conn *c)
{
	if (s->n_players >= MAX_PLAYERS) {
		sc_conn_close(c, "too many players for this stream");
		return;
	}
	if (s->n_players == s->cap_players) {
		size_t cap = s->cap_players ? s->cap_players * 2 : 16;
		sc_conn **p = realloc(s->players, cap * sizeof(*p));
		if (!p) {
			sc_conn_close(c, "out of memory");
			return;
		}
		s->players = p;
		s->cap_players = cap;
	}
	s->players[s->n_players++] = c;
	sc_stream_replay(s, replay_to_player, c);
}

void sc_stream_remove_player(sc_stream *s, sc_conn *c)
{
	for (size_t i = 0; i < s->n_players; i++)
		if (s->players[i] == c) {
			s->bytes_out_gone += sc_conn_bytes_out(c);
			s->player_drops_gone += sc_conn_drops(c);
			s->players[i] = s->players[--s->n_players];
			if (!s->n_players && !s->publisher)
				s->idle_since_us = sc_now_us();
			return;
		}
}

/* ---- push targets */

int sc_stream_add_target(sc_stream *s, const char *url, bool from_template, char *ret_id,
			 size_t idlen, char *msg, size_t msglen)
{
	int rc = sc_push_url_check(url, msg, msglen);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < s->n_targets; i++)
		if (!strcmp(sc_push_url(s->targets[i]), url)) {
			snprintf(msg, msglen, "already a target of this stream (%s)",
				 sc_push_id(s->targets[i]));
			return -EEXIST;
		}
	if (s->n_targets >= MAX_TARGETS) {
		snprintf(msg, msglen, "a stream has at most %d targets", MAX_TARGETS);
		return -ENOSPC;
	}
	char id[16];
	snprintf(id, sizeof(id), "t%u", ++s->next_target_id);
	sc_push *p = sc_push_new(s->relay, s, url, id, from_template);
	if (!p) {
		snprintf(msg, msglen, "out of memory");
		return -ENOMEM;
	}
	s->targets[s->n_targets++] = p;
	snprintf(ret_id, idlen, "%s", id);
	if (!from_template) {
		char red[SC_URL_MAX];
		sc_url_redact(url, red, sizeof(red));
		sc_log_info(s->name, "push target %s added: %s", id, red);
	}
	if (s->publisher)
		sc_push_start(p);
	return 0;
}

int sc_stream_remove_target(sc_stream *s, const char *id)
{
	for (size_t i = 0; i < s->n_targets; i++)
		if (!strcmp(sc_push_id(s->targets[i]), id)) {
			s->bytes_out_gone += sc_push_bytes_out(s->targets[i]);
			sc_push_free(s->targets[i]);
			memmove(&s->targets[i], &s->targets[i + 1],
				(s->n_targets - i - 1) * sizeof(s->targets[0]));
			s->n_targets--;
			sc_log_info(s->name, "push target %s removed", id);
			return 0;
		}
	return -ENOENT;
}

/* ---- HLS waiters */

int sc_stream_wait_hls(sc_stream *s, sc_http_request *req, uint64_t deadline_us,
		       sc_hls_retry_fn retry)
{
	if (s->n_waiters >= MAX_WAITERS)
		return -EBUSY;
	if (s->n_waiters == s->cap_waiters) {
		size_t cap = s->cap_waiters ? s->cap_waiters * 2 : 16;
		hls_waiter *w = realloc(s->waiters, cap * sizeof(*w));
		if (!w)
			return -ENOMEM;
		s->waiters = w;
		s->cap_waiters = cap;
	}
	s->waiters[s->n_waiters++] = (hls_waiter){req, deadline_us, retry};
	return 0;
}

static void run_waiters(sc_stream *s, bool all_time_out)
{
	uint64_t now = sc_now_us();
	hls_waiter *w = s->waiters;
	size_t n = s->n_waiters;

	/* Take the list: a retry that is still waiting puts itself back. */
	s->waiters = NULL;
	s->n_waiters = s->cap_waiters = 0;
	for (size_t i = 0; i < n; i++) {
		bool timed_out = all_time_out || now >= w[i].deadline_us;
		if (!w[i].retry(s, w[i].req, timed_out) &&
		    sc_stream_wait_hls(s, w[i].req, w[i].deadline_us, w[i].retry) < 0)
			w[i].retry(s, w[i].req, true);
	}
	free(w);
}

static void on_hls_update(void *ud)
{
	run_waiters(ud, false);
}

static void on_hls_part(void *ud, int64_t msn, int64_t part, const sc_hls_frame_at *frames,
			size_t n)
{
	sc_stream *s = ud;

	sc_gop_in_part(&s->gop, msn, part, frames, n);
}

static void on_hls_drop(void *ud, int64_t msn)
{
	sc_stream *s = ud;
	int64_t part;
	int rc = sc_gop_segment_gone(&s->gop, s->hls, msn, &part);
	if (rc < 0)
		gop_lost(s, msn, part, rc);
}

/* ---- housekeeping */

static void stream_free(sc_stream *s)
{
	run_waiters(s, true);
	for (size_t i = 0; i < s->n_targets; i++)
		sc_push_free(s->targets[i]);
	set_cached(&s->vseq, NULL);
	set_cached(&s->aseq, NULL);
	set_cached(&s->meta, NULL);
	sc_gop_free(&s->gop);
	free(s->players);
	free(s->waiters);
	sc_hls_free(s->hls);
	free(s);
}

static void stream_tick(sc_stream *s)
{
	meter_tick(&s->vrate, &s->video, true);
	meter_tick(&s->arate, &s->audio, false);
	if (s->n_waiters)
		run_waiters(s, false);
}

/* Once a second: forget names nobody has used for a while. */
void sc_stream_gc(sc_relay *r)
{
	uint64_t now = sc_now_us();
	for (sc_stream **pp = &r->streams; *pp;) {
		sc_stream *s = *pp;
		stream_tick(s);
		bool runtime_targets = false;
		for (size_t i = 0; i < s->n_targets; i++)
			runtime_targets |= !sc_push_from_template(s->targets[i]);
		if (!s->publisher && !s->n_players && !runtime_targets && !s->n_waiters &&
		    now - s->idle_since_us > IDLE_FREE_US && !s->max_fence) {
			*pp = s->next;
			r->n_streams--;
			stream_free(s);
			continue;
		}
		pp = &s->next;
	}
}

void sc_stream_free_all(sc_relay *r)
{
	while (r->streams) {
		sc_stream *s = r->streams;
		r->streams = s->next;
		r->n_streams--;
		stream_free(s);
	}
}

/* ---- reporting */

static json_t *track_json(const sc_track_info *t, bool video)
{
	if (video)
		return json_pack("{s:s, s:i, s:i, s:f, s:i}", "codec", t->codec, "width", t->width,
				 "height", t->height, "fps", t->fps, "bitrate", (int)t->bitrate);
	return json_pack("{s:s, s:i, s:i, s:i}", "codec", t->codec, "sample_rate", t->sample_rate,
			 "channels", t->channels, "bitrate", (int)t->bitrate);
}

/* Everything sent for this stream: players and push targets, gone ones too. */
static uint64_t bytes_out(const sc_stream *s)
{
	uint64_t b = s->bytes_out_gone;
	for (size_t i = 0; i < s->n_players; i++)
		b += sc_conn_bytes_out(s->players[i]);
	for (size_t i = 0; i < s->n_targets; i++)
		b += sc_push_bytes_out(s->targets[i]);
	return b;
}

json_t *sc_stream_to_json(const sc_stream *s)
{
	json_t *o = json_object();
	json_object_set_new(o, "name", json_string(s->name));
	json_object_set_new(o, "live", json_boolean(s->publisher != NULL));
	if (s->publisher) {
		char since[40], secs[24];
		struct tm tm;
		gmtime_r(&s->since.tv_sec, &tm);
		strftime(secs, sizeof(secs), "%Y-%m-%dT%H:%M:%S", &tm);
		snprintf(since, sizeof(since), "%s.%03ldZ", secs, s->since.tv_nsec / 1000000);
		json_object_set_new(o, "publisher",
				    json_pack("{s:s, s:s, s:I}", "addr", s->publisher_addr, "since",
					      since, "fence", (json_int_t)s->fence));
	} else {
		json_object_set_new(o, "publisher", json_null());
	}
	json_object_set_new(o, "video",
			    s->publisher && s->has_video ? track_json(&s->video, true)
							 : json_null());
	json_object_set_new(o, "audio",
			    s->publisher && s->has_audio ? track_json(&s->audio, false)
							 : json_null());
	json_object_set_new(o, "bytes_in", json_integer((json_int_t)s->bytes_in));
	json_object_set_new(o, "bytes_out", json_integer((json_int_t)bytes_out(s)));
	json_object_set_new(o, "players", json_integer((json_int_t)s->n_players));
	json_object_set_new(o, "takeovers", json_integer((json_int_t)s->takeovers));
	json_t *t = json_array();
	for (size_t i = 0; i < s->n_targets; i++)
		json_array_append_new(t, sc_push_to_json(s->targets[i]));
	json_object_set_new(o, "targets", t);
	/* The key frame cache: messages, of which only in HLS parts, and how
	 * many were ever read back from them. */
	json_object_set_new(o, "gop_cache",
			    json_pack("{s:I, s:I, s:I, s:I}", "messages", (json_int_t)s->gop.n,
				      "bytes", (json_int_t)s->gop.bytes, "in_parts",
				      (json_int_t)s->gop.in_parts, "loads",
				      (json_int_t)s->gop.loads));
	if (s->hls) {
		sc_hls_stats st;
		sc_hls_get_stats(s->hls, &st);
		char url[256];
		snprintf(url, sizeof(url), "/hls/%s/index.m3u8", s->name);
		json_object_set_new(o, "hls",
				    json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I}", "playlist",
					      url, "segments", (json_int_t)st.segments, "parts",
					      (json_int_t)st.parts, "last_publish_delay_us",
					      (json_int_t)st.last_publish_delay_us,
					      "last_file_delay_us",
					      (json_int_t)st.last_file_delay_us, "write_errors",
					      (json_int_t)st.write_errors, "write_drops",
					      (json_int_t)st.write_drops));
	}
	return o;
}

static uint64_t player_drops(const sc_stream *s)
{
	uint64_t d = s->player_drops_gone;
	for (size_t i = 0; i < s->n_players; i++)
		d += sc_conn_drops(s->players[i]);
	return d;
}

void sc_stream_metrics(sc_relay *r, sc_metrics *m)
{
	size_t live = 0, n = 0;
	for (sc_stream *s = r->streams; s; s = s->next) {
		n++;
		live += s->publisher != NULL;
	}
	sc_metrics_family(m, "stagecast_relay_streams", "gauge", "Stream names the relay knows.");
	sc_metrics_sample(m, "stagecast_relay_streams", NULL, (double)n);
	sc_metrics_family(m, "stagecast_relay_publishers", "gauge", "Streams with a publisher.");
	sc_metrics_sample(m, "stagecast_relay_publishers", NULL, (double)live);

#define PER_STREAM(metric, type, help, expr)                                                    \
	do {                                                                                    \
		sc_metrics_family(m, metric, type, help);                                       \
		for (sc_stream *s = r->streams; s; s = s->next)                                 \
			sc_metrics_sample(m, metric, (const char *[]){"stream", s->name, NULL}, \
					  (double)(expr));                                      \
	} while (0)

	PER_STREAM("stagecast_relay_players", "gauge", "RTMP players connected.", s->n_players);
	PER_STREAM("stagecast_relay_bytes_in_total", "counter", "Media bytes from the publisher.",
		   s->bytes_in);
	PER_STREAM("stagecast_relay_bytes_out_total", "counter",
		   "Bytes sent to RTMP players and push targets.", bytes_out(s));
	PER_STREAM("stagecast_relay_player_drops_total", "counter",
		   "Media messages dropped for slow RTMP players.", player_drops(s));
	PER_STREAM("stagecast_relay_takeovers_total", "counter",
		   "Publishers replaced by a higher fence.", s->takeovers);
#undef PER_STREAM

	for (int f = 0; f < SC_PUSH_METRIC_N; f++) {
		sc_push_metric_family(m, f);
		for (sc_stream *s = r->streams; s; s = s->next)
			for (size_t i = 0; i < s->n_targets; i++)
				sc_push_metrics(s->targets[i], s->name, m, f);
	}
}
