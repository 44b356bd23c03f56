/* Lua modules compiled into the binary by src/gen/embed.c (build/embedded.c).
 */
#ifndef DELOC_EMBEDDED_H
#define DELOC_EMBEDDED_H

#include <stddef.h>

struct dl_embedded {
  const char *module;         /* "deloc.cli", "deloc.recipes.postgres" */
  const char *path;           /* source path in the tree, "lua/deloc/cli.lua" */
  const unsigned char *chunk; /* LuaJIT bytecode with line info */
  size_t size;
};

extern const struct dl_embedded dl_embedded_modules[];
extern const size_t dl_embedded_count;

#endif
