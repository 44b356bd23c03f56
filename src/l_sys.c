/* deloc.native.sys: the Lua binding of the sys core (src/sys.h).  Tables in,
 * tables out; deloc.sys (lua/deloc/sys.lua) is the facade users call. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <lauxlib.h>
#include <lua.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hash.h"
#include "sha1.h"
#include "sys.h"

extern char **environ;

#define LOCK_MT "deloc.sys.lock"
#define HANDLE_MT "deloc.sys.handle"
#define SPAWN_MT "deloc.sys.spawn"
#define WRITER_MT "deloc.sys.writer"

static int push_error(lua_State *L, const char *err) {
  lua_pushnil(L);
  lua_pushstring(L, err);
  return 2;
}

static int push_errno(lua_State *L, const char *what, const char *subject) {
  char err[DL_SYS_ERRLEN];
  dl_sys_fail(err, what, subject, errno);
  return push_error(L, err);
}

static void set_number(lua_State *L, const char *k, double v) {
  lua_pushnumber(L, v);
  lua_setfield(L, -2, k);
}

static void set_string(lua_State *L, const char *k, const char *v) {
  lua_pushstring(L, v);
  lua_setfield(L, -2, k);
}

/* ---- machine ---- */

/* sys.cpu_count() -> n (CPUs this process may use) */
static int l_sys_cpu_count(lua_State *L) {
  lua_pushinteger(L, dl_sys_cpu_count());
  return 1;
}

/* sys.cpuinfo(path) -> count, model | nil, err */
static int l_sys_cpuinfo(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  char model[256], err[DL_SYS_ERRLEN];
  int count;
  if (dl_sys_cpuinfo(path, &count, model, sizeof model, err) != 0)
    return push_error(L, err);
  lua_pushinteger(L, count);
  lua_pushstring(L, model);
  return 2;
}

/* sys.meminfo(path) -> total, available | nil, err  (bytes) */
static int l_sys_meminfo(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  char err[DL_SYS_ERRLEN];
  uint64_t total, avail;
  if (dl_sys_meminfo(path, &total, &avail, err) != 0)
    return push_error(L, err);
  lua_pushnumber(L, (lua_Number)total);
  lua_pushnumber(L, (lua_Number)avail);
  return 2;
}

/* sys.disk(path) -> total, free | nil, err  (bytes) */
static int l_sys_disk(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  char err[DL_SYS_ERRLEN];
  uint64_t total, avail;
  if (dl_sys_disk(path, &total, &avail, err) != 0)
    return push_error(L, err);
  lua_pushnumber(L, (lua_Number)total);
  lua_pushnumber(L, (lua_Number)avail);
  return 2;
}

/* sys.load([path]) -> l1, l5, l15 | nil, err */
static int l_sys_load(lua_State *L) {
  const char *path = luaL_optstring(L, 1, NULL);
  char err[DL_SYS_ERRLEN];
  double load[3];
  if (dl_sys_load(path, load, err) != 0)
    return push_error(L, err);
  for (int i = 0; i < 3; i++)
    lua_pushnumber(L, load[i]);
  return 3;
}

/* sys.hash(s) -> 16 hex digits: FNV-1a 64 of the bytes of s */
static int l_sys_hash(lua_State *L) {
  size_t len;
  const char *s = luaL_checklstring(L, 1, &len);
  char out[17];
  dl_hash_hex(dl_hash_fnv1a64(s, len), out);
  lua_pushlstring(L, out, 16);
  return 1;
}

/* sys.sha1(s) -> the 20-byte SHA-1 digest of s (the WebSocket handshake) */
static int l_sys_sha1(lua_State *L) {
  size_t len;
  const char *s = luaL_checklstring(L, 1, &len);
  uint8_t out[20];
  dl_sha1(s, len, out);
  lua_pushlstring(L, (const char *)out, sizeof out);
  return 1;
}

