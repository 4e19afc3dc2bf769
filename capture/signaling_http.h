/* SPDX-License-Identifier: Apache-2.0 */
/*
 * signaling_http.h - private to capture/signaling.c, janus.c and whep.c:
 * one blocking HTTP request over a libcurl easy handle with a bounded
 * response body, time limits and an abort flag, so that stop() never waits
 * on a server that hangs. Call from the thread that owns the handle.
 */
#ifndef SC_SIGNALING_HTTP_H
#define SC_SIGNALING_HTTP_H

#include <curl/curl.h>
#include <stdatomic.h>
#include <stddef.h>

#include "buf.h"

#define SC_SIG_HTTP_MAX_BODY (1024 * 1024)

typedef struct {
	const char *method; /* "GET", "POST", "PATCH", "DELETE" */
	const char *url;
	const char *content_type; /* of body; NULL: none */
	const char *accept;	  /* NULL: none */
	const char *bearer;	  /* Authorization: Bearer; NULL: none */
	const char *body;
	size_t body_len;
	long timeout_ms; /* whole request */
	long connect_timeout_ms;
	const atomic_bool *abort; /* checked while the request runs; NULL: never */
} sc_sig_http_req;

typedef struct {
	long status;
	sc_buf body; /* bounded by SC_SIG_HTTP_MAX_BODY; NUL-terminated when non-empty */
	char location[2048];
	char content_type[128];
	char error[CURL_ERROR_SIZE];
} sc_sig_http_resp;

/* Once per process, any thread. 0 or -EIO. */
int sc_sig_http_global_init(void);

/*
 * 0 when a response arrived (any status). Otherwise, with resp->error set:
 * -ECONNREFUSED (refused, DNS, no route), -ETIMEDOUT, -ECANCELED (abort
 * flag), -EMSGSIZE (body over the bound), -EIO. resp must be initialised
 * with sc_sig_http_resp_init and released with sc_sig_http_resp_free.
 */
int sc_sig_http(CURL *c, const sc_sig_http_req *req, sc_sig_http_resp *resp);
void sc_sig_http_resp_init(sc_sig_http_resp *resp);
void sc_sig_http_resp_free(sc_sig_http_resp *resp);

/* Milliseconds on CLOCK_MONOTONIC. */
long long sc_sig_now_ms(void);

#endif
