-- deloc.adapters.docker.binds: can the container's user read (and, where
-- asked, write) the files a project mounts into it?
--
--   binds.check(plan) -> true | nil, err
--
-- The mechanism, chosen so that deloc never changes the user's files: a bind
-- mount keeps the host's owner and mode, and containers run with every
-- capability dropped (even root in them has no CAP_DAC_OVERRIDE), so the
-- permission bits decide.  The container joins the source's group
-- (HostConfig.GroupAdd, set by build.container; never group 0) so group bits
-- count; beyond that deloc only checks, before creating anything, and when
-- the bits do not allow it fails naming the path, the container's user and
-- the chmod that would fix it.  It does not chown or chmod on its own: the
-- files are the user's.  Only numeric users are checked (a name's uid is the
-- image's business); the top directory is checked, not every file below it.
local errors = require("deloc.errors")
local sys = require("deloc.sys")

local M = {}

local function ids(user)
  if user == nil then return 0, 0 end
  local u, g = tostring(user):match("^(%d+):(%d+)$")
  if u then return tonumber(u), tonumber(g) end
  u = tostring(user):match("^(%d+)$")
  if u then return tonumber(u), nil end
  return nil
end

-- allowed(info, uid, gids, want) -> boolean; want: 4 read, 2 write (+1 for
-- directories: search)
function M.allowed(info, uid, gids, want)
  local shift
  if info.uid == uid then shift = 6
  elseif gids[info.gid] then shift = 3
  else shift = 0 end
  local bits = math.floor(info.mode / 2 ^ shift) % 8
  return bit.band(bits, want) == want
end

local function fix(m, want_write)
  local what = want_write and "w" or "r"
  if m.kind == "directory" then what = what .. (want_write and "x" or "X") end
  return ("chmod o+%s %s"):format(what, m.given or m.source)
end

function M.check(plan)
  for _, sname in ipairs(plan.order or {}) do
    local svc = plan.services[sname]
    for _, cname in ipairs(svc.component_order or {}) do
      local comp = svc.components[cname]
      local uid, gid = ids(comp.user)
      for key, m in pairs(uid and comp.mounts or {}) do
        local kind, info = sys.stat(m.source)
        if not kind then
          return nil, errors.new("CONFIG_INVALID", ("mount '%s' of %s: '%s' no longer exists"):format(
            key, sname, m.source))
        end
        local gids = {}
        if gid then gids[gid] = true end
        if m.gid and m.gid ~= 0 then gids[m.gid] = true end
        local want = 4 + (m.writable and 2 or 0) + (kind == "directory" and 1 or 0)
        if not M.allowed(info, uid, gids, want) then
          return nil, errors.new("CONFIG_INVALID", ("%s runs as %s and cannot %s %s (owner %d:%d, mode %04o)"):format(
            cname == sname and sname or (sname .. "." .. cname), tostring(comp.user or "root"),
            m.writable and "write" or "read", m.source, info.uid, info.gid, info.mode), {
            hint = ("deloc does not change your files' owner or mode; e.g. %s (or chmod g+%s and a non-root group: "
              .. "the container joins the file's group)"):format(fix(m, m.writable), m.writable and "w" or "r") })
        end
      end
    end
  end
  return true
end

return M
