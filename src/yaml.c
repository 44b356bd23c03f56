/*
 * deloc.yaml core: libyaml events to a node tree with our limits, and a
 * block-style emitter.  See yaml.h and vendor/libyaml.md.
 */
#ifndef _GNU_SOURCE
#define _POSIX_C_SOURCE 200809L /* newlocale, uselocale */
#endif
#include "yaml.h" /* ours: the build adds src/ with -iquote only */
#include <yaml.h> /* libyaml's */

#include <errno.h>
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TWO_53 9007199254740992.0
#define TAG_PREFIX "tag:yaml.org,2002:"

/* ---- numbers in the C locale ---------------------------------------- */

/* strtod and snprintf follow LC_NUMERIC; a thread-local switch to "C"
 * around each load and number makes "1.5" mean 1.5 under de_DE too. */
typedef struct {
  locale_t c, old;
} c_locale;

static void c_locale_enter(c_locale *cl) {
  cl->c = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
  cl->old = cl->c ? uselocale(cl->c) : (locale_t)0;
}

static void c_locale_leave(c_locale *cl) {
  if (cl->c) {
    uselocale(cl->old);
    freelocale(cl->c);
  }
}

static int is_digit(int c) {
  return c >= '0' && c <= '9';
}

/* One of the three spellings (lower, Capital, UPPER) of a word. */
static int is_word(const char *s, size_t len, const char *a, const char *b,
                   const char *c) {
  size_t n = strlen(a);
  return n == len && (memcmp(s, a, len) == 0 || memcmp(s, b, len) == 0 ||
                      memcmp(s, c, len) == 0);
}

/* [-+]?[0-9]+ | 0o[0-7]+ | 0x[0-9a-fA-F]+.  Returns 1 and sets *out, 0 when
 * not an integer, -1 when an integer a double cannot hold exactly. */
static int parse_int(const char *s, size_t len, double *out) {
  size_t i = 0;
  int neg = 0;
  unsigned base = 10;
  if (len > 2 && s[0] == '0' && (s[1] == 'o' || s[1] == 'x')) {
    base = s[1] == 'o' ? 8 : 16;
    i = 2;
  } else if (len > 1 && (s[0] == '-' || s[0] == '+')) {
    neg = s[0] == '-';
    i = 1;
  }
  if (i >= len)
    return 0;
  uint64_t v = 0;
  int big = 0;
  for (; i < len; i++) {
    int c = (unsigned char)s[i], d;
    if (is_digit(c))
      d = c - '0';
    else if (base == 16 && c >= 'a' && c <= 'f')
      d = c - 'a' + 10;
    else if (base == 16 && c >= 'A' && c <= 'F')
      d = c - 'A' + 10;
    else
      return 0;
    if (d >= (int)base)
      return 0;
    if (v > ((uint64_t)1 << 53))
      big = 1;
    else
      v = v * base + (unsigned)d;
  }
  if (big || v > ((uint64_t)1 << 53))
    return -1;
  *out = neg ? -(double)v : (double)v;
  return 1;
}

/* [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)? and the .inf/.nan
 * spellings.  `s` is NUL-terminated at len. */
static int parse_float(const char *s, size_t len, double *out) {
  size_t i = 0;
  int neg = 0;
  if (len > 0 && (s[0] == '-' || s[0] == '+')) {
    neg = s[0] == '-';
    i = 1;
  }
  if (is_word(s + i, len - i, ".inf", ".Inf", ".INF")) {
    *out = neg ? -HUGE_VAL : HUGE_VAL;
    return 1;
  }
  if (is_word(s, len, ".nan", ".NaN", ".NAN")) {
    *out = NAN;
    return 1;
  }
  size_t digits = 0;
  while (i < len && is_digit(s[i]))
    i++, digits++;
  if (i < len && s[i] == '.') {
    i++;
    while (i < len && is_digit(s[i]))
      i++, digits++;
  }
  if (digits == 0)
    return 0;
  if (i < len && (s[i] == 'e' || s[i] == 'E')) {
    i++;
    if (i < len && (s[i] == '-' || s[i] == '+'))
      i++;
    if (i >= len || !is_digit(s[i]))
      return 0;
    while (i < len && is_digit(s[i]))
      i++;
  }
  if (i != len)
    return 0;
  *out = strtod(s, NULL);
  return 1;
}

static int parse_null(const char *s, size_t len) {
  return len == 0 || (len == 1 && s[0] == '~') ||
         is_word(s, len, "null", "Null", "NULL");
}

static int parse_bool(const char *s, size_t len, int *b) {
  if (is_word(s, len, "true", "True", "TRUE"))
    return *b = 1, 1;
  if (is_word(s, len, "false", "False", "FALSE"))
    return *b = 0, 1;
  return 0;
}

int dl_yaml_resolve_plain(const char *s, size_t len, dl_yaml_node *out) {
  double num;
  int b, r;
  /* most scalars are words: only these first characters can resolve */
  if (len > 0 && !strchr("~nNtTfF0123456789+-.", s[0])) {
    out->type = DL_YAML_STRING;
    return 0;
  }
  if (parse_null(s, len)) {
    out->type = DL_YAML_NULL;
  } else if (parse_bool(s, len, &b)) {
    out->type = DL_YAML_BOOL;
    out->v.boolean = b;
  } else if ((r = parse_int(s, len, &num)) != 0) {
    if (r < 0)
      return -1;
    out->type = DL_YAML_NUMBER;
    out->v.num = num;
  } else if (parse_float(s, len, &num)) {
    out->type = DL_YAML_NUMBER;
    out->v.num = num;
  } else {
    out->type = DL_YAML_STRING;
  }
  return 0;
}

