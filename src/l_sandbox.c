/* deloc.native.sandbox: a forked child for untrusted Lua (a cloned project's
 * recipes), bounded in memory, CPU and wall time and limited by a seccomp
 * filter to the system calls computing needs, with its result handed back
 * through a pipe.  deloc.sandbox.isolate is the Lua side.
 *
 * Why a process: the recipe sandbox's instruction hook cannot see work done
 * inside C functions (string.rep, pattern matching, gsub), and a recursion
 * through gsub callbacks overflows the C stack (SIGSEGV).  A child with
 * limits bounds all of that, and whatever kills it leaves deloc standing. */
#include <errno.h>
#include <fcntl.h>
#include <lauxlib.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <lua.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define DL_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define DL_ASAN 1
#endif
#endif

/* ---- the child's allocator: counts the Lua heap against a limit ---- */

struct budget {
  lua_Alloc f;
  void *ud;
  size_t used, limit;
};

/* Frees of blocks allocated before the fork make `used` go below what is
 * live, never above: the limit holds for what the child allocates. */
static void *counting_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
  struct budget *b = ud;
  size_t old = ptr ? osize : 0;
  if (nsize > old && b->used + (nsize - old) > b->limit)
    return NULL; /* LuaJIT raises "not enough memory" */
  void *p = b->f(b->ud, ptr, osize, nsize);
  if (p || nsize == 0) {
    if (nsize >= old)
      b->used += nsize - old;
    else
      b->used = b->used > old - nsize ? b->used - (old - nsize) : 0;
  }
  return p;
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double opt_field(lua_State *L, int idx, const char *k, double dflt) {
  lua_getfield(L, idx, k);
  double v = lua_isnumber(L, -1) ? lua_tonumber(L, -1) : dflt;
  lua_pop(L, 1);
  return v;
}

/* Closes every descriptor but 0-2 and keep: the child must not reach the
 * Docker socket or anything else the parent has open.  close_range(2) does
 * it in two calls; without it (before Linux 5.9), one call a descriptor. */
static void close_others(int keep) {
#ifdef SYS_close_range
  if ((keep <= 3 ||
       syscall(SYS_close_range, 3u, (unsigned)keep - 1, 0u) == 0) &&
      syscall(SYS_close_range, (unsigned)keep + 1, ~0u, 0u) == 0)
    return;
#endif
  for (int fd = 3; fd < 1024; fd++)
    if (fd != keep)
      close(fd);
}

/* fork{memory=, cpu=, wall=} -> pid, fd (parent) | 0, fd (child) | nil, err
 * The child gets: its own resource limits (address space when not under
 * AddressSanitizer, which reserves terabytes; CPU seconds; no core file), a
 * Lua heap budget, an alarm, no descriptors but the pipe and stderr, stdin
 * and stdout on /dev/null, and death when deloc dies. */
static int l_fork(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  double memory = opt_field(L, 1, "memory", 512.0 * 1024 * 1024);
  double cpu = opt_field(L, 1, "cpu", 5);
  double wall = opt_field(L, 1, "wall", 5);
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) {
    lua_pushnil(L);
    lua_pushfstring(L, "cannot create a pipe: %s", strerror(errno));
    return 2;
  }
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) {
    int e = errno;
    close(p[0]);
    close(p[1]);
    lua_pushnil(L);
    lua_pushfstring(L, "cannot fork: %s", strerror(e));
    return 2;
  }
  if (pid > 0) {
    close(p[1]);
    lua_pushinteger(L, pid);
    lua_pushinteger(L, p[0]);
    return 2;
  }
  /* the child */
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent)
    _exit(111);
  close(p[0]);
  int null = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null >= 0) {
    dup2(null, 0);
    dup2(null, 1);
  }
  close_others(p[1]);
  /* A fault in the child is the child's death, told by the parent: no
   * handler of its own (a sanitizer's would print a report for every
   * recipe that overflows the C stack, which deloc expects and reports). */
  signal(SIGSEGV, SIG_DFL);
  signal(SIGBUS, SIG_DFL);
  struct rlimit r = {0, 0};
  setrlimit(RLIMIT_CORE, &r);
  r.rlim_cur = (rlim_t)cpu;
  r.rlim_max = (rlim_t)cpu + 1;
  setrlimit(RLIMIT_CPU, &r);
