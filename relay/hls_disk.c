/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hls_disk.c - the files of the HLS module: the ordered, bounded disk
 * jobs of one stream on libuv's thread pool (blobs and bodies: hls_body.c).
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
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

/* A small spooled frame (an audio one) does not wake the worker by itself:
 * it goes with the next frame, write or finish, or once the frames waiting
 * add up to this. Half the wake-ups of a stream, for a few KB held. */
#define SPOOL_WAKE 4096

static const char *const spool_prefix[SC_HLS_SPOOLS] = {".tmp-v-", ".tmp-a-"};

int sc_hls_disk_open_spool(const char *dir, int track, const char *file, sc_hls_body **ret)
{
	if (track < 0 || track >= SC_HLS_SPOOLS)
		return -ENOENT;
	return sc_hls_body_open_as(dir, spool_prefix[track], file, "video/mp4", ret);
}

/* ---- disk jobs ---- */

enum { JOB_WRITE, JOB_UNLINK, JOB_CLEAN, JOB_SPOOL, JOB_FINISH, JOB_DROP_SPOOL };

struct job {
	struct job *next;
	int op;
	int err; /* set by the worker */
	char name[SC_HLS_NAME_MAX];
	/* JOB_SPOOL: m's bytes from off on, a frame of part NAME, go to
	 * track's spool file of SPOOL at pos (at, tag: for the report).
	 * JOB_FINISH: part NAME is the header then base[t], bytes[t] of each
	 * track's spool of SPOOL. JOB_DROP_SPOOL: spool NAME's files go. */
	char spool[SC_HLS_NAME_MAX];
	int track;
	sc_media *m;
	size_t off;
	uint64_t pos;
	uint32_t at;
	uint32_t tag;
	uint64_t base[SC_HLS_SPOOLS], bytes[SC_HLS_SPOOLS];
	size_t nblobs;	  /* JOB_WRITE: the file is these back to back */
	sc_blob *blobs[]; /* references; NULL: the part file NAME-without-.m4s.i.m4s */
};

/* The worker's open spool file of one track (only the worker touches it). */
struct spool {
	int fd;			     /* -1: none */
	char spool[SC_HLS_NAME_MAX]; /* whose file fd is */
	char part[SC_HLS_NAME_MAX];  /* the part its latest frame is of */
	int failed;		     /* a frame of that part was not written */
};

struct sc_hls_disk {
	uv_loop_t *loop;
	uv_work_t work;
	char *dir;
	/* The worker's paths (path_of): made on the heap once, as its stack
	 * is touched by every thread of the pool and it must not allocate
	 * (a thread that mallocs gets an arena of its own). */
	char *path[3];
	size_t path_len;
	struct job *head, *tail; /* queued */
	size_t nwrites;		 /* queued writes */
	size_t max_writes;
	size_t spool_bytes;   /* of the spool jobs queued or in flight */
	size_t spool_waiting; /* of small spool jobs queued, not yet submitted */
	size_t max_spool_bytes;
	struct job *batch; /* in flight, owned by the worker */
	int busy, closing;
	uint64_t errors, drops;
	sc_hls_disk_done_fn done;
	sc_hls_disk_spooled_fn spooled;
	void *done_userdata;
	struct spool spools[SC_HLS_SPOOLS];
};

static void job_free(struct job *j)
{
	for (size_t i = 0; i < j->nblobs; i++)
		sc_blob_unref(j->blobs[i]);
	sc_media_unref(j->m);
	free(j);
}

static struct job *job_new(int op, const char *file, size_t nblobs)
{
	struct job *j;

	if (nblobs > (SIZE_MAX - sizeof(*j)) / sizeof(j->blobs[0]))
		return NULL;
	j = calloc(1, sizeof(*j) + nblobs * sizeof(j->blobs[0]));
	if (!j)
		return NULL;
	j->op = op;
	if (file)
		snprintf(j->name, sizeof(j->name), "%s", file);
	return j;
}

