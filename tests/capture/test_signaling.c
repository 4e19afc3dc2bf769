/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for capture/signaling.c, janus_room.c and whep.c: URLs, and
 * the VideoRoom logic fed with replies recorded from the real Janus 1.1 of
 * the test rig (tests/capture/data/janus_*.json, found through
 * SC_TEST_DATA), with a fake send that records every request. WHEP runs
 * against a tiny HTTP server on 127.0.0.1 in a thread.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "janus_priv.h"

#define H_PUB 4719569013665036ULL
#define H_SUB 6819203764286408ULL

/* ------------------------------------------------------------ recorders */

static json_t *sent; /* the requests, in order */
static int n_offers, n_participants, n_candidates, n_errors;
static sc_sig_stream last_streams[64];
static size_t n_last_streams;
static sc_sig_stream last_people[64];
static size_t n_last_people;
static char last_cand[600], last_mid[32];
static sc_sig_error last_err;
static bool last_fatal;

static void rec_offer(void *ud, const char *sdp, const sc_sig_stream *st, size_t n)
{
	(void)ud;
	assert_memory_equal(sdp, "v=0", 3);
	n_offers++;
	memcpy(last_streams, st, n * sizeof(*st));
	n_last_streams = n;
}

static void rec_people(void *ud, const sc_sig_stream *p, size_t n)
{
	(void)ud;
	n_participants++;
	memcpy(last_people, p, n * sizeof(*p));
	n_last_people = n;
}

static void rec_cand(void *ud, const char *mid, const char *cand)
{
	(void)ud;
	n_candidates++;
	snprintf(last_mid, sizeof(last_mid), "%s", mid ? mid : "(null)");
	snprintf(last_cand, sizeof(last_cand), "%s", cand ? cand : "(null)");
}

static void rec_error(void *ud, sc_sig_error e, bool fatal, const char *msg)
{
	(void)ud;
	(void)msg;
	n_errors++;
	last_err = e;
	last_fatal = fatal;
}

static const sc_sig_callbacks callbacks = {
	.on_offer = rec_offer,
	.on_answer = rec_offer,
	.on_candidate = rec_cand,
	.on_participants = rec_people,
	.on_error = rec_error,
};

static int fake_send(janus *j, uint64_t handle, json_t *msg, json_t **ret_reply)
{
	(void)j;
	json_object_set_new(msg, "handle", json_integer((json_int_t)handle));
	json_array_append(sent, msg);
	*ret_reply = json_pack("{s:s}", "janus", "ack");
	return 0;
}

static json_t *load(const char *name)
{
	const char *dir = getenv("SC_TEST_DATA");
	char path[1024];
	json_error_t e;
	json_t *v;

	snprintf(path, sizeof(path), "%s/%s", dir ? dir : "tests/capture/data", name);
	v = json_load_file(path, 0, &e);
	if (!v)
		fail_msg("cannot read %s (set SC_TEST_DATA): %s", path, e.text);
	return v;
}

static janus *new_janus(const char *url)
{
	janus *j = calloc(1, sizeof(*j));
	char err[200];

	assert_non_null(j);
	assert_int_equal(sc_janus_parse_url(j, url, err, sizeof(err)), 0);
	snprintf(j->display, sizeof(j->display), "probe");
	j->cb = callbacks;
	j->send = fake_send;
	j->session = 1;
	j->h_pub = H_PUB;
	j->h_sub = H_SUB;
	json_decref(sent);
	sent = json_array();
	n_offers = n_participants = n_candidates = n_errors = 0;
	return j;
}

static void free_janus(janus *j)
{
	sc_janus_reset(j);
	json_decref(j->room);
	free(j);
}

/* Feed a recorded event; mine: as the reply to our last request. */
static int feed(janus *j, const char *name, bool mine)
{
	json_t *ev = load(name);
	int r;

	if (mine)
		json_object_set_new(ev, "transaction", json_string(j->req_tid));
	r = sc_janus_event(j, ev);
	json_decref(ev);
	return r;
}

static json_t *last_sent(void)
{
	return json_array_get(sent, json_array_size(sent) - 1);
}

