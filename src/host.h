/* The host: one Lua state with deloc's modules reachable through
 * package.preload. */
#ifndef DELOC_HOST_H
#define DELOC_HOST_H

#include <lua.h>

/* Opens the standard libraries, registers the C bindings and the embedded Lua
 * modules, and sets package.path/cpath to ours.  Runs inside lua_cpcall. */
void dl_host_init(lua_State *L);

/* Module name -> path under a source tree ("deloc.adapters.docker" ->
 * "adapters/docker.lua"); writes up to cap bytes, returns 0 or -1. */
int dl_host_module_path(const char *module, char *out, size_t cap, int init);

/* Interrupt support for the REPL (lua.c's laction): while armed, SIGINT makes
 * the running Lua code raise "interrupted". */
void dl_host_interrupt_arm(lua_State *L);
void dl_host_interrupt_disarm(void);

#endif
