-- deloc.args: command-line options by a declared table, the way every command
-- parses them.
--
--   options = {
--     { "profile", "p", arg = "NAME", help = "sizing profile" },
--     { "json", help = "print JSON" },
--     { "set", arg = "K=V", many = true, help = "override a value" },
--   }
--   local opts, rest = args.parse(argv, options)   -- or nil, err (USAGE)
--
-- Long options take `--name value` or `--name=value`; short ones `-p value`;
-- flags without `arg` are booleans (`--no-name` sets false); `--` ends options.
local errors = require("deloc.errors")
local suggest = require("deloc.suggest")

local M = {}

local function index(options)
  local by_long, by_short = {}, {}
  for _, o in ipairs(options) do
    by_long[o[1]] = o
    if o[2] then by_short[o[2]] = o end
  end
  return by_long, by_short
end

local function usage_error(msg, hint)
  return nil, errors.new("USAGE", msg, { hint = hint })
end

local function store(opts, o, value)
  local key = o[1]:gsub("-", "_")
  if o.many then
    opts[key] = opts[key] or {}
    table.insert(opts[key], value)
  else
    opts[key] = value
  end
end

-- parse(argv, options [, first]) -> opts, positionals | nil, err
-- opts.stop_at_positional = true stops at the first positional (for `run`).
function M.parse(argv, options, first, stop_at_positional)
  local by_long, by_short = index(options)
  local opts, rest = {}, {}
  local i = first or 1
  while i <= #argv do
    local a = argv[i]
    if a == "--" then
      for j = i + 1, #argv do rest[#rest + 1] = argv[j] end
      break
    elseif a:sub(1, 2) == "--" and #a > 2 then
      local name, value = a:match("^%-%-([^=]+)=(.*)$")
      name = name or a:sub(3)
      local o = by_long[name]
      local negated = false
      if not o and name:sub(1, 3) == "no-" and by_long[name:sub(4)] and not by_long[name:sub(4)].arg then
        o, negated = by_long[name:sub(4)], true
      end
      if not o then
        local names = {}
        for k in pairs(by_long) do names[#names + 1] = k end
        local c = suggest.closest(name, names)
        return usage_error(("unknown option '--%s'"):format(name),
          c and ("did you mean '--" .. c .. "'?") or nil)
      end
      if o.arg then
        if value == nil then
          i = i + 1
          value = argv[i]
          if value == nil then
            return usage_error(("option '--%s' needs a value (%s)"):format(name, o.arg))
          end
        end
        store(opts, o, value)
      else
        if value ~= nil then
          return usage_error(("option '--%s' takes no value"):format(name))
        end
        store(opts, o, not negated)
      end
    elseif a:sub(1, 1) == "-" and #a > 1 and not a:match("^%-%d") then
      local flags = a:sub(2)
      local j = 1
      while j <= #flags do
        local c = flags:sub(j, j)
        local o = by_short[c]
        if not o then
          return usage_error(("unknown option '-%s'"):format(c))
        end
        if o.arg then
          local value = flags:sub(j + 1)
          if value == "" then
            i = i + 1
            value = argv[i]
            if value == nil then
              return usage_error(("option '-%s' needs a value (%s)"):format(c, o.arg))
            end
          end
          store(opts, o, value)
          break
        end
        store(opts, o, true)
        j = j + 1
      end
    else
      rest[#rest + 1] = a
      if stop_at_positional then
        for j = i + 1, #argv do rest[#rest + 1] = argv[j] end
        break
      end
    end
    i = i + 1
  end
  return opts, rest
end

-- The options part of a help text.
function M.describe(options)
  local lines = {}
  local width = 0
  local heads = {}
  for i, o in ipairs(options) do
    local head = (o[2] and ("-" .. o[2] .. ", ") or "    ") .. "--" .. o[1]
    if o.arg then head = head .. " " .. o.arg end
    heads[i] = head
    if #head > width then width = #head end
  end
  for i, o in ipairs(options) do
    lines[#lines + 1] = ("  %-" .. width .. "s  %s"):format(heads[i], o.help or "")
  end
  return table.concat(lines, "\n")
end

return M
