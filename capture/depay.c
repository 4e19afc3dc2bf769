/* SPDX-License-Identifier: Apache-2.0 */
/*
 * depay.c - the depacketizer table and the per-stream wrapper around one
 * entry of it. The codecs live in depay_vp8.c, depay_h264.c, depay_opus.c.
 */
#include "depay.h"

#include <errno.h>
#include <stdlib.h>
#include <strings.h>

struct sc_depay {
	const sc_depay_ops *ops;
	void *priv;
};

static const sc_depay_ops *const depay_table[] = {
	&sc_depay_vp8,
	&sc_depay_h264,
	&sc_depay_opus,
};

const sc_depay_ops *sc_depay_find(const char *codec)
{
	size_t i;

	if (!codec)
		return NULL;
	for (i = 0; i < sizeof(depay_table) / sizeof(depay_table[0]); i++)
		if (strcasecmp(depay_table[i]->name, codec) == 0)
			return depay_table[i];
	return NULL;
}

sc_depay *sc_depay_new(const sc_depay_ops *ops)
{
	sc_depay *d = NULL;

	if (!ops || !ops->frame)
		goto fail;
	d = calloc(1, sizeof(*d));
	if (!d)
		goto fail;
	d->ops = ops;
	if (ops->priv_size) {
		d->priv = calloc(1, ops->priv_size);
		if (!d->priv)
			goto fail;
	}
	return d;
fail:
	free(d);
	return NULL;
}

void sc_depay_free(sc_depay *d)
{
	if (!d)
		return;
	if (d->ops->uninit && d->priv)
		d->ops->uninit(d->priv);
	free(d->priv);
	free(d);
}

int sc_depay_frame(sc_depay *d, const sc_jb_frame *f, sc_buf *out, bool *ret_key)
{
	size_t start;
	bool key = false;
	int r;

	if (!d || !f || !out || !ret_key)
		return -EINVAL;
	if (!f->complete || f->n == 0 || !f->pkts)
		return -EINVAL;
	start = out->len;
	r = d->ops->frame(d->priv, f, out, &key);
	if (r < 0) {
		out->len = start; /* no partial frame, whatever the codec did */
		return r;
	}
	*ret_key = key;
	return 0;
}

const char *sc_depay_name(const sc_depay *d)
{
	return d ? d->ops->name : NULL;
}
