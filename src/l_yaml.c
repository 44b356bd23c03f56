/* deloc.native.yaml: the yaml.c tree to Lua tables, and Lua tables into the
 * yaml.c emitter.  Policy (defaults, option checks, wording) lives in
 * lua/deloc/yaml.lua. */
#include <lauxlib.h>
#include <lua.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "yaml.h"

#define DOC_MT "deloc.yaml.doc"
#define EMITTER_MT "deloc.yaml.emitter"
#define DUMP_MAX_DEPTH 200

/* ---- load ------------------------------------------------------------ */

static int doc_gc(lua_State *L) {
  dl_yaml_doc_free(luaL_checkudata(L, 1, DOC_MT));
  return 0;
}

typedef struct {
  lua_State *L;
  const dl_yaml_doc *doc;
  int seq_mt; /* stack index, 0 for none */
  int marks;  /* stack index of the marks table, 0 when not asked */
} builder;

static void push_pos(lua_State *L, const dl_yaml_node *n) {
  lua_createtable(L, 0, 2);
  lua_pushinteger(L, n->line);
  lua_setfield(L, -2, "line");
  lua_pushinteger(L, n->col);
  lua_setfield(L, -2, "col");
}

static void push_key(lua_State *L, const dl_yaml_doc *doc,
                     const dl_yaml_node *k) {
  switch (k->type) {
  case DL_YAML_BOOL:
    lua_pushboolean(L, k->v.boolean);
    break;
  case DL_YAML_NUMBER:
    lua_pushnumber(L, k->v.num);
    break;
  default: /* the core admits only scalars as keys */
    lua_pushlstring(L, doc->strings + k->v.str.off, k->v.str.len);
  }
}

/* Pushes a new marks entry for the table on top: [t] -> [t, entry]. */
static void new_entry(builder *b, const dl_yaml_node *n, int map) {
  lua_State *L = b->L;
  lua_createtable(L, 0, 4);
  lua_pushinteger(L, n->line);
  lua_setfield(L, -2, "line");
  lua_pushinteger(L, n->col);
  lua_setfield(L, -2, "col");
  if (map) {
    lua_newtable(L);
    lua_setfield(L, -2, "keys");
  }
  lua_newtable(L);
  lua_setfield(L, -2, "values");
  lua_pushvalue(L, -2);
  lua_pushvalue(L, -2);
  lua_rawset(L, b->marks); /* marks[t] = entry */
}

static void build(builder *b, uint32_t idx);

/* Copies into map `t` the keys of the mapping node `src` that it lacks. */
static void merge_from(builder *b, int t, int entry, uint32_t src) {
  lua_State *L = b->L;
  build(b, src); /* [s] */
  int s = lua_gettop(L);
  int sentry = 0;
  if (b->marks) {
    lua_pushvalue(L, s);
    lua_rawget(L, b->marks); /* [s, sentry] */
    sentry = lua_gettop(L);
    lua_pushvalue(L, s);
    lua_pushnil(L);
    lua_rawset(L, b->marks); /* the merged-from copy is not handed out */
  }
  lua_pushnil(L);
  while (lua_next(L, s)) { /* [.., k, v] */
    lua_pushvalue(L, -2);
    lua_rawget(L, t);
    int absent = lua_isnil(L, -1);
    lua_pop(L, 1);
    if (absent) {
      lua_pushvalue(L, -2);
      lua_insert(L, -2);
      lua_rawset(L, t); /* [.., k] */
      if (b->marks) {
        for (int w = 0; w < 2; w++) {
          const char *field = w ? "values" : "keys";
          lua_getfield(L, sentry, field);
          lua_pushvalue(L, -2);
          lua_rawget(L, -2); /* [.., k, from, pos] */
          lua_getfield(L, entry, field);
          lua_pushvalue(L, -4);
          lua_pushvalue(L, -3);
          lua_rawset(L, -3);
          lua_pop(L, 3);
        }
      }
    } else {
      lua_pop(L, 1);
    }
  }
  lua_settop(L, s - 1);
}

