/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sdp.c - SDP (RFC 8866) for a receive-only WebRTC peer: a bounded parser
 * into sc_sdp, and the writers of our JSEP (RFC 8829) answer and offer.
 *
 * Parsing works on one NUL-terminated copy of each line (at most
 * SDP_LINE_MAX bytes); every value is checked against the size of the
 * field it goes to and rejected, never truncated. Attributes nobody here
 * needs are ignored. No state, no logging: any thread.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "sdp.h"

#define SDP_LINE_MAX 4096
#define MID_URI	     "urn:ietf:params:rtp-hdrext:sdes:mid"

typedef struct {
	sc_sdp *s;
	sc_sdp_media *m; /* current m-section; NULL at session level */
	sc_sdp_dir sess_dir;
	uint8_t sess_ext_mid;
	bool have_ssrc, have_fid, msid_from_attr;
	bool v_seen;
	unsigned line;
	char *err;
	size_t errlen;
} parser;

static void __attribute__((format(printf, 3, 4)))
set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static int bad(parser *p, const char *what, const char *detail)
{
	set_err(p->err, p->errlen, "line %u: %s%s%s", p->line, what, detail ? ": " : "",
		detail ? detail : "");
	return -EINVAL;
}

/* ---------------------------------------------------------------- lexing */

static const char *skip_sp(const char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	return s;
}

/* The next space-separated token of *pp: its start and length; NULL at the end. */
static const char *next_tok(const char **pp, size_t *ret_len)
{
	const char *s = skip_sp(*pp), *e = s;

	while (*e && *e != ' ' && *e != '\t')
		e++;
	*pp = e;
	if (e == s)
		return NULL;
	*ret_len = (size_t)(e - s);
	return s;
}

static int parse_uint(const char *s, size_t n, uint32_t max, uint32_t *ret)
{
	uint64_t v = 0;

	if (n == 0 || n > 10)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v > max)
		return -ERANGE;
	*ret = (uint32_t)v;
	return 0;
}

/* A whole token: digits only, up to max. */
static int tok_uint(const char **pp, uint32_t max, uint32_t *ret)
{
	size_t n;
	const char *t = next_tok(pp, &n);

	return t ? parse_uint(t, n, max, ret) : -EINVAL;
}

static int copy_n(char *dst, size_t cap, const char *src, size_t n)
{
	if (n >= cap)
		return -E2BIG;
	memcpy(dst, src, n);
	dst[n] = '\0';
	return 0;
}

static bool is_token_char(char c)
{
	return c > ' ' && c < 0x7f;
}

/* Printable ASCII, spaces allowed inside (no control characters). */
static bool is_text(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < ' ' || (unsigned char)*s >= 0x7f)
			return false;
	return true;
}

#define ALNUM "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

static bool is_ice_chars(const char *s)
{
	return *s && !s[strspn(s, ALNUM "+/")];
}

/* "sha-256 AB:CD:..." : a hash name, one space, hex pairs and colons. */
static bool is_fingerprint(const char *s)
{
	size_t n = strspn(s, ALNUM "-");

	return n && s[n] == ' ' && s[n + 1] &&
	       !s[n + 1 + strspn(s + n + 1, "0123456789ABCDEFabcdef:")];
}

static bool is_setup(const char *s)
{
	return !strcmp(s, "actpass") || !strcmp(s, "active") || !strcmp(s, "passive") ||
	       !strcmp(s, "holdconn");
}

/* Value of key in an fmtp parameter list ("a=1;b=2"), case-insensitive key. */
static bool fmtp_get(const char *fmtp, const char *key, char *out, size_t outlen)
{
	size_t klen = strlen(key);
	const char *s = fmtp;

	while (*s) {
		const char *end, *v;

		s = skip_sp(s);
		end = strchr(s, ';');
		if (!end)
			end = s + strlen(s);
		if ((size_t)(end - s) > klen && !strncasecmp(s, key, klen)) {
			v = skip_sp(s + klen);
			if (*v == '=') {
				size_t n;

				v = skip_sp(v + 1);
				n = (size_t)(end - v);
				while (n && (v[n - 1] == ' ' || v[n - 1] == '\t'))
					n--;
				return copy_n(out, outlen, v, n) == 0;
			}
		}
		s = *end ? end + 1 : end;
	}
	return false;
}

static sc_sdp_fmt *find_fmt(sc_sdp_media *m, uint32_t pt)
{
	for (size_t i = 0; i < m->n_fmts; i++)
		if (m->fmts[i].pt == pt)
			return &m->fmts[i];
	return NULL;
}

/* ---------------------------------------------------------------- lines */

