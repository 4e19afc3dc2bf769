/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sdp.c - SDP (RFC 8866) for a receive-only WebRTC peer: a bounded parser
 * into sc_sdp. Our JSEP (RFC 8829) answer and offer: sdp_write.c.
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
#include "sdp_priv.h"

#define SDP_LINE_MAX 4096

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

void sdp_set_err(char *err, size_t errlen, const char *fmt, ...)
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
	sdp_set_err(p->err, p->errlen, "line %u: %s%s%s", p->line, what, detail ? ": " : "",
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

int sdp_parse_uint(const char *s, size_t n, uint32_t max, uint32_t *ret)
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

	return t ? sdp_parse_uint(t, n, max, ret) : -EINVAL;
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
bool sdp_is_text(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < ' ' || (unsigned char)*s >= 0x7f)
			return false;
	return true;
}

#define ALNUM "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

bool sdp_is_ice_chars(const char *s)
{
	return *s && !s[strspn(s, ALNUM "+/")];
}

/* "sha-256 AB:CD:..." : a hash name, one space, hex pairs and colons. */
bool sdp_is_fingerprint(const char *s)
{
	size_t n = strspn(s, ALNUM "-");

	return n && s[n] == ' ' && s[n + 1] &&
	       !s[n + 1 + strspn(s + n + 1, "0123456789ABCDEFabcdef:")];
}

bool sdp_is_setup(const char *s)
{
	return !strcmp(s, "actpass") || !strcmp(s, "active") || !strcmp(s, "passive") ||
	       !strcmp(s, "holdconn");
}

/* Value of key in an fmtp parameter list ("a=1;b=2"), case-insensitive key. */
bool sdp_fmtp_get(const char *fmtp, const char *key, char *out, size_t outlen)
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

sc_sdp_fmt *sdp_find_fmt(sc_sdp_media *m, uint32_t pt)
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
	if (!t || sdp_parse_uint(t, slash ? (size_t)(slash - t) : len, 65535, &port) ||
	    (slash && sdp_parse_uint(slash + 1, len - (size_t)(slash - t) - 1, 65535, &n)))
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
			if (sdp_parse_uint(t, len, 127, &n))
				return bad(p, "bad m= line", "payload type");
			if (sdp_find_fmt(m, n))
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
	if (sdp_parse_uint(c + 1, n, UINT32_MAX, &clock) || clock == 0)
		return bad(p, "bad a=rtpmap", "clock rate");
	if (c[1 + n] == '/' && (sdp_parse_uint(c + 2 + n, strlen(c + 2 + n), 255, &ch) || ch == 0))
		return bad(p, "bad a=rtpmap", "channels");
	f = sdp_find_fmt(p->m, pt);
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
	f = sdp_find_fmt(p->m, pt);
	if (!f)
		return 0;
	if (copy_n(f->fmtp, sizeof(f->fmtp), v, strlen(v)))
		return bad(p, "bad a=fmtp", "too long");
	if (sdp_fmtp_get(f->fmtp, "apt", val, sizeof(val))) {
		if (sdp_parse_uint(val, strlen(val), 127, &apt))
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
	if (!t || (!all && sdp_parse_uint(t, len, 127, &pt)))
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
	if (!t || sdp_parse_uint(t, slash ? (size_t)(slash - t) : len, 255, &id) || id == 0)
		return bad(p, "bad a=extmap", "id");
	t = next_tok(&v, &len);
	if (!t)
		return bad(p, "bad a=extmap", "no URI");
	if (len == strlen(SDP_MID_URI) && !memcmp(t, SDP_MID_URI, len)) {
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
	if (n < 7 || len != 3 || memcmp(tok, "typ", 3) || !next_tok(&t, &len) || !sdp_is_text(v))
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
	if ((!strcmp(name, "ice-ufrag") || !strcmp(name, "ice-pwd")) && !sdp_is_ice_chars(dst))
		return bad(p, "bad attribute value", name);
	if (!strcmp(name, "fingerprint") && !sdp_is_fingerprint(dst))
		return bad(p, "bad attribute value", name);
	if (!strcmp(name, "setup") && !sdp_is_setup(dst))
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
		sdp_set_err(err, errlen, "SDP missing or longer than %d bytes", SC_SDP_MAX_TEXT);
		return NULL;
	}
	p.s = calloc(1, sizeof(*p.s));
	line = malloc(SDP_LINE_MAX + 1);
	if (!p.s || !line) {
		sdp_set_err(err, errlen, "out of memory");
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
		sdp_set_err(err, errlen, "empty SDP");
		goto fail;
	}
	if (!p.s->n_media) {
		sdp_set_err(err, errlen, "no m= line");
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
