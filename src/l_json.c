/* deloc.native.json: deloc.json's encoder and deloc.plan.facts' config
 * hash in C (in Lua, ~1.7 and ~0.7 ms of `deloc plan --json` of 50
 * services).  Both give what the Lua ones give, byte for byte and hash for
 * hash (spec/json_spec.lua, spec/wire_spec.lua):
 *
 *   encode(value, indent, null, array_mt) -> text | nil, err
 *   hash(value, skip, skip_all, array_mt, tostring) -> 16 hex digits
 *
 *   keys sorted (as strings: byte order; numbers by their tostring form),
 *   a table is an array when marked (metatable array_mt) or when its pairs
 *   are exactly 1..#t; `null` (a light userdata) and nil are null; strings
 *   escaped as lua-cjson does, but '/' left alone; integers below 2^53 as
 *   integers, other numbers in the shortest of %.15g/%.16g/%.17g that reads
 *   back the same (by string.format: LuaJIT's rounding, not printf's);
 *   indent: two spaces a level, ": " after keys.
 *   Errors: nan and infinities, functions and other non-data, keys that are
 *   not strings or numbers, a table inside itself, nesting over 200. */
#include <lauxlib.h>
#include <lua.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"

#define MAX_DEPTH 200

typedef struct {
  char *p;
  size_t len, cap;
  int indent;
  const void *path[MAX_DEPTH + 2]; /* the tables being written */
  char err[128];
} jbuf;

/* Stack slots: 3 null, 4 array_mt */
#define NULL_V 3
#define ARRAY_MT 4

static int fail(jbuf *b, const char *msg) {
  if (!b->err[0])
    snprintf(b->err, sizeof b->err, "%s", msg);
  return -1;
}

static int grow_to(jbuf *b, size_t n) {
  size_t cap = b->cap ? b->cap : 64 * 1024;
  while (cap < b->len + n)
    cap *= 2;
  char *p = realloc(b->p, cap);
  if (!p)
    return fail(b, "cannot encode: not enough memory");
  b->p = p;
  b->cap = cap;
  return 0;
}

/* room for n more bytes: one compare in the common case */
static inline int grow(jbuf *b, size_t n) {
  return b->len + n <= b->cap ? 0 : grow_to(b, n);
}

static int put(jbuf *b, const char *s, size_t n) {
  if (grow(b, n))
    return -1;
  memcpy(b->p + b->len, s, n);
  b->len += n;
  return 0;
}

#define PUTS(b, lit) put(b, lit, sizeof(lit) - 1)

/* "\n" and two spaces a level, when indenting */
static int newline(jbuf *b, int depth) {
  if (!b->indent)
    return 0;
  if (grow(b, 1 + 2 * (size_t)depth))
    return -1;
  b->p[b->len++] = '\n';
  memset(b->p + b->len, ' ', 2 * (size_t)depth);
  b->len += 2 * (size_t)depth;
  return 0;
}

static int put_string(jbuf *b, const char *s, size_t n) {
  static const char hex[] = "0123456789abcdef";
  if (grow(b, n * 6 + 2))
    return -1;
  char *o = b->p + b->len;
  *o++ = '"';
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c >= 0x20 && c != '"' && c != '\\' && c != 127) {
      *o++ = (char)c;
      continue;
    }
    *o++ = '\\';
    switch (c) {
    case '"':
      *o++ = '"';
      break;
    case '\\':
      *o++ = '\\';
      break;
    case '\b':
      *o++ = 'b';
      break;
    case '\t':
      *o++ = 't';
      break;
    case '\n':
      *o++ = 'n';
      break;
    case '\f':
      *o++ = 'f';
      break;
    case '\r':
      *o++ = 'r';
      break;
    default:
      *o++ = 'u';
      *o++ = '0';
      *o++ = '0';
      *o++ = hex[c >> 4];
      *o++ = hex[c & 15];
    }
  }
  *o++ = '"';
  b->len = (size_t)(o - b->p);
  return 0;
}

/* v in decimal (what %lld writes), no NUL: printf costs more than the
 * rest of a small number's encoding */
static int fmt_int(char *out, long long v) {
  char tmp[24];
  int n = 0, len = 0;
  unsigned long long u =
      v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
  do {
    tmp[n++] = (char)('0' + u % 10);
    u /= 10;
  } while (u);
  if (v < 0)
    out[len++] = '-';
  while (n)
    out[len++] = tmp[--n];
  return len;
}

