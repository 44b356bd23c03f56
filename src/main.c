/* deloc: a data-engineering stack on this machine or a cluster.  main() only
 * makes the Lua state and hands argv to deloc.cli; everything else lives in
 * modules. */
#include <lauxlib.h>
#include <lua.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host.h"

struct args {
  int argc;
  char **argv;
  int status;
};

/* Pushes the traceback-carrying error for `-v`/DELOC_DEBUG, the message
 * otherwise. */
static int on_error(lua_State *L) {
  const char *debug = getenv("DELOC_DEBUG");
  if (debug && *debug && strcmp(debug, "0") != 0 && lua_isstring(L, 1))
    luaL_traceback(L, L, lua_tostring(L, 1), 1);
  return 1;
}

static int pmain(lua_State *L) {
  struct args *a = lua_touserdata(L, 1);
  dl_host_init(L);
  lua_pushcfunction(L, on_error);
  lua_getglobal(L, "require");
  lua_pushliteral(L, "deloc.cli");
  lua_call(L, 1, 1); /* [on_error, cli] */
  lua_getfield(L, -1, "main");
  lua_createtable(L, a->argc, 0);
  for (int i = 0; i < a->argc; i++) {
    lua_pushstring(L, a->argv[i]);
    lua_rawseti(L, -2, i);
  }
  /* [on_error, cli, main, argv] */
  if (lua_pcall(L, 1, 1, 2) != 0)
    return lua_error(L);
  a->status = lua_isnumber(L, -1) ? (int)lua_tointeger(L, -1) : 0;
  return 0;
}

int main(int argc, char **argv) {
  lua_State *L = luaL_newstate();
  if (L == NULL) {
    fputs("deloc: cannot create the Lua state: out of memory\n", stderr);
    return 1;
  }
  struct args a = {argc, argv, 1};
  if (lua_cpcall(L, pmain, &a) != 0) {
    const char *msg = lua_tostring(L, -1);
    fprintf(stderr, "deloc: %s\n",
            msg ? msg : "(error object is not a string)");
    a.status = 1;
  }
  fflush(stdout);
  lua_close(L);
  return a.status;
}
