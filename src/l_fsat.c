/* deloc.native.fsat: a handle on a directory for unpacking archives someone
 * else wrote (deloc cp) and packing a build context.  The walk below the root
 * (one O_NOFOLLOW component at a time, "..", "." and empty components
 * refused) is src/sys_at.c's, shared with sys.at(root); this file only moves
 * arguments and results across.
 *
 *   root = fsat.open(dir) -> root | nil, err
 *   root:mkdir(rel [, mode]) -> true | nil, err  (an existing directory is
 * fine) root:create(rel [, mode]) -> file | nil, err (a file or link there is
 *                                                 replaced)
 *   root:symlink(rel, target) -> true | nil, err (target stored, not followed)
 *   root:link(rel, existing_rel) -> true | nil, err
 *   root:close()
 *   file:write(s) -> true | nil, err;  file:close([mtime]) -> true | nil, err
 *   fsat.lstat(path) -> { type=, mode=, size=, mtime=, uid=, gid= } | nil, err
 *     type: "file" | "directory" | "symlink" | "other"
 *   fsat.readlink(path) -> target | nil, err */
#include <errno.h>
#include <fcntl.h>
#include <lauxlib.h>
#include <limits.h>
#include <lua.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "sys.h"

#define ROOT_MT "deloc.fsat.root"
#define FILE_MT "deloc.fsat.file"

/* A root keeps its path for messages; a file keeps the path it was created
 * at.  Both own one fd, -1 once closed. */
struct fd_box {
  int fd;
  char path[PATH_MAX];
};

static int push_error(lua_State *L, const char *err) {
  lua_pushnil(L);
  lua_pushstring(L, err);
  return 2;
}

static int push_fail(lua_State *L, const char *what, const char *path, int e) {
  char err[DL_SYS_ERRLEN];
  dl_sys_fail(err, what, path, e);
  return push_error(L, err);
}

static int push_true(lua_State *L) {
  lua_pushboolean(L, 1);
  return 1;
}

static struct fd_box *check_box(lua_State *L, const char *mt,
                                const char *noun) {
  struct fd_box *b = luaL_checkudata(L, 1, mt);
  if (b->fd < 0)
    luaL_error(L, "attempt to use a closed %s", noun);
  return b;
}

static struct fd_box *check_root(lua_State *L) {
  return check_box(L, ROOT_MT, "root");
}

static struct fd_box *new_box(lua_State *L, const char *mt, const char *path) {
  struct fd_box *b = lua_newuserdata(L, sizeof *b);
  b->fd = -1;
  snprintf(b->path, sizeof b->path, "%s", path);
  luaL_getmetatable(L, mt);
  lua_setmetatable(L, -2);
  return b;
}

/* fsat.open(dir) -> root | nil, err */
static int l_open(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  char err[DL_SYS_ERRLEN];
  struct fd_box *b = new_box(L, ROOT_MT, path);
  b->fd = dl_sys_root_open(path, err);
  if (b->fd < 0)
    return push_error(L, err);
  return 1;
}

/* root:mkdir(rel [, mode]) -> true | nil, err */
static int l_mkdir(lua_State *L) {
  struct fd_box *r = check_root(L);
  const char *rel = luaL_checkstring(L, 2);
  int mode = (int)luaL_optinteger(L, 3, 0755) & 0777;
  char err[DL_SYS_ERRLEN];
  if (dl_sys_mkdir_in(r->fd, r->path, rel, mode, err) != 0)
    return push_error(L, err);
  return push_true(L);
}

/* root:create(rel [, mode]) -> file | nil, err */
static int l_create(lua_State *L) {
  struct fd_box *r = check_root(L);
  const char *rel = luaL_checkstring(L, 2);
  int mode = (int)luaL_optinteger(L, 3, 0644) & 0777;
  char err[DL_SYS_ERRLEN];
  struct fd_box *f = new_box(L, FILE_MT, rel);
  f->fd = dl_sys_create_in(r->fd, r->path, rel, mode, err);
  if (f->fd < 0)
    return push_error(L, err);
  return 1;
}

/* root:symlink(rel, target) -> true | nil, err */
static int l_symlink(lua_State *L) {
  struct fd_box *r = check_root(L);
  const char *rel = luaL_checkstring(L, 2);
  const char *target = luaL_checkstring(L, 3);
  char err[DL_SYS_ERRLEN];
  if (dl_sys_symlink_in(r->fd, r->path, rel, target, err) != 0)
    return push_error(L, err);
  return push_true(L);
}

/* root:link(rel, existing_rel) -> true | nil, err */
static int l_link(lua_State *L) {
  struct fd_box *r = check_root(L);
  const char *rel = luaL_checkstring(L, 2);
  const char *existing = luaL_checkstring(L, 3);
  char err[DL_SYS_ERRLEN];
  if (dl_sys_link_in(r->fd, r->path, rel, existing, err) != 0)
    return push_error(L, err);
  return push_true(L);
}