static void build_map(builder *b, const dl_yaml_node *n) {
  lua_State *L = b->L;
  const dl_yaml_doc *doc = b->doc;
  lua_createtable(L, 0, (int)n->v.kids.count); /* [t] */
  int t = lua_gettop(L), entry = 0, keys = 0, values = 0, merges = 0;
  if (b->marks) {
    new_entry(b, n, 1); /* [t, entry] */
    entry = lua_gettop(L);
    lua_getfield(L, entry, "keys");
    lua_getfield(L, entry, "values"); /* [t, entry, keys, values] */
    keys = entry + 1;
    values = entry + 2;
  }
  for (uint32_t i = 0; i < n->v.kids.count; i++) {
    const dl_yaml_node *kn = &doc->nodes[doc->kids[n->v.kids.first + 2 * i]];
    uint32_t vi = doc->kids[n->v.kids.first + 2 * i + 1];
    if (kn->flags & DL_YAML_MERGE) {
      merges++;
      continue;
    }
    push_key(L, doc, dl_yaml_deref(doc, kn));
    build(b, vi);
    if (b->marks) {
      lua_pushvalue(L, -2);
      push_pos(L, kn);
      lua_rawset(L, keys);
      lua_pushvalue(L, -2);
      push_pos(L, &doc->nodes[vi]);
      lua_rawset(L, values);
    }
    lua_rawset(L, t);
  }
  /* merged keys never override the mapping's own, and earlier sources
   * override later ones (the YAML merge key rules) */
  for (uint32_t i = 0; merges > 0 && i < n->v.kids.count; i++) {
    const dl_yaml_node *kn = &doc->nodes[doc->kids[n->v.kids.first + 2 * i]];
    if (!(kn->flags & DL_YAML_MERGE))
      continue;
    uint32_t vi = doc->kids[n->v.kids.first + 2 * i + 1];
    const dl_yaml_node *v = dl_yaml_deref(doc, &doc->nodes[vi]);
    if (v->type == DL_YAML_MAP) {
      merge_from(b, t, entry, (uint32_t)(v - doc->nodes));
    } else {
      for (uint32_t j = 0; j < v->v.kids.count; j++)
        merge_from(b, t, entry, doc->kids[v->v.kids.first + j]);
    }
  }
  lua_settop(L, t);
}

static void build_seq(builder *b, const dl_yaml_node *n) {
  lua_State *L = b->L;
  const dl_yaml_doc *doc = b->doc;
  lua_createtable(L, (int)n->v.kids.count, 0); /* [t] */
  int t = lua_gettop(L), values = 0;
  if (b->marks) {
    new_entry(b, n, 0);
    lua_getfield(L, -1, "values"); /* [t, entry, values] */
    values = lua_gettop(L);
  }
  for (uint32_t i = 0; i < n->v.kids.count; i++) {
    uint32_t vi = doc->kids[n->v.kids.first + i];
    build(b, vi);
    lua_rawseti(L, t, (int)i + 1);
    if (values) {
      push_pos(L, &doc->nodes[vi]);
      lua_rawseti(L, values, (int)i + 1);
    }
  }
  lua_settop(L, t);
  if (b->seq_mt) {
    lua_pushvalue(L, b->seq_mt);
    lua_setmetatable(L, t);
  }
}

/* Pushes node idx as a Lua value; aliases become copies. */
static void build(builder *b, uint32_t idx) {
  lua_State *L = b->L;
  const dl_yaml_node *n = dl_yaml_deref(b->doc, &b->doc->nodes[idx]);
  if (!lua_checkstack(L, 12))
    luaL_error(L, "yaml: out of Lua stack");
  switch (n->type) {
  case DL_YAML_NULL:
    lua_pushlightuserdata(L, NULL);
    break;
  case DL_YAML_BOOL:
    lua_pushboolean(L, n->v.boolean);
    break;
  case DL_YAML_NUMBER:
    lua_pushnumber(L, n->v.num);
    break;
  case DL_YAML_STRING:
    lua_pushlstring(L, b->doc->strings + n->v.str.off, n->v.str.len);
    break;
  case DL_YAML_MAP:
    build_map(b, n);
    break;
  default:
    build_seq(b, n);
  }
}

