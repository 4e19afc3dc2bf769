/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_hls_playlist.c - exact media playlist text: LL-HLS with parts, a
 * preload hint, a discontinuity and the end; window sliding; target
 * duration rounding; plain HLS.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hls_playlist.h"

#define T0 1700000000000LL /* 2023-11-14T22:13:20.000Z */

static const sc_hls_pl_part parts10[] = {{320, 1}, {320, 0}, {360, 0}};
static const sc_hls_pl_part parts11[] = {{333, 1}, {333, 0}, {333, 0}, {334, 0}, {167, 0}};
static const sc_hls_pl_part parts12[] = {{320, 1}, {280, 0}};

static sc_hls_pl_segment segs[] = {
	{.msn = 9, .dur_ms = 1000, .pdt_ms = T0 - 1000, .init_gen = 0, .complete = 1},
	{.msn = 10,
	 .dur_ms = 1000,
	 .pdt_ms = T0,
	 .init_gen = 0,
	 .complete = 1,
	 .parts = parts10,
	 .nparts = 3},
	{.msn = 11,
	 .dur_ms = 1500,
	 .pdt_ms = T0 + 60000,
	 .init_gen = 1,
	 .discontinuity = 1,
	 .complete = 1,
	 .parts = parts11,
	 .nparts = 5},
	{.msn = 12, .pdt_ms = T0 + 61500, .init_gen = 1, .parts = parts12, .nparts = 2},
};

static char *render(const sc_hls_pl *pl)
{
	char *text = NULL;
	size_t len = 0;

	assert_int_equal(sc_hls_playlist_render(pl, &text, &len), 0);
	assert_non_null(text);
	assert_int_equal(strlen(text), len);
	return text;
}

static void test_ll_live(void **state)
{
	sc_hls_pl pl = {
		.target_ms = 1000,
		.part_target_ms = 360,
		.discontinuity_seq = 2,
		.part_segments = 2,
		.segs = segs,
		.nsegs = 4,
		.hint_msn = 12,
		.hint_part = 2,
	};
	char *text = render(&pl);

	(void)state;
	assert_string_equal(text,
			    "#EXTM3U\n"
			    "#EXT-X-VERSION:9\n"
			    "#EXT-X-TARGETDURATION:2\n"
			    "#EXT-X-MEDIA-SEQUENCE:9\n"
			    "#EXT-X-DISCONTINUITY-SEQUENCE:2\n"
			    "#EXT-X-INDEPENDENT-SEGMENTS\n"
			    "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=1.080\n"
			    "#EXT-X-PART-INF:PART-TARGET=0.360\n"
			    "#EXT-X-MAP:URI=\"init-0.mp4\"\n"
			    "#EXT-X-PROGRAM-DATE-TIME:2023-11-14T22:13:19.000Z\n"
			    "#EXTINF:1.000,\n"
			    "9.m4s\n"
			    "#EXT-X-PROGRAM-DATE-TIME:2023-11-14T22:13:20.000Z\n"
			    "#EXT-X-PART:DURATION=0.320,URI=\"10.0.m4s\",INDEPENDENT=YES\n"
			    "#EXT-X-PART:DURATION=0.320,URI=\"10.1.m4s\"\n"
			    "#EXT-X-PART:DURATION=0.360,URI=\"10.2.m4s\"\n"
			    "#EXTINF:1.000,\n"
			    "10.m4s\n"
			    "#EXT-X-DISCONTINUITY\n"
			    "#EXT-X-MAP:URI=\"init-1.mp4\"\n"
			    "#EXT-X-PROGRAM-DATE-TIME:2023-11-14T22:14:20.000Z\n"
			    "#EXT-X-PART:DURATION=0.333,URI=\"11.0.m4s\",INDEPENDENT=YES\n"
			    "#EXT-X-PART:DURATION=0.333,URI=\"11.1.m4s\"\n"
			    "#EXT-X-PART:DURATION=0.333,URI=\"11.2.m4s\"\n"
			    "#EXT-X-PART:DURATION=0.334,URI=\"11.3.m4s\"\n"
			    "#EXT-X-PART:DURATION=0.167,URI=\"11.4.m4s\"\n"
			    "#EXTINF:1.500,\n"
			    "11.m4s\n"
			    "#EXT-X-PROGRAM-DATE-TIME:2023-11-14T22:14:21.500Z\n"
			    "#EXT-X-PART:DURATION=0.320,URI=\"12.0.m4s\",INDEPENDENT=YES\n"
			    "#EXT-X-PART:DURATION=0.280,URI=\"12.1.m4s\"\n"
			    "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"12.2.m4s\"\n");
	free(text);
}