/* sys.tcp_listening() -> { [port] = true } | nil, err */
static int l_sys_tcp_listening(lua_State *L) {
  uint8_t ports[8192];
  char err[DL_SYS_ERRLEN];
  if (dl_sys_tcp_listening(ports, err) != 0)
    return push_error(L, err);
  lua_createtable(L, 0, 16);
  for (int p = 0; p < 65536; p++) {
    if (ports[p >> 3] & (1u << (p & 7))) {
      lua_pushboolean(L, 1);
      lua_rawseti(L, -2, p);
    }
  }
  return 1;
}

/* sys.cgroup(root) -> { version=, memory_limit=, cpu_limit=, dir=,
 *                       memory_source=, cpu_source= } | nil, err */
static int l_sys_cgroup(lua_State *L) {
  const char *root = luaL_optstring(L, 1, "");
  char err[DL_SYS_ERRLEN];
  struct dl_sys_cgroup *cg = lua_newuserdata(L, sizeof *cg); /* [cg] */
  if (dl_sys_cgroup(root, cg, err) != 0)
    return push_error(L, err);
  lua_createtable(L, 0, 6); /* [cg, t] */
  if (cg->version)
    set_number(L, "version", cg->version);
  if (cg->has_memory)
    set_number(L, "memory_limit", (double)cg->memory_limit);
  if (cg->has_cpu)
    set_number(L, "cpu_limit", cg->cpu_limit);
  if (cg->dir[0])
    set_string(L, "dir", cg->dir);
  if (cg->memory_source[0])
    set_string(L, "memory_source", cg->memory_source);
  if (cg->cpu_source[0])
    set_string(L, "cpu_source", cg->cpu_source);
  return 1;
}

/* sys.now() -> monotonic seconds */
static int l_sys_now(lua_State *L) {
  lua_pushnumber(L, dl_sys_now());
  return 1;
}

/* sys.time() -> wall-clock seconds since the epoch */
static int l_sys_time(lua_State *L) {
  lua_pushnumber(L, dl_sys_time());
  return 1;
}

/* sys.sleep(seconds) -> true | false, remaining (a signal cut it short) */
static int l_sys_sleep(lua_State *L) {
  double s = luaL_checknumber(L, 1), remaining = 0;
  if (dl_sys_sleep(s, &remaining) == 0) {
    lua_pushboolean(L, 1);
    return 1;
  }
  lua_pushboolean(L, 0);
  lua_pushnumber(L, remaining);
  return 2;
}

/* ---- signals ---- */

static int check_signal(lua_State *L, int arg) {
  int sig = lua_type(L, arg) == LUA_TNUMBER
                ? (int)lua_tointeger(L, arg)
                : dl_sys_signal_number(luaL_checkstring(L, arg));
  if (sig < 0 || sig >= NSIG)
    luaL_argerror(L, arg, "unknown signal name");
  return sig;
}

static void push_signal(lua_State *L, int sig) {
  const char *name = dl_sys_signal_name(sig);
  if (name)
    lua_pushstring(L, name);
  else
    lua_pushinteger(L, sig);
}

/* sys.signal_catch(name) -> true | nil, err */
static int l_sys_signal_catch(lua_State *L) {
  int sig = check_signal(L, 1);
  char err[DL_SYS_ERRLEN];
  if (dl_sys_signal_catch(sig, err) != 0)
    return push_error(L, err);
  lua_pushboolean(L, 1);
  return 1;
}

/* sys.signal_default(name) -> true | nil, err */
static int l_sys_signal_default(lua_State *L) {
  int sig = check_signal(L, 1);
  char err[DL_SYS_ERRLEN];
  if (dl_sys_signal_default(sig, err) != 0)
    return push_error(L, err);
  lua_pushboolean(L, 1);
  return 1;
}

/* sys.signal_pending() -> name | nil */
static int l_sys_signal_pending(lua_State *L) {
  int sig = dl_sys_signal_pending();
  if (sig == 0)
    lua_pushnil(L);
  else
    push_signal(L, sig);
  return 1;
}

