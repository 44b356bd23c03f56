/* deloc.native.http: the Lua binding of the http core (src/http.h).  A multi
 * object runs many requests at once; poll() hands back what happened as
 * plain tables.  No Lua code runs inside libcurl: on_data callbacks and the
 * scheduler live in lua/deloc/http.lua and lua/deloc/sched.lua. */
#include <ctype.h>
#include <lauxlib.h>
#include <lua.h>
#include <string.h>

#include "http.h"

#define MULTI_MT "deloc.http.multi"

/* The libcurl function table, loaded on first use: an upvalue of the module's
 * functions.  Each multi copies it, so a multi never points into memory that
 * lua_close() may free first. */
struct lib {
  int loaded;
  struct dl_http_curl c;
};

struct multi {
  struct dl_http_curl c;
  struct dl_http_multi m;
};

static int push_error(lua_State *L, const char *err) {
  lua_pushnil(L);
  lua_pushstring(L, err);
  return 2;
}

/* http.loaded() -> boolean (is libcurl mapped into this process?) */
static int l_http_loaded(lua_State *L) {
  lua_pushboolean(L, dl_http_loaded());
  return 1;
}

static struct lib *get_lib(lua_State *L, char *err) {
  struct lib *lib = lua_touserdata(L, lua_upvalueindex(1));
  if (!lib->loaded) {
    if (dl_http_load(&lib->c, err) != 0)
      return NULL;
    lib->loaded = 1;
  }
  return lib;
}

/* http.version() -> "libcurl/7.88.1 OpenSSL/3.0.x ..." | nil, err */
static int l_http_version(lua_State *L) {
  char err[DL_HTTP_ERRLEN];
  struct lib *lib = get_lib(L, err);
  if (!lib)
    return push_error(L, err);
  curl_version_info_data *v = lib->c.version_info(CURLVERSION_NOW);
  lua_pushfstring(L, "libcurl/%s %s", v->version,
                  v->ssl_version ? v->ssl_version : "");
  return 1;
}

/* http.multi() -> multi | nil, "cannot load libcurl: ..." */
static int l_http_multi(lua_State *L) {
  char err[DL_HTTP_ERRLEN];
  struct lib *lib = get_lib(L, err);
  if (!lib)
    return push_error(L, err);
  struct multi *u = lua_newuserdata(L, sizeof *u); /* [u] */
  memset(u, 0, sizeof *u);
  u->c = lib->c;
  luaL_getmetatable(L, MULTI_MT);
  lua_setmetatable(L, -2);
  if (dl_http_multi_init(&u->m, &u->c, err) != 0)
    return push_error(L, err);
  return 1;
}

static struct multi *check_multi(lua_State *L) {
  return luaL_checkudata(L, 1, MULTI_MT);
}

static struct multi *check_open(lua_State *L) {
  struct multi *u = check_multi(L);
  if (!u->m.multi)
    luaL_error(L, "attempt to use a closed http multi");
  return u;
}

/* Leaves opts[name] on the stack; returns it when it is a string, NULL when
 * nil, and raises for anything else. */
static const char *opt_string(lua_State *L, int opts, const char *name,
                              size_t *len) {
  lua_getfield(L, opts, name);
  if (lua_isnil(L, -1))
    return NULL;
  if (lua_type(L, -1) != LUA_TSTRING)
    luaL_error(L, "http request: %s must be a string, got %s", name,
               luaL_typename(L, -1));
  return lua_tolstring(L, -1, len);
}

static long opt_ms(lua_State *L, int opts, const char *name) {
  lua_getfield(L, opts, name);
  long v = 0;
  if (!lua_isnil(L, -1)) {
    if (lua_type(L, -1) != LUA_TNUMBER || lua_tonumber(L, -1) < 0 ||
        lua_tonumber(L, -1) > 1e15)
      luaL_error(L, "http request: %s must be a non-negative number", name);
    v = (long)lua_tonumber(L, -1);
  }
  lua_pop(L, 1);
  return v;
}

static int opt_bool(lua_State *L, int opts, const char *name) {
  lua_getfield(L, opts, name);
  int v = lua_toboolean(L, -1);
  lua_pop(L, 1);
  return v;
}

static int has_newline(const char *s, size_t n) {
  return memchr(s, '\r', n) || memchr(s, '\n', n) || strlen(s) != n;
}

/* multi:add{url=, method=, unix_socket=, headers={"Name: value", ...},
 *           body=, timeout_ms=, connect_timeout_ms=, idle_timeout_ms=,
 * max_body=, cacert=, cert=, key=, insecure=, stream=, follow=} -> id | nil,
 * err */
