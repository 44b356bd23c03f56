/* cgroup v1 and v2 memory and CPU limits of the current process: a
 * container's real budget, which /proc/meminfo and the CPU count do not show.
 *
 * /proc/self/cgroup names the process's cgroup per hierarchy, mountinfo says
 * where each hierarchy is mounted; the limit files sit in that directory and
 * its ancestors up to the mount point, and the smallest limit among them is
 * the one that binds. */
#include "sys.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* v1 reports "no limit" as a page-rounded LONG_MAX; anything from 1 EiB up
 * is no limit in practice. */
#define V1_UNLIMITED (1ULL << 60)

struct hierarchy {
  int found;
  char path[PATH_MAX]; /* cgroup path from /proc/self/cgroup */
};

struct mount {
  int found;
  char root[PATH_MAX];  /* the cgroup path mounted there */
  char point[PATH_MAX]; /* where */
};

struct cgroup_view {
  struct hierarchy v2, v1_memory, v1_cpu;
  struct mount m2, m1_memory, m1_cpu;
};

/* Is tok one of the comma-separated items in list? */
static int has_item(const char *list, const char *tok) {
  size_t n = strlen(tok);
  for (const char *p = list; p && *p;) {
    const char *end = strchr(p, ',');
    size_t len = end ? (size_t)(end - p) : strlen(p);
    if (len == n && strncmp(p, tok, n) == 0)
      return 1;
    p = end ? end + 1 : NULL;
  }
  return 0;
}

static void copy(char *dst, const char *src, size_t len) {
  if (len >= PATH_MAX)
    len = PATH_MAX - 1;
  memcpy(dst, src, len);
  dst[len] = '\0';
}

static int read_self_cgroup(const char *root, struct cgroup_view *v,
                            char *err) {
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s/proc/self/cgroup", root);
  FILE *f = fopen(path, "re");
  if (f == NULL) {
    dl_sys_fail(err, "cannot read", path, errno);
    return -1;
  }
  char *line = NULL;
  size_t cap = 0;
  ssize_t n;
  while ((n = getline(&line, &cap, f)) > 0) {
    line[strcspn(line, "\n")] = '\0';
    char *c1 = strchr(line, ':');
    char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    if (c2 == NULL)
      continue;
    *c1 = *c2 = '\0';
    const char *ctrls = c1 + 1, *cg = c2 + 1;
    if (strcmp(line, "0") == 0 && *ctrls == '\0') {
      v->v2.found = 1;
      copy(v->v2.path, cg, strlen(cg));
    }
    if (has_item(ctrls, "memory")) {
      v->v1_memory.found = 1;
      copy(v->v1_memory.path, cg, strlen(cg));
    }
    if (has_item(ctrls, "cpu")) {
      v->v1_cpu.found = 1;
      copy(v->v1_cpu.path, cg, strlen(cg));
    }
  }
  free(line);
  fclose(f);
  return 0;
}

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void unescape(char *s) {
  char *w = s;
  for (char *r = s; *r;) {
    if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' &&
        r[2] <= '7' && r[3] >= '0' && r[3] <= '7') {
      *w++ = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
      r += 4;
    } else {
      *w++ = *r++;
    }
  }
  *w = '\0';
}

static void set_mount(struct mount *m, const char *root, const char *point) {
  if (m->found)
    return;
  m->found = 1;
  copy(m->root, root, strlen(root));
  copy(m->point, point, strlen(point));
  unescape(m->root);
  unescape(m->point);
}

