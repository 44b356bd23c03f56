/* Files below a project directory, reached without following symbolic links:
 * every directory on the way is opened with O_NOFOLLOW relative to the one
 * before (openat), the last component too, and what is found is checked with
 * fstat.  A project is someone else's repository: a link it commits under
 * .deloc/ must not make deloc write, truncate, chmod or chown a file
 * elsewhere. */
#include "sys.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* root/rel for messages. */
static void shown(char *out, const char *root, const char *rel) {
  if (strcmp(root, ".") == 0)
    snprintf(out, PATH_MAX, "%s", rel);
  else
    snprintf(out, PATH_MAX, "%s%s%s", root,
             root[0] && root[strlen(root) - 1] == '/' ? "" : "/", rel);
}

/* The message for a component that could not be opened: a link, something
 * that is not a directory or file, or errno. */
static int refuse(int dfd, const char *name, const char *root,
                  const char *prefix, int e, char *err) {
  char path[PATH_MAX];
  shown(path, root, prefix);
  struct stat st;
  if ((e == ELOOP || e == ENOTDIR || e == ENXIO || e == EWOULDBLOCK) &&
      fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
    if (S_ISLNK(st.st_mode))
      return dl_sys_error(err,
                          "'%s' is a symbolic link: deloc does not follow links"
                          " inside a project (remove it)",
                          path);
    return dl_sys_error(err, "'%s' is not a %s", path,
                        e == ENOTDIR ? "directory" : "regular file");
  }
  return dl_sys_fail(err, "cannot open", path, e);
}

/* Checks rel: relative, no empty, "." or ".." component; copies it to buf. */
static int check_rel(const char *rel, char *buf, char *err) {
  size_t len = strlen(rel);
  if (len == 0 || len >= PATH_MAX || rel[0] == '/')
    return dl_sys_error(err, "'%s' is not a path inside the project", rel);
  memcpy(buf, rel, len + 1);
  for (char *p = buf, *s; p; p = s ? s + 1 : NULL) {
    s = strchr(p, '/');
    size_t n = s ? (size_t)(s - p) : strlen(p);
    if (n == 0 || (n == 1 && p[0] == '.') ||
        (n == 2 && p[0] == '.' && p[1] == '.'))
      return dl_sys_error(err, "'%s' is not a path inside the project", rel);
  }
  return 0;
}

int dl_sys_parent_at(const char *root, const char *rel, int dirmode,
                     const char **base, char *err) {
  char buf[PATH_MAX];
  if (check_rel(rel, buf, err) != 0)
    return -1;
  int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return dl_sys_fail(err, "cannot open directory", root, errno);
  char *p = buf;
  for (char *s = strchr(p, '/'); s; p = s + 1, s = strchr(p, '/')) {
    *s = '\0';
    int next = openat(fd, p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (next < 0 && errno == ENOENT && dirmode >= 0) {
      if (mkdirat(fd, p, (mode_t)dirmode) != 0 && errno != EEXIST) {
        int e = errno;
        refuse(fd, p, root, buf, e, err);
        close(fd);
        errno = e;
        return -1;
      }
      next = openat(fd, p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    }
    if (next < 0) {
      int e = errno;
      refuse(fd, p, root, buf, e, err);
      close(fd);
      errno = e;
      return -1;
    }
    close(fd);
    fd = next;
    *s = '/';
  }
  *base = rel + (p - buf);
  return fd;
}

int dl_sys_open_at(const char *root, const char *rel, int flags, int mode,
                   int dirmode, char *err) {
  const char *base;
  int dfd = dl_sys_parent_at(root, rel, dirmode, &base, err);
  if (dfd < 0)
    return -1;
  /* O_NONBLOCK: opening a FIFO must not wait for a writer. */
  int fd = openat(dfd, base, flags | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK,
                  (mode_t)mode);
  if (fd < 0) {
    int e = errno;
    refuse(dfd, base, root, rel, e, err);
    close(dfd);
    errno = e;
    return -1;
  }
  close(dfd);
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    char path[PATH_MAX];
    shown(path, root, rel);
    close(fd);
    errno = EINVAL;
    return dl_sys_error(err, "'%s' is not a regular file", path);
  }
  int fl = fcntl(fd, F_GETFL);
  if (fl >= 0)
    fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
  return fd;
}

int dl_sys_kind_at(const char *root, const char *rel, char *err) {
  const char *base;
  int dfd = dl_sys_parent_at(root, rel, -1, &base, err);
  if (dfd < 0)
    return errno == ENOENT ? DL_SYS_MISSING : -1;
  struct stat st;
  int rc = fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW);
  int e = errno;
  close(dfd);
  if (rc != 0) {
    if (e == ENOENT)
      return DL_SYS_MISSING;
    char path[PATH_MAX];
    shown(path, root, rel);
    return dl_sys_fail(err, "cannot stat", path, e);
  }
  if (S_ISREG(st.st_mode))
    return DL_SYS_FILE;
  if (S_ISDIR(st.st_mode))
    return DL_SYS_DIR;
  if (S_ISLNK(st.st_mode))
    return DL_SYS_LINK;
  return DL_SYS_OTHER;
}

