/* dag: Kahn's algorithm with a min-heap, so the order is the smallest one by
 * id among all valid orders; what Kahn leaves behind contains a cycle, and a
 * walk along unresolved dependencies finds one. */
#include "dag.h"

#include <stdlib.h>

static void heap_push(uint32_t *heap, size_t *len, uint32_t v) {
  size_t i = (*len)++;
  while (i > 0) {
    size_t parent = (i - 1) / 2;
    if (heap[parent] <= v)
      break;
    heap[i] = heap[parent];
    i = parent;
  }
  heap[i] = v;
}

static uint32_t heap_pop(uint32_t *heap, size_t *len) {
  uint32_t top = heap[0], last = heap[--*len];
  size_t i = 0, n = *len;
  for (;;) {
    size_t child = 2 * i + 1;
    if (child >= n)
      break;
    if (child + 1 < n && heap[child + 1] < heap[child])
      child++;
    if (heap[child] >= last)
      break;
    heap[i] = heap[child];
    i = child;
  }
  if (n > 0)
    heap[i] = last;
  return top;
}

/* Every node left with remaining[] > 0 has an unresolved dependency that is
 * itself left, so following them from any such node must revisit a node. */
static void find_cycle(const dl_dag *g, const uint32_t *remaining,
                       uint32_t *pos, uint32_t *cycle, size_t *cycle_len) {
  const uint32_t unseen = UINT32_MAX;
  size_t n = g->n, len = 0;
  uint32_t u = 0;
  for (size_t i = 0; i < n; i++)
    pos[i] = unseen;
  while (u < n && remaining[u] == 0)
    u++;
  /* cycle[] doubles as the walk; pos[] is each node's place in it */
  while (pos[u] == unseen) {
    pos[u] = (uint32_t)len;
    cycle[len++] = u;
    for (uint32_t e = g->start[u]; e < g->start[u + 1]; e++) {
      if (remaining[g->deps[e]] > 0) {
        u = g->deps[e];
        break;
      }
    }
  }
  size_t first = pos[u], k = len - first, min_at = first;
  for (size_t i = first; i < len; i++)
    if (cycle[i] < cycle[min_at])
      min_at = i;
  /* the walk is no longer needed: pos[] holds the rotated cycle */
  for (size_t i = 0; i < k; i++)
    pos[i] = cycle[first + (min_at - first + i) % k];
  for (size_t i = 0; i < k; i++)
    cycle[i] = pos[i];
  cycle[k] = cycle[0];
  *cycle_len = k + 1;
}

int dl_dag_order(const dl_dag *g, uint32_t *order, uint32_t *level,
                 uint32_t *cycle, size_t *cycle_len) {
  size_t n = g->n, m = n ? g->start[n] : 0;
  *cycle_len = 0;
  if (n == 0)
    return DL_DAG_OK;
  /* dependents in compressed rows: rstart[d] .. rstart[d + 1] of rdeps[] */
  uint32_t *rstart = calloc(n + 1, sizeof *rstart);
  uint32_t *rdeps = malloc((m ? m : 1) * sizeof *rdeps);
  uint32_t *remaining = malloc(n * sizeof *remaining);
  uint32_t *heap = malloc(n * sizeof *heap);
  if (!rstart || !rdeps || !remaining || !heap) {
    free(rstart);
    free(rdeps);
    free(remaining);
    free(heap);
    return DL_DAG_NOMEM;
  }
  for (size_t e = 0; e < m; e++)
    rstart[g->deps[e] + 1]++;
  for (size_t i = 0; i < n; i++)
    rstart[i + 1] += rstart[i];
  /* heap[] is free until Kahn starts: use it as the fill cursor */
  for (size_t i = 0; i < n; i++)
    heap[i] = rstart[i];
  for (size_t i = 0; i < n; i++) {
    for (uint32_t e = g->start[i]; e < g->start[i + 1]; e++)
      rdeps[heap[g->deps[e]]++] = (uint32_t)i;
    remaining[i] = g->start[i + 1] - g->start[i];
  }

  size_t hlen = 0, done = 0;
  for (size_t i = 0; i < n; i++)
    if (remaining[i] == 0)
      heap_push(heap, &hlen, (uint32_t)i);
  while (hlen > 0) {
    uint32_t u = heap_pop(heap, &hlen), lv = 0;
    for (uint32_t e = g->start[u]; e < g->start[u + 1]; e++)
      if (level[g->deps[e]] > lv)
        lv = level[g->deps[e]];
    level[u] = lv + 1;
    order[done++] = u;
    for (uint32_t e = rstart[u]; e < rstart[u + 1]; e++)
      if (--remaining[rdeps[e]] == 0)
        heap_push(heap, &hlen, rdeps[e]);
  }

  int rc = DL_DAG_OK;
  if (done < n) {
    find_cycle(g, remaining, heap, cycle, cycle_len);
    rc = DL_DAG_CYCLE;
  }
  free(rstart);
  free(rdeps);
  free(remaining);
  free(heap);
  return rc;
}