/* yaml.load(text, name, max_size, max_depth, max_alias_nodes, seq_mt,
 *           marks, max_alias_bytes) -> value, marks | nil,
 *           "name:line:col: message" */
static int l_yaml_load(lua_State *L) {
  size_t len;
  const char *text = luaL_checklstring(L, 1, &len);
  const char *name = luaL_optstring(L, 2, "<string>");
  dl_yaml_limits lim;
  lim.max_size = (size_t)luaL_optnumber(L, 3, DL_YAML_DEFAULT_MAX_SIZE);
  lim.max_depth = (uint32_t)luaL_optinteger(L, 4, DL_YAML_DEFAULT_MAX_DEPTH);
  lim.max_alias_nodes =
      (uint64_t)luaL_optnumber(L, 5, DL_YAML_DEFAULT_MAX_ALIAS_NODES);
  lim.max_alias_bytes = (uint64_t)luaL_optnumber(
      L, 8, (lua_Number)DL_YAML_DEFAULT_MAX_ALIAS_BYTES);
  if (lim.max_depth < 1 || lim.max_depth > 10000)
    return luaL_argerror(L, 4, "max_depth must be in 1..10000");
  if (!lua_isnoneornil(L, 6))
    luaL_checktype(L, 6, LUA_TTABLE);
  int want_marks = lua_toboolean(L, 7);
  lua_settop(L, 7);
  dl_yaml_doc *doc = lua_newuserdata(L, sizeof *doc); /* [.., doc] */
  dl_yaml_doc_init(doc);
  luaL_getmetatable(L, DOC_MT);
  lua_setmetatable(L, -2);
  if (dl_yaml_load(doc, text, len, name, &lim) != 0) {
    lua_pushnil(L);
    lua_pushstring(L, doc->err);
    return 2;
  }
  builder b = {L, doc, lua_istable(L, 6) ? 6 : 0, 0};
  if (want_marks) {
    lua_newtable(L); /* [.., doc, marks] */
    b.marks = lua_gettop(L);
  }
  if (doc->nnodes == 0) /* an empty stream is a null document */
    lua_pushlightuserdata(L, NULL);
  else
    build(&b, doc->root);
  dl_yaml_doc_free(doc);
  if (want_marks) {
    lua_pushvalue(L, b.marks); /* [.., doc, marks, value, marks] */
    return 2;
  }
  return 1;
}

/* ---- dump ------------------------------------------------------------ */

static int emitter_gc(lua_State *L) {
  dl_yaml_emitter_free(luaL_checkudata(L, 1, EMITTER_MT));
  return 0;
}

typedef struct {
  int type; /* LUA_TBOOLEAN, LUA_TNUMBER, LUA_TSTRING */
  int done;
  double num;
  const char *str;
  size_t len;
} key_desc;

/* One step of the path to the value being written: a key (k), else a
 * sequence index. */
typedef struct {
  const key_desc *k;
  double index;
} path_step;

typedef struct {
  lua_State *L;
  dl_yaml_emitter *e;
  int seq_mt;    /* stack index, 0 for none */
  int key_order; /* stack index of a function, 0 for none */
  int depth;
  const void *open[DUMP_MAX_DEPTH + 1]; /* tables being written: cycles */
  /* the steps to the value being written; the text of the path is made
   * from them only for a message (formatting it at every entry was a good
   * part of the cost of a dump) */
  path_step steps[DUMP_MAX_DEPTH + 1];
  size_t nsteps;
  char path[256];
  size_t plen;
  char err[400];
} dumper;

static void path_text(dumper *d);

static int dump_fail(dumper *d, const char *what) {
  if (d->err[0] == '\0') {
    path_text(d);
    if (d->plen)
      snprintf(d->err, sizeof d->err, "cannot dump %s at '%.*s'", what,
               (int)d->plen, d->path);
    else
      snprintf(d->err, sizeof d->err, "cannot dump %s", what);
  }
  return -1;
}