/* Missing mountinfo is not an error: there is simply no cgroup to read. */
static void read_mountinfo(const char *root, struct cgroup_view *v) {
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s/proc/self/mountinfo", root);
  FILE *f = fopen(path, "re");
  if (f == NULL)
    return;
  char *line = NULL;
  size_t cap = 0;
  while (getline(&line, &cap, f) > 0) {
    line[strcspn(line, "\n")] = '\0';
    /* id parent major:minor root point options [optional...] - type src sopts
     */
    char *fields[8] = {0};
    int nf = 0;
    char *save = NULL;
    for (char *t = strtok_r(line, " ", &save); t && nf < 5;
         t = strtok_r(NULL, " ", &save))
      fields[nf++] = t;
    if (nf < 5)
      continue;
    char *t;
    while ((t = strtok_r(NULL, " ", &save)) && strcmp(t, "-") != 0)
      ;
    if (t == NULL)
      continue;
    char *type = strtok_r(NULL, " ", &save);
    char *src = strtok_r(NULL, " ", &save);
    char *sopts = strtok_r(NULL, " ", &save);
    if (type == NULL || src == NULL)
      continue;
    if (strcmp(type, "cgroup2") == 0) {
      set_mount(&v->m2, fields[3], fields[4]);
    } else if (strcmp(type, "cgroup") == 0 && sopts) {
      if (has_item(sopts, "memory"))
        set_mount(&v->m1_memory, fields[3], fields[4]);
      if (has_item(sopts, "cpu"))
        set_mount(&v->m1_cpu, fields[3], fields[4]);
    }
  }
  free(line);
  fclose(f);
}

