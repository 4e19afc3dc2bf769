/* SPDX-License-Identifier: Apache-2.0 */
/*
 * http.c - libmicrohttpd glue. See http.h.
 *
 * libmicrohttpd calls the access handler several times per request: once
 * when the headers are in, once per body piece, once more at the end. We
 * collect the body into a bounded buffer and call the application handler
 * at the end. A suspended request is resumed when the reply arrives; the
 * access handler is then called again and queues the stored response.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "buf.h"
#include "config.h"
#include "http.h"
#include "json.h"

#define MAX_EXTRA_HEADERS 8

struct sc_http_server {
	struct MHD_Daemon *daemon;
	sc_http_config cfg;
};

struct sc_http_request {
	sc_http_server *server;
	struct MHD_Connection *conn;
	const char *method;
	char *path;
	sc_buf body;
	bool too_large;
	bool dispatched;	       /* the handler has seen it */
	bool suspended;		       /* the handler asked to answer later */
	bool mhd_suspended;	       /* and libmicrohttpd has it suspended */
	struct MHD_Response *response; /* set by a reply; queued by the access handler */
	unsigned status;
	char peer[INET6_ADDRSTRLEN];
	struct {
		char *name, *value;
	} headers[MAX_EXTRA_HEADERS];
	unsigned n_headers;
};

static void request_free(sc_http_request *r)
{
	if (!r)
		return;
	if (r->response)
		MHD_destroy_response(r->response);
	for (unsigned i = 0; i < r->n_headers; i++) {
		free(r->headers[i].name);
		free(r->headers[i].value);
	}
	sc_buf_free(&r->body);
	free(r->path);
	free(r);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	request_free(*con_cls);
	*con_cls = NULL;
}

