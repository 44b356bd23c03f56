/* deloc.native.fsat: file operations confined to a directory, for unpacking
 * archives someone else wrote (deloc cp) and packing a build context.
 *
 * Every path is relative to a root opened once; each of its directories is
 * opened with openat(O_NOFOLLOW | O_DIRECTORY), one component at a time, so
 * a symbolic link — one that was there, or one the archive made a moment
 * ago — is never followed out of the root, and "..", "." and empty
 * components are refused outright.
 *
 *   root = fsat.open(dir) -> root | nil, err
 *   root:mkdir(rel, mode) -> true | nil, err     (an existing directory is
 * fine) root:create(rel, mode) -> file | nil, err    (a file or link there is
 * replaced) file:write(s) -> true | nil, err;  file:close(mtime) -> true | nil,
 * err root:symlink(rel, target) -> true | nil, err (target is stored, not
 * followed) root:link(rel, existing_rel) -> true | nil, err root:close()
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
#include <unistd.h>

#define ROOT_MT "deloc.fsat.root"
#define FILE_MT "deloc.fsat.file"

struct fd_box {
  int fd;
};

static int fail(lua_State *L, const char *what, const char *path) {
  lua_pushnil(L);
  lua_pushfstring(L, "%s '%s': %s", what, path, strerror(errno));
  return 2;
}

static int refuse(lua_State *L, const char *why, const char *path) {
  lua_pushnil(L);
  lua_pushfstring(L, "refused '%s': %s", path, why);
  return 2;
}

/* Opens the directory holding rel's last component without following links
 * and leaves that component in *leaf; -1 with errno, -2 for a bad path. */
