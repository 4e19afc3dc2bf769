/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hls_fixture.h - shared by the HLS unit tests: the tags of
 * tests/relay/data/av_4s.flv (from SC_TEST_DATA), a scratch folder,
 * feeding tags to an sc_hls and reading back what it serves (from memory
 * or from disk). Tests only: failures are cmocka assertions.
 */
#ifndef SC_TEST_HLS_FIXTURE_H
#define SC_TEST_HLS_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

#include "hls.h"

struct hf_tag {
	uint8_t type; /* 8 audio, 9 video */
	uint32_t ts;
	size_t len;
	const uint8_t *data;
};

extern struct hf_tag hf_tags[4096];
extern size_t hf_ntags;

/* Reads av_4s.flv into hf_tags: 0 or a negative errno. */
int hf_load_flv(void);
void hf_free_flv(void);
/* cmocka group setup and teardown: hf_load_flv and hf_free_flv. */
int hf_group_setup(void **state);
int hf_group_teardown(void **state);
/* The FLV's length rounded up to a second: the shift of one more pass. */
int64_t hf_pass_ms(void);

/* A fresh folder in /tmp, removed with everything in it. */
extern char hf_tmpdir[256];
void hf_make_tmpdir(void);
void hf_rm_tmpdir(void);

void hf_run_loop_to_idle(uv_loop_t *loop);

/* Initialises loop and makes an sc_hls named name on it (asserted). */
sc_hls *hf_hls_new(uv_loop_t *loop, const sc_hls_config *cfg, const char *name);
/* Frees h, runs loop until its disk work is done and closes it. */
void hf_hls_free(sc_hls *h, uv_loop_t *loop);

/* One message to h: sc_hls_write's result (a message on failure). */
int hf_feed(sc_hls *h, uint8_t type, uint32_t ts, const uint8_t *p, size_t len);
/* Feeds tags [from, to) with timestamps shifted by `shift`, audio and/or
 * video; realtime: at the FLV's own pace. Each must be accepted. */
void hf_feed_range(sc_hls *h, size_t from, size_t to, int64_t shift, int audio, int video,
		   int realtime);

/* A body's bytes in one blob, body freed; *ret_disk (if not NULL): 1 if
 * they came from a file, 0 from memory. */
sc_blob *hf_body_bytes(sc_hls_body *body, int *ret_disk);
/* What sc_hls_open serves for file, in one blob; NULL if it is not there. */
sc_blob *hf_get_from(sc_hls *h, const char *file, int *ret_disk);
/* Segment msn served now: its bytes and where from. Checks that its parts
 * (when served by name) add up to it, and come from memory if it does. */
sc_blob *hf_get_seg(sc_hls *h, int64_t msn, int *ret_disk);
/* Segment msn, asserted to be there and served (its parts too) from disk
 * (want_disk 1) or memory (0). */
sc_blob *hf_seg_from(sc_hls *h, int64_t msn, int want_disk);
/* Segment msn (and its parts) is served from disk (want_disk 1) or memory
 * (0) with the bytes of want. */
void hf_check_seg(sc_hls *h, int64_t msn, const sc_blob *want, int want_disk);

#endif
