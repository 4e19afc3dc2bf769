/* SPDX-License-Identifier: Apache-2.0 */
/*
 * srtp.c - SRTP/SRTCP contexts of a peer with libsrtp2: see srtp.h.
 */
#include "srtp.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <srtp2/srtp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(SC_SRTP_MAX_TRAILER >= SRTP_MAX_TRAILER_LEN + 4, "SRTCP trailer room");

/* Replay window: large enough for NACK retransmissions that arrive late. */
#define REPLAY_WINDOW 1024

struct sc_srtp {
	srtp_t rx, tx;
};

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static bool init_ok, gcm_ok;

static void set_err(char *err, size_t errlen, const char *msg)
{
	if (err && errlen)
		snprintf(err, errlen, "%s", msg);
}

static void fill_policy(srtp_policy_t *pol, uint16_t profile, srtp_ssrc_type_t type,
			unsigned char *key)
{
	memset(pol, 0, sizeof(*pol));
	if (profile == SC_SRTP_AEAD_AES_128_GCM) {
		srtp_crypto_policy_set_aes_gcm_128_16_auth(&pol->rtp);
		srtp_crypto_policy_set_aes_gcm_128_16_auth(&pol->rtcp);
	} else {
		srtp_crypto_policy_set_rtp_default(&pol->rtp);
		srtp_crypto_policy_set_rtcp_default(&pol->rtcp);
	}
	pol->ssrc.type = type;
	pol->key = key;
	pol->window_size = REPLAY_WINDOW;
	pol->allow_repeat_tx = 0;
	pol->next = NULL;
}

static void do_init(void)
{
	if (srtp_init() != srtp_err_status_ok)
		return;
	init_ok = true;
	/* GCM needs libsrtp2 built against a crypto library: try it once. */
	unsigned char key[SRTP_AES_GCM_128_KEY_LEN_WSALT] = {1};
	srtp_policy_t pol;
	fill_policy(&pol, SC_SRTP_AEAD_AES_128_GCM, ssrc_any_inbound, key);
	srtp_t s = NULL;
	if (srtp_create(&s, &pol) == srtp_err_status_ok) {
		gcm_ok = true;
		srtp_dealloc(s);
	}
}

int sc_srtp_global_init(void)
{
	pthread_once(&init_once, do_init);
	return init_ok ? 0 : -EIO;
}

bool sc_srtp_gcm_supported(void)
{
	return sc_srtp_global_init() == 0 && gcm_ok;
}

const char *sc_srtp_openssl_profiles(void)
{
	return sc_srtp_gcm_supported() ? "SRTP_AEAD_AES_128_GCM:SRTP_AES128_CM_SHA1_80"
				       : "SRTP_AES128_CM_SHA1_80";
}

int sc_srtp_profile_lengths(uint16_t profile, size_t *ret_key, size_t *ret_salt)
{
	switch (profile) {
	case SC_SRTP_AES128_CM_SHA1_80:
		*ret_key = 16;
		*ret_salt = 14;
		return 0;
	case SC_SRTP_AEAD_AES_128_GCM:
		*ret_key = 16;
		*ret_salt = 12;
		return 0;
	default:
		return -ENOTSUP;
	}
}

static int create(srtp_t *ret, uint16_t profile, srtp_ssrc_type_t type, const uint8_t *key,
		  const uint8_t *salt)
{
	size_t klen, slen;
	if (sc_srtp_profile_lengths(profile, &klen, &slen) < 0)
		return -ENOTSUP;
	unsigned char material[SC_SRTP_MAX_KEY + SC_SRTP_MAX_SALT];
	memcpy(material, key, klen);
	memcpy(material + klen, salt, slen);
	srtp_policy_t pol;
	fill_policy(&pol, profile, type, material);
	srtp_err_status_t st = srtp_create(ret, &pol);
	explicit_bzero(material, sizeof(material));
	return st == srtp_err_status_ok ? 0 : -EIO;
}

sc_srtp *sc_srtp_new(const sc_srtp_keys *keys, char *err, size_t errlen)
{
	sc_srtp *s = calloc(1, sizeof(*s));
	if (!s) {
		set_err(err, errlen, "out of memory");
		return NULL;
	}
	if (sc_srtp_global_init() < 0) {
		set_err(err, errlen, "SRTP: srtp_init failed");
		goto fail;
	}
	if (keys->profile == SC_SRTP_AEAD_AES_128_GCM && !gcm_ok) {
		set_err(err, errlen, "SRTP: AES-GCM not supported by libsrtp2");
		goto fail;
	}
	if (create(&s->rx, keys->profile, ssrc_any_inbound, keys->rx_key, keys->rx_salt) < 0 ||
	    create(&s->tx, keys->profile, ssrc_any_outbound, keys->tx_key, keys->tx_salt) < 0) {
		set_err(err, errlen, "SRTP: srtp_create failed");
		goto fail;
	}
	return s;
fail:
	sc_srtp_free(s);
	return NULL;
}

void sc_srtp_free(sc_srtp *s)
{
	if (!s)
		return;
	if (s->rx)
		srtp_dealloc(s->rx);
	if (s->tx)
		srtp_dealloc(s->tx);
	free(s);
}

int sc_srtp_unprotect_rtp(sc_srtp *s, uint8_t *pkt, size_t *len)
{
	if (*len < 12 || *len > INT_MAX)
		return -EBADMSG;
	int n = (int)*len;
	if (srtp_unprotect(s->rx, pkt, &n) != srtp_err_status_ok || n < 12)
		return -EBADMSG;
	*len = (size_t)n;
	return 0;
}

int sc_srtp_unprotect_rtcp(sc_srtp *s, uint8_t *pkt, size_t *len)
{
	if (*len < 8 || *len > INT_MAX)
		return -EBADMSG;
	int n = (int)*len;
	if (srtp_unprotect_rtcp(s->rx, pkt, &n) != srtp_err_status_ok || n < 8)
		return -EBADMSG;
	*len = (size_t)n;
	return 0;
}

int sc_srtp_protect_rtcp(sc_srtp *s, uint8_t *pkt, size_t *len, size_t cap)
{
	if (*len < 8 || cap < *len || cap - *len < SC_SRTP_MAX_TRAILER || *len > INT_MAX / 2)
		return -ENOBUFS;
	int n = (int)*len;
	if (srtp_protect_rtcp(s->tx, pkt, &n) != srtp_err_status_ok)
		return -EIO;
	*len = (size_t)n;
	return 0;
}