/* tostring(v) of the number at idx, into out (NUL-ended): LuaJIT's own
 * %.14g, which rounds a tie up where glibc's printf rounds it to even */
static size_t number_text(lua_State *L, int idx, char *out, size_t cap) {
  size_t len;
  lua_pushvalue(L, idx);
  const char *t = lua_tolstring(L, -1, &len); /* the copy becomes a string */
  if (len >= cap)
    len = cap - 1;
  memcpy(out, t, len);
  out[len] = '\0';
  lua_pop(L, 1);
  return len;
}

/* string.format(fmt, n) as Lua writes it (upvalue 2 of encode) */
static size_t lua_format(lua_State *L, const char *fmt, int idx, char *out,
                         size_t cap) {
  lua_pushvalue(L, lua_upvalueindex(2));
  lua_pushstring(L, fmt);
  lua_pushvalue(L, idx);
  lua_call(L, 2, 1);
  size_t len;
  const char *t = lua_tolstring(L, -1, &len);
  if (len >= cap)
    len = cap - 1;
  memcpy(out, t, len);
  out[len] = '\0';
  lua_pop(L, 1);
  return len;
}

/* tonumber(s) == n, for s as lua_format made it */
static int reads_back(lua_State *L, const char *s, size_t len, double n) {
  lua_pushlstring(L, s, len);
  int same = lua_tonumber(L, -1) == n;
  lua_pop(L, 1);
  return same;
}

static int put_number(lua_State *L, jbuf *b, int idx) {
  double n = lua_tonumber(L, idx);
  char s[40];
  int len;
  if (!isfinite(n)) {
    snprintf(b->err, sizeof b->err, "cannot encode %s as JSON",
             lua_tostring(L, idx));
    return -1;
  }
  if (n == floor(n) && fabs(n) < 9007199254740992.0) {
    len = fmt_int(s, (long long)n);
  } else {
    /* the shortest of %.15g, %.16g that reads back, else %.17g, all by
     * string.format: LuaJIT rounds ties unlike printf */
    len = (int)lua_format(L, "%.15g", idx, s, sizeof s);
    if (!reads_back(L, s, (size_t)len, n)) {
      len = (int)lua_format(L, "%.16g", idx, s, sizeof s);
      if (!reads_back(L, s, (size_t)len, n))
        len = (int)lua_format(L, "%.17g", idx, s, sizeof s);
    }
  }
  return put(b, s, (size_t)len);
}

typedef struct {
  const char *s; /* a string key's bytes (the table holds the string) */
  size_t len;
  int idx;      /* a copy of the key on the stack, or 0 */
  double n;     /* a number key */
  char num[32]; /* a number key's tostring form */
} key;

/* Above this many stack slots keys are found again by their text, not kept
 * on the stack: LuaJIT allows a C function 8000, and nested tables need
 * some of them. */
#define STACK_KEYS 4000

/* The keys of the table at idx, in *out (malloc'd), unsorted; each kept on
 * the stack while there is room.  -> count, or -1 with err set (a key that
 * is not a string or number) */
static long collect_keys(lua_State *L, int idx, key **out, char *err,
                         size_t errlen) {
  key *keys = NULL;
  size_t count = 0, cap = 0;
  int on_stack = 1;
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    lua_pop(L, 1);
    int kt = lua_type(L, -1);
    if (kt != LUA_TSTRING && kt != LUA_TNUMBER) {
      snprintf(err, errlen, "a %s key", lua_typename(L, kt));
      free(keys);
      return -1;
    }
    if (count == cap) {
      cap = cap ? cap * 2 : 16;
      key *k = realloc(keys, cap * sizeof *keys);
      if (!k) {
        snprintf(err, errlen, "not enough memory");
        free(keys);
        return -1;
      }
      keys = k;
    }
    key *k = &keys[count++];
    if (kt == LUA_TSTRING) {
      k->s = lua_tolstring(L, -1, &k->len);
    } else {
      k->s = NULL; /* tostring's form */
      k->n = lua_tonumber(L, -1);
      k->len = number_text(L, lua_gettop(L), k->num, sizeof k->num);
    }
    k->idx = 0;
    on_stack = on_stack && lua_gettop(L) < STACK_KEYS && lua_checkstack(L, 8);
    if (on_stack) {
      lua_pushvalue(L, -1); /* a copy stays below the iteration key */
      k->idx = lua_gettop(L) - 1;
    }
  }
  *out = keys;
  return (long)count;
}