static int parse_m(parser *p, const char *v)
{
	sc_sdp *s = p->s;
	sc_sdp_media *m;
	const char *t, *slash;
	uint32_t port, n;
	size_t len;

	if (s->n_media >= SC_SDP_MAX_MEDIA)
		return bad(p, "too many m= lines", NULL);
	m = &s->media[s->n_media];
	memset(m, 0, sizeof(*m));
	t = next_tok(&v, &len);
	if (!t || copy_n(m->kind, sizeof(m->kind), t, len))
		return bad(p, "bad m= line", "media");
	t = next_tok(&v, &len);
	slash = t ? memchr(t, '/', len) : NULL;
	if (!t || parse_uint(t, slash ? (size_t)(slash - t) : len, 65535, &port) ||
	    (slash && parse_uint(slash + 1, len - (size_t)(slash - t) - 1, 65535, &n)))
		return bad(p, "bad m= line", "port");
	m->port = (uint16_t)port;
	t = next_tok(&v, &len);
	if (!t || copy_n(m->proto, sizeof(m->proto), t, len))
		return bad(p, "bad m= line", "proto");
	t = next_tok(&v, &len);
	if (!t || copy_n(m->fmt0, sizeof(m->fmt0), t, len))
		return bad(p, "bad m= line", "no format");
	if (strstr(m->proto, "RTP/")) {
		do {
			if (parse_uint(t, len, 127, &n))
				return bad(p, "bad m= line", "payload type");
			if (find_fmt(m, n))
				return bad(p, "bad m= line", "duplicate payload type");
			if (m->n_fmts >= SC_SDP_MAX_FMTS)
				return bad(p, "bad m= line", "too many formats");
			m->fmts[m->n_fmts].pt = (uint8_t)n;
			m->fmts[m->n_fmts].apt = -1;
			m->n_fmts++;
		} while ((t = next_tok(&v, &len)));
	}
	m->dir = p->sess_dir;
	m->ext_mid = p->sess_ext_mid;
	s->n_media++;
	p->m = m;
	p->have_ssrc = p->have_fid = p->msid_from_attr = false;
	return 0;
}

static int parse_group(parser *p, const char *v)
{
	sc_sdp *s = p->s;
	const char *t;
	size_t len;

	t = next_tok(&v, &len);
	if (!t || len != 6 || memcmp(t, "BUNDLE", 6) || s->n_bundle)
		return 0; /* other semantics, or a second BUNDLE group: not ours */
	while ((t = next_tok(&v, &len))) {
		if (s->n_bundle >= SC_SDP_MAX_MEDIA)
			return bad(p, "bad a=group", "too many mids");
		if (copy_n(s->bundle[s->n_bundle], sizeof(s->bundle[0]), t, len))
			return bad(p, "bad a=group", "mid too long");
		s->n_bundle++;
	}
	return 0;
}

static int parse_rtpmap(parser *p, const char *v)
{
	sc_sdp_fmt *f;
	const char *t, *c;
	uint32_t pt, clock, ch = 0;
	size_t len, n;
	char enc[128];

	if (tok_uint(&v, 127, &pt))
		return bad(p, "bad a=rtpmap", "payload type");
	t = next_tok(&v, &len);
	if (!t || copy_n(enc, sizeof(enc), t, len) || *skip_sp(v))
		return bad(p, "bad a=rtpmap", NULL);
	c = strchr(enc, '/');
	if (!c || c == enc)
		return bad(p, "bad a=rtpmap", "encoding");
	n = strcspn(c + 1, "/");
	if (parse_uint(c + 1, n, UINT32_MAX, &clock) || clock == 0)
		return bad(p, "bad a=rtpmap", "clock rate");
	if (c[1 + n] == '/' && (parse_uint(c + 2 + n, strlen(c + 2 + n), 255, &ch) || ch == 0))
		return bad(p, "bad a=rtpmap", "channels");
	f = find_fmt(p->m, pt);
	if (!f)
		return 0; /* not offered on the m= line: meaningless, ignored */
	if (copy_n(f->codec, sizeof(f->codec), enc, (size_t)(c - enc)))
		return bad(p, "bad a=rtpmap", "encoding name too long");
	f->clock = clock;
	f->channels = (uint8_t)ch;
	return 0;
}

