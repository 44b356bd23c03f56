/* deloc.native.dag: the binding of the dag core (src/dag.h).  It maps node
 * names to ids given in name order, so the core's smallest-id tie break is a
 * by-name tie break; deloc.dag (lua/deloc/dag.lua) words the errors. */
#include <lauxlib.h>
#include <lua.h>
#include <stdlib.h>
#include <string.h>

#include "dag.h"

typedef struct {
  uint64_t head;    /* the first 8 bytes, big-endian: most compares stop here */
  const char *name; /* points into a key of the graph, which stays on stack */
  size_t len;
  uint32_t seen; /* place in the traversal: keys[seen + 1] is the name */
  uint32_t ndeps;
} node;

static int node_cmp(const void *a, const void *b) {
  const node *x = a, *y = b;
  if (x->head != y->head)
    return x->head < y->head ? -1 : 1;
  int c = memcmp(x->name, y->name, x->len < y->len ? x->len : y->len);
  if (c != 0)
    return c;
  return (x->len > y->len) - (x->len < y->len);
}

/* Scratch lives in one userdata so a raise below frees it with the GC. */
typedef struct {
  node *nodes;
  uint32_t *start, *deps, *order, *level, *cycle;
} scratch;

static void *scratch_new(lua_State *L, scratch *s, size_t n, size_t m) {
  size_t bytes =
      n * sizeof(node) + (n + 1 + m + n + n + n + 1) * sizeof(uint32_t);
  char *p = lua_newuserdata(L, bytes ? bytes : 1);
  s->nodes = (node *)p;
  s->start = (uint32_t *)(p + n * sizeof(node));
  s->deps = s->start + n + 1;
  s->order = s->deps + m;
  s->level = s->order + n;
  s->cycle = s->level + n;
  return p;
}

#define GRAPH 1
#define KEYS 3 /* names in traversal order */
#define SEEN 4 /* name -> place in the traversal */

/* dag.order(graph) -> order, levels | nil, "cycle", path
 *                                   | nil, "missing", from, name */
