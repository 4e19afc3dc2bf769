/* SPDX-License-Identifier: Apache-2.0 */
/*
 * provider.h - where capture instances come from. An ops table with three
 * implementations:
 *
 *   local      stagecast-agent child processes on this machine, named
 *              "local-1", "local-2", ...; terminate kills the process
 *   exec:PATH  one command per action, its exit status checked, stdout
 *              ignored, bounded in time:
 *                PATH set-desired N | protect ID | unprotect ID | terminate ID
 *              (deploy/aws-asg-provider does these for an AWS Auto Scaling
 *              Group); instances name themselves in their heartbeats
 *   none       no scaling: agents are started by someone else
 *
 * Every call blocks and is made from the scaler's engine thread only.
 */
#ifndef SC_PROVIDER_H
#define SC_PROVIDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

/* What the local provider needs to start agents. */
typedef struct {
	const char *agent_cmd;	       /* the stagecast-agent binary */
	const char *scaler_url;	       /* "http://127.0.0.1:8090" */
	const char *capture_cmd;       /* passed as --capture-cmd, or NULL */
	const char *agent_token;       /* written to a private file for --token-file, or NULL */
	const char *const *agent_args; /* extra arguments, passed through as given */
	size_t n_agent_args;
	int slots;		 /* --slots */
	int64_t exec_timeout_ms; /* exec: longest a command may run (default 60 s) */
} sc_provider_env;

#define SC_PROVIDER_MAX_STARTED 64

typedef struct {
	const char *name; /* "local", "exec", "none" */
	size_t priv_size;
	/* Instances the provider names itself (local) are the only ones it
	 * may terminate; exec providers act on any instance id. */
	bool names_instances;
	/* set_desired is cheap and idempotent: call it every period. */
	bool converges;

	/* arg: what follows "exec:" (the command path), or NULL. */
	int (*init)(void *priv, const char *arg, const sc_provider_env *env, char *err,
		    size_t errlen);
	void (*deinit)(void *priv); /* always called, also after a failed init */

	/* An instance id the store already knows (at start-up), so that new
	 * names do not reuse it. May be NULL. */
	void (*seen)(void *priv, const char *id);
	/*
	 * The pool should have n instances. Writes the ids of instances it
	 * started now (local) to started[0..*ret_n), at most max of them.
	 */
	int (*set_desired)(void *priv, int n, char (*started)[SC_ID_MAX], size_t max, size_t *ret_n,
			   char *err, size_t errlen);
	int (*protect)(void *priv, const char *id, bool on, char *err, size_t errlen);
	int (*terminate)(void *priv, const char *id, char *err, size_t errlen);
	/* Reap children; write ids of instances whose process ended. May be NULL. */
	void (*poll)(void *priv, char (*ended)[SC_ID_MAX], size_t max, size_t *ret_n);
} sc_provider_ops;

extern const sc_provider_ops sc_provider_local;
extern const sc_provider_ops sc_provider_exec;
extern const sc_provider_ops sc_provider_none;

typedef struct sc_provider sc_provider;

/* "local", "none" or "exec:PATH". NULL with a message in err. */
sc_provider *sc_provider_new(const char *spec, const sc_provider_env *env, char *err,
			     size_t errlen);
void sc_provider_free(sc_provider *p);
const sc_provider_ops *sc_provider_ops_of(const sc_provider *p);
void *sc_provider_priv(sc_provider *p);

/* Run argv[0] with argv, stdin and stdout on /dev/null, stderr inherited;
 * wait at most timeout_ms (then SIGKILL). 0 if it exited 0; -EIO (exit
 * status or signal in err), -ETIMEDOUT, or a negative errno. */
int sc_provider_run(char *const *argv, int64_t timeout_ms, char *err, size_t errlen);

#endif