/* sys.signal_clear() */
static int l_sys_signal_clear(lua_State *L) {
  (void)L;
  dl_sys_signal_clear();
  return 0;
}

/* ---- files ---- */

/* An fd or DIR owned by a userdata, so a raise while reading leaks nothing. */
struct handle {
  int fd;
  DIR *dir;
};

static int handle_gc(lua_State *L) {
  struct handle *h = luaL_checkudata(L, 1, HANDLE_MT);
  if (h->fd >= 0)
    close(h->fd);
  if (h->dir)
    closedir(h->dir);
  h->fd = -1;
  h->dir = NULL;
  return 0;
}

static struct handle *new_handle(lua_State *L) {
  struct handle *h = lua_newuserdata(L, sizeof *h);
  h->fd = -1;
  h->dir = NULL;
  luaL_getmetatable(L, HANDLE_MT);
  lua_setmetatable(L, -2);
  return h;
}

/* sys.write_atomic(path, data [, mode]) -> true | nil, err */
static int l_sys_write_atomic(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  size_t len;
  const char *data = luaL_checklstring(L, 2, &len);
  int mode = (int)luaL_optinteger(L, 3, -1);
  if (mode < -1 || mode > 07777)
    luaL_argerror(L, 3, "mode must be between 0 and 07777");
  char err[DL_SYS_ERRLEN];
  if (dl_sys_write_atomic(path, data, len, mode, err) != 0)
    return push_error(L, err);
  lua_pushboolean(L, 1);
  return 1;
}

/* sys.mkdir_p(path [, mode]) -> true | nil, err */
static int l_sys_mkdir_p(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  int mode = (int)luaL_optinteger(L, 2, 0777);
  char err[DL_SYS_ERRLEN];
  if (dl_sys_mkdir_p(path, mode, err) != 0)
    return push_error(L, err);
  lua_pushboolean(L, 1);
  return 1;
}

/* sys.chmod(path, mode) -> true | nil, err */
static int l_sys_chmod(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  lua_Integer mode = luaL_checkinteger(L, 2);
  if (mode < 0 || mode > 07777)
    luaL_argerror(L, 2, "mode must be between 0 and 07777");
  char err[DL_SYS_ERRLEN];
  if (dl_sys_chmod(path, (int)mode, err) != 0)
    return push_error(L, err);
  lua_pushboolean(L, 1);
  return 1;
}

/* sys.chown(path, uid, gid) -> true | nil, err  (-1 leaves one as it is) */
static int l_sys_chown(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  lua_Number uid = luaL_checknumber(L, 2), gid = luaL_checknumber(L, 3);
  if (uid < -1 || uid >= 4294967295.0 || uid != (lua_Number)(long long)uid)
    luaL_argerror(L, 2, "uid must be an integer from -1");
  if (gid < -1 || gid >= 4294967295.0 || gid != (lua_Number)(long long)gid)
    luaL_argerror(L, 3, "gid must be an integer from -1");
  char err[DL_SYS_ERRLEN];
  if (dl_sys_chown(path, (uid_t)(long long)uid, (gid_t)(long long)gid, err) !=
      0)
    return push_error(L, err);
  lua_pushboolean(L, 1);
  return 1;
}

/* ---- streaming atomic writer ---- */

static struct dl_sys_writer *check_writer(lua_State *L) {
  return luaL_checkudata(L, 1, WRITER_MT);
}

/* sys.atomic_writer(path [, mode]) -> writer | nil, err */
static int l_sys_atomic_writer(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  lua_Integer mode = luaL_optinteger(L, 2, 0600);
  if (mode < 0 || mode > 07777)
    luaL_argerror(L, 2, "mode must be between 0 and 07777");
  struct dl_sys_writer *w = lua_newuserdata(L, sizeof *w); /* [.., w] */
  w->fd = -1;
  w->state = DL_SYS_WRITER_ABORTED;
  w->path[0] = w->tmp[0] = '\0';
  luaL_getmetatable(L, WRITER_MT);
  lua_setmetatable(L, -2);
  char err[DL_SYS_ERRLEN];
  if (dl_sys_writer_open(w, path, (int)mode, err) != 0)
    return push_error(L, err);
  return 1;
}

