/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cli.c - stagecast: the operator's command line.
 *
 *   stagecast up                        relay + scaler on this machine
 *   stagecast start NAME --conference URL --to RTMP_URL [--profile P] [--layout L] [--takeover]
 *   stagecast stop NAME | ls | instances | drain ID | pool [--min N] [--max N] [--spare N]
 *
 * Every command but `up` is one or two calls to the scaler's /v1 API
 * (libcurl, jansson). Tables by default, the API's JSON with --json.
 * Errors say what to do next.
 *
 * Exit status: 0 done, 1 the scaler refused or failed, 2 bad usage,
 * 3 the scaler cannot be reached.
 */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "cli.h"
#include "sc_config.h"

#define EXIT_REFUSED	 1
#define EXIT_USAGE	 2
#define EXIT_UNREACHABLE 3
#define REPLY_MAX	 (4 * 1024 * 1024)

cli_opts o = {
	.scaler = "http://127.0.0.1:8090",
	.rtmp = "127.0.0.1:1935",
	.http = "127.0.0.1:8080",
	.api = "127.0.0.1:8090",
	.min = -1,
	.max = -1,
	.spare = -1,
};

static const char usage_text[] =
	"Usage: stagecast COMMAND [OPTIONS]\n"
	"\n"
	"Commands:\n"
	"  up                      run the relay and the scaler (with local capture agents) on\n"
	"                          this machine in the foreground; Ctrl-C stops everything\n"
	"  start NAME --conference URL --to RTMP_URL [--profile P] [--layout L] [--takeover]\n"
	"                          stream a conference to RTMP_URL as NAME\n"
	"  stop NAME               stop a stream (NAME or its id)\n"
	"  ls                      list streams\n"
	"  instances               list capture instances\n"
	"  drain ID                give an instance no new streams\n"
	"  pool [--min N] [--max N] [--spare N]\n"
	"                          show or change the pool size\n"
	"\n"
	"Options:\n"
	"  --scaler URL[,URL...]   the scaler's API (default: $STAGECAST_SCALER or\n"
	"                          http://127.0.0.1:8090); with replicas, list them: one\n"
	"                          that is down or standing by (503) passes to the next\n"
	"  --token-file FILE       operator bearer token (default: $STAGECAST_TOKEN_FILE)\n"
	"  --json                  print the API's JSON instead of a table\n"
	"  --profile P             360p15, 720p30 or 1080p30 (start)\n"
	"  --layout L              grid, speaker or single:NAME (start)\n"
	"  --takeover              start: take the destination and name from the stream\n"
	"                          holding them (it is stopped, the new one gets a higher fence)\n"
	"  --idempotency-key KEY   start: retry-safe key (default: a random one)\n"
	"  up: --bin-dir DIR       where stagecast-relay, -scaler, -agent, -capture are\n"
	"                          (default: next to this program)\n"
	"      --state-dir DIR     database, HLS files and secret (default: /var/lib/stagecast\n"
	"                          as root, $XDG_RUNTIME_DIR/stagecast otherwise)\n"
	"      --rtmp ADDR:PORT    relay RTMP (default 127.0.0.1:1935)\n"
	"      --http ADDR:PORT    relay HTTP: HLS and the watch page (default 127.0.0.1:8080)\n"
	"      --api ADDR:PORT     scaler API (default 127.0.0.1:8090)\n"
	"      --min/--max/--spare N   initial pool size\n"
	"  -h, --help              this text\n"
	"      --version           the version\n"
	"\n"
	"Exit status: 0 done, 1 the scaler refused or failed, 2 bad usage,\n"
	"3 the scaler cannot be reached.\n";

