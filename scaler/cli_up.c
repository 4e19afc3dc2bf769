/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cli_up.c - `stagecast up`: the whole appliance on one machine, in the
 * foreground. Starts stagecast-relay and stagecast-scaler (SQLite store,
 * local provider: the scaler runs stagecast-agent children, which run
 * stagecast-capture) as child processes, waits until both answer
 * /healthz, prints where to publish and watch, and on SIGINT/SIGTERM stops
 * the scaler (which stops its agents and captures) and then the relay, by
 * PID, with SIGKILL after a grace time. If either child dies, the other is
 * stopped too and up exits 1.
 *
 * The children run in their own process groups, so a Ctrl-C on the
 * terminal reaches only us and we stop them in order; they get SIGTERM
 * through PR_SET_PDEATHSIG should we be killed.
 */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "config.h"

#define HEALTH_WAIT_MS 20000
#define SCALER_STOP_MS 20000 /* it stops its agents, they stop their captures (10 s) */
#define RELAY_STOP_MS  10000

typedef struct {
	const char *name;
	pid_t pid;
	int status;
	bool exited;
} child;

static child relay = {.name = "stagecast-relay"}, scaler = {.name = "stagecast-scaler"};

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The directory of the running program. */
static void self_dir(const char *argv0, char *out, size_t len)
{
	char buf[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
	if (n <= 0) {
		snprintf(buf, sizeof(buf), "%s", argv0);
		n = (ssize_t)strlen(buf);
	}
	buf[n] = 0;
	char *slash = strrchr(buf, '/');
	if (slash)
		*slash = 0;
	else
		snprintf(buf, sizeof(buf), ".");
	snprintf(out, len, "%s", buf);
}

/* --bin-dir, else next to us, else the build tree's layout (build/relay/...). */
static char *find_bin(const char *dir, const char *name)
{
	static const char *const subdirs[] = {"", "/../relay", "/../capture", "/../scaler"};
	char path[PATH_MAX + 64];
	size_t n = o.bin_dir ? 1 : sizeof(subdirs) / sizeof(subdirs[0]);
	for (size_t i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s%s/%s", o.bin_dir ? o.bin_dir : dir, subdirs[i],
			 name);
		if (access(path, X_OK) == 0)
			return realpath(path, NULL);
	}
	cli_die(2, "cannot find %s in %s: build it (meson compile -C build) or pass --bin-dir DIR",
		name, o.bin_dir ? o.bin_dir : dir);
}

static void mkdirs(const char *path, mode_t mode)
{
	char tmp[PATH_MAX];
	snprintf(tmp, sizeof(tmp), "%s", path);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		mkdir(tmp, mode);
		*p = '/';
	}
	if (mkdir(tmp, mode) < 0 && errno != EEXIST)
		cli_die(1, "cannot create %s: %s (pass --state-dir DIR)", path, strerror(errno));
}

/* The HMAC secret shared by the scaler (signs) and the relay (verifies). */
static void ensure_secret(const char *path)
{
	unsigned char b[32];
	char hex[65];
	if (access(path, R_OK) == 0)
		return;
	if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b))
		cli_die(1, "getrandom: %s", strerror(errno));
	for (size_t i = 0; i < sizeof(b); i++)
		snprintf(hex + 2 * i, 3, "%02x", b[i]);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 || dprintf(fd, "%s\n", hex) < 0)
		cli_die(1, "cannot write %s: %s", path, strerror(errno));
	close(fd);
}

/* "HOST:PORT" as a loopback-reachable "host:port" for URLs. */
static void reach(const char *flag, const char *addr, char *out, size_t len)
{
	char host[256];
	uint16_t port;
	if (sc_parse_hostport(addr, host, sizeof(host), &port) < 0 || !port)
		cli_die(2, "%s %s: want ADDR:PORT", flag, addr);
	if (!host[0] || !strcmp(host, "0.0.0.0"))
		snprintf(host, sizeof(host), "127.0.0.1");
	else if (!strcmp(host, "::"))
		snprintf(host, sizeof(host), "::1");
	snprintf(out, len, strchr(host, ':') ? "[%s]:%u" : "%s:%u", host, port);
}

