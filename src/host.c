/*
 * The host: standard libraries, C bindings and embedded Lua modules in
 * package.preload, our package.path, and the SIGINT hook the REPL uses.
 */
#include "host.h"

#include <lauxlib.h>
#include <lualib.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "embedded.h"

/* The C bindings, one per src/l_NAME.c, listed by the build in bindings.h. */
#define BINDING(name) int luaopen_deloc_native_##name(lua_State *L);
#include "bindings.h"
#undef BINDING
int luaopen_cjson(lua_State *L);
int luaopen_cjson_safe(lua_State *L);

static const luaL_Reg c_modules[] = {
#define BINDING(name) {"deloc.native." #name, luaopen_deloc_native_##name},
#include "bindings.h"
#undef BINDING
    {"cjson", luaopen_cjson},
    {"cjson.safe", luaopen_cjson_safe},
    {NULL, NULL},
};

/* Debian's pure-Lua module trees: absolute, so `./?.lua` never gets in. */
static const char system_path[] =
    "/usr/local/share/lua/5.1/?.lua;/usr/local/share/lua/5.1/?/init.lua;"
    "/usr/share/lua/5.1/?.lua;/usr/share/lua/5.1/?/init.lua";

int dl_host_module_path(const char *module, char *out, size_t cap, int init) {
  const char *rest;
  const char *dir;
  if (strncmp(module, "deloc.adapters.", 15) == 0) {
    dir = "adapters/";
    rest = module + 15;
  } else if (strncmp(module, "deloc.recipes.", 14) == 0) {
    dir = "recipes/";
    rest = module + 14;
  } else if (strncmp(module, "deloc", 5) == 0 &&
             (module[5] == '.' || module[5] == '\0')) {
    dir = "lua/";
    rest = module;
  } else {
    return -1;
  }
  size_t n = (size_t)snprintf(out, cap, "%s", dir);
  for (const char *p = rest; *p && n + 1 < cap; p++)
    out[n++] = *p == '.' ? '/' : *p;
  int w = snprintf(out + (n < cap ? n : cap), n < cap ? cap - n : 0, "%s",
                   init ? "/init.lua" : ".lua");
  return n + (size_t)w < cap ? 0 : -1;
}

/* preload loader for an embedded module: upvalue 1 is its index. */
static int load_embedded(lua_State *L) {
  size_t i = (size_t)lua_tointeger(L, lua_upvalueindex(1));
  const struct dl_embedded *m = &dl_embedded_modules[i];
  char chunkname[512];
  snprintf(chunkname, sizeof chunkname, "@%s", m->path);
  if (luaL_loadbuffer(L, (const char *)m->chunk, m->size, chunkname) != 0)
    return lua_error(L);
  lua_pushstring(L, m->module);
  lua_call(L, 1, 1);
  return 1;
}

/* searcher for DELOC_LUA_DIR: upvalue 1 is the tree.  Same mapping as the
 * embedded table, so a development build sees exactly the files it would embed.
 */
static int search_tree(lua_State *L) {
  const char *module = luaL_checkstring(L, 1);
  const char *tree = lua_tostring(L, lua_upvalueindex(1));
  char rel[1024], path[2048];
  for (int init = 0; init <= 1; init++) {
    if (dl_host_module_path(module, rel, sizeof rel, init) != 0)
      break;
    snprintf(path, sizeof path, "%s/%s", tree, rel);
    FILE *f = fopen(path, "r");
    if (f == NULL)
      continue;
    fclose(f);
    if (luaL_loadfile(L, path) != 0)
      return lua_error(L);
    return 1;
  }
  lua_pushfstring(L, "\n\tno file for '%s' under DELOC_LUA_DIR '%s'", module,
                  tree);
  return 1;
}

static void register_preload(lua_State *L) {
  lua_getglobal(L, "package");
  lua_getfield(L, -1, "preload"); /* [package, preload] */
  for (const luaL_Reg *m = c_modules; m->name; m++) {
    lua_pushcfunction(L, m->func);
    lua_setfield(L, -2, m->name);
  }
  for (size_t i = 0; i < dl_embedded_count; i++) {
    lua_pushinteger(L, (lua_Integer)i);
    lua_pushcclosure(L, load_embedded, 1);
    lua_setfield(L, -2, dl_embedded_modules[i].module);
  }
  lua_pop(L, 1); /* [package] */
}

/* In a development build the tree's sources win over the embedded copies:
 * a searcher placed before preload. */
static void install_tree_searcher(lua_State *L, const char *tree) {
  lua_getfield(L, -1, "loaders"); /* [package, loaders] */
  int n = (int)lua_objlen(L, -1);
  for (int i = n; i >= 1; i--) {
    lua_rawgeti(L, -1, i);
    lua_rawseti(L, -2, i + 1);
  }
  lua_pushstring(L, tree);
  lua_pushcclosure(L, search_tree, 1);
  lua_rawseti(L, -2, 1);
  lua_pop(L, 1); /* [package] */
}

void dl_host_init(lua_State *L) {
  luaL_openlibs(L);
  register_preload(L);
  lua_getglobal(L, "package"); /* [package] */
  lua_pushstring(L, system_path);
  lua_setfield(L, -2, "path");
  const char *test = getenv("DELOC_TEST");
  if (test && *test && strcmp(test, "0") != 0)
    lua_pushliteral(L, "/usr/local/lib/lua/5.1/?.so;"
                       "/usr/lib/x86_64-linux-gnu/lua/5.1/?.so;"
                       "/usr/lib/lua/5.1/?.so");
  else
    lua_pushliteral(L, "");
  lua_setfield(L, -2, "cpath");
  const char *tree = getenv("DELOC_LUA_DIR");
  if (tree && *tree)
    install_tree_searcher(L, tree);
  lua_pop(L, 1);
}

/* ---- interrupts, as lua.c does it ---- */

static lua_State *interrupt_state; /* the Lua state is the one global we keep */

static void interrupt_hook(lua_State *L, lua_Debug *ar) {
  (void)ar;
  lua_sethook(L, NULL, 0, 0);
  luaL_error(L, "interrupted");
}

static void on_sigint(int sig) {
  (void)sig;
  signal(SIGINT, SIG_DFL); /* a second Ctrl-C kills, as in lua.c */
  if (interrupt_state)
    lua_sethook(interrupt_state, interrupt_hook,
                LUA_MASKCALL | LUA_MASKRET | LUA_MASKCOUNT, 1);
}

void dl_host_interrupt_arm(lua_State *L) {
  interrupt_state = L;
  signal(SIGINT, on_sigint);
}

void dl_host_interrupt_disarm(void) {
  signal(SIGINT, SIG_DFL);
  if (interrupt_state)
    lua_sethook(interrupt_state, NULL, 0, 0);
  interrupt_state = NULL;
}