void cli_die(int code, const char *fmt, ...)
{
	va_list ap;
	fputs("stagecast: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(code);
}

static void usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void usage_error(const char *fmt, ...)
{
	va_list ap;
	fputs("stagecast: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\nTry 'stagecast --help'.\n", stderr);
	exit(EXIT_USAGE);
}

/* ---- HTTP */

typedef struct {
	long status;
	json_t *body; /* NULL if the body was not JSON */
} reply;

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
	return sc_buf_append(ud, p, size * n) < 0 ? 0 : size * n;
}

static char *read_token(const char *path)
{
	char buf[1024];
	FILE *f = fopen(path, "re");
	if (!f)
		cli_die(EXIT_USAGE, "--token-file %s: %s", path, strerror(errno));
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	buf[strcspn(buf, "\r\n")] = 0;
	if (!buf[0])
		cli_die(EXIT_USAGE, "--token-file %s is empty", path);
	return strdup(buf);
}

/* One try of an API call against the scaler at base (len bytes of it). */
static CURLcode call_one(const char *base, size_t len, const char *method, const char *path,
			 const char *text, struct curl_slist *hdrs, bool retry, reply *r,
			 char *errbuf)
{
	char url[2048];
	sc_buf out;

	while (len && base[len - 1] == '/')
		len--;
	snprintf(url, sizeof(url), "%.*s%s", (int)len, base, path);
	CURL *c = curl_easy_init();
	if (!c)
		cli_die(EXIT_REFUSED, "out of memory");
	sc_buf_init(&out, REPLY_MAX);
	if (text)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, text);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &out);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 15000L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	CURLcode rc = CURLE_OK;
	/* With an Idempotency-Key a retry is safe: the scaler replays the answer. */
	for (int attempt = 0; attempt < (retry ? 3 : 1); attempt++) {
		sc_buf_reset(&out);
		errbuf[0] = 0;
		rc = curl_easy_perform(c);
		if (rc != CURLE_SEND_ERROR && rc != CURLE_RECV_ERROR && rc != CURLE_GOT_NOTHING &&
		    rc != CURLE_OPERATION_TIMEDOUT)
			break;
	}
	r->status = 0;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	r->body = rc == CURLE_OK ? json_loadb((const char *)out.data, out.len, 0, NULL) : NULL;
	curl_easy_cleanup(c);
	sc_buf_free(&out);
	return rc;
}

/*
 * One API call; transport failures end the program with advice. --scaler
 * may list replicas (A,B,...): a replica that cannot be reached or answers
 * 503 as a standby hands the call to the next one. That is safe: reads,
 * DELETE and drain are idempotent and a start carries an Idempotency-Key.
 */
static reply call(const char *method, const char *path, json_t *body, const char *idem_key)
{
	static char *token;
	char hdr[1200], errbuf[CURL_ERROR_SIZE] = "", where[1024];
	struct curl_slist *hdrs = NULL;
	reply r = {0};
	char *text = NULL;
	CURLcode rc = CURLE_OK;

	if (o.token_file && !token)
		token = read_token(o.token_file);
	if (token) {
		snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s", token);
		hdrs = curl_slist_append(hdrs, hdr);
	}
	if (idem_key) {
		snprintf(hdr, sizeof(hdr), "Idempotency-Key: %s", idem_key);
		hdrs = curl_slist_append(hdrs, hdr);
	}
	if (body) {
		text = json_dumps(body, JSON_COMPACT);
		hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
	}
	for (const char *p = o.scaler;;) {
		size_t len = strcspn(p, ",");
		snprintf(where, sizeof(where), "%.*s", (int)len, p);
		json_decref(r.body);
		rc = call_one(p, len, method, path, text, hdrs, idem_key != NULL, &r, errbuf);
		/* Only a standby's 503: the leader's own (the store failed) is the answer. */
		const char *why = json_string_value(json_object_get(r.body, "error"));
		bool standby =
			rc == CURLE_OK && r.status == 503 && why && strstr(why, "standing by");
		bool next = rc == CURLE_COULDNT_CONNECT || rc == CURLE_OPERATION_TIMEDOUT ||
			    rc == CURLE_COULDNT_RESOLVE_HOST || standby;
		if (!next || !p[len])
			break;
		p += len + 1;
	}
	curl_slist_free_all(hdrs);
	free(text);

	switch (rc) {
	case CURLE_OK:
		break;
	case CURLE_COULDNT_CONNECT:
		cli_die(EXIT_UNREACHABLE,
			"the scaler at %s is not running: start it with `stagecast up` "
			"(or point --scaler at a running one)",
			where);
	case CURLE_COULDNT_RESOLVE_HOST:
		cli_die(EXIT_UNREACHABLE, "cannot resolve the host in --scaler %s: check the name",
			where);
	case CURLE_OPERATION_TIMEDOUT:
		cli_die(EXIT_UNREACHABLE,
			"the scaler at %s did not answer in time: is it overloaded or stuck? "
			"See its log (journalctl -u stagecast-scaler)",
			where);
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT:
		cli_die(EXIT_USAGE, "--scaler %s: want http(s)://HOST:PORT[,...]", where);
	default:
		cli_die(EXIT_UNREACHABLE, "cannot talk to the scaler at %s: %s", where,
			errbuf[0] ? errbuf : curl_easy_strerror(rc));
	}
	return r;
}

