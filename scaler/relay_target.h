/* SPDX-License-Identifier: Apache-2.0 */
/*
 * relay_target.h - the relay's push-target API, as the scaler uses it
 * (libcurl, blocking, 2 s per call):
 *
 *   POST   API/v1/streams/NAME/targets {"url": URL}  -> 201 {"id": ...}
 *   DELETE API/v1/streams/NAME/targets/ID            -> 204
 *
 * Error messages never contain the target URL (it carries a stream key).
 */
#ifndef SC_RELAY_TARGET_H
#define SC_RELAY_TARGET_H

#include <stddef.h>

/* 0 with the target's id in ret_id (also when the relay already had it). */
int sc_relay_target_add(const char *api, const char *token, const char *name, const char *url,
			char *ret_id, size_t idlen, char *err, size_t errlen);
/* 0, also when the relay no longer knows the target. */
int sc_relay_target_del(const char *api, const char *token, const char *name, const char *id,
			char *err, size_t errlen);

#endif
