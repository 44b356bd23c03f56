/* libFuzzer target: the YAML loader (src/yaml.c) on any bytes, with its
 * default limits and with marks off.  It must return 0 or -1 with a message,
 * never crash, leak or read out of bounds; a loaded tree is walked so every
 * node's strings and children are touched. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "yaml.h"

static size_t walk(const dl_yaml_doc *doc, uint32_t idx, int depth) {
  const dl_yaml_node *n = dl_yaml_deref(doc, &doc->nodes[idx]);
  size_t sum = 1;
  if (depth > 200)
    return sum;
  if (n->type == DL_YAML_STRING) {
    for (uint32_t i = 0; i < n->v.str.len; i++)
      sum += (unsigned char)doc->strings[n->v.str.off + i];
  } else if (n->type == DL_YAML_MAP || n->type == DL_YAML_SEQ) {
    uint32_t count =
        n->type == DL_YAML_MAP ? 2 * n->v.kids.count : n->v.kids.count;
    for (uint32_t i = 0; i < count; i++)
      sum += walk(doc, doc->kids[n->v.kids.first + i], depth + 1);
  }
  return sum;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  dl_yaml_doc doc;
  dl_yaml_doc_init(&doc);
  if (dl_yaml_load(&doc, (const char *)data, size, "fuzz", NULL) == 0) {
    if (doc.nnodes > 0)
      walk(&doc, doc.root, 0);
  } else if (strncmp(doc.err, "fuzz", 4) != 0) {
    __builtin_trap(); /* every error names the input */
  }
  dl_yaml_doc_free(&doc);
  return 0;
}