static const char *error_of(const reply *r)
{
	const char *m = json_string_value(json_object_get(r->body, "error"));
	return m ? m : "(no message)";
}

/* For answers that are not 2xx: a message that says what to do, then exit. */
static void fail_reply(const reply *r, const char *what)
{
	if (r->status == 401)
		cli_die(EXIT_REFUSED,
			"the scaler at %s wants an operator token: pass --token-file FILE (a token "
			"from an \"operator TOKEN\" line of the scaler's --tokens-file)",
			o.scaler);
	if (r->status == 403)
		cli_die(EXIT_REFUSED, "the scaler refused %s: %s%s",
			o.token_file ? "the token in --token-file" : "this client", error_of(r),
			o.token_file ? " (is it an operator token?)"
				     : " (without --tokens-file it serves loopback clients only)");
	if (!r->body)
		cli_die(EXIT_REFUSED,
			"%s: HTTP %ld and no JSON from %s: is --scaler pointing at a "
			"stagecast-scaler?",
			what, r->status, o.scaler);
	cli_die(EXIT_REFUSED, "%s: %s (HTTP %ld)", what, error_of(r), r->status);
}

static void print_json(json_t *v)
{
	json_dumpf(v, stdout, JSON_INDENT(2));
	fputc('\n', stdout);
}

/* A list answer: a bare array, or an object holding one under key. */
static json_t *list_of(json_t *body, const char *key)
{
	if (json_is_array(body))
		return body;
	json_t *v = json_object_get(body, key);
	return json_is_array(v) ? v : NULL;
}

/* ---- tables */

#define MAX_COLS 8

typedef struct {
	size_t ncols, nrows;
	const char *head[MAX_COLS];
	size_t width[MAX_COLS];
	char **cell; /* nrows * ncols, owned */
} table;

static void table_add(table *t, const char *const *vals)
{
	char **cell = realloc(t->cell, (t->nrows + 1) * t->ncols * sizeof(char *));
	if (!cell)
		cli_die(EXIT_REFUSED, "out of memory");
	t->cell = cell;
	for (size_t i = 0; i < t->ncols; i++) {
		const char *v = vals[i] && vals[i][0] ? vals[i] : "-";
		cell[t->nrows * t->ncols + i] = strdup(v);
		if (strlen(v) > t->width[i])
			t->width[i] = strlen(v);
	}
	t->nrows++;
}