#ifndef DL_ASAN
  /* the parent's mappings (the binary, libraries, its heap) come along:
   * the limit is what the child may add */
  long pages = 0;
  FILE *f = fopen("/proc/self/statm", "r");
  if (f) {
    if (fscanf(f, "%ld", &pages) != 1)
      pages = 0;
    fclose(f);
  }
  r.rlim_cur = r.rlim_max =
      (rlim_t)pages * (rlim_t)sysconf(_SC_PAGESIZE) + (rlim_t)memory;
  setrlimit(RLIMIT_AS, &r);
#endif
  alarm((unsigned)wall + 1);
  struct budget *b = malloc(sizeof *b);
  if (b) {
    b->f = lua_getallocf(L, &b->ud);
    b->used = 0;
    b->limit = (size_t)memory;
    lua_setallocf(L, counting_alloc, b);
  }
  lua_pushinteger(L, 0);
  lua_pushinteger(L, p[1]);
  return 2;
}

#if defined(__x86_64__)
#define DL_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define DL_AUDIT_ARCH AUDIT_ARCH_AARCH64
#endif

#define ALLOW(name)                                                            \
  BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_##name, 0, 1),                      \
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)

/* lockdown() -> true | nil, err: from here on the child may compute, use
 * memory, write to descriptors it holds and exit; nothing else.  Opening a
 * file, a socket, spawning or signalling another process fails with EPERM
 * (an unknown architecture or ABI kills it). */
static int l_lockdown(lua_State *L) {
#ifdef DL_AUDIT_ARCH
  struct sock_filter filter[] = {
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, DL_AUDIT_ARCH, 1, 0),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
#if defined(__x86_64__)
    /* the x32 ABI numbers are the same calls under another number */
    BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x40000000u, 0, 1),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
    ALLOW(fstat),
#endif
    ALLOW(read),
    ALLOW(write),
    ALLOW(close),
    ALLOW(newfstatat),
    ALLOW(lseek),
    ALLOW(mmap),
    ALLOW(munmap),
    ALLOW(mremap),
    ALLOW(mprotect),
    ALLOW(brk),
    ALLOW(madvise),
    ALLOW(exit),
    ALLOW(exit_group),
    ALLOW(rt_sigreturn),
    ALLOW(rt_sigprocmask),
    ALLOW(futex),
    ALLOW(clock_gettime),
    ALLOW(gettimeofday),
    ALLOW(getpid),
    ALLOW(gettid),
    ALLOW(getrandom),
    ALLOW(getrusage),
    ALLOW(sched_yield),
    ALLOW(sigaltstack), /* AddressSanitizer, on every longjmp */
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA)),
  };
  struct sock_fprog prog = {
      .len = (unsigned short)(sizeof filter / sizeof filter[0]),
      .filter = filter,
  };
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
      prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0) {
    lua_pushnil(L);
    lua_pushfstring(L, "cannot install the seccomp filter: %s",
                    strerror(errno));
    return 2;
  }
  lua_pushboolean(L, 1);
  return 1;
#else
  lua_pushnil(L);
  lua_pushliteral(L, "no seccomp filter for this architecture");
  return 2;
#endif
}

/* send(fd, data) -> true | nil, err: all of data, then the pipe closes */
static int l_send(lua_State *L) {
  int fd = (int)luaL_checkinteger(L, 1);
  size_t len;
  const char *p = luaL_checklstring(L, 2, &len);
  while (len > 0) {
    ssize_t n = write(fd, p, len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      lua_pushnil(L);
      lua_pushstring(L, strerror(errno));
      return 2;
    }
    p += n;
    len -= (size_t)n;
  }
  close(fd);
  lua_pushboolean(L, 1);
  return 1;
}

/* exit(code): the child ends here, running nothing of the parent's */
static int l_exit(lua_State *L) {
  _exit((int)luaL_optinteger(L, 1, 0));
  return 0;
}

static void reap(pid_t pid, int *status) {
  while (waitpid(pid, status, 0) < 0 && errno == EINTR) {
  }
}

/* Reads fd until it closes, at most max bytes, until the deadline; pushes
 * what came.  -> NULL, or "timeout" / "toobig" (the child is killed and
 * reaped then, its status in *status). */