static const char *body_request(json_t *msg)
{
	return json_string_value(json_object_get(json_object_get(msg, "body"), "request"));
}

/* ------------------------------------------------------------ URLs */

static void test_janus_urls(void **state)
{
	janus j;
	char err[200];
	static const char *const bad[] = {
		"janus://",	     "janus:///1",	    "janus://h",
		"janus://h/",	     "janus://h:0/1",	    "janus://h:65536/1",
		"janus://h:/1",	     "janus://h:80x/1",	    "janus://h/1/2",
		"janus://h/1?foo=1", "janus://h/1?pin=",    "janus://h/1?pin=a&x=2",
		"janus://h/01",	     "janus://h/1#frag",    "janus://h /1",
		"janus://u@h/1",     "janus://[::1/1",	    "janus://h/1234567890123456",
		"http://h/1",	     "janus://h/1?pin=%zz", "janus://h/r%20oom",
	};

	(void)state;
	memset(&j, 0, sizeof(j));
	assert_int_equal(sc_janus_parse_url(&j, "janus://127.0.0.2:8089/1234", err, sizeof(err)),
			 0);
	assert_string_equal(j.base, "http://127.0.0.2:8089/janus");
	assert_true(json_is_integer(j.room));
	assert_int_equal(json_integer_value(j.room), 1234);
	assert_string_equal(j.pin, "");
	json_decref(j.room);

	memset(&j, 0, sizeof(j));
	assert_int_equal(sc_janus_parse_url(&j, "JANUS://Janus.example/lobby-1?pin=a%20b%26c", err,
					    sizeof(err)),
			 0);
	assert_string_equal(j.base, "http://Janus.example:8088/janus");
	assert_string_equal(json_string_value(j.room), "lobby-1");
	assert_string_equal(j.pin, "a b&c");
	json_decref(j.room);

	memset(&j, 0, sizeof(j));
	assert_int_equal(sc_janus_parse_url(&j, "janus://[::1]:8088/7", err, sizeof(err)), 0);
	assert_string_equal(j.base, "http://[::1]:8088/janus");
	json_decref(j.room);

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&j, 0, sizeof(j));
		err[0] = '\0';
		if (sc_janus_parse_url(&j, bad[i], err, sizeof(err)) != -EINVAL)
			fail_msg("accepted %s", bad[i]);
		assert_true(err[0] != '\0');
		json_decref(j.room);
	}
}

static void test_find_and_new(void **state)
{
	char err[200];
	sc_signaling *s;

	(void)state;
	assert_ptr_equal(sc_signaling_find("janus://h/1"), &sc_signaling_janus);
	assert_ptr_equal(sc_signaling_find("whep+http://h/x"), &sc_signaling_whep);
	assert_ptr_equal(sc_signaling_find("WHEP+HTTPS://h/x"), &sc_signaling_whep);
	assert_null(sc_signaling_find("http://h/x"));
	assert_null(sc_signaling_find(NULL));

	assert_null(sc_signaling_new("rtmp://h/x", NULL, &callbacks, err, sizeof(err)));
	assert_non_null(strstr(err, "unsupported"));
	assert_null(sc_signaling_new("janus://h/1?pin=", NULL, &callbacks, err, sizeof(err)));
	assert_non_null(strstr(err, "pin"));
	assert_null(sc_signaling_new("whep+ftp://h/x", NULL, &callbacks, err, sizeof(err)));
	assert_null(
		sc_signaling_new("whep+http://user:pw@h/x", NULL, &callbacks, err, sizeof(err)));
	assert_null(sc_signaling_new("whep+http://h/x y", NULL, &callbacks, err, sizeof(err)));
	assert_null(sc_signaling_new("whep+http:///x", NULL, &callbacks, err, sizeof(err)));

	/* Made and freed without start: deinit only. */
	s = sc_signaling_new("janus://127.0.0.1:1/1", NULL, &callbacks, err, sizeof(err));
	assert_non_null(s);
	assert_string_equal(sc_signaling_name(s), "janus");
	assert_int_equal(sc_signaling_offer(s, "v=0\r\n"), -ENOTSUP);
	sc_signaling_free(s);
	sc_signaling_free(NULL);
}

