/* SPDX-License-Identifier: Apache-2.0 */
/*
 * agent_capture.c - stagecast-agent's capture processes: spawn one in its
 * own process group (output to our stderr, each line prefixed with the
 * stream name, or to a log file), stop it (SIGTERM, SIGKILL later), turn
 * its exit status into a reported state, and poll its /v1/status.
 *
 * Exit statuses (stagecast-capture --help): 0 is "stopped"; 2 (bad
 * options), 3 (no such room), 4 (denied) and 126/127 (cannot run it) are
 * "failed", for good; anything else, signals included, restarts with
 * backoff (1 s doubling to 30 s, back to 1 s after a minute of running).
 * A restart takes the newest output URL the scaler sent, so 7 (the relay
 * refused the token, e.g. expired) comes back with a fresh token while
 * the assignment stands.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "buf.h"
#include "log.h"
#include "url.h"

#define RESTART_MIN_MS 1000
#define RESTART_MAX_MS 30000
#define STABLE_MS      60000 /* a capture that ran this long restarts fast again */

const char *const sc_agent_cap_state_names[] = {"starting", "live", "stopped", "failed"};

int64_t sc_agent_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

bool sc_agent_cap_terminal(const sc_agent_capture *c)
{
	return c->state == AGENT_CAP_STOPPED || c->state == AGENT_CAP_FAILED;
}

void sc_agent_cap_clear(sc_agent_capture *c)
{
	free(c->conference);
	free(c->output);
	free(c->profile);
	free(c->layout);
	if (c->out_fd >= 0)
		close(c->out_fd);
	memset(c, 0, sizeof(*c));
	c->out_fd = -1;
}

/* ---- capture output */

static void emit_line(sc_agent_capture *c, const char *p, size_t n)
{
	char buf[SC_AGENT_LINE_MAX + 200];
	int k = snprintf(buf, sizeof(buf), "agent[%s]: | %.*s\n", c->name, (int)n, p);
	if (k > 0)
		(void)!write(STDERR_FILENO, buf, (size_t)k < sizeof(buf) ? (size_t)k : sizeof(buf));
}

/* Read what the capture wrote; returns false at EOF or error. */
bool sc_agent_cap_read_output(sc_agent_capture *c)
{
	char tmp[4096];
	for (;;) {
		ssize_t n = read(c->out_fd, tmp, sizeof(tmp));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN;
		if (n == 0)
			break;
		for (ssize_t i = 0; i < n; i++) {
			if (tmp[i] == '\n' || c->line_len == sizeof(c->line)) {
				emit_line(c, c->line, c->line_len);
				c->line_len = 0;
				if (tmp[i] == '\n')
					continue;
			}
			c->line[c->line_len++] = tmp[i];
		}
	}
	if (c->line_len)
		emit_line(c, c->line, c->line_len);
	c->line_len = 0;
	return false;
}

static void close_output(sc_agent_capture *c)
{
	if (c->out_fd < 0)
		return;
	sc_agent_cap_read_output(c);
	close(c->out_fd);
	c->out_fd = -1;
}

/* ---- spawning and stopping */

static int free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(sa);
	int port = -1;
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
		port = ntohs(sa.sin_port);
	close(fd);
	return port > 0 ? port : -EADDRNOTAVAIL;
}

void sc_agent_cap_set(sc_agent_capture *c, sc_agent_cap_state st, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->reason, sizeof(c->reason), fmt, ap);
	va_end(ap);
	c->state = st;
	c->dirty = true;
}

