/* SPDX-License-Identifier: Apache-2.0 */
/*
 * provider_local.c - capture instances as stagecast-agent child processes
 * on this machine:
 *
 *   AGENT --scaler URL --instance-id local-N --slots S [--token-file F]
 *         [--capture-cmd PATH] [AGENT-ARG...]
 *
 * Each agent runs in its own process group (its captures with it), dies
 * with the scaler (PR_SET_PDEATHSIG), and is stopped by terminate with
 * SIGTERM to the group, SIGKILL 5 s later if it is still there.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "provider.h"

#define MAX_CHILDREN  256
#define KILL_AFTER_MS 5000
#define MAX_ARGS      64

typedef struct {
	char id[SC_ID_MAX];
	pid_t pid;
	int64_t term_ms; /* when SIGTERM was sent; 0 if not */
} child;

typedef struct {
	char *argv[MAX_ARGS + 16];
	int id_arg; /* index of the instance id in argv */
	char token_file[64];
	child children[MAX_CHILDREN];
	size_t n;
	unsigned next_index;
} local_priv;

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int add_arg(local_priv *p, int *n, const char *s)
{
	if (*n >= (int)(sizeof(p->argv) / sizeof(p->argv[0])) - 1)
		return -E2BIG;
	p->argv[*n] = strdup(s);
	if (!p->argv[*n])
		return -ENOMEM;
	(*n)++;
	return 0;
}

static int write_token_file(local_priv *p, const char *token, char *err, size_t errlen)
{
	snprintf(p->token_file, sizeof(p->token_file), "/tmp/stagecast-agent-token.XXXXXX");
	int fd = mkstemp(p->token_file); /* 0600 */
	if (fd < 0) {
		int e = errno;
		snprintf(err, errlen, "local provider: token file: %s", strerror(e));
		p->token_file[0] = 0;
		return -e;
	}
	size_t len = strlen(token);
	ssize_t w = write(fd, token, len);
	close(fd);
	if (w != (ssize_t)len) {
		snprintf(err, errlen, "local provider: cannot write the token file");
		return -EIO;
	}
	return 0;
}

static int local_init(void *priv, const char *arg, const sc_provider_env *env, char *err,
		      size_t errlen)
{
	local_priv *p = priv;
	char slots[16];
	int n = 0, rc = 0;

	p->next_index = 1;
	if (!env || !env->agent_cmd || !env->scaler_url) {
		snprintf(err, errlen, "local provider: no agent command");
		return -EINVAL;
	}
	if (env->n_agent_args > MAX_ARGS) {
		snprintf(err, errlen, "local provider: at most %d --agent-arg", MAX_ARGS);
		return -E2BIG;
	}
	snprintf(slots, sizeof(slots), "%d", env->slots > 0 ? env->slots : 1);
	rc = rc ?: add_arg(p, &n, env->agent_cmd);
	rc = rc ?: add_arg(p, &n, "--scaler");
	rc = rc ?: add_arg(p, &n, env->scaler_url);
	rc = rc ?: add_arg(p, &n, "--instance-id");
	p->id_arg = n;
	rc = rc ?: add_arg(p, &n, "local-0"); /* replaced per child */
	rc = rc ?: add_arg(p, &n, "--slots");
	rc = rc ?: add_arg(p, &n, slots);
	if (!rc && env->agent_token) {
		rc = write_token_file(p, env->agent_token, err, errlen);
		rc = rc ?: add_arg(p, &n, "--token-file");
		rc = rc ?: add_arg(p, &n, p->token_file);
	}
	if (!rc && env->capture_cmd) {
		rc = add_arg(p, &n, "--capture-cmd");
		rc = rc ?: add_arg(p, &n, env->capture_cmd);
	}
	for (size_t i = 0; !rc && i < env->n_agent_args; i++)
		rc = add_arg(p, &n, env->agent_args[i]);
	if (rc < 0 && !err[0])
		snprintf(err, errlen, "local provider: %s", strerror(-rc));
	return rc;
}

static void signal_child(child *c, int sig)
{
	kill(-c->pid, sig);
	kill(c->pid, sig);
}

static void reap(local_priv *p, char (*ended)[SC_ID_MAX], size_t max, size_t *ret_n)
{
	int64_t now = mono_ms();
	size_t k = 0;

	for (size_t i = 0; i < p->n;) {
		child *c = &p->children[i];
		int status;
		pid_t r = waitpid(c->pid, &status, WNOHANG);
		if (r == c->pid || (r < 0 && errno == ECHILD)) {
			kill(-c->pid, SIGKILL); /* captures it left behind */
			if (ended && k < max)
				snprintf(ended[k++], SC_ID_MAX, "%s", c->id);
			p->children[i] = p->children[--p->n];
			continue;
		}
		if (c->term_ms && now - c->term_ms > KILL_AFTER_MS)
			signal_child(c, SIGKILL);
		i++;
	}
	if (ret_n)
		*ret_n = k;
}