static int emit_check(dumper *d, int r) {
  if (r == 0)
    return 0;
  return dump_fail(d, d->e->err);
}

/* Appends ".key" or "[i]" to the path shown in messages. */
static void path_append(dumper *d, const key_desc *k, double index) {
  size_t old = d->plen, cap = sizeof d->path;
  int n;
  if (k && k->type == LUA_TSTRING)
    n = snprintf(d->path + old, cap - old, "%s%.*s", old ? "." : "",
                 (int)(k->len > 60 ? 60 : k->len), k->str);
  else if (k && k->type == LUA_TBOOLEAN)
    n = snprintf(d->path + old, cap - old, "[%s]", k->num ? "true" : "false");
  else
    n = snprintf(d->path + old, cap - old, "[%.14g]", k ? k->num : index);
  if (n > 0)
    d->plen = old + (size_t)n < cap ? old + (size_t)n : cap - 1;
}

/* d->path: the steps written out ("a.b[2].c"), cut at its size */
static void path_text(dumper *d) {
  d->plen = 0;
  d->path[0] = '\0';
  for (size_t i = 0; i < d->nsteps; i++)
    path_append(d, d->steps[i].k, d->steps[i].index);
}

/* Goes one step down: a key (k), else the sequence index; returns the
 * step count to restore after the value. */
static size_t path_push(dumper *d, const key_desc *k, double index) {
  size_t old = d->nsteps;
  if (old < sizeof d->steps / sizeof *d->steps) {
    d->steps[old].k = k;
    d->steps[old].index = index;
    d->nsteps = old + 1;
  }
  return old;
}

static int key_cmp(const void *pa, const void *pb) {
  const key_desc *a = pa, *b = pb;
  /* booleans, then numbers, then strings */
  int ra = a->type == LUA_TBOOLEAN ? 0 : a->type == LUA_TNUMBER ? 1 : 2;
  int rb = b->type == LUA_TBOOLEAN ? 0 : b->type == LUA_TNUMBER ? 1 : 2;
  if (ra != rb)
    return ra - rb;
  if (ra < 2)
    return a->num < b->num ? -1 : a->num > b->num;
  size_t n = a->len < b->len ? a->len : b->len;
  int c = memcmp(a->str, b->str, n);
  return c ? c : (a->len > b->len) - (a->len < b->len);
}

static void push_desc(lua_State *L, const key_desc *k) {
  if (k->type == LUA_TSTRING)
    lua_pushlstring(L, k->str, k->len);
  else if (k->type == LUA_TNUMBER)
    lua_pushnumber(L, k->num);
  else
    lua_pushboolean(L, k->num != 0);
}

static int dump_value(dumper *d, int idx);

static int dump_entry(dumper *d, int t, key_desc *k) {
  lua_State *L = d->L;
  dl_yaml_emitter *e = d->e;
  int r;
  k->done = 1;
  if (k->type == LUA_TSTRING)
    r = dl_yaml_emit_string(e, k->str, k->len);
  else if (k->type == LUA_TNUMBER)
    r = dl_yaml_emit_number(e, k->num);
  else
    r = dl_yaml_emit_bool(e, k->num != 0);
  size_t old = path_push(d, k, 0);
  if (emit_check(d, r))
    return -1;
  push_desc(L, k);
  lua_rawget(L, t);
  r = dump_value(d, lua_gettop(L));
  lua_pop(L, 1);
  d->nsteps = old;
  return r;
}

/* Puts the keys named in the list on top of the stack first, in its
 * order; pops the list. */
