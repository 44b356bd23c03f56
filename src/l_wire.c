/* deloc.native.wire: how the recipe sandbox's child hands a Lua value back
 * to deloc (deloc.isolate), in one pass each way instead of a Lua walk that
 * marks what JSON loses, a JSON encoder, a JSON decoder and a second Lua
 * walk that restores it.
 *
 *   wire.encode(value, array_mt, error_mt, max) -> bytes   (in the child)
 *   wire.decode(bytes, array_mt, stub, on_error, max) -> value | nil, err
 *
 * The format is private to one binary (the child is a fork of the parent):
 * a tag byte a value, numbers and lengths in the machine's byte order.
 *   z nil  t true  f false  N json null (a NULL light userdata)
 *   i int32  d double  s u32 length, bytes  F a function (not handed back)
 *   T flags (1 a marked array, 2 an error), u32 pairs, then key, value...
 *   R u32: the table that began n-th, met again (shared, not copied)
 *
 * decode treats its input as hostile: every length is checked against what
 * is left, nesting is bounded, keys are strings or numbers, numbers are
 * finite, and a reference may name only a table already complete, so the
 * result never contains a cycle.  The value written out in full (a table
 * met again counted again) is at most max bytes: walking it costs no more
 * than reading an answer of max bytes.  Tables flagged as errors are passed
 * to on_error(t), whose result takes their place; a function becomes stub.
 */
#include <lauxlib.h>
#include <lua.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 1000
#define FLAG_ARRAY 1
#define FLAG_ERROR 2

/* ---- encode ---- */

/* The tables met so far, by address: their number + 1 once written, 0
 * while being written (meeting one then is a cycle).  Open addressing; a
 * Lua table for this cost a third of the encoding. */
typedef struct {
  const void **keys;
  uint32_t *vals;
  size_t cap, n;
} seen_map;

static size_t slot(const seen_map *m, const void *k) {
  uint64_t h = (uint64_t)(uintptr_t)k * 0x9e3779b97f4a7c15ULL;
  size_t i = (size_t)(h >> 20) & (m->cap - 1);
  while (m->keys[i] && m->keys[i] != k)
    i = (i + 1) & (m->cap - 1);
  return i;
}

static int seen_grow(seen_map *m) {
  seen_map g = {NULL, NULL, m->cap ? m->cap * 2 : 1024, 0};
  g.keys = calloc(g.cap, sizeof *g.keys);
  g.vals = malloc(g.cap * sizeof *g.vals);
  if (!g.keys || !g.vals) {
    free(g.keys);
    free(g.vals);
    return -1;
  }
  for (size_t i = 0; i < m->cap; i++)
    if (m->keys[i]) {
      size_t j = slot(&g, m->keys[i]);
      g.keys[j] = m->keys[i];
      g.vals[j] = m->vals[i];
    }
  g.n = m->n;
  free(m->keys);
  free(m->vals);
  *m = g;
  return 0;
}

typedef struct {
  char *p;
  size_t len, cap, max;
  uint32_t tables;
  seen_map seen;
  char err[160];
} wbuf;

static int fail(wbuf *b, const char *msg) {
  if (!b->err[0])
    snprintf(b->err, sizeof b->err, "%s", msg);
  return -1;
}

static int grow(wbuf *b, size_t n) {
  if (b->len + n > b->max)
    return fail(b, "the answer is too large");
  size_t cap = b->cap ? b->cap : 64 * 1024;
  while (cap < b->len + n)
    cap *= 2;
  if (cap > b->max) /* the bound holds for the bytes put below cap too */
    cap = b->max;
  char *p = realloc(b->p, cap);
  if (!p)
    return fail(b, "not enough memory");
  b->p = p;
  b->cap = cap;
  return 0;
}

/* most values are a few bytes: one compare, one copy */
static inline int put(wbuf *b, const void *data, size_t n) {
  if (b->len + n > b->cap && grow(b, n))
    return -1;
  memcpy(b->p + b->len, data, n);
  b->len += n;
  return 0;
}

