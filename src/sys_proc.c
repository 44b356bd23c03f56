/* Processes by argv, never through a shell: run one to completion with its
 * output captured, start one in the background, wait for it, signal it. */
#include "sys.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define CHUNK 65536
/* After SIGKILL, how long to wait for pipes a grandchild may hold open. */
#define DRAIN_AFTER_KILL 1.0

static int buf_reserve(struct dl_sys_buf *b, size_t more) {
  if (b->cap - b->len >= more)
    return 0;
  size_t cap = b->cap ? b->cap : CHUNK;
  while (cap - b->len < more) {
    if (cap > ((size_t)-1) / 2)
      return -1;
    cap *= 2;
  }
  char *p = realloc(b->data, cap);
  if (p == NULL)
    return -1;
  b->data = p;
  b->cap = cap;
  return 0;
}

/* The child starts with default dispositions for what a parent may catch and
 * an empty signal mask (we block SIGPIPE while feeding stdin). */
static int init_attr(posix_spawnattr_t *attr) {
  sigset_t def, none;
  sigemptyset(&none);
  sigemptyset(&def);
  int sigs[] = {SIGINT, SIGTERM, SIGPIPE, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};
  for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
    sigaddset(&def, sigs[i]);
  if (posix_spawnattr_init(attr) != 0)
    return -1;
  if (posix_spawnattr_setsigdefault(attr, &def) != 0 ||
      posix_spawnattr_setsigmask(attr, &none) != 0 ||
      posix_spawnattr_setflags(attr, POSIX_SPAWN_SETSIGDEF |
                                         POSIX_SPAWN_SETSIGMASK)) {
    posix_spawnattr_destroy(attr);
    return -1;
  }
  return 0;
}

static int check_cwd(const char *argv0, const char *cwd, char *err) {
  struct stat st;
  char why[128];
  if (cwd == NULL)
    return 0;
  if (stat(cwd, &st) != 0)
    return dl_sys_error(err, "cannot run '%s' in '%s': %s", argv0, cwd,
                        dl_sys_why(errno, why));
  if (!S_ISDIR(st.st_mode))
    return dl_sys_error(err, "cannot run '%s' in '%s': not a directory", argv0,
                        cwd);
  return 0;
}

static int start(pid_t *pid, char *const *argv, char *const *envp,
                 posix_spawn_file_actions_t *fa, const char *cwd, char *err) {
  posix_spawnattr_t attr;
  if (cwd && posix_spawn_file_actions_addchdir_np(fa, cwd) != 0)
    return dl_sys_error(err, "cannot run '%s': out of memory", argv[0]);
  if (init_attr(&attr) != 0)
    return dl_sys_error(err, "cannot run '%s': out of memory", argv[0]);
  int rc = posix_spawnp(pid, argv[0], fa, &attr, argv,
                        envp ? envp : (char *const *)environ);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    if (rc == ENOENT && strchr(argv[0], '/') == NULL)
      return dl_sys_error(err, "cannot run '%s': not found in PATH", argv[0]);
    return dl_sys_fail(err, "cannot run", argv[0], rc);
  }
  return 0;
}

static void close_fd(int *fd) {
  if (*fd >= 0)
    close(*fd);
  *fd = -1;
}

static void decode(int st, int *status, int *sig) {
  if (WIFEXITED(st)) {
    *status = WEXITSTATUS(st);
    *sig = 0;
  } else {
    *status = -1;
    *sig = WIFSIGNALED(st) ? WTERMSIG(st) : 0;
  }
}

/* One step of reading a pipe into b: 0 more to come, 1 EOF, -1 no memory. */
static int drain(int *fd, struct dl_sys_buf *b) {
  for (;;) {
    if (buf_reserve(b, CHUNK) != 0)
      return -1;
    ssize_t n = read(*fd, b->data + b->len, b->cap - b->len);
    if (n > 0) {
      b->len += (size_t)n;
      continue;
    }
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 && errno == EAGAIN)
      return 0;
    close_fd(fd); /* EOF, or an error that ends this stream anyway */
    return 1;
  }
}

struct run {
  struct dl_sys_spawn *s;
  int in, out, err; /* our ends; -1 once closed */
  size_t written;
  int reaped, epipe;
  double deadline, kill_at, give_up;
};

static void escalate(struct run *r, double now) {
  if (r->kill_at > 0 && now >= r->kill_at) {
    kill(r->s->pid, SIGKILL);
    r->kill_at = 0;
    r->give_up = now + DRAIN_AFTER_KILL;
  }
  if (r->give_up > 0 && now >= r->give_up) {
    close_fd(&r->in);
    close_fd(&r->out);
    close_fd(&r->err);
  }
}

