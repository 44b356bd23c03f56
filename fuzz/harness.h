/* A deloc Lua state for libFuzzer targets that drive Lua code: the host's
 * modules (embedded), a Lua heap budget, and one function `fuzz(data)`
 * returned by the target's script.  A Lua error out of it is a bug (expected
 * failures return nil, err), so it aborts with the message. */
#ifndef DELOC_FUZZ_HARNESS_H
#define DELOC_FUZZ_HARNESS_H

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "host.h"

struct fuzz_budget {
  lua_Alloc f;
  void *ud;
  size_t used, limit;
};

static void *fuzz_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
  struct fuzz_budget *b = ud;
  size_t old = ptr ? osize : 0;
  if (nsize > old && b->used + (nsize - old) > b->limit)
    return NULL;
  void *p = b->f(b->ud, ptr, osize, nsize);
  if (p || nsize == 0) {
    if (nsize >= old)
      b->used += nsize - old;
    else
      b->used = b->used > old - nsize ? b->used - (old - nsize) : 0;
  }
  return p;
}

/* Lua lines executed, as libFuzzer's extra counters: only C is compiled
 * with coverage, and without this the Lua code under test would give the
 * fuzzer nothing to steer by.  (A recipe's own instruction bound replaces
 * the hook while the recipe file runs; validation runs under it.) */
__attribute__((section(
    "__libfuzzer_extra_counters"))) static uint8_t fuzz_lua_lines[1 << 16];

static void fuzz_line_hook(lua_State *L, lua_Debug *ar) {
  if (!lua_getinfo(L, "S", ar))
    return;
  uintptr_t h = (uintptr_t)ar->source * 31u + (uintptr_t)ar->currentline;
  h ^= h >> 16;
  fuzz_lua_lines[h & ((1u << 16) - 1)]++;
}

static lua_State *fuzz_L;
static int fuzz_ref;

static int fuzz_pinit(lua_State *L) {
  dl_host_init(L);
  return 0;
}

/* Starts the state and runs script, which returns the fuzz function. */
static void fuzz_start(const char *script) {
  static struct fuzz_budget budget;
  lua_State *L = luaL_newstate();
  if (!L || lua_cpcall(L, fuzz_pinit, NULL) != 0) {
    fprintf(stderr, "fuzz: cannot start Lua: %s\n",
            L ? lua_tostring(L, -1) : "no memory");
    abort();
  }
  budget.f = lua_getallocf(L, &budget.ud);
  budget.limit = (size_t)256 << 20;
  lua_setallocf(L, fuzz_alloc, &budget);
  if (luaL_loadstring(L, script) != 0 || lua_pcall(L, 0, 1, 0) != 0) {
    fprintf(stderr, "fuzz: script: %s\n", lua_tostring(L, -1));
    abort();
  }
  fuzz_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  lua_sethook(L, fuzz_line_hook, LUA_MASKLINE, 0);
  fuzz_L = L;
}

static void fuzz_call(const uint8_t *data, size_t size) {
  lua_State *L = fuzz_L;
  lua_sethook(L, fuzz_line_hook, LUA_MASKLINE, 0); /* recipe runs clear it */
  lua_rawgeti(L, LUA_REGISTRYINDEX, fuzz_ref);
  lua_pushlstring(L, (const char *)data, size);
  if (lua_pcall(L, 1, 0, 0) != 0) {
    fprintf(stderr,
            "fuzz: Lua error (a bug: expected failures return nil, "
            "err): %s\n",
            lua_tostring(L, -1));
    abort();
  }
  lua_settop(L, 0);
}

#endif
