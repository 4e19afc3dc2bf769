/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dtls.c - DTLS-SRTP handshake with OpenSSL 3: see dtls.h.
 */
#include "dtls.h"

#include <ctype.h>
#include <errno.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/srtp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CERT_DAYS      5
#define RECORD_HEADER  13
#define MAX_FLIGHT     (64 * 1024) /* bound on what one step may write */
#define MAX_PENDING_IN (64 * 1024) /* bound on unread input in the BIO */
#define EXPORTER_LABEL "EXTRACTOR-dtls_srtp"

struct sc_dtls {
	sc_dtls_config cfg;
	EVP_PKEY *key;
	X509 *cert;
	SSL_CTX *ctx;
	SSL *ssl;
	BIO *rbio, *wbio; /* owned by ssl once it exists */
	GSource *timer;
	uint8_t remote_fp[SC_DTLS_FP_LEN];
	bool client, started, done, failed;
	char fingerprint[SC_DTLS_FP_TEXT_MAX];
	uint8_t out[MAX_FLIGHT];
};

static void set_err(char *err, size_t errlen, const char *msg)
{
	if (err && errlen)
		snprintf(err, errlen, "%s", msg);
}

static int verify_any(int ok, X509_STORE_CTX *store)
{
	/* Self-signed by design: the fingerprint is checked after the handshake. */
	(void)ok, (void)store;
	return 1;
}

static void fp_text(const uint8_t *md, char *out, size_t cap)
{
	size_t n = (size_t)snprintf(out, cap, "sha-256 ");
	for (size_t i = 0; i < SC_DTLS_FP_LEN && n + 3 < cap; i++)
		n += (size_t)snprintf(out + n, cap - n, i ? ":%02X" : "%02X", md[i]);
}

static int make_cert(sc_dtls *d)
{
	d->key = EVP_EC_gen("P-256");
	d->cert = X509_new();
	if (!d->key || !d->cert)
		return -ENOMEM;
	uint64_t serial;
	if (RAND_bytes((unsigned char *)&serial, sizeof(serial)) != 1)
		return -EIO;
	X509_NAME *name = X509_get_subject_name(d->cert);
	if (!X509_set_version(d->cert, 2) ||
	    !ASN1_INTEGER_set_uint64(X509_get_serialNumber(d->cert), serial >> 1) ||
	    !X509_gmtime_adj(X509_getm_notBefore(d->cert), -86400) ||
	    !X509_gmtime_adj(X509_getm_notAfter(d->cert), (long)CERT_DAYS * 86400) ||
	    !X509_set_pubkey(d->cert, d->key) ||
	    !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
					(const unsigned char *)"stagecast", -1, -1, 0) ||
	    !X509_set_issuer_name(d->cert, name) || !X509_sign(d->cert, d->key, EVP_sha256()))
		return -EIO;
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	if (!X509_digest(d->cert, EVP_sha256(), md, &mdlen) || mdlen != SC_DTLS_FP_LEN)
		return -EIO;
	fp_text(md, d->fingerprint, sizeof(d->fingerprint));
	return 0;
}

sc_dtls *sc_dtls_new(const sc_dtls_config *cfg, char *err, size_t errlen)
{
	sc_dtls *d = calloc(1, sizeof(*d));
	if (!d) {
		set_err(err, errlen, "out of memory");
		return NULL;
	}
	d->cfg = *cfg;
	if (sc_srtp_global_init() < 0) {
		set_err(err, errlen, "SRTP: srtp_init failed");
		goto fail;
	}
	ERR_clear_error();
	if (make_cert(d) < 0) {
		set_err(err, errlen, "DTLS: cannot make a key and certificate");
		goto fail;
	}
	d->ctx = SSL_CTX_new(DTLS_method());
	if (!d->ctx || !SSL_CTX_set_min_proto_version(d->ctx, DTLS1_2_VERSION) ||
	    SSL_CTX_use_certificate(d->ctx, d->cert) != 1 ||
	    SSL_CTX_use_PrivateKey(d->ctx, d->key) != 1 || SSL_CTX_check_private_key(d->ctx) != 1) {
		set_err(err, errlen, "DTLS: cannot set up the SSL context");
		goto fail;
	}
	/* Returns 0 on success, unlike the rest of the API. */
	if (SSL_CTX_set_tlsext_use_srtp(d->ctx, sc_srtp_openssl_profiles()) != 0) {
		set_err(err, errlen, "DTLS: SRTP profiles rejected");
		goto fail;
	}
	SSL_CTX_set_verify(d->ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, verify_any);
	SSL_CTX_set_options(d->ctx, SSL_OP_NO_QUERY_MTU);
	SSL_CTX_set_read_ahead(d->ctx, 1);
	return d;
fail:
	ERR_clear_error();
	sc_dtls_free(d);
	return NULL;
}