/* pushes the key k names */
static void push_key(lua_State *L, const key *k) {
  if (k->idx)
    lua_pushvalue(L, k->idx);
  else if (k->s)
    lua_pushlstring(L, k->s, k->len);
  else
    lua_pushnumber(L, k->n);
}

/* a key's text: its own, or its number's (which moves with it in qsort) */
static const char *key_text(const key *k) {
  return k->s ? k->s : k->num;
}

static int key_cmp(const void *x, const void *y) {
  const key *a = x, *c = y;
  int r = memcmp(key_text(a), key_text(c), a->len < c->len ? a->len : c->len);
  if (r != 0)
    return r;
  return (a->len > c->len) - (a->len < c->len);
}

/* keys in order: an insertion sort for the few keys most tables have
 * (qsort's merge sort allocates), qsort for more */
static void sort_keys(key *keys, size_t n) {
  if (n > 16) {
    qsort(keys, n, sizeof *keys, key_cmp);
    return;
  }
  for (size_t i = 1; i < n; i++) {
    key k = keys[i];
    size_t j = i;
    while (j > 0 && key_cmp(&keys[j - 1], &k) > 0) {
      keys[j] = keys[j - 1];
      j--;
    }
    keys[j] = k;
  }
}

static int enc(lua_State *L, jbuf *b, int idx, int depth);

static int sequence(lua_State *L, jbuf *b, int idx, int depth, size_t n) {
  if (n == 0)
    return PUTS(b, "[]");
  if (PUTS(b, "["))
    return -1;
  for (size_t i = 1; i <= n; i++) {
    if ((i > 1 && PUTS(b, ",")) || newline(b, depth + 1))
      return -1;
    lua_rawgeti(L, idx, (int)i);
    if (enc(L, b, lua_gettop(L), depth + 1))
      return -1;
    lua_pop(L, 1);
  }
  if (newline(b, depth))
    return -1;
  return PUTS(b, "]");
}

static int mapping(lua_State *L, jbuf *b, int idx, int depth) {
  int base = lua_gettop(L);
  key *keys = NULL;
  char why[64];
  long count = collect_keys(L, idx, &keys, why, sizeof why);
  if (count < 0) {
    snprintf(b->err, sizeof b->err, "cannot encode %s as JSON", why);
    return -1;
  }
  if (count == 0) {
    lua_settop(L, base);
    return PUTS(b, "{}");
  }
  sort_keys(keys, (size_t)count);
  int rc = PUTS(b, "{");
  for (size_t i = 0; rc == 0 && i < (size_t)count; i++) {
    key *k = &keys[i];
    if ((i > 0 && PUTS(b, ",")) || newline(b, depth + 1) ||
        put_string(b, key_text(k), k->len) ||
        (b->indent ? PUTS(b, ": ") : PUTS(b, ":"))) {
      rc = -1;
      break;
    }
    push_key(L, k);
    lua_rawget(L, idx);
    rc = enc(L, b, lua_gettop(L), depth + 1);
    lua_pop(L, 1);
  }
  free(keys);
  if (rc)
    return -1;
  lua_settop(L, base);
  if (newline(b, depth))
    return -1;
  return PUTS(b, "}");
}

static int table(lua_State *L, jbuf *b, int idx, int depth) {
  const void *t = lua_topointer(L, idx);
  for (int i = 0; i < depth && i <= MAX_DEPTH; i++)
    if (b->path[i] == t)
      return fail(b, "cannot encode a table that contains itself");
  if (depth > MAX_DEPTH)
    return fail(b, "cannot encode: nesting deeper than 200");
  if (!lua_checkstack(L, 8))
    return fail(b, "cannot encode: out of stack");
  b->path[depth] = t;
  size_t n = lua_objlen(L, idx);
  int seq = 0;
  if (lua_getmetatable(L, idx)) {
    seq = lua_rawequal(L, -1, ARRAY_MT);
    lua_pop(L, 1);
  }
  if (!seq && n > 0) {
    size_t count = 0;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
      lua_pop(L, 1);
      count++;
    }
    seq = count == n;
  }
  int rc = seq ? sequence(L, b, idx, depth, n) : mapping(L, b, idx, depth);
  b->path[depth] = NULL;
  return rc;
}

