/* C tests of the SHA-1 core: run by `make ctest`; prints `ok N` / `not ok N`
 * and a final `N passed, N failed`; exits non-zero on any failure. */
#include "../../src/sha1.h"
#include "check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int digest_is(const void *s, size_t len, const char *want) {
  uint8_t d[20];
  char hex[41];
  dl_sha1(s, len, d);
  for (int i = 0; i < 20; i++)
    snprintf(hex + 2 * i, 3, "%02x", d[i]);
  return strcmp(hex, want) == 0;
}

int main(void) {
  /* FIPS 180-4's examples (csrc.nist.gov SHA1.pdf) and RFC 3174's */
  check(digest_is("abc", 3, "a9993e364706816aba3e25717850c26c9cd0d89d"),
        "\"abc\" (one block)");
  const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  check(digest_is(two, strlen(two), "84983e441c3bd26ebaae4aa1f95129e5e54670f1"),
        "56 bytes: the length spills into a second block");
  check(digest_is("", 0, "da39a3ee5e6b4b0d3255bfef95601890afd80709"),
        "empty input");
  size_t n = 1000000;
  char *a = malloc(n);
  if (a) {
    memset(a, 'a', n);
    check(digest_is(a, n, "34aa973cd4c4daa4f61eeb2bdbad27316534016f"),
          "a million 'a's (many blocks)");
    free(a);
  }
  char b[64];
  memset(b, 'b', sizeof b);
  /* digest from Python's hashlib.sha1(b"b" * 64) */
  check(digest_is(b, 64, "9d682ff9a7018603023176b8c12926c6a15510ee"),
        "exactly one block of data, padding in a block of its own");
  return done();
}