static void peer_of(struct MHD_Connection *conn, char *out, size_t outlen)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	snprintf(out, outlen, "?");
	if (!ci || !ci->client_addr)
		return;
	const struct sockaddr *sa = ci->client_addr;
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, out, outlen);
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, out, outlen);
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *conn, const char *url,
				 const char *method, const char *version, const char *upload_data,
				 size_t *upload_data_size, void **con_cls)
{
	sc_http_server *s = cls;
	sc_http_request *r = *con_cls;

	if (!r) {
		r = calloc(1, sizeof(*r));
		if (!r)
			return MHD_NO;
		r->server = s;
		r->conn = conn;
		r->method = method;
		r->path = strdup(url);
		sc_buf_init(&r->body, s->cfg.max_body);
		peer_of(conn, r->peer, sizeof(r->peer));
		*con_cls = r;
		if (!r->path)
			return MHD_NO;
		return MHD_YES;
	}

	if (*upload_data_size > 0) {
		if (!r->too_large && sc_buf_append(&r->body, upload_data, *upload_data_size) < 0)
			r->too_large = true;
		*upload_data_size = 0;
		return MHD_YES;
	}

	if (!r->dispatched) {
		r->dispatched = true;
		if (r->too_large)
			sc_http_reply_error(r, 413, "request body over %zu bytes", s->cfg.max_body);
		else
			s->cfg.handler(r, s->cfg.userdata);
	}

	if (r->response) {
		struct MHD_Response *resp = r->response;
		r->response = NULL;
		enum MHD_Result ret = MHD_queue_response(conn, r->status, resp);
		MHD_destroy_response(resp);
		return ret;
	}
	if (r->suspended) {
		r->mhd_suspended = true;
		MHD_suspend_connection(conn);
		return MHD_YES;
	}
	/* The handler neither answered nor suspended: a bug, but never hang. */
	sc_http_reply_error(r, 500, "no response");
	struct MHD_Response *resp = r->response;
	r->response = NULL;
	enum MHD_Result ret = MHD_queue_response(conn, r->status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static int bind_addr(const char *addr, struct sockaddr_storage *ss, char *err, size_t errlen)
{
	char host[256];
	uint16_t port;
	if (sc_parse_hostport(addr, host, sizeof(host), &port) < 0) {
		snprintf(err, errlen, "bad address \"%s\": want HOST:PORT", addr);
		return -EINVAL;
	}
	struct addrinfo hints = {.ai_flags = AI_NUMERICHOST | AI_PASSIVE,
				 .ai_socktype = SOCK_STREAM};
	struct addrinfo *ai = NULL;
	int rc = getaddrinfo(host[0] ? host : NULL, "0", &hints, &ai);
	if (rc != 0 || !ai) {
		snprintf(err, errlen, "bad address \"%s\": %s", addr, gai_strerror(rc));
		return -EINVAL;
	}
	memset(ss, 0, sizeof(*ss));
	memcpy(ss, ai->ai_addr, ai->ai_addrlen);
	freeaddrinfo(ai);
	if (ss->ss_family == AF_INET)
		((struct sockaddr_in *)ss)->sin_port = htons(port);
	else
		((struct sockaddr_in6 *)ss)->sin6_port = htons(port);
	return 0;
}

sc_http_server *sc_http_new(const sc_http_config *cfg, char *err, size_t errlen)
{
	sc_http_server *s = calloc(1, sizeof(*s));
	struct sockaddr_storage ss;
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->cfg = *cfg;
	if (!s->cfg.max_body)
		s->cfg.max_body = 64 * 1024;
	if (!s->cfg.max_conns)
		s->cfg.max_conns = 1024;
	if (!s->cfg.timeout_s)
		s->cfg.timeout_s = 60;
	if (bind_addr(cfg->addr, &ss, err, errlen) < 0)
		goto fail;

	unsigned flags = MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME;
	if (!cfg->external)
		flags |= MHD_USE_INTERNAL_POLLING_THREAD;
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	s->daemon = MHD_start_daemon(flags, 0, NULL, NULL, on_access, s, MHD_OPTION_SOCK_ADDR,
				     (struct sockaddr *)&ss, MHD_OPTION_NOTIFY_COMPLETED,
				     on_completed, s, MHD_OPTION_CONNECTION_LIMIT, s->cfg.max_conns,
				     MHD_OPTION_CONNECTION_TIMEOUT, s->cfg.timeout_s,
				     MHD_OPTION_LISTENING_ADDRESS_REUSE, 1, MHD_OPTION_END);
	if (!s->daemon) {
		snprintf(err, errlen, "cannot listen on %s (address in use or not local?)",
			 cfg->addr);
		goto fail;
	}
	return s;
fail:
	sc_http_free(s);
	return NULL;
}

void sc_http_free(sc_http_server *s)
{
	if (!s)
		return;
	if (s->daemon)
		MHD_stop_daemon(s->daemon);
	free(s);
}

int sc_http_fd(sc_http_server *s)
{
	const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_EPOLL_FD);
	return di ? di->epoll_fd : -1;
}

void sc_http_run(sc_http_server *s)
{
	MHD_run(s->daemon);
}

int64_t sc_http_timeout_ms(sc_http_server *s)
{
	MHD_UNSIGNED_LONG_LONG t;
	if (MHD_get_timeout(s->daemon, &t) != MHD_YES)
		return -1;
	return t > INT64_MAX ? INT64_MAX : (int64_t)t;
}

const char *sc_http_method(const sc_http_request *r)
{
	return r->method;
}
const char *sc_http_path(const sc_http_request *r)
{
	return r->path;
}

const char *sc_http_query(const sc_http_request *r, const char *key)
{
	return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, key);
}

