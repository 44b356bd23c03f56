-- deloc.pack: which bin (a machine, a node, the budget) each item (a
-- service's memory and CPU) goes into, and a plain reason for what did not fit.
--
--   local r = pack.pack({ { name = "kafka", memory = 2 * 2^30, cpu = 1 },
--                         { name = "trino", memory = 8 * 2^30, cpu = 2 } },
--                       { { name = "node-a", memory = 4 * 2^30, cpu = 4 } })
--   r.placement --> { kafka = "node-a" }
--   r.unplaced  --> { "trino" }
--   r.reasons   --> { trino = "needs 8Gi memory, the largest bin has 4Gi" }
--   r.bins["node-a"] --> { used_memory = 2147483648, used_cpu = 1,
--                          free_memory = 2147483648, free_cpu = 3, items = { "kafka" } }
--
-- pack.pack(items, bins[, opts]) -> result
--   items, bins: lists of { name = string, memory = bytes, cpu = cores };
--   names unique within each list.  Sizes are numbers >= 0 (0 is fine: an
--   item that asks for none of it, a bin that has none left); memory is
--   counted in whole bytes and CPU in millicores (both rounded), so sums are
--   exact: 0.7 + 0.3 cpu fill a 1-cpu bin.
--   opts.strategy: "best" (default) fills the tightest bin that has room,
--   "first" the first in list order, "worst" the roomiest (spreads the load).
--   Items go largest first, the size being the largest share of the biggest
--   bin they ask for in either dimension (ties: list order), so the result
--   depends only on the input.
--   result = {
--     placement = { [item] = bin },
--     unplaced  = { item, ... },            -- in list order (an array)
--     reasons   = { [item] = "needs ..." }, -- one per unplaced item
--     bins      = { [bin] = { used_memory=, used_cpu=, free_memory=,
--                             free_cpu=, items = { item, ... } } },
--     fits      = true when nothing is unplaced,
--   }
--   Not fitting is an answer, not an error: pack never returns nil, err.
--   Input that breaks the rules above (a missing or duplicate name, a size
--   that is not a number >= 0, NaN, infinite or past 2^53, an unknown
--   strategy) is the caller's bug and raises: quantities from users are read
--   (and their errors reported) by deloc.quantity before they get here.
local native = require("deloc.native.pack")
local array = require("deloc.array")
local quantity = require("deloc.quantity")

local M = {}

local STRATEGIES = { best = true, first = true, worst = true }

local function names_of(list, what)
  if type(list) ~= "table" then
    error(("pack.pack: %s must be a list, got %s"):format(what, type(list)), 3)
  end
  local names, seen = {}, {}
  for i = 1, #list do
    local e = list[i]
    local name = type(e) == "table" and e.name
    if type(name) ~= "string" then
      error(("pack.pack: %s[%d].name: expected a string, got %s"):format(
        what, i, type(e) == "table" and type(name) or "a " .. type(e)), 3)
    end
    if seen[name] then
      error(("pack.pack: %s[%d]: duplicate name '%s' (also %s[%d])"):format(what, i, name, what, seen[name]), 3)
    end
    seen[name] = i
    names[i] = name
  end
  return names
end

-- the same rounding as the C core: whole bytes, millicores
local function bytes(v) return math.floor(v + 0.5) end
local function millis(v) return math.floor(v * 1000 + 0.5) end

local function mem(v) return quantity.format_memory(bytes(v)) end
-- cores to the millicore the packing counted: 1.001, 0.5, 2
local function cores(m)
  return (("%.3f"):format(m / 1000):gsub("%.?0+$", ""))
end
local function cpu(v) return cores(millis(v)) end

local function reason(item, bins)
  if #bins == 0 then return "there are no bins" end
  local most_mem, most_cpu, both = 0, 0, false
  local m, c = bytes(item.memory), millis(item.cpu)
  for i = 1, #bins do
    local bm, bc = bytes(bins[i].memory), millis(bins[i].cpu)
    if bm > most_mem then most_mem = bm end
    if bc > most_cpu then most_cpu = bc end
    if m <= bm and c <= bc then both = true end
  end
  local over_mem, over_cpu = m > most_mem, c > most_cpu
  if over_mem and over_cpu then
    return ("needs %s memory and %s cpu, the largest bins have %s and %s cpu"):format(
      mem(item.memory), cpu(item.cpu), quantity.format_memory(most_mem), cores(most_cpu))
  elseif over_mem then
    return ("needs %s memory, the largest bin has %s"):format(mem(item.memory), quantity.format_memory(most_mem))
  elseif over_cpu then
    return ("needs %s cpu, the largest bin has %s cpu"):format(cpu(item.cpu), cores(most_cpu))
  elseif not both then
    return ("needs %s memory and %s cpu, no bin has both"):format(mem(item.memory), cpu(item.cpu))
  end
  return ("needs %s memory and %s cpu, no bin has that much left"):format(mem(item.memory), cpu(item.cpu))
end

function M.pack(items, bins, opts)
  local item_names = names_of(items, "items")
  local bin_names = names_of(bins, "bins")
  if opts ~= nil and type(opts) ~= "table" then
    error(("pack.pack: opts must be a table, got %s"):format(type(opts)), 2)
  end
  local strategy = opts and opts.strategy or "best"
  if not STRATEGIES[strategy] then
    error(("pack.pack: opts.strategy must be best, first or worst, got %s"):format(tostring(strategy)), 2)
  end
  local ok, place, used = pcall(native.pack, items, bins, strategy)
  if not ok then error("pack.pack: " .. tostring(place), 2) end

  local result = {
    placement = {}, unplaced = array.of({}), reasons = {}, bins = {}, fits = true,
  }
  for b = 1, #bin_names do
    used[b].items = array.of({})
    result.bins[bin_names[b]] = used[b]
  end
  for i = 1, #item_names do
    local name, b = item_names[i], place[i]
    if b > 0 then
      result.placement[name] = bin_names[b]
      local list = used[b].items
      list[#list + 1] = name
    else
      result.unplaced[#result.unplaced + 1] = name
      result.reasons[name] = reason(items[i], bins)
      result.fits = false
    end
  end
  return result
end

return M
