/* deloc.sys core: what this machine (or container) offers, files written
 * safely, locks, processes and signals.  No Lua here: every function that can
 * fail returns -1 and leaves a "what: why" message in err (DL_SYS_ERRLEN). */
#ifndef DELOC_SYS_H
#define DELOC_SYS_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define DL_SYS_ERRLEN 512

/* Formats a message into err (DL_SYS_ERRLEN bytes, truncated); returns -1. */
int dl_sys_error(char *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* strerror(e) in lower case, as messages want it; buf has 128 bytes. */
const char *dl_sys_why(int e, char *buf);
/* "what 'subject': why"; returns -1. */
int dl_sys_fail(char *err, const char *what, const char *subject, int e);

/* ---- machine (sys.c) ---- */

/* CPUs this process may run on (sched_getaffinity), else the online count. */
int dl_sys_cpu_count(void);

/* Reads a cpuinfo file: the number of "processor" entries and the model name
 * (empty when the file names none).  0 or -1. */
int dl_sys_cpuinfo(const char *path, int *count, char *model, size_t cap,
                   char *err);

/* Reads a meminfo file: MemTotal and MemAvailable in bytes (MemAvailable falls
 * back to MemFree + Buffers + Cached on kernels before 3.14).  0 or -1. */
int dl_sys_meminfo(const char *path, uint64_t *total, uint64_t *available,
                   char *err);

/* statvfs of path: total bytes and bytes free to an unprivileged user. */
int dl_sys_disk(const char *path, uint64_t *total, uint64_t *avail, char *err);

/* The three load averages from a loadavg file (path NULL: getloadavg). */
int dl_sys_load(const char *path, double load[3], char *err);

double dl_sys_now(void);  /* CLOCK_MONOTONIC seconds */
double dl_sys_time(void); /* CLOCK_REALTIME seconds */

/* Sleeps; returns 0, or 1 with *remaining set when a signal cut it short. */
int dl_sys_sleep(double seconds, double *remaining);

/* ---- signals (sys.c): one sig_atomic_t flag, set by a handler ---- */

int dl_sys_signal_number(
    const char *name);                   /* "INT", "SIGINT", "9" -> 2..; -1 */
const char *dl_sys_signal_name(int sig); /* 2 -> "INT"; NULL if unknown */
int dl_sys_signal_catch(int sig, char *err);
int dl_sys_signal_default(int sig, char *err);
int dl_sys_signal_pending(void); /* the last caught signal, 0 if none */
void dl_sys_signal_clear(void);

/* ---- network (sys_net.c) ---- */

/* The TCP ports (IPv4 and IPv6) a socket listens on, as a bit set: port p
 * is in use when ports[p >> 3] & (1 << (p & 7)).  0 or -1. */
int dl_sys_tcp_listening(uint8_t ports[8192], char *err);

/* ---- cgroups (sys_cgroup.c) ---- */

struct dl_sys_cgroup {
  int version;    /* 0: none found, 1 or 2 */
  int has_memory; /* memory_limit is set */
  uint64_t memory_limit;
  int has_cpu;                  /* cpu_limit is set */
  double cpu_limit;             /* cores: quota / period */
  char dir[PATH_MAX];           /* the cgroup directory of the memory (or cpu)
                                   controller; empty when none */
  char memory_source[PATH_MAX]; /* the file that set the limit, or was read */
  char cpu_source[PATH_MAX];
};

/* Limits of the current process, from root/proc/self/{cgroup,mountinfo} and
 * the cgroup files under root (root "" is the real system).  Limits set on
 * ancestors count too: the smallest one wins.  0, or -1 when root/proc/self
 * cannot be read. */
int dl_sys_cgroup(const char *root, struct dl_sys_cgroup *out, char *err);

/* ---- files (sys_fs.c) ---- */

/* Writes data to path through a temporary file in the same directory: write,
 * fsync, chmod, rename, fsync of the directory.  mode < 0: keep the mode of
 * an existing file, else 0666 & ~umask. */
int dl_sys_write_atomic(const char *path, const void *data, size_t len,
                        int mode, char *err);

/* mkdir -p with mode for the directories it creates. */
int dl_sys_mkdir_p(const char *path, int mode, char *err);

/* chmod(2) and chown(2) with err set on failure. */
int dl_sys_chmod(const char *path, int mode, char *err);
int dl_sys_chown(const char *path, uid_t uid, gid_t gid, char *err);

/* A file streamed into a temporary file beside path (".NAME.PID.partial",
 * O_EXCL, mode from the first byte) and renamed over path on commit, so path
 * is the old content or the whole new one, never a part. */
enum { DL_SYS_WRITER_OPEN, DL_SYS_WRITER_COMMITTED, DL_SYS_WRITER_ABORTED };
struct dl_sys_writer {
  int fd;    /* -1 unless open */
  int state; /* DL_SYS_WRITER_* */
  char path[PATH_MAX];
  char tmp[PATH_MAX];
};

/* Creates the temporary file with mode (umask aside).  0 or -1. */
int dl_sys_writer_open(struct dl_sys_writer *w, const char *path, int mode,
                       char *err);
/* Appends len bytes.  0 or -1 (the writer stays open: abort it). */
int dl_sys_writer_write(struct dl_sys_writer *w, const void *data, size_t len,
                        char *err);
/* fsync, rename over path, fsync of the directory.  0, or -1 with the
 * temporary file removed. */
int dl_sys_writer_commit(struct dl_sys_writer *w, char *err);
/* Closes and removes the temporary file of an open writer; else nothing. */
void dl_sys_writer_abort(struct dl_sys_writer *w);

/* Holder information recorded in a lock file. */
struct dl_sys_holder {
  long pid;     /* 0 if unknown */
  double since; /* wall seconds; 0 if unknown */
};

/* Takes an exclusive flock on path (created 0644) without waiting and writes
 * "pid since" into it.  Returns the open fd; -1 with err set on failure; -2
 * when another open file holds it, with *holder filled from the file. */
int dl_sys_lock(const char *path, struct dl_sys_holder *holder, char *err);

/* dl_sys_lock on an open file (path names it in messages); closes fd on
 * failure. */
int dl_sys_lock_fd(int fd, const char *path, struct dl_sys_holder *holder,
                   char *err);

/* Empties the lock file and releases it (closes fd). */
void dl_sys_unlock(int fd);

/* ---- files below a project directory (sys_at.c) ----
 * rel is a relative path of plain components (no "", "." or ".."); every
 * directory on the way and the file itself are opened without following
 * symbolic links (openat + O_NOFOLLOW), so a link committed in a project never
 * leads deloc outside it.  dirmode >= 0 creates missing directories. */

enum { DL_SYS_MISSING, DL_SYS_FILE, DL_SYS_DIR, DL_SYS_LINK, DL_SYS_OTHER };

/* open(root, O_DIRECTORY): the fd every walk below starts from, or -1. */
int dl_sys_root_open(const char *root, char *err);
/* The one walk: the directory holding rel's last component (an fd), reached
 * from rootfd (not closed) one O_NOFOLLOW | O_DIRECTORY component at a time;
 * *base is that last component (a pointer into rel).  root names rootfd in
 * messages.  -1 with err and errno set. */
int dl_sys_walk(int rootfd, const char *root, const char *rel, int dirmode,
                const char **base, char *err);
/* dl_sys_walk from root opened by path. */
int dl_sys_parent_at(const char *root, const char *rel, int dirmode,
                     const char **base, char *err);
/* openat of a regular file (flags | O_NOFOLLOW); a link, a directory, a FIFO
 * or a device is an error naming it.  The fd, or -1. */
int dl_sys_open_at(const char *root, const char *rel, int flags, int mode,
                   int dirmode, char *err);
/* The directory rel itself (not followed), open for reading, or -1. */
int dl_sys_opendir_at(const char *root, const char *rel, char *err);
/* DL_SYS_MISSING, _FILE, _DIR, _LINK, _OTHER (lstat semantics), or -1. */
int dl_sys_kind_at(const char *root, const char *rel, char *err);
/* Atomic write (temporary file O_EXCL beside it, fsync, fchmod, renameat);
 * an existing link or non-regular file there is refused. */
int dl_sys_write_at(const char *root, const char *rel, const void *data,
                    size_t len, int mode, int dirmode, char *err);
/* fchmod / fchown of a regular file with a single link. */
int dl_sys_chmod_at(const char *root, const char *rel, int mode, char *err);
int dl_sys_chown_at(const char *root, const char *rel, uid_t uid, gid_t gid,
                    char *err);
int dl_sys_rename_at(const char *root, const char *from, const char *to,
                     char *err);
/* unlinkat; a missing file is not an error. */
int dl_sys_remove_at(const char *root, const char *rel, char *err);
/* Links target (a new name) to the file at root/rel when writing data anew
 * at target would make the same file: a regular file (not followed) with one
 * name, this user's, with the group and mode a new file there gets, holding
 * exactly data.  1 when linked, 0 when not (the caller writes target). */
int dl_sys_link_same_at(const char *root, const char *rel, const void *data,
                        size_t len, const char *target);
/* dl_sys_lock of root/rel. */
int dl_sys_lock_at(const char *root, const char *rel, int dirmode,
                   struct dl_sys_holder *holder, char *err);

/* Below an open root (dl_sys_root_open), for unpacking an archive someone
 * else wrote: whatever non-directory is at rel is replaced, never followed.
 * mkdir: an existing directory is fine; the mode is set whatever the umask.
 * create: a new regular file, its fd open for writing, or -1.
 * symlink: target is stored, not followed.  link: a hard link to existing. */
int dl_sys_mkdir_in(int rootfd, const char *root, const char *rel, int mode,
                    char *err);
int dl_sys_create_in(int rootfd, const char *root, const char *rel, int mode,
                     char *err);
int dl_sys_symlink_in(int rootfd, const char *root, const char *rel,
                      const char *target, char *err);
int dl_sys_link_in(int rootfd, const char *root, const char *rel,
                   const char *existing, char *err);
/* write(2) until all of data is written (EINTR retried); 0 or -1 (errno). */
int dl_sys_write_all(int fd, const void *data, size_t len);

/* ---- processes (sys_proc.c) ---- */

/* A growable byte buffer; the caller frees data. */
struct dl_sys_buf {
  char *data;
  size_t len, cap;
};

struct dl_sys_spawn {
  /* in */
  char *const *argv; /* argv[0] is looked up in PATH unless it has a '/' */
  char *const *envp; /* NULL: inherit */
  const char *cwd;   /* NULL: inherit */
  const char *input; /* stdin bytes; NULL: /dev/null */
  size_t input_len;
  double timeout; /* seconds; <= 0: none */
  double grace;   /* seconds between SIGTERM and SIGKILL on timeout */
  /* out */
  struct dl_sys_buf out, err;
  int status;      /* exit code, -1 if killed by a signal */
  int signal;      /* the signal that ended it, 0 if none */
  int timed_out;   /* the timeout elapsed; the child was killed */
  int interrupted; /* a caught signal (dl_sys_signal_catch) arrived */
  pid_t pid;
};

/* Runs argv to completion, capturing stdout and stderr and feeding stdin.
 * Returns 0 (see status/signal/timed_out/interrupted), -1 with err set when
 * the program cannot be started.  The caller frees out.data and err.data. */
int dl_sys_spawn(struct dl_sys_spawn *s, char *err);

/* Starts argv in the background with stdin from /dev/null and stdout/stderr
 * to files (appended), or inherited when NULL ("" means /dev/null).  Returns
 * the pid, or -1 with err set. */
pid_t dl_sys_spawn_bg(char *const *argv, char *const *envp, const char *cwd,
                      const char *out_path, const char *err_path, char *err);

/* kill(2) with err set on failure. */
int dl_sys_kill(pid_t pid, int sig, char *err);

/* waitpid: 1 and status/signal filled when the child ended, 0 if it is still
 * running (nohang), -1 with err set. */
int dl_sys_waitpid(pid_t pid, int nohang, int *status, int *signal, char *err);

#endif