static void table_print(table *t)
{
	for (size_t i = 0; i < t->ncols; i++)
		if (strlen(t->head[i]) > t->width[i])
			t->width[i] = strlen(t->head[i]);
	for (size_t r = 0; r <= t->nrows; r++) {
		for (size_t i = 0; i < t->ncols; i++) {
			const char *v = r ? t->cell[(r - 1) * t->ncols + i] : t->head[i];
			if (i + 1 < t->ncols)
				printf("%-*s  ", (int)t->width[i], v);
			else
				printf("%s\n", v);
		}
	}
	for (size_t k = 0; k < t->nrows * t->ncols; k++)
		free(t->cell[k]);
	free(t->cell);
}

static const char *str(json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));
	return s ? s : "";
}

static const char *num(json_t *obj, const char *key, char *buf, size_t len)
{
	json_t *v = json_object_get(obj, key);
	if (json_is_integer(v))
		snprintf(buf, len, "%lld", (long long)json_integer_value(v));
	else
		snprintf(buf, len, "%s", json_is_string(v) ? json_string_value(v) : "");
	return buf;
}

/* "12s", "5m", "3h", "2d" since a Unix ms time in obj[key]. */
static const char *age(json_t *obj, const char *key, char *buf, size_t len)
{
	json_t *v = json_object_get(obj, key);
	struct timespec ts;
	buf[0] = 0;
	if (!json_is_integer(v) || json_integer_value(v) <= 0)
		return buf;
	clock_gettime(CLOCK_REALTIME, &ts);
	long long s = ((long long)ts.tv_sec * 1000 - json_integer_value(v)) / 1000;
	if (s < 0)
		s = 0;
	if (s < 120)
		snprintf(buf, len, "%llds", s);
	else if (s < 7200)
		snprintf(buf, len, "%lldm", s / 60);
	else if (s < 172800)
		snprintf(buf, len, "%lldh", s / 3600);
	else
		snprintf(buf, len, "%lldd", s / 86400);
	return buf;
}

/* ---- commands */

static int cmd_ls(void)
{
	reply r = call("GET", "/v1/streams", NULL, NULL);
	if (r.status != 200)
		fail_reply(&r, "cannot list streams");
	json_t *list = list_of(r.body, "streams"), *s;
	size_t i;
	if (o.json) {
		print_json(r.body);
	} else if (!json_array_size(list)) {
		printf("no streams: start one with `stagecast start NAME --conference URL --to "
		       "RTMP_URL`\n");
	} else {
		table t = {
			.ncols = 7,
			.head = {"NAME", "STATE", "INSTANCE", "FENCE", "AGE", "ID", "DESTINATION"}};
		json_array_foreach(list, i, s)
		{
			char f[32], a[32];
			const char *dest = str(s, "destination");
			const char *row[] = {
				str(s, "name"),
				str(s, "state"),
				str(s, "instance"),
				num(s, "fence", f, sizeof(f)),
				age(s,
				    json_object_get(s, "updated_ms") ? "updated_ms" : "created_ms",
				    a, sizeof(a)),
				str(s, "id"),
				dest[0] ? dest : str(s, "destination_redacted")};
			table_add(&t, row);
		}
		table_print(&t);
	}
	json_decref(r.body);
	return 0;
}

static int cmd_instances(void)
{
	reply r = call("GET", "/v1/instances", NULL, NULL);
	if (r.status != 200)
		fail_reply(&r, "cannot list instances");
	json_t *list = list_of(r.body, "instances"), *in;
	size_t i;
	if (o.json) {
		print_json(r.body);
	} else if (!json_array_size(list)) {
		printf("no instances yet: the scaler starts them to keep `spare` idle ones (see "
		       "`stagecast pool`)\n");
	} else {
		table t = {.ncols = 5, .head = {"ID", "STATE", "SLOTS", "HEARTBEAT", "PROTECTED"}};
		json_array_foreach(list, i, in)
		{
			char used[32], slots[32], sl[80], hb[32];
			json_t *p = json_object_get(in, "protected");
			if (!p)
				p = json_object_get(in, "protected_");
			snprintf(sl, sizeof(sl), "%s/%s", num(in, "used", used, sizeof(used)),
				 num(in, "slots", slots, sizeof(slots)));
			age(in, "last_heartbeat_ms", hb, sizeof(hb));
			if (hb[0])
				strcat(hb, " ago");
			const char *row[] = {str(in, "id"), str(in, "state"), sl, hb,
					     p ? (json_is_true(p) ? "yes" : "no") : ""};
			table_add(&t, row);
		}
		table_print(&t);
	}
	json_decref(r.body);
	return 0;
}

