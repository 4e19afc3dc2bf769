/* SPDX-License-Identifier: Apache-2.0 */
/*
 * provider.c - picking a provider from its spec, the "none" provider, and
 * running a command with a time bound (exec provider, local agents' exit).
 */
#include "provider.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct sc_provider {
	const sc_provider_ops *ops;
	void *priv;
};

sc_provider *sc_provider_new(const char *spec, const sc_provider_env *env, char *err, size_t errlen)
{
	const sc_provider_ops *ops;
	const char *arg = NULL;

	if (!spec || !strcmp(spec, "local")) {
		ops = &sc_provider_local;
	} else if (!strcmp(spec, "none")) {
		ops = &sc_provider_none;
	} else if (!strncmp(spec, "exec:", 5) && spec[5]) {
		ops = &sc_provider_exec;
		arg = spec + 5;
	} else {
		snprintf(err, errlen, "unknown provider \"%.64s\": use local, none or exec:PATH",
			 spec);
		return NULL;
	}
	sc_provider *p = calloc(1, sizeof(*p));
	if (!p)
		goto nomem;
	p->ops = ops;
	p->priv = calloc(1, ops->priv_size ? ops->priv_size : 1);
	if (!p->priv)
		goto nomem;
	err[0] = 0;
	if (ops->init(p->priv, arg, env, err, errlen) < 0) {
		if (!err[0])
			snprintf(err, errlen, "%s provider: cannot start", ops->name);
		goto fail;
	}
	return p;
nomem:
	snprintf(err, errlen, "out of memory");
fail:
	sc_provider_free(p);
	return NULL;
}

void sc_provider_free(sc_provider *p)
{
	if (!p)
		return;
	if (p->priv) {
		p->ops->deinit(p->priv);
		free(p->priv);
	}
	free(p);
}

const sc_provider_ops *sc_provider_ops_of(const sc_provider *p)
{
	return p->ops;
}

void *sc_provider_priv(sc_provider *p)
{
	return p->priv;
}

/* ---- none: the pool is whatever agents show up */

static int none_init(void *priv, const char *arg, const sc_provider_env *env, char *err,
		     size_t errlen)
{
	return 0;
}

static void none_deinit(void *priv) {}

static int none_set_desired(void *priv, int n, char (*started)[SC_ID_MAX], size_t max,
			    size_t *ret_n, char *err, size_t errlen)
{
	*ret_n = 0;
	return 0;
}

static int none_protect(void *priv, const char *id, bool on, char *err, size_t errlen)
{
	return 0;
}

static int none_terminate(void *priv, const char *id, char *err, size_t errlen)
{
	snprintf(err, errlen, "the none provider terminates nothing");
	return -ENOTSUP;
}

const sc_provider_ops sc_provider_none = {
	.name = "none",
	.names_instances = true, /* it names none, so it may terminate none */
	.converges = false,
	.init = none_init,
	.deinit = none_deinit,
	.set_desired = none_set_desired,
	.protect = none_protect,
	.terminate = none_terminate,
};

/* ---- running a command */

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int sc_provider_run(char *const *argv, int64_t timeout_ms, char *err, size_t errlen)
{
	int status;
	pid_t pid = fork();

	if (pid < 0) {
		int e = errno;
		snprintf(err, errlen, "fork: %s", strerror(e));
		return -e;
	}
	if (pid == 0) {
		/* Only async-signal-safe calls from here to exec. */
		int fd = open("/dev/null", O_RDWR);
		if (fd >= 0) {
			dup2(fd, 0);
			dup2(fd, 1);
			if (fd > 2)
				close(fd);
		}
		setpgid(0, 0);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		/* The scaler blocks SIGTERM in its threads and ignores SIGPIPE. */
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		execv(argv[0], argv);
		_exit(127);
	}
	int64_t deadline = mono_ms() + (timeout_ms > 0 ? timeout_ms : 60000);
	unsigned nap_us = 1000;
	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			break;
		if (r < 0 && errno != EINTR) {
			int e = errno;
			snprintf(err, errlen, "waitpid: %s", strerror(e));
			return -e;
		}
		if (mono_ms() >= deadline) {
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
			while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
				;
			snprintf(err, errlen, "%s %s: no answer after %lld ms, killed", argv[0],
				 argv[1] ? argv[1] : "", (long long)timeout_ms);
			return -ETIMEDOUT;
		}
		usleep(nap_us);
		if (nap_us < 20000)
			nap_us *= 2;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
		snprintf(err, errlen, "%s: cannot run it (exit 127)", argv[0]);
	else if (WIFEXITED(status))
		snprintf(err, errlen, "%s %s: exit status %d", argv[0], argv[1] ? argv[1] : "",
			 WEXITSTATUS(status));
	else
		snprintf(err, errlen, "%s %s: killed by signal %d", argv[0], argv[1] ? argv[1] : "",
			 WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	return -EIO;
}
