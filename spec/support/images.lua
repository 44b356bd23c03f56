-- spec/support/images.lua: the images end-to-end specs run, built from Debian
-- packages by spec/images/build (no registry needed) and cached by tag.
--
--   local images = dofile("spec/support/images.lua")
--   local tags = assert(images.ensure({ "postgres", "redis" }))
--     --> { postgres = "deloc-test/postgres:16", redis = "deloc-test/redis:7" }
--   local env = { DELOC_IMAGES = images.overrides(tags) }
--     --> "postgres=deloc-test/postgres:16,redis=deloc-test/redis:7"
--
-- images.ensure(names) -> { [name] = tag } | nil, message
--   names: a list of "postgres", "redis", "busybox", "zookeeper", "jupyter", "minio",
--   "mc" (or one name; default the first three).
--   Builds what is missing or stale (its inputs changed), saying so in one line
--   on stderr first: the first build runs debootstrap (~40 s); later ones take
--   seconds and an unchanged image is reused as it is.
-- images.overrides(tags [, services]) -> DELOC_IMAGES string
--   Maps the built-in recipes' services to the local images by service name
--   ("postgres=...,redis=..."); `services` adds services of other names:
--   { db = "postgres" } gives "db=deloc-test/postgres:16".
-- images.tag(name) -> tag (without building)
-- images.root -> the repository root (absolute)
--
-- Loaded with dofile from several specs, it is one module: state (what was
-- already checked in this run) is shared.
local KEY = "spec.support.images"
if package.loaded[KEY] then return package.loaded[KEY] end

local sys = require("deloc.sys")

local M = {}

local TAGS = {
  postgres = "deloc-test/postgres:16",
  redis = "deloc-test/redis:7",
  busybox = "deloc-test/busybox:1.35",
  zookeeper = "deloc-test/zookeeper:3.9",
  jupyter = "deloc-test/jupyter:server",
  minio = "deloc-test/minio:RELEASE.2025-04-22T22-12-26Z",
  mc = "deloc-test/mc:RELEASE.2025-04-16T18-13-26Z",
}
-- Images standing in for a built-in recipe's image, by recipe (= service) name.
local RECIPES = { postgres = "postgres", redis = "redis", zookeeper = "zookeeper", jupyter = "jupyter",
  minio = "minio", mc = "minio.buckets" }
local ALL = { "postgres", "redis", "busybox" }

local function repo_root()
  local src = debug.getinfo(1, "S").source:gsub("^@", "")
  local dir = src:match("^(.*)/spec/support/[^/]+$") or "."
  return assert(sys.realpath(dir ~= "" and dir or "/"))
end

M.root = repo_root()
local BUILD = M.root .. "/spec/images/build"

local checked = {} -- name -> tag, once fresh in this process

function M.tag(name)
  local tag = TAGS[name]
  if not tag then
    error(("images: unknown image '%s' (known: postgres, redis, busybox, zookeeper, jupyter, minio, mc)"):format(tostring(name)), 2)
  end
  return tag
end

local function run(args, timeout)
  local argv = { BUILD }
  for _, a in ipairs(args) do argv[#argv + 1] = a end
  local r, err = sys.spawn({ argv = argv, timeout = timeout })
  if not r then
    return nil, ("spec/images/build: %s"):format(tostring(err))
  end
  if r.status ~= 0 then
    local why = (r.stderr or ""):gsub("%s+$", "")
    return nil, why ~= "" and why or ("spec/images/build exited with %s")
      :format(tostring(r.status or r.signal))
  end
  return r.stdout
end

function M.ensure(names)
  if names == nil then names = ALL end
  if type(names) == "string" then names = { names } end
  if type(names) ~= "table" then
    error("images.ensure: expects a list of image names", 2)
  end
  local want, result = {}, {}
  for _, name in ipairs(names) do
    M.tag(name)
    if checked[name] then result[name] = checked[name] else want[#want + 1] = name end
  end
  if #want == 0 then return result end

  local out, err = run({ "--status", unpack(want) }, 60)
  if not out then return nil, err end
  local stale = {}
  for name, state in out:gmatch("(%S+) %S+ (%S+)\n") do
    if state ~= "fresh" then stale[#stale + 1] = name end
  end
  if #stale > 0 then
    io.stderr:write(("building test images %s from Debian packages (the first build "
      .. "runs debootstrap, ~40 s; cached afterwards)\n"):format(table.concat(stale, ", ")))
    io.stderr:flush()
    out, err = run(stale, 900)
    if not out then return nil, "cannot build the test images: " .. err end
  end
  for _, name in ipairs(want) do
    checked[name] = TAGS[name]
    result[name] = TAGS[name]
  end
  return result
end

function M.overrides(tags, services)
  if type(tags) ~= "table" then error("images.overrides: expects the tags from images.ensure", 2) end
  local pairs_ = {}
  for name, tag in pairs(tags) do
    if RECIPES[name] then pairs_[#pairs_ + 1] = RECIPES[name] .. "=" .. tag end
  end
  for service, name in pairs(services or {}) do
    local tag = tags[name]
    if not tag then
      error(("images.overrides: no image '%s' among the tags given for service '%s'")
        :format(tostring(name), tostring(service)), 2)
    end
    pairs_[#pairs_ + 1] = service .. "=" .. tag
  end
  table.sort(pairs_)
  return table.concat(pairs_, ",")
end

package.loaded[KEY] = M
return M