/* writer:write(chunk) -> true | nil, err */
static int l_writer_write(lua_State *L) {
  struct dl_sys_writer *w = check_writer(L);
  size_t len;
  const char *data = luaL_checklstring(L, 2, &len);
  char err[DL_SYS_ERRLEN];
  if (dl_sys_writer_write(w, data, len, err) != 0)
    return push_error(L, err);
  lua_pushboolean(L, 1);
  return 1;
}

/* writer:commit() -> true | nil, err  (the temporary file is gone on error) */
static int l_writer_commit(lua_State *L) {
  struct dl_sys_writer *w = check_writer(L);
  char err[DL_SYS_ERRLEN];
  if (dl_sys_writer_commit(w, err) != 0)
    return push_error(L, err);
  lua_pushboolean(L, 1);
  return 1;
}

/* writer:abort() -> true  (also writer:close() and __gc; idempotent, and
 * nothing once committed) */
static int l_writer_abort(lua_State *L) {
  dl_sys_writer_abort(check_writer(L));
  lua_pushboolean(L, 1);
  return 1;
}

static int l_writer_tostring(lua_State *L) {
  struct dl_sys_writer *w = check_writer(L);
  const char *state = w->state == DL_SYS_WRITER_OPEN        ? "open"
                      : w->state == DL_SYS_WRITER_COMMITTED ? "committed"
                                                            : "aborted";
  lua_pushfstring(L, "writer '%s' (%s)", w->path, state);
  return 1;
}

/* sys.read_file(path) -> string | nil, err */
static int l_sys_read_file(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  struct handle *h = new_handle(L); /* [h] */
  h->fd = open(path, O_RDONLY | O_CLOEXEC);
  if (h->fd < 0)
    return push_errno(L, "cannot read", path);
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  for (;;) {
    char *p = luaL_prepbuffer(&b);
    ssize_t n = read(h->fd, p, LUAL_BUFFERSIZE);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      int e = errno;
      close(h->fd);
      h->fd = -1;
      errno = e;
      return push_errno(L, "cannot read", path);
    }
    if (n == 0)
      break;
    luaL_addsize(&b, (size_t)n);
  }
  luaL_pushresult(&b); /* [h, s] */
  close(h->fd);
  h->fd = -1;
  return 1;
}

