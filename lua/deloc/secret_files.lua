-- deloc.secret_files: the project's generated secrets, on disk and
-- readable by the containers that mount them (the Docker driver binds them;
-- a generated Compose file names them).  Project state, so it is model, not
-- one target's: deloc.adapters.docker.secrets is this module.
--
--   secret_files.ensure(plan, root) -> true | nil, err
--   secret_files.grant(root, name, uid [, gid]) -> how | nil, err
--   secret_files.read(root, name) -> value | nil, err
--   secret_files.owner_of("999:999") -> 999, 999
--
-- Each secret is generated once per project (deloc.state.secret: random
-- letters and digits from /dev/urandom) and kept in .deloc/secrets/<service>.<name>,
-- mode 0600, in a 0700 directory.  A container gets the single file
-- bind-mounted read-only at /run/secrets/<service>.<name>: never an
-- environment variable, never an argument, never in the state file, a label
-- or `docker inspect` (which shows only the two paths).
--
-- Who may read it: a bind mount keeps the host file's owner and mode, so a
-- container running as a non-root user (e.g. 999:999) cannot read a 0600
-- file owned by the deloc user.  deloc therefore gives the file to the
-- container's user: with the right to chown (deloc runs as root, or as that
-- very uid) the file becomes <uid>:<gid> with mode 0600, so only
-- that uid (and root) can read it.  Without that right it falls back to mode
-- 0644: the 0700 directory still keeps every other host user out (a bind
-- mount does not need search permission on the parents), and the container
-- sees a file it can read.  Containers running as root read it either way.
local state = require("deloc.state")
local errors = require("deloc.errors")

local M = {}

local function owner_of(user)
  if type(user) ~= "string" then return nil end
  local uid, gid = user:match("^(%d+):(%d+)$")
  if not uid then uid = user:match("^(%d+)$"); gid = uid end
  return tonumber(uid), tonumber(gid)
end
M.owner_of = owner_of

local MODE_OWNER, MODE_ALL = tonumber("600", 8), tonumber("644", 8)

-- secrets.grant(root, name, uid [, gid]) -> how | nil, err
-- Makes .deloc/secrets/<name> readable by uid:gid inside a container; says
-- how.  The file is reached without following links (deloc.state.at): a
-- cloned project's committed link there must not get its target chowned.
function M.grant(root, name, uid, gid)
  if not uid or uid == 0 then return "as is" end
  local dir, rel = state.at(root), state.secret_rel(name)
  if dir:chown(rel, uid, gid or uid) then
    local ok, err = dir:chmod(rel, MODE_OWNER)
    if not ok then return nil, err end
    return "owned by " .. uid
  end
  local ok, err = dir:chmod(rel, MODE_ALL)
  if not ok then return nil, err end
  return "mode 0644 in a 0700 directory"
end

local function file_name(source)
  return source:match("^%.deloc/secrets/([%w._-]+)$")
end

-- secrets.ensure(plan, root) -> true | nil, err
-- A file mounted into containers of two different non-root users is given
-- mode 0644 (in its 0700 directory), since one owner cannot be both.
function M.ensure(plan, root)
  local given, gerr = require("deloc.secrets").provide(plan, root)
  if not given then return nil, gerr end
  local users = {}
  local files = {}
  for _, sname in ipairs(plan.order or {}) do
    local svc = plan.services[sname]
    for _, comp in pairs(svc.components or {}) do
      local uid, gid = owner_of(comp.user)
      for sec_name, s in pairs(comp.secrets or {}) do
        local name = s.source and file_name(s.source)
        if not name then
          return nil, errors.new("CONFIG_INVALID", ("secret '%s' of %s: source '%s' is not under .deloc/secrets/")
            :format(sec_name, sname, tostring(s.source)))
        end
        local value, err = state.secret(root, name, s.length)
        if not value then return nil, err end
        if not users[name] then users[name] = {}; files[#files + 1] = name end
        if uid and uid ~= 0 then users[name][uid] = gid or uid end
      end
    end
  end
  for _, name in ipairs(files) do
    local n, uid, gid = 0, nil, nil
    for u, g in pairs(users[name]) do n, uid, gid = n + 1, u, g end
    local ok, err = true, nil
    if n == 1 then
      ok, err = M.grant(root, name, uid, gid)
    elseif n > 1 then
      ok, err = state.at(root):chmod(state.secret_rel(name), MODE_ALL)
    end
    if not ok then return nil, err end
  end
  return true
end

-- A secret's value, for a client a test or a command needs to hand over
-- (never printed by deloc itself).
function M.read(root, name)
  return state.at(root):read(state.secret_rel(name), 65536)
end

return M
