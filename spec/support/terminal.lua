-- spec/support/terminal.lua: a real terminal for end-to-end specs, a tmux
-- session on its own name that the spec starts and kills.
--
--   local terminal = dofile("spec/support/terminal.lua")
--   local t = terminal.new("exec")              -- session "deloc-exec-<pid>"
--   t:start("deloc exec box sh; echo EXIT=$?")   -- 100x30 unless {x=, y=}
--   t:wait_for("/ $" [, seconds = 15]); t:type_line("tty"); t:screen()
--   t:keys("C-c"); t:resize(120, 40); t:pid() (the pane's shell's child)
--   t:kill()                                    -- in after_each / finally
local sys = require("deloc.sys")

local M = {}
local T = {}
T.__index = T

local function tmux(...) return sys.spawn({ argv = { "tmux", ... } }) end

function M.new(name)
  return setmetatable({ session = ("deloc-%s-%d"):format(name, sys.pid()) }, T)
end

function T:start(cmd, size)
  size = size or {}
  local r = tmux("new-session", "-d", "-s", self.session, "-x", tostring(size.x or 100),
    "-y", tostring(size.y or 30), cmd)
  assert(r and r.status == 0, "tmux new-session: " .. tostring(r and r.stderr))
end

function T:screen() return tmux("capture-pane", "-p", "-t", self.session).stdout end

function T:wait_for(text, seconds)
  local deadline = sys.now() + (seconds or 15)
  while sys.now() < deadline do
    if self:screen():find(text, 1, true) then return true end
    sys.sleep(0.05)
  end
  error("screen never showed " .. text .. ":\n" .. self:screen(), 2)
end

-- tmux reads a trailing ';' as its own separator: end SQL with \g instead
function T:type_line(text)
  tmux("send-keys", "-t", self.session, "-l", text)
  tmux("send-keys", "-t", self.session, "Enter")
end

function T:keys(...) tmux("send-keys", "-t", self.session, ...) end

function T:resize(x, y) tmux("resize-window", "-t", self.session, "-x", tostring(x), "-y", tostring(y)) end

-- The process the pane's shell runs (the command under test).
function T:pid()
  local shell = tmux("display-message", "-p", "-t", self.session, "#{pane_pid}").stdout:match("%d+")
  local children = shell and sys.read_file(("/proc/%s/task/%s/children"):format(shell, shell)) or ""
  return tonumber(children:match("%d+"))
end

function T:kill() tmux("kill-session", "-t", self.session) end

return M
