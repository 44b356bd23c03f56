/* libFuzzer target: deloc.native.wire's decoder (src/l_wire.c) on any
 * bytes, as deloc reads the recipe sandbox's answer: a value or nil, err,
 * never a raise, a crash or a table that contains itself.  A decoded value
 * is walked in full (a cycle would not end; shared tables are bounded by
 * the decoder's max, here 1 MiB) and encoded again. */
#include "harness.h"

static const char script[] =
    "local wire = require('deloc.native.wire')\n"
    "local array = require('deloc.array')\n"
    "local errors = require('deloc.errors')\n"
    "local ERROR_MT = getmetatable(errors.new('IO_ERROR', ''))\n"
    "local function stub() end\n"
    "local function as_error(t) return setmetatable(t, ERROR_MT) end\n"
    "local function walk(v, depth)\n"
    "  assert(depth < 1100, 'deeper than the decoder allows')\n"
    "  if type(v) ~= 'table' then return end\n"
    "  for k, x in pairs(v) do walk(k, depth + 1); walk(x, depth + 1) end\n"
    "end\n"
    "return function(data)\n"
    "  local v, err = wire.decode(data, array.metatable, stub, as_error, "
    "1024 * 1024)\n"
    "  if v == nil then assert(err == nil or type(err) == 'string'); return "
    "end\n"
    "  walk(v, 0)\n"
    "  wire.encode(v, array.metatable, ERROR_MT, 64 * 1024 * 1024)\n"
    "end\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!fuzz_L)
    fuzz_start(script);
  fuzz_call(data, size);
  return 0;
}