/* file:write(s) -> true | nil, err */
static int l_file_write(lua_State *L) {
  struct fd_box *f = check_box(L, FILE_MT, "file");
  size_t len;
  const char *s = luaL_checklstring(L, 2, &len);
  if (dl_sys_write_all(f->fd, s, len) != 0)
    return push_fail(L, "cannot write", f->path, errno);
  return push_true(L);
}

/* close() and __gc of both types: idempotent. */
static int l_box_close(lua_State *L) {
  struct fd_box *b = lua_touserdata(L, 1);
  if (b && b->fd >= 0) {
    close(b->fd);
    b->fd = -1;
  }
  return 0;
}

/* file:close([mtime]) -> true | nil, err  (a closed file: true) */
static int l_file_close(lua_State *L) {
  struct fd_box *f = luaL_checkudata(L, 1, FILE_MT);
  if (f->fd < 0)
    return push_true(L);
  if (lua_isnumber(L, 2)) {
    struct timespec ts[2] = {{.tv_nsec = UTIME_OMIT},
                             {.tv_sec = (time_t)lua_tonumber(L, 2)}};
    futimens(f->fd, ts);
  }
  int rc = close(f->fd);
  f->fd = -1;
  if (rc != 0)
    return push_fail(L, "cannot close", f->path, errno);
  return push_true(L);
}

static int l_box_tostring(lua_State *L) {
  struct fd_box *b = lua_touserdata(L, 1);
  lua_getmetatable(L, 1);
  lua_getfield(L, -1, "__name"); /* [box, mt, name] */
  lua_pushfstring(L, "%s (%s '%s')", lua_tostring(L, -1),
                  b->fd >= 0 ? "open" : "closed", b->path);
  return 1;
}

/* fsat.lstat(path) -> { type=, mode=, size=, mtime=, uid=, gid= } | nil, err */
static int l_lstat(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  struct stat st;
  if (lstat(path, &st) != 0)
    return push_fail(L, "cannot stat", path, errno);
  lua_createtable(L, 0, 6);
  const char *type = S_ISREG(st.st_mode)   ? "file"
                     : S_ISDIR(st.st_mode) ? "directory"
                     : S_ISLNK(st.st_mode) ? "symlink"
                                           : "other";
  lua_pushstring(L, type);
  lua_setfield(L, -2, "type");
  lua_pushinteger(L, st.st_mode & 07777);
  lua_setfield(L, -2, "mode");
  lua_pushnumber(L, (lua_Number)st.st_size);
  lua_setfield(L, -2, "size");
  lua_pushnumber(L, (lua_Number)st.st_mtim.tv_sec);
  lua_setfield(L, -2, "mtime");
  lua_pushinteger(L, st.st_uid);
  lua_setfield(L, -2, "uid");
  lua_pushinteger(L, st.st_gid);
  lua_setfield(L, -2, "gid");
  return 1;
}

/* fsat.readlink(path) -> target | nil, err */
static int l_readlink(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  char buf[PATH_MAX];
  ssize_t n = readlink(path, buf, sizeof buf);
  if (n < 0)
    return push_fail(L, "cannot read link", path, errno);
  lua_pushlstring(L, buf, (size_t)n);
  return 1;
}

static const luaL_Reg root_methods[] = {
    {"mkdir", l_mkdir}, {"create", l_create},   {"symlink", l_symlink},
    {"link", l_link},   {"close", l_box_close}, {NULL, NULL},
};

static const luaL_Reg file_methods[] = {
    {"write", l_file_write},
    {"close", l_file_close},
    {NULL, NULL},
};

static void metatable(lua_State *L, const char *name, const luaL_Reg *m) {
  luaL_newmetatable(L, name);
  lua_pushstring(L, name);
  lua_setfield(L, -2, "__name");
  lua_newtable(L);
  luaL_register(L, NULL, m);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, l_box_close);
  lua_setfield(L, -2, "__gc");
  lua_pushcfunction(L, l_box_tostring);
  lua_setfield(L, -2, "__tostring");
  lua_pop(L, 1);
}

int luaopen_deloc_native_fsat(lua_State *L) {
  metatable(L, ROOT_MT, root_methods);
  metatable(L, FILE_MT, file_methods);
  lua_newtable(L);
  lua_pushcfunction(L, l_open);
  lua_setfield(L, -2, "open");
  lua_pushcfunction(L, l_lstat);
  lua_setfield(L, -2, "lstat");
  lua_pushcfunction(L, l_readlink);
  lua_setfield(L, -2, "readlink");
  return 1;
}
