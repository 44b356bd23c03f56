/* C tests of the pack core: run by `make ctest`; prints `ok N` / `not ok N`
 * and a final `N passed, N failed`; exits non-zero on any failure. */
#include "../../src/pack.h"
#include "check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GiB ((int64_t)1 << 30)

/* two dimensions: memory bytes, millicores */
static int pack2(size_t ni, size_t nb, const int64_t *need, const int64_t *cap,
                 int strategy, int32_t *place, int64_t *used) {
  return dl_pack(ni, nb, 2, need, cap, strategy, place, used);
}

static int same32(const int32_t *a, const int32_t *b, size_t n) {
  return memcmp(a, b, n * sizeof *a) == 0;
}

static void test_basics(void) {
  int32_t place[8];
  int64_t used[8];

  check(pack2(0, 0, NULL, NULL, DL_PACK_BEST, place, used) == DL_PACK_OK,
        "nothing into nothing");

  int64_t one[] = {GiB, 500};
  check(pack2(1, 0, one, NULL, DL_PACK_BEST, place, used) == DL_PACK_OK &&
            place[0] == -1,
        "an item without bins is unplaced");

  int64_t bin[] = {4 * GiB, 2000};
  check(pack2(0, 1, NULL, bin, DL_PACK_BEST, place, used) == DL_PACK_OK &&
            used[0] == 0 && used[1] == 0,
        "a bin without items is empty");

  /* exact fit: 0.7 + 0.3 cpu and 3 + 1 GiB fill the bin with nothing over */
  int64_t exact[] = {3 * GiB, 700, 1 * GiB, 300};
  check(pack2(2, 1, exact, bin, DL_PACK_BEST, place, used) == DL_PACK_OK &&
            place[0] == 0 && place[1] == 0 && used[0] == 4 * GiB &&
            used[1] == 1000,
        "exact fit in memory");
  int64_t full_cpu[] = {GiB, 1500, GiB, 500};
  check(pack2(2, 1, full_cpu, bin, DL_PACK_BEST, place, used) == DL_PACK_OK &&
            place[0] == 0 && place[1] == 0 && used[1] == 2000,
        "exact fit in cpu");

  /* larger than any bin in one dimension */
  int64_t big[] = {8 * GiB, 100, GiB, 100};
  pack2(2, 1, big, bin, DL_PACK_BEST, place, used);
  check(place[0] == -1 && place[1] == 0 && used[0] == GiB,
        "too much memory for any bin, the rest still packs");
  int64_t wide[] = {GiB, 2001};
  pack2(1, 1, wide, bin, DL_PACK_BEST, place, used);
  check(place[0] == -1, "one millicore too many");

  /* zero sizes fit anywhere, even a full bin */
  int64_t zero[] = {0, 0};
  int64_t empty_bin[] = {0, 0};
  pack2(1, 1, zero, empty_bin, DL_PACK_BEST, place, used);
  check(place[0] == 0, "a zero item fits a zero bin");
}

static void test_strategies(void) {
  int32_t place[8];
  int64_t used[8];
  /* bins: small (2 GiB), big (8 GiB); items 1 GiB each */
  int64_t bins[] = {8 * GiB, 4000, 2 * GiB, 1000};
  int64_t items[] = {GiB, 100, GiB, 100};

  pack2(2, 2, items, bins, DL_PACK_BEST, place, used);
  check(same32(place, (int32_t[]){1, 1}, 2), "best fit fills the small bin");
  pack2(2, 2, items, bins, DL_PACK_FIRST, place, used);
  check(same32(place, (int32_t[]){0, 0}, 2), "first fit takes the first bin");
  pack2(2, 2, items, bins, DL_PACK_WORST, place, used);
  check(same32(place, (int32_t[]){0, 0}, 2), "worst fit keeps to the roomy");

  int64_t even[] = {4 * GiB, 2000, 4 * GiB, 2000};
  pack2(2, 2, items, even, DL_PACK_WORST, place, used);
  check(same32(place, (int32_t[]){0, 1}, 2), "worst fit spreads");
  pack2(2, 2, items, even, DL_PACK_BEST, place, used);
  check(same32(place, (int32_t[]){0, 0}, 2), "best fit stacks, ties early");

  /* decreasing: the big item goes first although listed last, so all fit */
  int64_t cap[] = {4 * GiB, 4000, 2 * GiB, 4000};
  int64_t seq[] = {2 * GiB, 100, 4 * GiB, 100};
  pack2(2, 2, seq, cap, DL_PACK_FIRST, place, used);
  check(same32(place, (int32_t[]){1, 0}, 2), "largest item is placed first");

  /* the size is the larger fraction: cpu-heavy item outranks memory */
  int64_t one_bin[] = {4 * GiB, 4000};
  int64_t mixed[] = {2 * GiB, 100, GiB, 3900, 2 * GiB, 100};
  pack2(3, 1, mixed, one_bin, DL_PACK_BEST, place, used);
  check(same32(place, (int32_t[]){0, 0, -1}, 3),
        "cpu-heavy item first, ties in input order");
}

