/* SPDX-License-Identifier: Apache-2.0 */
/*
 * capture.h - one capture session: a conference in (signalling, one
 * WebRTC transport, a track per received stream, a source per
 * participant), one mixed RTMP stream out (sc_mixer).
 *
 * The session lives on the network thread: the GMainContext it is given
 * (libnice, DTLS/SRTP, RTP and RTCP, timers). Signalling runs its own
 * thread and posts its events here. The mixer has its own threads.
 */
#ifndef SC_CAPTURE_H
#define SC_CAPTURE_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "json.h"
#include "mixer.h"

/* Exit codes (also in --help). */
enum {
	SC_EXIT_OK = 0,
	SC_EXIT_RUNTIME = 1,	 /* anything else that went wrong */
	SC_EXIT_CONFIG = 2,	 /* bad flags or config */
	SC_EXIT_NOT_FOUND = 3,	 /* no such room / WHEP endpoint */
	SC_EXIT_DENIED = 4,	 /* wrong pin, refused token */
	SC_EXIT_UNREACHABLE = 5, /* the conference server cannot be reached */
	SC_EXIT_PROTOCOL = 6,	 /* the server said something we cannot use */
	SC_EXIT_REFUSED = 7,	 /* the RTMP server refused the publish token for good */
};

typedef struct {
	const char *conference; /* janus://HOST:PORT/ROOM[?pin=], whep+http(s)://... */
	const char *output;	/* rtmp://RELAY/live/NAME?token=... */
	sc_profile profile;
	sc_layout layout;
	const char *bind_address; /* ICE: gather on this address only */
	const char *stun_server, *turn_server, *turn_user, *turn_password;
	const char *bearer_token; /* WHEP */
	const char *display;	  /* our name in the room */
	int64_t empty_timeout_ms; /* stop after the room was empty this long; 0 never */
	int64_t max_duration_ms;  /* stop after this long; 0 never */
	int64_t playout_delay_ms; /* mixer renders this far behind now */
} sc_capture_config;

typedef struct sc_capture sc_capture;

/* Starts the mixer (slate until someone joins) and signalling. NULL with a
 * message in err; *ret_exit says which exit code that failure deserves. */
sc_capture *sc_capture_new(GMainContext *ctx, const sc_capture_config *cfg, int *ret_exit,
			   char *err, size_t errlen);
/* Leave the room, flush the encoder, close RTMP. */
void sc_capture_free(sc_capture *c);

/* Ask the session to end (SIGTERM): on_done runs on the network thread. */
void sc_capture_stop(sc_capture *c, const char *why);
void sc_capture_on_done(sc_capture *c, void (*fn)(void *ud, int exit_code, const char *why),
			void *ud);

/* /v1/status as JSON (network thread; new reference). */
json_t *sc_capture_status(sc_capture *c);
/* Prometheus text (network thread; malloc'd). */
char *sc_capture_metrics(sc_capture *c, size_t *ret_len);

#endif