static void stop_timer(sc_dtls *d)
{
	if (d->timer) {
		g_source_destroy(d->timer);
		g_source_unref(d->timer);
		d->timer = NULL;
	}
}

void sc_dtls_free(sc_dtls *d)
{
	if (!d)
		return;
	stop_timer(d);
	SSL_free(d->ssl); /* frees the BIOs */
	SSL_CTX_free(d->ctx);
	X509_free(d->cert);
	EVP_PKEY_free(d->key);
	OPENSSL_cleanse(d, sizeof(*d));
	free(d);
}

const char *sc_dtls_fingerprint(const sc_dtls *d)
{
	return d->fingerprint;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)tolower((unsigned char)c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int sc_dtls_parse_fingerprint(const char *text, uint8_t ret[SC_DTLS_FP_LEN])
{
	while (*text == ' ' || *text == '\t')
		text++;
	const char *sp = strchr(text, ' ');
	if (!sp)
		return -EINVAL;
	if ((size_t)(sp - text) != 7 || strncasecmp(text, "sha-256", 7) != 0)
		return -ENOTSUP;
	const char *p = sp;
	while (*p == ' ')
		p++;
	uint8_t md[SC_DTLS_FP_LEN];
	for (size_t i = 0; i < SC_DTLS_FP_LEN; i++) {
		if (i && *p++ != ':')
			return -EINVAL;
		int hi = hexval(p[0]), lo = hi < 0 ? -1 : hexval(p[1]);
		if (hi < 0 || lo < 0)
			return -EINVAL;
		md[i] = (uint8_t)(hi << 4 | lo);
		p += 2;
	}
	while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
		p++;
	if (*p)
		return -EINVAL;
	memcpy(ret, md, sizeof(md));
	return 0;
}

int sc_dtls_set_remote(sc_dtls *d, bool client, const uint8_t fp[SC_DTLS_FP_LEN], char *err,
		       size_t errlen)
{
	if (d->ssl) {
		set_err(err, errlen, "DTLS: remote already set");
		return -EALREADY;
	}
	ERR_clear_error();
	d->ssl = SSL_new(d->ctx);
	BIO *rbio = BIO_new(BIO_s_mem()), *wbio = BIO_new(BIO_s_mem());
	if (!d->ssl || !rbio || !wbio) {
		BIO_free(rbio);
		BIO_free(wbio);
		SSL_free(d->ssl);
		d->ssl = NULL;
		set_err(err, errlen, "DTLS: out of memory");
		return -ENOMEM;
	}
	BIO_set_mem_eof_return(rbio, -1); /* empty: "retry", not EOF */
	BIO_set_mem_eof_return(wbio, -1);
	SSL_set_bio(d->ssl, rbio, wbio);
	d->rbio = rbio;
	d->wbio = wbio;
	SSL_set_options(d->ssl, SSL_OP_NO_QUERY_MTU);
	SSL_set_mtu(d->ssl, SC_DTLS_MTU);
	if (client)
		SSL_set_connect_state(d->ssl);
	else
		SSL_set_accept_state(d->ssl);
	d->client = client;
	memcpy(d->remote_fp, fp, SC_DTLS_FP_LEN);
	return 0;
}

/* Send what OpenSSL wrote, whole records packed into datagrams <= MTU. */
static void flush(sc_dtls *d)
{
	if (!d->wbio)
		return;
	for (;;) {
		int n = BIO_read(d->wbio, d->out, (int)sizeof(d->out));
		if (n <= 0)
			return;
		size_t len = (size_t)n, start = 0, pos = 0;
		while (pos < len) {
			size_t rec = len - pos;
			if (rec >= RECORD_HEADER)
				rec = RECORD_HEADER +
				      (size_t)(d->out[pos + 11] << 8 | d->out[pos + 12]);
			if (rec > len - pos)
				rec = len - pos; /* cannot happen; send what there is */
			if (pos > start && pos + rec - start > SC_DTLS_MTU) {
				d->cfg.send(d->cfg.ud, d->out + start, pos - start);
				start = pos;
			}
			pos += rec;
		}
		if (pos > start)
			d->cfg.send(d->cfg.ud, d->out + start, pos - start);
	}
}

static void fail(sc_dtls *d, const char *what)
{
	if (d->failed)
		return;
	char why[256];
	unsigned long e = ERR_peek_last_error();
	if (e) {
		char buf[160];
		ERR_error_string_n(e, buf, sizeof(buf));
		snprintf(why, sizeof(why), "DTLS: %s (%s)", what, buf);
	} else {
		snprintf(why, sizeof(why), "DTLS: %s", what);
	}
	ERR_clear_error();
	d->failed = true;
	stop_timer(d);
	flush(d); /* an alert, if OpenSSL wrote one */
	if (d->cfg.on_failed)
		d->cfg.on_failed(d->cfg.ud, why);
}

static gboolean on_timer(gpointer ud);

static void arm_timer(sc_dtls *d)
{
	stop_timer(d);
	if (d->done || d->failed || !d->ssl)
		return;
	struct timeval tv;
	if (!DTLSv1_get_timeout(d->ssl, &tv))
		return;
	guint ms = (guint)(tv.tv_sec * 1000 + tv.tv_usec / 1000) + 1;
	d->timer = g_timeout_source_new(ms);
	g_source_set_callback(d->timer, on_timer, d, NULL);
	g_source_attach(d->timer, d->cfg.ctx);
}

static gboolean on_timer(gpointer ud)
{
	sc_dtls *d = ud;
	g_source_unref(d->timer);
	d->timer = NULL;
	ERR_clear_error();
	if (DTLSv1_handle_timeout(d->ssl) < 0) {
		fail(d, "handshake timed out");
		return G_SOURCE_REMOVE;
	}
	flush(d);
	arm_timer(d);
	return G_SOURCE_REMOVE;
}

static void finish(sc_dtls *d)
{
	X509 *peer = SSL_get0_peer_certificate(d->ssl);
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	if (!peer || !X509_digest(peer, EVP_sha256(), md, &mdlen) || mdlen != SC_DTLS_FP_LEN) {
		fail(d, "no usable peer certificate");
		return;
	}
	if (CRYPTO_memcmp(md, d->remote_fp, SC_DTLS_FP_LEN) != 0) {
		SSL_shutdown(d->ssl); /* close_notify: we will not talk to it */
		fail(d, "peer certificate does not match the SDP fingerprint");
		return;
	}
	const SRTP_PROTECTION_PROFILE *prof = SSL_get_selected_srtp_profile(d->ssl);
	sc_srtp_keys keys = {0};
	size_t klen, slen;
	if (!prof || prof->id > UINT16_MAX ||
	    sc_srtp_profile_lengths((uint16_t)prof->id, &klen, &slen) < 0) {
		fail(d, "no SRTP profile negotiated");
		return;
	}
	keys.profile = (uint16_t)prof->id;
	uint8_t km[2 * (SC_SRTP_MAX_KEY + SC_SRTP_MAX_SALT)];
	size_t kmlen = 2 * (klen + slen);
	if (SSL_export_keying_material(d->ssl, km, kmlen, EXPORTER_LABEL, strlen(EXPORTER_LABEL),
				       NULL, 0, 0) != 1) {
		fail(d, "keying material export failed");
		return;
	}
	/* RFC 5764 4.2: client key | server key | client salt | server salt */
	const uint8_t *ck = km, *sk = km + klen, *cs = km + 2 * klen, *ss = km + 2 * klen + slen;
	memcpy(keys.tx_key, d->client ? ck : sk, klen);
	memcpy(keys.rx_key, d->client ? sk : ck, klen);
	memcpy(keys.tx_salt, d->client ? cs : ss, slen);
	memcpy(keys.rx_salt, d->client ? ss : cs, slen);
	OPENSSL_cleanse(km, sizeof(km));
	d->done = true;
	stop_timer(d);
	if (d->cfg.on_done)
		d->cfg.on_done(d->cfg.ud, &keys);
	OPENSSL_cleanse(&keys, sizeof(keys));
}

static void step(sc_dtls *d)
{
	ERR_clear_error();
	int r = SSL_do_handshake(d->ssl);
	flush(d);
	if (r == 1) {
		finish(d);
		return;
	}
	int e = SSL_get_error(d->ssl, r);
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
		arm_timer(d);
		return;
	}
	fail(d, "handshake failed");
}