/* dir/PREFIXNAME in the worker's path buffer k; NULL if too long. */
static const char *path_of(const sc_hls_disk *d, int k, const char *prefix, const char *name)
{
	int n = snprintf(d->path[k], d->path_len, "%s/%s%s", d->dir, prefix, name);

	return n < 0 || (size_t)n >= d->path_len ? NULL : d->path[k];
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

/* Appends len bytes of in from off to out: -EIO if in has fewer. */
static int copy_range(int in, uint64_t off, uint64_t len, int out)
{
	loff_t o = (loff_t)off;

	while (len) {
		ssize_t n = copy_file_range(in, &o, out, NULL, len, 0);

		if (n > 0) {
			len -= (uint64_t)n;
			continue;
		}
		if (n == 0)
			return -EIO;
		if (errno == EINTR)
			continue;
		if (errno != EXDEV && errno != ENOSYS && errno != EINVAL && errno != EOPNOTSUPP)
			return -errno;
		break; /* no copy_file_range here: sendfile, with no buffer of ours */
	}
	while (len) {
		off_t so = (off_t)o;
		ssize_t n = sendfile(out, in, &so, len < 0x7ffff000 ? (size_t)len : 0x7ffff000);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		o = (loff_t)so;
		len -= (uint64_t)n;
	}
	return 0;
}

/* Appends the whole file at path to fd. */
static int copy_file(const char *path, int fd)
{
	struct stat st;
	int in, rc;

	in = open(path, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return -errno;
	rc = fstat(in, &st) < 0 ? -errno : copy_range(in, 0, (uint64_t)st.st_size, fd);
	close(in);
	return rc;
}

/* Appends the part file i of segment j->name ("S.m4s": "S.i.m4s") to fd. */
static int copy_part(const sc_hls_disk *d, const struct job *j, size_t i, int fd)
{
	char name[SC_HLS_NAME_MAX + 24];
	size_t stem = strlen(j->name) - 4;
	const char *path;

	snprintf(name, sizeof(name), "%.*s.%zu.m4s", (int)stem, j->name, i);
	path = path_of(d, 2, "", name);
	return path ? copy_file(path, fd) : -ENAMETOOLONG;
}

/* A file is written to ".tmp-NAME", then renamed to NAME: tmp_open gives
 * the fd (or a negative errno), with both paths in path buffers 0 and 1;
 * tmp_commit closes it and, if all went well (rc 0), renames it into
 * place, else removes it. */
static int tmp_open(const sc_hls_disk *d, const char *name)
{
	const char *tmp = path_of(d, 0, ".tmp-", name);
	int fd;

	if (!tmp || !path_of(d, 1, "", name))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	return fd < 0 ? -errno : fd;
}

static int tmp_commit(const sc_hls_disk *d, int fd, int rc)
{
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && rename(d->path[0], d->path[1]) < 0)
		rc = -errno;
	if (rc < 0)
		unlink(d->path[0]);
	return rc;
}

static int do_write(const sc_hls_disk *d, const struct job *j)
{
	int fd, rc;

	fd = tmp_open(d, j->name);
	if (fd < 0)
		return fd;
	rc = 0;
	for (size_t i = 0; i < j->nblobs && rc == 0; i++) {
		if (j->blobs[i])
			rc = write_all(fd, j->blobs[i]->data, j->blobs[i]->len);
		else
			rc = copy_part(d, j, i, fd);
	}
	return tmp_commit(d, fd, rc);
}

/* ---- spools: each track's frames, appended to one file per track ----
 *
 * Why one file that parts follow each other in, and not one per part:
 * creating and removing three files a part (two spools and the part) made
 * ext4's inode allocator the relay's largest cost with 20 streams. The
 * loop names the spool files and picks the offsets, so it can read a
 * frame back from them; it starts new ones now and then and has the old
 * ones removed once the parts in them are made. */

static void spool_close(struct spool *sp)
{
	if (sp->fd >= 0)
		close(sp->fd);
	sp->fd = -1;
	sp->spool[0] = 0;
	sp->part[0] = 0;
	sp->failed = 0;
}

static int do_spool(sc_hls_disk *d, const struct job *j)
{
	struct spool *sp = &d->spools[j->track];
	const uint8_t *p = j->m->data + j->off;
	size_t len = j->m->len - j->off;
	off_t at = (off_t)j->pos;

	if (strcmp(sp->spool, j->spool) != 0) {
		spool_close(sp);
		snprintf(sp->spool, sizeof(sp->spool), "%s", j->spool);
	}
	if (strcmp(sp->part, j->name) != 0) {
		/* A part's first frame. Within a part a failure sticks, so
		 * that a later frame cannot make the part look whole. */
		snprintf(sp->part, sizeof(sp->part), "%s", j->name);
		sp->failed = 0;
		if (sp->fd < 0) {
			const char *path = path_of(d, 0, spool_prefix[j->track], j->spool);

			if (!path) {
				sp->failed = 1;
				return -ENAMETOOLONG;
			}
			/* Read too: do_finish copies the part's bytes from it. */
			sp->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
			if (sp->fd < 0) {
				sp->failed = 1;
				return -errno;
			}
		}
	}
	if (sp->failed)
		return -EIO;
	while (len) {
		ssize_t n = pwrite(sp->fd, p, len, at);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			sp->failed = 1;
			return n < 0 ? -errno : -EIO;
		}
		p += n;
		at += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Part NAME from the header blob and its ranges of the spools. */
static int do_finish(sc_hls_disk *d, const struct job *j)
{
	int fd, rc = 0;

	for (int t = 0; t < SC_HLS_SPOOLS; t++) {
		const struct spool *sp = &d->spools[t];

		/* Its frames must all have been written, to this spool: the
		 * file the worker has open, which it copies from. */
		if (j->bytes[t] && (strcmp(sp->part, j->name) != 0 ||
				    strcmp(sp->spool, j->spool) != 0 || sp->failed || sp->fd < 0))
			return -EIO;
	}
	fd = tmp_open(d, j->name);
	if (fd < 0)
		return fd;
	rc = write_all(fd, j->blobs[0]->data, j->blobs[0]->len);
	for (int t = 0; t < SC_HLS_SPOOLS && rc == 0; t++)
		if (j->bytes[t])
			rc = copy_range(d->spools[t].fd, j->base[t], j->bytes[t], fd);
	return tmp_commit(d, fd, rc);
}

/* SPOOL's files go (a reader with one open still reads it). */
static void drop_spool(sc_hls_disk *d, const char *spool)
{
	for (int t = 0; t < SC_HLS_SPOOLS; t++) {
		const char *path = path_of(d, 0, spool_prefix[t], spool);

		if (strcmp(d->spools[t].spool, spool) == 0)
			spool_close(&d->spools[t]);
		if (path)
			unlink(path);
	}
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
	if (len > 4 && strcmp(n + len - 4, ".m4s") == 0) {
		/* "S.m4s" or "S.P.m4s": digits and dots before the suffix. */
		for (size_t i = 0; i < len - 4; i++)
			if (!strchr("0123456789.", n[i]))
				return 0;
		return 1;
	}
	return 0;
}

/* getdents64 rather than opendir, which would allocate (see path). */
static int do_clean(const sc_hls_disk *d)
{
	char buf[2048] __attribute__((aligned(8)));
	int fd = open(d->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc = 0;
	ssize_t n;

	if (fd < 0)
		return -errno;
	while ((n = getdents64(fd, buf, sizeof(buf))) > 0) {
		for (ssize_t at = 0; at < n;) {
			const struct dirent64 *e = (const struct dirent64 *)(buf + at);

			if (ours(e->d_name) && unlinkat(fd, e->d_name, 0) < 0 && errno != ENOENT)
				rc = -errno;
			at += e->d_reclen;
		}
	}
	if (n < 0)
		rc = -errno;
	close(fd);
	return rc;
}

static void work_cb(uv_work_t *w)
{
	sc_hls_disk *d = w->data;

	for (struct job *j = d->batch; j; j = j->next) {
		const char *path;

		switch (j->op) {
		case JOB_WRITE:
			j->err = do_write(d, j);
			break;
		case JOB_UNLINK:
			if (!(path = path_of(d, 0, "", j->name)))
				j->err = -ENAMETOOLONG;
			else if (unlink(path) < 0 && errno != ENOENT)
				j->err = -errno;
			break;
		case JOB_CLEAN:
			j->err = do_clean(d);
			break;
		case JOB_SPOOL:
			j->err = do_spool(d, j);
			break;
		case JOB_FINISH:
			j->err = do_finish(d, j);
			break;
		case JOB_DROP_SPOOL:
			drop_spool(d, j->name);
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
	for (int t = 0; t < SC_HLS_SPOOLS; t++)
		spool_close(&d->spools[t]);
	free(d->dir);
	free(d->path[0]);
	free(d);
}

static void after_cb(uv_work_t *w, int status);

static void report(sc_hls_disk *d, const struct job *j)
{
	if (d->closing)
		return;
	if ((j->op == JOB_WRITE || j->op == JOB_FINISH) && d->done)
		d->done(d->done_userdata, j->name, j->err);
	if (j->op == JOB_SPOOL && d->spooled)
		d->spooled(d->done_userdata, j->name, j->track, j->m, j->off, j->at, j->tag,
			   j->err);
}

static void submit(sc_hls_disk *d)
{
	if (d->busy || !d->head)
		return;
	d->batch = d->head;
	d->head = d->tail = NULL;
	d->nwrites = 0;
	d->spool_waiting = 0;
	d->busy = 1;
	if (uv_queue_work(d->loop, &d->work, work_cb, after_cb) < 0) {
		/* Only a NULL callback makes it fail: count and drop. */
		struct job *j;

		while ((j = d->batch)) {
			d->batch = j->next;
			if (j->op == JOB_SPOOL) {
				/* Nothing is in flight: the spools are ours here. */
				struct spool *sp = &d->spools[j->track];

				if (strcmp(sp->spool, j->spool) != 0) {
					spool_close(sp);
					snprintf(sp->spool, sizeof(sp->spool), "%s", j->spool);
				}
				snprintf(sp->part, sizeof(sp->part), "%s", j->name);
				sp->failed = 1;
				d->spool_bytes -= j->m->len - j->off;
			}
			d->errors++;
			j->err = -EIO;
			report(d, j);
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
		if (j->op == JOB_SPOOL)
			d->spool_bytes -= j->m->len - j->off;
		if (status < 0 && j->err == 0)
			j->err = status;
		if (j->err < 0)
			d->errors++;
		report(d, j);
		job_free(j);
	}
	d->busy = 0;
	submit(d);
	if (d->closing && !d->busy)
		disk_free(d);
}

sc_hls_disk *sc_hls_disk_new(uv_loop_t *loop, const char *dir, size_t max_writes,
			     size_t max_spool_bytes)
{
	sc_hls_disk *d = calloc(1, sizeof(*d));
	struct job *j;

	if (!d)
		return NULL;
	d->loop = loop;
	d->work.data = d;
	d->max_writes = max_writes ? max_writes : 1;
	d->max_spool_bytes = max_spool_bytes;
	d->dir = strdup(dir);
	/* "/", a prefix of up to 8 bytes and a name (with a part number). */
	d->path_len = strlen(dir) + 2 * SC_HLS_NAME_MAX + 32;
	d->path[0] = malloc(3 * d->path_len);
	for (int k = 1; k < 3 && d->path[0]; k++)
		d->path[k] = d->path[0] + k * d->path_len;
	for (int t = 0; t < SC_HLS_SPOOLS; t++)
		d->spools[t].fd = -1;
	j = job_new(JOB_CLEAN, NULL, 0);
	if (!d->dir || !d->path[0] || !j)
		goto fail;
	d->head = d->tail = j;
	submit(d);
	return d;
fail:
	free(j);
	free(d->path[0]);
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

static int queue_write(sc_hls_disk *d, const char *file, sc_blob *const *blobs, size_t n, int parts)
{
	struct job *j, *old, *prev = NULL;
	size_t len = file ? strlen(file) : 0;

	if (!d || !blobs || !n || sc_hls_name_check(file) < 0 || d->closing)
		return -EINVAL;
	if (parts && (len < 5 || strcmp(file + len - 4, ".m4s") != 0))
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (!blobs[i] && !parts)
			return -EINVAL;
	}
	/* A queued write of the same name (the playlist) is superseded. */
	for (old = d->head; old; prev = old, old = old->next) {
		if (old->op == JOB_WRITE && strcmp(old->name, file) == 0)
			break;
	}
	if (!old && d->nwrites >= d->max_writes) {
		d->drops++;
		return -ENOBUFS;
	}
	j = job_new(JOB_WRITE, file, n);
	if (!j)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		j->blobs[i] = sc_blob_ref(blobs[i]);
	j->nblobs = n;
	if (old) {
		if (prev)
			prev->next = old->next;
		else
			d->head = old->next;
		if (d->tail == old)
			d->tail = prev;
		job_free(old);
	} else {
		d->nwrites++;
	}
	push(d, j);
	submit(d);
	return 0;
}

int sc_hls_disk_writev(sc_hls_disk *d, const char *file, sc_blob *const *blobs, size_t n)
{
	return queue_write(d, file, blobs, n, 0);
}

int sc_hls_disk_write_segment(sc_hls_disk *d, const char *file, sc_blob *const *blobs, size_t n)
{
	return queue_write(d, file, blobs, n, 1);
}

int sc_hls_disk_write(sc_hls_disk *d, const char *file, sc_blob *b)
{
	return sc_hls_disk_writev(d, file, &b, 1);
}

/* A job that only names a file (JOB_UNLINK) or spool (JOB_DROP_SPOOL). */
static int queue_named(sc_hls_disk *d, int op, const char *name)
{
	struct job *j;

	if (!d || sc_hls_name_check(name) < 0 || d->closing)
		return -EINVAL;
	j = job_new(op, name, 0);
	if (!j)
		return -ENOMEM;
	push(d, j);
	submit(d);
	return 0;
}

int sc_hls_disk_unlink(sc_hls_disk *d, const char *file)
{
	return queue_named(d, JOB_UNLINK, file);
}

int sc_hls_disk_spool(sc_hls_disk *d, const char *part, const char *spool, int track, sc_media *m,
		      size_t off, uint64_t pos, uint32_t at, uint32_t tag)
{
	struct job *j;

	if (!d || sc_hls_name_check(part) < 0 || sc_hls_name_check(spool) < 0 || d->closing ||
	    track < 0 || track >= SC_HLS_SPOOLS || !m || off >= m->len)
		return -EINVAL;
	/* One frame is always let in, however big: the bound is for a queue. */
	if (d->spool_bytes && (d->spool_bytes >= d->max_spool_bytes ||
			       m->len - off > d->max_spool_bytes - d->spool_bytes)) {
		d->drops++;
		return -ENOBUFS;
	}
	j = job_new(JOB_SPOOL, part, 0);
	if (!j)
		return -ENOMEM;
	snprintf(j->spool, sizeof(j->spool), "%s", spool);
	j->track = track;
	j->m = sc_media_ref(m);
	j->off = off;
	j->pos = pos;
	j->at = at;
	j->tag = tag;
	d->spool_bytes += m->len - off;
	push(d, j);
	d->spool_waiting += m->len - off;
	if (d->spool_waiting >= SPOOL_WAKE)
		submit(d);
	return 0;
}

void sc_hls_disk_kick(sc_hls_disk *d)
{
	if (d && !d->closing)
		submit(d);
}

int sc_hls_disk_finish(sc_hls_disk *d, const char *part, sc_blob *header, const char *spool,
		       const uint64_t base[SC_HLS_SPOOLS], const uint64_t bytes[SC_HLS_SPOOLS])
{
	struct job *j;

	if (!d || !header || sc_hls_name_check(part) < 0 || sc_hls_name_check(spool) < 0 ||
	    d->closing)
		return -EINVAL;
	if (d->nwrites >= d->max_writes) {
		d->drops++;
		return -ENOBUFS;
	}
	j = job_new(JOB_FINISH, part, 1);
	if (!j)
		return -ENOMEM;
	snprintf(j->spool, sizeof(j->spool), "%s", spool);
	j->blobs[0] = sc_blob_ref(header);
	j->nblobs = 1;
	memcpy(j->base, base, sizeof(j->base));
	memcpy(j->bytes, bytes, sizeof(j->bytes));
	d->nwrites++;
	push(d, j);
	submit(d);
	return 0;
}

int sc_hls_disk_drop_spool(sc_hls_disk *d, const char *spool)
{
	/* Should it fail, the clean-up at the next start removes them. */
	return queue_named(d, JOB_DROP_SPOOL, spool);
}

void sc_hls_disk_set_done(sc_hls_disk *d, sc_hls_disk_done_fn fn, sc_hls_disk_spooled_fn spooled,
			  void *userdata)
{
	if (!d)
		return;
	d->done = fn;
	d->spooled = spooled;
	d->done_userdata = userdata;
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
	d->done = NULL;
	d->spooled = NULL;
	submit(d);
	if (!d->busy)
		disk_free(d);
}