static bool port_busy(const char *hostport)
{
	char host[256];
	uint16_t port;
	char serv[8];
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai = NULL;
	bool busy = false;
	if (sc_parse_hostport(hostport, host, sizeof(host), &port) < 0)
		return false;
	snprintf(serv, sizeof(serv), "%u", port);
	if (getaddrinfo(host, serv, &hints, &ai) != 0)
		return false;
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	busy = fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) == 0;
	if (fd >= 0)
		close(fd);
	freeaddrinfo(ai);
	return busy;
}

static void spawn(child *c, char *const *argv)
{
	c->pid = fork();
	if (c->pid < 0)
		cli_die(1, "fork: %s", strerror(errno));
	if (c->pid == 0) {
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		setpgid(0, 0);
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		execv(argv[0], argv);
		fprintf(stderr, "stagecast: cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	setpgid(c->pid, c->pid);
}

static void describe(const child *c, char *out, size_t len)
{
	if (WIFEXITED(c->status))
		snprintf(out, len, "exit status %d", WEXITSTATUS(c->status));
	else
		snprintf(out, len, "signal %d (%s)", WTERMSIG(c->status),
			 strsignal(WTERMSIG(c->status)));
}

static void reap(void)
{
	int st;
	pid_t pid;
	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		child *c = pid == relay.pid ? &relay : pid == scaler.pid ? &scaler : NULL;
		if (c) {
			c->status = st;
			c->exited = true;
		}
	}
}

/* Wait up to ms for a signal in set; returns it, or 0 on timeout. */
static int wait_signal(const sigset_t *set, int64_t ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000};
	int sig = sigtimedwait(set, NULL, &ts);
	return sig < 0 ? 0 : sig;
}

static void stop_child(child *c, const sigset_t *set, int64_t grace_ms)
{
	if (!c->pid || c->exited)
		return;
	kill(c->pid, SIGTERM);
	int64_t end = mono_ms() + grace_ms;
	while (!c->exited && mono_ms() < end) {
		wait_signal(set, 200);
		reap();
	}
	if (!c->exited) {
		fprintf(stderr, "stagecast: %s did not stop within %d s: SIGKILL\n", c->name,
			(int)(grace_ms / 1000));
		kill(c->pid, SIGKILL);
		while (!c->exited) {
			wait_signal(set, 200);
			reap();
		}
	}
}

static void stop_all(const sigset_t *set)
{
	stop_child(&scaler, set, SCALER_STOP_MS);
	stop_child(&relay, set, RELAY_STOP_MS);
}

/* A child died on its own: say so, stop the other, exit 1. */
static void check_children(const sigset_t *set)
{
	char how[96];
	reap();
	child *dead = relay.exited ? &relay : scaler.exited ? &scaler : NULL;
	if (!dead)
		return;
	describe(dead, how, sizeof(how));
	fprintf(stderr, "stagecast: %s exited (%s): see its messages above; stopping the rest\n",
		dead->name, how);
	stop_all(set);
	exit(1);
}

static bool healthy(const char *hostport)
{
	char url[300];
	long code = 0;
	snprintf(url, sizeof(url), "http://%s/healthz", hostport);
	CURL *c = curl_easy_init();
	if (!c)
		return false;
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 1000L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PROXY, "");
	bool ok = curl_easy_perform(c) == CURLE_OK &&
		  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code) == CURLE_OK && code == 200;
	curl_easy_cleanup(c);
	return ok;
}

