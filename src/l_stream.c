/* deloc.native.stream: a raw, two-way connection to an HTTP server for the
 * Docker Engine's hijacked streams (POST /exec/{id}/start with
 * "Upgrade: tcp"), and the terminal handling an interactive exec needs.
 *
 * The connection is made by libcurl with CURLOPT_CONNECT_ONLY, so a unix
 * socket, plain TCP and TLS with client certificates all work the same; the
 * HTTP request and the answer's head are written and read by Lua
 * (adapters/docker/exec.lua), the bytes after the head are pumped here:
 *
 *   conn = stream.connect{url=, unix_socket=, cacert=, cert=, key=,
 *                         insecure=, timeout=ms} -> conn | nil, err
 *   conn:send(s) -> true | nil, err          all of s, waiting as needed
 *   conn:recv(timeout_ms) -> s | "" (end) | nil, "timeout" | nil, err
 *   conn:unread(s)                           bytes pump() handles first
 *   conn:pump{tty=, stdin=, out=fd, err=fd, in=fd} -> "eof" | "signal", name
 *     copies `in` to the connection (half-closing it at end of input) and
 *     the connection to `out`/`err` (demultiplexing the engine's 8-byte
 *     frame headers when tty is false) until the engine closes the stream
 *     or a signal caught with sys.signal_catch arrives; it can be called
 *     again after a signal (a SIGWINCH resize) and goes on where it was.
 *   conn:shutdown()                          end of our input (half-close)
 *   conn:close()
 *   stream.raw(fd) -> saved | nil, err       terminal to raw mode
 *   saved:restore()                          (also when collected)
 *   stream.winsize(fd) -> rows, cols | nil
 *
 * libcurl is dlopen()ed here as deloc.http does (a command that makes no
 * request never maps it); the handful of functions needed are our own. */
#include <dlfcn.h>
#include <errno.h>
#include <lauxlib.h>
#include <lua.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#define CURL_DISABLE_TYPECHECK
#include <curl/curl.h>

#include "sys.h"

#define CONN_MT "deloc.stream.conn"
#define RAW_MT "deloc.stream.raw"
#define BUFSZ 32768

struct curlfn {
  int loaded;
  CURLcode (*global_init)(long);
  CURL *(*easy_init)(void);
  CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
  CURLcode (*easy_perform)(CURL *);
  CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
  CURLcode (*easy_send)(CURL *, const void *, size_t, size_t *);
  CURLcode (*easy_recv)(CURL *, void *, size_t, size_t *);
  void (*easy_cleanup)(CURL *);
  const char *(*easy_strerror)(CURLcode);
};

struct conn {
  struct curlfn *fn;
  CURL *easy;
  int fd;
  char *pending; /* unread bytes, handled before the socket's */
  size_t npending;
  int in_closed;        /* our side half-closed */
  unsigned char hdr[8]; /* a frame header being read (no tty) */
  size_t nhdr;          /* bytes of it so far */
  size_t left;          /* payload bytes left in the current frame */
  int frame_fd;         /* where the current frame goes */
};

struct raw {
  int fd, active;
  struct termios saved;
};

static int push_error(lua_State *L, const char *fmt, ...) {
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  lua_pushnil(L);
  lua_pushstring(L, buf);
  return 2;
}

#define SYM(name, field)                                                       \
  do {                                                                         \
    *(void **)(&f->field) = dlsym(dl, "curl_" name);                           \
    if (!f->field)                                                             \
      return -1;                                                               \
  } while (0)

