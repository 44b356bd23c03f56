/*
 * deloc.yaml core: YAML text to a node tree and a block-style emitter, on
 * libyaml 0.2.5.  No lua.h here: l_yaml.c turns the tree into Lua tables and
 * walks Lua tables into the emitter.
 *
 * Load enforces what libyaml does not: a nesting depth cap (checked as each
 * collection starts, so a megabyte of `[` fails in microseconds instead of
 * running libyaml's quadratic flow-level code), an input size cap, a cap on
 * the nodes alias expansion produces (billion laughs), recursive and unknown
 * aliases, duplicate keys, one document only, and the core tags only.
 * Scalars resolve by the YAML 1.2 core schema.  Numbers parse and print in
 * the C locale whatever LC_NUMERIC says.
 */
#ifndef DELOC_YAML_H
#define DELOC_YAML_H

#include <stddef.h>
#include <stdint.h>

enum dl_yaml_type {
  DL_YAML_NULL,
  DL_YAML_BOOL,
  DL_YAML_NUMBER,
  DL_YAML_STRING,
  DL_YAML_MAP,
  DL_YAML_SEQ,
  DL_YAML_ALIAS /* a copy of node `target` */
};

/* Node flags. */
#define DL_YAML_COMPLETE 1u /* its end was seen (an alias to it is legal) */
#define DL_YAML_MERGE 2u    /* the plain, untagged key `<<` */

typedef struct dl_yaml_node {
  uint8_t type;    /* enum dl_yaml_type */
  uint8_t flags;   /* DL_YAML_* */
  uint32_t line;   /* 1-based */
  uint32_t col;    /* 1-based, in characters */
  uint32_t height; /* 0 for a scalar; aliases count their target */
  uint64_t size;   /* nodes it produces once aliases are expanded */
  uint64_t bytes;  /* string bytes it produces once aliases are expanded */
  union {
    double num;
    int boolean;
    struct {
      uint32_t off, len; /* into doc->strings */
    } str;
    struct {
      uint32_t first, count; /* into doc->kids; a map has 2*count kids */
    } kids;
    uint32_t target; /* DL_YAML_ALIAS */
  } v;
} dl_yaml_node;

typedef struct dl_yaml_limits {
  size_t max_size;          /* bytes of input */
  uint32_t max_depth;       /* nesting of collections, aliases expanded */
  uint64_t max_alias_nodes; /* nodes produced by all alias expansions */
  uint64_t max_alias_bytes; /* string bytes produced by all alias expansions
                               (0: the default) */
} dl_yaml_limits;

#define DL_YAML_DEFAULT_MAX_SIZE ((size_t)1 << 20)
#define DL_YAML_DEFAULT_MAX_DEPTH 64u
#define DL_YAML_DEFAULT_MAX_ALIAS_NODES 100000u
#define DL_YAML_DEFAULT_MAX_ALIAS_BYTES ((uint64_t)4 << 20)

typedef struct dl_yaml_doc {
  dl_yaml_node *nodes;
  uint32_t nnodes, cap_nodes;
  uint32_t *kids;
  uint32_t nkids, cap_kids;
  char *strings;
  size_t nstrings, cap_strings;
  uint32_t root; /* valid when nnodes > 0; an empty stream has no node */
  /* scratch, freed with the doc */
  uint32_t *stack;
  uint32_t nstack, cap_stack;
  void *anchors; /* hash of anchor name -> node */
  void *keyset;  /* duplicate key detection */
  uint32_t keyset_cap;
  uint64_t expanded;       /* nodes produced by aliases so far */
  uint64_t expanded_bytes; /* string bytes produced by aliases so far */
  char err[512];
} dl_yaml_doc;

void dl_yaml_doc_init(dl_yaml_doc *doc);
/* Frees everything the doc owns; idempotent. */
void dl_yaml_doc_free(dl_yaml_doc *doc);

/* Parses one document of `text`.  Returns 0, or -1 with doc->err set to
 * "name:line:col: message".  `limits` may be NULL for the defaults. */
int dl_yaml_load(dl_yaml_doc *doc, const char *text, size_t len,
                 const char *name, const dl_yaml_limits *limits);

/* The node an alias stands for (the node itself otherwise). */
const dl_yaml_node *dl_yaml_deref(const dl_yaml_doc *doc,
                                  const dl_yaml_node *n);

/* Resolves a plain scalar by the YAML 1.2 core schema into `out` (type
 * NULL, BOOL, NUMBER or STRING; a STRING's str is left unset).  Returns 0,
 * or -1 when it looks like an integer too large for a double to hold
 * exactly. */
int dl_yaml_resolve_plain(const char *s, size_t len, dl_yaml_node *out);

/* Writes the shortest text that reads back as `x` (no ".0" on integers,
 * ".inf", "-.inf", ".nan"), NUL-terminated, into buf[32]; returns its
 * length. */
size_t dl_yaml_format_number(double x, char buf[32]);

/* Block-style emitter.  Feed it events: a collection start with its entry
 * count, then (for a map) key and value alternately, then its end.  Keys
 * must be scalars. */
typedef struct dl_yaml_emitter {
  char *buf;
  size_t len, cap;
  struct dl_yaml_level *levels;
  uint32_t depth, cap_levels;
  int root_done;
  int failed;
  char err[256];
} dl_yaml_emitter;

void dl_yaml_emitter_init(dl_yaml_emitter *e);
void dl_yaml_emitter_free(dl_yaml_emitter *e); /* idempotent */
/* Each returns 0, or -1 with e->err set (out of memory, invalid UTF-8,
 * a collection as a key); once failed, every later call fails. */
int dl_yaml_emit_null(dl_yaml_emitter *e);
int dl_yaml_emit_bool(dl_yaml_emitter *e, int b);
int dl_yaml_emit_number(dl_yaml_emitter *e, double x);
int dl_yaml_emit_string(dl_yaml_emitter *e, const char *s, size_t len);
int dl_yaml_emit_map_start(dl_yaml_emitter *e, size_t count);
int dl_yaml_emit_seq_start(dl_yaml_emitter *e, size_t count);
int dl_yaml_emit_end(dl_yaml_emitter *e);

#endif