static int l_multi_add(lua_State *L) {
  struct multi *u = check_open(L);
  luaL_checktype(L, 2, LUA_TTABLE);
  luaL_checkstack(L, 24, "http request");
  struct dl_http_opts o;
  memset(&o, 0, sizeof o);
  size_t len = 0;
  o.url = opt_string(L, 2, "url", &len);
  if (!o.url)
    return luaL_error(L, "http request: url is required");
  if (strlen(o.url) != len)
    return luaL_error(L, "http request: url contains a NUL byte");
  o.method = opt_string(L, 2, "method", NULL);
  o.unix_socket = opt_string(L, 2, "unix_socket", NULL);
  o.cacert = opt_string(L, 2, "cacert", NULL);
  o.cert = opt_string(L, 2, "cert", NULL);
  o.key = opt_string(L, 2, "key", NULL);
  o.body = opt_string(L, 2, "body", &o.body_len);
  if (o.method && has_newline(o.method, strlen(o.method)))
    return luaL_error(L, "http request: method contains a line break");
  o.timeout_ms = opt_ms(L, 2, "timeout_ms");
  o.connect_timeout_ms = opt_ms(L, 2, "connect_timeout_ms");
  o.idle_timeout_s = (opt_ms(L, 2, "idle_timeout_ms") + 999) / 1000;
  o.max_body = (size_t)opt_ms(L, 2, "max_body");
  o.insecure = opt_bool(L, 2, "insecure");
  o.stream = opt_bool(L, 2, "stream");
  o.follow = opt_bool(L, 2, "follow");

  lua_getfield(L, 2, "headers"); /* [..., headers] */
  if (!lua_isnil(L, -1)) {
    luaL_argcheck(L, lua_istable(L, -1), 2, "headers must be a list");
    int hidx = lua_gettop(L);
    o.nheaders = lua_objlen(L, hidx);
    const char **h = lua_newuserdata(L, (o.nheaders + 1) * sizeof *h);
    for (size_t i = 0; i < o.nheaders; i++) {
      lua_rawgeti(L, hidx, (int)i + 1);
      size_t n;
      if (lua_type(L, -1) != LUA_TSTRING)
        return luaL_error(L, "http request: header %d must be a string",
                          (int)i + 1);
      h[i] = lua_tolstring(L, -1, &n);
      if (has_newline(h[i], n) || !strchr(h[i], ':'))
        return luaL_error(L, "http request: bad header line %d", (int)i + 1);
      lua_pop(L, 1); /* the string stays alive in the headers table */
    }
    o.headers = h;
  }

  char err[DL_HTTP_ERRLEN];
  unsigned id;
  if (dl_http_multi_add(&u->m, &o, &id, err) != 0)
    return push_error(L, err);
  lua_pushinteger(L, (lua_Integer)id);
  return 1;
}

/* Pushes the response headers as { ["lower-case-name"] = "value", ... };
 * a repeated header's values are joined with ", ". */
static void push_headers(lua_State *L, const struct dl_http_buf *b) {
  lua_newtable(L);  /* [h] */
  if (b->p == NULL) /* no header at all (found by fuzz/http.c) */
    return;
  const char *p = b->p, *end = b->p + b->len;
  while (p && p < end) {
    const char *eol = memchr(p, '\n', (size_t)(end - p));
    const char *next = eol ? eol + 1 : end;
    if (!eol)
      eol = end;
    while (eol > p && (eol[-1] == '\r' || eol[-1] == '\n'))
      eol--;
    const char *colon = memchr(p, ':', (size_t)(eol - p));
    /* a status line is not a header; a line shorter than "HTTP/" is not
     * compared past its end */
    int status = eol - p >= 5 && memcmp(p, "HTTP/", 5) == 0;
    if (colon && colon > p && !status) {
      luaL_Buffer name;
      luaL_buffinit(L, &name);
      for (const char *q = p; q < colon; q++)
        luaL_addchar(&name, (char)tolower((unsigned char)*q));
      luaL_pushresult(&name); /* [h, name] */
      const char *v = colon + 1;
      while (v < eol && (*v == ' ' || *v == '\t'))
        v++;
      lua_pushvalue(L, -1);
      lua_rawget(L, -3); /* [h, name, old] */
      if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        lua_pushlstring(L, v, (size_t)(eol - v));
      } else {
        lua_pushliteral(L, ", ");
        lua_pushlstring(L, v, (size_t)(eol - v));
        lua_concat(L, 3);
      }                  /* [h, name, value] */
      lua_rawset(L, -3); /* [h] */
    }
    p = next;
  }
}

static void set_int(lua_State *L, const char *k, lua_Integer v) {
  lua_pushinteger(L, v);
  lua_setfield(L, -2, k);
}

/* multi:poll([timeout_ms = 0]) -> events | nil, err
 *   events: { {id=, data=chunk} | {id=, done=true, status=, headers=,
 *             body=, err=nil|"<url>: why", kind=nil|"connect"|...}, ... }
 * A done request is forgotten once reported. */