static int parse_fmtp(parser *p, const char *v)
{
	sc_sdp_fmt *f;
	uint32_t pt, apt;
	char val[16];

	if (tok_uint(&v, 127, &pt))
		return bad(p, "bad a=fmtp", "payload type");
	v = skip_sp(v);
	f = find_fmt(p->m, pt);
	if (!f)
		return 0;
	if (copy_n(f->fmtp, sizeof(f->fmtp), v, strlen(v)))
		return bad(p, "bad a=fmtp", "too long");
	if (fmtp_get(f->fmtp, "apt", val, sizeof(val))) {
		if (parse_uint(val, strlen(val), 127, &apt))
			return bad(p, "bad a=fmtp", "apt");
		f->apt = (int)apt;
	}
	return 0;
}

static int parse_rtcp_fb(parser *p, const char *v)
{
	sc_sdp_media *m = p->m;
	const char *t, *type, *param;
	size_t len, tlen, plen = 0;
	uint32_t pt = 0;
	bool all;

	t = next_tok(&v, &len);
	all = t && len == 1 && *t == '*';
	if (!t || (!all && parse_uint(t, len, 127, &pt)))
		return bad(p, "bad a=rtcp-fb", "payload type");
	type = next_tok(&v, &tlen);
	if (!type)
		return bad(p, "bad a=rtcp-fb", "no type");
	param = next_tok(&v, &plen);
	for (size_t i = 0; i < m->n_fmts; i++) {
		sc_sdp_fmt *f = &m->fmts[i];

		if (!all && f->pt != pt)
			continue;
		if (tlen == 4 && !memcmp(type, "nack", 4) && !param)
			f->fb_nack = true;
		else if (tlen == 4 && !memcmp(type, "nack", 4) && plen == 3 &&
			 !memcmp(param, "pli", 3))
			f->fb_pli = true;
		else if (tlen == 3 && !memcmp(type, "ccm", 3) && plen == 3 &&
			 !memcmp(param, "fir", 3))
			f->fb_fir = true;
		else if (tlen == 12 && !memcmp(type, "transport-cc", 12))
			f->fb_transport_cc = true;
	}
	return 0;
}

static int parse_extmap(parser *p, const char *v)
{
	const char *t, *slash;
	size_t len;
	uint32_t id;

	t = next_tok(&v, &len);
	slash = t ? memchr(t, '/', len) : NULL;
	if (!t || parse_uint(t, slash ? (size_t)(slash - t) : len, 255, &id) || id == 0)
		return bad(p, "bad a=extmap", "id");
	t = next_tok(&v, &len);
	if (!t)
		return bad(p, "bad a=extmap", "no URI");
	if (len == strlen(MID_URI) && !memcmp(t, MID_URI, len)) {
		if (p->m)
			p->m->ext_mid = (uint8_t)id;
		else
			p->sess_ext_mid = (uint8_t)id;
	}
	return 0;
}

static int parse_ssrc(parser *p, const char *v)
{
	sc_sdp_media *m = p->m;
	uint32_t ssrc;
	const char *attr;

	if (tok_uint(&v, UINT32_MAX, &ssrc))
		return bad(p, "bad a=ssrc", NULL);
	attr = skip_sp(v);
	if (!p->have_ssrc && !p->have_fid) {
		m->ssrc = ssrc;
		p->have_ssrc = true;
	}
	/* Old style msid (webrtcbin): "a=ssrc:N msid:stream track". */
	if (!strncmp(attr, "msid:", 5) && ssrc == m->ssrc && (!m->msid[0] || p->msid_from_attr)) {
		if (copy_n(m->msid, sizeof(m->msid), attr + 5, strlen(attr + 5)))
			return bad(p, "bad a=ssrc", "msid too long");
		p->msid_from_attr = true;
	}
	return 0;
}

static int parse_ssrc_group(parser *p, const char *v)
{
	const char *t;
	size_t len;
	uint32_t a, b;

	t = next_tok(&v, &len);
	if (!t || len != 3 || memcmp(t, "FID", 3))
		return 0;
	if (tok_uint(&v, UINT32_MAX, &a) || tok_uint(&v, UINT32_MAX, &b))
		return bad(p, "bad a=ssrc-group:FID", NULL);
	if (!p->have_fid) {
		p->m->ssrc = a;
		p->m->rtx_ssrc = b;
		p->have_fid = true;
	}
	return 0;
}

static int parse_candidate(parser *p, const char *v)
{
	sc_sdp_media *m = p->m;
	const char *t = v, *tok = NULL;
	size_t n = 0, len;

	while (n < 7 && (tok = next_tok(&t, &len)))
		n++;
	if (n < 7 || len != 3 || memcmp(tok, "typ", 3) || !next_tok(&t, &len) || !is_text(v))
		return bad(p, "bad a=candidate", NULL);
	if (m->n_candidates >= SC_SDP_MAX_CANDS)
		return 0; /* bounded: more candidates are ignored, not an error */
	if (copy_n(m->candidates[m->n_candidates], sizeof(m->candidates[0]), v, strlen(v)))
		return bad(p, "bad a=candidate", "too long");
	m->n_candidates++;
	return 0;
}

