/* C tests of the hash core: run by `make ctest`; prints `ok N` / `not ok N`
 * and a final `N passed, N failed`; exits non-zero on any failure. */
#include "../../src/hash.h"
#include "check.h"

#include <stdio.h>
#include <string.h>

static int hex_of(const char *s, size_t len, const char *want) {
  char out[17];
  dl_hash_hex(dl_hash_fnv1a64(s, len), out);
  return strcmp(out, want) == 0;
}

int main(void) {
  /* the published FNV-1a 64 test vectors */
  check(hex_of("", 0, "cbf29ce484222325"), "empty input is the offset basis");
  check(hex_of("a", 1, "af63dc4c8601ec8c"), "\"a\"");
  check(hex_of("foobar", 6, "85944171f73967e8"), "\"foobar\"");
  check(hex_of("a\0b", 3, "e5d29919042666b2"), "a NUL byte counts");
  check(hex_of("ab", 2, "089c4407b545986a"), "\"ab\" differs from \"a\\0b\"");
  return done();
}
