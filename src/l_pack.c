/* deloc.native.pack: the binding of the pack core (src/pack.h).  Reads the
 * memory and cpu of items and bins into integer vectors (bytes, millicores)
 * and returns where each item went; deloc.pack (lua/deloc/pack.lua) adds the
 * names and the reasons. */
#include <lauxlib.h>
#include <lua.h>
#include <stdint.h>

#include "pack.h"

#define NDIM 2

/* Reads list[i].memory (bytes) and .cpu (cores, kept as millicores).  A size
 * that is not a number in 0 .. 2^53 is the caller's bug: it raises. */
static void read_sizes(lua_State *L, int list, const char *what, size_t n,
                       int64_t *out) {
  static const char *const fields[NDIM] = {"memory", "cpu"};
  static const double units[NDIM] = {1, 1000};
  for (size_t i = 0; i < n; i++) {
    lua_rawgeti(L, list, (int)i + 1); /* [..., entry] */
    if (!lua_istable(L, -1))
      luaL_error(L, "%s[%d]: expected a table, got a %s", what, (int)i + 1,
                 luaL_typename(L, -1));
    for (int d = 0; d < NDIM; d++) {
      lua_getfield(L, -1, fields[d]); /* [..., entry, size] */
      double v = lua_tonumber(L, -1) * units[d];
      if (lua_type(L, -1) != LUA_TNUMBER || !(v >= 0 && v <= DL_PACK_MAX)) {
        int t = lua_type(L, -1);
        luaL_error(L, "%s[%d].%s: expected a number >= 0, got %s%s%s", what,
                   (int)i + 1, fields[d], t == LUA_TSTRING ? "'" : "",
                   t == LUA_TNUMBER || t == LUA_TSTRING ? lua_tostring(L, -1)
                                                        : luaL_typename(L, -1),
                   t == LUA_TSTRING ? "'" : "");
      }
      out[i * NDIM + (size_t)d] = (int64_t)(v + 0.5);
      lua_pop(L, 1);
    }
    lua_pop(L, 1);
  }
}

/* pack.pack(items, bins[, strategy]) -> place, bins
 *   place[i] = index in bins of item i's bin, or 0 where none had room;
 *   bins[b] = { used_memory=, used_cpu=, free_memory=, free_cpu= } */
static int l_pack_pack(lua_State *L) {
  static const char *const strategies[] = {"best", "first", "worst", NULL};
  static const int codes[] = {DL_PACK_BEST, DL_PACK_FIRST, DL_PACK_WORST};
  luaL_checktype(L, 1, LUA_TTABLE);
  luaL_checktype(L, 2, LUA_TTABLE);
  int strategy = codes[luaL_checkoption(L, 3, "best", strategies)];
  lua_settop(L, 3);
  size_t ni = lua_objlen(L, 1), nb = lua_objlen(L, 2);
  if (ni > INT32_MAX / NDIM || nb > INT32_MAX / NDIM)
    return luaL_error(L, "too many items or bins");

  /* scratch in a userdata: the errors raised below free it with the GC */
  size_t bytes =
      (ni * NDIM + nb * NDIM * 2) * sizeof(int64_t) + ni * sizeof(int32_t);
  int64_t *need = lua_newuserdata(L, bytes ? bytes : 1); /* [.., scratch] */
  int64_t *cap = need + ni * NDIM, *used = cap + nb * NDIM;
  int32_t *place = (int32_t *)(used + nb * NDIM);
  read_sizes(L, 1, "items", ni, need);
  read_sizes(L, 2, "bins", nb, cap);
  if (dl_pack(ni, nb, NDIM, need, cap, strategy, place, used) != DL_PACK_OK)
    return luaL_error(L, "not enough memory");

  lua_createtable(L, (int)ni, 0); /* [.., scratch, place] */
  for (size_t i = 0; i < ni; i++) {
    lua_pushinteger(L, place[i] + 1);
    lua_rawseti(L, -2, (int)i + 1);
  }
  lua_createtable(L, (int)nb, 0); /* [.., scratch, place, bins] */
  for (size_t b = 0; b < nb; b++) {
    const int64_t *c = cap + b * NDIM, *u = used + b * NDIM;
    lua_createtable(L, 0, 4);
    lua_pushnumber(L, (lua_Number)u[0]);
    lua_setfield(L, -2, "used_memory");
    lua_pushnumber(L, (lua_Number)u[1] / 1000);
    lua_setfield(L, -2, "used_cpu");
    lua_pushnumber(L, (lua_Number)(c[0] - u[0]));
    lua_setfield(L, -2, "free_memory");
    lua_pushnumber(L, (lua_Number)(c[1] - u[1]) / 1000);
    lua_setfield(L, -2, "free_cpu");
    lua_rawseti(L, -2, (int)b + 1);
  }
  return 2;
}

int luaopen_deloc_native_pack(lua_State *L) {
  static const luaL_Reg fns[] = {{"pack", l_pack_pack}, {NULL, NULL}};
  lua_createtable(L, 0, 1);
  luaL_register(L, NULL, fns);
  return 1;
}