static size_t format_number(double x, char buf[32]) {
  if (isnan(x))
    return (size_t)snprintf(buf, 32, ".nan");
  if (isinf(x))
    return (size_t)snprintf(buf, 32, x < 0 ? "-.inf" : ".inf");
  if (x == floor(x) && fabs(x) <= TWO_53) {
    /* digits by hand: exact, and no locale involved */
    char tmp[24];
    size_t n = 0, k = 0;
    uint64_t v = (uint64_t)fabs(x);
    do
      tmp[n++] = (char)('0' + v % 10);
    while ((v /= 10) != 0);
    if (x < 0)
      buf[k++] = '-';
    while (n > 0)
      buf[k++] = tmp[--n];
    buf[k] = '\0';
    return k;
  }
  int n = 0;
  for (int prec = 15; prec <= 17; prec++) {
    n = snprintf(buf, 32, "%.*g", prec, x);
    if (strtod(buf, NULL) == x)
      break;
  }
  return (size_t)n;
}

size_t dl_yaml_format_number(double x, char buf[32]) {
  c_locale cl;
  c_locale_enter(&cl);
  size_t n = format_number(x, buf);
  c_locale_leave(&cl);
  return n;
}

/* ---- the document ---------------------------------------------------- */

typedef struct {
  uint32_t hash, off, len, node; /* node + 1; 0 marks a free slot */
} anchor_slot;

typedef struct {
  uint32_t cap, used;
  anchor_slot *slots;
} anchor_map;

typedef struct {
  uint32_t stamp; /* map node + 1 */
  uint32_t key;   /* the kid node (not dereferenced) */
  uint32_t hash;
} key_slot;

void dl_yaml_doc_init(dl_yaml_doc *doc) {
  memset(doc, 0, sizeof *doc);
}

void dl_yaml_doc_free(dl_yaml_doc *doc) {
  free(doc->nodes);
  free(doc->kids);
  free(doc->strings);
  free(doc->stack);
  anchor_map *am = doc->anchors;
  if (am)
    free(am->slots);
  free(am);
  free(doc->keyset);
  char err[sizeof doc->err];
  memcpy(err, doc->err, sizeof err);
  dl_yaml_doc_init(doc);
  memcpy(doc->err, err, sizeof err); /* the message outlives the tree */
}

const dl_yaml_node *dl_yaml_deref(const dl_yaml_doc *doc,
                                  const dl_yaml_node *n) {
  return n->type == DL_YAML_ALIAS ? &doc->nodes[n->v.target] : n;
}

static uint32_t hash_bytes(const char *s, size_t len, uint32_t h) {
  for (size_t i = 0; i < len; i++)
    h = (h ^ (unsigned char)s[i]) * 16777619u;
  return h;
}

/* Grows *p (of *cap elements of `size` bytes) to hold `need`. */
static int grow(void **p, uint32_t *cap, size_t need, size_t size) {
  if (need <= *cap)
    return 0;
  if (need > UINT32_MAX / 2)
    return -1;
  size_t n = *cap ? *cap : 64;
  while (n < need)
    n *= 2;
  void *q = realloc(*p, n * size);
  if (!q)
    return -1;
  *p = q;
  *cap = (uint32_t)n;
  return 0;
}

typedef struct {
  dl_yaml_doc *doc;
  const char *name;
  const char *text;
  size_t len;
  dl_yaml_limits lim;
  uint32_t *frames; /* open collections */
  uint32_t nframes, cap_frames;
} loader;

static int fail(loader *ld, size_t line, size_t col, const char *fmt, ...) {
  char msg[400];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  snprintf(ld->doc->err, sizeof ld->doc->err, "%s:%zu:%zu: %s", ld->name, line,
           col, msg);
  return -1;
}

static int fail_mark(loader *ld, yaml_mark_t m, const char *fmt,
                     const char *arg) {
  return fail(ld, m.line + 1, m.column + 1, fmt, arg);
}

static int oom(loader *ld) {
  snprintf(ld->doc->err, sizeof ld->doc->err, "%s: out of memory", ld->name);
  return -1;
}

/* A short, printable rendering of user text for a message. */
static const char *quote_for_message(const char *s, size_t len, char *buf,
                                     size_t cap) {
  size_t k = 0;
  for (size_t i = 0; i < len && k + 4 < cap; i++) {
    unsigned char c = (unsigned char)s[i];
    buf[k++] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
  }
  if (len > 0 && k + 4 >= cap)
    k = cap - 4 < k ? cap - 4 : k, memcpy(buf + k, "...", 3), k += 3;
  buf[k] = '\0';
  return buf;
}

/* "!!str" for tag:yaml.org,2002:str, the tag itself otherwise. */
static const char *tag_for_message(const char *tag, char *buf, size_t cap) {
  size_t plen = sizeof TAG_PREFIX - 1;
  if (strncmp(tag, TAG_PREFIX, plen) == 0)
    snprintf(buf, cap, "!!%s", tag + plen);
  else
    snprintf(buf, cap, "%s", tag);
  return buf;
}

static int new_node(loader *ld, yaml_mark_t m, uint8_t type, uint32_t *idx) {
  dl_yaml_doc *doc = ld->doc;
  if (grow((void **)&doc->nodes, &doc->cap_nodes, (size_t)doc->nnodes + 1,
           sizeof *doc->nodes))
    return oom(ld);
  *idx = doc->nnodes++;
  dl_yaml_node *n = &doc->nodes[*idx];
  memset(n, 0, sizeof *n);
  n->type = type;
  n->line = (uint32_t)m.line + 1;
  n->col = (uint32_t)m.column + 1;
  n->size = 1;
  /* the parent collects it, or it is the root */
  if (ld->nframes == 0) {
    doc->root = *idx;
    return 0;
  }
  if (grow((void **)&doc->stack, &doc->cap_stack, (size_t)doc->nstack + 1,
           sizeof *doc->stack))
    return oom(ld);
  doc->stack[doc->nstack++] = *idx;
  return 0;
}