static void test_ll_ended(void **state)
{
	sc_hls_pl_segment s[3];
	sc_hls_pl pl = {
		.target_ms = 1000,
		.part_target_ms = 360,
		.part_segments = 1,
		.segs = s,
		.nsegs = 2,
		.hint_msn = 12, /* ignored once ended */
		.hint_part = 0,
		.ended = 1,
	};
	char *text;

	(void)state;
	memcpy(s, &segs[1], 2 * sizeof(s[0]));
	s[1].discontinuity = 0;
	s[1].init_gen = 0;
	s[1].pdt_ms = -1; /* no clock: no tag */
	text = render(&pl);
	assert_string_equal(text,
			    "#EXTM3U\n"
			    "#EXT-X-VERSION:9\n"
			    "#EXT-X-TARGETDURATION:2\n"
			    "#EXT-X-MEDIA-SEQUENCE:10\n"
			    "#EXT-X-INDEPENDENT-SEGMENTS\n"
			    "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=1.080\n"
			    "#EXT-X-PART-INF:PART-TARGET=0.360\n"
			    "#EXT-X-MAP:URI=\"init-0.mp4\"\n"
			    "#EXT-X-PROGRAM-DATE-TIME:2023-11-14T22:13:20.000Z\n"
			    "#EXTINF:1.000,\n"
			    "10.m4s\n"
			    "#EXT-X-PART:DURATION=0.333,URI=\"11.0.m4s\",INDEPENDENT=YES\n"
			    "#EXT-X-PART:DURATION=0.333,URI=\"11.1.m4s\"\n"
			    "#EXT-X-PART:DURATION=0.333,URI=\"11.2.m4s\"\n"
			    "#EXT-X-PART:DURATION=0.334,URI=\"11.3.m4s\"\n"
			    "#EXT-X-PART:DURATION=0.167,URI=\"11.4.m4s\"\n"
			    "#EXTINF:1.500,\n"
			    "11.m4s\n"
			    "#EXT-X-ENDLIST\n");
	free(text);
}

/* The caller slides its window: the media sequence follows the first
 * segment, and the map is repeated for the new first segment. */
static void test_window_sliding(void **state)
{
	sc_hls_pl pl = {.target_ms = 1000, .segs = segs, .nsegs = 3, .hint_msn = -1};
	char *text;

	(void)state;
	for (int first = 0; first < 3; first++) {
		pl.segs = segs + first;
		pl.nsegs = 3 - (size_t)first;
		text = render(&pl);
		assert_int_equal(strncmp(text, "#EXTM3U\n#EXT-X-VERSION:7\n", 25), 0);
		{
			char want[64];

			snprintf(want, sizeof(want), "#EXT-X-MEDIA-SEQUENCE:%d\n", 9 + first);
			assert_non_null(strstr(text, want));
			snprintf(want, sizeof(want), "#EXT-X-MAP:URI=\"init-%d.mp4\"\n",
				 first == 2 ? 1 : 0);
			assert_non_null(strstr(text, want));
		}
		/* The segment with 1.5 s sets the target while it is listed. */
		assert_non_null(strstr(text, "#EXT-X-TARGETDURATION:2\n"));
		free(text);
	}
	/* Only segment 12 (open) left: no parts in plain HLS, nothing listed. */
	pl.segs = segs + 3;
	pl.nsegs = 1;
	text = render(&pl);
	assert_string_equal(text, "#EXTM3U\n"
				  "#EXT-X-VERSION:7\n"
				  "#EXT-X-TARGETDURATION:1\n"
				  "#EXT-X-MEDIA-SEQUENCE:12\n"
				  "#EXT-X-INDEPENDENT-SEGMENTS\n");
	free(text);
}