static int open_parent(int root, const char *rel, char *leaf, size_t leafcap) {
  char buf[PATH_MAX];
  if (rel[0] == '/' || strlen(rel) >= sizeof buf)
    return -2;
  strcpy(buf, rel);
  size_t n = strlen(buf);
  while (n > 1 && buf[n - 1] == '/')
    buf[--n] = '\0';
  int dir = dup(root);
  if (dir < 0)
    return -1;
  char *p = buf;
  for (;;) {
    char *slash = strchr(p, '/');
    if (slash)
      *slash = '\0';
    if (*p == '\0' || strcmp(p, ".") == 0 || strcmp(p, "..") == 0) {
      close(dir);
      return -2;
    }
    if (!slash) {
      if (strlen(p) >= leafcap) {
        close(dir);
        return -2;
      }
      strcpy(leaf, p);
      return dir;
    }
    int next = openat(dir, p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    int e = errno;
    close(dir);
    if (next < 0) {
      errno = e;
      return -1;
    }
    dir = next;
    p = slash + 1;
  }
}

#define PARENT(L, root, rel, leaf)                                             \
  int dir = open_parent(root, rel, leaf, sizeof leaf);                         \
  if (dir == -2)                                                               \
    return refuse(L, "not a plain relative path", rel);                        \
  if (dir < 0)                                                                 \
    return fail(L, "cannot open the directory of", rel);

static int check_root(lua_State *L) {
  struct fd_box *b = luaL_checkudata(L, 1, ROOT_MT);
  if (b->fd < 0)
    luaL_error(L, "attempt to use a closed root");
  return b->fd;
}

static struct fd_box *new_box(lua_State *L, const char *mt) {
  struct fd_box *b = lua_newuserdata(L, sizeof *b);
  b->fd = -1;
  luaL_getmetatable(L, mt);
  lua_setmetatable(L, -2);
  return b;
}

static int l_open(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  struct fd_box *b = new_box(L, ROOT_MT);
  b->fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (b->fd < 0)
    return fail(L, "cannot open", path);
  return 1;
}

static int l_mkdir(lua_State *L) {
  int root = check_root(L);
  const char *rel = luaL_checkstring(L, 2);
  mode_t mode = (mode_t)luaL_optinteger(L, 3, 0755) & 0777;
  char leaf[NAME_MAX + 1];
  PARENT(L, root, rel, leaf);
  int r = mkdirat(dir, leaf, mode);
  if (r != 0 && errno == EEXIST) {
    struct stat st;
    if (fstatat(dir, leaf, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
        S_ISDIR(st.st_mode))
      r = 0;
    else
      errno = EEXIST;
  } else if (r == 0) {
    int d = openat(dir, leaf, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
    if (d >= 0) { /* the mode as asked, whatever the umask */
      fchmod(d, mode);
      close(d);
    }
  }
  int e = errno;
  close(dir);
  errno = e;
  if (r != 0)
    return fail(L, "cannot make directory", rel);
  lua_pushboolean(L, 1);
  return 1;
}

/* Removes a non-directory at dir/leaf so a new entry can take its place. */
static void clear_leaf(int dir, const char *leaf) {
  struct stat st;
  if (fstatat(dir, leaf, &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISDIR(st.st_mode))
    unlinkat(dir, leaf, 0);
}

static int l_create(lua_State *L) {
  int root = check_root(L);
  const char *rel = luaL_checkstring(L, 2);
  mode_t mode = (mode_t)luaL_optinteger(L, 3, 0644) & 0777;
  char leaf[NAME_MAX + 1];
  PARENT(L, root, rel, leaf);
  clear_leaf(dir, leaf);
  struct fd_box *b = new_box(L, FILE_MT);
  b->fd = openat(dir, leaf,
                 O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
  int e = errno;
  close(dir);
  errno = e;
  if (b->fd < 0)
    return fail(L, "cannot create", rel);
  fchmod(b->fd, mode);
  return 1;
}

static int l_file_write(lua_State *L) {
  struct fd_box *b = luaL_checkudata(L, 1, FILE_MT);
  size_t len;
  const char *s = luaL_checklstring(L, 2, &len);
  while (len > 0) {
    ssize_t n = write(b->fd, s, len);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return fail(L, "cannot write", "file");
    }
    s += n;
    len -= (size_t)n;
  }
  lua_pushboolean(L, 1);
  return 1;
}

static int l_file_close(lua_State *L) {
  struct fd_box *b = luaL_checkudata(L, 1, FILE_MT);
  if (b->fd < 0)
    return 0;
  if (lua_isnumber(L, 2)) {
    struct timespec ts[2] = {{.tv_nsec = UTIME_OMIT},
                             {.tv_sec = (time_t)lua_tonumber(L, 2)}};
    futimens(b->fd, ts);
  }
  int r = close(b->fd);
  b->fd = -1;
  if (r != 0)
    return fail(L, "cannot close", "file");
  lua_pushboolean(L, 1);
  return 1;
}

static int l_symlink(lua_State *L) {
  int root = check_root(L);
  const char *rel = luaL_checkstring(L, 2);
  const char *target = luaL_checkstring(L, 3);
  char leaf[NAME_MAX + 1];
  PARENT(L, root, rel, leaf);
  clear_leaf(dir, leaf);
  int r = symlinkat(target, dir, leaf);
  int e = errno;
  close(dir);
  errno = e;
  if (r != 0)
    return fail(L, "cannot make link", rel);
  lua_pushboolean(L, 1);
  return 1;
}

static int l_link(lua_State *L) {
  int root = check_root(L);
  const char *rel = luaL_checkstring(L, 2);
  const char *old = luaL_checkstring(L, 3);
  char leaf[NAME_MAX + 1], oleaf[NAME_MAX + 1];
  int odir = open_parent(root, old, oleaf, sizeof oleaf);
  if (odir == -2)
    return refuse(L, "not a plain relative path", old);
  if (odir < 0)
    return fail(L, "cannot open the directory of", old);
  int dir = open_parent(root, rel, leaf, sizeof leaf);
  if (dir < 0) {
    close(odir);
    if (dir == -2)
      return refuse(L, "not a plain relative path", rel);
    return fail(L, "cannot open the directory of", rel);
  }
  clear_leaf(dir, leaf);
  int r = linkat(odir, oleaf, dir, leaf, 0); /* 0: a link is not followed */
  int e = errno;
  close(dir);
  close(odir);
  errno = e;
  if (r != 0)
    return fail(L, "cannot link", rel);
  lua_pushboolean(L, 1);
  return 1;
}

static int l_box_close(lua_State *L) {
  struct fd_box *b = lua_touserdata(L, 1);
  if (b && b->fd >= 0) {
    close(b->fd);
    b->fd = -1;
  }
  return 0;
}

static int l_lstat(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  struct stat st;
  if (lstat(path, &st) != 0)
    return fail(L, "cannot stat", path);
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

static int l_readlink(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  char buf[PATH_MAX];
  ssize_t n = readlink(path, buf, sizeof buf);
  if (n < 0)
    return fail(L, "cannot read link", path);
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
  lua_newtable(L);
  luaL_register(L, NULL, m);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, l_box_close);
  lua_setfield(L, -2, "__gc");
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
