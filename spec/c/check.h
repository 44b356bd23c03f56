/* The C tests' one reporter: `ok N - what` / `not ok N - what` per check,
 * and a last line `N passed, N failed` (what spec/run and .ci/run count);
 * done() is main's exit status.  One test program includes it once. */
#ifndef DELOC_SPEC_CHECK_H
#define DELOC_SPEC_CHECK_H

#include <stdio.h>

static int passed, failed;

static void check(int cond, const char *what) {
  int n = passed + failed + 1;
  if (cond) {
    passed++;
    printf("ok %d - %s\n", n, what);
  } else {
    failed++;
    printf("not ok %d - %s\n", n, what);
  }
}

static int done(void) {
  printf("%d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}

#endif
