/* C tests of the walk below a root (src/sys_at.c), on its own: run by
 * `make ctest`; prints `ok N` / `not ok N` and a final `N passed, N failed`;
 * exits non-zero on any failure.  Both sys.at(root) and deloc.native.fsat go
 * through dl_sys_walk, so what it refuses here no binding can let through. */
#include "../../src/sys.h"
#include "check.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char root[64], outside[64];

static void path(char *out, const char *dir, const char *rel) {
  snprintf(out, PATH_MAX, "%s/%s", dir, rel);
}

static int exists(const char *dir, const char *rel) {
  char p[PATH_MAX];
  struct stat st;
  path(p, dir, rel);
  return lstat(p, &st) == 0;
}

static void test_walk(int rfd) {
  char err[DL_SYS_ERRLEN];
  const char *base;
  int fd = dl_sys_walk(rfd, root, "a/b/c.txt", -1, &base, err);
  check(fd >= 0 && strcmp(base, "c.txt") == 0,
        "walks to the parent of a/b/c.txt");
  if (fd >= 0)
    close(fd);
  static const char *const bad[] = {"",     "/etc/passwd", "../x", "a/../x",
                                    "a//b", "./a",         "a/.",  "a/b/"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    errno = 0;
    fd = dl_sys_walk(rfd, root, bad[i], 0755, &base, err);
    char what[128];
    snprintf(what, sizeof what, "refuses '%s'", bad[i]);
    check(fd < 0 && errno == EINVAL && strstr(err, "not a path inside"), what);
  }
  fd = dl_sys_walk(rfd, root, "out/x", 0755, &base, err);
  check(fd < 0 && strstr(err, "/out' is a symbolic link") != NULL,
        "does not follow a link on the way, even when asked to create dirs");
  check(!exists(outside, "x"), "nothing is made outside");
  fd = dl_sys_walk(rfd, root, "new/deep/f", 0700, &base, err);
  check(fd >= 0 && exists(root, "new/deep"), "creates missing directories");
  if (fd >= 0)
    close(fd);
  check(fcntl(rfd, F_GETFD) >= 0, "leaves the root fd open");
}

static void test_in(int rfd) {
  char err[DL_SYS_ERRLEN];
  check(dl_sys_mkdir_in(rfd, root, "d", 0750, err) == 0 &&
            dl_sys_mkdir_in(rfd, root, "d", 0750, err) == 0,
        "mkdir: an existing directory is fine");
  int fd = dl_sys_create_in(rfd, root, "a/b/link", 0640, err);
  check(fd >= 0, "create replaces a link instead of writing through it");
  if (fd >= 0) {
    check(dl_sys_write_all(fd, "hi", 2) == 0, "writes all");
    close(fd);
  }
  char p[PATH_MAX];
  struct stat st;
  path(p, outside, "victim");
  check(stat(p, &st) == 0 && st.st_size == 8, "the link's target is untouched");
  fd = dl_sys_create_in(rfd, root, "out/y", 0644, err);
  check(fd < 0 && strncmp(err, "cannot create '", 15) == 0 &&
            strstr(err, "is a symbolic link"),
        "create through a link names what failed and the link");
  check(dl_sys_symlink_in(rfd, root, "d/s", "/etc", err) == 0 &&
            dl_sys_create_in(rfd, root, "d/s/passwd", 0644, err) < 0,
        "a link made a moment ago is not followed either");
  check(dl_sys_link_in(rfd, root, "d/h", "out/victim", err) < 0 &&
            !exists(root, "d/h"),
        "link: the existing path is walked too");
  check(dl_sys_link_in(rfd, root, "d/h", "a/b/c.txt", err) == 0,
        "link inside the root");
}

static int rm_one(const char *p, const struct stat *st, int flag,
                  struct FTW *ftw) {
  (void)st, (void)flag, (void)ftw;
  return remove(p);
}

int main(void) {
  snprintf(root, sizeof root, "/tmp/deloc-sys-at-XXXXXX");
  snprintf(outside, sizeof outside, "/tmp/deloc-sys-at-out-XXXXXX");
  if (!mkdtemp(root) || !mkdtemp(outside))
    return perror("mkdtemp"), 1;
  char p[PATH_MAX], t[PATH_MAX];
  path(p, root, "a");
  mkdir(p, 0755);
  path(p, root, "a/b");
  mkdir(p, 0755);
  path(p, root, "a/b/c.txt");
  close(open(p, O_WRONLY | O_CREAT, 0644));
  path(t, outside, "victim");
  int v = open(t, O_WRONLY | O_CREAT, 0644);
  if (v >= 0 && write(v, "original", 8) != 8)
    perror("write");
  close(v);
  path(p, root, "a/b/link");
  if (symlink(t, p) != 0)
    perror("symlink");
  path(p, root, "out");
  if (symlink(outside, p) != 0)
    perror("symlink");

  char err[DL_SYS_ERRLEN];
  int rfd = dl_sys_root_open(root, err);
  check(rfd >= 0, "opens the root");
  if (rfd >= 0) {
    test_walk(rfd);
    test_in(rfd);
    close(rfd);
  }
  if (nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS) != 0 ||
      nftw(outside, rm_one, 16, FTW_DEPTH | FTW_PHYS) != 0)
    perror("cleanup");
  return done();
}
