/* SPDX-License-Identifier: Apache-2.0 */
/*
 * agent.h - stagecast-agent's captures: one child process per assigned
 * stream, its output, its state as reported to the scaler, and how it ends.
 * agent.c decides (assignments, stops, self-fencing, restarts' timing);
 * agent_capture.c runs the processes.
 *
 * Single-threaded: everything here is called from the agent's poll loop.
 */
#ifndef SC_AGENT_H
#define SC_AGENT_H

#include <curl/curl.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define SC_AGENT_KILL_AFTER_MS	 10000 /* SIGTERM, then SIGKILL this much later */
#define SC_AGENT_LINE_MAX	 4096
#define SC_AGENT_STATUS_EVERY_MS 500 /* a starting capture's status is polled */

typedef enum {
	AGENT_CAP_STARTING,
	AGENT_CAP_LIVE,
	AGENT_CAP_STOPPED,
	AGENT_CAP_FAILED
} sc_agent_cap_state;

extern const char *const sc_agent_cap_state_names[];

typedef struct {
	bool used;
	char stream[64], name[130]; /* stream: an id below SC_ID_MAX */
	char *conference, *output, *profile, *layout;
	uint64_t fence;
	sc_agent_cap_state state;
	char reason[256];
	pid_t pid; /* 0: not running */
	int out_fd;
	char line[SC_AGENT_LINE_MAX];
	size_t line_len;
	int port;
	unsigned restarts;
	int64_t started_at, restart_at, kill_at, next_status_at; /* monotonic ms, 0: none */
	bool stop_wanted;
	char stop_why[128];
	bool sent_terminal; /* in the body of the heartbeat in flight */
	bool reported;	    /* a heartbeat carried the terminal state */
	bool dirty;	    /* state or reason set since the last heartbeat body */
	bool token_refused; /* it exited 7: restart only with a newer output URL */
	int64_t refused_at; /* when (monotonic ms) */
	bool output_newer;  /* the scaler sent another output URL since the spawn */
} sc_agent_capture;

typedef struct {
	const char *cmd;	  /* the stagecast-capture binary */
	const char *bind_address; /* NULL: none */
	const char *log_dir;	  /* NULL: output to our stderr, prefixed */
	int status_port;	  /* 0: any free loopback port */
} sc_agent_cap_spawn_cfg;

int64_t sc_agent_now_ms(void); /* monotonic */

bool sc_agent_cap_terminal(const sc_agent_capture *c); /* stopped or failed */
/* Free and zero an entry (not a running one: its pid would be forgotten). */
void sc_agent_cap_clear(sc_agent_capture *c);
/* Set state and reason and mark the entry dirty: the agent tells the
 * scaler soon, without waiting for the next regular heartbeat. */
void sc_agent_cap_set(sc_agent_capture *c, sc_agent_cap_state st, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* fork/exec the capture in its own process group; on failure a restart is
 * scheduled in 1 s. */
void sc_agent_cap_spawn(sc_agent_capture *c, const sc_agent_cap_spawn_cfg *cfg);
/* SIGTERM (SIGKILL at kill_at); reported stopped with why once it exited. */
void sc_agent_cap_stop(sc_agent_capture *c, const char *why);
/* The process ended with a waitpid() status: stopped, failed, or a restart
 * scheduled with backoff. */
void sc_agent_cap_exited(sc_agent_capture *c, int status);
/* Drain the output pipe, one prefixed line per line. false at EOF. */
bool sc_agent_cap_read_output(sc_agent_capture *c);
/* GET its /v1/status with curl: live once the output is connected. */
void sc_agent_cap_poll_status(sc_agent_capture *c, CURL *curl);

#endif
