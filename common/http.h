/* SPDX-License-Identifier: Apache-2.0 */
/*
 * http.h - a small HTTP server on libmicrohttpd: one handler sees every
 * request once its body is in; it answers at once or suspends the request
 * and answers later (LL-HLS blocking playlist reload, long polls).
 *
 * Two ways to run it:
 *  - internal: libmicrohttpd's own thread calls the handler (scaler, capture);
 *  - external: the caller's event loop watches sc_http_fd() for readability
 *    and calls sc_http_run() then, and after sc_http_timeout_ms(); the
 *    handler runs on that loop's thread (relay: no locks needed).
 * A request must be answered exactly once, from the thread that runs the
 * handler. Bodies over max_body are answered 413 without calling the handler.
 */
#ifndef SC_HTTP_H
#define SC_HTTP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

typedef struct sc_http_server sc_http_server;
typedef struct sc_http_request sc_http_request;

typedef void (*sc_http_handler)(sc_http_request *req, void *userdata);

typedef struct {
	const char *addr;   /* "HOST:PORT" */
	bool external;	    /* see above */
	size_t max_body;    /* default 64 KiB */
	unsigned max_conns; /* default 1024 */
	unsigned timeout_s; /* idle connection timeout, default 60 */
	sc_http_handler handler;
	void *userdata;
} sc_http_config;

/* NULL with a message in err (e.g. "bind 127.0.0.1:8080: address in use"). */
sc_http_server *sc_http_new(const sc_http_config *cfg, char *err, size_t errlen);
/* Suspended requests must have been answered before. Accepts NULL. */
void sc_http_free(sc_http_server *s);
/* External mode. */
int sc_http_fd(sc_http_server *s);
void sc_http_run(sc_http_server *s);
int64_t sc_http_timeout_ms(sc_http_server *s); /* -1: no timeout pending */

const char *sc_http_method(const sc_http_request *r);
const char *sc_http_path(const sc_http_request *r);		      /* decoded, no query */
const char *sc_http_query(const sc_http_request *r, const char *key); /* NULL if absent */
const char *sc_http_header(const sc_http_request *r, const char *name);
const char *sc_http_body(const sc_http_request *r, size_t *ret_len);
const char *sc_http_peer(const sc_http_request *r); /* "127.0.0.1" */
bool sc_http_peer_is_loopback(const sc_http_request *r);
/* Checks "Authorization: Bearer TOKEN" against token in constant time. */
bool sc_http_bearer_ok(const sc_http_request *r, const char *token);

/* Extra response header for the coming reply (at most 8). */
void sc_http_add_header(sc_http_request *r, const char *name, const char *value);
/* Reply with a copy of data. */
void sc_http_reply(sc_http_request *r, unsigned status, const char *mime, const void *data,
		   size_t len);
/* Reply with data that stays valid until free_fn(cls) is called. */
void sc_http_reply_static(sc_http_request *r, unsigned status, const char *mime, const void *data,
			  size_t len, void (*free_fn)(void *), void *cls);
/* Reply with the n pieces of iov back to back; they stay valid until
 * free_fn(cls) is called (also called if the reply cannot be made). The
 * iov array itself is copied. */
void sc_http_reply_iov(sc_http_request *r, unsigned status, const char *mime,
		       const struct iovec *iov, size_t n, void (*free_fn)(void *), void *cls);
/* Reply with the first len bytes of the regular file fd (sent with
 * sendfile where possible). Takes fd: it is closed once sent, or at once
 * if the reply cannot be made. */
void sc_http_reply_fd(sc_http_request *r, unsigned status, const char *mime, int fd, uint64_t len);
/* Steals the reference to v. */
void sc_http_reply_json(sc_http_request *r, unsigned status, json_t *v);
/* {"error": "..."} */
void sc_http_reply_error(sc_http_request *r, unsigned status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Keep the request open after the handler returns; answer it later with a
 * sc_http_reply*() call on the handler's thread. */
void sc_http_suspend(sc_http_request *r);

#endif