/* sys.listdir(path) -> { name, ... } (no "." or "..", unsorted) | nil, err */
static int l_sys_listdir(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  struct handle *h = new_handle(L); /* [h] */
  h->dir = opendir(path);
  if (h->dir == NULL)
    return push_errno(L, "cannot list", path);
  lua_newtable(L); /* [h, names] */
  int n = 0;
  struct dirent *e;
  errno = 0;
  while ((e = readdir(h->dir)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
      continue;
    lua_pushstring(L, e->d_name);
    lua_rawseti(L, -2, ++n);
    errno = 0;
  }
  int saved = errno;
  closedir(h->dir);
  h->dir = NULL;
  if (saved != 0) {
    errno = saved;
    return push_errno(L, "cannot list", path);
  }
  return 1;
}

/* sys.stat(path) -> "file" | "directory" | "other", { uid, gid, mode, size } |
   nil (follows links) */
static int l_sys_stat(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  struct stat st;
  if (stat(path, &st) != 0) {
    lua_pushnil(L);
    return 1;
  }
  if (S_ISREG(st.st_mode))
    lua_pushliteral(L, "file");
  else if (S_ISDIR(st.st_mode))
    lua_pushliteral(L, "directory");
  else
    lua_pushliteral(L, "other");
  lua_createtable(L, 0, 4); /* [type, info] */
  set_number(L, "uid", (double)st.st_uid);
  set_number(L, "gid", (double)st.st_gid);
  set_number(L, "mode", (double)(st.st_mode & 07777));
  set_number(L, "size", (double)st.st_size);
  return 2;
}

/* sys.remove(path) -> true | nil, err  (a file or an empty directory) */
static int l_sys_remove(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  if (unlink(path) != 0 && (errno != EISDIR || rmdir(path) != 0))
    return push_errno(L, "cannot remove", path);
  lua_pushboolean(L, 1);
  return 1;
}

/* sys.realpath(path) -> absolute path | nil, err */
static int l_sys_realpath(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  char out[PATH_MAX];
  if (realpath(path, out) == NULL)
    return push_errno(L, "cannot resolve", path);
  lua_pushstring(L, out);
  return 1;
}

/* ---- locks ---- */

struct lock {
  int fd; /* -1 once released */
  char path[];
};

static struct lock *check_lock(lua_State *L) {
  return luaL_checkudata(L, 1, LOCK_MT);
}

/* lock:unlock() -> true  (also lock:close() and __gc; idempotent) */
static int l_lock_unlock(lua_State *L) {
  struct lock *k = check_lock(L);
  if (k->fd >= 0)
    dl_sys_unlock(k->fd);
  k->fd = -1;
  lua_pushboolean(L, 1);
  return 1;
}

/* lock:held() -> boolean */
static int l_lock_held(lua_State *L) {
  lua_pushboolean(L, check_lock(L)->fd >= 0);
  return 1;
}

/* lock:path() -> the lock file */
static int l_lock_path(lua_State *L) {
  lua_pushstring(L, check_lock(L)->path);
  return 1;
}

static int l_lock_tostring(lua_State *L) {
  struct lock *k = check_lock(L);
  lua_pushfstring(L, "lock '%s' (%s)", k->path,
                  k->fd >= 0 ? "held" : "released");
  return 1;
}

/* sys.lock(path) -> lock | nil, "busy", {pid=, since=} | nil, err */
static int l_sys_lock(lua_State *L) {
  size_t len;
  const char *path = luaL_checklstring(L, 1, &len);
  struct lock *k = lua_newuserdata(L, sizeof *k + len + 1);
  k->fd = -1;
  memcpy(k->path, path, len + 1);
  luaL_getmetatable(L, LOCK_MT);
  lua_setmetatable(L, -2); /* [lock] */
  struct dl_sys_holder holder;
  char err[DL_SYS_ERRLEN];
  int fd = dl_sys_lock(path, &holder, err);
  if (fd == -2) {
    lua_pushnil(L);
    lua_pushliteral(L, "busy");
    lua_createtable(L, 0, 2);
    if (holder.pid > 0)
      set_number(L, "pid", (double)holder.pid);
    if (holder.since > 0)
      set_number(L, "since", holder.since);
    return 3;
  }
  if (fd < 0)
    return push_error(L, err);
  k->fd = fd;
  return 1;
}

/* sys.lock_at(root, rel [, dirmode]) -> lock | nil, "busy", holder | nil, err:
 * sys.lock of root/rel reached without following links */
static int l_sys_lock_at(lua_State *L) {
  const char *root = luaL_checkstring(L, 1);
  const char *rel = luaL_checkstring(L, 2);
  int dirmode = (int)luaL_optinteger(L, 3, -1);
  size_t len = strlen(root) + strlen(rel) + 1;
  struct lock *k = lua_newuserdata(L, sizeof *k + len + 1);
  k->fd = -1;
  snprintf(k->path, len + 1, "%s/%s", root, rel);
  luaL_getmetatable(L, LOCK_MT);
  lua_setmetatable(L, -2); /* [lock] */
  struct dl_sys_holder holder;
  char err[DL_SYS_ERRLEN];
  int fd = dl_sys_lock_at(root, rel, dirmode, &holder, err);
  if (fd == -2) {
    lua_pushnil(L);
    lua_pushliteral(L, "busy");
    lua_createtable(L, 0, 2);
    if (holder.pid > 0)
      set_number(L, "pid", (double)holder.pid);
    if (holder.since > 0)
      set_number(L, "since", holder.since);
    return 3;
  }
  if (fd < 0)
    return push_error(L, err);
  k->fd = fd;
  return 1;
}

/* ---- environment ---- */

/* sys.getenv(name) -> value | nil */
static int l_sys_getenv(lua_State *L) {
  lua_pushstring(L, getenv(luaL_checkstring(L, 1)));
  return 1;
}

/* sys.setenv(name, value | nil) -> true | nil, err */
static int l_sys_setenv(lua_State *L) {
  const char *name = luaL_checkstring(L, 1);
  const char *value = luaL_optstring(L, 2, NULL);
  if (*name == '\0' || strchr(name, '='))
    luaL_argerror(L, 1, "not a variable name");
  if ((value ? setenv(name, value, 1) : unsetenv(name)) != 0)
    return push_errno(L, "cannot set", name);
  lua_pushboolean(L, 1);
  return 1;
}

/* sys.environ() -> { NAME = value, ... } */
static int l_sys_environ(lua_State *L) {
  lua_newtable(L);
  for (char **e = environ; e && *e; e++) {
    const char *eq = strchr(*e, '=');
    if (eq == NULL)
      continue;
    lua_pushlstring(L, *e, (size_t)(eq - *e));
    lua_pushstring(L, eq + 1);
    lua_rawset(L, -3);
  }
  return 1;
}

/* sys.pid() -> pid */
static int l_sys_pid(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)getpid());
  return 1;
}