static void terminate(struct run *r, double now) {
  if (r->kill_at > 0 || r->give_up > 0)
    return;
  kill(r->s->pid, SIGTERM);
  r->kill_at = now + (r->s->grace > 0 ? r->s->grace : 0);
  escalate(r, now);
}

static void feed(struct run *r) {
  struct dl_sys_spawn *s = r->s;
  while (r->in >= 0 && r->written < s->input_len) {
    size_t n = s->input_len - r->written;
    ssize_t w = write(r->in, s->input + r->written, n > CHUNK ? CHUNK : n);
    if (w > 0) {
      r->written += (size_t)w;
    } else if (w < 0 && errno == EINTR) {
      continue;
    } else if (w < 0 && errno == EAGAIN) {
      return;
    } else {
      /* The child closed its stdin (EPIPE): it wants no more, not an error. */
      r->epipe |= w < 0 && errno == EPIPE;
      close_fd(&r->in);
    }
  }
  if (r->written >= s->input_len)
    close_fd(&r->in);
}

static int wait_ms(struct run *r, double now) {
  double until = -1;
  if (r->deadline > 0 && !r->s->timed_out)
    until = r->deadline;
  if (r->kill_at > 0 && (until < 0 || r->kill_at < until))
    until = r->kill_at;
  if (r->give_up > 0 && (until < 0 || r->give_up < until))
    until = r->give_up;
  int ms = until < 0 ? -1 : (int)((until - now) * 1000) + 1;
  /* With both pipes closed we only wait for the exit: look every 10 ms. */
  if (r->out < 0 && r->err < 0 && (ms < 0 || ms > 10))
    ms = 10;
  return ms;
}

/* The poll loop: feed stdin, read both streams, watch the clock. */
static int loop(struct run *r, char *err) {
  struct dl_sys_spawn *s = r->s;
  for (;;) {
    feed(r);
    double now = dl_sys_now();
    if (r->deadline > 0 && !s->timed_out && now >= r->deadline) {
      s->timed_out = 1;
      terminate(r, now);
    }
    escalate(r, now);
    if (r->out < 0 && r->err < 0) {
      int st;
      pid_t p = waitpid(s->pid, &st, WNOHANG);
      if (p == s->pid || (p < 0 && errno == ECHILD)) {
        if (p == s->pid)
          decode(st, &s->status, &s->signal);
        r->reaped = 1;
        return 0;
      }
    }
    struct pollfd fds[3];
    int nfds = 0;
    if (r->out >= 0)
      fds[nfds++] = (struct pollfd){.fd = r->out, .events = POLLIN};
    if (r->err >= 0)
      fds[nfds++] = (struct pollfd){.fd = r->err, .events = POLLIN};
    if (r->in >= 0)
      fds[nfds++] = (struct pollfd){.fd = r->in, .events = POLLOUT};
    int n = poll(fds, (nfds_t)nfds, wait_ms(r, now));
    if (n < 0 && errno == EINTR) {
      if (dl_sys_signal_pending() && !s->interrupted) {
        s->interrupted = 1;
        terminate(r, dl_sys_now());
      }
      continue;
    }
    if (n < 0)
      return dl_sys_fail(err, "cannot wait for", s->argv[0], errno);
    if ((r->out >= 0 && drain(&r->out, &s->out) < 0) ||
        (r->err >= 0 && drain(&r->err, &s->err) < 0)) {
      dl_sys_error(err, "cannot capture the output of '%s': out of memory",
                   s->argv[0]);
      return -1;
    }
  }
}

