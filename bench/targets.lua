-- bench/targets.lua: which targets of a bench/RESULTS.md table are met and
-- which are missed, said plainly.  Run by bench/run: deloc run bench/targets.lua FILE
--
-- A target is checked when it reads as a bound on the result's first figure:
--   "≤ 10 ms" / "≤ 5120 KiB" / "≤ 2048 KiB"   the first number of the result, same unit
--   "≤ 0.6× compose" / "≤ 1.5× luajit"        the first "N×" of the result
--   "faster (< 1×)"                            the first "N×" below 1
--   "≥ 20× faster"                             the first "N×" of the result, at least
--   "no (...)"                                 the result is "no"
-- Anything else is listed as not checked.
local path = arg and arg[1] or "bench/RESULTS.md"
local f = assert(io.open(path, "rb"))
local text = f:read("*a")
f:close()

local function num(s) return tonumber((s:gsub(",", "."))) end

-- met(result, target) -> true | false | nil (not a target this reads)
local function met(result, target)
  local bound, unit = target:match("^≤%s*([%d.]+)%s*(%a+)")
  if bound then
    local v, u = result:match("([%d.]+)%s*(%a+)")
    if v and u ~= unit then -- "≤ 15 MiB (15360 KiB)": the figure in the result's unit
      local b2, u2 = target:match("%(([%d.]+)%s*(%a+)%)")
      if u2 == u then bound, unit = b2, u2 end
    end
    if v and u == unit then return num(v) <= num(bound) end
    return nil
  end
  -- (not `v and cond or nil`: a false condition would read as "not checked")
  local ratio = result:match("([%d.]+)×")
  bound = target:match("^≤%s*([%d.]+)×")
  if bound then
    if not ratio then return nil end
    return num(ratio) <= num(bound)
  end
  if target:match("< 1×") then
    if not ratio then return nil end
    return num(ratio) < 1
  end
  bound = target:match("^≥%s*([%d.]+)×")
  if bound then
    if not ratio then return nil end
    return num(ratio) >= num(bound)
  end
  if target:match("^no%f[%A]") then return result:match("^%s*no%s*$") ~= nil end
  return nil
end

local missed, ok, unchecked = {}, 0, {}
for line in text:gmatch("[^\n]+") do
  local what, result, target = line:match("^| (.-) | (.-) | (.-) |")
  if what and what ~= "what" and not what:match("^%-%-%-") then
    local m = met(result, target)
    if m == true then ok = ok + 1
    elseif m == false then missed[#missed + 1] = ("MISSED: %s: %s (target %s)"):format(what, result, target)
    elseif target ~= "" and not target:match("^context") then unchecked[#unchecked + 1] = ("not checked: %s (target %s)"):format(what, target) end
  end
end
for _, l in ipairs(missed) do io.write(l, "\n") end
for _, l in ipairs(unchecked) do io.write(l, "\n") end
io.write(("targets: %d met, %d missed, %d not checked\n"):format(ok, #missed, #unchecked))
-- a missed target is reported, not a failure of the run: on a shared machine
-- it may be the load (the table has the load average)
os.exit(0)
