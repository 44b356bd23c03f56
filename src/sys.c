/* deloc.sys core: CPU, memory, disk, load, clocks and signals. */
#include "sys.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

int dl_sys_error(char *err, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, DL_SYS_ERRLEN, fmt, ap);
  va_end(ap);
  return -1;
}

const char *dl_sys_why(int e, char *buf) {
  snprintf(buf, 128, "%s", strerror(e));
  buf[0] = (char)tolower((unsigned char)buf[0]); /* git's style */
  return buf;
}

int dl_sys_fail(char *err, const char *what, const char *subject, int e) {
  char why[128];
  return dl_sys_error(err, "%s '%s': %s", what, subject, dl_sys_why(e, why));
}

int dl_sys_cpu_count(void) {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0) {
    int n = CPU_COUNT(&set);
    if (n > 0)
      return n;
  }
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? (int)n : 1;
}

/* "key<spaces>:<spaces>value" -> value, or NULL if line's key is not key. */
static const char *field(const char *line, const char *key) {
  size_t n = strlen(key);
  if (strncmp(line, key, n) != 0)
    return NULL;
  const char *p = line + n;
  while (*p == ' ' || *p == '\t')
    p++;
  if (*p != ':')
    return NULL;
  p++;
  while (*p == ' ' || *p == '\t')
    p++;
  return p;
}

int dl_sys_cpuinfo(const char *path, int *count, char *model, size_t cap,
                   char *err) {
  /* x86 says "model name"; arm64 and others use one of the later keys. */
  static const char *const keys[] = {"model name", "Model",     "Hardware",
                                     "Processor",  "cpu model", "cpu",
                                     "uarch"};
  FILE *f = fopen(path, "re");
  if (f == NULL)
    return dl_sys_fail(err, "cannot read", path, errno);
  char line[1024];
  int n = 0, best = (int)(sizeof keys / sizeof keys[0]);
  if (cap > 0)
    model[0] = '\0';
  while (fgets(line, sizeof line, f)) {
    if (field(line, "processor"))
      n++;
    for (int k = 0; k < best; k++) {
      const char *v = field(line, keys[k]);
      if (v == NULL || *v == '\n' || *v == '\0')
        continue;
      size_t len = strcspn(v, "\n");
      if (len >= cap)
        len = cap ? cap - 1 : 0;
      if (cap > 0) {
        memcpy(model, v, len);
        model[len] = '\0';
      }
      best = k;
      break;
    }
  }
  fclose(f);
  *count = n;
  return 0;
}

int dl_sys_meminfo(const char *path, uint64_t *total, uint64_t *available,
                   char *err) {
  FILE *f = fopen(path, "re");
  if (f == NULL)
    return dl_sys_fail(err, "cannot read", path, errno);
  char line[256];
  uint64_t t = 0, avail = 0, spare = 0;
  int have_t = 0, have_avail = 0;
  while (fgets(line, sizeof line, f)) {
    char key[64];
    unsigned long long kb;
    if (sscanf(line, "%63[^:]: %llu", key, &kb) != 2)
      continue;
    uint64_t bytes = (uint64_t)kb * 1024;
    if (strcmp(key, "MemTotal") == 0)
      t = bytes, have_t = 1;
    else if (strcmp(key, "MemAvailable") == 0)
      avail = bytes, have_avail = 1;
    else if (strcmp(key, "MemFree") == 0 || strcmp(key, "Buffers") == 0 ||
             strcmp(key, "Cached") == 0)
      spare += bytes;
  }
  fclose(f);
  if (!have_t) {
    dl_sys_error(err, "cannot read '%s': no MemTotal line", path);
    return -1;
  }
  *total = t;
  *available = have_avail ? avail : (spare < t ? spare : t);
  return 0;
}

int dl_sys_disk(const char *path, uint64_t *total, uint64_t *avail, char *err) {
  struct statvfs st;
  if (statvfs(path, &st) != 0)
    return dl_sys_fail(err, "cannot stat file system of", path, errno);
  uint64_t unit = st.f_frsize ? st.f_frsize : st.f_bsize;
  *total = (uint64_t)st.f_blocks * unit;
  *avail = (uint64_t)st.f_bavail * unit;
  return 0;
}

