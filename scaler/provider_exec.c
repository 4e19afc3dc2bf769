/* SPDX-License-Identifier: Apache-2.0 */
/*
 * provider_exec.c - one command per action:
 *
 *   PATH set-desired N     the pool should have N instances
 *   PATH protect ID        keep ID from scale-in (it runs a stream)
 *   PATH unprotect ID      ID may be scaled in again
 *   PATH terminate ID      stop ID for good (and shrink the pool by one)
 *
 * Exit status 0 is success; stdout is ignored, stderr goes to the
 * scaler's log. A command that runs longer than the bound is killed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "provider.h"

typedef struct {
	char *path;
	int64_t timeout_ms;
} exec_priv;

static int exec_init(void *priv, const char *arg, const sc_provider_env *env, char *err,
		     size_t errlen)
{
	exec_priv *p = priv;

	if (!arg || !arg[0]) {
		snprintf(err, errlen, "exec provider: no command (use exec:PATH)");
		return -EINVAL;
	}
	if (access(arg, X_OK) < 0) {
		int e = errno;
		snprintf(err, errlen, "exec provider: %s: %s", arg, strerror(e));
		return -e;
	}
	p->path = strdup(arg);
	p->timeout_ms = env && env->exec_timeout_ms > 0 ? env->exec_timeout_ms : 60000;
	if (!p->path) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	return 0;
}

static void exec_deinit(void *priv)
{
	exec_priv *p = priv;
	free(p->path);
	p->path = NULL;
}

static int run2(exec_priv *p, const char *action, const char *arg, char *err, size_t errlen)
{
	char *argv[] = {p->path, (char *)action, (char *)arg, NULL};
	return sc_provider_run(argv, p->timeout_ms, err, errlen);
}

static int exec_set_desired(void *priv, int n, char (*started)[SC_ID_MAX], size_t max,
			    size_t *ret_n, char *err, size_t errlen)
{
	char num[16];

	snprintf(num, sizeof(num), "%d", n < 0 ? 0 : n);
	int rc = run2(priv, "set-desired", num, err, errlen);
	if (rc == 0)
		*ret_n = 0;
	return rc;
}

static int exec_protect(void *priv, const char *id, bool on, char *err, size_t errlen)
{
	return run2(priv, on ? "protect" : "unprotect", id, err, errlen);
}

static int exec_terminate(void *priv, const char *id, char *err, size_t errlen)
{
	return run2(priv, "terminate", id, err, errlen);
}

const sc_provider_ops sc_provider_exec = {
	.name = "exec",
	.priv_size = sizeof(exec_priv),
	.names_instances = false,
	.converges = false,
	.init = exec_init,
	.deinit = exec_deinit,
	.set_desired = exec_set_desired,
	.protect = exec_protect,
	.terminate = exec_terminate,
};