/* ------------------------------------------------------------ Janus events */

static void test_room_flow(void **state)
{
	janus *j = new_janus("janus://127.0.0.2:8088/1234");
	json_t *m, *streams;
	json_t *ev, *e;
	size_t i;

	(void)state;
	/* The publisher-handle join and its "joined": two publishers. */
	assert_int_equal(sc_janus_join(j), 0);
	m = last_sent();
	assert_string_equal(body_request(m), "join");
	assert_string_equal(json_string_value(json_object_get(json_object_get(m, "body"), "ptype")),
			    "publisher");
	assert_string_equal(
		json_string_value(json_object_get(json_object_get(m, "body"), "display")), "probe");
	assert_int_equal(json_integer_value(json_object_get(m, "handle")), H_PUB);

	assert_int_equal(feed(j, "janus_joined.json", false), 0);
	assert_true(j->joined);
	assert_int_equal(n_participants, 1);
	assert_int_equal(n_last_people, 2);
	assert_string_equal(last_people[0].display, "alice");
	assert_string_equal(last_people[0].feed, "7121246945180315");
	assert_string_equal(last_people[1].display, "bob");

	/* ... makes the subscriber join with both feeds. */
	m = last_sent();
	assert_int_equal(json_integer_value(json_object_get(m, "handle")), H_SUB);
	assert_string_equal(body_request(m), "join");
	assert_string_equal(json_string_value(json_object_get(json_object_get(m, "body"), "ptype")),
			    "subscriber");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(m, "body"), "room")),
			 1234);
	assert_int_equal(
		json_integer_value(json_object_get(json_object_get(m, "body"), "private_id")),
		135335618);
	streams = json_object_get(json_object_get(m, "body"), "streams");
	assert_int_equal(json_array_size(streams), 2);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(streams, 0), "feed")),
			 7121246945180315LL);

	/* "attached" + offer: the stream map. */
	assert_int_equal(feed(j, "janus_attached.json", true), 0);
	assert_int_equal(n_offers, 1);
	assert_int_equal(n_last_streams, 4);
	assert_string_equal(last_streams[0].mid, "0");
	assert_string_equal(last_streams[0].kind, "video");
	assert_string_equal(last_streams[0].display, "alice");
	assert_string_equal(last_streams[3].kind, "audio");
	assert_string_equal(last_streams[3].display, "bob");
	assert_true(last_streams[3].active);
	assert_true(j->offer_pending);

	/* A new publisher while the offer waits: nothing sent yet. */
	i = json_array_size(sent);
	assert_int_equal(feed(j, "janus_publishers.json", false), 0);
	assert_int_equal(n_last_people, 3);
	assert_string_equal(last_people[2].display, "carol");
	assert_int_equal(json_array_size(sent), i);

	/* Our answer goes out as "start" + jsep; then carol is subscribed. */
	assert_int_equal(sc_janus_send_answer(j, "v=0\r\nanswer"), 0);
	m = json_array_get(sent, i);
	assert_string_equal(body_request(m), "start");
	assert_string_equal(json_string_value(json_object_get(json_object_get(m, "jsep"), "type")),
			    "answer");
	assert_int_equal(json_array_size(sent), i + 1); /* start pending: wait */
	assert_int_equal(feed(j, "janus_started.json", false), 0);
	m = last_sent();
	assert_string_equal(body_request(m), "subscribe");
	streams = json_object_get(json_object_get(m, "body"), "streams");
	assert_int_equal(json_array_size(streams), 1);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(streams, 0), "feed")),
			 6483745588924357LL);

	/* The "updated" offer with carol's sections. */
	assert_int_equal(feed(j, "janus_updated_subscribe.json", true), 0);
	assert_int_equal(n_offers, 2);
	assert_int_equal(n_last_streams, 6);
	assert_string_equal(last_streams[5].display, "carol");
	assert_int_equal(sc_janus_send_answer(j, "v=0\r\nanswer2"), 0);
	assert_int_equal(feed(j, "janus_started.json", false), 0);
	i = json_array_size(sent);

	/* Bob leaves: Janus renegotiates by itself; his sections die but
	 * keep his name; one participants event per real change. */
	ev = load("janus_after_leave.json");
	n_participants = 0;
	json_array_foreach(ev, i, e) assert_int_equal(sc_janus_event(j, e), 0);
	json_decref(ev);
	assert_int_equal(n_offers, 3);
	assert_int_equal(n_last_streams, 6);
	assert_false(last_streams[2].active);
	assert_false(last_streams[3].active);
	assert_string_equal(last_streams[2].feed, "2410773534950289");
	assert_string_equal(last_streams[2].display, "bob");
	assert_true(last_streams[4].active);
	assert_int_equal(n_participants, 1);
	assert_int_equal(n_last_people, 2);
	for (i = 0; i < n_last_people; i++)
		assert_string_not_equal(last_people[i].display, "bob");

	/* A subscribe Janus refuses (the feed is gone): no retry loop. */
	assert_int_equal(sc_janus_send_answer(j, "v=0\r\nanswer3"), 0);
	assert_int_equal(feed(j, "janus_started.json", false), 0);
	j->req_tid[0] = '\0';
	ev = json_pack("{s:s, s:[{s:I, s:s}]}", "videoroom", "event", "publishers", "id",
		       (json_int_t)12345, "display", "ghost");
	e = json_pack("{s:s, s:I, s:{s:o}}", "janus", "event", "sender", (json_int_t)H_PUB,
		      "plugindata", "data", ev);
	assert_int_equal(sc_janus_event(j, e), 0);
	json_decref(e);
	assert_string_equal(body_request(last_sent()), "subscribe");
	i = json_array_size(sent);
	assert_int_equal(feed(j, "janus_subscribe_no_feed.json", true), 0);
	assert_int_equal(json_array_size(sent), i);

	/* Trickled candidates from Janus. */
	e = json_pack("{s:s, s:I, s:{s:s, s:i, s:s}}", "janus", "trickle", "sender",
		      (json_int_t)H_SUB, "candidate", "sdpMid", "0", "sdpMLineIndex", 0,
		      "candidate", "candidate:1 1 udp 2015363327 127.0.0.2 36291 typ host");
	assert_int_equal(sc_janus_event(j, e), 0);
	json_decref(e);
	assert_string_equal(last_cand, "1 1 udp 2015363327 127.0.0.2 36291 typ host");
	assert_string_equal(last_mid, "0");
	e = json_pack("{s:s, s:I, s:{s:b}}", "janus", "trickle", "sender", (json_int_t)H_SUB,
		      "candidate", "completed", 1);
	assert_int_equal(sc_janus_event(j, e), 0);
	json_decref(e);
	assert_string_equal(last_cand, "(null)");

	/* Our candidates go out as trickle requests on the subscriber. */
	assert_int_equal(sc_janus_send_candidate(j, "1", "2 1 udp 1 10.0.0.1 5000 typ host"), 0);
	m = last_sent();
	assert_string_equal(json_string_value(json_object_get(m, "janus")), "trickle");
	assert_string_equal(
		json_string_value(json_object_get(json_object_get(m, "candidate"), "candidate")),
		"candidate:2 1 udp 1 10.0.0.1 5000 typ host");
	free_janus(j);
}