static int nonblock(int fd) {
  int fl = fcntl(fd, F_GETFL);
  return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

int dl_sys_spawn(struct dl_sys_spawn *s, char *err) {
  int in[2] = {-1, -1}, out[2] = {-1, -1}, er[2] = {-1, -1};
  s->status = -1;
  s->signal = s->timed_out = s->interrupted = 0;
  s->pid = -1;
  if (check_cwd(s->argv[0], s->cwd, err) != 0)
    return -1;
  if ((s->input && pipe2(in, O_CLOEXEC) != 0) || pipe2(out, O_CLOEXEC) != 0 ||
      pipe2(er, O_CLOEXEC) != 0) {
    dl_sys_fail(err, "cannot run", s->argv[0], errno);
    goto fail;
  }
  posix_spawn_file_actions_t fa;
  if (posix_spawn_file_actions_init(&fa) != 0) {
    dl_sys_error(err, "cannot run '%s': out of memory", s->argv[0]);
    goto fail;
  }
  int bad = s->input ? posix_spawn_file_actions_adddup2(&fa, in[0], 0)
                     : posix_spawn_file_actions_addopen(&fa, 0, "/dev/null",
                                                        O_RDONLY, 0);
  bad = bad || posix_spawn_file_actions_adddup2(&fa, out[1], 1) ||
        posix_spawn_file_actions_adddup2(&fa, er[1], 2);
  int rc = bad ? dl_sys_error(err, "cannot run '%s': out of memory", s->argv[0])
               : start(&s->pid, s->argv, s->envp, &fa, s->cwd, err);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0)
    goto fail;
  close_fd(&in[0]);
  close_fd(&out[1]);
  close_fd(&er[1]);
  struct run r = {.s = s, .in = in[1], .out = out[0], .err = er[0]};
  if (s->timeout > 0)
    r.deadline = dl_sys_now() + s->timeout;
  if ((r.in >= 0 && nonblock(r.in) != 0) || nonblock(r.out) != 0 ||
      nonblock(r.err) != 0) {
    dl_sys_fail(err, "cannot run", s->argv[0], errno);
    close_fd(&r.in);
    close_fd(&r.out);
    close_fd(&r.err);
    kill(s->pid, SIGKILL);
    while (waitpid(s->pid, &rc, 0) < 0 && errno == EINTR)
      ;
    return -1;
  }
  /* A write to a child that closed its stdin must fail with EPIPE, not kill
   * us: block SIGPIPE meanwhile and swallow the one our write raised. */
  sigset_t pipe_set, old, pending;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  sigpending(&pending);
  int was_pending = sigismember(&pending, SIGPIPE);
  sigprocmask(SIG_BLOCK, &pipe_set, &old);
  rc = loop(&r, err);
  if (r.epipe && !was_pending) {
    struct timespec zero = {0, 0};
    sigtimedwait(&pipe_set, NULL, &zero);
  }
  sigprocmask(SIG_SETMASK, &old, NULL);
  close_fd(&r.in);
  close_fd(&r.out);
  close_fd(&r.err);
  if (!r.reaped) {
    int st;
    kill(s->pid, SIGKILL);
    while (waitpid(s->pid, &st, 0) < 0 && errno == EINTR)
      ;
  }
  return rc;
fail:
  close_fd(&in[0]);
  close_fd(&in[1]);
  close_fd(&out[0]);
  close_fd(&out[1]);
  close_fd(&er[0]);
  close_fd(&er[1]);
  return -1;
}

static int redirect(posix_spawn_file_actions_t *fa, int fd, const char *path) {
  if (path == NULL)
    return 0;
  return posix_spawn_file_actions_addopen(fa, fd, *path ? path : "/dev/null",
                                          O_WRONLY | O_CREAT | O_APPEND, 0644);
}

pid_t dl_sys_spawn_bg(char *const *argv, char *const *envp, const char *cwd,
                      const char *out_path, const char *err_path, char *err) {
  if (check_cwd(argv[0], cwd, err) != 0)
    return -1;
  posix_spawn_file_actions_t fa;
  if (posix_spawn_file_actions_init(&fa) != 0)
    return dl_sys_error(err, "cannot run '%s': out of memory", argv[0]);
  pid_t pid = -1;
  if (posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0) ||
      redirect(&fa, 1, out_path) || redirect(&fa, 2, err_path))
    dl_sys_error(err, "cannot run '%s': out of memory", argv[0]);
  else if (start(&pid, argv, envp, &fa, cwd, err) != 0)
    pid = -1;
  posix_spawn_file_actions_destroy(&fa);
  return pid;
}

int dl_sys_kill(pid_t pid, int sig, char *err) {
  if (kill(pid, sig) == 0)
    return 0;
  char why[128];
  return dl_sys_error(err, "cannot signal process %ld: %s", (long)pid,
                      dl_sys_why(errno, why));
}

int dl_sys_waitpid(pid_t pid, int nohang, int *status, int *sig, char *err) {
  int st;
  for (;;) {
    pid_t p = waitpid(pid, &st, nohang ? WNOHANG : 0);
    if (p == pid) {
      decode(st, status, sig);
      return 1;
    }
    if (p == 0)
      return 0;
    if (errno == EINTR && !dl_sys_signal_pending())
      continue;
    char why[128];
    return dl_sys_error(err, "cannot wait for process %ld: %s", (long)pid,
                        errno == EINTR ? "interrupted"
                                       : dl_sys_why(errno, why));
  }
}