static int add_string(loader *ld, const char *s, size_t len, uint32_t *off) {
  dl_yaml_doc *doc = ld->doc;
  if (doc->nstrings + len + 1 > UINT32_MAX)
    return oom(ld);
  if (doc->nstrings + len + 1 > doc->cap_strings) {
    size_t n = doc->cap_strings ? doc->cap_strings : 4096;
    while (n < doc->nstrings + len + 1)
      n *= 2;
    char *p = realloc(doc->strings, n);
    if (!p)
      return oom(ld);
    doc->strings = p;
    doc->cap_strings = n;
  }
  memcpy(doc->strings + doc->nstrings, s, len);
  doc->strings[doc->nstrings + len] = '\0';
  *off = (uint32_t)doc->nstrings;
  doc->nstrings += len + 1;
  return 0;
}

static anchor_slot *anchor_find(anchor_map *am, const dl_yaml_doc *doc,
                                const char *name, size_t len, uint32_t h) {
  uint32_t mask = am->cap - 1;
  for (uint32_t i = h & mask;; i = (i + 1) & mask) {
    anchor_slot *s = &am->slots[i];
    if (s->node == 0 || (s->hash == h && s->len == len &&
                         memcmp(doc->strings + s->off, name, len) == 0))
      return s;
  }
}

static int anchor_set(loader *ld, const char *name, uint32_t node) {
  dl_yaml_doc *doc = ld->doc;
  anchor_map *am = doc->anchors;
  if (!am) {
    am = doc->anchors = calloc(1, sizeof *am);
    if (!am)
      return oom(ld);
  }
  if ((am->used + 1) * 2 > am->cap) {
    uint32_t cap = am->cap ? am->cap * 2 : 16;
    anchor_slot *slots = calloc(cap, sizeof *slots);
    if (!slots)
      return oom(ld);
    anchor_slot *old = am->slots;
    uint32_t oldcap = am->cap;
    am->slots = slots;
    am->cap = cap;
    for (uint32_t i = 0; i < oldcap; i++)
      if (old[i].node)
        *anchor_find(am, doc, doc->strings + old[i].off, old[i].len,
                     old[i].hash) = old[i];
    free(old);
  }
  size_t len = strlen(name);
  uint32_t h = hash_bytes(name, len, 2166136261u);
  anchor_slot *s = anchor_find(am, doc, name, len, h);
  if (s->node == 0) {
    uint32_t off;
    if (add_string(ld, name, len, &off))
      return -1;
    s->hash = h;
    s->off = off;
    s->len = (uint32_t)len;
    am->used++;
  }
  s->node = node + 1; /* a later anchor of the same name wins */
  return 0;
}

static int anchor_get(loader *ld, const char *name, uint32_t *node) {
  anchor_map *am = ld->doc->anchors;
  if (!am)
    return -1;
  size_t len = strlen(name);
  anchor_slot *s =
      anchor_find(am, ld->doc, name, len, hash_bytes(name, len, 2166136261u));
  if (s->node == 0)
    return -1;
  *node = s->node - 1;
  return 0;
}

static int on_scalar(loader *ld, yaml_event_t *ev) {
  const char *tag = (const char *)ev->data.scalar.tag;
  const char *val = (const char *)ev->data.scalar.value;
  size_t len = ev->data.scalar.length;
  int plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
  char tbuf[80], vbuf[64];
  dl_yaml_node r;
  memset(&r, 0, sizeof r);
  r.type = DL_YAML_STRING;
  if (tag == NULL && plain) {
    if (dl_yaml_resolve_plain(val, len, &r))
      return fail_mark(ld, ev->start_mark,
                       "integer %s does not fit a Lua number exactly (quote "
                       "it to keep it as a string)",
                       quote_for_message(val, len, vbuf, sizeof vbuf));
  } else if (tag != NULL && strcmp(tag, "!") != 0 &&
             strcmp(tag, TAG_PREFIX "str") != 0) {
    const char *t = tag + sizeof TAG_PREFIX - 1;
    int ok = 1, b;
    double num;
    if (strncmp(tag, TAG_PREFIX, sizeof TAG_PREFIX - 1) != 0) {
      return fail_mark(ld, ev->start_mark, "unknown tag '%s'",
                       tag_for_message(tag, tbuf, sizeof tbuf));
    } else if (strcmp(t, "null") == 0) {
      ok = parse_null(val, len);
      r.type = DL_YAML_NULL;
    } else if (strcmp(t, "bool") == 0) {
      ok = parse_bool(val, len, &b);
      r.type = DL_YAML_BOOL;
      r.v.boolean = ok ? b : 0;
    } else if (strcmp(t, "int") == 0 || strcmp(t, "float") == 0) {
      int ri = parse_int(val, len, &num);
      if (ri < 0)
        return fail_mark(ld, ev->start_mark,
                         "integer %s does not fit a Lua number exactly",
                         quote_for_message(val, len, vbuf, sizeof vbuf));
      ok = ri > 0 || (t[0] == 'f' && parse_float(val, len, &num));
      r.type = DL_YAML_NUMBER;
      r.v.num = ok ? num : 0;
    } else if (strcmp(t, "map") == 0 || strcmp(t, "seq") == 0) {
      return fail_mark(ld, ev->start_mark, "tag '%s' on a scalar",
                       tag_for_message(tag, tbuf, sizeof tbuf));
    } else {
      return fail_mark(ld, ev->start_mark, "unknown tag '%s'",
                       tag_for_message(tag, tbuf, sizeof tbuf));
    }
    if (!ok) {
      char msg[200];
      snprintf(msg, sizeof msg, "'%s' is not a valid %s",
               quote_for_message(val, len, vbuf, sizeof vbuf),
               tag_for_message(tag, tbuf, sizeof tbuf));
      return fail_mark(ld, ev->start_mark, "%s", msg);
    }
  }
  uint32_t idx;
  if (new_node(ld, ev->start_mark, r.type, &idx))
    return -1;
  dl_yaml_node *n = &ld->doc->nodes[idx];
  n->flags = DL_YAML_COMPLETE;
  if (r.type == DL_YAML_STRING) {
    if (add_string(ld, val, len, &n->v.str.off))
      return -1;
    n = &ld->doc->nodes[idx];
    n->v.str.len = (uint32_t)len;
    n->bytes = len;
    if (tag == NULL && plain && len == 2 && val[0] == '<' && val[1] == '<')
      n->flags |= DL_YAML_MERGE;
  } else {
    n->v = r.v;
  }
  if (ev->data.scalar.anchor)
    return anchor_set(ld, (const char *)ev->data.scalar.anchor, idx);
  return 0;
}