/* The attributes allowed at both levels: ICE, DTLS, direction. */
static int parse_common(parser *p, const char *name, const char *v, bool *done)
{
	sc_sdp_media *m = p->m;
	char *dst = NULL;
	size_t cap = 0;
	static const char *const dirs[] = {"sendrecv", "sendonly", "recvonly", "inactive"};

	*done = true;
	for (size_t i = 0; i < 4; i++) {
		if (!strcmp(name, dirs[i])) {
			if (m)
				m->dir = (sc_sdp_dir)i;
			else
				p->sess_dir = (sc_sdp_dir)i;
			return 0;
		}
	}
	if (!strcmp(name, "ice-ufrag")) {
		dst = m ? m->ice_ufrag : p->s->ice_ufrag;
		cap = sizeof(m->ice_ufrag);
	} else if (!strcmp(name, "ice-pwd")) {
		dst = m ? m->ice_pwd : p->s->ice_pwd;
		cap = sizeof(m->ice_pwd);
	} else if (!strcmp(name, "fingerprint")) {
		dst = m ? m->fingerprint : p->s->fingerprint;
		cap = sizeof(m->fingerprint);
	} else if (!strcmp(name, "setup")) {
		dst = m ? m->setup : p->s->setup;
		cap = sizeof(m->setup);
	} else {
		*done = false;
		return 0;
	}
	if (!v || copy_n(dst, cap, v, strlen(v)))
		return bad(p, "bad attribute value", name);
	if ((!strcmp(name, "ice-ufrag") || !strcmp(name, "ice-pwd")) && !is_ice_chars(dst))
		return bad(p, "bad attribute value", name);
	if (!strcmp(name, "fingerprint") && !is_fingerprint(dst))
		return bad(p, "bad attribute value", name);
	if (!strcmp(name, "setup") && !is_setup(dst))
		return bad(p, "bad attribute value", name);
	return 0;
}

static int parse_mid(parser *p, const char *v)
{
	sc_sdp_media *m = p->m;

	if (!*v || copy_n(m->mid, sizeof(m->mid), v, strlen(v)))
		return bad(p, "bad a=mid", NULL);
	for (const char *c = v; *c; c++)
		if (!is_token_char(*c))
			return bad(p, "bad a=mid", NULL);
	for (size_t i = 0; i < p->s->n_media; i++)
		if (&p->s->media[i] != m && !strcmp(p->s->media[i].mid, v))
			return bad(p, "bad a=mid", "duplicate");
	return 0;
}

static int parse_attr(parser *p, char *a)
{
	sc_sdp_media *m = p->m;
	char *v = strchr(a, ':');
	bool done;
	int r;

	if (v)
		*v++ = '\0';
	r = parse_common(p, a, v ? skip_sp(v) : NULL, &done);
	if (done)
		return r;
	if (!m) {
		if (!strcmp(a, "group") && v)
			return parse_group(p, v);
		if (!strcmp(a, "extmap") && v)
			return parse_extmap(p, v);
		return 0;
	}
	if (!strcmp(a, "rtcp-mux"))
		m->rtcp_mux = true;
	else if (!strcmp(a, "bundle-only"))
		m->bundle_only = true;
	else if (!v)
		return 0;
	else if (!strcmp(a, "mid"))
		return parse_mid(p, v);
	else if (!strcmp(a, "candidate"))
		return parse_candidate(p, v);
	else if (!strcmp(a, "extmap"))
		return parse_extmap(p, v);
	else if (!strcmp(a, "msid")) {
		if (copy_n(m->msid, sizeof(m->msid), v, strlen(v)))
			return bad(p, "bad a=msid", "too long");
		p->msid_from_attr = false;
	} else if (!m->n_fmts)
		return 0; /* the rest is about RTP formats and streams */
	else if (!strcmp(a, "rtpmap"))
		return parse_rtpmap(p, v);
	else if (!strcmp(a, "fmtp"))
		return parse_fmtp(p, v);
	else if (!strcmp(a, "rtcp-fb"))
		return parse_rtcp_fb(p, v);
	else if (!strcmp(a, "ssrc"))
		return parse_ssrc(p, v);
	else if (!strcmp(a, "ssrc-group"))
		return parse_ssrc_group(p, v);
	return 0;
}