static int l_multi_poll(lua_State *L) {
  struct multi *u = check_open(L);
  lua_Number t = luaL_optnumber(L, 2, 0);
  int timeout_ms = t <= 0 ? 0 : t > 86400000 ? 86400000 : (int)t;
  char err[DL_HTTP_ERRLEN];
  if (dl_http_multi_poll(&u->m, timeout_ms, err) != 0)
    return push_error(L, err);
  lua_newtable(L); /* [events] */
  int n = 0;
  for (size_t i = 0; i < u->m.n; i++) {
    struct dl_http_req *r = u->m.reqs[i];
    if (r->chunk.len > 0) {
      lua_createtable(L, 0, 2); /* [events, ev] */
      set_int(L, "id", r->id);
      lua_pushlstring(L, r->chunk.p, r->chunk.len);
      lua_setfield(L, -2, "data");
      lua_rawseti(L, -2, ++n); /* [events] */
      dl_http_chunk_taken(r);
    }
    if (r->done) {
      lua_createtable(L, 0, 7); /* [events, ev] */
      set_int(L, "id", r->id);
      lua_pushboolean(L, 1);
      lua_setfield(L, -2, "done");
      set_int(L, "status", r->status);
      push_headers(L, &r->head);
      lua_setfield(L, -2, "headers");
      lua_pushlstring(L, r->body.p ? r->body.p : "", r->body.len);
      lua_setfield(L, -2, "body");
      if (r->result != CURLE_OK) {
        lua_pushstring(L, r->err);
        lua_setfield(L, -2, "err");
        lua_pushstring(L, dl_http_kind_name(r->kind));
        lua_setfield(L, -2, "kind");
      }
      lua_rawseti(L, -2, ++n); /* [events] */
    }
  }
  /* Everything is in Lua strings now: free the finished requests. */
  for (size_t i = 0; i < u->m.n;) {
    if (u->m.reqs[i]->done)
      dl_http_multi_remove(&u->m, u->m.reqs[i]->id);
    else
      i++;
  }
  return 1;
}

/* multi:perform() -> events | nil, err  (poll without waiting) */
static int l_multi_perform(lua_State *L) {
  lua_settop(L, 1);
  lua_pushinteger(L, 0);
  return l_multi_poll(L);
}

/* multi:remove(id) -> true | false (no such request)  -- aborts it */
static int l_multi_remove(lua_State *L) {
  struct multi *u = check_open(L);
  lua_Integer id = luaL_checkinteger(L, 2);
  lua_pushboolean(L, id > 0 && dl_http_multi_remove(&u->m, (unsigned)id) == 0);
  return 1;
}

/* multi:count() -> number of requests not yet reported done */
static int l_multi_count(lua_State *L) {
  struct multi *u = check_multi(L);
  lua_pushinteger(L, (lua_Integer)u->m.n);
  return 1;
}

/* multi:close()  -- aborts every request; idempotent, also __gc */
static int l_multi_close(lua_State *L) {
  struct multi *u = check_multi(L);
  dl_http_multi_close(&u->m);
  return 0;
}

static int l_multi_tostring(lua_State *L) {
  struct multi *u = check_multi(L);
  if (!u->m.multi)
    lua_pushliteral(L, "deloc.http.multi (closed)");
  else
    lua_pushfstring(L, "deloc.http.multi (%d requests)", (int)u->m.n);
  return 1;
}

static const luaL_Reg multi_methods[] = {{"add", l_multi_add},
                                         {"poll", l_multi_poll},
                                         {"perform", l_multi_perform},
                                         {"remove", l_multi_remove},
                                         {"count", l_multi_count},
                                         {"close", l_multi_close},
                                         {NULL, NULL}};

static const luaL_Reg funcs[] = {{"loaded", l_http_loaded},
                                 {"version", l_http_version},
                                 {"multi", l_http_multi},
                                 {NULL, NULL}};

int luaopen_deloc_native_http(lua_State *L) {
  if (luaL_newmetatable(L, MULTI_MT)) { /* [mt] */
    lua_newtable(L);                    /* [mt, methods] */
    luaL_register(L, NULL, multi_methods);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, l_multi_close);
    lua_setfield(L, -2, "__gc");
    lua_pushcfunction(L, l_multi_tostring);
    lua_setfield(L, -2, "__tostring");
  }
  lua_pop(L, 1);                                     /* [] */
  lua_newtable(L);                                   /* [M] */
  struct lib *lib = lua_newuserdata(L, sizeof *lib); /* [M, lib] */
  memset(lib, 0, sizeof *lib);
  for (const luaL_Reg *f = funcs; f->name; f++) {
    lua_pushvalue(L, -1);
    lua_pushcclosure(L, f->func, 1);
    lua_setfield(L, -3, f->name);
  }
  lua_pop(L, 1); /* [M] */
  return 1;
}