static int on_alias(loader *ld, yaml_event_t *ev) {
  const char *name = (const char *)ev->data.alias.anchor;
  char buf[64];
  uint32_t target;
  if (anchor_get(ld, name, &target))
    return fail_mark(ld, ev->start_mark, "unknown alias '*%s'",
                     quote_for_message(name, strlen(name), buf, sizeof buf));
  dl_yaml_node *t = &ld->doc->nodes[target];
  if (!(t->flags & DL_YAML_COMPLETE))
    return fail_mark(ld, ev->start_mark,
                     "recursive alias '*%s' (it refers to a node that "
                     "contains it)",
                     quote_for_message(name, strlen(name), buf, sizeof buf));
  uint64_t size = t->size;
  uint64_t bytes = t->bytes;
  uint32_t height = t->height;
  ld->doc->expanded += size;
  ld->doc->expanded_bytes += bytes;
  if (ld->doc->expanded_bytes > ld->lim.max_alias_bytes) {
    char msg[200];
    snprintf(msg, sizeof msg,
             "alias expansion makes more than %llu bytes (max_alias_bytes)",
             (unsigned long long)ld->lim.max_alias_bytes);
    return fail_mark(ld, ev->start_mark, "%s", msg);
  }
  if (ld->doc->expanded > ld->lim.max_alias_nodes) {
    char msg[200];
    snprintf(msg, sizeof msg,
             "alias expansion makes more than %llu nodes (max_alias_nodes)",
             (unsigned long long)ld->lim.max_alias_nodes);
    return fail_mark(ld, ev->start_mark, "%s", msg);
  }
  if ((uint64_t)ld->nframes + height > ld->lim.max_depth) {
    char msg[200];
    snprintf(msg, sizeof msg,
             "alias '*%s' nests deeper than %u levels (max_depth)",
             quote_for_message(name, strlen(name), buf, sizeof buf),
             ld->lim.max_depth);
    return fail_mark(ld, ev->start_mark, "%s", msg);
  }
  uint32_t idx;
  if (new_node(ld, ev->start_mark, DL_YAML_ALIAS, &idx))
    return -1;
  dl_yaml_node *n = &ld->doc->nodes[idx];
  n->flags = DL_YAML_COMPLETE;
  n->v.target = target;
  n->size = size;
  n->bytes = bytes;
  n->height = height;
  return 0;
}

static int on_start(loader *ld, yaml_event_t *ev, int map) {
  const char *tag = map ? (const char *)ev->data.mapping_start.tag
                        : (const char *)ev->data.sequence_start.tag;
  const char *anchor = map ? (const char *)ev->data.mapping_start.anchor
                           : (const char *)ev->data.sequence_start.anchor;
  char tbuf[80];
  if (tag && strcmp(tag, "!") != 0 &&
      strcmp(tag, map ? TAG_PREFIX "map" : TAG_PREFIX "seq") != 0) {
    if (strcmp(tag, TAG_PREFIX "map") == 0 ||
        strcmp(tag, TAG_PREFIX "seq") == 0)
      return fail_mark(ld, ev->start_mark,
                       map ? "tag '%s' on a mapping" : "tag '%s' on a sequence",
                       tag_for_message(tag, tbuf, sizeof tbuf));
    return fail_mark(ld, ev->start_mark, "unknown tag '%s'",
                     tag_for_message(tag, tbuf, sizeof tbuf));
  }
  if (ld->nframes + 1 > ld->lim.max_depth) {
    char msg[100];
    snprintf(msg, sizeof msg, "nested deeper than %u levels (max_depth)",
             ld->lim.max_depth);
    return fail_mark(ld, ev->start_mark, "%s", msg);
  }
  uint32_t idx;
  if (new_node(ld, ev->start_mark, map ? DL_YAML_MAP : DL_YAML_SEQ, &idx))
    return -1;
  /* frames hold the node and where its kids start on the scratch stack */
  if (grow((void **)&ld->frames, &ld->cap_frames, (size_t)ld->nframes * 2 + 2,
           sizeof *ld->frames))
    return oom(ld);
  ld->frames[ld->nframes * 2] = idx;
  ld->frames[ld->nframes * 2 + 1] = ld->doc->nstack;
  ld->nframes++;
  if (anchor)
    return anchor_set(ld, anchor, idx);
  return 0;
}

/* Lua-equal keys are duplicates: 1 and 1.0 and 0x1 are one key. */
static int key_equal(const dl_yaml_doc *doc, const dl_yaml_node *a,
                     const dl_yaml_node *b) {
  if (a->type != b->type)
    return 0;
  switch (a->type) {
  case DL_YAML_BOOL:
    return a->v.boolean == b->v.boolean;
  case DL_YAML_NUMBER:
    return a->v.num == b->v.num;
  default:
    return a->v.str.len == b->v.str.len &&
           memcmp(doc->strings + a->v.str.off, doc->strings + b->v.str.off,
                  a->v.str.len) == 0;
  }
}

static uint32_t key_hash(const dl_yaml_doc *doc, const dl_yaml_node *k) {
  switch (k->type) {
  case DL_YAML_BOOL:
    return k->v.boolean ? 0x9e3779b9u : 0x7f4a7c15u;
  case DL_YAML_NUMBER: {
    double x = k->v.num == 0 ? 0.0 : k->v.num; /* -0 == 0 */
    char b[sizeof x];
    memcpy(b, &x, sizeof x);
    return hash_bytes(b, sizeof b, 0x811c9dc5u);
  }
  default:
    return hash_bytes(doc->strings + k->v.str.off, k->v.str.len, 2166136261u);
  }
}