static const char *receive(lua_State *L, pid_t pid, int fd, double deadline,
                           size_t max, int *status) {
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  size_t total = 0;
  const char *how = NULL;
  for (;;) {
    double left = deadline - now();
    if (left <= 0) {
      how = "timeout";
      break;
    }
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    int rc = poll(&pfd, 1, (int)(left * 1000) + 1);
    if (rc < 0 && errno == EINTR)
      continue;
    if (rc == 0)
      continue;
    char *p = luaL_prepbuffer(&b);
    ssize_t n = read(fd, p, LUAL_BUFFERSIZE);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    total += (size_t)n;
    if (total > max) {
      how = "toobig";
      break;
    }
    luaL_addsize(&b, (size_t)n);
  }
  close(fd);
  luaL_pushresult(&b);
  if (how) {
    kill(pid, SIGKILL);
    reap(pid, status);
  }
  return how;
}

/* Waits for a child whose pipe closed (it is ending) until the deadline,
 * then kills it.  -> NULL when it ended, "timeout" when it was killed.  A
 * pidfd wakes the parent the moment the child is gone; without one (before
 * Linux 5.3), the parent looks every 0.1 ms. */
static const char *wait_end(pid_t pid, double deadline, int *status) {
  int pfd = -1;
#ifdef SYS_pidfd_open
  pfd = (int)syscall(SYS_pidfd_open, pid, 0);
#endif
  const char *how = NULL;
  for (;;) {
    pid_t w = waitpid(pid, status, WNOHANG);
    if (w == pid)
      break;
    if (w < 0 && errno != EINTR)
      break;
    double left = deadline - now();
    if (left <= 0) {
      kill(pid, SIGKILL);
      reap(pid, status);
      how = "timeout";
      break;
    }
    if (pfd >= 0) {
      struct pollfd p = {.fd = pfd, .events = POLLIN};
      poll(&p, 1, (int)(left * 1000) + 1);
    } else {
      struct timespec ts = {0, 100000};
      nanosleep(&ts, NULL);
    }
  }
  if (pfd >= 0)
    close(pfd);
  return how;
}

static int push_end(lua_State *L, const char *how, int status) {
  if (how) {
    lua_pushstring(L, how);
    lua_pushinteger(L, 0);
  } else if (WIFSIGNALED(status)) {
    lua_pushliteral(L, "signal");
    lua_pushinteger(L, WTERMSIG(status));
  } else {
    lua_pushliteral(L, "exit");
    lua_pushinteger(L, WEXITSTATUS(status));
  }
  return 2;
}

/* receive(pid, fd, timeout, max) -> data [, how, 0]: reads the child's pipe
 * until it closes, so the parent can read the answer while the child is
 * still ending; how ("timeout": killed after timeout seconds, "toobig": more
 * than max bytes) only when the child was killed and reaped */
static int l_receive(lua_State *L) {
  pid_t pid = (pid_t)luaL_checkinteger(L, 1);
  int fd = (int)luaL_checkinteger(L, 2);
  double deadline = now() + luaL_checknumber(L, 3);
  size_t max = (size_t)luaL_checknumber(L, 4);
  int status = 0;
  const char *how = receive(L, pid, fd, deadline, max, &status);
  if (!how)
    return 1;
  return 1 + push_end(L, how, status);
}

/* reap(pid, timeout) -> how, detail: how "exit" (detail the exit code),
 * "signal" (the signal number) or "timeout" (killed with SIGKILL and reaped
 * when it outlives the deadline) */
static int l_reap(lua_State *L) {
  pid_t pid = (pid_t)luaL_checkinteger(L, 1);
  double deadline = now() + luaL_checknumber(L, 2);
  int status = 0;
  const char *how = wait_end(pid, deadline, &status);
  return push_end(L, how, status);
}

static const luaL_Reg functions[] = {
    {"fork", l_fork}, {"lockdown", l_lockdown}, {"send", l_send},
    {"exit", l_exit}, {"receive", l_receive},   {"reap", l_reap},
    {NULL, NULL},
};

int luaopen_deloc_native_sandbox(lua_State *L) {
  lua_newtable(L);
  luaL_register(L, NULL, functions);
  return 1;
}