static int parse_line(parser *p, char *l, size_t len)
{
	if (len < 2 || l[0] < 'a' || l[0] > 'z' || l[1] != '=')
		return bad(p, "not a type=value line", NULL);
	if (!p->v_seen) {
		if (strcmp(l, "v=0"))
			return bad(p, "the first line is not v=0", NULL);
		p->v_seen = true;
		return 0;
	}
	switch (l[0]) {
	case 'm':
		return parse_m(p, l + 2);
	case 'a':
		return parse_attr(p, l + 2);
	case 'v':
		return bad(p, "second v= line", NULL);
	default:
		return 0; /* o s i u e p c b t r z k, and unknown types: ignored */
	}
}

sc_sdp *sc_sdp_parse(const char *text, size_t len, char *err, size_t errlen)
{
	parser p = {.err = err, .errlen = errlen};
	char *line = NULL;
	size_t off = 0;

	if (!text || len > SC_SDP_MAX_TEXT) {
		set_err(err, errlen, "SDP missing or longer than %d bytes", SC_SDP_MAX_TEXT);
		return NULL;
	}
	p.s = calloc(1, sizeof(*p.s));
	line = malloc(SDP_LINE_MAX + 1);
	if (!p.s || !line) {
		set_err(err, errlen, "out of memory");
		goto fail;
	}
	while (off < len) {
		const char *nl = memchr(text + off, '\n', len - off);
		size_t n = nl ? (size_t)(nl - (text + off)) : len - off;
		size_t next = off + n + (nl ? 1 : 0);

		p.line++;
		if (n && text[off + n - 1] == '\r')
			n--;
		if (n > SDP_LINE_MAX) {
			bad(&p, "line too long", NULL);
			goto fail;
		}
		memcpy(line, text + off, n);
		line[n] = '\0';
		off = next;
		if (memchr(line, '\0', n) || memchr(line, '\r', n)) {
			bad(&p, "NUL or CR inside a line", NULL);
			goto fail;
		}
		if (n == 0)
			continue; /* tolerated: blank lines (a trailing one is common) */
		if (parse_line(&p, line, n))
			goto fail;
	}
	if (!p.v_seen) {
		set_err(err, errlen, "empty SDP");
		goto fail;
	}
	if (!p.s->n_media) {
		set_err(err, errlen, "no m= line");
		goto fail;
	}
	free(line);
	return p.s;
fail:
	free(line);
	free(p.s);
	return NULL;
}

/* ---------------------------------------------------------------- effective values */

#define EFFECTIVE(field)   \
	if (!s)            \
		return ""; \
	return i < s->n_media && s->media[i].field[0] ? s->media[i].field : s->field

const char *sc_sdp_ice_ufrag(const sc_sdp *s, size_t i)
{
	EFFECTIVE(ice_ufrag);
}

const char *sc_sdp_ice_pwd(const sc_sdp *s, size_t i)
{
	EFFECTIVE(ice_pwd);
}

const char *sc_sdp_fingerprint(const sc_sdp *s, size_t i)
{
	EFFECTIVE(fingerprint);
}

const char *sc_sdp_setup(const sc_sdp *s, size_t i)
{
	EFFECTIVE(setup);
}

/* ---------------------------------------------------------------- writing */

typedef struct {
	sc_buf b;
	int rc; /* sticky: the first error */
} writer;

static void __attribute__((format(printf, 2, 3))) put(writer *w, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n;

	if (w->rc)
		return;
	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 2, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line) - 2) {
		w->rc = -ENOBUFS;
		return;
	}
	memcpy(line + n, "\r\n", 2);
	w->rc = sc_buf_append(&w->b, line, (size_t)n + 2);
}

static char *finish(writer *w)
{
	if (!w->rc)
		w->rc = sc_buf_append_u8(&w->b, 0);
	if (!w->rc)
		return (char *)sc_buf_steal(&w->b, NULL);
	sc_buf_free(&w->b);
	return NULL;
}

/* RFC 8829 5.2.1: a random 64-bit session id with the top bit clear. */
static uint64_t session_id(void)
{
	uint64_t v = 0;
	struct timespec ts;

	if (getrandom(&v, sizeof(v), GRND_NONBLOCK) != (ssize_t)sizeof(v)) {
		clock_gettime(CLOCK_REALTIME, &ts);
		v = (uint64_t)ts.tv_nsec * 6364136223846793005ULL ^ (uint64_t)ts.tv_sec ^
		    (uint64_t)getpid() << 32;
	}
	v &= INT64_MAX;
	return v ? v : 1;
}