/* ---- processes ---- */

/* A NULL-terminated char* array of the strings at t[1..n], in a userdata the
 * GC frees; the strings stay referenced by t, which the caller keeps. */
static char **string_array(lua_State *L, int t, const char *what) {
  int n = (int)lua_objlen(L, t);
  char **a = lua_newuserdata(L, sizeof(char *) * (size_t)(n + 1));
  for (int i = 1; i <= n; i++) {
    lua_rawgeti(L, t, i);
    if (lua_type(L, -1) != LUA_TSTRING)
      luaL_error(L, "%s[%d] must be a string", what, i);
    a[i - 1] = (char *)lua_tostring(L, -1);
    lua_pop(L, 1);
  }
  a[n] = NULL;
  return a;
}

static const char *opt_field(lua_State *L, int t, const char *k) {
  lua_getfield(L, t, k);
  const char *s = NULL;
  if (!lua_isnil(L, -1)) {
    if (lua_type(L, -1) != LUA_TSTRING)
      luaL_error(L, "'%s' must be a string", k);
    s = lua_tostring(L, -1); /* t keeps the string alive */
  }
  lua_pop(L, 1);
  return s;
}

/* Common options of spawn and spawn_bg: argv (non-empty) and env, pushed as
 * arrays on the stack. */
static void process_args(lua_State *L, char ***argv, char ***envp) {
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_getfield(L, 1, "argv");
  if (!lua_istable(L, -1) || lua_objlen(L, -1) == 0)
    luaL_argerror(L, 1, "'argv' must be a non-empty list of strings");
  int at = lua_gettop(L);
  *argv = string_array(L, at, "argv");
  lua_getfield(L, 1, "env");
  *envp = NULL;
  if (lua_istable(L, -1))
    *envp = string_array(L, lua_gettop(L), "env");
  else if (!lua_isnil(L, -1))
    luaL_argerror(L, 1, "'env' must be a list of 'NAME=value' strings");
}

static void spawn_free(struct dl_sys_spawn *s) {
  free(s->out.data);
  free(s->err.data);
  s->out.data = s->err.data = NULL;
}

static int spawn_gc(lua_State *L) {
  spawn_free(luaL_checkudata(L, 1, SPAWN_MT));
  return 0;
}

/* sys.spawn{argv=, env={"K=V",...}|nil, cwd=, stdin=, timeout=, grace=}
 *   -> { status=, signal=, stdout=, stderr=, timed_out=, interrupted= }
 *    | nil, err */