static void test_join_errors(void **state)
{
	static const struct {
		const char *file;
		sc_sig_error err;
	} cases[] = {
		{"janus_join_no_room.json", SC_SIG_ERR_NOT_FOUND},
		{"janus_join_bad_pin.json", SC_SIG_ERR_DENIED},
		{"janus_join_no_pin.json", SC_SIG_ERR_DENIED},
	};
	json_t *ev;
	janus *j;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		j = new_janus("janus://h/5678?pin=x");
		j->h_pub = 6003716800137370ULL; /* the recorded sender */
		assert_int_equal(sc_janus_join(j), 0);
		assert_string_equal(json_string_value(json_object_get(
					    json_object_get(last_sent(), "body"), "pin")),
				    "x");
		assert_true(feed(j, cases[i].file, false) < 0);
		assert_int_equal(j->fail_err, cases[i].err);
		assert_false(j->joined);
		free_janus(j);
	}
	/* 458 from the long poll or a request: the session is lost. */
	j = new_janus("janus://h/1");
	ev = load("janus_no_session.json");
	assert_true(sc_janus_event(j, ev) < 0);
	assert_int_equal(j->fail_err, SC_SIG_ERR_UNREACHABLE);
	assert_true(sc_janus_request(j, 0, ev, NULL, NULL) == 0); /* fake send: ack */
	json_decref(ev);
	free_janus(j);
}

