/*
 * The framing shared by profiled and profilectl: each frame is a 4-byte
 * big-endian length followed by that many bytes of one protobuf message.
 * Frames over FRAME_MAX are refused in both directions, so neither side can
 * be made to allocate without bound.
 */
#ifndef FRAME_H
#define FRAME_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#define FRAME_HEADER_SIZE	4
#define FRAME_MAX		(1024 * 1024)

void		 frame_header_encode(unsigned char [FRAME_HEADER_SIZE], uint32_t);
int		 frame_header_decode(const unsigned char [FRAME_HEADER_SIZE],
		     uint32_t *);
unsigned char	*frame_pack(const ProtobufCMessage *, size_t *);

#endif
