/* libFuzzer target: recipe loading (deloc.recipe.load_string: the DSL
 * sandbox, the schema, key-line lookup for messages) on any text.  It must
 * return a recipe or nil and an error table naming the file; anything it
 * raises is a bug.  The instruction bound stops endless loops; the heap
 * budget stops memory bombs (in deloc both run in an isolated child, see
 * lua/deloc/isolate.lua). */
#include <stddef.h>
#include <stdint.h>

#include "harness.h"

static const char script[] =
    "local recipe = require('deloc.recipe')\n"
    "local errors = require('deloc.errors')\n"
    "return function(text)\n"
    "  local r, err = recipe.load_string(text, 'fuzz.lua')\n"
    "  if r then assert(type(r.name) == 'string' and r.components) return end\n"
    "  assert(errors.is(err), 'not an error object: ' .. tostring(err))\n"
    "  assert(err.code == 'CONFIG_INVALID', err.code)\n"
    "  assert(type(err.message) == 'string')\n"
    "  collectgarbage()\n"
    "end\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!fuzz_L)
    fuzz_start(script);
  fuzz_call(data, size);
  return 0;
}