static const char *key_for_message(const dl_yaml_doc *doc,
                                   const dl_yaml_node *k, char *buf,
                                   size_t cap) {
  if (k->type == DL_YAML_BOOL)
    return k->v.boolean ? "true" : "false";
  if (k->type == DL_YAML_NUMBER) {
    char num[32];
    format_number(k->v.num, num);
    snprintf(buf, cap, "%s", num);
    return buf;
  }
  return quote_for_message(doc->strings + k->v.str.off, k->v.str.len, buf, cap);
}

static int check_merge_value(loader *ld, const dl_yaml_node *v) {
  const dl_yaml_doc *doc = ld->doc;
  const dl_yaml_node *d = dl_yaml_deref(doc, v);
  int ok = d->type == DL_YAML_MAP;
  if (d->type == DL_YAML_SEQ) {
    ok = 1;
    for (uint32_t i = 0; i < d->v.kids.count; i++) {
      const dl_yaml_node *e = &doc->nodes[doc->kids[d->v.kids.first + i]];
      if (dl_yaml_deref(doc, e)->type != DL_YAML_MAP)
        ok = 0;
    }
  }
  if (!ok)
    return fail(ld, v->line, v->col,
                "merge key '<<' needs a mapping or a list of mappings");
  return 0;
}

static int check_keys(loader *ld, uint32_t map) {
  dl_yaml_doc *doc = ld->doc;
  uint32_t first = doc->nodes[map].v.kids.first;
  uint32_t count = doc->nodes[map].v.kids.count;
  char buf[80];
  if ((size_t)count * 2 > doc->keyset_cap) {
    uint32_t cap = doc->keyset_cap ? doc->keyset_cap : 64;
    while (cap < (size_t)count * 2)
      cap *= 2;
    key_slot *s = calloc(cap, sizeof *s);
    if (!s)
      return oom(ld);
    free(doc->keyset);
    doc->keyset = s;
    doc->keyset_cap = cap;
  }
  key_slot *slots = doc->keyset;
  uint32_t mask = doc->keyset_cap - 1;
  for (uint32_t i = 0; i < count; i++) {
    uint32_t ki = doc->kids[first + 2 * i];
    const dl_yaml_node *kn = &doc->nodes[ki];
    const dl_yaml_node *k = dl_yaml_deref(doc, kn);
    if (k->type == DL_YAML_MAP || k->type == DL_YAML_SEQ)
      return fail(ld, kn->line, kn->col,
                  "a mapping key must be a scalar, not a %s",
                  k->type == DL_YAML_MAP ? "mapping" : "sequence");
    if (k->type == DL_YAML_NULL)
      return fail(ld, kn->line, kn->col, "a mapping key cannot be null");
    if (k->type == DL_YAML_NUMBER && isnan(k->v.num))
      return fail(ld, kn->line, kn->col, "a mapping key cannot be .nan");
    if (kn->flags & DL_YAML_MERGE &&
        check_merge_value(ld, &doc->nodes[doc->kids[first + 2 * i + 1]]))
      return -1;
    uint32_t h = key_hash(doc, k);
    for (uint32_t j = h & mask;; j = (j + 1) & mask) {
      key_slot *s = &slots[j];
      if (s->stamp != map + 1) { /* free, or left by another mapping */
        s->stamp = map + 1;
        s->key = ki;
        s->hash = h;
        break;
      }
      const dl_yaml_node *o = &doc->nodes[s->key];
      if (s->hash == h && key_equal(doc, dl_yaml_deref(doc, o), k))
        return fail(ld, kn->line, kn->col,
                    "duplicate key '%s' (first at line %u)",
                    key_for_message(doc, k, buf, sizeof buf), o->line);
    }
  }
  return 0;
}

static int on_end(loader *ld) {
  dl_yaml_doc *doc = ld->doc;
  ld->nframes--;
  uint32_t idx = ld->frames[ld->nframes * 2];
  uint32_t start = ld->frames[ld->nframes * 2 + 1];
  uint32_t n = doc->nstack - start;
  if (grow((void **)&doc->kids, &doc->cap_kids, (size_t)doc->nkids + n,
           sizeof *doc->kids))
    return oom(ld);
  if (n > 0)
    memcpy(doc->kids + doc->nkids, doc->stack + start, n * sizeof *doc->kids);
  dl_yaml_node *node = &doc->nodes[idx];
  node->v.kids.first = doc->nkids;
  node->v.kids.count = node->type == DL_YAML_MAP ? n / 2 : n;
  doc->nkids += n;
  doc->nstack = start;
  uint64_t size = 1, bytes = 0;
  uint32_t height = 0;
  for (uint32_t i = 0; i < n; i++) {
    const dl_yaml_node *k = &doc->nodes[doc->kids[node->v.kids.first + i]];
    size += k->size;
    bytes += k->bytes;
    if (k->height > height)
      height = k->height;
  }
  node->size = size;
  node->bytes = bytes;
  node->height = height + 1;
  node->flags |= DL_YAML_COMPLETE;
  if (node->type == DL_YAML_MAP)
    return check_keys(ld, idx);
  return 0;
}

/* Line and column of a byte offset, for reader errors (which carry only
 * the offset). */
static void offset_mark(const char *text, size_t len, size_t off, size_t *line,
                        size_t *col) {
  *line = 1;
  *col = 1;
  for (size_t i = 0; i < off && i < len; i++) {
    if (text[i] == '\n')
      *line += 1, *col = 1;
    else if (((unsigned char)text[i] & 0xc0) != 0x80)
      *col += 1;
  }
}