static int load_curl(struct curlfn *f) {
  if (f->loaded)
    return 0;
  void *dl = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
  if (!dl)
    return -1;
  SYM("global_init", global_init);
  SYM("easy_init", easy_init);
  SYM("easy_setopt", easy_setopt);
  SYM("easy_perform", easy_perform);
  SYM("easy_getinfo", easy_getinfo);
  SYM("easy_send", easy_send);
  SYM("easy_recv", easy_recv);
  SYM("easy_cleanup", easy_cleanup);
  SYM("easy_strerror", easy_strerror);
  /* reference-counted by libcurl: deloc.http's own call is not disturbed */
  if (f->global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
    return -1;
  f->loaded = 1;
  return 0;
}

static const char *opt_str(lua_State *L, int t, const char *name) {
  lua_getfield(L, t, name);
  const char *s = lua_isnil(L, -1) ? NULL : luaL_checkstring(L, -1);
  lua_pop(L, 1); /* the table keeps the string alive */
  return s;
}

/* Waits until fd is readable (POLLIN) or writable; 1 ready, 0 timeout. */
static int wait_fd(int fd, short events, int timeout_ms) {
  struct pollfd p = {.fd = fd, .events = events};
  int r;
  do
    r = poll(&p, 1, timeout_ms);
  while (r < 0 && errno == EINTR && dl_sys_signal_pending() == 0);
  return r > 0;
}

/* stream.connect{...} -> conn | nil, err */
static int l_connect(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  struct curlfn *f = lua_touserdata(L, lua_upvalueindex(1));
  if (load_curl(f) != 0)
    return push_error(L, "cannot load libcurl: %s", dlerror());
  const char *url = opt_str(L, 1, "url");
  if (!url)
    return luaL_error(L, "stream.connect: url is required");
  const char *sock = opt_str(L, 1, "unix_socket");
  const char *cacert = opt_str(L, 1, "cacert"), *cert = opt_str(L, 1, "cert"),
             *key = opt_str(L, 1, "key");
  lua_getfield(L, 1, "timeout");
  long timeout = lua_isnil(L, -1) ? 10000 : (long)luaL_checknumber(L, -1);
  lua_pop(L, 1);

  struct conn *c = lua_newuserdata(L, sizeof *c);
  memset(c, 0, sizeof *c);
  c->fd = -1;
  c->fn = f;
  luaL_getmetatable(L, CONN_MT);
  lua_setmetatable(L, -2);
  c->easy = f->easy_init();
  if (!c->easy)
    return push_error(L, "cannot start a connection to %s", url);
  f->easy_setopt(c->easy, CURLOPT_URL, url);
  f->easy_setopt(c->easy, CURLOPT_CONNECT_ONLY, 1L);
  f->easy_setopt(c->easy, CURLOPT_CONNECTTIMEOUT_MS, timeout);
  f->easy_setopt(c->easy, CURLOPT_NOSIGNAL, 1L);
  /* the upgrade is HTTP/1.1: a TLS server must not be offered h2 (ALPN) */
  f->easy_setopt(c->easy, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
  if (sock)
    f->easy_setopt(c->easy, CURLOPT_UNIX_SOCKET_PATH, sock);
  if (cacert)
    f->easy_setopt(c->easy, CURLOPT_CAINFO, cacert);
  if (cert)
    f->easy_setopt(c->easy, CURLOPT_SSLCERT, cert);
  if (key)
    f->easy_setopt(c->easy, CURLOPT_SSLKEY, key);
  lua_getfield(L, 1, "insecure"); /* a kubeconfig's insecure-skip-tls-verify */
  if (lua_toboolean(L, -1)) {
    f->easy_setopt(c->easy, CURLOPT_SSL_VERIFYPEER, 0L);
    f->easy_setopt(c->easy, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  lua_pop(L, 1);
  CURLcode rc = f->easy_perform(c->easy);
  if (rc != CURLE_OK)
    return push_error(L, "%s: %s", sock ? sock : url, f->easy_strerror(rc));
  curl_socket_t s = CURL_SOCKET_BAD;
  if (f->easy_getinfo(c->easy, CURLINFO_ACTIVESOCKET, &s) != CURLE_OK ||
      s == CURL_SOCKET_BAD)
    return push_error(L, "%s: no socket after connecting", url);
  c->fd = (int)s;
  return 1;
}

static struct conn *check_conn(lua_State *L) {
  struct conn *c = luaL_checkudata(L, 1, CONN_MT);
  if (!c->easy)
    luaL_error(L, "attempt to use a closed stream");
  return c;
}

/* Sends all of buf; 0, or -1 with a reason in why. */
static int send_all(struct conn *c, const char *buf, size_t len,
                    const char **why) {
  while (len > 0) {
    size_t n = 0;
    CURLcode rc = c->fn->easy_send(c->easy, buf, len, &n);
    if (rc == CURLE_AGAIN) {
      wait_fd(c->fd, POLLOUT, 1000);
      continue;
    }
    if (rc != CURLE_OK) {
      *why = c->fn->easy_strerror(rc);
      return -1;
    }
    buf += n;
    len -= n;
  }
  return 0;
}

static int l_send(lua_State *L) {
  struct conn *c = check_conn(L);
  size_t len;
  const char *s = luaL_checklstring(L, 2, &len);
  const char *why = NULL;
  if (send_all(c, s, len, &why) != 0)
    return push_error(L, "sending to the engine: %s", why);
  lua_pushboolean(L, 1);
  return 1;
}

/* One receive: >0 bytes, 0 at the end, -1 nothing yet, -2 error. */
static long recv_some(struct conn *c, char *buf, size_t cap, const char **why) {
  size_t n = 0;
  CURLcode rc = c->fn->easy_recv(c->easy, buf, cap, &n);
  if (rc == CURLE_AGAIN)
    return -1;
  if (rc != CURLE_OK) {
    *why = c->fn->easy_strerror(rc);
    return -2;
  }
  return (long)n;
}

static int l_recv(lua_State *L) {
  struct conn *c = check_conn(L);
  int timeout = (int)luaL_optinteger(L, 2, 30000);
  char buf[BUFSZ];
  const char *why = NULL;
  if (c->npending > 0) { /* what unread() gave back comes first */
    lua_pushlstring(L, c->pending, c->npending);
    c->npending = 0;
    return 1;
  }
  for (;;) {
    long n = recv_some(c, buf, sizeof buf, &why);
    if (n >= 0) {
      lua_pushlstring(L, buf, (size_t)n);
      return 1;
    }
    if (n == -2)
      return push_error(L, "reading from the engine: %s", why);
    if (!wait_fd(c->fd, POLLIN, timeout))
      return push_error(L, "timeout");
  }
}

static int l_unread(lua_State *L) {
  struct conn *c = check_conn(L);
  size_t len;
  const char *s = luaL_checklstring(L, 2, &len);
  char *p = realloc(c->pending, c->npending + len + 1);
  if (!p)
    return luaL_error(L, "out of memory");
  memcpy(p + c->npending, s, len);
  c->pending = p;
  c->npending += len;
  return 0;
}

static int write_all(int fd, const char *p, size_t len) {
  while (len > 0) {
    ssize_t n = write(fd, p, len);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      if (errno == EAGAIN) {
        wait_fd(fd, POLLOUT, 1000);
        continue;
      }
      return -1;
    }
    p += n;
    len -= (size_t)n;
  }
  return 0;
}

/* Output from the engine: raw with a tty, else frames of
 * {stream, 0, 0, 0, size (big-endian 32)} then size bytes. */
static int deliver(struct conn *c, int tty, int out, int err, const char *p,
                   size_t len) {
  if (tty)
    return write_all(out, p, len);
  while (len > 0) {
    if (c->left == 0) {
      while (c->nhdr < 8 && len > 0) {
        c->hdr[c->nhdr++] = (unsigned char)*p++;
        len--;
      }
      if (c->nhdr < 8)
        return 0;
      c->nhdr = 0;
      c->left = ((size_t)c->hdr[4] << 24) | ((size_t)c->hdr[5] << 16) |
                ((size_t)c->hdr[6] << 8) | c->hdr[7];
      c->frame_fd = c->hdr[0] == 2 ? err : out;
      continue;
    }
    size_t n = len < c->left ? len : c->left;
    if (write_all(c->frame_fd, p, n) != 0)
      return -1;
    p += n;
    len -= n;
    c->left -= n;
  }
  return 0;
}

static int opt_int(lua_State *L, int t, const char *name, int def) {
  lua_getfield(L, t, name);
  int v = lua_isnil(L, -1) ? def : (int)luaL_checkinteger(L, -1);
  lua_pop(L, 1);
  return v;
}

static int opt_flag(lua_State *L, int t, const char *name) {
  lua_getfield(L, t, name);
  int v = lua_toboolean(L, -1);
  lua_pop(L, 1);
  return v;
}

/* Over TLS the end of our input is a close_notify alert (what Go's
 * tls.Conn.CloseWrite sends): a bare TCP half-close under TLS reads as a
 * truncation attack to OpenSSL peers.  SSL_shutdown() comes from the libssl
 * libcurl already loaded; reading goes on after it. */
static int tls_close_notify(struct conn *c) {
  struct curl_tlssessioninfo *info = NULL;
  if (c->fn->easy_getinfo(c->easy, CURLINFO_TLS_SSL_PTR, &info) != CURLE_OK ||
      !info || info->backend != CURLSSLBACKEND_OPENSSL || !info->internals)
    return -1;
  const char *names[] = {"libssl.so.3", "libssl.so.1.1"};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    void *dl = dlopen(names[i], RTLD_NOW | RTLD_NOLOAD);
    if (!dl)
      continue;
    int (*ssl_shutdown)(void *);
    *(void **)(&ssl_shutdown) = dlsym(dl, "SSL_shutdown");
    if (!ssl_shutdown)
      continue;
    for (int tries = 0; tries < 50; tries++) {
      if (ssl_shutdown(info->internals) >= 0)
        return 0;
      wait_fd(c->fd, POLLOUT, 100);
    }
    return 0;
  }
  return -1;
}

static void close_input(struct conn *c) {
  if (!c->in_closed) {
    /* the engine reads EOF and closes the process's stdin */
    if (tls_close_notify(c) != 0)
      shutdown(c->fd, SHUT_WR);
    c->in_closed = 1;
  }
}

/* conn:shutdown(): end of our input (a half-close) */
static int l_shutdown(lua_State *L) {
  close_input(check_conn(L));
  return 0;
}

/* conn:pump{tty=, stdin=, ["in"]=0, out=1, err=2} */
static int l_pump(lua_State *L) {
  struct conn *c = check_conn(L);
  luaL_checktype(L, 2, LUA_TTABLE);
  int tty = opt_flag(L, 2, "tty"), use_in = opt_flag(L, 2, "stdin");
  int in = opt_int(L, 2, "in", 0), out = opt_int(L, 2, "out", 1),
      err = opt_int(L, 2, "err", 2);
  char buf[BUFSZ];
  const char *why = NULL;
  if (!use_in)
    close_input(c);
  if (c->npending > 0) {
    size_t n = c->npending;
    c->npending = 0;
    if (deliver(c, tty, out, err, c->pending, n) != 0)
      return push_error(L, "writing output: %s", strerror(errno));
  }
  for (;;) {
    long n;
    while ((n = recv_some(c, buf, sizeof buf, &why)) > 0)
      if (deliver(c, tty, out, err, buf, (size_t)n) != 0)
        return push_error(L, "writing output: %s", strerror(errno));
    if (n == 0) {
      lua_pushstring(L, "eof");
      return 1;
    }
    if (n == -2)
      return push_error(L, "reading from the engine: %s", why);
    int sig = dl_sys_signal_pending();
    if (sig) {
      const char *name = dl_sys_signal_name(sig);
      lua_pushstring(L, "signal");
      lua_pushstring(L, name ? name : "?");
      return 2;
    }
    struct pollfd p[2] = {{.fd = c->fd, .events = POLLIN},
                          {.fd = in, .events = POLLIN}};
    int np = c->in_closed ? 1 : 2;
    int r = poll(p, (nfds_t)np, 250);
    if (r < 0 && errno != EINTR)
      return push_error(L, "waiting for the stream: %s", strerror(errno));
    if (r > 0 && np == 2 && (p[1].revents & (POLLIN | POLLHUP | POLLERR))) {
      ssize_t k = read(in, buf, sizeof buf);
      if (k > 0) {
        if (send_all(c, buf, (size_t)k, &why) != 0)
          return push_error(L, "sending input: %s", why);
      } else if (k == 0 || (errno != EINTR && errno != EAGAIN)) {
        close_input(c);
      }
    }
  }
}

static int l_close(lua_State *L) {
  struct conn *c = luaL_checkudata(L, 1, CONN_MT);
  if (c->easy) {
    c->fn->easy_cleanup(c->easy);
    c->easy = NULL;
  }
  free(c->pending);
  c->pending = NULL;
  c->npending = 0;
  return 0;
}

/* ---- the local terminal ---- */

/* stream.raw(fd) -> saved | nil, err */
static int l_raw(lua_State *L) {
  int fd = (int)luaL_checkinteger(L, 1);
  struct raw *r = lua_newuserdata(L, sizeof *r);
  memset(r, 0, sizeof *r);
  luaL_getmetatable(L, RAW_MT);
  lua_setmetatable(L, -2);
  if (tcgetattr(fd, &r->saved) != 0)
    return push_error(L, "not a terminal: %s", strerror(errno));
  struct termios t = r->saved;
  cfmakeraw(&t);
  if (tcsetattr(fd, TCSADRAIN, &t) != 0)
    return push_error(L, "cannot set raw mode: %s", strerror(errno));
  r->fd = fd;
  r->active = 1;
  return 1;
}

static int l_restore(lua_State *L) {
  struct raw *r = luaL_checkudata(L, 1, RAW_MT);
  if (r->active) {
    tcsetattr(r->fd, TCSADRAIN, &r->saved);
    r->active = 0;
  }
  return 0;
}

/* stream.winsize(fd) -> rows, cols | nil */
static int l_winsize(lua_State *L) {
  struct winsize w;
  if (ioctl((int)luaL_checkinteger(L, 1), TIOCGWINSZ, &w) != 0 ||
      w.ws_row == 0) {
    lua_pushnil(L);
    return 1;
  }
  lua_pushinteger(L, w.ws_row);
  lua_pushinteger(L, w.ws_col);
  return 2;
}

static const luaL_Reg conn_methods[] = {
    {"send", l_send}, {"recv", l_recv},   {"unread", l_unread},
    {"pump", l_pump}, {"close", l_close}, {"shutdown", l_shutdown},
    {NULL, NULL},
};

static const luaL_Reg raw_methods[] = {
    {"restore", l_restore},
    {NULL, NULL},
};

int luaopen_deloc_native_stream(lua_State *L) {
  luaL_newmetatable(L, CONN_MT);
  lua_newtable(L);
  luaL_register(L, NULL, conn_methods);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, l_close);
  lua_setfield(L, -2, "__gc");
  lua_pop(L, 1);
  luaL_newmetatable(L, RAW_MT);
  lua_newtable(L);
  luaL_register(L, NULL, raw_methods);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, l_restore);
  lua_setfield(L, -2, "__gc");
  lua_pop(L, 1);

  lua_newtable(L);
  struct curlfn *f = lua_newuserdata(L, sizeof *f); /* lives in the upvalue */
  memset(f, 0, sizeof *f);
  lua_pushcclosure(L, l_connect, 1);
  lua_setfield(L, -2, "connect");
  lua_pushcfunction(L, l_raw);
  lua_setfield(L, -2, "raw");
  lua_pushcfunction(L, l_winsize);
  lua_setfield(L, -2, "winsize");
  return 1;
}