static int write_all(int fd, const char *p, size_t len) {
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

/* Refuses to replace something that is not a regular file (a link, a
 * directory, a device): renaming over it would hide what the project put
 * there, and the caller's next open of it must not surprise. */
static int replaceable(int dfd, const char *base, const char *path, char *err) {
  struct stat st;
  if (fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) != 0)
    return errno == ENOENT ? 0 : dl_sys_fail(err, "cannot stat", path, errno);
  if (S_ISLNK(st.st_mode))
    return dl_sys_error(err,
                        "'%s' is a symbolic link: deloc does not follow links"
                        " inside a project (remove it)",
                        path);
  if (!S_ISREG(st.st_mode))
    return dl_sys_error(err, "'%s' is not a regular file", path);
  return 0;
}

int dl_sys_write_at(const char *root, const char *rel, const void *data,
                    size_t len, int mode, int dirmode, char *err) {
  char path[PATH_MAX], tmp[NAME_MAX + 1];
  shown(path, root, rel);
  const char *base;
  int dfd = dl_sys_parent_at(root, rel, dirmode, &base, err);
  if (dfd < 0)
    return -1;
  if (replaceable(dfd, base, path, err) != 0) {
    close(dfd);
    return -1;
  }
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  if (snprintf(tmp, sizeof tmp, ".%.200s.%ld.%09ld.tmp", base, (long)getpid(),
               (long)ts.tv_nsec) >= (int)sizeof tmp) {
    close(dfd);
    return dl_sys_fail(err, "cannot write", path, ENAMETOOLONG);
  }
  int fd = openat(dfd, tmp,
                  O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) {
    int e = errno;
    close(dfd);
    return dl_sys_fail(err, "cannot write", path, e);
  }
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
  int rc = close(fd);
  fd = -1;
  if (rc != 0)
    goto fail;
  step = "cannot rename into";
  if (renameat(dfd, tmp, dfd, base) != 0)
    goto fail;
  if (fsync(dfd) != 0 && errno != EINVAL) {
    /* the data is in place; a lost directory entry on power loss is the
     * worst case, and the old file is kept then */
  }
  close(dfd);
  return 0;
fail : {
  int e = errno;
  if (fd >= 0)
    close(fd);
  unlinkat(dfd, tmp, 0);
  close(dfd);
  return dl_sys_fail(err, step, path, e);
}
}

/* Opens rel for a change of its metadata: a regular file with one name. */
static int open_single(const char *root, const char *rel, char *err) {
  int fd = dl_sys_open_at(root, rel, O_RDONLY, 0, -1, err);
  if (fd < 0)
    return -1;
  struct stat st;
  if (fstat(fd, &st) == 0 && st.st_nlink != 1) {
    char path[PATH_MAX];
    shown(path, root, rel);
    close(fd);
    return dl_sys_error(err,
                        "'%s' has %lu hard links: deloc changes the owner or "
                        "mode only of a file it alone names",
                        path, (unsigned long)st.st_nlink);
  }
  return fd;
}

int dl_sys_chmod_at(const char *root, const char *rel, int mode, char *err) {
  int fd = open_single(root, rel, err);
  if (fd < 0)
    return -1;
  int rc = fchmod(fd, (mode_t)mode);
  int e = errno;
  close(fd);
  if (rc != 0) {
    char path[PATH_MAX];
    shown(path, root, rel);
    return dl_sys_fail(err, "cannot set the mode of", path, e);
  }
  return 0;
}

int dl_sys_chown_at(const char *root, const char *rel, uid_t uid, gid_t gid,
                    char *err) {
  int fd = open_single(root, rel, err);
  if (fd < 0)
    return -1;
  int rc = fchown(fd, uid, gid);
  int e = errno;
  close(fd);
  if (rc != 0) {
    char path[PATH_MAX];
    shown(path, root, rel);
    return dl_sys_fail(err, "cannot set the owner of", path, e);
  }
  return 0;
}

int dl_sys_rename_at(const char *root, const char *from, const char *to,
                     char *err) {
  const char *fb, *tb;
  int fd = dl_sys_parent_at(root, from, -1, &fb, err);
  if (fd < 0)
    return -1;
  int td = dl_sys_parent_at(root, to, -1, &tb, err);
  if (td < 0) {
    close(fd);
    return -1;
  }
  char path[PATH_MAX];
  shown(path, root, to);
  int rc = replaceable(td, tb, path, err);
  if (rc == 0 && renameat(fd, fb, td, tb) != 0) {
    shown(path, root, from);
    rc = dl_sys_fail(err, "cannot rename", path, errno);
  }
  close(fd);
  close(td);
  return rc;
}

int dl_sys_remove_at(const char *root, const char *rel, char *err) {
  const char *base;
  int dfd = dl_sys_parent_at(root, rel, -1, &base, err);
  if (dfd < 0)
    return errno == ENOENT ? 0 : -1;
  int rc = 0;
  if (unlinkat(dfd, base, 0) != 0 && errno != ENOENT) {
    char path[PATH_MAX];
    shown(path, root, rel);
    rc = dl_sys_fail(err, "cannot remove", path, errno);
  }
  close(dfd);
  return rc;
}

int dl_sys_lock_at(const char *root, const char *rel, int dirmode,
                   struct dl_sys_holder *holder, char *err) {
  char path[PATH_MAX];
  shown(path, root, rel);
  int fd = dl_sys_open_at(root, rel, O_RDWR | O_CREAT, 0644, dirmode, err);
  if (fd < 0)
    return -1;
  return dl_sys_lock_fd(fd, path, holder, err);
}