static int parser_error(loader *ld, yaml_parser_t *p) {
  if (p->error == YAML_MEMORY_ERROR)
    return oom(ld);
  const char *problem = p->problem ? p->problem : "invalid YAML";
  if (p->error == YAML_READER_ERROR) {
    size_t line, col;
    offset_mark(ld->text, ld->len, p->problem_offset, &line, &col);
    if (p->problem_value != -1)
      return fail(ld, line, col, "%s (byte 0x%02x)", problem,
                  (unsigned)p->problem_value & 0xffu);
    return fail(ld, line, col, "%s", problem);
  }
  yaml_mark_t m = p->problem_mark;
  if (p->context)
    return fail(ld, m.line + 1, m.column + 1, "%s (%s at line %zu column %zu)",
                problem, p->context, p->context_mark.line + 1,
                p->context_mark.column + 1);
  return fail(ld, m.line + 1, m.column + 1, "%s", problem);
}

static int load_events(loader *ld, yaml_parser_t *parser) {
  int docs = 0;
  for (;;) {
    yaml_event_t ev;
    if (!yaml_parser_parse(parser, &ev))
      return parser_error(ld, parser);
    int r = 0, done = 0;
    switch (ev.type) {
    case YAML_STREAM_END_EVENT:
      done = 1;
      break;
    case YAML_DOCUMENT_START_EVENT:
      if (docs++ > 0)
        r = fail_mark(ld, ev.start_mark, "%s",
                      "more than one document (deloc reads one per file)");
      break;
    case YAML_SCALAR_EVENT:
      r = on_scalar(ld, &ev);
      break;
    case YAML_ALIAS_EVENT:
      r = on_alias(ld, &ev);
      break;
    case YAML_SEQUENCE_START_EVENT:
      r = on_start(ld, &ev, 0);
      break;
    case YAML_MAPPING_START_EVENT:
      r = on_start(ld, &ev, 1);
      break;
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT:
      r = on_end(ld);
      break;
    default:
      break;
    }
    yaml_event_delete(&ev);
    if (r || done)
      return r;
  }
}

int dl_yaml_load(dl_yaml_doc *doc, const char *text, size_t len,
                 const char *name, const dl_yaml_limits *limits) {
  dl_yaml_doc_free(doc);
  doc->err[0] = '\0';
  loader ld;
  memset(&ld, 0, sizeof ld);
  ld.doc = doc;
  ld.name = name ? name : "<string>";
  ld.text = text;
  ld.len = len;
  if (limits) {
    ld.lim = *limits;
  } else {
    ld.lim.max_size = DL_YAML_DEFAULT_MAX_SIZE;
    ld.lim.max_depth = DL_YAML_DEFAULT_MAX_DEPTH;
    ld.lim.max_alias_nodes = DL_YAML_DEFAULT_MAX_ALIAS_NODES;
  }
  if (ld.lim.max_alias_bytes == 0)
    ld.lim.max_alias_bytes = DL_YAML_DEFAULT_MAX_ALIAS_BYTES;
  if (len > ld.lim.max_size) {
    snprintf(doc->err, sizeof doc->err,
             "%s: input is %zu bytes, more than the limit of %zu (max_size)",
             ld.name, len, ld.lim.max_size);
    return -1;
  }
  yaml_parser_t parser;
  if (!yaml_parser_initialize(&parser))
    return oom(&ld);
  yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
  c_locale cl;
  c_locale_enter(&cl);
  int r = load_events(&ld, &parser);
  c_locale_leave(&cl);
  yaml_parser_delete(&parser);
  free(ld.frames);
  /* scratch is not needed once the tree is built */
  free(doc->stack);
  doc->stack = NULL;
  doc->nstack = doc->cap_stack = 0;
  if (r) {
    char err[sizeof doc->err];
    memcpy(err, doc->err, sizeof err);
    dl_yaml_doc_free(doc);
    memcpy(doc->err, err, sizeof err);
  }
  return r;
}

/* ---- the emitter ----------------------------------------------------- */

struct dl_yaml_level {
  uint8_t map;          /* 1 mapping, 0 sequence */
  uint8_t want_value;   /* mapping: key written, value next */
  uint8_t inline_first; /* the first entry follows a "- " already written */
  uint32_t indent;
  size_t index, count;
};

void dl_yaml_emitter_init(dl_yaml_emitter *e) {
  memset(e, 0, sizeof *e);
}

void dl_yaml_emitter_free(dl_yaml_emitter *e) {
  free(e->buf);
  free(e->levels);
  e->buf = NULL;
  e->levels = NULL;
  e->len = e->cap = 0;
  e->depth = e->cap_levels = 0;
}

static int efail(dl_yaml_emitter *e, const char *msg) {
  if (!e->failed)
    snprintf(e->err, sizeof e->err, "%s", msg);
  e->failed = 1;
  return -1;
}

static int reserve(dl_yaml_emitter *e, size_t n) {
  if (e->len + n <= e->cap)
    return 0;
  size_t cap = e->cap ? e->cap : 4096;
  while (cap < e->len + n)
    cap *= 2;
  char *p = realloc(e->buf, cap);
  if (!p)
    return efail(e, "out of memory");
  e->buf = p;
  e->cap = cap;
  return 0;
}

static int put(dl_yaml_emitter *e, const char *s, size_t n) {
  if (n == 0)
    return 0;
  if (reserve(e, n))
    return -1;
  memcpy(e->buf + e->len, s, n);
  e->len += n;
  return 0;
}

static int spaces(dl_yaml_emitter *e, size_t n) {
  if (n == 0)
    return 0;
  if (reserve(e, n))
    return -1;
  memset(e->buf + e->len, ' ', n);
  e->len += n;
  return 0;
}