static int l_dag_order(lua_State *L) {
  size_t n = 0, m = 0;
  luaL_checktype(L, GRAPH, LUA_TTABLE);
  lua_settop(L, GRAPH);
  lua_pushnil(L);
  while (lua_next(L, GRAPH) != 0) {
    if (lua_type(L, -2) != LUA_TSTRING)
      return luaL_error(L, "graph: node names must be strings, got a %s",
                        luaL_typename(L, -2));
    if (lua_type(L, -1) != LUA_TTABLE)
      return luaL_error(L, "graph['%s']: expected a list of names, got a %s",
                        lua_tostring(L, -2), luaL_typename(L, -1));
    m += lua_objlen(L, -1);
    n++;
    lua_pop(L, 1);
  }
  if (n >= UINT32_MAX || m >= UINT32_MAX)
    return luaL_error(L, "graph: too many nodes or edges");

  scratch s;
  scratch_new(L, &s, n, m);      /* [graph, scratch] */
  lua_createtable(L, (int)n, 0); /* [graph, scratch, keys] */
  lua_createtable(L, 0, (int)n); /* [graph, scratch, keys, seen] */
  size_t i = 0;
  lua_pushnil(L);
  while (lua_next(L, GRAPH) != 0) {
    if (i >= n) /* only a finalizer run by the GC above could do this */
      return luaL_error(L, "graph: changed while being read");
    s.nodes[i].name = lua_tolstring(L, -2, &s.nodes[i].len);
    s.nodes[i].head = 0;
    for (size_t k = 0; k < 8; k++)
      s.nodes[i].head = s.nodes[i].head << 8 |
                        (k < s.nodes[i].len ? (uint8_t)s.nodes[i].name[k] : 0);
    s.nodes[i].seen = (uint32_t)i;
    s.nodes[i].ndeps = (uint32_t)lua_objlen(L, -1);
    lua_pop(L, 1); /* [..., seen, key] */
    lua_pushvalue(L, -1);
    lua_rawseti(L, KEYS, (int)i + 1);
    lua_pushvalue(L, -1);
    lua_pushinteger(L, (lua_Integer)i);
    lua_rawset(L, SEEN);
    i++;
  }
  if (i != n)
    return luaL_error(L, "graph: changed while being read");
  qsort(s.nodes, n, sizeof(node), node_cmp);
  /* order[] is free until the core runs: id of each traversal place */
  uint32_t *id_of = s.order;
  for (i = 0; i < n; i++)
    id_of[s.nodes[i].seen] = (uint32_t)i;
  s.start[0] = 0;
  for (i = 0; i < n; i++)
    s.start[i + 1] = s.start[i] + s.nodes[i].ndeps;

  /* ids in name order, deps in list order: the first missing one reported is
   * the same on every run */
  for (i = 0; i < n; i++) {
    lua_rawgeti(L, KEYS, (int)s.nodes[i].seen + 1);
    lua_rawget(L, GRAPH); /* [..., deps] */
    for (uint32_t j = 0; j < s.nodes[i].ndeps; j++) {
      lua_rawgeti(L, -1, (int)j + 1); /* [..., deps, dep] */
      if (lua_type(L, -1) != LUA_TSTRING)
        return luaL_error(L, "graph['%s'][%d]: expected a name, got a %s",
                          s.nodes[i].name, (int)j + 1, luaL_typename(L, -1));
      lua_pushvalue(L, -1);
      lua_rawget(L, SEEN); /* [..., deps, dep, place] */
      if (lua_isnil(L, -1)) {
        lua_pushnil(L);
        lua_pushliteral(L, "missing");
        lua_pushlstring(L, s.nodes[i].name, s.nodes[i].len);
        lua_pushvalue(L, -5); /* dep */
        return 4;
      }
      s.deps[s.start[i] + j] = id_of[lua_tointeger(L, -1)];
      lua_pop(L, 2); /* [..., deps] */
    }
    lua_pop(L, 1);
  }

  dl_dag g = {n, s.start, s.deps};
  size_t cycle_len;
  int rc = dl_dag_order(&g, s.order, s.level, s.cycle, &cycle_len);
  if (rc == DL_DAG_NOMEM)
    return luaL_error(L, "not enough memory");
  if (rc == DL_DAG_CYCLE) {
    lua_pushnil(L);
    lua_pushliteral(L, "cycle");
    lua_createtable(L, (int)cycle_len, 0);
    for (i = 0; i < cycle_len; i++) {
      lua_rawgeti(L, KEYS, (int)s.nodes[s.cycle[i]].seen + 1);
      lua_rawseti(L, -2, (int)i + 1);
    }
    return 3;
  }

  lua_createtable(L, (int)n, 0); /* [..., order] */
  uint32_t nlevels = 0;
  for (i = 0; i < n; i++) {
    lua_rawgeti(L, KEYS, (int)s.nodes[s.order[i]].seen + 1);
    lua_rawseti(L, -2, (int)i + 1);
    if (s.level[i] > nlevels)
      nlevels = s.level[i];
  }
  /* start[] is free now: the size of each level, then its fill */
  uint32_t *count = s.start;
  memset(count, 0, (n + 1) * sizeof *count);
  for (i = 0; i < n; i++)
    count[s.level[i]]++;
  lua_createtable(L, (int)nlevels, 0); /* [..., order, levels] */
  for (uint32_t l = 1; l <= nlevels; l++) {
    lua_createtable(L, (int)count[l], 0);
    lua_rawseti(L, -2, (int)l);
    count[l] = 0;
  }
  for (i = 0; i < n; i++) { /* ids ascend, so each level comes out sorted */
    lua_rawgeti(L, -1, (int)s.level[i]);
    lua_rawgeti(L, KEYS, (int)s.nodes[i].seen + 1);
    lua_rawseti(L, -2, (int)++count[s.level[i]]);
    lua_pop(L, 1);
  }
  return 2;
}

int luaopen_deloc_native_dag(lua_State *L) {
  static const luaL_Reg fns[] = {{"order", l_dag_order}, {NULL, NULL}};
  lua_createtable(L, 0, 1);
  luaL_register(L, NULL, fns);
  return 1;
}