static void random_key(char *out, size_t len)
{
	unsigned char b[16];
	if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b))
		cli_die(EXIT_REFUSED, "getrandom: %s", strerror(errno));
	for (size_t i = 0; i < sizeof(b) && 2 * i + 2 < len; i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
}

static int cmd_start(const char *name)
{
	char key[64];
	if (!o.conference || !o.to)
		usage_error("start %s: --conference URL and --to RTMP_URL are required", name);
	json_t *body = json_pack("{s:s, s:s, s:s}", "name", name, "conference", o.conference,
				 "destination", o.to);
	if (o.profile)
		json_object_set_new(body, "profile", json_string(o.profile));
	if (o.layout)
		json_object_set_new(body, "layout", json_string(o.layout));
	if (o.takeover)
		json_object_set_new(body, "takeover", json_true());
	if (o.idem_key)
		snprintf(key, sizeof(key), "%s", o.idem_key);
	else
		random_key(key, sizeof(key));
	reply r = call("POST", "/v1/streams", body, key);
	json_decref(body);
	if (r.status == 409) {
		const char *holder = json_string_value(json_object_get(r.body, "holder"));
		cli_die(EXIT_REFUSED,
			"%s\n  Stop the holder first (`stagecast stop %s`), or pass --takeover to "
			"move "
			"the destination and name to this stream under a new fence.",
			error_of(&r), holder ? holder : "NAME");
	}
	if (r.status != 201 && r.status != 200)
		fail_reply(&r, "cannot start the stream");
	if (o.json) {
		print_json(r.body);
	} else {
		char f[32];
		printf("started %s (%s): %s, fence %s\n", str(r.body, "name"), str(r.body, "id"),
		       str(r.body, "state"), num(r.body, "fence", f, sizeof(f)));
		if (str(r.body, "watch_url")[0])
			printf("  watch: %s\n", str(r.body, "watch_url"));
		if (str(r.body, "hls_url")[0])
			printf("  HLS:   %s\n", str(r.body, "hls_url"));
		printf("  follow it with `stagecast ls`; stop it with `stagecast stop %s`\n", name);
	}
	json_decref(r.body);
	return 0;
}

static int cmd_stop(const char *name)
{
	char path[512], id[128] = "";
	bool stopped_before = false;
	reply r = call("GET", "/v1/streams", NULL, NULL);
	if (r.status != 200)
		fail_reply(&r, "cannot list streams");
	json_t *s;
	size_t i;
	json_array_foreach(list_of(r.body, "streams"), i, s)
	{
		const char *st = str(s, "state");
		bool done = !strcmp(st, "stopped") || !strcmp(st, "failed");
		if (strcmp(str(s, "name"), name) && strcmp(str(s, "id"), name))
			continue;
		if (done) {
			stopped_before = true;
		} else if (!id[0]) {
			snprintf(id, sizeof(id), "%s", str(s, "id"));
		}
	}
	json_decref(r.body);
	if (!id[0] && stopped_before) {
		printf("%s is already stopped\n", name);
		return 0;
	}
	if (!id[0])
		cli_die(EXIT_REFUSED, "no stream named %s: see `stagecast ls`", name);
	snprintf(path, sizeof(path), "/v1/streams/%s", id);
	r = call("DELETE", path, NULL, NULL);
	if (r.status != 200 && r.status != 202)
		fail_reply(&r, "cannot stop the stream");
	if (o.json)
		print_json(r.body);
	else if (r.status == 202)
		printf("stopping %s (%s): the lock is released once its capture has stopped\n",
		       name, id);
	else
		printf("%s (%s) is %s\n", name, id, str(r.body, "state"));
	json_decref(r.body);
	return 0;
}

