/* deloc.native.lineedit: libedit's readline for the REPL — line editing,
 * history and tab completion through a Lua function.
 *
 * libedit (and the libtinfo, libbsd and libmd it brings) is loaded with dlopen
 * the first time the REPL needs it: every other command starts without them. */
#include <dlfcn.h>
#include <errno.h>
#include <lauxlib.h>
#include <lua.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <editline/readline.h> /* types and prototypes only; nothing linked */

/* The libedit functions and variables we use, resolved by dlsym. */
struct editline {
  void *handle;
  char *(*readline)(const char *);
  int (*add_history)(const char *);
  int (*read_history)(const char *);
  int (*write_history)(const char *);
  void (*stifle_history)(int);
  char **line_buffer;
  const char **basic_word_break_characters;
  char **completer_word_break_characters;
  rl_completion_func_t **attempted_completion_function;
  int *attempted_completion_over;
  int *completion_append_character;
};

static struct editline el; /* filled once; constant afterwards */

/* Loads libedit once; NULL on success, else why not. */
static const char *editline_load(void) {
  if (el.handle)
    return NULL;
  void *h = dlopen("libedit.so.2", RTLD_NOW | RTLD_LOCAL);
  if (h == NULL)
    return dlerror();
  struct editline e = {h, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  /* dlsym returns void *; converting through memcpy keeps ISO C happy */
#define SYM(field, name)                                                       \
  do {                                                                         \
    void *p = dlsym(h, name);                                                  \
    if (p == NULL) {                                                           \
      dlclose(h);                                                              \
      return "libedit.so.2 lacks " name;                                       \
    }                                                                          \
    memcpy(&e.field, &p, sizeof p);                                            \
  } while (0)
  SYM(readline, "readline");
  SYM(add_history, "add_history");
  SYM(read_history, "read_history");
  SYM(write_history, "write_history");
  SYM(stifle_history, "stifle_history");
  SYM(line_buffer, "rl_line_buffer");
  SYM(basic_word_break_characters, "rl_basic_word_break_characters");
  SYM(completer_word_break_characters, "rl_completer_word_break_characters");
  SYM(attempted_completion_function, "rl_attempted_completion_function");
  SYM(attempted_completion_over, "rl_attempted_completion_over");
  SYM(completion_append_character, "rl_completion_append_character");
#undef SYM
  el = e;
  return NULL;
}

/* Raises when libedit cannot be loaded: the REPL cannot edit lines without it.
 */
static void editline_need(lua_State *L) {
  const char *why = editline_load();
  if (why)
    luaL_error(L, "cannot load libedit for line editing: %s", why);
}

/* libedit's completion callbacks carry no user pointer: keep the state that
 * registered the completer (the Lua state is the one global we allow). */
static lua_State *completion_state;
static volatile sig_atomic_t got_sigint;
static const char completer_key[] = "deloc.lineedit.completer";

/* Asks the Lua completer for candidates of `text`; a Lua error yields none, it
 * never unwinds through libedit's frames. */
static char **complete(const char *text, int start, int end) {
  (void)start;
  (void)end;
  *el.attempted_completion_over = 1;      /* never fall back to file names */
  *el.completion_append_character = '\0'; /* deloc.sys<TAB> then ".cpu" */
  lua_State *L = completion_state;
  if (L == NULL)
    return NULL;
  int top = lua_gettop(L);
  lua_getfield(L, LUA_REGISTRYINDEX, completer_key);
  lua_pushstring(L, text);
  lua_pushstring(L, *el.line_buffer ? *el.line_buffer : "");
  if (lua_pcall(L, 2, 1, 0) != 0 || !lua_istable(L, -1)) {
    lua_settop(L, top);
    return NULL;
  }
  size_t n = lua_objlen(L, -1);
  if (n == 0) {
    lua_settop(L, top);
    return NULL;
  }
  /* matches[0] is the common prefix, then the candidates, then NULL */
  char **matches = calloc(n + 2, sizeof *matches);
  if (matches == NULL) {
    lua_settop(L, top);
    return NULL;
  }
  size_t k = 1;
  for (size_t i = 1; i <= n; i++) {
    lua_rawgeti(L, -1, (int)i);
    const char *s = lua_tostring(L, -1);
    if (s && (matches[k] = strdup(s)) != NULL)
      k++;
    lua_pop(L, 1);
  }
  lua_settop(L, top);
  if (k == 1) {
    free(matches);
    return NULL;
  }
  size_t common = strlen(matches[1]);
  for (size_t i = 2; i < k; i++) {
    size_t j = 0;
    while (j < common && matches[i][j] == matches[1][j])
      j++;
    common = j;
  }
  matches[0] = strndup(matches[1], common);
  if (matches[0] == NULL) {
    for (size_t i = 1; i < k; i++)
      free(matches[i]);
    free(matches);
    return NULL;
  }
  return matches;
}

static void on_sigint(int sig) {
  (void)sig;
  got_sigint = 1;
}

/* lineedit.readline(prompt) -> line | nil (end of input) | false (Ctrl-C) */
static int l_lineedit_readline(lua_State *L) {
  const char *prompt = luaL_optstring(L, 1, "> ");
  editline_need(L);
  struct sigaction sa, old;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_sigint;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, &old);
  got_sigint = 0;
  completion_state = L;
  char *line = el.readline(prompt);
  completion_state = NULL;
  sigaction(SIGINT, &old, NULL);
  if (got_sigint) {
    free(line);
    lua_pushboolean(L, 0);
    return 1;
  }
  if (line == NULL) {
    lua_pushnil(L);
    return 1;
  }
  lua_pushstring(L, line);
  free(line);
  return 1;
}

