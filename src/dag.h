/* dag: topological order, dependency levels and cycle paths over integer ids.
 * Pure C (no Lua); the binding src/l_dag.c maps names to ids. */
#ifndef DELOC_DAG_H
#define DELOC_DAG_H

#include <stddef.h>
#include <stdint.h>

/* A graph in compressed rows: node i (0 <= i < n) depends on the nodes
 * deps[start[i]] .. deps[start[i + 1] - 1].  A node's dependencies come
 * before it in every order.  Repeated edges are allowed. */
typedef struct {
  size_t n;
  const uint32_t *start; /* n + 1 entries, start[0] == 0 */
  const uint32_t *deps;  /* start[n] entries, each < n */
} dl_dag;

enum { DL_DAG_OK = 0, DL_DAG_CYCLE = 1, DL_DAG_NOMEM = -1 };

/* Orders the nodes, dependencies first; among nodes that are ready at the
 * same time the smallest id goes first (so ids given in name order break ties
 * by name).  order[] and level[] hold n entries: level[i] is 1 for a node
 * without dependencies, else 1 + the highest level of its dependencies.
 *
 * DL_DAG_CYCLE: cycle[] (n + 1 entries) receives one cycle as a closed path
 * c0 -> c1 -> ... -> c0 (each depends on the next), starting at its smallest
 * id; *cycle_len counts the entries including the repeated c0, so a self loop
 * gives {a, a} and 2.  order[]/level[] are then unspecified. */
int dl_dag_order(const dl_dag *g, uint32_t *order, uint32_t *level,
                 uint32_t *cycle, size_t *cycle_len);

#endif