static int enc(lua_State *L, jbuf *b, int idx, int depth) {
  switch (lua_type(L, idx)) {
  case LUA_TSTRING: {
    size_t n;
    const char *s = lua_tolstring(L, idx, &n);
    return put_string(b, s, n);
  }
  case LUA_TNUMBER:
    return put_number(L, b, idx);
  case LUA_TBOOLEAN:
    return lua_toboolean(L, idx) ? PUTS(b, "true") : PUTS(b, "false");
  case LUA_TNIL:
    return PUTS(b, "null");
  case LUA_TTABLE:
    return table(L, b, idx, depth);
  default:
    if (lua_rawequal(L, idx, NULL_V))
      return PUTS(b, "null");
    snprintf(b->err, sizeof b->err, "cannot encode a %s as JSON",
             luaL_typename(L, idx));
    return -1;
  }
}

static int l_encode(lua_State *L) {
  int indent = lua_toboolean(L, 2);
  luaL_checktype(L, 4, LUA_TTABLE);
  lua_settop(L, 4);
  jbuf *b = calloc(1, sizeof *b);
  if (!b)
    return luaL_error(L, "not enough memory");
  b->indent = indent;
  int rc = enc(L, b, 1, 0);
  if (rc == 0)
    lua_pushlstring(L, b->p ? b->p : "", b->len);
  else {
    lua_pushnil(L);
    lua_pushstring(L, b->err);
  }
  free(b->p);
  free(b);
  return rc == 0 ? 1 : 2;
}

/* ---- the canonical form of a value, hashed ---- */

/* hash(value, skip, skip_all, array_mt, tostring) -> 16 hex digits: FNV-1a
 * 64 of deloc.plan.facts' canonical text, without making the text:
 *   a table whose [1] is set, or marked: "[" v "," ... "]" over 1..#t;
 *   another: "{" key "=" v ";" ... "}" in sorted key order, leaving out the
 *     keys in skip at the top level and skip_all at every level;
 *   a string: its length ":" its bytes; a number as tostring writes it
 *   (%.14g); anything else tostring(v).
 * Stack slots: 2 skip, 3 skip_all, 4 array_mt, 5 tostring. */
#define C_SKIP 2
#define C_SKIP_ALL 3
#define C_ARRAY_MT 4
#define C_TOSTRING 5

#define MAX_SKIP 16

typedef struct {
  uint64_t h;
  /* the keys left out: at the top level, everywhere */
  const char *skip[2][MAX_SKIP];
  size_t skip_len[2][MAX_SKIP], nskip[2];
  char err[128];
} canon_state;

static int skipped(const canon_state *c, int which, const key *k) {
  for (size_t i = 0; i < c->nskip[which]; i++)
    if (c->skip_len[which][i] == k->len &&
        memcmp(c->skip[which][i], k->s, k->len) == 0)
      return 1;
  return 0;
}

static void feed(canon_state *c, const char *s, size_t n) {
  uint64_t h = c->h;
  for (size_t i = 0; i < n; i++) {
    h ^= (unsigned char)s[i];
    h *= 0x100000001b3ULL;
  }
  c->h = h;
}

#define FEED(c, lit) feed(c, lit, sizeof(lit) - 1)

static int canon(lua_State *L, canon_state *c, int idx, int top, int depth);

static int canon_number(lua_State *L, canon_state *c, int idx) {
  double n = lua_tonumber(L, idx);
  char s[40];
  /* an integer of up to 14 digits: %.14g writes it as it is (not -0) */
  if (n == floor(n) && fabs(n) < 1e14 && !(n == 0 && signbit(n))) {
    feed(c, s, (size_t)fmt_int(s, (long long)n));
    return 0;
  }
  /* any other: as tostring writes it (LuaJIT's %.14g, nan, inf) */
  feed(c, s, number_text(L, idx, s, sizeof s));
  return 0;
}

static int canon_map(lua_State *L, canon_state *c, int idx, int top,
                     int depth) {
  int base = lua_gettop(L);
  key *keys = NULL;
  char why[64];
  long count = collect_keys(L, idx, &keys, why, sizeof why);
  if (count < 0) {
    snprintf(c->err, sizeof c->err, "config hash: %s", why);
    return -1;
  }
  FEED(c, "{");
  sort_keys(keys, (size_t)count);
  int rc = 0;
  for (size_t i = 0; rc == 0 && i < (size_t)count; i++) {
    key *k = &keys[i];
    if (k->s && ((top && skipped(c, 0, k)) || skipped(c, 1, k)))
      continue;
    feed(c, key_text(k), k->len);
    FEED(c, "=");
    push_key(L, k);
    lua_rawget(L, idx);
    rc = canon(L, c, lua_gettop(L), 0, depth + 1);
    lua_pop(L, 1);
    FEED(c, ";");
  }
  free(keys);
  if (rc)
    return -1;
  lua_settop(L, base);
  FEED(c, "}");
  return 0;
}

