-- deloc.suggest: "did you mean ...?" for unknown names.
local M = {}

-- Edit distance counting a swap of two neighbours as one edit (imgae -> image).
local function distance(a, b)
  local la, lb = #a, #b
  if la == 0 then return lb end
  if lb == 0 then return la end
  local before, prev, cur = {}, {}, {}
  for j = 0, lb do prev[j] = j end
  for i = 1, la do
    cur[0] = i
    local ca = a:byte(i)
    for j = 1, lb do
      local cost = ca == b:byte(j) and 0 or 1
      local v = prev[j] + 1
      if cur[j - 1] + 1 < v then v = cur[j - 1] + 1 end
      if prev[j - 1] + cost < v then v = prev[j - 1] + cost end
      if i > 1 and j > 1 and ca == b:byte(j - 1) and a:byte(i - 1) == b:byte(j)
        and before[j - 2] + 1 < v then
        v = before[j - 2] + 1
      end
      cur[j] = v
    end
    before, prev, cur = prev, cur, before
  end
  return prev[lb]
end
M.distance = distance

-- A typo of a name is about as long as the name, and names are short: the
-- work is bounded (at most MAX_LENGTH x MAX_LENGTH per candidate, and
-- MAX_CANDIDATES candidates), so a megabyte of text from a hostile
-- deloc.yaml costs nothing.
M.MAX_LENGTH = 64
M.MAX_CANDIDATES = 2000

-- The closest of `candidates` (array or set of strings) to `name`, or nil when
-- nothing is close enough to be a likely typo.
function M.closest(name, candidates)
  if type(name) ~= "string" or #name > M.MAX_LENGTH then return nil end
  local best, best_d
  local list = {}
  if candidates[1] ~= nil or next(candidates) == nil then
    list = candidates
  else
    for k in pairs(candidates) do list[#list + 1] = k end
  end
  local strings = {}
  for _, c in ipairs(list) do
    if type(c) == "string" and #strings < M.MAX_CANDIDATES then strings[#strings + 1] = c end
  end
  list = strings
  table.sort(list)
  local lname = name:lower()
  local limit = math.max(1, math.floor(#name / 3))
  for _, c in ipairs(list) do
    -- the distance is at least the difference in length
    local lc = c:lower()
    local prefix = #lname >= 3 and lc:sub(1, #lname) == lname
    if prefix then
      if not best_d or 1 < best_d then best, best_d = c, 1 end
    elseif #c <= M.MAX_LENGTH and math.abs(#c - #name) <= limit then
      local d = distance(lname, lc)
      if not best_d or d < best_d then best, best_d = c, d end
    end
  end
  if best and best_d <= math.max(1, math.floor(#name / 3)) then
    return best
  end
  return nil
end

-- " (did you mean 'x'?)" or "".
function M.hint(name, candidates)
  local c = M.closest(name, candidates)
  return c and (" (did you mean '" .. c .. "'?)") or ""
end

return M