static void put_session(writer *w)
{
	put(w, "v=0");
	put(w, "o=- %llu 2 IN IP4 127.0.0.1", (unsigned long long)session_id());
	put(w, "s=-");
	put(w, "t=0 0");
}

static const char *cand_value(const char *c)
{
	return strncmp(c, "candidate:", 10) ? c : c + 10;
}

static int check_local(const sc_sdp_local *l, char *err, size_t errlen)
{
	if (!l || !l->ice_ufrag || strlen(l->ice_ufrag) > 255 || !is_ice_chars(l->ice_ufrag) ||
	    !l->ice_pwd || strlen(l->ice_pwd) > 255 || !is_ice_chars(l->ice_pwd)) {
		set_err(err, errlen, "bad local ICE credentials");
		return -EINVAL;
	}
	if (!l->fingerprint || strlen(l->fingerprint) >= 160 || !is_fingerprint(l->fingerprint)) {
		set_err(err, errlen, "bad local fingerprint");
		return -EINVAL;
	}
	if (l->setup && !is_setup(l->setup)) {
		set_err(err, errlen, "bad local setup");
		return -EINVAL;
	}
	if (l->n_candidates > SC_SDP_MAX_CANDS || (l->n_candidates && !l->candidates)) {
		set_err(err, errlen, "bad local candidates");
		return -EINVAL;
	}
	for (size_t i = 0; i < l->n_candidates; i++) {
		const char *c = l->candidates[i] ? cand_value(l->candidates[i]) : NULL;

		if (!c || !*c || strlen(c) > 255 || !is_text(c)) {
			set_err(err, errlen, "bad local candidate %zu", i);
			return -EINVAL;
		}
	}
	return 0;
}

static void put_transport(writer *w, const sc_sdp_local *l, const char *setup, bool cands)
{
	put(w, "a=ice-ufrag:%s", l->ice_ufrag);
	put(w, "a=ice-pwd:%s", l->ice_pwd);
	put(w, "a=fingerprint:%s", l->fingerprint);
	put(w, "a=setup:%s", setup);
	if (!cands || !l->n_candidates)
		return;
	for (size_t i = 0; i < l->n_candidates; i++)
		put(w, "a=candidate:%s", cand_value(l->candidates[i]));
	put(w, "a=end-of-candidates");
}

/* H.264 packetization-mode of a format (absent: 0). */
static int h264_mode(const sc_sdp_fmt *f)
{
	char v[8];
	uint32_t mode;

	if (!fmtp_get(f->fmtp, "packetization-mode", v, sizeof(v)))
		return 0;
	return parse_uint(v, strlen(v), 9, &mode) ? -1 : (int)mode;
}

/*
 * Can we receive f? Pass 0 takes VP8, Opus and H.264 in packetization
 * mode 1; pass 1 also H.264 mode 0 (single NAL units, a subset of what
 * the depacketizer reads), used only when pass 0 finds nothing.
 */
static bool usable(const sc_sdp_media *m, const sc_sdp_fmt *f, int pass)
{
	if (!strcmp(m->kind, "audio"))
		return !strcasecmp(f->codec, "opus") && f->clock == 48000;
	if (strcmp(m->kind, "video") || f->clock != 90000)
		return false;
	if (!strcasecmp(f->codec, "VP8"))
		return true;
	if (!strcasecmp(f->codec, "H264"))
		return h264_mode(f) == (pass ? 0 : 1);
	return false;
}

static bool in_bundle(const sc_sdp *s, const char *mid)
{
	for (size_t i = 0; i < s->n_bundle; i++)
		if (!strcmp(s->bundle[i], mid))
			return true;
	return false;
}

static void choose(const sc_sdp *offer, const sc_sdp_media *m, sc_sdp_choice *c)
{
	const sc_sdp_fmt *f = NULL;

	memset(c, 0, sizeof(*c));
	c->pt = c->rtx_pt = -1;
	if (strcmp(m->kind, "audio") && strcmp(m->kind, "video"))
		return;
	if ((!m->port && !m->bundle_only) || !m->n_fmts || !strstr(m->proto, "SAVP"))
		return;
	if ((m->dir != SC_SDP_SENDONLY && m->dir != SC_SDP_SENDRECV) || !m->rtcp_mux)
		return;
	if (offer->n_bundle && (!m->mid[0] || !in_bundle(offer, m->mid)))
		return;
	for (int pass = 0; pass < 2 && !f; pass++)
		for (size_t i = 0; i < m->n_fmts && !f; i++)
			if (usable(m, &m->fmts[i], pass))
				f = &m->fmts[i];
	if (!f)
		return;
	c->accepted = true;
	c->pt = f->pt;
	c->clock = f->clock;
	for (size_t i = 0; f->codec[i] && i < sizeof(c->codec) - 1; i++)
		c->codec[i] = (char)(f->codec[i] >= 'A' && f->codec[i] <= 'Z' ? f->codec[i] + 32
									      : f->codec[i]);
	for (size_t i = 0; i < m->n_fmts; i++) {
		if (!strcasecmp(m->fmts[i].codec, "rtx") && m->fmts[i].apt == f->pt) {
			c->rtx_pt = m->fmts[i].pt;
			break;
		}
	}
}