static int canon(lua_State *L, canon_state *c, int idx, int top, int depth) {
  switch (lua_type(L, idx)) {
  case LUA_TTABLE: {
    if (depth > 1000 || !lua_checkstack(L, 8)) {
      snprintf(c->err, sizeof c->err, "config hash: nesting too deep");
      return -1;
    }
    lua_rawgeti(L, idx, 1);
    int seq = !lua_isnil(L, -1);
    lua_pop(L, 1);
    if (!seq && lua_getmetatable(L, idx)) {
      seq = lua_rawequal(L, -1, C_ARRAY_MT);
      lua_pop(L, 1);
    }
    if (!seq)
      return canon_map(L, c, idx, top, depth);
    size_t n = lua_objlen(L, idx);
    FEED(c, "[");
    for (size_t i = 1; i <= n; i++) {
      lua_rawgeti(L, idx, (int)i);
      int rc = canon(L, c, lua_gettop(L), 0, depth + 1);
      lua_pop(L, 1);
      if (rc)
        return -1;
      FEED(c, ",");
    }
    FEED(c, "]");
    return 0;
  }
  case LUA_TSTRING: {
    size_t n;
    const char *s = lua_tolstring(L, idx, &n);
    char len[24];
    feed(c, len, (size_t)fmt_int(len, (long long)n));
    FEED(c, ":");
    feed(c, s, n);
    return 0;
  }
  case LUA_TNUMBER:
    return canon_number(L, c, idx);
  case LUA_TBOOLEAN:
    if (lua_toboolean(L, idx))
      FEED(c, "true");
    else
      FEED(c, "false");
    return 0;
  case LUA_TNIL:
    FEED(c, "nil");
    return 0;
  default: {
    lua_pushvalue(L, C_TOSTRING);
    lua_pushvalue(L, idx);
    lua_call(L, 1, 1);
    size_t n;
    const char *s = lua_tolstring(L, -1, &n);
    feed(c, s ? s : "", s ? n : 0);
    lua_pop(L, 1);
    return 0;
  }
  }
}

static int l_hash(lua_State *L) {
  luaL_checktype(L, 2, LUA_TTABLE);
  luaL_checktype(L, 3, LUA_TTABLE);
  luaL_checktype(L, 4, LUA_TTABLE);
  luaL_checktype(L, 5, LUA_TFUNCTION);
  lua_settop(L, 5);
  canon_state c;
  memset(&c, 0, sizeof c);
  c.h = 0xcbf29ce484222325ULL;
  for (int which = 0; which < 2; which++) {
    lua_pushnil(L);
    while (lua_next(L, which == 0 ? C_SKIP : C_SKIP_ALL)) {
      int on = lua_toboolean(L, -1);
      lua_pop(L, 1);
      if (!on || lua_type(L, -1) != LUA_TSTRING)
        continue;
      if (c.nskip[which] == MAX_SKIP)
        return luaL_error(L, "config hash: more than 16 keys to leave out");
      size_t n = c.nskip[which]++;
      /* the strings stay alive: the tables hold them */
      c.skip[which][n] = lua_tolstring(L, -1, &c.skip_len[which][n]);
    }
  }
  if (canon(L, &c, 1, 1, 0))
    return luaL_error(L, "%s", c.err);
  char out[17];
  dl_hash_hex(c.h, out);
  lua_pushlstring(L, out, 16);
  return 1;
}

static const luaL_Reg functions[] = {
    {"encode", l_encode},
    {"hash", l_hash},
    {NULL, NULL},
};

int luaopen_deloc_native_json(lua_State *L) {
  lua_newtable(L);
  luaL_register(L, NULL, functions);
  /* encode's upvalues: tostring, string.format, as the process began */
  lua_getglobal(L, "tostring");
  lua_getglobal(L, "string");
  lua_getfield(L, -1, "format");
  lua_remove(L, -2);
  lua_pushcclosure(L, l_encode, 2);
  lua_setfield(L, -2, "encode");
  return 1;
}