const char *sc_http_header(const sc_http_request *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

const char *sc_http_body(const sc_http_request *r, size_t *ret_len)
{
	*ret_len = r->body.len;
	return r->body.len ? (const char *)r->body.data : "";
}

const char *sc_http_peer(const sc_http_request *r)
{
	return r->peer;
}

bool sc_http_peer_is_loopback(const sc_http_request *r)
{
	return strncmp(r->peer, "127.", 4) == 0 || strcmp(r->peer, "::1") == 0 ||
	       strncmp(r->peer, "::ffff:127.", 11) == 0;
}

bool sc_http_bearer_ok(const sc_http_request *r, const char *token)
{
	const char *h = sc_http_header(r, "Authorization");
	if (!h || !token || strncasecmp(h, "Bearer ", 7) != 0)
		return false;
	h += 7;
	size_t a = strlen(h), b = strlen(token);
	return a == b && b > 0 && CRYPTO_memcmp(h, token, b) == 0;
}

void sc_http_add_header(sc_http_request *r, const char *name, const char *value)
{
	if (r->n_headers >= MAX_EXTRA_HEADERS)
		return;
	r->headers[r->n_headers].name = strdup(name);
	r->headers[r->n_headers].value = strdup(value);
	r->n_headers++;
}

static void set_response(sc_http_request *r, unsigned status, const char *mime,
			 struct MHD_Response *resp)
{
	if (!resp) {
		/* Out of memory: an empty 500 is all we can do. */
		resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
		status = 500;
		if (!resp)
			return;
	}
	if (mime)
		MHD_add_response_header(resp, "Content-Type", mime);
	for (unsigned i = 0; i < r->n_headers; i++)
		if (r->headers[i].name && r->headers[i].value)
			MHD_add_response_header(resp, r->headers[i].name, r->headers[i].value);
	if (r->response)
		MHD_destroy_response(r->response);
	r->response = resp;
	r->status = status;
	r->suspended = false;
	if (r->mhd_suspended) {
		r->mhd_suspended = false;
		MHD_resume_connection(r->conn);
	}
}

void sc_http_reply(sc_http_request *r, unsigned status, const char *mime, const void *data,
		   size_t len)
{
	set_response(r, status, mime,
		     MHD_create_response_from_buffer(len, (void *)data, MHD_RESPMEM_MUST_COPY));
}

void sc_http_reply_static(sc_http_request *r, unsigned status, const char *mime, const void *data,
			  size_t len, void (*free_fn)(void *), void *cls)
{
	struct MHD_Response *resp;
	if (free_fn)
		resp = MHD_create_response_from_buffer_with_free_callback_cls(len, (void *)data,
									      free_fn, cls);
	else
		resp = MHD_create_response_from_buffer(len, (void *)data, MHD_RESPMEM_PERSISTENT);
	if (!resp && free_fn)
		free_fn(cls);
	set_response(r, status, mime, resp);
}

void sc_http_reply_iov(sc_http_request *r, unsigned status, const char *mime,
		       const struct iovec *iov, size_t n, void (*free_fn)(void *), void *cls)
{
	struct MHD_IoVec *mv = NULL;
	struct MHD_Response *resp = NULL;

	/* struct MHD_IoVec is {const void *, size_t}: converted, not cast. */
	if (n <= 0xffffu && (mv = calloc(n ? n : 1, sizeof(*mv)))) {
		for (size_t i = 0; i < n; i++) {
			mv[i].iov_base = iov[i].iov_base;
			mv[i].iov_len = iov[i].iov_len;
		}
		resp = MHD_create_response_from_iovec(mv, (unsigned)n, free_fn, cls);
		free(mv);
	}
	if (!resp && free_fn)
		free_fn(cls);
	set_response(r, status, mime, resp);
}

void sc_http_reply_fd(sc_http_request *r, unsigned status, const char *mime, int fd, uint64_t len)
{
	struct MHD_Response *resp = MHD_create_response_from_fd64(len, fd);

	if (!resp)
		close(fd);
	set_response(r, status, mime, resp);
}

void sc_http_reply_json(sc_http_request *r, unsigned status, json_t *v)
{
	size_t len = 0;
	char *s = v ? sc_json_dump(v, &len) : NULL;
	json_decref(v);
	if (!s) {
		sc_http_reply(r, 500, "application/json", "{\"error\":\"out of memory\"}\n", 26);
		return;
	}
	/* A trailing newline makes curl output readable. */
	char *nl = realloc(s, len + 2);
	if (nl) {
		s = nl;
		s[len++] = '\n';
		s[len] = 0;
	}
	sc_http_reply_static(r, status, "application/json", s, len, free, s);
}

void sc_http_reply_error(sc_http_request *r, unsigned status, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	sc_http_reply_json(r, status, json_pack("{s:s}", "error", msg));
}

void sc_http_suspend(sc_http_request *r)
{
	if (!r->response)
		r->suspended = true;
}
