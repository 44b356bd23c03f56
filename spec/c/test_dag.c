/* C tests of the dag core: run by `make ctest`; prints `ok N` / `not ok N`
 * and a final `N passed, N failed`; exits non-zero on any failure. */
#include "../../src/dag.h"
#include "check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* builds a graph from "deps of node i" lists terminated by -1 */
typedef struct {
  dl_dag g;
  uint32_t start[64], deps[256];
  uint32_t order[64], level[64], cycle[65];
  size_t cycle_len;
  int rc;
} run;

static void build(run *r, size_t n, const int *lists) {
  size_t m = 0, at = 0;
  for (size_t i = 0; i < n; i++) {
    r->start[i] = (uint32_t)m;
    while (lists[at] >= 0)
      r->deps[m++] = (uint32_t)lists[at++];
    at++;
  }
  r->start[n] = (uint32_t)m;
  r->g.n = n;
  r->g.start = r->start;
  r->g.deps = r->deps;
  r->rc = dl_dag_order(&r->g, r->order, r->level, r->cycle, &r->cycle_len);
}

static int same(const uint32_t *a, const uint32_t *b, size_t n) {
  return memcmp(a, b, n * sizeof *a) == 0;
}

static void test_small(void) {
  run r;
  build(&r, 0, (const int[]){-1});
  check(r.rc == DL_DAG_OK, "empty graph is ordered");

  /* diamond: 0 <- 1, 2 <- 3 (3 needs 1 and 2, both need 0) */
  build(&r, 4, (const int[]){-1, 0, -1, 0, -1, 1, 2, -1});
  check(r.rc == DL_DAG_OK, "diamond is ordered");
  check(same(r.order, (uint32_t[]){0, 1, 2, 3}, 4), "diamond order");
  check(same(r.level, (uint32_t[]){1, 2, 2, 3}, 4), "diamond levels");

  /* ties go to the smallest id, not to insertion or depth */
  build(&r, 4, (const int[]){3, -1, -1, 1, -1, -1});
  check(r.rc == DL_DAG_OK && same(r.order, (uint32_t[]){1, 2, 3, 0}, 4),
        "ready nodes leave by smallest id");
  check(same(r.level, (uint32_t[]){2, 1, 2, 1}, 4), "levels of a forest");

  /* repeated edges count once per edge and still resolve */
  build(&r, 2, (const int[]){1, 1, -1, -1});
  check(r.rc == DL_DAG_OK && same(r.order, (uint32_t[]){1, 0}, 2),
        "repeated edge");

  /* level is the longest path, not the shortest */
  build(&r, 4, (const int[]){-1, 0, -1, 1, -1, 0, 2, -1});
  check(same(r.level, (uint32_t[]){1, 2, 3, 4}, 4), "level is longest path");
}

static void test_cycles(void) {
  run r;
  build(&r, 1, (const int[]){0, -1});
  check(r.rc == DL_DAG_CYCLE, "self loop is a cycle");
  check(r.cycle_len == 2 && same(r.cycle, (uint32_t[]){0, 0}, 2),
        "self loop path is a -> a");

  /* 0 -> 1 -> 2 -> 0 */
  build(&r, 3, (const int[]){1, -1, 2, -1, 0, -1});
  check(r.rc == DL_DAG_CYCLE && r.cycle_len == 4 &&
            same(r.cycle, (uint32_t[]){0, 1, 2, 0}, 4),
        "three-cycle path starts at the smallest id");

  /* 0 needs the cycle 3 -> 1 -> 2 -> 3 but is not on it */
  build(&r, 4, (const int[]){3, -1, 2, -1, 3, -1, 1, -1});
  check(r.rc == DL_DAG_CYCLE && r.cycle_len == 4 &&
            same(r.cycle, (uint32_t[]){1, 2, 3, 1}, 4),
        "cycle reached through a node outside it");

  /* a fine part plus a two-cycle */
  build(&r, 4, (const int[]){-1, 0, -1, 3, 1, -1, 2, -1});
  check(r.rc == DL_DAG_CYCLE && r.cycle_len == 3 &&
            same(r.cycle, (uint32_t[]){2, 3, 2}, 3),
        "two-cycle beside a valid part");
}