static int l_sys_spawn(lua_State *L) {
  char **argv, **envp;
  process_args(L, &argv, &envp);
  const char *cwd = opt_field(L, 1, "cwd");
  size_t input_len = 0;
  lua_getfield(L, 1, "stdin");
  const char *input = NULL;
  if (lua_type(L, -1) == LUA_TSTRING)
    input = lua_tolstring(L, -1, &input_len); /* stays on the stack */
  else if (!lua_isnil(L, -1))
    luaL_argerror(L, 1, "'stdin' must be a string");
  lua_getfield(L, 1, "timeout");
  double timeout = lua_isnil(L, -1) ? 0 : luaL_checknumber(L, -1);
  lua_getfield(L, 1, "grace");
  double grace = lua_isnil(L, -1) ? 1 : luaL_checknumber(L, -1);
  lua_pop(L, 2);

  struct dl_sys_spawn *s = lua_newuserdata(L, sizeof *s); /* [.., s] */
  memset(s, 0, sizeof *s);
  luaL_getmetatable(L, SPAWN_MT);
  lua_setmetatable(L, -2);
  s->argv = argv;
  s->envp = envp;
  s->cwd = cwd;
  s->input = input;
  s->input_len = input_len;
  s->timeout = timeout;
  s->grace = grace;
  char err[DL_SYS_ERRLEN];
  int rc = dl_sys_spawn(s, err);
  if (rc != 0) {
    spawn_free(s);
    return push_error(L, err);
  }
  lua_createtable(L, 0, 6); /* [.., s, result] */
  if (s->signal == 0)
    set_number(L, "status", s->status);
  if (s->signal) {
    push_signal(L, s->signal);
    lua_setfield(L, -2, "signal");
  }
  lua_pushlstring(L, s->out.data ? s->out.data : "", s->out.len);
  lua_setfield(L, -2, "stdout");
  lua_pushlstring(L, s->err.data ? s->err.data : "", s->err.len);
  lua_setfield(L, -2, "stderr");
  lua_pushboolean(L, s->timed_out);
  lua_setfield(L, -2, "timed_out");
  lua_pushboolean(L, s->interrupted);
  lua_setfield(L, -2, "interrupted");
  set_number(L, "pid", (double)s->pid);
  spawn_free(s); /* the output is in Lua strings now */
  return 1;
}

/* sys.spawn_bg{argv=, env=, cwd=, stdout=path|""|nil, stderr=...}
 *   -> pid | nil, err   (nil: inherit, "": /dev/null) */
static int l_sys_spawn_bg(lua_State *L) {
  char **argv, **envp;
  process_args(L, &argv, &envp);
  const char *cwd = opt_field(L, 1, "cwd");
  const char *out = opt_field(L, 1, "stdout");
  const char *errp = opt_field(L, 1, "stderr");
  char err[DL_SYS_ERRLEN];
  pid_t pid = dl_sys_spawn_bg(argv, envp, cwd, out, errp, err);
  if (pid < 0)
    return push_error(L, err);
  lua_pushinteger(L, (lua_Integer)pid);
  return 1;
}

/* sys.kill(pid, signal) -> true | nil, err */
static int l_sys_kill(lua_State *L) {
  pid_t pid = (pid_t)luaL_checkinteger(L, 1);
  int sig = lua_isnoneornil(L, 2) ? 15 : check_signal(L, 2);
  if (pid <= 0)
    luaL_argerror(L, 1, "pid must be positive");
  char err[DL_SYS_ERRLEN];
  if (dl_sys_kill(pid, sig, err) != 0)
    return push_error(L, err);
  lua_pushboolean(L, 1);
  return 1;
}

