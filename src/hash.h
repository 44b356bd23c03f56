/* deloc hash core: a 64-bit FNV-1a of bytes, for telling one configuration
 * from the next (the plan's config hash).  No security boundary. */
#ifndef DELOC_HASH_H
#define DELOC_HASH_H

#include <stddef.h>
#include <stdint.h>

/* FNV-1a 64 of len bytes at s. */
uint64_t dl_hash_fnv1a64(const char *s, size_t len);

/* The hash as 16 lower-case hex digits and a NUL in out (17 bytes). */
void dl_hash_hex(uint64_t h, char out[17]);

#endif