static void test_plain(void **state)
{
	sc_hls_pl pl = {
		.target_ms = 2000,
		.segs = segs + 1,
		.nsegs = 2,
		.discontinuity_seq = 1,
		.hint_msn = 12, /* no hints without parts */
		.hint_part = 0,
	};
	char *text = render(&pl);

	(void)state;
	assert_string_equal(text, "#EXTM3U\n"
				  "#EXT-X-VERSION:7\n"
				  "#EXT-X-TARGETDURATION:2\n"
				  "#EXT-X-MEDIA-SEQUENCE:10\n"
				  "#EXT-X-DISCONTINUITY-SEQUENCE:1\n"
				  "#EXT-X-INDEPENDENT-SEGMENTS\n"
				  "#EXT-X-MAP:URI=\"init-0.mp4\"\n"
				  "#EXT-X-PROGRAM-DATE-TIME:2023-11-14T22:13:20.000Z\n"
				  "#EXTINF:1.000,\n"
				  "10.m4s\n"
				  "#EXT-X-DISCONTINUITY\n"
				  "#EXT-X-MAP:URI=\"init-1.mp4\"\n"
				  "#EXT-X-PROGRAM-DATE-TIME:2023-11-14T22:14:20.000Z\n"
				  "#EXTINF:1.500,\n"
				  "11.m4s\n");
	free(text);
}

static int64_t td_of(int64_t target_ms, int64_t seg_ms)
{
	sc_hls_pl_segment s = {.msn = 0, .dur_ms = seg_ms, .pdt_ms = -1, .complete = 1};
	sc_hls_pl pl = {.target_ms = target_ms, .segs = &s, .nsegs = 1, .hint_msn = -1};
	char *text = render(&pl);
	const char *p = strstr(text, "#EXT-X-TARGETDURATION:");
	int64_t td;

	assert_non_null(p);
	td = strtoll(p + 22, NULL, 10);
	free(text);
	return td;
}

static void test_target_duration(void **state)
{
	(void)state;
	assert_int_equal(td_of(2000, 2000), 2);
	assert_int_equal(td_of(2000, 1999), 2);
	assert_int_equal(td_of(2000, 2001), 3);
	assert_int_equal(td_of(1500, 1000), 2); /* at least ceil(target) */
	assert_int_equal(td_of(1000, 4040), 5);
	assert_int_equal(td_of(333, 100), 1);
}

static void test_invalid_and_pdt(void **state)
{
	sc_hls_pl_segment s[2] = {
		{.msn = 1, .init_gen = 0, .complete = 0},
		{.msn = 2, .dur_ms = 1000, .init_gen = 0, .complete = 1},
	};
	sc_hls_pl pl = {.target_ms = 1000, .segs = s, .nsegs = 2, .hint_msn = -1};
	char *text = (char *)"untouched", buf[32];

	(void)state;
	/* An open segment that is not the last one. */
	assert_int_equal(sc_hls_playlist_render(&pl, &text, NULL), -EINVAL);
	assert_string_equal(text, "untouched");
	pl.target_ms = 0;
	assert_int_equal(sc_hls_playlist_render(&pl, &text, NULL), -EINVAL);
	assert_int_equal(sc_hls_playlist_render(NULL, &text, NULL), -EINVAL);

	assert_int_equal(sc_hls_format_pdt(T0 + 123, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "2023-11-14T22:13:20.123Z");
	assert_int_equal(sc_hls_format_pdt(0, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "1970-01-01T00:00:00.000Z");
	assert_int_equal(sc_hls_format_pdt(-1, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(sc_hls_format_pdt(0, buf, 8), -EINVAL);
}

static void test_names(void **state)
{
	int64_t a = -1, b = -1;

	(void)state;
	assert_int_equal(sc_hls_parse_name("index.m3u8", &a, &b), SC_HLS_FILE_PLAYLIST);
	assert_int_equal(sc_hls_parse_name("init-12.mp4", &a, &b), SC_HLS_FILE_INIT);
	assert_int_equal(a, 12);
	assert_int_equal(sc_hls_parse_name("0.m4s", &a, &b), SC_HLS_FILE_SEGMENT);
	assert_int_equal(a, 0);
	assert_int_equal(sc_hls_parse_name("123.4.m4s", &a, &b), SC_HLS_FILE_PART);
	assert_int_equal(a, 123);
	assert_int_equal(b, 4);
	static const char *bad[] = {"",	       "index.m3u",  "init-.mp4",	    "init-01.mp4",
				    "01.m4s",  "1..m4s",     "1.2.3.m4s",	    "-1.m4s",
				    "+1.m4s",  "1.m4s/x",    "../index.m3u8",	    "1.02.m4s",
				    "1.2.mp4", "init-1.m4s", "1234567890123456.m4s"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(sc_hls_parse_name(bad[i], &a, &b), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ll_live),		cmocka_unit_test(test_ll_ended),
		cmocka_unit_test(test_window_sliding),	cmocka_unit_test(test_plain),
		cmocka_unit_test(test_target_duration), cmocka_unit_test(test_invalid_and_pdt),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
