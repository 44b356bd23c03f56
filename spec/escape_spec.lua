-- Control characters from recipes, deloc.yaml or the engine never reach the
-- terminal raw (issue 11, point 4): tables, error messages, `recipes show`
-- and progress lines show them escaped.  Before, a recipe's description
-- "\27]0;title\7" set the terminal's title from `deloc recipes`, and a
-- recipe's error() text with "\27[2J" cleared the screen of `deloc plan`.
local sys = require("deloc.sys")
local term = require("deloc.term")
local tbl = require("deloc.ui.table")

local EXE = sys.realpath("/proc/self/exe") or "./deloc"

describe("term.escape", function()
  it("shows ESC, CR, tab, other C0, DEL, C1 and stray bytes escaped; keeps UTF-8", function()
    assert.equal("a\\e[2Jb\\rc\\td\\ne\\x01\\x7f", term.escape("a\27[2Jb\rc\td\ne\1\127"))
    assert.equal("x\ny\\e", term.escape("x\ny\27", true))
    assert.equal("\\u009b6n \\x9b \\xff", term.escape("\194\1556n \155 \255"))
    assert.equal("héllo ✓ \226\128\168", term.escape("héllo ✓ \226\128\168"))
    assert.equal("\\x00", term.escape("\0"))
  end)

  it("keeps a table's cells on their lines", function()
    local text = tbl.render({ "A", "B" }, { { "x\ny", "\27]0;t\7" } })
    assert.equal("A     B\nx\\ny  \\e]0;t\\x07\n", text)
  end)
end)

describe("deloc's output from a hostile project", function()
  local dir
  before_each(function()
    dir = os.tmpname()
    os.remove(dir)
    assert(sys.mkdir_p(dir .. "/recipes"))
    assert(sys.write_atomic(dir .. "/recipes/evil.lua", [[
return recipe "evil" { description = "nice\27]0;pwned\7\27[2J", image = "busybox:1.36",
  env = function() error("boom\27[2J\r\n\27[31mred") end }
]], 420))
    assert(sys.write_atomic(dir .. "/deloc.yaml", "services:\n  evil: {}\n", 420))
  end)
  after_each(function() sys.spawn({ argv = { "rm", "-rf", dir } }) end)

  local function run(...)
    return assert(sys.spawn({ argv = { EXE, ... }, cwd = dir, env = { NO_COLOR = "1" } }))
  end

  it("escapes them in `recipes`, `recipes show` and error messages", function()
    for _, argv in ipairs({ { "recipes" }, { "recipes", "show", "evil" }, { "plan" } }) do
      local r = run(unpack(argv))
      local all = r.stdout .. r.stderr
      assert.is_nil(all:find("\27", 1, true), table.concat(argv, " ") .. ": " .. all)
      assert.is_nil(all:find("\r", 1, true), table.concat(argv, " "))
      assert.matches("\\e", all, 1, true)
    end
  end)
end)
