/* SPDX-License-Identifier: Apache-2.0 */
/*
 * relay_target.h - the relay's push-target API, as the scaler uses it
 * (libcurl, blocking; 2 s per change, 1.5 s for the list):
 *
 *   GET    API/v1/streams                    -> 200 {"streams": [{"name", "targets": [...]}]}
 *   POST   API/v1/streams/NAME/targets {"url": URL}  -> 201 {"id": ...}
 *                                               (409 "... (ID)" when URL already is one)
 *   DELETE API/v1/streams/NAME/targets/ID            -> 204
 *
 * Error messages never contain the target URL (it carries a stream key).
 * Any thread; no shared state.
 */
#ifndef SC_RELAY_TARGET_H
#define SC_RELAY_TARGET_H

#include <stdbool.h>
#include <stddef.h>

/* One runtime push target the relay has. */
typedef struct {
	char name[160]; /* relay stream name */
	char id[32];	/* target id ("t3") */
} sc_relay_target_ref;

/* 0 with the target's id in ret_id (also when the relay already had it);
 * *ret_created (may be NULL) says whether this call made it. */
int sc_relay_target_add(const char *api, const char *token, const char *name, const char *url,
			char *ret_id, size_t idlen, bool *ret_created, char *err, size_t errlen);
/* 0, also when the relay no longer knows the target. */
int sc_relay_target_del(const char *api, const char *token, const char *name, const char *id,
			char *err, size_t errlen);
/* One GET of the relay's streams: 0 with every runtime push target (the
 * relay's template targets are left out) in *ret (malloc'd, NULL when there
 * is none; the caller frees) and their number in *ret_n. -EIO when the relay
 * does not answer or answers an error, -EBADMSG for a body that is not the
 * relay's stream list. */
int sc_relay_targets_list(const char *api, const char *token, sc_relay_target_ref **ret,
			  size_t *ret_n, char *err, size_t errlen);

#endif
