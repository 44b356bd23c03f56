/* deloc hash core: see hash.h. */
#include "hash.h"

uint64_t dl_hash_fnv1a64(const char *s, size_t len) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (size_t i = 0; i < len; i++) {
    h ^= (unsigned char)s[i];
    h *= 0x100000001b3ULL;
  }
  return h;
}

void dl_hash_hex(uint64_t h, char out[17]) {
  static const char digits[] = "0123456789abcdef";
  for (int i = 15; i >= 0; i--) {
    out[i] = digits[h & 0xf];
    h >>= 4;
  }
  out[16] = '\0';
}
