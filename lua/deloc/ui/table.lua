-- deloc.ui.table: plain text tables for terminal output.
--
--   local text = table_ui.render({ "SERVICE", "CPU" }, { { "kafka", "1" }, ... },
--                                { align = { nil, "right" }, width = 100, indent = "" })
--
-- Columns are as wide as their widest cell (counted in characters, UTF-8
-- aware), separated by two spaces; `align[i] = "right"` right-aligns a column
-- (numbers).  With `width`, the widest column shrinks (its cells are cut with
-- "…") until the table fits, so a line never wraps on a narrow terminal.
-- Cells may be strings, numbers or nil (empty).  No colour, no trailing spaces.
-- Control characters in cells (from recipes, deloc.yaml, the engine) are
-- shown escaped (deloc.term.escape): "\e", "\r", "\n", "\x01"; a cell can
-- neither break the table's lines nor drive the terminal.
local escape = require("deloc.term").escape

local M = {}

local function len(s)
  -- characters, not bytes: continuation bytes 0x80-0xBF do not count
  local _, extra = s:gsub("[\128-\191]", "")
  return #s - extra
end
M.len = len

local function cut(s, n)
  if len(s) <= n then return s end
  if n <= 1 then return ("…"):sub(1, n > 0 and #"…" or 0) end
  local out, count = {}, 0
  for ch in s:gmatch("[%z\1-\127\194-\244][\128-\191]*") do
    if count >= n - 1 then break end
    out[#out + 1] = ch
    count = count + 1
  end
  return table.concat(out) .. "…"
end

-- render(headers, rows [, opts]) -> text ending in a newline ("" for no rows and no headers)
function M.render(headers, rows, opts)
  opts = opts or {}
  local align = opts.align or {}
  local ncol = headers and #headers or 0
  local cells = {}
  for r, row in ipairs(rows) do
    cells[r] = {}
    for c = 1, math.max(ncol, table.maxn(row)) do
      local v = row[c]
      cells[r][c] = v == nil and "" or escape(tostring(v))
      if c > ncol then ncol = c end
    end
  end
  local widths = {}
  for c = 1, ncol do
    local w = headers and headers[c] and len(headers[c]) or 0
    for r = 1, #cells do
      local l = len(cells[r][c] or "")
      if l > w then w = l end
    end
    widths[c] = w
  end
  if opts.width then
    local indent = opts.indent and len(opts.indent) or 0
    local total = indent + 2 * math.max(0, ncol - 1)
    for c = 1, ncol do total = total + widths[c] end
    while total > opts.width do
      local widest, wc = 0, nil
      for c = 1, ncol do if widths[c] > widest then widest, wc = widths[c], c end end
      if not wc or widest <= 8 then break end
      local cutby = math.min(total - opts.width, widest - 8)
      widths[wc] = widest - cutby
      total = total - cutby
    end
  end
  local lines = {}
  local function line(row)
    local parts = {}
    for c = 1, ncol do
      local s = cut(row[c] or "", widths[c])
      local pad = (" "):rep(widths[c] - len(s))
      if align[c] == "right" then parts[c] = pad .. s
      elseif c == ncol then parts[c] = s
      else parts[c] = s .. pad end
    end
    lines[#lines + 1] = ((opts.indent or "") .. table.concat(parts, "  ")):gsub("%s+$", "")
  end
  if headers then
    local h = {}
    for c = 1, ncol do h[c] = headers[c] and escape(headers[c]) end
    line(h)
  end
  for r = 1, #cells do line(cells[r]) end
  if #lines == 0 then return "" end
  return table.concat(lines, "\n") .. "\n"
end

return M