/* Our setup given the offerer's: the complement, or ours when it is actpass. */
static const char *answer_setup(const char *theirs, const char *ours)
{
	if (!strcmp(theirs, "active"))
		return "passive";
	if (!strcmp(theirs, "passive"))
		return "active";
	return ours && strcmp(ours, "actpass") ? ours : "active";
}

static void put_accepted(writer *w, const sc_sdp *offer, size_t i, const sc_sdp_choice *c,
			 const sc_sdp_local *l, bool first)
{
	const sc_sdp_media *m = &offer->media[i];
	const sc_sdp_fmt *f = find_fmt((sc_sdp_media *)m, (uint32_t)c->pt);
	char plid[32];

	if (c->rtx_pt >= 0)
		put(w, "m=%s 9 %s %d %d", m->kind, m->proto, c->pt, c->rtx_pt);
	else
		put(w, "m=%s 9 %s %d", m->kind, m->proto, c->pt);
	put(w, "c=IN IP4 0.0.0.0");
	if (m->mid[0])
		put(w, "a=mid:%s", m->mid);
	put(w, "a=recvonly");
	put(w, "a=rtcp-mux");
	put_transport(w, l, answer_setup(sc_sdp_setup(offer, i), l->setup), first);
	if (f->channels)
		put(w, "a=rtpmap:%d %s/%u/%u", c->pt, f->codec, (unsigned)f->clock,
		    (unsigned)f->channels);
	else
		put(w, "a=rtpmap:%d %s/%u", c->pt, f->codec, (unsigned)f->clock);
	if (!strcmp(c->codec, "h264")) {
		bool have_plid = fmtp_get(f->fmtp, "profile-level-id", plid, sizeof(plid)) &&
				 is_ice_chars(plid);

		if (h264_mode(f) == 1)
			put(w, "a=fmtp:%d %s%s%spacketization-mode=1", c->pt,
			    have_plid ? "profile-level-id=" : "", have_plid ? plid : "",
			    have_plid ? ";" : "");
		else if (have_plid)
			put(w, "a=fmtp:%d profile-level-id=%s", c->pt, plid);
	}
	if (f->fb_nack)
		put(w, "a=rtcp-fb:%d nack", c->pt);
	if (f->fb_pli && !strcmp(m->kind, "video"))
		put(w, "a=rtcp-fb:%d nack pli", c->pt);
	if (f->fb_fir && !strcmp(m->kind, "video"))
		put(w, "a=rtcp-fb:%d ccm fir", c->pt);
	if (c->rtx_pt >= 0) {
		put(w, "a=rtpmap:%d rtx/%u", c->rtx_pt, (unsigned)c->clock);
		put(w, "a=fmtp:%d apt=%d", c->rtx_pt, c->pt);
	}
	if (m->ext_mid)
		put(w, "a=extmap:%u %s", (unsigned)m->ext_mid, MID_URI);
}

