/* deloc SHA-1 core (FIPS 180-4), for the one place a protocol demands it:
 * the WebSocket handshake's Sec-WebSocket-Accept (RFC 6455, 4.2.2).  Not for
 * anything that needs collision resistance. */
#ifndef DELOC_SHA1_H
#define DELOC_SHA1_H

#include <stddef.h>
#include <stdint.h>

/* The 20-byte SHA-1 digest of len bytes at data, into out. */
void dl_sha1(const void *data, size_t len, uint8_t out[20]);

#endif
