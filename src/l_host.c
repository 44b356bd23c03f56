/* deloc.native.host: what the binary knows about itself — version, the embedded
 * modules, and the REPL's interrupt switch. */
#include <dirent.h>
#include <lauxlib.h>
#include <lua.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "embedded.h"
#include "host.h"

static const char *tree_dir(void) {
  const char *tree = getenv("DELOC_LUA_DIR");
  return tree && *tree ? tree : NULL;
}

/* host.version() -> string */
static int l_host_version(lua_State *L) {
  lua_pushliteral(L, DELOC_VERSION);
  return 1;
}

/* Adds the tree's files under the directory that `prefix` maps to. */
static void add_tree_modules(lua_State *L, const char *prefix, int set) {
  char rel[1024], dir[2048];
  size_t plen = strlen(prefix);
  if (plen < 2 || prefix[plen - 1] != '.' || plen >= sizeof rel)
    return;
  char mod[1024];
  memcpy(mod, prefix, plen - 1);
  mod[plen - 1] = '\0';
  if (dl_host_module_path(mod, rel, sizeof rel, 1) != 0)
    return;
  rel[strlen(rel) - strlen("/init.lua")] = '\0';
  snprintf(dir, sizeof dir, "%s/%s", tree_dir(), rel);
  DIR *d = opendir(dir);
  if (d == NULL)
    return;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    size_t n = strlen(e->d_name);
    if (n <= 4 || strcmp(e->d_name + n - 4, ".lua") != 0 || e->d_name[0] == '.')
      continue;
    lua_pushfstring(L, "%s%s", prefix, e->d_name);
    lua_pushlstring(L, lua_tostring(L, -1), plen + n - 4);
    lua_remove(L, -2);
    lua_pushboolean(L, 1);
    lua_rawset(L, set);
  }
  closedir(d);
}

/* host.modules([prefix]) -> { name, ... } sorted; in a development build the
 * tree's files are included */
static int l_host_modules(lua_State *L) {
  const char *prefix = luaL_optstring(L, 1, "");
  size_t plen = strlen(prefix);
  lua_newtable(L); /* [set] */
  int set = lua_gettop(L);
  for (size_t i = 0; i < dl_embedded_count; i++) {
    if (strncmp(dl_embedded_modules[i].module, prefix, plen) != 0)
      continue;
    lua_pushstring(L, dl_embedded_modules[i].module);
    lua_pushboolean(L, 1);
    lua_rawset(L, set);
  }
  if (tree_dir())
    add_tree_modules(L, prefix, set);
  lua_getglobal(L, "table");
  lua_getfield(L, -1, "sort"); /* [set, table, sort] */
  lua_newtable(L);             /* [set, table, sort, list] */
  int n = 0;
  lua_pushnil(L);
  while (lua_next(L, set) != 0) {
    lua_pop(L, 1);
    lua_pushvalue(L, -1);
    lua_rawseti(L, -3, ++n);
  }
  lua_pushvalue(L, -1);
  lua_insert(L, -3); /* [set, table, list, sort, list] */
  lua_call(L, 1, 0);
  return 1;
}

/* host.chunk(module) -> function, path | nil, err: the module's code, not run
 */
static int l_host_chunk(lua_State *L) {
  const char *module = luaL_checkstring(L, 1);
  char rel[1024], path[2048];
  if (tree_dir()) {
    for (int init = 0; init <= 1; init++) {
      if (dl_host_module_path(module, rel, sizeof rel, init) != 0)
        break;
      snprintf(path, sizeof path, "%s/%s", tree_dir(), rel);
      if (access(path, R_OK) != 0)
        continue;
      if (luaL_loadfile(L, path) != 0) {
        lua_pushnil(L);
        lua_insert(L, -2);
        return 2;
      }
      lua_pushstring(L, path);
      return 2;
    }
  }
  for (size_t i = 0; i < dl_embedded_count; i++) {
    const struct dl_embedded *m = &dl_embedded_modules[i];
    if (strcmp(m->module, module) != 0)
      continue;
    lua_pushfstring(L, "@%s", m->path);
    if (luaL_loadbuffer(L, (const char *)m->chunk, m->size,
                        lua_tostring(L, -1)) != 0)
      return lua_error(L); /* embedded bytecode that does not load is our bug */
    lua_pushstring(L, m->path);
    return 2;
  }
  lua_pushnil(L);
  lua_pushfstring(L, "no embedded module '%s'", module);
  return 2;
}

/* host.interrupt(on) -> nil: while on, SIGINT raises "interrupted" in Lua code
 */
static int l_host_interrupt(lua_State *L) {
  if (lua_toboolean(L, 1))
    dl_host_interrupt_arm(L);
  else
    dl_host_interrupt_disarm();
  return 0;
}

/* host.exe() -> path of this binary | nil, err */
static int l_host_exe(lua_State *L) {
  char buf[4096];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n < 0) {
    lua_pushnil(L);
    lua_pushliteral(L, "cannot read /proc/self/exe");
    return 2;
  }
  lua_pushlstring(L, buf, (size_t)n);
  return 1;
}

/* host.dev_tree() -> DELOC_LUA_DIR or nil */
static int l_host_dev_tree(lua_State *L) {
  if (tree_dir())
    lua_pushstring(L, tree_dir());
  else
    lua_pushnil(L);
  return 1;
}

int luaopen_deloc_native_host(lua_State *L) {
  static const luaL_Reg fns[] = {
      {"version", l_host_version},
      {"modules", l_host_modules},
      {"chunk", l_host_chunk},
      {"interrupt", l_host_interrupt},
      {"exe", l_host_exe},
      {"dev_tree", l_host_dev_tree},
      {NULL, NULL},
  };
  lua_newtable(L);
  luaL_register(L, NULL, fns);
  return 1;
}