static inline int put_tag(wbuf *b, char tag) {
  if (b->len + 1 > b->cap && grow(b, 1))
    return -1;
  b->p[b->len++] = tag;
  return 0;
}

static inline int put_u32(wbuf *b, uint32_t v) {
  return put(b, &v, sizeof v);
}

/* Stack slots while encoding: 2 array_mt, 3 error_mt */
#define ARRAY_MT 2
#define ERROR_MT 3

static int enc_number(lua_State *L, wbuf *b, int idx) {
  double d = lua_tonumber(L, idx);
  if (!isfinite(d)) {
    char msg[64];
    snprintf(msg, sizeof msg, "cannot hand back %s", lua_tostring(L, idx));
    return fail(b, msg);
  }
  if (d >= INT32_MIN && d <= INT32_MAX && d == (double)(int32_t)d &&
      !(d == 0 && signbit(d))) {
    int32_t i = (int32_t)d;
    return put_tag(b, 'i') || put(b, &i, sizeof i) ? -1 : 0;
  }
  return put_tag(b, 'd') || put(b, &d, sizeof d) ? -1 : 0;
}

static int enc_value(lua_State *L, wbuf *b, int idx, int depth);

static int enc_table(lua_State *L, wbuf *b, int idx, int depth) {
  if (depth > MAX_DEPTH)
    return fail(b, "cannot hand back tables nested deeper than 1000");
  if (!lua_checkstack(L, 6))
    return fail(b, "cannot hand back: out of stack");
  const void *t = lua_topointer(L, idx);
  seen_map *m = &b->seen;
  if (2 * (m->n + 1) > m->cap && seen_grow(m))
    return fail(b, "not enough memory");
  size_t at_slot = slot(m, t);
  if (m->keys[at_slot]) {
    if (m->vals[at_slot] == 0)
      return fail(b, "cannot hand back a table that contains itself");
    return put_tag(b, 'R') || put_u32(b, m->vals[at_slot] - 1) ? -1 : 0;
  }
  uint32_t number = b->tables++;
  m->keys[at_slot] = t;
  m->vals[at_slot] = 0;
  m->n++;
  char flags = 0;
  if (lua_getmetatable(L, idx)) {
    if (lua_rawequal(L, -1, ARRAY_MT))
      flags = FLAG_ARRAY;
    else if (lua_rawequal(L, -1, ERROR_MT))
      flags = FLAG_ERROR;
    lua_pop(L, 1);
  }
  if (put_tag(b, 'T') || put(b, &flags, 1))
    return -1;
  size_t at = b->len;
  uint32_t pairs = 0;
  if (put_u32(b, 0))
    return -1;
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    int kt = lua_type(L, -2);
    if (kt != LUA_TSTRING && kt != LUA_TNUMBER) {
      char msg[64];
      snprintf(msg, sizeof msg, "cannot hand back a %s key",
               lua_typename(L, kt));
      return fail(b, msg);
    }
    int top = lua_gettop(L);
    if (enc_value(L, b, top - 1, depth + 1) || enc_value(L, b, top, depth + 1))
      return -1;
    lua_pop(L, 1);
    pairs++;
  }
  memcpy(b->p + at, &pairs, sizeof pairs);
  /* the map may have grown while the pairs were written */
  m->vals[slot(m, t)] = number + 1;
  return 0;
}

static int enc_value(lua_State *L, wbuf *b, int idx, int depth) {
  switch (lua_type(L, idx)) {
  case LUA_TNIL:
    return put_tag(b, 'z');
  case LUA_TBOOLEAN:
    return put_tag(b, lua_toboolean(L, idx) ? 't' : 'f');
  case LUA_TNUMBER:
    return enc_number(L, b, idx);
  case LUA_TSTRING: {
    size_t len;
    const char *s = lua_tolstring(L, idx, &len);
    if (len > UINT32_MAX)
      return fail(b, "the answer is too large");
    return put_tag(b, 's') || put_u32(b, (uint32_t)len) || put(b, s, len) ? -1
                                                                          : 0;
  }
  case LUA_TFUNCTION:
    return put_tag(b, 'F');
  case LUA_TTABLE:
    return enc_table(L, b, idx, depth);
  case LUA_TLIGHTUSERDATA:
    if (lua_touserdata(L, idx) == NULL)
      return put_tag(b, 'N');
    /* fall through */
  default: {
    char msg[64];
    snprintf(msg, sizeof msg, "cannot hand back a %s", luaL_typename(L, idx));
    return fail(b, msg);
  }
  }
}