/* Decodes one UTF-8 character at s[i]; returns its length, 0 if invalid. */
static size_t utf8_char(const unsigned char *s, size_t len, size_t i,
                        uint32_t *cp) {
  unsigned c = s[i];
  size_t n;
  uint32_t v, min;
  if (c < 0x80)
    return *cp = c, 1;
  if ((c & 0xe0) == 0xc0)
    n = 2, v = c & 0x1f, min = 0x80;
  else if ((c & 0xf0) == 0xe0)
    n = 3, v = c & 0x0f, min = 0x800;
  else if ((c & 0xf8) == 0xf0)
    n = 4, v = c & 0x07, min = 0x10000;
  else
    return 0;
  if (i + n > len)
    return 0;
  for (size_t k = 1; k < n; k++) {
    if ((s[i + k] & 0xc0) != 0x80)
      return 0;
    v = (v << 6) | (s[i + k] & 0x3f);
  }
  if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
    return 0;
  *cp = v;
  return n;
}

/* Characters that may appear unescaped in plain and literal scalars:
 * YAML's printable set, minus what libyaml reads as a line break (NEL,
 * LS, PS) and the BOM. */
static int printable(uint32_t c) {
  if (c == 0x2028 || c == 0x2029)
    return 0;
  return (c >= 0x20 && c <= 0x7e) || (c >= 0xa0 && c <= 0xd7ff) ||
         (c >= 0xe000 && c <= 0xfffd && c != 0xfeff) ||
         (c >= 0x10000 && c <= 0x10ffff);
}

enum style { PLAIN, DOUBLE, LITERAL };

static int is_yaml11_word(const char *s, size_t len) {
  if (len > 3) /* the longest below */
    return 0;
  static const char *const words[] = {
      "y",  "Y",  "yes", "Yes", "YES", "n",   "N",   "no", "No",
      "NO", "on", "On",  "ON",  "off", "Off", "OFF", "<<", "=",
  };
  for (size_t i = 0; i < sizeof words / sizeof *words; i++)
    if (strlen(words[i]) == len && memcmp(words[i], s, len) == 0)
      return 1;
  return 0;
}

/* The style that writes `s` so it reads back as the same string, here
 * and in YAML 1.1 readers (Kubernetes, Compose).  -1 for invalid UTF-8. */
static int choose_style(const char *str, size_t len, int key) {
  const unsigned char *s = (const unsigned char *)str;
  int plain = len > 0, literal = !key, newline = 0;
  for (size_t i = 0; i < len;) {
    uint32_t c = s[i];
    size_t n = 1;
    if (c >= 0x20 && c < 0x7f && c != '#' && c != ':') {
      i++; /* printable ASCII that decides nothing: most of every string */
      continue;
    }
    if (c >= 0x80 && (n = utf8_char(s, len, i, &c)) == 0)
      return -1;
    if (c == '\n')
      newline = 1, plain = 0;
    else if (!printable(c))
      plain = 0, literal = c == '\t' ? literal : 0;
    else if (c == '#' && i > 0 && s[i - 1] == ' ')
      plain = 0;
    else if (c == ':' && (i + 1 == len || s[i + 1] == ' '))
      plain = 0;
    i += n;
  }
  if (newline && literal) {
    /* the first line with text must not start with a space or a tab (its
     * indentation decides the block's), and some text must be there */
    size_t i = 0;
    while (i < len && s[i] == '\n')
      i++;
    if (i < len && s[i] != ' ' && s[i] != '\t')
      return LITERAL;
    return DOUBLE;
  }
  if (!plain)
    return DOUBLE;
  unsigned c0 = s[0], c1 = len > 1 ? s[1] : 0;
  if (strchr(" ?:,[]{}#&*!|>'\"%@`-", (int)c0)) {
    /* "-x", "?x", ":x" are plain in YAML, but "--" and "- " are markers */
    if (!(c0 == '-' || c0 == '?' || c0 == ':') || c1 == 0 ||
        !((c1 >= 'a' && c1 <= 'z') || (c1 >= 'A' && c1 <= 'Z') || c1 == '_' ||
          c1 == '/'))
      return DOUBLE;
  }
  if (s[len - 1] == ' ' || (len >= 3 && memcmp(s, "...", 3) == 0))
    return DOUBLE;
  /* anything number-like, for YAML 1.1 readers (0777, 1_000, 1:20, dates) */
  if (is_digit((int)c0) || ((c0 == '+' || c0 == '-' || c0 == '.') &&
                            (is_digit((int)c1) || c1 == '.')))
    return DOUBLE;
  if (is_yaml11_word(str, len))
    return DOUBLE;
  dl_yaml_node r;
  if (dl_yaml_resolve_plain(str, len, &r) || r.type != DL_YAML_STRING)
    return DOUBLE;
  return PLAIN;
}

static int put_double_quoted(dl_yaml_emitter *e, const char *str, size_t len) {
  const unsigned char *s = (const unsigned char *)str;
  if (put(e, "\"", 1))
    return -1;
  for (size_t i = 0; i < len;) {
    uint32_t c;
    size_t n = utf8_char(s, len, i, &c);
    char esc[12];
    const char *rep = NULL;
    switch (c) {
    case '"':
      rep = "\\\"";
      break;
    case '\\':
      rep = "\\\\";
      break;
    case '\n':
      rep = "\\n";
      break;
    case '\t':
      rep = "\\t";
      break;
    case '\r':
      rep = "\\r";
      break;
    case 0:
      rep = "\\0";
      break;
    case 0x1b:
      rep = "\\e";
      break;
    case 0x85:
      rep = "\\N";
      break;
    case 0x2028:
      rep = "\\L";
      break;
    case 0x2029:
      rep = "\\P";
      break;
    default:
      if (!printable(c)) {
        snprintf(esc, sizeof esc, c <= 0xff ? "\\x%02X" : "\\u%04X",
                 (unsigned)c);
        rep = esc;
      }
    }
    if (rep ? put(e, rep, strlen(rep)) : put(e, str + i, n))
      return -1;
    i += n;
  }
  return put(e, "\"", 1);
}