/* sys.waitpid(pid [, nohang]) -> {status=, signal=} | false | nil, err */
static int l_sys_waitpid(lua_State *L) {
  pid_t pid = (pid_t)luaL_checkinteger(L, 1);
  int nohang = lua_toboolean(L, 2);
  if (pid <= 0)
    luaL_argerror(L, 1, "pid must be positive");
  int status, sig;
  char err[DL_SYS_ERRLEN];
  int r = dl_sys_waitpid(pid, nohang, &status, &sig, err);
  if (r < 0)
    return push_error(L, err);
  if (r == 0) {
    lua_pushboolean(L, 0);
    return 1;
  }
  lua_createtable(L, 0, 2);
  if (sig) {
    push_signal(L, sig);
    lua_setfield(L, -2, "signal");
  } else {
    set_number(L, "status", status);
  }
  return 1;
}

static const luaL_Reg functions[] = {
    {"cpu_count", l_sys_cpu_count},
    {"cpuinfo", l_sys_cpuinfo},
    {"meminfo", l_sys_meminfo},
    {"disk", l_sys_disk},
    {"load", l_sys_load},
    {"cgroup", l_sys_cgroup},
    {"tcp_listening", l_sys_tcp_listening},
    {"hash", l_sys_hash},
    {"sha1", l_sys_sha1},
    {"now", l_sys_now},
    {"time", l_sys_time},
    {"sleep", l_sys_sleep},
    {"signal_catch", l_sys_signal_catch},
    {"signal_default", l_sys_signal_default},
    {"signal_pending", l_sys_signal_pending},
    {"signal_clear", l_sys_signal_clear},
    {"write_atomic", l_sys_write_atomic},
    {"mkdir_p", l_sys_mkdir_p},
    {"chmod", l_sys_chmod},
    {"chown", l_sys_chown},
    {"atomic_writer", l_sys_atomic_writer},
    {"read_file", l_sys_read_file},
    {"listdir", l_sys_listdir},
    {"stat", l_sys_stat},
    {"remove", l_sys_remove},
    {"realpath", l_sys_realpath},
    {"lock", l_sys_lock},
    {"lock_at", l_sys_lock_at},
    {"getenv", l_sys_getenv},
    {"setenv", l_sys_setenv},
    {"environ", l_sys_environ},
    {"pid", l_sys_pid},
    {"spawn", l_sys_spawn},
    {"spawn_bg", l_sys_spawn_bg},
    {"kill", l_sys_kill},
    {"waitpid", l_sys_waitpid},
    {NULL, NULL},
};

static const luaL_Reg writer_methods[] = {
    {"write", l_writer_write},
    {"commit", l_writer_commit},
    {"abort", l_writer_abort},
    {"close", l_writer_abort},
    {NULL, NULL},
};

static const luaL_Reg lock_methods[] = {
    {"unlock", l_lock_unlock},
    {"close", l_lock_unlock},
    {"held", l_lock_held},
    {"path", l_lock_path},
    {NULL, NULL},
};

int luaopen_deloc_native_sys(lua_State *L) {
  luaL_newmetatable(L, LOCK_MT); /* [mt] */
  lua_newtable(L);
  luaL_register(L, NULL, lock_methods);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, l_lock_unlock);
  lua_setfield(L, -2, "__gc");
  lua_pushcfunction(L, l_lock_tostring);
  lua_setfield(L, -2, "__tostring");
  lua_pop(L, 1);
  luaL_newmetatable(L, WRITER_MT); /* [mt] */
  lua_newtable(L);
  luaL_register(L, NULL, writer_methods);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, l_writer_abort);
  lua_setfield(L, -2, "__gc");
  lua_pushcfunction(L, l_writer_tostring);
  lua_setfield(L, -2, "__tostring");
  lua_pop(L, 1);
  luaL_newmetatable(L, HANDLE_MT);
  lua_pushcfunction(L, handle_gc);
  lua_setfield(L, -2, "__gc");
  lua_pop(L, 1);
  luaL_newmetatable(L, SPAWN_MT);
  lua_pushcfunction(L, spawn_gc);
  lua_setfield(L, -2, "__gc");
  lua_pop(L, 1);
  lua_newtable(L);
  luaL_register(L, NULL, functions);
  return 1;
}
