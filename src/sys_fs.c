/* Files that survive a crash (atomic write, streaming writer), modes and
 * owners, mkdir -p, and advisory locks. */
#include "sys.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int write_all(int fd, const void *data, size_t len) {
  const char *p = data;
  while (len > 0) {
    ssize_t n = write(fd, p, len);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return -1;
    }
    p += n;
    len -= (size_t)n;
  }
  return 0;
}

/* A link or something else than a regular file is never replaced. */
static int not_regular(char *err, const char *path, const struct stat *st) {
  if (S_ISLNK(st->st_mode))
    return dl_sys_error(err,
                        "'%s' is a symbolic link: deloc does not write through"
                        " or over links (remove it)",
                        path);
  return dl_sys_error(err, "'%s' is not a regular file", path);
}

/* The directory part of path ("." for a bare name), in dir[PATH_MAX]. */
static int dir_of(const char *path, char *dir) {
  if (strlen(path) >= PATH_MAX)
    return -1;
  char copy[PATH_MAX];
  strcpy(copy, path);
  snprintf(dir, PATH_MAX, "%s", dirname(copy));
  return 0;
}

/* Syncs the directory holding path, so a rename in it survives a crash. */
static int sync_dir_of(const char *path, char *err) {
  char dir[PATH_MAX];
  if (dir_of(path, dir) != 0)
    return dl_sys_fail(err, "cannot sync directory", path, ENAMETOOLONG);
  int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0)
    return dl_sys_fail(err, "cannot sync directory", dir, errno);
  if (fsync(dfd) != 0 && errno != EINVAL) {
    int e = errno;
    close(dfd);
    return dl_sys_fail(err, "cannot sync directory", dir, e);
  }
  close(dfd);
  return 0;
}

int dl_sys_write_atomic(const char *path, const void *data, size_t len,
                        int mode, char *err) {
  char tmp[PATH_MAX];
  if (strlen(path) >= PATH_MAX)
    return dl_sys_fail(err, "cannot write", path, ENAMETOOLONG);
  struct stat st;
  if (lstat(path, &st) == 0 && !S_ISREG(st.st_mode))
    return not_regular(err, path, &st);
  if (mode < 0) {
    if (lstat(path, &st) == 0) {
      mode = (int)(st.st_mode & 07777);
    } else {
      mode_t mask = umask(0);
      umask(mask);
      mode = (int)(0666 & ~mask);
    }
  }
  if (snprintf(tmp, sizeof tmp, "%s.tmp.XXXXXX", path) >= (int)sizeof tmp)
    return dl_sys_fail(err, "cannot write", path, ENAMETOOLONG);
  /* mkstemp creates it 0600, so nothing is readable before the chmod. */
  int fd = mkostemp(tmp, O_CLOEXEC);
  if (fd < 0)
    return dl_sys_fail(err, "cannot write", path, errno);
  const char *step = "cannot write";
  if (write_all(fd, data, len) != 0)
    goto fail;
  step = "cannot sync";
  if (fsync(fd) != 0)
    goto fail;
  step = "cannot set the mode of";
  if (fchmod(fd, (mode_t)mode) != 0)
    goto fail;
  step = "cannot write";
  if (close(fd) != 0) {
    fd = -1;
    goto fail;
  }
  fd = -1;
  step = "cannot rename into";
  if (rename(tmp, path) != 0)
    goto fail;
  return sync_dir_of(path, err);
fail : {
  int e = errno;
  if (fd >= 0)
    close(fd);
  unlink(tmp);
  return dl_sys_fail(err, step, path, e);
}
}

int dl_sys_mkdir_p(const char *path, int mode, char *err) {
  char buf[PATH_MAX];
  size_t len = strlen(path);
  if (len == 0)
    return dl_sys_fail(err, "cannot create directory", path, ENOENT);
  if (len >= sizeof buf)
    return dl_sys_fail(err, "cannot create directory", path, ENAMETOOLONG);
  memcpy(buf, path, len + 1);
  struct stat st;
  for (char *p = buf + 1;; p++) {
    if (*p != '/' && *p != '\0')
      continue;
    char c = *p;
    *p = '\0';
    if (mkdir(buf, (mode_t)mode) != 0) {
      int e = errno;
      if (e != EEXIST || stat(buf, &st) != 0)
        return dl_sys_fail(err, "cannot create directory", buf, e);
      if (!S_ISDIR(st.st_mode))
        return dl_sys_fail(err, "cannot create directory", buf, ENOTDIR);
    }
    *p = c;
    if (c == '\0')
      break;
    while (p[1] == '/')
      p++;
    if (p[1] == '\0')
      break;
  }
  return 0;
}

int dl_sys_chmod(const char *path, int mode, char *err) {
  if (chmod(path, (mode_t)mode) != 0)
    return dl_sys_fail(err, "cannot set the mode of", path, errno);
  return 0;
}

int dl_sys_chown(const char *path, uid_t uid, gid_t gid, char *err) {
  if (chown(path, uid, gid) != 0)
    return dl_sys_fail(err, "cannot set the owner of", path, errno);
  return 0;
}