/* large random DAGs: every edge respected, levels consistent */
static void test_random(void) {
  enum { N = 10000, D = 4 };
  uint32_t *start = malloc((N + 1) * sizeof *start);
  uint32_t *deps = malloc(N * D * sizeof *deps);
  uint32_t *order = malloc(N * sizeof *order),
           *level = malloc(N * sizeof *level);
  uint32_t *cycle = malloc((N + 1) * sizeof *cycle),
           *pos = malloc(N * sizeof *pos);
  uint32_t *perm = malloc(N * sizeof *perm), *rank = malloc(N * sizeof *rank);
  if (!start || !deps || !order || !level || !cycle || !pos || !perm || !rank) {
    check(0, "allocate");
    return;
  }
  srand(42);
  for (uint32_t i = 0; i < N; i++)
    perm[i] = i;
  for (uint32_t i = N - 1; i > 0; i--) {
    uint32_t j = (uint32_t)rand() % (i + 1), t = perm[i];
    perm[i] = perm[j];
    perm[j] = t;
  }
  /* node perm[k] depends on some perm[j], j < k: acyclic, ids shuffled */
  uint32_t m = 0;
  for (uint32_t k = 0; k < N; k++)
    rank[perm[k]] = k;
  for (uint32_t i = 0; i < N; i++) {
    start[i] = m;
    int nd = rank[i] == 0 ? 0 : rand() % (D + 1);
    for (int d = 0; d < nd; d++)
      deps[m++] = perm[(uint32_t)rand() % rank[i]];
  }
  start[N] = m;
  dl_dag g = {N, start, deps};
  size_t cl;
  int rc = dl_dag_order(&g, order, level, cycle, &cl);
  check(rc == DL_DAG_OK, "random DAG of 10000 nodes is ordered");
  for (uint32_t k = 0; k < N; k++)
    pos[order[k]] = k;
  int good = 1, levels = 1;
  for (uint32_t i = 0; i < N; i++) {
    uint32_t want = 1;
    for (uint32_t e = start[i]; e < start[i + 1]; e++) {
      if (pos[deps[e]] >= pos[i])
        good = 0;
      if (level[deps[e]] + 1 > want)
        want = level[deps[e]] + 1;
    }
    if (level[i] != want)
      levels = 0;
  }
  check(good, "every dependency comes first");
  check(levels, "every level is 1 + its highest dependency");

  /* a ring in shuffled ids: perm[k] needs perm[k - 1], perm[0] needs the last
   */
  uint32_t root = perm[0];
  m = 0;
  for (uint32_t i = 0; i < N; i++) {
    start[i] = m;
    if (i == root)
      deps[m++] = perm[N - 1];
    else if (rank[i] > 0)
      deps[m++] = perm[rank[i] - 1];
  }
  start[N] = m;
  rc = dl_dag_order(&g, order, level, cycle, &cl);
  check(rc == DL_DAG_CYCLE && cl == N + 1, "10000-node ring is one cycle");
  int ring = cycle[0] == 0 && cycle[N] == cycle[0];
  for (size_t k = 0; ring && k < N; k++) {
    uint32_t u = cycle[k], v = cycle[k + 1];
    ring = start[u + 1] - start[u] == 1 && deps[start[u]] == v;
  }
  check(ring, "ring path follows the edges from the smallest id");
  free(start);
  free(deps);
  free(order);
  free(level);
  free(cycle);
  free(pos);
  free(perm);
  free(rank);
}

int main(void) {
  test_small();
  test_cycles();
  test_random();
  return done();
}