int cli_up(const char *argv0)
{
	char dir[PATH_MAX], state[PATH_MAX], hls[PATH_MAX + 8], secret[PATH_MAX + 8],
		store[PATH_MAX + 32];
	char rtmp[300], http[300], api[300], relay_base[320], relay_api[320], n_min[16], n_max[16],
		n_spare[16];

	self_dir(argv0, dir, sizeof(dir));
	char *relay_bin = find_bin(dir, "stagecast-relay");
	char *scaler_bin = find_bin(dir, "stagecast-scaler");
	char *agent_bin = find_bin(dir, "stagecast-agent");
	char *capture_bin = find_bin(dir, "stagecast-capture");

	if (o.state_dir)
		snprintf(state, sizeof(state), "%s", o.state_dir);
	else if (geteuid() == 0)
		snprintf(state, sizeof(state), "/var/lib/stagecast");
	else if (getenv("XDG_RUNTIME_DIR") && getenv("XDG_RUNTIME_DIR")[0])
		snprintf(state, sizeof(state), "%s/stagecast", getenv("XDG_RUNTIME_DIR"));
	else
		cli_die(2, "XDG_RUNTIME_DIR is not set: pass --state-dir DIR");
	snprintf(hls, sizeof(hls), "%s/hls", state);
	snprintf(secret, sizeof(secret), "%s/secret", state);
	snprintf(store, sizeof(store), "sqlite:%s/scaler.db", state);
	mkdirs(state, 0750);
	mkdirs(hls, 0750);
	ensure_secret(secret);

	reach("--rtmp", o.rtmp, rtmp, sizeof(rtmp));
	reach("--http", o.http, http, sizeof(http));
	reach("--api", o.api, api, sizeof(api));
	const char *flags[] = {"--rtmp", "--http", "--api"};
	const char *addrs[] = {o.rtmp, o.http, o.api};
	for (int i = 0; i < 3; i++)
		if (port_busy(addrs[i]))
			cli_die(1,
				"%s is already in use (another `stagecast up`, a stagecast daemon "
				"or nginx?): stop it or pass %s ADDR:PORT",
				addrs[i], flags[i]);
	snprintf(relay_base, sizeof(relay_base), "rtmp://%s/live", rtmp);
	snprintf(relay_api, sizeof(relay_api), "http://%s", http);

	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGCHLD);
	sigprocmask(SIG_BLOCK, &set, NULL);
	curl_global_init(CURL_GLOBAL_DEFAULT);

	char *relay_argv[] = {relay_bin,   "--rtmp", (char *)o.rtmp,  "--http", (char *)o.http,
			      "--hls-dir", hls,	     "--secret-file", secret,	NULL};
	spawn(&relay, relay_argv);
	char *scaler_argv[32] = {scaler_bin, "--api",	      (char *)o.api, "--store",
				 store,	     "--provider",    "local",	     "--agent-cmd",
				 agent_bin,  "--capture-cmd", capture_bin,   "--relay",
				 relay_base, "--relay-api",   relay_api,     "--secret-file",
				 secret};
	int n = 17;
	if (o.min >= 0) {
		snprintf(n_min, sizeof(n_min), "%d", o.min);
		scaler_argv[n++] = "--min";
		scaler_argv[n++] = n_min;
	}
	if (o.max >= 0) {
		snprintf(n_max, sizeof(n_max), "%d", o.max);
		scaler_argv[n++] = "--max";
		scaler_argv[n++] = n_max;
	}
	if (o.spare >= 0) {
		snprintf(n_spare, sizeof(n_spare), "%d", o.spare);
		scaler_argv[n++] = "--spare";
		scaler_argv[n++] = n_spare;
	}
	scaler_argv[n] = NULL;
	spawn(&scaler, scaler_argv);

	int64_t end = mono_ms() + HEALTH_WAIT_MS;
	bool relay_ok = false, scaler_ok = false;
	while (!(relay_ok && scaler_ok)) {
		int sig = wait_signal(&set, 200);
		if (sig && sig != SIGCHLD) {
			stop_all(&set);
			return 0;
		}
		check_children(&set);
		relay_ok = relay_ok || healthy(http);
		scaler_ok = scaler_ok || healthy(api);
		if (mono_ms() > end) {
			fprintf(stderr,
				"stagecast: %s did not answer /healthz within %d s; stopping\n",
				!relay_ok ? relay.name : scaler.name, HEALTH_WAIT_MS / 1000);
			stop_all(&set);
			return 1;
		}
	}

	printf("stagecast is up (state in %s)\n"
	       "  scaler API   http://%s          stagecast ls | instances | pool\n"
	       "  publish      rtmp://%s/live/NAME\n"
	       "  watch        http://%s/watch/NAME\n"
	       "  HLS          http://%s/hls/NAME/index.m3u8\n"
	       "Start a stream:\n"
	       "  stagecast start NAME --conference janus://HOST:8088/ROOM --to "
	       "rtmp://INGEST/live/KEY%s%s\n"
	       "Ctrl-C stops everything.\n",
	       state, api, rtmp, http, http, o.api_set ? " --scaler http://" : "",
	       o.api_set ? api : "");
	fflush(stdout);

	for (;;) {
		int sig = wait_signal(&set, 1000);
		check_children(&set);
		if (sig && sig != SIGCHLD) {
			fprintf(stderr, "stagecast: %s: stopping the scaler, then the relay\n",
				strsignal(sig));
			stop_all(&set);
			break;
		}
	}
	free(relay_bin);
	free(scaler_bin);
	free(agent_bin);
	free(capture_bin);
	curl_global_cleanup();
	return 0;
}