static void test_bad_events(void **state)
{
	janus *j = new_janus("janus://h/1234");
	json_t *ev, *data, *streams;
	char big[300];

	(void)state;
	/* Junk that is not for us or not an event: ignored. */
	ev = json_pack("[i]", 1);
	assert_int_equal(sc_janus_event(j, ev), 0);
	json_decref(ev);
	ev = json_pack("{s:i}", "janus", 3);
	assert_int_equal(sc_janus_event(j, ev), 0);
	json_decref(ev);
	ev = json_pack("{s:s, s:I}", "janus", "event", "sender", (json_int_t)99);
	assert_int_equal(sc_janus_event(j, ev), 0);
	json_decref(ev);

	assert_int_equal(feed(j, "janus_joined.json", false), 0);
	assert_int_equal(feed(j, "janus_attached.json", true), 0);
	assert_int_equal(n_offers, 1);

	/* Streams: wrong types, too many, bad ids, a jsep that is no offer. */
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	for (int k = 0; k < 6; k++) {
		ev = load("janus_updated_subscribe.json");
		data = json_object_get(json_object_get(ev, "plugindata"), "data");
		streams = json_object_get(data, "streams");
		switch (k) {
		case 0:
			json_object_set_new(data, "streams", json_string("no"));
			break;
		case 1:
			for (int n = 0; n < 70; n++)
				json_array_append(streams, json_array_get(streams, 0));
			break;
		case 2:
			json_object_set_new(json_array_get(streams, 0), "feed_id", json_object());
			break;
		case 3:
			json_object_set_new(json_object_get(ev, "jsep"), "type",
					    json_string("answer"));
			break;
		case 4:
			json_object_set_new(json_object_get(ev, "jsep"), "sdp", json_integer(1));
			break;
		case 5:
			json_object_set_new(json_array_get(streams, 0), "mid", json_string(big));
			break;
		}
		j->offer_pending = false;
		assert_true(sc_janus_event(j, ev) < 0);
		assert_int_equal(j->fail_err, SC_SIG_ERR_PROTOCOL);
		json_decref(ev);
	}
	/* An over-long display is dropped, not truncated. */
	ev = load("janus_updated_subscribe.json");
	data = json_object_get(json_object_get(ev, "plugindata"), "data");
	json_object_set_new(json_array_get(json_object_get(data, "streams"), 0), "feed_display",
			    json_string(big));
	j->offer_pending = false;
	assert_int_equal(sc_janus_event(j, ev), 0);
	assert_string_equal(last_streams[0].display, "alice"); /* from the publisher list */
	json_decref(ev);
	assert_int_equal(n_offers, 2);
	free_janus(j);
}

/* ------------------------------------------------------------ WHEP */

static int srv_fd;
static char srv_seen[4][256]; /* "METHOD PATH auth" per request */
static const char *const answer_sdp = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
				      "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\n"
				      "m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:1\r\n"
				      "m=application 0 UDP/DTLS/SCTP webrtc-datachannel\r\n";

