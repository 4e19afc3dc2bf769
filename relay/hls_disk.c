/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hls_disk.c - ordered, bounded disk jobs of one HLS stream on libuv's
 * thread pool.
 *
 * Why uv_queue_work and not a thread per stream: the loop already owns a
 * pool, a stream only needs its own order, and nothing has to be joined at
 * shutdown (the pending request keeps the loop alive until the last batch
 * is back; then the object frees itself and uv_run returns). One batch in
 * flight per stream keeps the order; several streams use the pool's
 * threads in parallel.
 */
#include "hls_disk.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NAME_MAX_LEN 64

enum { JOB_WRITE, JOB_UNLINK, JOB_CLEAN };

struct job {
	struct job *next;
	int op;
	int err; /* set by the worker */
	sc_blob *blob;
	char name[NAME_MAX_LEN];
};

struct sc_hls_disk {
	uv_loop_t *loop;
	uv_work_t work;
	char *dir;
	struct job *head, *tail; /* queued */
	size_t nwrites;		 /* queued writes */
	size_t max_writes;
	struct job *batch; /* in flight, owned by the worker */
	int busy, closing;
	uint64_t errors, drops;
};

static void job_free(struct job *j)
{
	sc_blob_unref(j->blob);
	free(j);
}

static int path_of(const sc_hls_disk *d, const char *prefix, const char *name, char *buf,
		   size_t len)
{
	int n = snprintf(buf, len, "%s/%s%s", d->dir, prefix, name);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static int write_all(int fd, const uint8_t *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int do_write(const sc_hls_disk *d, const struct job *j)
{
	char tmp[4096], dst[4096];
	int fd, rc;

	if (path_of(d, ".tmp-", j->name, tmp, sizeof(tmp)) < 0 ||
	    path_of(d, "", j->name, dst, sizeof(dst)) < 0)
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	rc = write_all(fd, j->blob->data, j->blob->len);
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && rename(tmp, dst) < 0)
		rc = -errno;
	if (rc < 0)
		unlink(tmp);
	return rc;
}

static int ours(const char *n)
{
	size_t len = strlen(n);

	if (strncmp(n, ".tmp-", 5) == 0)
		return 1;
	if (strcmp(n, "index.m3u8") == 0)
		return 1;
	if (strncmp(n, "init-", 5) == 0 && len > 4 && strcmp(n + len - 4, ".mp4") == 0)
		return 1;
	if (len > 4 && strcmp(n + len - 4, ".m4s") == 0)
		return strspn(n, "0123456789.") == len - 4;
	return 0;
}

static int do_clean(const sc_hls_disk *d)
{
	DIR *dp = opendir(d->dir);
	struct dirent *e;
	int fd, rc = 0;

	if (!dp)
		return -errno;
	fd = dirfd(dp);
	while ((e = readdir(dp))) {
		if (ours(e->d_name) && unlinkat(fd, e->d_name, 0) < 0 && errno != ENOENT)
			rc = -errno;
	}
	closedir(dp);
	return rc;
}

static void work_cb(uv_work_t *w)
{
	sc_hls_disk *d = w->data;

	for (struct job *j = d->batch; j; j = j->next) {
		char path[4096];

		switch (j->op) {
		case JOB_WRITE:
			j->err = do_write(d, j);
			break;
		case JOB_UNLINK:
			if (path_of(d, "", j->name, path, sizeof(path)) < 0)
				j->err = -ENAMETOOLONG;
			else if (unlink(path) < 0 && errno != ENOENT)
				j->err = -errno;
			break;
		case JOB_CLEAN:
			j->err = do_clean(d);
			break;
		}
	}
}

static void disk_free(sc_hls_disk *d)
{
	struct job *j;

	while ((j = d->head)) {
		d->head = j->next;
		job_free(j);
	}
	free(d->dir);
	free(d);
}

static void after_cb(uv_work_t *w, int status);

static void submit(sc_hls_disk *d)
{
	if (d->busy || !d->head)
		return;
	d->batch = d->head;
	d->head = d->tail = NULL;
	d->nwrites = 0;
	d->busy = 1;
	if (uv_queue_work(d->loop, &d->work, work_cb, after_cb) < 0) {
		/* Only a NULL callback makes it fail: count and drop. */
		struct job *j;

		while ((j = d->batch)) {
			d->batch = j->next;
			d->errors++;
			job_free(j);
		}
		d->busy = 0;
	}
}

static void after_cb(uv_work_t *w, int status)
{
	sc_hls_disk *d = w->data;
	struct job *j;

	while ((j = d->batch)) {
		d->batch = j->next;
		if (j->err < 0 || status < 0)
			d->errors++;
		job_free(j);
	}
	d->busy = 0;
	submit(d);
	if (d->closing && !d->busy)
		disk_free(d);
}

sc_hls_disk *sc_hls_disk_new(uv_loop_t *loop, const char *dir, size_t max_writes)
{
	sc_hls_disk *d = calloc(1, sizeof(*d));
	struct job *j;

	if (!d)
		return NULL;
	d->loop = loop;
	d->work.data = d;
	d->max_writes = max_writes ? max_writes : 1;
	d->dir = strdup(dir);
	j = calloc(1, sizeof(*j));
	if (!d->dir || !j)
		goto fail;
	j->op = JOB_CLEAN;
	d->head = d->tail = j;
	submit(d);
	return d;
fail:
	free(j);
	if (d)
		free(d->dir);
	free(d);
	return NULL;
}

static void push(sc_hls_disk *d, struct job *j)
{
	if (d->tail)
		d->tail->next = j;
	else
		d->head = j;
	d->tail = j;
}

static int check_name(const char *file)
{
	size_t n = strlen(file);

	if (n == 0 || n >= NAME_MAX_LEN || strchr(file, '/') || file[0] == '.')
		return -EINVAL;
	return 0;
}

int sc_hls_disk_write(sc_hls_disk *d, const char *file, sc_blob *b)
{
	struct job *j, *prev = NULL;

	if (!d || !b || check_name(file) < 0 || d->closing)
		return -EINVAL;
	/* A queued write of the same name (the playlist) is superseded. */
	for (j = d->head; j; prev = j, j = j->next) {
		if (j->op == JOB_WRITE && strcmp(j->name, file) == 0)
			break;
	}
	if (j) {
		if (prev)
			prev->next = j->next;
		else
			d->head = j->next;
		if (d->tail == j)
			d->tail = prev;
		j->next = NULL;
		sc_blob_unref(j->blob);
	} else {
		if (d->nwrites >= d->max_writes) {
			d->drops++;
			return -ENOBUFS;
		}
		j = calloc(1, sizeof(*j));
		if (!j)
			return -ENOMEM;
		j->op = JOB_WRITE;
		snprintf(j->name, sizeof(j->name), "%s", file);
		d->nwrites++;
	}
	j->blob = sc_blob_ref(b);
	push(d, j);
	submit(d);
	return 0;
}

int sc_hls_disk_unlink(sc_hls_disk *d, const char *file)
{
	struct job *j;

	if (!d || check_name(file) < 0 || d->closing)
		return -EINVAL;
	j = calloc(1, sizeof(*j));
	if (!j)
		return -ENOMEM;
	j->op = JOB_UNLINK;
	snprintf(j->name, sizeof(j->name), "%s", file);
	push(d, j);
	submit(d);
	return 0;
}

void sc_hls_disk_stats(const sc_hls_disk *d, uint64_t *ret_errors, uint64_t *ret_drops)
{
	*ret_errors = d ? d->errors : 0;
	*ret_drops = d ? d->drops : 0;
}

void sc_hls_disk_close(sc_hls_disk *d)
{
	if (!d)
		return;
	d->closing = 1;
	submit(d);
	if (!d->busy)
		disk_free(d);
}
