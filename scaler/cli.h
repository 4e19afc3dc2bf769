/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cli.h - what the stagecast CLI's files share: the parsed options, the
 * error exit, and `stagecast up` (cli_up.c).
 */
#ifndef SC_CLI_H
#define SC_CLI_H

#include <stdbool.h>

typedef struct {
	const char *scaler, *token_file;
	bool json;
	/* start */
	const char *conference, *to, *profile, *layout, *idem_key;
	bool takeover;
	/* pool, up */
	int min, max, spare; /* -1: not given */
	/* up */
	const char *bin_dir, *state_dir, *rtmp, *http, *api;
	bool api_set;
} cli_opts;

extern cli_opts o;

/* Print "stagecast: MESSAGE" to stderr and exit with code. */
void cli_die(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));

/* `stagecast up`: runs the relay and the scaler until SIGINT/SIGTERM.
 * argv0 locates the other binaries. Returns the exit status. */
int cli_up(const char *argv0);

#endif