int dl_sys_load(const char *path, double load[3], char *err) {
  if (path == NULL) {
    if (getloadavg(load, 3) != 3) {
      dl_sys_error(err, "cannot read the load average");
      return -1;
    }
    return 0;
  }
  FILE *f = fopen(path, "re");
  if (f == NULL)
    return dl_sys_fail(err, "cannot read", path, errno);
  int n = fscanf(f, "%lf %lf %lf", &load[0], &load[1], &load[2]);
  fclose(f);
  if (n != 3) {
    dl_sys_error(err, "cannot read '%s': not a loadavg file", path);
    return -1;
  }
  return 0;
}

static double clock_seconds(clockid_t id) {
  struct timespec ts;
  clock_gettime(id, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double dl_sys_now(void) {
  return clock_seconds(CLOCK_MONOTONIC);
}

double dl_sys_time(void) {
  return clock_seconds(CLOCK_REALTIME);
}

int dl_sys_sleep(double seconds, double *remaining) {
  if (!(seconds > 0))
    return 0;
  if (seconds > 1e9)
    seconds = 1e9;
  struct timespec req, rem;
  req.tv_sec = (time_t)seconds;
  req.tv_nsec = (long)((seconds - floor(seconds)) * 1e9);
  if (req.tv_nsec > 999999999L)
    req.tv_nsec = 999999999L;
  if (nanosleep(&req, &rem) == 0)
    return 0;
  *remaining = (double)rem.tv_sec + (double)rem.tv_nsec / 1e9;
  return 1;
}

/* ---- signals ---- */

/* The one mutable global of deloc.sys: which caught signal arrived last. */
static volatile sig_atomic_t pending_signal;

static const struct {
  const char *name;
  int sig;
} signals[] = {
    {"HUP", SIGHUP},     {"INT", SIGINT},   {"QUIT", SIGQUIT},
    {"KILL", SIGKILL},   {"USR1", SIGUSR1}, {"USR2", SIGUSR2},
    {"PIPE", SIGPIPE},   {"ALRM", SIGALRM}, {"TERM", SIGTERM},
    {"CHLD", SIGCHLD},   {"CONT", SIGCONT}, {"STOP", SIGSTOP},
    {"TSTP", SIGTSTP},   {"ABRT", SIGABRT}, {"SEGV", SIGSEGV},
    {"WINCH", SIGWINCH},
};

int dl_sys_signal_number(const char *name) {
  if (strncmp(name, "SIG", 3) == 0)
    name += 3;
  for (size_t i = 0; i < sizeof signals / sizeof signals[0]; i++)
    if (strcmp(signals[i].name, name) == 0)
      return signals[i].sig;
  char *end;
  long n = strtol(name, &end, 10);
  if (*name && *end == '\0' && n >= 0 && n < NSIG)
    return (int)n;
  return -1;
}

const char *dl_sys_signal_name(int sig) {
  for (size_t i = 0; i < sizeof signals / sizeof signals[0]; i++)
    if (signals[i].sig == sig)
      return signals[i].name;
  return NULL;
}

static void on_signal(int sig) {
  pending_signal = sig;
}

static int set_handler(int sig, void (*handler)(int), char *err) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = handler;
  sigemptyset(&sa.sa_mask);
  /* No SA_RESTART: a blocking wait (sleep, spawn's poll) returns at once and
   * can look at the flag. */
  sa.sa_flags = 0;
  if (sigaction(sig, &sa, NULL) != 0) {
    dl_sys_error(err, "cannot set the handler of signal %d: %s", sig,
                 strerror(errno));
    return -1;
  }
  return 0;
}

int dl_sys_signal_catch(int sig, char *err) {
  return set_handler(sig, on_signal, err);
}

int dl_sys_signal_default(int sig, char *err) {
  return set_handler(sig, SIG_DFL, err);
}

int dl_sys_signal_pending(void) {
  return pending_signal;
}

void dl_sys_signal_clear(void) {
  pending_signal = 0;
}