static int dump_listed(dumper *d, int t, key_desc *keys, size_t n) {
  lua_State *L = d->L;
  int list = lua_gettop(L);
  if (!lua_istable(L, list)) {
    int none = lua_isnil(L, list);
    lua_pop(L, 1);
    return none ? 0 : dump_fail(d, "a key order that is not a list");
  }
  size_t m = lua_objlen(L, list);
  for (size_t i = 1; i <= m; i++) {
    lua_rawgeti(L, list, (int)i);
    key_desc k = {lua_type(L, -1), 0, 0, NULL, 0};
    if (k.type == LUA_TSTRING)
      k.str = lua_tolstring(L, -1, &k.len);
    else if (k.type == LUA_TNUMBER)
      k.num = lua_tonumber(L, -1);
    else if (k.type == LUA_TBOOLEAN)
      k.num = lua_toboolean(L, -1);
    key_desc *found =
        k.type == LUA_TSTRING || k.type == LUA_TNUMBER || k.type == LUA_TBOOLEAN
            ? bsearch(&k, keys, n, sizeof *keys, key_cmp)
            : NULL;
    lua_pop(L, 1);
    if (found && !found->done && dump_entry(d, t, found))
      return -1;
  }
  lua_pop(L, 1);
  return 0;
}

static int dump_table(dumper *d, int t) {
  lua_State *L = d->L;
  const void *self = lua_topointer(L, t);
  for (int i = 0; i < d->depth; i++)
    if (d->open[i] == self)
      return dump_fail(d, "a table that contains itself");
  if (d->depth >= DUMP_MAX_DEPTH)
    return dump_fail(d, "a table nested deeper than 200 levels");
  if (!lua_checkstack(L, 16))
    return dump_fail(d, "a table: out of Lua stack");
  d->open[d->depth++] = self;

  int marked = 0, order = 0;
  if (lua_getmetatable(L, t)) { /* [mt] */
    marked = d->seq_mt && lua_rawequal(L, -1, d->seq_mt);
    lua_getfield(L, -1, "__order");
    if (lua_isnil(L, -1))
      lua_pop(L, 2);
    else
      order = 1, lua_remove(L, -2); /* [order] */
  }
  size_t count = 0, ints = 0;
  double maxint = 0;
  lua_pushnil(L);
  while (lua_next(L, t)) {
    lua_pop(L, 1);
    count++;
    if (lua_type(L, -1) == LUA_TNUMBER) {
      double k = lua_tonumber(L, -1);
      if (k >= 1 && k == floor(k)) {
        ints++;
        maxint = k > maxint ? k : maxint;
      }
    }
  }
  int seq = count > 0 && ints == count && maxint == (double)count;
  int r = 0;
  if (marked) {
    size_t n = lua_objlen(L, t);
    if (!(count == 0 || seq) || n != count)
      return dump_fail(d, "a table marked as a sequence that has other keys");
  }
  if (marked || (seq && !order)) {
    if (order)
      lua_pop(L, 1);
    if (emit_check(d, dl_yaml_emit_seq_start(d->e, count)))
      return -1;
    for (size_t i = 1; i <= count && r == 0; i++) {
      size_t old = path_push(d, NULL, (double)i);
      lua_rawgeti(L, t, (int)i);
      r = dump_value(d, lua_gettop(L));
      lua_pop(L, 1);
      d->nsteps = old;
    }
  } else {
    key_desc *keys = lua_newuserdata(L, (count ? count : 1) * sizeof *keys);
    int ud = lua_gettop(L);
    size_t n = 0;
    lua_pushnil(L);
    while (lua_next(L, t)) {
      lua_pop(L, 1);
      key_desc *k = &keys[n];
      k->type = lua_type(L, -1);
      k->done = 0;
      if (k->type == LUA_TSTRING) {
        k->str = lua_tolstring(L, -1, &k->len);
      } else if (k->type == LUA_TNUMBER) {
        k->num = lua_tonumber(L, -1);
      } else if (k->type == LUA_TBOOLEAN) {
        k->num = lua_toboolean(L, -1);
      } else {
        char what[64];
        snprintf(what, sizeof what, "a %s key", luaL_typename(L, -1));
        lua_pop(L, 1);
        return dump_fail(d, what);
      }
      n++;
    }
    qsort(keys, n, sizeof *keys, key_cmp);
    if (emit_check(d, dl_yaml_emit_map_start(d->e, n)))
      return -1;
    if (order) {
      lua_pushvalue(L, ud - 1); /* the __order list */
      r = dump_listed(d, t, keys, n);
    } else if (d->key_order) {
      lua_pushvalue(L, d->key_order);
      lua_pushvalue(L, t);
      lua_call(L, 1, 1);
      r = dump_listed(d, t, keys, n);
    }
    for (size_t i = 0; i < n && r == 0; i++)
      if (!keys[i].done)
        r = dump_entry(d, t, &keys[i]);
    lua_settop(L, order ? ud - 2 : ud - 1);
  }
  if (r == 0)
    r = emit_check(d, dl_yaml_emit_end(d->e));
  d->depth--;
  return r;
}