static int is_dir(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* The process's cgroup directory: the mount point plus the cgroup path below
 * the mounted root.  When the path is not below it (another cgroup namespace)
 * or is not there, the mount point itself is the best we can see. */
static void cgroup_dir(const char *root, const struct mount *m,
                       const struct hierarchy *h, char *dir, size_t *base) {
  const char *rel = h->path;
  size_t rlen = strlen(m->root);
  if (strcmp(m->root, "/") != 0) {
    if (strncmp(rel, m->root, rlen) == 0 &&
        (rel[rlen] == '/' || rel[rlen] == '\0'))
      rel += rlen;
    else
      rel = "";
  }
  int n = snprintf(dir, PATH_MAX, "%s%s", root, m->point);
  *base = n > 0 && n < PATH_MAX ? (size_t)n : strlen(dir);
  while (*base > 1 && dir[*base - 1] == '/')
    dir[--*base] = '\0';
  if (*rel && strcmp(rel, "/") != 0) {
    snprintf(dir + *base, PATH_MAX - *base, "%s%s", rel[0] == '/' ? "" : "/",
             rel);
    if (!is_dir(dir))
      dir[*base] = '\0';
  }
  size_t len = strlen(dir);
  while (len > *base && dir[len - 1] == '/')
    dir[--len] = '\0';
}

static int read_line(const char *path, char *buf, size_t cap) {
  FILE *f = fopen(path, "re");
  if (f == NULL)
    return -1;
  char *ok = fgets(buf, (int)cap, f);
  fclose(f);
  if (ok == NULL)
    return -1;
  buf[strcspn(buf, "\n")] = '\0';
  return 0;
}

/* Reads one limit file: 1 and *value for a limit, 0 for none ("max" or v1's
 * huge number), -1 when the file is missing or unreadable. */
typedef int (*limit_reader)(const char *dir, double *value, char *file);

static int v2_memory(const char *dir, double *value, char *file) {
  char buf[128];
  snprintf(file, PATH_MAX, "%s/memory.max", dir);
  if (read_line(file, buf, sizeof buf) != 0)
    return -1;
  if (strcmp(buf, "max") == 0)
    return 0;
  char *end;
  unsigned long long n = strtoull(buf, &end, 10);
  if (end == buf)
    return -1;
  *value = (double)n;
  return 1;
}

static int v2_cpu(const char *dir, double *value, char *file) {
  char buf[128], quota[64];
  unsigned long long period = 0;
  snprintf(file, PATH_MAX, "%s/cpu.max", dir);
  if (read_line(file, buf, sizeof buf) != 0)
    return -1;
  int n = sscanf(buf, "%63s %llu", quota, &period);
  if (n < 1)
    return -1;
  if (strcmp(quota, "max") == 0)
    return 0;
  if (n < 2 || period == 0)
    period = 100000;
  char *end;
  long long q = strtoll(quota, &end, 10);
  if (end == quota || q <= 0)
    return 0;
  *value = (double)q / (double)period;
  return 1;
}

static int v1_memory(const char *dir, double *value, char *file) {
  char buf[128];
  snprintf(file, PATH_MAX, "%s/memory.limit_in_bytes", dir);
  if (read_line(file, buf, sizeof buf) != 0)
    return -1;
  char *end;
  unsigned long long n = strtoull(buf, &end, 10);
  if (end == buf)
    return -1;
  if (n >= V1_UNLIMITED)
    return 0;
  *value = (double)n;
  return 1;
}

static int v1_cpu(const char *dir, double *value, char *file) {
  char buf[128], pfile[PATH_MAX + 32];
  snprintf(file, PATH_MAX, "%s/cpu.cfs_quota_us", dir);
  if (read_line(file, buf, sizeof buf) != 0)
    return -1;
  long long quota = strtoll(buf, NULL, 10);
  if (quota <= 0)
    return 0;
  snprintf(pfile, sizeof pfile, "%s/cpu.cfs_period_us", dir);
  if (read_line(pfile, buf, sizeof buf) != 0)
    return -1;
  long long period = strtoll(buf, NULL, 10);
  if (period <= 0)
    return 0;
  *value = (double)quota / (double)period;
  return 1;
}

/* Walks from dir up to the mount point (dir[0..base)), keeping the smallest
 * limit.  Returns 1 if one was found, 0 if files were read but none limits,
 * -1 if no file was there at all. */
static int walk(char *dir, size_t base, limit_reader read, double *limit,
                char *source) {
  char file[PATH_MAX];
  int result = -1;
  for (;;) {
    double v;
    int r = read(dir, &v, file);
    if (r >= 0 && result < 0) {
      result = 0;
      snprintf(source, PATH_MAX, "%s", file);
    }
    if (r == 1 && (result == 0 || v < *limit)) {
      result = 1;
      *limit = v;
      snprintf(source, PATH_MAX, "%s", file);
    }
    size_t len = strlen(dir);
    if (len <= base)
      break;
    char *slash = strrchr(dir, '/');
    if (slash == NULL || (size_t)(slash - dir) < base)
      break;
    *slash = '\0';
    if (strlen(dir) < base)
      break;
  }
  return result;
}

/* Tries one controller in v1, then v2; returns the version that answered. */
static int controller(const char *root, const struct cgroup_view *v,
                      const struct hierarchy *h1, const struct mount *m1,
                      limit_reader r1, limit_reader r2, int *has, double *limit,
                      char *source, char *dir_out) {
  char dir[PATH_MAX];
  size_t base;
  if (h1->found && m1->found) {
    cgroup_dir(root, m1, h1, dir, &base);
    snprintf(dir_out, PATH_MAX, "%s", dir);
    int r = walk(dir, base, r1, limit, source);
    if (r >= 0) {
      *has = r == 1;
      return 1;
    }
  }
  if (v->v2.found && v->m2.found) {
    cgroup_dir(root, &v->m2, &v->v2, dir, &base);
    snprintf(dir_out, PATH_MAX, "%s", dir);
    int r = walk(dir, base, r2, limit, source);
    if (r >= 0) {
      *has = r == 1;
      return 2;
    }
  }
  dir_out[0] = '\0';
  return 0;
}

int dl_sys_cgroup(const char *root, struct dl_sys_cgroup *out, char *err) {
  struct cgroup_view *v = calloc(1, sizeof *v);
  if (v == NULL) {
    dl_sys_error(err, "cannot read cgroups: out of memory");
    return -1;
  }
  memset(out, 0, sizeof *out);
  if (read_self_cgroup(root, v, err) != 0) {
    free(v);
    return -1;
  }
  read_mountinfo(root, v);
  double mem = 0, cpu = 0;
  char cpu_dir[PATH_MAX];
  int vm =
      controller(root, v, &v->v1_memory, &v->m1_memory, v1_memory, v2_memory,
                 &out->has_memory, &mem, out->memory_source, out->dir);
  int vc = controller(root, v, &v->v1_cpu, &v->m1_cpu, v1_cpu, v2_cpu,
                      &out->has_cpu, &cpu, out->cpu_source, cpu_dir);
  free(v);
  out->memory_limit = (uint64_t)mem;
  out->cpu_limit = cpu;
  out->version = vm ? vm : vc;
  if (!vm)
    snprintf(out->dir, PATH_MAX, "%s", cpu_dir);
  return 0;
}
