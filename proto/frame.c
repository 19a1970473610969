/*
 * Frame encoding and decoding; see frame.h for the format.  The length is
 * the message's alone, not counting the header.
 */
#include <stdlib.h>

#include "frame.h"

/* Write len as the 4-byte big-endian header. */
void
frame_header_encode(unsigned char header[FRAME_HEADER_SIZE], uint32_t len)
{
	header[0] = (len >> 24) & 0xff;
	header[1] = (len >> 16) & 0xff;
	header[2] = (len >> 8) & 0xff;
	header[3] = len & 0xff;
}

/* Read the header into *len; -1 if the frame is larger than FRAME_MAX. */
int
frame_header_decode(const unsigned char header[FRAME_HEADER_SIZE],
    uint32_t *len)
{
	*len = ((uint32_t)header[0] << 24) | ((uint32_t)header[1] << 16) |
	    ((uint32_t)header[2] << 8) | header[3];
	return *len > FRAME_MAX ? -1 : 0;
}

/*
 * Pack message into a new buffer holding header and body, its size in
 * *size; NULL if the message is over FRAME_MAX or memory runs out.
 */
unsigned char *
frame_pack(const ProtobufCMessage *message, size_t *size)
{
	unsigned char	*buf;
	size_t		 len;

	len = protobuf_c_message_get_packed_size(message);
	if (len > FRAME_MAX)
		return NULL;
	if ((buf = malloc(FRAME_HEADER_SIZE + len)) == NULL)
		return NULL;
	frame_header_encode(buf, len);
	protobuf_c_message_pack(message, buf + FRAME_HEADER_SIZE);
	*size = FRAME_HEADER_SIZE + len;
	return buf;
}
