/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hls_body.c - what the HLS module hands out: refcounted blobs, and the
 * bodies HTTP serves and the key frame cache reads back (blobs back to
 * back, or an open file). Any thread.
 */
#include "hls_disk.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int sc_hls_name_check(const char *file)
{
	size_t n = strlen(file);

	if (n == 0 || n >= SC_HLS_NAME_MAX || strchr(file, '/') || file[0] == '.')
		return -EINVAL;
	return 0;
}

/* ---- blobs ---- */

sc_blob *sc_blob_new(const void *data, size_t len)
{
	sc_blob *b;

	if (len > SIZE_MAX - sizeof(*b))
		return NULL;
	b = malloc(sizeof(*b) + len);
	if (!b)
		return NULL;
	atomic_init(&b->refs, 1);
	b->len = len;
	if (data && len)
		memcpy(b->data, data, len);
	return b;
}

sc_blob *sc_blob_resize(sc_blob *b, size_t len)
{
	sc_blob *nb;

	if (len > SIZE_MAX - sizeof(*nb))
		return NULL;
	nb = realloc(b, sizeof(*nb) + len);
	if (!nb)
		return NULL;
	if (!b)
		atomic_init(&nb->refs, 1);
	nb->len = len;
	return nb;
}

sc_blob *sc_blob_ref(sc_blob *b)
{
	if (b)
		atomic_fetch_add_explicit(&b->refs, 1, memory_order_relaxed);
	return b;
}

void sc_blob_unref(sc_blob *b)
{
	if (b && atomic_fetch_sub_explicit(&b->refs, 1, memory_order_acq_rel) == 1)
		free(b);
}

/* ---- bodies ---- */

static sc_hls_body *body_new(const char *mime, size_t nblobs)
{
	sc_hls_body *b;

	if (nblobs > (SIZE_MAX - sizeof(*b)) / sizeof(b->blobs[0]))
		return NULL;
	b = malloc(sizeof(*b) + nblobs * sizeof(b->blobs[0]));
	if (!b)
		return NULL;
	b->mime = mime;
	b->len = 0;
	b->fd = -1;
	b->nblobs = 0;
	return b;
}

int sc_hls_body_of(const char *mime, sc_blob *const *blobs, size_t n, sc_hls_body **ret)
{
	sc_hls_body *b = body_new(mime, n);

	if (!b)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		b->blobs[b->nblobs++] = sc_blob_ref(blobs[i]);
		b->len += blobs[i]->len;
	}
	*ret = b;
	return 0;
}

void sc_hls_body_free(sc_hls_body *b)
{
	if (!b)
		return;
	for (size_t i = 0; i < b->nblobs; i++)
		sc_blob_unref(b->blobs[i]);
	if (b->fd >= 0)
		close(b->fd);
	free(b);
}

int sc_hls_body_read(const sc_hls_body *body, sc_blob **ret)
{
	sc_blob *b = body->len <= SIZE_MAX ? sc_blob_new(NULL, (size_t)body->len) : NULL;
	int rc;

	if (!b)
		return -ENOMEM;
	rc = sc_hls_body_pread(body, 0, b->data, b->len);
	if (rc < 0) {
		sc_blob_unref(b);
		return rc;
	}
	*ret = b;
	return 0;
}

int sc_hls_body_pread(const sc_hls_body *body, uint64_t off, void *buf, size_t len)
{
	uint8_t *p = buf;

	if (off > body->len || len > body->len - off)
		return -EIO;
	if (body->fd >= 0) {
		while (len) {
			ssize_t n = pread(body->fd, p, len, (off_t)off);

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				return -EIO;
			p += n;
			off += (uint64_t)n;
			len -= (size_t)n;
		}
		return 0;
	}
	for (size_t i = 0; i < body->nblobs && len; i++) {
		const sc_blob *b = body->blobs[i];
		size_t k;

		if (off >= b->len) {
			off -= b->len;
			continue;
		}
		k = b->len - (size_t)off < len ? b->len - (size_t)off : len;
		memcpy(p, b->data + off, k);
		p += k;
		len -= k;
		off = 0;
	}
	return len ? -EIO : 0;
}

int sc_hls_body_open_as(const char *dir, const char *prefix, const char *file, const char *mime,
			sc_hls_body **ret)
{
	char path[4096];
	sc_hls_body *b;
	struct stat st;
	int n, fd;

	if (!dir || sc_hls_name_check(file) < 0)
		return -ENOENT;
	n = snprintf(path, sizeof(path), "%s/%s%s", dir, prefix, file);
	if (n < 0 || (size_t)n >= sizeof(path))
		return -ENOENT;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -ENOENT;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return -ENOENT;
	}
	b = body_new(mime, 0);
	if (!b) {
		close(fd);
		return -ENOMEM;
	}
	b->fd = fd;
	b->len = (uint64_t)st.st_size;
	*ret = b;
	return 0;
}

int sc_hls_body_open(const char *dir, const char *file, const char *mime, sc_hls_body **ret)
{
	return sc_hls_body_open_as(dir, "", file, mime, ret);
}