static int cmd_drain(const char *id)
{
	char path[512];
	snprintf(path, sizeof(path), "/v1/instances/%s/drain", id);
	reply r = call("POST", path, NULL, NULL);
	if (r.status == 404)
		cli_die(EXIT_REFUSED, "no instance %s: see `stagecast instances`", id);
	if (r.status < 200 || r.status > 299)
		fail_reply(&r, "cannot drain the instance");
	if (o.json)
		print_json(r.body);
	else
		printf("draining %s: it keeps its streams and gets no new ones\n", id);
	json_decref(r.body);
	return 0;
}

static int cmd_pool(void)
{
	reply r = call("GET", "/v1/pool", NULL, NULL);
	if (r.status != 200)
		fail_reply(&r, "cannot read the pool");
	if (o.min >= 0 || o.max >= 0 || o.spare >= 0) {
		json_t *p = json_pack("{s:I, s:I, s:I}", "min",
				      json_integer_value(json_object_get(r.body, "min")), "max",
				      json_integer_value(json_object_get(r.body, "max")), "spare",
				      json_integer_value(json_object_get(r.body, "spare")));
		if (o.min >= 0)
			json_object_set_new(p, "min", json_integer(o.min));
		if (o.max >= 0)
			json_object_set_new(p, "max", json_integer(o.max));
		if (o.spare >= 0)
			json_object_set_new(p, "spare", json_integer(o.spare));
		json_decref(r.body);
		r = call("PUT", "/v1/pool", p, NULL);
		json_decref(p);
		if (r.status != 200)
			fail_reply(&r, "cannot change the pool");
	}
	if (o.json) {
		print_json(r.body);
	} else {
		char a[32], b[32], c[32];
		printf("pool: min %s, max %s, spare %s\n", num(r.body, "min", a, sizeof(a)),
		       num(r.body, "max", b, sizeof(b)), num(r.body, "spare", c, sizeof(c)));
	}
	json_decref(r.body);
	return 0;
}

/* ---- options */

enum {
	O_SCALER = 256,
	O_TOKEN,
	O_JSON,
	O_CONF,
	O_TO,
	O_PROFILE,
	O_LAYOUT,
	O_TAKEOVER,
	O_KEY,
	O_MIN,
	O_MAX,
	O_SPARE,
	O_BINDIR,
	O_STATEDIR,
	O_RTMP,
	O_HTTP,
	O_API,
	O_VERSION,
};

static const struct option longopts[] = {
	{"scaler", required_argument, NULL, O_SCALER},
	{"token-file", required_argument, NULL, O_TOKEN},
	{"json", no_argument, NULL, O_JSON},
	{"conference", required_argument, NULL, O_CONF},
	{"to", required_argument, NULL, O_TO},
	{"profile", required_argument, NULL, O_PROFILE},
	{"layout", required_argument, NULL, O_LAYOUT},
	{"takeover", no_argument, NULL, O_TAKEOVER},
	{"idempotency-key", required_argument, NULL, O_KEY},
	{"min", required_argument, NULL, O_MIN},
	{"max", required_argument, NULL, O_MAX},
	{"spare", required_argument, NULL, O_SPARE},
	{"bin-dir", required_argument, NULL, O_BINDIR},
	{"state-dir", required_argument, NULL, O_STATEDIR},
	{"rtmp", required_argument, NULL, O_RTMP},
	{"http", required_argument, NULL, O_HTTP},
	{"api", required_argument, NULL, O_API},
	{"help", no_argument, NULL, 'h'},
	{"version", no_argument, NULL, O_VERSION},
	{0},
};