int dl_sys_writer_open(struct dl_sys_writer *w, const char *path, int mode,
                       char *err) {
  w->fd = -1;
  w->state = DL_SYS_WRITER_ABORTED;
  w->tmp[0] = '\0';
  size_t len = strlen(path);
  if (len >= sizeof w->path) {
    memcpy(w->path, path, sizeof w->path - 1);
    w->path[sizeof w->path - 1] = '\0';
    return dl_sys_fail(err, "cannot write", path, ENAMETOOLONG);
  }
  memcpy(w->path, path, len + 1);
  if (len == 0)
    return dl_sys_fail(err, "cannot write", path, ENOENT);
  if (path[len - 1] == '/')
    return dl_sys_fail(err, "cannot write", path, EISDIR);
  const char *slash = strrchr(path, '/');
  const char *base = slash ? slash + 1 : path;
  int dlen = slash ? (int)(slash - path) : 0;
  int n = snprintf(w->tmp, sizeof w->tmp, "%.*s%s.%s.%ld.partial", dlen, path,
                   slash ? "/" : "", base, (long)getpid());
  if (n < 0 || n >= (int)sizeof w->tmp)
    return dl_sys_fail(err, "cannot write", path, ENAMETOOLONG);
  struct stat st;
  if (lstat(path, &st) == 0 && !S_ISREG(st.st_mode))
    return not_regular(err, path, &st);
  int flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
  int fd = open(w->tmp, flags, (mode_t)mode);
  if (fd < 0 && errno == EEXIST) {
    /* left by an earlier process with our pid, killed mid-write */
    unlink(w->tmp);
    fd = open(w->tmp, flags, (mode_t)mode);
  }
  if (fd < 0)
    return dl_sys_fail(err, "cannot write", path, errno);
  /* The umask may have narrowed the mode; the caller's mode is the one. */
  if (fchmod(fd, (mode_t)mode) != 0) {
    int e = errno;
    close(fd);
    unlink(w->tmp);
    return dl_sys_fail(err, "cannot set the mode of", path, e);
  }
  w->fd = fd;
  w->state = DL_SYS_WRITER_OPEN;
  return 0;
}

static int writer_closed(struct dl_sys_writer *w, char *err) {
  return dl_sys_error(err, "cannot write '%s': already %s", w->path,
                      w->state == DL_SYS_WRITER_COMMITTED ? "committed"
                                                          : "aborted");
}

int dl_sys_writer_write(struct dl_sys_writer *w, const void *data, size_t len,
                        char *err) {
  if (w->state != DL_SYS_WRITER_OPEN)
    return writer_closed(w, err);
  if (write_all(w->fd, data, len) != 0)
    return dl_sys_fail(err, "cannot write", w->path, errno);
  return 0;
}

int dl_sys_writer_commit(struct dl_sys_writer *w, char *err) {
  if (w->state != DL_SYS_WRITER_OPEN)
    return writer_closed(w, err);
  const char *step = "cannot sync";
  if (fsync(w->fd) != 0)
    goto fail;
  step = "cannot write";
  int rc = close(w->fd);
  w->fd = -1;
  if (rc != 0)
    goto fail;
  step = "cannot rename into";
  if (rename(w->tmp, w->path) != 0)
    goto fail;
  w->state = DL_SYS_WRITER_COMMITTED;
  return sync_dir_of(w->path, err);
fail : {
  int e = errno;
  dl_sys_writer_abort(w);
  return dl_sys_fail(err, step, w->path, e);
}
}

void dl_sys_writer_abort(struct dl_sys_writer *w) {
  if (w->state != DL_SYS_WRITER_OPEN)
    return;
  if (w->fd >= 0)
    close(w->fd);
  w->fd = -1;
  unlink(w->tmp);
  w->state = DL_SYS_WRITER_ABORTED;
}

static void read_holder(int fd, struct dl_sys_holder *h) {
  char buf[128];
  h->pid = 0;
  h->since = 0;
  ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
  if (n <= 0)
    return;
  buf[n] = '\0';
  if (sscanf(buf, "pid %ld since %lf", &h->pid, &h->since) < 1)
    h->pid = 0;
}

int dl_sys_lock(const char *path, struct dl_sys_holder *holder, char *err) {
  int fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0)
    return dl_sys_fail(err, "cannot open lock", path, errno);
  return dl_sys_lock_fd(fd, path, holder, err);
}

int dl_sys_lock_fd(int fd, const char *path, struct dl_sys_holder *holder,
                   char *err) {
  /* flock belongs to the open file, so the kernel drops it when the holder
   * dies; the content only names the holder for the message. */
  while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int e = errno;
    if (e == EINTR)
      continue;
    if (e == EWOULDBLOCK) {
      read_holder(fd, holder);
      close(fd);
      dl_sys_error(err, "'%s' is locked", path);
      return -2;
    }
    close(fd);
    return dl_sys_fail(err, "cannot lock", path, e);
  }
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  char buf[128];
  int n = snprintf(buf, sizeof buf, "pid %ld since %.3f\n", (long)getpid(),
                   (double)ts.tv_sec + (double)ts.tv_nsec / 1e9);
  if (ftruncate(fd, 0) != 0 || pwrite(fd, buf, (size_t)n, 0) != n) {
    int e = errno;
    close(fd);
    return dl_sys_fail(err, "cannot write lock", path, e);
  }
  return fd;
}

void dl_sys_unlock(int fd) {
  /* Emptied first: a reader never sees a released lock naming us. */
  if (ftruncate(fd, 0) != 0) {
    /* the holder line stays; harmless, the lock is what counts */
  }
  flock(fd, LOCK_UN);
  close(fd);
}