/* encode(value, array_mt, error_mt, max) -> bytes; raises on a cycle, a
 * number JSON would not keep either (nan, inf), a key that is not a string
 * or number, or an answer over max bytes */
static int l_encode(lua_State *L) {
  luaL_checkany(L, 1);
  double max = luaL_checknumber(L, 4);
  lua_settop(L, 4);
  wbuf b = {0};
  b.max = max > 0 && max < (double)SIZE_MAX ? (size_t)max : SIZE_MAX;
  int rc = enc_value(L, &b, 1, 0);
  if (rc == 0)
    lua_pushlstring(L, b.p ? b.p : "", b.len);
  free(b.p);
  free(b.seen.keys);
  free(b.seen.vals);
  if (rc != 0)
    return luaL_error(L, "%s", b.err);
  return 1;
}

/* ---- decode ---- */

typedef struct {
  const char *p, *end;
  uint32_t tables;
  double max; /* the bound on the value written out in full */
  const char *err;
} rbuf;

/* Stack slots while decoding: 2 array_mt, 3 stub, 4 on_error, 5 max, 6
 * the tables complete, by number, 7 their weights */
#define REFS 6
#define WEIGHTS 7

static int bad(rbuf *r, const char *why) {
  if (!r->err)
    r->err = why;
  return -1;
}

static int take(rbuf *r, void *out, size_t n) {
  if ((size_t)(r->end - r->p) < n)
    return bad(r, "it ends early");
  memcpy(out, r->p, n);
  r->p += n;
  return 0;
}

/* A value's weight: its size in bytes with every table met again written
 * out in full, as the JSON this format replaced had it.  Sharing keeps the
 * answer small, but whoever walks the value (deloc plan --json) walks it
 * in full: a few hundred bytes of tables that name the one before twice
 * would be 2^100 of work.  The weight is bounded as the answer is. */
static int dec_value(lua_State *L, rbuf *r, int depth, double *w);

static int dec_table(lua_State *L, rbuf *r, int depth, double *w) {
  unsigned char flags;
  uint32_t pairs;
  if (take(r, &flags, 1) || take(r, &pairs, sizeof pairs))
    return -1;
  if (flags & ~(FLAG_ARRAY | FLAG_ERROR) || flags == (FLAG_ARRAY | FLAG_ERROR))
    return bad(r, "a table has unknown flags");
  /* a pair takes two bytes at least */
  if (pairs > (size_t)(r->end - r->p) / 2)
    return bad(r, "a table claims more pairs than there are bytes");
  if (depth > MAX_DEPTH)
    return bad(r, "tables nest deeper than 1000");
  if (!lua_checkstack(L, 6))
    return bad(r, "out of stack");
  uint32_t number = r->tables++;
  if (flags & FLAG_ARRAY)
    lua_createtable(L, (int)(pairs < 1024 ? pairs : 1024), 0);
  else
    lua_createtable(L, 0, (int)(pairs < 1024 ? pairs : 1024));
  int t = lua_gettop(L);
  double weight = 6;
  for (uint32_t i = 0; i < pairs; i++) {
    double kw, vw;
    if (dec_value(L, r, depth + 1, &kw))
      return -1;
    int kt = lua_type(L, -1);
    if (kt != LUA_TSTRING && kt != LUA_TNUMBER)
      return bad(r, "a key is not a string or a number");
    if (dec_value(L, r, depth + 1, &vw))
      return -1;
    lua_rawset(L, t);
    weight += kw + vw;
    if (weight > r->max)
      return bad(r, "written out in full, it is larger than the bound");
  }
  if (flags & FLAG_ARRAY) {
    lua_pushvalue(L, 2);
    lua_setmetatable(L, t);
  } else if (flags & FLAG_ERROR) {
    lua_pushvalue(L, 4);
    lua_insert(L, t);
    lua_call(L, 1, 1);
  }
  lua_pushvalue(L, -1);
  lua_rawseti(L, REFS, (int)number + 1);
  lua_pushnumber(L, weight);
  lua_rawseti(L, WEIGHTS, (int)number + 1);
  *w = weight;
  return 0;
}