char *sc_sdp_answer(const sc_sdp *offer, const sc_sdp_local *local, sc_sdp_choice *choices,
		    char *err, size_t errlen)
{
	sc_sdp_choice ch[SC_SDP_MAX_MEDIA];
	writer w = {.rc = 0};
	size_t n_acc = 0, first = SIZE_MAX;
	char *out;

	if (!offer || !choices || offer->n_media > SC_SDP_MAX_MEDIA) {
		set_err(err, errlen, "no offer");
		return NULL;
	}
	if (check_local(local, err, errlen))
		return NULL;
	for (size_t i = 0; i < offer->n_media; i++) {
		choose(offer, &offer->media[i], &ch[i]);
		/* Without BUNDLE in the offer, one transport means one section. */
		if (ch[i].accepted && !offer->n_bundle && n_acc) {
			memset(&ch[i], 0, sizeof(ch[i]));
			ch[i].pt = ch[i].rtx_pt = -1;
		}
		if (ch[i].accepted && n_acc++ == 0)
			first = i;
	}
	if (!n_acc) {
		set_err(err, errlen, "no section of the offer can be received");
		return NULL;
	}
	sc_buf_init(&w.b, SC_SDP_MAX_TEXT);
	put_session(&w);
	if (offer->n_bundle) {
		char group[SC_SDP_MAX_MEDIA * 33 + 16] = "a=group:BUNDLE";
		size_t gl = strlen(group);

		for (size_t i = 0; i < offer->n_media; i++) {
			if (ch[i].accepted)
				gl += (size_t)snprintf(group + gl, sizeof(group) - gl, " %s",
						       offer->media[i].mid);
		}
		put(&w, "%s", group);
	}
	put(&w, "a=msid-semantic: WMS");
	for (size_t i = 0; i < offer->n_media; i++) {
		const sc_sdp_media *m = &offer->media[i];

		if (ch[i].accepted) {
			put_accepted(&w, offer, i, &ch[i], local, i == first);
			continue;
		}
		/* RFC 8829 5.3.1: rejected, port 0, the mid kept. */
		put(&w, "m=%s 0 %s %s", m->kind, m->proto, m->fmt0);
		put(&w, "c=IN IP4 0.0.0.0");
		if (m->mid[0])
			put(&w, "a=mid:%s", m->mid);
		put(&w, "a=inactive");
		/* Not required by JSEP, but webrtcbin 1.22 rejects an answer
		 * with an m-section lacking them (Chrome writes them too). */
		put_transport(&w, local, answer_setup(sc_sdp_setup(offer, i), local->setup), false);
	}
	out = finish(&w);
	if (!out) {
		set_err(err, errlen, "answer too large");
		return NULL;
	}
	memcpy(choices, ch, offer->n_media * sizeof(ch[0]));
	return out;
}

static const char offer_audio[] = "a=rtpmap:111 opus/48000/2\r\n"
				  "a=fmtp:111 minptime=10;useinbandfec=1\r\n"
				  "a=rtcp-fb:111 nack\r\n";
static const char offer_video[] = "a=rtpmap:96 VP8/90000\r\n"
				  "a=rtcp-fb:96 nack\r\n"
				  "a=rtcp-fb:96 nack pli\r\n"
				  "a=rtcp-fb:96 ccm fir\r\n"
				  "a=rtpmap:97 rtx/90000\r\n"
				  "a=fmtp:97 apt=96\r\n"
				  "a=rtpmap:102 H264/90000\r\n"
				  "a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;"
				  "profile-level-id=42e01f\r\n"
				  "a=rtcp-fb:102 nack\r\n"
				  "a=rtcp-fb:102 nack pli\r\n"
				  "a=rtcp-fb:102 ccm fir\r\n"
				  "a=rtpmap:103 rtx/90000\r\n"
				  "a=fmtp:103 apt=102\r\n";

static void put_offer_media(writer *w, const sc_sdp_local *l, bool video, unsigned mid, bool first)
{
	put(w, "m=%s",
	    video ? "video 9 UDP/TLS/RTP/SAVPF 96 97 102 103" : "audio 9 UDP/TLS/RTP/SAVPF 111");
	put(w, "c=IN IP4 0.0.0.0");
	put(w, "a=mid:%u", mid);
	put(w, "a=recvonly");
	put(w, "a=rtcp-mux");
	put_transport(w, l, l->setup ? l->setup : "actpass", first);
	put(w, "a=extmap:1 %s", MID_URI);
	if (!w->rc)
		w->rc = video ? sc_buf_append(&w->b, offer_video, sizeof(offer_video) - 1)
			      : sc_buf_append(&w->b, offer_audio, sizeof(offer_audio) - 1);
}

char *sc_sdp_offer_recvonly(const sc_sdp_local *local, unsigned n_audio, unsigned n_video)
{
	writer w = {.rc = 0};
	char group[SC_SDP_MAX_MEDIA * 4 + 16] = "a=group:BUNDLE";
	unsigned n = n_audio + n_video;

	if (check_local(local, NULL, 0) || n == 0 || n_audio > SC_SDP_MAX_MEDIA ||
	    n_video > SC_SDP_MAX_MEDIA || n > SC_SDP_MAX_MEDIA)
		return NULL;
	for (unsigned i = 0; i < n; i++) {
		size_t gl = strlen(group);

		snprintf(group + gl, sizeof(group) - gl, " %u", i);
	}
	sc_buf_init(&w.b, SC_SDP_MAX_TEXT);
	put_session(&w);
	put(&w, "%s", group);
	put(&w, "a=msid-semantic: WMS");
	for (unsigned i = 0; i < n; i++)
		put_offer_media(&w, local, i >= n_audio, i, i == 0);
	return finish(&w);
}
