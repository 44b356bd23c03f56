/* deloc.native.sys_at: files below a project directory without following
 * links (src/sys_at.c); deloc.sys wraps them as sys.at(root). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <lauxlib.h>
#include <lua.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sys.h"

static int push_error(lua_State *L, const char *err) {
  lua_pushnil(L);
  lua_pushstring(L, err);
  return 2;
}

static int opt_mode(lua_State *L, int idx) {
  return (int)luaL_optinteger(L, idx, -1);
}

/* read(root, rel [, max]) -> data | nil, err */
static int l_read(lua_State *L) {
  const char *root = luaL_checkstring(L, 1);
  const char *rel = luaL_checkstring(L, 2);
  lua_Number max = luaL_optnumber(L, 3, 64.0 * 1024 * 1024);
  char err[DL_SYS_ERRLEN];
  int fd = dl_sys_open_at(root, rel, O_RDONLY, 0, -1, err);
  if (fd < 0)
    return push_error(L, err);
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  lua_Number total = 0;
  for (;;) {
    char *p = luaL_prepbuffer(&b);
    ssize_t n = read(fd, p, LUAL_BUFFERSIZE);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      int e = errno;
      close(fd);
      return push_error(L, strerror(e));
    }
    if (n == 0)
      break;
    total += (lua_Number)n;
    if (total > max) {
      close(fd);
      lua_pushnil(L);
      lua_pushfstring(L, "'%s/%s' is larger than %d bytes", root, rel,
                      (int)max);
      return 2;
    }
    luaL_addsize(&b, (size_t)n);
  }
  close(fd);
  luaL_pushresult(&b);
  return 1;
}

/* write(root, rel, data, mode [, dirmode]) -> true | nil, err */
static int l_write(lua_State *L) {
  const char *root = luaL_checkstring(L, 1);
  const char *rel = luaL_checkstring(L, 2);
  size_t len;
  const char *data = luaL_checklstring(L, 3, &len);
  int mode = (int)luaL_checkinteger(L, 4);
  char err[DL_SYS_ERRLEN];
  if (dl_sys_write_at(root, rel, data, len, mode, opt_mode(L, 5), err) != 0)
    return push_error(L, err);
  lua_pushboolean(L, 1);
  return 1;
}

/* kind(root, rel) -> "file" | "directory" | "link" | "other" | "missing" |
 * nil, err */
static int l_kind(lua_State *L) {
  const char *root = luaL_checkstring(L, 1);
  const char *rel = luaL_checkstring(L, 2);
  char err[DL_SYS_ERRLEN];
  static const char *const names[] = {"missing", "file", "directory", "link",
                                      "other"};
  int k = dl_sys_kind_at(root, rel, err);
  if (k < 0)
    return push_error(L, err);
  lua_pushstring(L, names[k]);
  return 1;
}

/* chmod(root, rel, mode) -> true | nil, err */
static int l_chmod(lua_State *L) {
  char err[DL_SYS_ERRLEN];
  if (dl_sys_chmod_at(luaL_checkstring(L, 1), luaL_checkstring(L, 2),
                      (int)luaL_checkinteger(L, 3), err) != 0)
    return push_error(L, err);
  lua_pushboolean(L, 1);
  return 1;
}

/* chown(root, rel, uid, gid) -> true | nil, err */
static int l_chown(lua_State *L) {
  char err[DL_SYS_ERRLEN];
  if (dl_sys_chown_at(luaL_checkstring(L, 1), luaL_checkstring(L, 2),
                      (uid_t)luaL_checkinteger(L, 3),
                      (gid_t)luaL_checkinteger(L, 4), err) != 0)
    return push_error(L, err);
  lua_pushboolean(L, 1);
  return 1;
}

/* rename(root, from, to) -> true | nil, err */
static int l_rename(lua_State *L) {
  char err[DL_SYS_ERRLEN];
  if (dl_sys_rename_at(luaL_checkstring(L, 1), luaL_checkstring(L, 2),
                       luaL_checkstring(L, 3), err) != 0)
    return push_error(L, err);
  lua_pushboolean(L, 1);
  return 1;
}

/* link_same(root, rel, data, target) -> true | false */
static int l_link_same(lua_State *L) {
  size_t len;
  const char *root = luaL_checkstring(L, 1);
  const char *rel = luaL_checkstring(L, 2);
  const char *data = luaL_checklstring(L, 3, &len);
  const char *target = luaL_checkstring(L, 4);
  lua_pushboolean(L, dl_sys_link_same_at(root, rel, data, len, target));
  return 1;
}

/* remove(root, rel) -> true | nil, err */
static int l_remove(lua_State *L) {
  char err[DL_SYS_ERRLEN];
  if (dl_sys_remove_at(luaL_checkstring(L, 1), luaL_checkstring(L, 2), err) !=
      0)
    return push_error(L, err);
  lua_pushboolean(L, 1);
  return 1;
}

/* listdir(root, rel) -> { names } | nil, err  (rel itself not followed) */
static int l_listdir(lua_State *L) {
  const char *root = luaL_checkstring(L, 1);
  const char *rel = luaL_checkstring(L, 2);
  char err[DL_SYS_ERRLEN];
  int fd = dl_sys_opendir_at(root, rel, err);
  if (fd < 0)
    return push_error(L, err);
  DIR *d = fdopendir(fd);
  if (!d) {
    close(fd);
    return push_error(L, strerror(errno));
  }
  lua_newtable(L);
  int n = 0;
  struct dirent *ent;
  while ((ent = readdir(d)) != NULL) {
    if (strcmp(ent->d_name, ".") == 0 || strcmp(ent->d_name, "..") == 0)
      continue;
    lua_pushstring(L, ent->d_name);
    lua_rawseti(L, -2, ++n);
  }
  closedir(d);
  return 1;
}

static const luaL_Reg functions[] = {
    {"read", l_read},     {"write", l_write},     {"kind", l_kind},
    {"chmod", l_chmod},   {"chown", l_chown},     {"rename", l_rename},
    {"remove", l_remove}, {"listdir", l_listdir}, {"link_same", l_link_same},
    {NULL, NULL},
};

int luaopen_deloc_native_sys_at(lua_State *L) {
  lua_newtable(L);
  luaL_register(L, NULL, functions);
  return 1;
}
