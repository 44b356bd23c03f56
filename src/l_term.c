/* deloc.native.term: the Lua binding of src/term.h; deloc.term
 * (lua/deloc/term.lua) adds stream names, NO_COLOR and colours. */
#include <lauxlib.h>
#include <lua.h>

#include "term.h"

/* term.isatty(fd) -> boolean */
static int l_term_isatty(lua_State *L) {
  lua_pushboolean(L, dl_term_isatty((int)luaL_checkinteger(L, 1)));
  return 1;
}

/* term.width(fd) -> columns | nil (not a terminal, or it does not say) */
static int l_term_width(lua_State *L) {
  int w = dl_term_width((int)luaL_checkinteger(L, 1));
  if (w > 0)
    lua_pushinteger(L, w);
  else
    lua_pushnil(L);
  return 1;
}

static const luaL_Reg functions[] = {
    {"isatty", l_term_isatty},
    {"width", l_term_width},
    {NULL, NULL},
};

int luaopen_deloc_native_term(lua_State *L) {
  lua_newtable(L);
  luaL_register(L, NULL, functions);
  return 1;
}