static void local_deinit(void *priv)
{
	local_priv *p = priv;

	for (size_t i = 0; i < p->n; i++)
		signal_child(&p->children[i], SIGTERM);
	int64_t deadline = mono_ms() + 3000;
	while (p->n && mono_ms() < deadline) {
		reap(p, NULL, 0, NULL);
		if (p->n)
			usleep(20000);
	}
	for (size_t i = 0; i < p->n; i++)
		signal_child(&p->children[i], SIGKILL);
	while (p->n) {
		waitpid(p->children[p->n - 1].pid, NULL, 0);
		p->n--;
	}
	if (p->token_file[0])
		unlink(p->token_file);
	for (size_t i = 0; p->argv[i]; i++)
		free(p->argv[i]);
	memset(p->argv, 0, sizeof(p->argv));
}

static void local_seen(void *priv, const char *id)
{
	local_priv *p = priv;
	unsigned v;
	char tail;

	if (sscanf(id, "local-%u%c", &v, &tail) == 1 && v >= p->next_index && v < 1000000000u)
		p->next_index = v + 1;
}

static int spawn(local_priv *p, char *id_out, char *err, size_t errlen)
{
	char id[SC_ID_MAX];

	if (p->n >= MAX_CHILDREN) {
		snprintf(err, errlen, "local provider: at most %d agents", MAX_CHILDREN);
		return -ENOSPC;
	}
	snprintf(id, sizeof(id), "local-%u", p->next_index);
	char *saved = p->argv[p->id_arg];
	p->argv[p->id_arg] = id;
	pid_t pid = fork();
	if (pid == 0) {
		setpgid(0, 0);
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		/* The scaler blocks SIGTERM in its threads and ignores SIGPIPE. */
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		int fd = open("/dev/null", O_RDONLY);
		if (fd >= 0) {
			dup2(fd, 0);
			if (fd > 0)
				close(fd);
		}
		execv(p->argv[0], p->argv);
		_exit(127);
	}
	p->argv[p->id_arg] = saved;
	if (pid < 0) {
		int e = errno;
		snprintf(err, errlen, "local provider: fork: %s", strerror(e));
		return -e;
	}
	p->next_index++;
	child *c = &p->children[p->n++];
	snprintf(c->id, sizeof(c->id), "%s", id);
	c->pid = pid;
	c->term_ms = 0;
	memcpy(id_out, id, SC_ID_MAX);
	return 0;
}

static int local_set_desired(void *priv, int n, char (*started)[SC_ID_MAX], size_t max,
			     size_t *ret_n, char *err, size_t errlen)
{
	local_priv *p = priv;
	size_t alive = 0, k = 0;
	int rc = 0;

	reap(p, NULL, 0, NULL);
	for (size_t i = 0; i < p->n; i++)
		if (!p->children[i].term_ms)
			alive++;
	while (n > 0 && alive < (size_t)n && k < max) {
		rc = spawn(p, started[k], err, errlen);
		if (rc < 0)
			break;
		k++;
		alive++;
	}
	*ret_n = k;
	return k ? 0 : rc;
}

static int local_protect(void *priv, const char *id, bool on, char *err, size_t errlen)
{
	return 0; /* nothing scales this machine in behind our back */
}

static int local_terminate(void *priv, const char *id, char *err, size_t errlen)
{
	local_priv *p = priv;

	for (size_t i = 0; i < p->n; i++) {
		child *c = &p->children[i];
		if (strcmp(c->id, id))
			continue;
		if (!c->term_ms) {
			signal_child(c, SIGTERM);
			c->term_ms = mono_ms();
			if (!c->term_ms)
				c->term_ms = 1;
		}
		return 0;
	}
	snprintf(err, errlen, "local provider: no agent \"%s\" runs here", id);
	return -ENOENT;
}

static void local_poll(void *priv, char (*ended)[SC_ID_MAX], size_t max, size_t *ret_n)
{
	reap(priv, ended, max, ret_n);
}

const sc_provider_ops sc_provider_local = {
	.name = "local",
	.priv_size = sizeof(local_priv),
	.names_instances = true,
	.converges = true,
	.init = local_init,
	.deinit = local_deinit,
	.seen = local_seen,
	.set_desired = local_set_desired,
	.protect = local_protect,
	.terminate = local_terminate,
	.poll = local_poll,
};
