/* SPDX-License-Identifier: Apache-2.0 */
/*
 * output.h - internal to the mixer: the output thread, which muxes FLV
 * with libavformat and publishes it over RTMP (FFmpeg's rtmp protocol).
 *
 * The mixer hands packets over through a bounded queue and never waits:
 * when the queue is full the oldest packet goes. A write error closes the
 * connection; the thread reconnects with backoff (250 ms, 500 ms, 1 s,
 * then every 1.75 s: back within 2 s of the relay), each attempt and
 * each write bounded by an interrupt deadline (SC_OUTPUT_IO_TIMEOUT_US),
 * and asks for a key frame at every (re)connect: it drops what it has
 * until the first video key frame, and restarts the FLV timestamps there.
 */
#ifndef SC_OUTPUT_H
#define SC_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct AVPacket;
struct AVCodecContext;

#define SC_OUTPUT_IO_TIMEOUT_US 2000000

typedef struct {
	const char *url; /* rtmp://..., or a file name (tests) */
	/* Copied by sc_output_new: parameters and time bases of streams
	 * 0 (video) and 1 (audio). */
	const struct AVCodecContext *video, *audio;
	/* Called from the output thread at each (re)connect. */
	void (*want_keyframe)(void *opaque);
	void *opaque;
} sc_output_config;

typedef struct sc_output sc_output;

/* Starts the output thread, which connects in the background. */
sc_output *sc_output_new(const sc_output_config *cfg, char *err, size_t errlen);
/* Writes what is queued (bounded in time), the trailer, closes, joins. */
void sc_output_free(sc_output *o);

/* Mixer thread: queue a reference to pkt (codec time base) for stream 0
 * (video) or 1 (audio). Never blocks. 0, or -ENOMEM. The output thread
 * is not woken: call sc_output_wake() once the batch is queued. */
int sc_output_push(sc_output *o, const struct AVPacket *pkt, int stream);
/* Mixer thread: wakes the output thread for what was pushed since the last
 * call. Once per output frame (a video packet and its audio), not once per
 * packet: each wake-up is a context switch. */
void sc_output_wake(sc_output *o);

typedef struct {
	bool connected;
	uint64_t reconnects, dropped, packets, bytes;
	int64_t first_packet_us; /* first packet ever written, or 0 */
	int64_t connected_us;	 /* last successful (re)connect, or 0 */
	int64_t resumed_us;	 /* first packet written after it, or 0 */
	double video_kbps;	 /* all bytes written, over the last seconds */
	char error[256];	 /* last error */
	bool refused;		 /* the server refused the publish for good: no retries */
} sc_output_stats;
void sc_output_get_stats(sc_output *o, sc_output_stats *ret);

#endif