static int put_literal(dl_yaml_emitter *e, const char *s, size_t len,
                       size_t indent) {
  size_t trail = 0;
  while (trail < len && s[len - 1 - trail] == '\n')
    trail++;
  const char *header = trail == 0 ? "|-\n" : trail == 1 ? "|\n" : "|+\n";
  if (put(e, header, 3 - (trail == 1)))
    return -1;
  size_t body = len - trail;
  for (size_t i = 0; i < body;) {
    const char *nl = memchr(s + i, '\n', body - i);
    size_t end = nl ? (size_t)(nl - s) : body;
    if (end > i && (spaces(e, indent) || put(e, s + i, end - i)))
      return -1;
    if (put(e, "\n", 1))
      return -1;
    i = end + 1;
  }
  for (size_t k = 1; k < trail; k++)
    if (put(e, "\n", 1))
      return -1;
  return 0;
}

enum pos { AT_ROOT, AT_SEQ, AT_VALUE, AT_KEY };

static struct dl_yaml_level *top(dl_yaml_emitter *e) {
  return e->depth ? &e->levels[e->depth - 1] : NULL;
}

/* Where the next node goes; writes the "- " of a sequence entry. */
static int position(dl_yaml_emitter *e, enum pos *p) {
  if (e->failed)
    return -1;
  struct dl_yaml_level *lv = top(e);
  if (!lv) {
    if (e->root_done)
      return efail(e, "more than one top-level value");
    *p = AT_ROOT;
    return 0;
  }
  if (lv->index >= lv->count)
    return efail(e, "more entries than announced");
  *p = lv->map ? (lv->want_value ? AT_VALUE : AT_KEY) : AT_SEQ;
  if (*p == AT_SEQ) {
    if (!(lv->inline_first && lv->index == 0) && spaces(e, lv->indent))
      return -1;
    return put(e, "-", 1);
  }
  return 0;
}

static void finish_node(dl_yaml_emitter *e) {
  struct dl_yaml_level *lv = top(e);
  if (!lv) {
    e->root_done = 1;
  } else if (lv->map && !lv->want_value) {
    lv->want_value = 1;
  } else {
    lv->want_value = 0;
    lv->index++;
  }
}

/* Writes a scalar's text (`len` bytes at `s`, already in final form unless
 * style says otherwise) in the current position. */
static int put_scalar(dl_yaml_emitter *e, const char *s, size_t len,
                      int style) {
  enum pos p;
  if (position(e, &p))
    return -1;
  struct dl_yaml_level *lv = top(e);
  if (p == AT_KEY) {
    if (!(lv->inline_first && lv->index == 0) && spaces(e, lv->indent))
      return -1;
    /* implicit keys are limited to 1024 characters: longer ones use "? " */
    int explicit_key = len > 1000;
    if (explicit_key && put(e, "? ", 2))
      return -1;
    if (style == DOUBLE ? put_double_quoted(e, s, len) : put(e, s, len))
      return -1;
    if (explicit_key && (put(e, "\n", 1) || spaces(e, lv->indent)))
      return -1;
    if (put(e, ":", 1))
      return -1;
    finish_node(e);
    return 0;
  }
  if (p != AT_ROOT && put(e, " ", 1))
    return -1;
  int r;
  if (style == LITERAL)
    r = put_literal(e, s, len, lv ? lv->indent + 2 : 2);
  else if (style == DOUBLE)
    r = put_double_quoted(e, s, len) || put(e, "\n", 1);
  else
    r = put(e, s, len) || put(e, "\n", 1);
  if (r)
    return -1;
  finish_node(e);
  return 0;
}

int dl_yaml_emit_null(dl_yaml_emitter *e) {
  return put_scalar(e, "null", 4, PLAIN);
}

int dl_yaml_emit_bool(dl_yaml_emitter *e, int b) {
  return b ? put_scalar(e, "true", 4, PLAIN) : put_scalar(e, "false", 5, PLAIN);
}

int dl_yaml_emit_number(dl_yaml_emitter *e, double x) {
  char buf[32];
  size_t n = dl_yaml_format_number(x, buf);
  return put_scalar(e, buf, n, PLAIN);
}

int dl_yaml_emit_string(dl_yaml_emitter *e, const char *s, size_t len) {
  if (e->failed)
    return -1;
  struct dl_yaml_level *lv = top(e);
  int style = choose_style(s, len, lv && lv->map && !lv->want_value);
  if (style < 0)
    return efail(e, "a string that is not valid UTF-8");
  return put_scalar(e, s, len, style);
}

static int start(dl_yaml_emitter *e, int map, size_t count) {
  enum pos p;
  if (position(e, &p))
    return -1;
  if (p == AT_KEY)
    return efail(e, "a collection as a mapping key");
  struct dl_yaml_level *lv = top(e);
  struct dl_yaml_level child = {(uint8_t)map, 0, 0, 0, 0, count};
  if (count == 0) {
    if (put(e, p == AT_ROOT ? "" : " ", p != AT_ROOT) ||
        put(e, map ? "{}\n" : "[]\n", 3))
      return -1;
  } else if (p == AT_SEQ) {
    if (put(e, " ", 1))
      return -1;
    child.indent = lv->indent + 2;
    child.inline_first = 1;
  } else if (p == AT_VALUE) {
    if (put(e, "\n", 1))
      return -1;
    child.indent = lv->indent + 2;
  }
  if (grow((void **)&e->levels, &e->cap_levels, (size_t)e->depth + 1,
           sizeof *e->levels))
    return efail(e, "out of memory");
  e->levels[e->depth++] = child;
  return 0;
}

int dl_yaml_emit_map_start(dl_yaml_emitter *e, size_t count) {
  return start(e, 1, count);
}

int dl_yaml_emit_seq_start(dl_yaml_emitter *e, size_t count) {
  return start(e, 0, count);
}

int dl_yaml_emit_end(dl_yaml_emitter *e) {
  if (e->failed)
    return -1;
  struct dl_yaml_level *lv = top(e);
  if (!lv || lv->index != lv->count || lv->want_value)
    return efail(e, "collection ended before its announced entries");
  e->depth--;
  finish_node(e);
  return 0;
}