static int count(const char *flag, const char *v)
{
	char *end;
	errno = 0;
	long n = strtol(v, &end, 10);
	if (errno || end == v || *end || n < 0 || n > 100000)
		usage_error("%s: \"%s\" is not a count", flag, v);
	return (int)n;
}

static void parse(int argc, char **argv)
{
	int c;
	if (getenv("STAGECAST_SCALER") && getenv("STAGECAST_SCALER")[0])
		o.scaler = getenv("STAGECAST_SCALER");
	if (getenv("STAGECAST_TOKEN_FILE") && getenv("STAGECAST_TOKEN_FILE")[0])
		o.token_file = getenv("STAGECAST_TOKEN_FILE");
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (c) {
		case 'h':
			fputs(usage_text, stdout);
			exit(0);
		case O_VERSION:
			printf("stagecast %s\n", SC_VERSION);
			exit(0);
		case O_SCALER:
			o.scaler = optarg;
			break;
		case O_TOKEN:
			o.token_file = optarg;
			break;
		case O_JSON:
			o.json = true;
			break;
		case O_CONF:
			o.conference = optarg;
			break;
		case O_TO:
			o.to = optarg;
			break;
		case O_PROFILE:
			o.profile = optarg;
			break;
		case O_LAYOUT:
			o.layout = optarg;
			break;
		case O_TAKEOVER:
			o.takeover = true;
			break;
		case O_KEY:
			o.idem_key = optarg;
			break;
		case O_MIN:
			o.min = count("--min", optarg);
			break;
		case O_MAX:
			o.max = count("--max", optarg);
			break;
		case O_SPARE:
			o.spare = count("--spare", optarg);
			break;
		case O_BINDIR:
			o.bin_dir = optarg;
			break;
		case O_STATEDIR:
			o.state_dir = optarg;
			break;
		case O_RTMP:
			o.rtmp = optarg;
			break;
		case O_HTTP:
			o.http = optarg;
			break;
		case O_API:
			o.api = optarg;
			o.api_set = true;
			break;
		case ':':
			usage_error("%s needs a value", argv[optind - 1]);
			break;
		default:
			usage_error("unknown option %s", argv[optind - 1]);
		}
	}
}

int main(int argc, char **argv)
{
	parse(argc, argv);
	int nargs = argc - optind;
	const char *cmd = nargs ? argv[optind] : NULL;
	const char *arg = nargs > 1 ? argv[optind + 1] : NULL;
	int want = 0, rc;

	static const char *const cmds[] = {"up",	"start", "stop", "ls",
					   "instances", "drain", "pool"};
	bool known = false;
	if (!cmd)
		usage_error("%s", "which command? up, start, stop, ls, instances, drain or pool");
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		known |= !strcmp(cmd, cmds[i]);
	if (!known)
		usage_error("unknown command \"%s\": up, start, stop, ls, instances, drain or pool",
			    cmd);
	if (!strcmp(cmd, "start") || !strcmp(cmd, "stop") || !strcmp(cmd, "drain"))
		want = 1;
	if (nargs - 1 < want && !strcmp(cmd, "drain"))
		usage_error("drain: which instance? (see `stagecast instances`)");
	if (nargs - 1 < want)
		usage_error("%s: which stream? (NAME)", cmd);
	if (nargs - 1 > want)
		usage_error("unexpected argument \"%s\"", argv[optind + 1 + want]);
	if (!strcmp(cmd, "up"))
		return cli_up(argv[0]);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (!strcmp(cmd, "ls"))
		rc = cmd_ls();
	else if (!strcmp(cmd, "instances"))
		rc = cmd_instances();
	else if (!strcmp(cmd, "pool"))
		rc = cmd_pool();
	else if (!strcmp(cmd, "start"))
		rc = cmd_start(arg);
	else if (!strcmp(cmd, "stop"))
		rc = cmd_stop(arg);
	else
		rc = cmd_drain(arg);
	curl_global_cleanup();
	return rc;
}
