/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rtmp_chunk.h - the RTMP chunk stream: reassembling messages from chunks,
 * and cutting messages into chunks.
 *
 * The reader keeps per-chunk-stream state (header compression formats 0-3,
 * extended timestamps, interleaving), applies Set Chunk Size (type 1) and
 * Abort (type 2) itself as soon as they complete, and hands every other
 * complete message to the callback. Bounds: at most SC_RTMP_MAX_CSIDS
 * chunk streams in progress, each message at most max_msg bytes, chunk
 * size 1..SC_RTMP_MAX_CHUNK_SIZE. Anything else is -EPROTO with a message
 * in sc_rtmp_chunk_reader_error(); the connection should then be closed.
 * One connection, one thread.
 */
#ifndef SC_RTMP_CHUNK_H
#define SC_RTMP_CHUNK_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

enum {
	SC_RTMP_MSG_SET_CHUNK_SIZE = 1,
	SC_RTMP_MSG_ABORT = 2,
	SC_RTMP_MSG_ACK = 3,
	SC_RTMP_MSG_USER_CONTROL = 4,
	SC_RTMP_MSG_WINDOW_ACK_SIZE = 5,
	SC_RTMP_MSG_SET_PEER_BW = 6,
	SC_RTMP_MSG_AUDIO = 8,
	SC_RTMP_MSG_VIDEO = 9,
	SC_RTMP_MSG_DATA_AMF3 = 15,
	SC_RTMP_MSG_COMMAND_AMF3 = 17,
	SC_RTMP_MSG_DATA_AMF0 = 18,
	SC_RTMP_MSG_COMMAND_AMF0 = 20,
	SC_RTMP_MSG_AGGREGATE = 22,
};

enum {
	SC_RTMP_UC_STREAM_BEGIN = 0,
	SC_RTMP_UC_STREAM_EOF = 1,
	SC_RTMP_UC_STREAM_DRY = 2,
	SC_RTMP_UC_SET_BUFFER_LENGTH = 3,
	SC_RTMP_UC_STREAM_IS_RECORDED = 4,
	SC_RTMP_UC_PING_REQUEST = 6,
	SC_RTMP_UC_PING_RESPONSE = 7,
};

/* Chunk stream ids stagecast uses when it sends. */
enum {
	SC_RTMP_CSID_CONTROL = 2,
	SC_RTMP_CSID_COMMAND = 3,
	SC_RTMP_CSID_AUDIO = 4,
	SC_RTMP_CSID_VIDEO = 6,
	SC_RTMP_CSID_DATA = 5,
};

#define SC_RTMP_DEFAULT_CHUNK_SIZE 128
#define SC_RTMP_MAX_CHUNK_SIZE	   0xFFFFFF /* larger Set Chunk Size is refused */
#define SC_RTMP_MAX_CSIDS	   64

typedef struct {
	uint32_t csid;
	uint8_t type;
	uint32_t msid;
	uint32_t timestamp;	/* absolute, modulo 2^32 (deltas are summed) */
	const uint8_t *payload; /* valid only during the callback */
	size_t len;
} sc_rtmp_msg;

/* Return 0 to go on, a negative errno to stop feed() (which returns it). */
typedef int (*sc_rtmp_msg_cb)(void *userdata, const sc_rtmp_msg *msg);

typedef struct sc_rtmp_chunk_reader sc_rtmp_chunk_reader;

sc_rtmp_chunk_reader *sc_rtmp_chunk_reader_new(size_t max_msg, sc_rtmp_msg_cb cb, void *userdata);
void sc_rtmp_chunk_reader_free(sc_rtmp_chunk_reader *r);
/* Consume all of p; calls cb for each complete message. 0 or negative errno. */
int sc_rtmp_chunk_reader_feed(sc_rtmp_chunk_reader *r, const uint8_t *p, size_t n);
uint32_t sc_rtmp_chunk_reader_chunk_size(const sc_rtmp_chunk_reader *r);
const char *sc_rtmp_chunk_reader_error(const sc_rtmp_chunk_reader *r);

/*
 * Append msg cut into chunks of chunk_size: a type-0 header on the first
 * chunk, type-3 on the rest (extended timestamp repeated on each, as
 * ffmpeg and librtmp expect). 0 or the sc_buf error.
 */
int sc_rtmp_chunk_write(sc_buf *out, uint32_t chunk_size, uint32_t csid, uint8_t type,
			uint32_t msid, uint32_t timestamp, const uint8_t *payload, size_t len);
/* Exact number of bytes sc_rtmp_chunk_write() appends. */
size_t sc_rtmp_chunk_wire_size(uint32_t chunk_size, uint32_t csid, uint32_t timestamp, size_t len);

/* Protocol control and user control messages (csid 2, msid 0). */
int sc_rtmp_write_set_chunk_size(sc_buf *out, uint32_t size);
int sc_rtmp_write_ack(sc_buf *out, uint32_t seq);
int sc_rtmp_write_window_ack_size(sc_buf *out, uint32_t size);
int sc_rtmp_write_set_peer_bw(sc_buf *out, uint32_t size, uint8_t limit_type);
int sc_rtmp_write_user_control(sc_buf *out, uint16_t event, uint32_t value);

#endif