void sc_agent_cap_spawn(sc_agent_capture *c, const sc_agent_cap_spawn_cfg *cfg)
{
	char port_arg[32] = "", redacted[SC_URL_MAX];
	const char *argv[20];
	int n = 0, pipefd[2] = {-1, -1}, logfd = -1;

	c->restart_at = 0;
	c->port = cfg->status_port ? cfg->status_port : free_port();
	if (c->port > 0)
		snprintf(port_arg, sizeof(port_arg), "127.0.0.1:%d", c->port);

	argv[n++] = cfg->cmd;
	argv[n++] = "--conference";
	argv[n++] = c->conference;
	argv[n++] = "--output";
	argv[n++] = c->output;
	if (c->profile) {
		argv[n++] = "--profile";
		argv[n++] = c->profile;
	}
	if (c->layout) {
		argv[n++] = "--layout";
		argv[n++] = c->layout;
	}
	if (cfg->bind_address) {
		argv[n++] = "--bind-address";
		argv[n++] = cfg->bind_address;
	}
	if (port_arg[0]) {
		argv[n++] = "--status";
		argv[n++] = port_arg;
	}
	argv[n] = NULL;

	if (cfg->log_dir) {
		char path[PATH_MAX];
		snprintf(path, sizeof(path), "%s/%s.log", cfg->log_dir, c->name);
		logfd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
		if (logfd < 0)
			sc_log_warn(c->name, "cannot open %s: %s; capture output goes to stderr",
				    path, strerror(errno));
	}
	if (logfd < 0 && pipe2(pipefd, O_CLOEXEC) < 0)
		pipefd[0] = pipefd[1] = -1;

	pid_t pid = fork();
	if (pid == 0) {
		sigset_t all;
		sigemptyset(&all);
		sigprocmask(SIG_SETMASK, &all, NULL);
		signal(SIGPIPE, SIG_DFL);
		setpgid(0, 0);
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		int out = logfd >= 0 ? logfd : pipefd[1];
		if (out >= 0) {
			dup2(out, STDOUT_FILENO);
			dup2(out, STDERR_FILENO);
		}
		int devnull = open("/dev/null", O_RDONLY);
		if (devnull >= 0)
			dup2(devnull, STDIN_FILENO);
		execvp(argv[0], (char *const *)argv);
		dprintf(STDERR_FILENO, "cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	if (logfd >= 0)
		close(logfd);
	if (pipefd[1] >= 0)
		close(pipefd[1]);
	if (pid < 0) {
		int e = errno;
		if (pipefd[0] >= 0)
			close(pipefd[0]);
		sc_log_error(c->name, "fork: %s; retry in 1s", strerror(e));
		c->restart_at = sc_agent_now_ms() + RESTART_MIN_MS;
		return;
	}
	setpgid(pid, pid);
	if (pipefd[0] >= 0)
		fcntl(pipefd[0], F_SETFL, O_NONBLOCK);
	c->out_fd = pipefd[0];
	c->pid = pid;
	c->started_at = sc_agent_now_ms();
	c->output_newer = false;
	c->token_refused = false;
	c->next_status_at = c->started_at + SC_AGENT_STATUS_EVERY_MS;
	c->kill_at = 0;
	if (c->state != AGENT_CAP_STARTING || !c->restarts)
		sc_agent_cap_set(c, AGENT_CAP_STARTING, "capture started (pid %d)", (int)pid);
	sc_url_redact(c->output, redacted, sizeof(redacted));
	sc_log_info(c->name, "capture pid %d: %s -> %s (fence %" PRIu64 ", status %s)", (int)pid,
		    c->conference, redacted, c->fence, port_arg[0] ? port_arg : "off");
}

/* Ask a capture to stop; it is reported stopped with why once it exited. */
void sc_agent_cap_stop(sc_agent_capture *c, const char *why)
{
	if (sc_agent_cap_terminal(c))
		return;
	if (!c->stop_wanted) {
		c->stop_wanted = true;
		snprintf(c->stop_why, sizeof(c->stop_why), "%s", why);
	}
	if (!c->pid) { /* waiting to restart: nothing runs */
		c->restart_at = 0;
		sc_agent_cap_set(c, AGENT_CAP_STOPPED, "%s", c->stop_why);
		return;
	}
	if (!c->kill_at) {
		sc_log_info(c->name, "stopping capture pid %d: %s", (int)c->pid, why);
		kill(-c->pid, SIGTERM);
		c->kill_at = sc_agent_now_ms() + SC_AGENT_KILL_AFTER_MS;
	}
}

static const char *exit_meaning(int code)
{
	switch (code) {
	case 0:
		return "stopped";
	case 1:
		return "runtime failure";
	case 2:
		return "bad options or configuration";
	case 3:
		return "the room or WHEP endpoint does not exist";
	case 4:
		return "access denied";
	case 5:
		return "the conference server cannot be reached";
	case 6:
		return "the conference server said something unusable";
	case 7:
		return "the relay refused the publish token (restarts with the newest one)";
	case 126:
	case 127:
		return "cannot run the capture command";
	default:
		return "failed";
	}
}

void sc_agent_cap_exited(sc_agent_capture *c, int status)
{
	char how[160];
	int64_t now = sc_agent_now_ms();
	bool permanent = false;

	if (WIFEXITED(status)) {
		int code = WEXITSTATUS(status);
		snprintf(how, sizeof(how), "exit %d: %s", code, exit_meaning(code));
		permanent = code == 0 || (code >= 2 && code <= 4) || code == 126 || code == 127;
		c->token_refused = code == 7;
		c->refused_at = now;
	} else {
		snprintf(how, sizeof(how), "killed by signal %d (%s)", WTERMSIG(status),
			 strsignal(WTERMSIG(status)));
	}
	close_output(c);
	c->pid = 0;
	c->kill_at = 0;
	if (c->stop_wanted) {
		sc_agent_cap_set(c, AGENT_CAP_STOPPED, "%s (%s)", c->stop_why, how);
	} else if (permanent) {
		bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
		sc_agent_cap_set(c, ok ? AGENT_CAP_STOPPED : AGENT_CAP_FAILED, "capture %s", how);
	} else {
		if (now - c->started_at >= STABLE_MS)
			c->restarts = 0;
		unsigned shift = c->restarts < 5 ? c->restarts : 5;
		int64_t delay = (int64_t)RESTART_MIN_MS << shift;
		if (delay > RESTART_MAX_MS)
			delay = RESTART_MAX_MS;
		c->restarts++;
		c->restart_at = now + delay;
		sc_agent_cap_set(c, AGENT_CAP_STARTING, "capture %s; restart %u in %" PRId64 " ms",
				 how, c->restarts, delay);
	}
	if (sc_agent_cap_terminal(c))
		sc_log_info(c->name, "capture %s: %s", sc_agent_cap_state_names[c->state],
			    c->reason);
	else
		sc_log_warn(c->name, "%s", c->reason);
}

/* ---- capture status */

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
	return sc_buf_append(ud, p, size * n) < 0 ? 0 : size * n;
}

void sc_agent_cap_poll_status(sc_agent_capture *c, CURL *st_curl)
{
	char url[64];
	sc_buf body;
	long code = 0;
	sc_buf_init(&body, 64 * 1024);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/v1/status", c->port);
	curl_easy_setopt(st_curl, CURLOPT_URL, url);
	curl_easy_setopt(st_curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(st_curl, CURLOPT_WRITEDATA, &body);
	if (curl_easy_perform(st_curl) == CURLE_OK &&
	    curl_easy_getinfo(st_curl, CURLINFO_RESPONSE_CODE, &code) == CURLE_OK && code == 200) {
		json_t *st = json_loadb((const char *)body.data, body.len, 0, NULL);
		json_t *out = json_object_get(st, "output");
		if (json_is_true(json_object_get(out, "connected"))) {
			sc_agent_cap_set(c, AGENT_CAP_LIVE, "output connected");
			sc_log_info(c->name, "live: the capture publishes");
		}
		json_decref(st);
	}
	sc_buf_free(&body);
}