static void test_invalid(void) {
  int32_t place[2];
  int64_t used[2];
  int64_t neg[] = {-1, 0}, bin[] = {1, 1}, huge[] = {DL_PACK_MAX + 1, 0};
  check(pack2(1, 1, neg, bin, DL_PACK_BEST, place, used) == DL_PACK_EINVAL,
        "negative size refused");
  check(pack2(1, 1, bin, huge, DL_PACK_BEST, place, used) == DL_PACK_EINVAL,
        "size past 2^53 refused");
  check(dl_pack(1, 1, 0, bin, bin, DL_PACK_BEST, place, used) == DL_PACK_EINVAL,
        "no dimensions refused");
  check(pack2(1, 1, bin, bin, 7, place, used) == DL_PACK_EINVAL,
        "unknown strategy refused");
}

/* many items: every bin within capacity, and same answer twice */
static void test_many(void) {
  enum { N = 1000, B = 50 };
  int64_t *need = malloc(N * 2 * sizeof *need),
          *cap = malloc(B * 2 * sizeof *cap);
  int64_t *used = malloc(B * 2 * sizeof *used),
          *sum = calloc(B * 2, sizeof *sum);
  int32_t *place = malloc(N * sizeof *place),
          *again = malloc(N * sizeof *again);
  if (!need || !cap || !used || !sum || !place || !again) {
    check(0, "allocate");
    return;
  }
  srand(7);
  for (int b = 0; b < B; b++) {
    cap[2 * b] = (1 + rand() % 16) * GiB;
    cap[2 * b + 1] = 1000 * (1 + rand() % 8);
  }
  for (int i = 0; i < N; i++) {
    need[2 * i] = (int64_t)(rand() % 2048) << 20;
    need[2 * i + 1] = rand() % 2000;
  }
  int ok = 1;
  for (int s = DL_PACK_BEST; s <= DL_PACK_WORST; s++) {
    memset(sum, 0, B * 2 * sizeof *sum);
    ok &= pack2(N, B, need, cap, s, place, used) == DL_PACK_OK;
    pack2(N, B, need, cap, s, again, used);
    ok &= same32(place, again, N);
    for (int i = 0; i < N; i++)
      if (place[i] >= 0) {
        sum[2 * place[i]] += need[2 * i];
        sum[2 * place[i] + 1] += need[2 * i + 1];
      }
    for (int k = 0; k < 2 * B; k++)
      ok &= sum[k] == used[k] && used[k] <= cap[k];
    /* nothing unplaced would have fit where it was left out */
    for (int i = 0; i < N; i++)
      if (place[i] < 0)
        for (int b = 0; b < B; b++)
          ok &= !(used[2 * b] + need[2 * i] <= cap[2 * b] &&
                  used[2 * b + 1] + need[2 * i + 1] <= cap[2 * b + 1]);
  }
  check(ok, "1000 items into 50 bins: within capacity, deterministic");
  free(need);
  free(cap);
  free(used);
  free(sum);
  free(place);
  free(again);
}

int main(void) {
  test_basics();
  test_strategies();
  test_invalid();
  test_many();
  return done();
}