void sc_dtls_start(sc_dtls *d)
{
	if (!d->ssl || d->started || d->failed)
		return;
	d->started = true;
	if (d->client)
		step(d);
}

/* After the handshake: alerts and (ignored) application data. */
static void read_records(sc_dtls *d)
{
	for (;;) {
		ERR_clear_error();
		int r = SSL_read(d->ssl, d->out, (int)sizeof(d->out));
		if (r > 0)
			continue; /* no data channels: application data is dropped */
		int e = SSL_get_error(d->ssl, r);
		flush(d);
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
			return;
		fail(d, e == SSL_ERROR_ZERO_RETURN ? "closed by the remote peer" : "read failed");
		return;
	}
}

void sc_dtls_recv(sc_dtls *d, const uint8_t *buf, size_t len)
{
	if (!d->ssl || d->failed || len == 0 || len > MAX_PENDING_IN)
		return;
	if (BIO_ctrl_pending(d->rbio) + len > MAX_PENDING_IN)
		(void)BIO_reset(d->rbio);
	if (BIO_write(d->rbio, buf, (int)len) != (int)len)
		return;
	if (d->done) {
		read_records(d);
		return;
	}
	/* A server starts with the first ClientHello, whatever ICE says. */
	d->started = true;
	step(d);
}

bool sc_dtls_done(const sc_dtls *d)
{
	return d->done;
}