static int dec_scalar(lua_State *L, rbuf *r, char tag);

static int dec_value(lua_State *L, rbuf *r, int depth, double *w) {
  const char *at = r->p;
  char tag;
  if (take(r, &tag, 1))
    return -1;
  if (tag == 'T')
    return dec_table(L, r, depth, w);
  if (tag == 'R') {
    uint32_t n;
    if (take(r, &n, sizeof n))
      return -1;
    if (n >= r->tables)
      return bad(r, "a reference to no table");
    lua_rawgeti(L, REFS, (int)n + 1);
    if (lua_isnil(L, -1)) /* begun, not complete: a cycle */
      return bad(r, "a table contains itself");
    lua_rawgeti(L, WEIGHTS, (int)n + 1);
    *w = lua_tonumber(L, -1);
    lua_pop(L, 1);
    return 0;
  }
  int rc = dec_scalar(L, r, tag);
  *w = (double)(r->p - at);
  return rc;
}

static int dec_scalar(lua_State *L, rbuf *r, char tag) {
  switch (tag) {
  case 'z':
    lua_pushnil(L);
    return 0;
  case 't':
  case 'f':
    lua_pushboolean(L, tag == 't');
    return 0;
  case 'N':
    lua_pushlightuserdata(L, NULL);
    return 0;
  case 'F':
    lua_pushvalue(L, 3);
    return 0;
  case 'i': {
    int32_t i;
    if (take(r, &i, sizeof i))
      return -1;
    lua_pushnumber(L, (lua_Number)i);
    return 0;
  }
  case 'd': {
    double d;
    if (take(r, &d, sizeof d))
      return -1;
    if (!isfinite(d))
      return bad(r, "a number is not finite");
    lua_pushnumber(L, d);
    return 0;
  }
  case 's': {
    uint32_t len;
    if (take(r, &len, sizeof len))
      return -1;
    if ((size_t)(r->end - r->p) < len)
      return bad(r, "it ends early");
    lua_pushlstring(L, r->p, len);
    r->p += len;
    return 0;
  }
  default:
    return bad(r, "an unknown tag");
  }
}

/* decode(bytes, array_mt, stub, on_error, max) -> value | nil, err
 * max bounds the value's size written out in full (tables met twice
 * counted twice) */
static int l_decode(lua_State *L) {
  size_t len;
  const char *s = luaL_checklstring(L, 1, &len);
  luaL_checktype(L, 2, LUA_TTABLE);
  luaL_checktype(L, 3, LUA_TFUNCTION);
  luaL_checktype(L, 4, LUA_TFUNCTION);
  double max = luaL_checknumber(L, 5);
  lua_settop(L, 5);
  lua_newtable(L); /* REFS */
  lua_newtable(L); /* WEIGHTS */
  rbuf r = {s, s + len, 0, max, NULL};
  double w;
  if (dec_value(L, &r, 0, &w) == 0 && r.p != r.end)
    bad(&r, "bytes follow the value");
  if (r.err) {
    lua_pushnil(L);
    lua_pushstring(L, r.err);
    return 2;
  }
  return 1;
}

static const luaL_Reg functions[] = {
    {"encode", l_encode},
    {"decode", l_decode},
    {NULL, NULL},
};

int luaopen_deloc_native_wire(lua_State *L) {
  lua_newtable(L);
  luaL_register(L, NULL, functions);
  return 1;
}