static void *whep_server(void *arg)
{
	(void)arg;
	for (int n = 0; n < 2; n++) {
		char req[8192], method[16] = "", path[200] = "", *auth, reply[1024];
		size_t len = 0;
		ssize_t k;
		int c = accept(srv_fd, NULL, NULL);

		if (c < 0)
			return NULL;
		/* Headers, then the body by Content-Length (small here). */
		while (len < sizeof(req) - 1 &&
		       (k = read(c, req + len, sizeof(req) - 1 - len)) > 0) {
			char *cl, *end;

			len += (size_t)k;
			req[len] = '\0';
			if (!(end = strstr(req, "\r\n\r\n")))
				continue;
			cl = strcasestr(req, "Content-Length:");
			if (!cl || len >= (size_t)(end + 4 - req) + strtoul(cl + 15, NULL, 10))
				break;
		}
		sscanf(req, "%15s %199s", method, path);
		auth = strcasestr(req, "Authorization: Bearer tok");
		snprintf(srv_seen[n], sizeof(srv_seen[n]), "%s %s %s", method, path,
			 auth ? "auth" : "-");
		if (n == 0)
			snprintf(reply, sizeof(reply),
				 "HTTP/1.1 201 Created\r\nLocation: /whep/res/42\r\n"
				 "Content-Type: application/sdp\r\nContent-Length: %zu\r\n"
				 "Connection: close\r\n\r\n%s",
				 strlen(answer_sdp), answer_sdp);
		else
			snprintf(reply, sizeof(reply),
				 "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: "
				 "close\r\n\r\n");
		assert_true(write(c, reply, strlen(reply)) > 0);
		close(c);
	}
	return NULL;
}

static void test_whep(void **state)
{
	sc_sig_options opt = {.bearer_token = "tok"};
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t sl = sizeof(sa);
	char url[128], err[200];
	sc_signaling *s;
	pthread_t th;

	(void)state;
	srv_fd = socket(AF_INET, SOCK_STREAM, 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(srv_fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(srv_fd, 4), 0);
	getsockname(srv_fd, (struct sockaddr *)&sa, &sl);
	assert_int_equal(pthread_create(&th, NULL, whep_server, NULL), 0);

	n_offers = n_errors = 0;
	snprintf(url, sizeof(url), "whep+http://127.0.0.1:%d/whep/endpoint/stage-1/",
		 ntohs(sa.sin_port));
	s = sc_signaling_new(url, &opt, &callbacks, err, sizeof(err));
	assert_non_null(s);
	assert_int_equal(sc_signaling_answer(s, "v=0\r\n"), -ENOTSUP);
	assert_int_equal(sc_signaling_start(s), 0);
	assert_int_equal(sc_signaling_offer(s, "v=0\r\nour offer\r\n"), 0);
	assert_int_equal(sc_signaling_offer(s, "v=0\r\nagain\r\n"), -EALREADY);
	for (int i = 0; i < 500 && !n_offers && !n_errors; i++)
		usleep(10000);
	assert_int_equal(n_errors, 0);
	assert_int_equal(n_offers, 1); /* on_answer is rec_offer */
	assert_int_equal(n_last_streams, 2);
	assert_string_equal(last_streams[0].kind, "audio");
	assert_string_equal(last_streams[0].mid, "0");
	assert_string_equal(last_streams[1].kind, "video");
	assert_string_equal(last_streams[1].feed, "whep");
	assert_string_equal(last_streams[1].display, "stage-1");
	sc_signaling_free(s); /* DELETE the resource */
	pthread_join(th, NULL);
	close(srv_fd);
	assert_string_equal(srv_seen[0], "POST /whep/endpoint/stage-1/ auth");
	assert_string_equal(srv_seen[1], "DELETE /whep/res/42 auth");

	/* Nobody listens: a fatal UNREACHABLE, quickly. */
	n_errors = 0;
	s = sc_signaling_new("whep+http://127.0.0.1:1/x", NULL, &callbacks, err, sizeof(err));
	assert_non_null(s);
	assert_int_equal(sc_signaling_start(s), 0);
	assert_int_equal(sc_signaling_offer(s, "v=0\r\n"), 0);
	for (int i = 0; i < 500 && !n_errors; i++)
		usleep(10000);
	assert_int_equal(n_errors, 1);
	assert_int_equal(last_err, SC_SIG_ERR_UNREACHABLE);
	assert_true(last_fatal);
	sc_signaling_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_janus_urls), cmocka_unit_test(test_find_and_new),
		cmocka_unit_test(test_room_flow),  cmocka_unit_test(test_join_errors),
		cmocka_unit_test(test_bad_events), cmocka_unit_test(test_whep),
	};
	int r = cmocka_run_group_tests(tests, NULL, NULL);

	json_decref(sent);
	return r;
}
