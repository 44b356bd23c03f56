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
                  const char *prefix, int e, const char *what, char *err) {
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
  return dl_sys_fail(err, what, path, e);
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

int dl_sys_root_open(const char *root, char *err) {
  int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return dl_sys_fail(err, "cannot open directory", root, errno);
  return fd;
}

/* The one walk below a root: every directory component of rel is opened with
 * O_NOFOLLOW | O_DIRECTORY relative to the one before, so neither a link that
 * was there nor one made a moment ago (an archive being unpacked) leads out. */
int dl_sys_walk(int rootfd, const char *root, const char *rel, int dirmode,
                const char **base, char *err) {
  char buf[PATH_MAX];
  if (check_rel(rel, buf, err) != 0) {
    errno = EINVAL;
    return -1;
  }
  int fd = fcntl(rootfd, F_DUPFD_CLOEXEC, 0);
  if (fd < 0)
    return dl_sys_fail(err, "cannot open directory", root, errno);
  char *p = buf;
  for (char *s = strchr(p, '/'); s; p = s + 1, s = strchr(p, '/')) {
    *s = '\0';
    int next = openat(fd, p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (next < 0 && errno == ENOENT && dirmode >= 0) {
      if (mkdirat(fd, p, (mode_t)dirmode) != 0 && errno != EEXIST) {
        int e = errno;
        refuse(fd, p, root, buf, e, "cannot open", err);
        close(fd);
        errno = e;
        return -1;
      }
      next = openat(fd, p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    }
    if (next < 0) {
      int e = errno;
      refuse(fd, p, root, buf, e, "cannot open", err);
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

int dl_sys_parent_at(const char *root, const char *rel, int dirmode,
                     const char **base, char *err) {
  int rootfd = dl_sys_root_open(root, err);
  if (rootfd < 0)
    return -1;
  int fd = dl_sys_walk(rootfd, root, rel, dirmode, base, err);
  int e = errno;
  close(rootfd);
  errno = e;
  return fd;
}

/* The last step: openat(flags | O_NOFOLLOW) of base in dfd, and what is
 * there must be a regular file.  Closes dfd. */
static int open_final(int dfd, const char *base, const char *root,
                      const char *rel, int flags, int mode, char *err) {
  /* O_NONBLOCK: opening a FIFO must not wait for a writer. */
  int fd = openat(dfd, base, flags | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK,
                  (mode_t)mode);
  if (fd < 0) {
    int e = errno;
    refuse(dfd, base, root, rel, e, "cannot open", err);
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

int dl_sys_open_at(const char *root, const char *rel, int flags, int mode,
                   int dirmode, char *err) {
  const char *base;
  int dfd = dl_sys_parent_at(root, rel, dirmode, &base, err);
  if (dfd < 0)
    return -1;
  return open_final(dfd, base, root, rel, flags, mode, err);
}

int dl_sys_opendir_at(const char *root, const char *rel, char *err) {
  const char *base;
  int dfd = dl_sys_parent_at(root, rel, -1, &base, err);
  if (dfd < 0)
    return -1;
  int fd = openat(dfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    refuse(dfd, base, root, rel, e, "cannot list", err);
    errno = e;
  }
  close(dfd);
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

int dl_sys_write_all(int fd, const void *data, size_t len) {
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
  if (dl_sys_write_all(fd, data, len) != 0)
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

/* True when fd (a regular file) is what writing data anew at target would
 * make: one name, this user's, the group and mode a new file in target's
 * directory gets, and exactly data in it. */
static int same_as_new(int fd, const void *data, size_t len,
                       const char *target) {
  struct stat st, dst;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_nlink != 1 ||
      st.st_uid != geteuid() || st.st_size < 0 || (size_t)st.st_size != len)
    return 0;
  mode_t mask = umask(0);
  umask(mask);
  if ((st.st_mode & 07777) != (0666 & ~mask))
    return 0;
  char dir[PATH_MAX] = ".";
  const char *slash = strrchr(target, '/');
  if (slash) {
    size_t n = slash == target ? 1 : (size_t)(slash - target);
    if (n >= sizeof dir)
      return 0;
    memcpy(dir, target, n);
    dir[n] = '\0';
  }
  if (stat(dir, &dst) != 0)
    return 0;
  if (st.st_gid != ((dst.st_mode & S_ISGID) ? dst.st_gid : getegid()))
    return 0;
  const char *want = data;
  size_t off = 0;
  char buf[16384];
  for (;;) {
    ssize_t r = read(fd, buf, sizeof buf);
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0 || (size_t)r > len - off ||
        (r > 0 && memcmp(buf, want + off, (size_t)r) != 0))
      return 0;
    if (r == 0)
      return off == len;
    off += (size_t)r;
  }
}

int dl_sys_link_same_at(const char *root, const char *rel, const void *data,
                        size_t len, const char *target) {
  char err[DL_SYS_ERRLEN];
  int fd = dl_sys_open_at(root, rel, O_RDONLY, 0, -1, err);
  if (fd < 0)
    return 0;
  int linked = 0;
  if (same_as_new(fd, data, len, target)) {
    /* the very file checked, through its descriptor: whatever is at rel by
     * now is not looked at again */
    char self[64];
    snprintf(self, sizeof self, "/proc/self/fd/%d", fd);
    linked = linkat(AT_FDCWD, self, AT_FDCWD, target, AT_SYMLINK_FOLLOW) == 0;
  }
  close(fd);
  return linked;
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

/* ---- writing below an open root (unpacking someone else's archive) ---- */

/* Puts "what 'root/rel': " before the message in err. */
static int within(char *err, const char *what, const char *root,
                  const char *rel) {
  char path[PATH_MAX], why[DL_SYS_ERRLEN];
  shown(path, root, rel);
  snprintf(why, sizeof why, "%s", err);
  return dl_sys_error(err, "%s '%s': %s", what, path, why);
}

/* Removes a non-directory at dfd/base so a new entry takes its place: a link
 * there is replaced, never written through. */
static void clear_leaf(int dfd, const char *base) {
  struct stat st;
  if (fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISDIR(st.st_mode))
    unlinkat(dfd, base, 0);
}

/* Closes dfd; -1 with "what 'root/rel': why" when rc is not 0. */
static int done(int dfd, int rc, const char *what, const char *root,
                const char *rel, char *err) {
  int e = errno;
  close(dfd);
  if (rc == 0)
    return 0;
  char path[PATH_MAX];
  shown(path, root, rel);
  return dl_sys_fail(err, what, path, e);
}

int dl_sys_mkdir_in(int rootfd, const char *root, const char *rel, int mode,
                    char *err) {
  const char *base;
  int dfd = dl_sys_walk(rootfd, root, rel, -1, &base, err);
  if (dfd < 0)
    return within(err, "cannot make directory", root, rel);
  int rc = mkdirat(dfd, base, (mode_t)mode);
  if (rc != 0 && errno == EEXIST) {
    struct stat st;
    if (fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
        S_ISDIR(st.st_mode))
      rc = 0;
    errno = EEXIST;
  } else if (rc == 0) {
    int d = openat(dfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (d >= 0) { /* the mode as asked, whatever the umask */
      fchmod(d, (mode_t)mode);
      close(d);
    }
  }
  return done(dfd, rc, "cannot make directory", root, rel, err);
}

int dl_sys_create_in(int rootfd, const char *root, const char *rel, int mode,
                     char *err) {
  const char *base;
  int dfd = dl_sys_walk(rootfd, root, rel, -1, &base, err);
  if (dfd < 0)
    return within(err, "cannot create", root, rel);
  clear_leaf(dfd, base);
  int fd =
      open_final(dfd, base, root, rel, O_WRONLY | O_CREAT | O_EXCL, mode, err);
  if (fd < 0)
    return within(err, "cannot create", root, rel);
  fchmod(fd, (mode_t)mode); /* the mode as asked, whatever the umask */
  return fd;
}

int dl_sys_symlink_in(int rootfd, const char *root, const char *rel,
                      const char *target, char *err) {
  const char *base;
  int dfd = dl_sys_walk(rootfd, root, rel, -1, &base, err);
  if (dfd < 0)
    return within(err, "cannot make link", root, rel);
  clear_leaf(dfd, base);
  int rc = symlinkat(target, dfd, base);
  return done(dfd, rc, "cannot make link", root, rel, err);
}

int dl_sys_link_in(int rootfd, const char *root, const char *rel,
                   const char *existing, char *err) {
  const char *obase, *base;
  int odfd = dl_sys_walk(rootfd, root, existing, -1, &obase, err);
  if (odfd < 0)
    return within(err, "cannot link", root, rel);
  int dfd = dl_sys_walk(rootfd, root, rel, -1, &base, err);
  if (dfd < 0) {
    close(odfd);
    return within(err, "cannot link", root, rel);
  }
  clear_leaf(dfd, base);
  int rc = linkat(odfd, obase, dfd, base, 0); /* 0: a link is not followed */
  int e = errno;
  close(odfd);
  errno = e;
  return done(dfd, rc, "cannot link", root, rel, err);
}
