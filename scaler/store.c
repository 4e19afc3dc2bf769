/* SPDX-License-Identifier: Apache-2.0 */
/*
 * store.c - the backend-independent part of the store: picking a backend
 * from a spec, state names, lock keys.
 *
 * The etcd backend is referenced only when the build has it
 * (-DSC_HAVE_ETCD=1); without it an etcd:// spec is refused with a message.
 */
#include "store.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

struct sc_store {
	const sc_store_ops *ops;
	void *priv;
};

static const char *const stream_state_names[] = {
	[SC_ST_PENDING] = "pending", [SC_ST_ASSIGNED] = "assigned", [SC_ST_STARTING] = "starting",
	[SC_ST_LIVE] = "live",	     [SC_ST_STOPPING] = "stopping", [SC_ST_STOPPED] = "stopped",
	[SC_ST_FAILED] = "failed",
};

static const char *const inst_state_names[] = {
	[SC_INST_STARTING] = "starting", [SC_INST_IDLE] = "idle", [SC_INST_BUSY] = "busy",
	[SC_INST_DRAINING] = "draining", [SC_INST_LOST] = "lost", [SC_INST_GONE] = "gone",
};

#define N_ELEM(a) (sizeof(a) / sizeof((a)[0]))

const char *sc_stream_state_name(sc_stream_state s)
{
	if ((unsigned)s >= N_ELEM(stream_state_names))
		return "unknown";
	return stream_state_names[s];
}

int sc_stream_state_parse(const char *s, sc_stream_state *ret)
{
	size_t i;

	if (!s)
		return -EINVAL;
	for (i = 0; i < N_ELEM(stream_state_names); i++) {
		if (strcmp(s, stream_state_names[i]) == 0) {
			*ret = (sc_stream_state)i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *sc_inst_state_name(sc_inst_state s)
{
	if ((unsigned)s >= N_ELEM(inst_state_names))
		return "unknown";
	return inst_state_names[s];
}

int sc_inst_state_parse(const char *s, sc_inst_state *ret)
{
	size_t i;

	if (!s)
		return -EINVAL;
	for (i = 0; i < N_ELEM(inst_state_names); i++) {
		if (strcmp(s, inst_state_names[i]) == 0) {
			*ret = (sc_inst_state)i;
			return 0;
		}
	}
	return -EINVAL;
}

sc_store *sc_store_open(const char *spec, char *err, size_t errlen)
{
	const sc_store_ops *ops = NULL;
	const char *location = NULL;
	char dummy[1];
	sc_store *s = NULL;
	int r;

	if (!err || errlen == 0) {
		err = dummy;
		errlen = sizeof(dummy);
	}
	err[0] = '\0';
	if (!spec) {
		snprintf(err, errlen, "no store given");
		return NULL;
	}
	if (strncmp(spec, "sqlite:", 7) == 0) {
		ops = &sc_store_sqlite;
		location = spec + 7;
	} else if (strncmp(spec, "etcd://", 7) == 0) {
#if defined(SC_HAVE_ETCD) && SC_HAVE_ETCD
		ops = &sc_store_etcd;
		location = spec + 7;
#else
		snprintf(err, errlen, "this build has no etcd support (built without libcurl)");
		return NULL;
#endif
	} else {
		snprintf(err, errlen,
			 "unknown store \"%.64s\": use sqlite:PATH or "
			 "etcd://HOST:PORT[,HOST:PORT...]",
			 spec);
		return NULL;
	}
	if (location[0] == '\0') {
		snprintf(err, errlen, "store \"%.64s\" has no %s", spec,
			 ops == &sc_store_sqlite ? "file path" : "endpoints");
		return NULL;
	}

	s = calloc(1, sizeof(*s));
	if (!s)
		goto nomem;
	s->ops = ops;
	s->priv = calloc(1, ops->priv_size ? ops->priv_size : 1);
	if (!s->priv)
		goto nomem;
	r = ops->open(s->priv, location, err, errlen);
	if (r < 0) {
		if (err[0] == '\0')
			snprintf(err, errlen, "%s store: %s", ops->name, strerror(-r));
		goto fail;
	}
	return s;

nomem:
	snprintf(err, errlen, "out of memory");
fail:
	sc_store_close(s);
	return NULL;
}

void sc_store_close(sc_store *s)
{
	if (!s)
		return;
	if (s->priv) {
		s->ops->close(s->priv);
		free(s->priv);
	}
	free(s);
}

const sc_store_ops *sc_store_ops_of(const sc_store *s)
{
	return s->ops;
}

void *sc_store_priv(sc_store *s)
{
	return s->priv;
}

void sc_stream_recs_free(sc_stream_rec *v, size_t n)
{
	size_t i;

	if (!v)
		return;
	for (i = 0; i < n; i++)
		free(v[i].destination_sealed);
	free(v);
}

static void sha256_hex(const char *prefix, const char *s, char out[SC_KEY_HEX])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[32];
	unsigned int len = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	size_t i;
	int ok = ctx != NULL;

	ok = ok && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1;
	ok = ok && EVP_DigestUpdate(ctx, prefix, strlen(prefix)) == 1;
	ok = ok && EVP_DigestUpdate(ctx, s ? s : "", s ? strlen(s) : 0) == 1;
	ok = ok && EVP_DigestFinal_ex(ctx, md, &len) == 1 && len == sizeof(md);
	EVP_MD_CTX_free(ctx);
	if (!ok) {
		/* Out of memory in OpenSSL: abort rather than hand out a key
		 * that could collide with every other failed one. */
		abort();
	}
	for (i = 0; i < sizeof(md); i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[2 * sizeof(md)] = '\0';
}

void sc_lock_key_destination(const char *normalized_url, char out[SC_KEY_HEX])
{
	sha256_hex("", normalized_url, out);
}

void sc_lock_key_name(const char *name, char out[SC_KEY_HEX])
{
	sha256_hex("name:", name, out);
}