static int dump_value(dumper *d, int idx) {
  lua_State *L = d->L;
  dl_yaml_emitter *e = d->e;
  switch (lua_type(L, idx)) {
  case LUA_TNIL:
    return emit_check(d, dl_yaml_emit_null(e));
  case LUA_TBOOLEAN:
    return emit_check(d, dl_yaml_emit_bool(e, lua_toboolean(L, idx)));
  case LUA_TNUMBER:
    return emit_check(d, dl_yaml_emit_number(e, lua_tonumber(L, idx)));
  case LUA_TSTRING: {
    size_t len;
    const char *s = lua_tolstring(L, idx, &len);
    return emit_check(d, dl_yaml_emit_string(e, s, len));
  }
  case LUA_TLIGHTUSERDATA:
    if (lua_touserdata(L, idx) == NULL) /* yaml.null, json.null */
      return emit_check(d, dl_yaml_emit_null(e));
    break;
  case LUA_TTABLE:
    return dump_table(d, idx);
  default:
    break;
  }
  char what[64];
  snprintf(what, sizeof what, "a %s", luaL_typename(L, idx));
  return dump_fail(d, what);
}

/* yaml.dump(value, seq_mt, key_order) -> text | nil, "cannot dump ..." */
static int l_yaml_dump(lua_State *L) {
  luaL_checkany(L, 1);
  if (!lua_isnoneornil(L, 2))
    luaL_checktype(L, 2, LUA_TTABLE);
  if (!lua_isnoneornil(L, 3))
    luaL_checktype(L, 3, LUA_TFUNCTION);
  lua_settop(L, 3);
  dl_yaml_emitter *e = lua_newuserdata(L, sizeof *e); /* [v, mt, f, e] */
  dl_yaml_emitter_init(e);
  luaL_getmetatable(L, EMITTER_MT);
  lua_setmetatable(L, -2);
  /* the dumper is big (paths, the open tables): keep it off the C stack
   * of deep recursions by making it once here */
  dumper *d = lua_newuserdata(L, sizeof *d); /* [v, mt, f, e, d] */
  memset(d, 0, sizeof *d);
  d->L = L;
  d->e = e;
  d->seq_mt = lua_istable(L, 2) ? 2 : 0;
  d->key_order = lua_isfunction(L, 3) ? 3 : 0;
  if (dump_value(d, 1) != 0) {
    lua_pushnil(L);
    lua_pushstring(L, d->err);
    dl_yaml_emitter_free(e);
    return 2;
  }
  lua_pushlstring(L, e->buf ? e->buf : "", e->len);
  dl_yaml_emitter_free(e);
  return 1;
}

static const luaL_Reg funcs[] = {
    {"load", l_yaml_load},
    {"dump", l_yaml_dump},
    {NULL, NULL},
};

int luaopen_deloc_native_yaml(lua_State *L) {
  luaL_newmetatable(L, DOC_MT);
  lua_pushcfunction(L, doc_gc);
  lua_setfield(L, -2, "__gc");
  luaL_newmetatable(L, EMITTER_MT);
  lua_pushcfunction(L, emitter_gc);
  lua_setfield(L, -2, "__gc");
  lua_pop(L, 2);
  lua_newtable(L);
  luaL_setfuncs(L, funcs, 0);
  /* yaml.null: the same value as cjson.null, so a null survives JSON <->
   * YAML conversions */
  lua_pushlightuserdata(L, NULL);
  lua_setfield(L, -2, "null");
  return 1;
}
