-- deloc.yaml: YAML in and out, for deloc.yaml files, Compose files and
-- Kubernetes manifests.  The parsing, the limits and the emitter are C
-- (src/yaml.c on libyaml 0.2.5, see vendor/libyaml.md); this file sets the
-- defaults and checks the options.
--
--   yaml.load(text [, opts]) -> value [, marks] | nil, err
--   yaml.load_file(path [, opts]) -> value [, marks] | nil, err
--   yaml.dump(value [, opts]) -> text | nil, err
--   yaml.comment_text(s) -> s escaped for a `# ...` comment line
--   yaml.null, yaml.sequence(t), yaml.is_sequence(t), yaml.ordered(t, keys)
--   yaml.locate(marks, t [, key]) -> line, col | nil
--
-- Loading (one document; the rules live here and nowhere else):
--   * mappings become tables; sequences become arrays marked with
--     yaml.sequence (the deloc.array marker), so they dump back as
--     sequences, `[]` when empty;
--   * null (`null`, `~`, nothing) is yaml.null, a sentinel (the same value as
--     deloc.json.null and cjson.null), so a key with a null value is kept
--     and `[1, null, 3]` keeps its length;
--   * scalars resolve by the YAML 1.2 core schema: true/True/TRUE and false
--     are booleans, `on`, `yes`, `no`, `off` stay strings; 12, -3, 0x1f,
--     0o17 are integers and 1.5, 1e3, .inf, -.inf, .nan floats (Lua numbers
--     both); quoted and block scalars are always strings; an integer a Lua
--     number cannot hold exactly (beyond 2^53) is an error;
--   * tags: !!str !!int !!float !!bool !!null !!map !!seq and `!` only;
--   * anchors and aliases work, an alias giving a copy; `<<: *base` merge
--     keys work as in Compose files (the mapping's own keys win);
--   * an empty document or stream is yaml.null.
-- Rejected, each with `name:line:col: message` (name is opts.name, the
-- path for load_file, or "<string>"): syntax errors (libyaml's message and
-- mark), nesting deeper than opts.max_depth (64), input over opts.max_size
-- bytes (1 MiB), aliases expanding to more than opts.max_alias_nodes nodes
-- (100000; billion laughs) or to more than opts.max_alias_bytes string bytes
-- (4 MiB; billion laughs by long strings), a recursive alias (`&a [*a]`), an unknown alias,
-- a duplicate key (`duplicate key 'image' (first at line 3)`: 1, 1.0 and
-- 0x1 are one key, as in Lua), a null, NaN or collection key, more than one
-- document, an unknown tag.  Errors are strings; the caller that knows the
-- context wraps them with deloc.errors (CONFIG_INVALID).
--
-- Marks, for validators that report `file:line:col`: with {marks = true},
-- load returns a second value, a table keyed by every table the load made:
--   marks[t] = { line =, col =,                    -- where t starts
--                keys = { [k] = {line =, col =} },  -- mappings: each key
--                values = { [k] = {line =, col =} } } -- each value (k = i
--                                                     -- for sequences)
-- Lines and columns count from 1; columns in characters.  A merged key
-- points at the mapping it came from.  yaml.locate(marks, t, key) gives the
-- value's line and col (the table's own without key), nil when unknown.
--
-- Dumping writes block style, 2-space indent, a final newline, the same
-- bytes for the same value:
--   * mapping keys sorted (booleans, numbers, strings); a table made with
--     yaml.ordered(t, {"apiVersion", "kind", ...}) or given a key order by
--     opts.key_order(t) -> list|nil puts the listed keys first, the rest
--     sorted after them (a table's __order wins over opts.key_order);
--   * a table marked with yaml.sequence is a sequence (`[]` when empty);
--     an unmarked table is a sequence when its keys are exactly 1..n, a
--     mapping otherwise (`{}` when empty);
--   * strings are plain when that reads back as the same string here and in
--     YAML 1.1 readers (so "true", "on", "yes", "1.0", "0777", "", "null",
--     " x", "a: b", "#x", "-x " are quoted); multi-line strings are literal
--     blocks (`|`, `|-`, `|+`); everything else is double-quoted;
--   * integers print without ".0", other numbers in the fewest digits that
--     read back exactly, whatever the locale;
--   * yaml.null and nil are `null`.
-- Functions, userdata, cycles, invalid UTF-8 and nesting deeper than 200 give
-- nil, "cannot dump <what> at '<path>'".
local native = require("deloc.native.yaml")
local array = require("deloc.array")

local M = {}

M.null = native.null

-- yaml.sequence(t) -> t marked as a sequence (a new table when t is nil)
M.sequence = array.of

-- yaml.is_sequence(t) -> true when t was marked as a sequence
M.is_sequence = array.is

-- yaml.ordered(t, keys) -> t, dumped with `keys` first in that order
function M.ordered(t, keys)
  if type(keys) ~= "table" then
    error("yaml.ordered: keys must be a list", 2)
  end
  return setmetatable(t or {}, { __order = keys })
end

local DEFAULT_MAX_SIZE = 1024 * 1024
local DEFAULT_MAX_DEPTH = 64
local DEFAULT_MAX_ALIAS_NODES = 100000

local load_opts = {
  name = "string",
  marks = "boolean",
  max_size = "number",
  max_depth = "number",
  max_alias_nodes = "number",
  max_alias_bytes = "number",
}

local function check_opts(fn, opts, known)
  if opts == nil then
    return {}
  end
  if type(opts) ~= "table" then
    error(("yaml.%s: options must be a table"):format(fn), 3)
  end
  for k, v in pairs(opts) do
    local want = known[k]
    if not want then
      error(("yaml.%s: unknown option '%s'"):format(fn, tostring(k)), 3)
    end
    if type(v) ~= want then
      error(("yaml.%s: option '%s' must be a %s"):format(fn, k, want), 3)
    end
  end
  for _, k in ipairs({ "max_size", "max_depth", "max_alias_nodes", "max_alias_bytes" }) do
    local v = opts[k]
    if v and (v < 1 or v ~= math.floor(v)) then
      error(("yaml.%s: option '%s' must be a positive integer"):format(fn, k), 3)
    end
  end
  if opts.max_depth and opts.max_depth > 10000 then
    error(("yaml.%s: option 'max_depth' must be at most 10000"):format(fn), 3)
  end
  return opts
end

local function load(text, name, opts)
  return native.load(
    text,
    name,
    opts.max_size or DEFAULT_MAX_SIZE,
    opts.max_depth or DEFAULT_MAX_DEPTH,
    opts.max_alias_nodes or DEFAULT_MAX_ALIAS_NODES,
    array.metatable,
    opts.marks,
    opts.max_alias_bytes
  )
end

function M.load(text, opts)
  if type(text) ~= "string" then
    error("yaml.load: text must be a string", 2)
  end
  opts = check_opts("load", opts, load_opts)
  return load(text, opts.name or "<string>", opts)
end

-- "x: No such file or directory" -> "no such file or directory"
local function reason(err, path)
  err = tostring(err)
  if err:sub(1, #path + 2) == path .. ": " then
    err = err:sub(#path + 3)
  end
  return err:sub(1, 1):lower() .. err:sub(2)
end

function M.load_file(path, opts)
  if type(path) ~= "string" then
    error("yaml.load_file: path must be a string", 2)
  end
  opts = check_opts("load_file", opts, load_opts)
  local name = opts.name or path
  local f, err = io.open(path, "rb")
  if not f then
    return nil, ("cannot read '%s': %s"):format(path, reason(err, path))
  end
  -- a directory opens, and fails on the first read
  local probe, perr = f:read(0)
  if probe == nil and perr then
    f:close()
    return nil, ("cannot read '%s': %s"):format(path, reason(perr, path))
  end
  -- refuse a big file before reading it, and never read more than the
  -- limit from a pipe
  local max = opts.max_size or DEFAULT_MAX_SIZE
  local size = f:seek("end")
  f:seek("set")
  local text, rerr
  if not (size and size > max) then
    text, rerr = f:read(max + 1)
    text = text or (not rerr and "") or nil
  end
  f:close()
  if rerr then
    return nil, ("cannot read '%s': %s"):format(path, reason(rerr, path))
  end
  if not text or #text > max then
    if size and size > max then
      return nil, ("%s: input is %d bytes, more than the limit of %d (max_size)"):format(name, size, max)
    end
    return nil, ("%s: input is more than the limit of %d bytes (max_size)"):format(name, max)
  end
  return load(text, name, opts)
end

-- yaml.locate(marks, t [, key]) -> line, col of t[key] (of t without key)
function M.locate(marks, t, key)
  local m = marks and marks[t]
  if not m then
    return nil
  end
  if key ~= nil then
    m = m.values[key]
    if not m then
      return nil
    end
  end
  return m.line, m.col
end

-- yaml.comment_text(s) -> s fit for a `# ...` comment line: printable ASCII
-- kept, every other byte written \xHH.  A comment ends at a line break, and
-- readers disagree on what one is (\r, NEL, LS, PS...): nothing in s can
-- end the comment and start YAML.  Text from the plan that reaches a
-- comment goes through here; the rest of a file goes through yaml.dump.
function M.comment_text(s)
  return (tostring(s):gsub("[^\32-\126]", function(c) return ("\\x%02X"):format(c:byte()) end))
end

local dump_opts = { key_order = "function" }

function M.dump(value, opts)
  opts = check_opts("dump", opts, dump_opts)
  return native.dump(value, array.metatable, opts.key_order)
end

return M
