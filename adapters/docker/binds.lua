-- deloc.adapters.docker.binds: can the container's user read (and, where
-- asked, write) the files a project mounts into it?
--
--   binds.check(plan) -> true | nil, err
--   binds.confine(service, key, mount, ctx) -> realpath | nil, err
--   binds.user_sources(mount_flags) -> { [realpath] = true } | nil, err
--   binds.secret_source(service, key, secret, ctx) -> path | nil, err
--     (a secret file is bound only from the project's .deloc/secrets/)
--
-- confine is the trust boundary at bind time (build.container calls it for
-- every mount it turns into a bind): the plan comes back from the recipe
-- sandbox as data, so a source in it is believed only if it resolves
-- (realpath) inside ctx.root and not to .deloc/, as deloc.mounts demands of
-- a project file, or if it is one this process itself resolved from the
-- user's --mount flags (ctx.user_sources).  A mark in the plan saying
-- "from the command line" is the child's word, and proves nothing.
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
local mounts = require("deloc.mounts")

local M = {}

-- user_sources(list) -> set of the realpaths the --mount flags name
function M.user_sources(list)
  local set = {}
  local o, err = mounts.flags(list)
  if err then return nil, err end
  for _, svc in pairs(o or {}) do
    for _, e in pairs(svc.mounts) do set[e.source] = true end
  end
  return set
end

-- secret_source(service, key, s, ctx) -> root/.deloc/secrets/NAME | nil, err
function M.secret_source(service, key, s, ctx)
  local name = type(s.source) == "string" and s.source:match("^%.deloc/secrets/([^/]+)$")
  if not name or name == "." or name == ".." or name:find("%c") then
    return nil, errors.new("CONFIG_INVALID", ("secret '%s' of %s: '%s' is not a file in .deloc/secrets/")
      :format(key, service, tostring(s.source)))
  end
  return (ctx.root or ".") .. "/" .. s.source
end

-- confine(service, key, m, ctx) -> the source to bind | nil, err
function M.confine(service, key, m, ctx)
  local where = ("mount '%s' of %s"):format(key, service)
  local hint = { hint = "deloc binds nothing outside the project because of what the project holds; "
    .. "pass --mount SERVICE.POINT=PATH on the command line for a path of your own" }
  if type(m.source) ~= "string" or m.source == "" then
    return nil, errors.new("CONFIG_INVALID", where .. ": the plan names no source path", hint)
  end
  local real = sys.realpath(m.source)
  if real and (ctx.user_sources or {})[real] then return real end
  if not ctx.root then
    return nil, errors.new("CONFIG_INVALID", ("%s: no project directory to check '%s' against")
      :format(where, m.source), hint)
  end
  local e, why = mounts.source(ctx.root, m.source)
  if not e then return nil, errors.new("CONFIG_INVALID", where .. ": " .. why, hint) end
  return e.source
end

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
