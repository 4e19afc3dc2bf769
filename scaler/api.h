/* SPDX-License-Identifier: Apache-2.0 */
/*
 * api.h - the scaler's HTTP API (scaler/openapi.yaml): validates every
 * request completely, checks bearer tokens and roles, then hands the
 * request to the engine and waits for its answer. Runs on libmicrohttpd's
 * internal thread.
 */
#ifndef SC_API_H
#define SC_API_H

#include <stddef.h>

#include "engine.h"

typedef struct sc_api sc_api;

#define SC_API_BODY_MAX (64 * 1024)

/*
 * tokens_file: lines "operator TOKEN" or "agent TOKEN" ('#' comments; tokens
 * of 16 to 512 characters); NULL for development mode (no tokens, loopback
 * clients only). NULL with a message in err.
 */
sc_api *sc_api_new(const char *tokens_file, char *err, size_t errlen);
/* Serve on addr ("HOST:PORT"), handing requests to e. 0 or a negative
 * errno with a message in err. */
int sc_api_listen(sc_api *a, sc_engine *e, const char *addr, char *err, size_t errlen);
/* Stops serving (waits for the request in progress). Accepts NULL. */
void sc_api_free(sc_api *a);
/* The first agent token of the tokens file, or NULL (for local agents). */
const char *sc_api_agent_token(const sc_api *a);

#endif