/* lineedit.add_history(line) */
static int l_lineedit_add_history(lua_State *L) {
  const char *line = luaL_checkstring(L, 1);
  editline_need(L);
  el.add_history(line);
  return 0;
}

/* lineedit.load_history(path) -> true | nil, err */
static int l_lineedit_load_history(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  editline_need(L);
  if (el.read_history(path) != 0) {
    lua_pushnil(L);
    lua_pushfstring(L, "cannot read history '%s'", path);
    return 2;
  }
  lua_pushboolean(L, 1);
  return 1;
}

/* lineedit.save_history(path, max_lines) -> true | nil, err */
static int l_lineedit_save_history(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  int max = (int)luaL_optinteger(L, 2, 1000);
  editline_need(L);
  el.stifle_history(max);
  if (el.write_history(path) != 0) {
    lua_pushnil(L);
    lua_pushfstring(L, "cannot write history '%s': %s", path, strerror(errno));
    return 2;
  }
  lua_pushboolean(L, 1);
  return 1;
}

/* lineedit.set_completer(fn(word, line) -> { candidate, ... }) */
static int l_lineedit_set_completer(lua_State *L) {
  luaL_checktype(L, 1, LUA_TFUNCTION);
  editline_need(L);
  lua_pushvalue(L, 1);
  lua_setfield(L, LUA_REGISTRYINDEX, completer_key);
  /* dotted and colon names are one word: deloc.res<TAB>, obj:me<TAB> */
  static char breaks[] = " \t\n\"\\'`@$><=;|&{(,+-*/%^~#[]";
  *el.basic_word_break_characters = breaks;
  *el.completer_word_break_characters = breaks;
  *el.attempted_completion_function = complete;
  return 0;
}

int luaopen_deloc_native_lineedit(lua_State *L) {
  static const luaL_Reg fns[] = {
      {"readline", l_lineedit_readline},
      {"add_history", l_lineedit_add_history},
      {"load_history", l_lineedit_load_history},
      {"save_history", l_lineedit_save_history},
      {"set_completer", l_lineedit_set_completer},
      {NULL, NULL},
  };
  lua_newtable(L);
  luaL_register(L, NULL, fns);
  return 1;
}
