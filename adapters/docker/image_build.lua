-- deloc.adapters.docker.image_build: images built from the project's own
-- files through the Engine's build API (POST /build, the context as a tar).
--
--   image_build.resolve(comp, root, project) -> tag | nil, err
--     packs the context (comp.build = { context=, dockerfile= }, relative to
--     the project directory `root` and inside it, links included), leaving
--     out what .dockerignore says, and sets comp.image to
--     "deloc-<project>/<service>[-<component>]:<hash of the context>"; the
--     same files give the same tag, so the container is recreated only when
--     the context changes.  Cached for the run.
--   image_build.remove_images(c, project) -> { tags } | nil, err   (deloc clean)
--   image_build.ensure(run, image, service, emit, comp) -> true | nil, err
--     builds comp's image unless the engine has that tag already; progress
--     (each Dockerfile step) goes to emit("building", text).
--
-- The context's files go into the tar with mtime 0 and uid/gid 0: the tag
-- is a hash of names, modes and contents only (touching a file does not
-- rebuild), and COPY'd files are the same whoever builds.
local errors = require("deloc.errors")
local json = require("deloc.json")
local sys = require("deloc.sys")
local archive = require("deloc.adapters.docker.archive")

local M = {}

local cache = {} -- context|dockerfile -> { tar=, hash= }
local bases = setmetatable({}, { __mode = "k" }) -- comp -> the plan's own config hash
local tars = setmetatable({}, { __mode = "k" }) -- comp -> its context (never in the plan: state.json keeps the plan)

-- ---- .dockerignore ----

-- One path segment against one glob segment (* ? [..] and \ escapes).
local function seg_pattern(glob)
  local out, i = { "^" }, 1
  while i <= #glob do
    local ch = glob:sub(i, i)
    if ch == "*" then out[#out + 1] = "[^/]*"
    elseif ch == "?" then out[#out + 1] = "[^/]"
    elseif ch == "[" then
      local close = glob:find("]", i + 1, true)
      if not close then out[#out + 1] = "%["
      else
        local body = glob:sub(i + 1, close - 1):gsub("^!", "^"):gsub("%%", "%%%%")
        out[#out + 1] = "[" .. body .. "]"
        i = close
      end
    elseif ch == "\\" and i < #glob then
      i = i + 1
      out[#out + 1] = "%" .. glob:sub(i, i)
    elseif ch:match("%p") then out[#out + 1] = "%" .. ch
    else out[#out + 1] = ch end
    i = i + 1
  end
  out[#out + 1] = "$"
  return table.concat(out)
end

local function split(path)
  local t = {}
  for p in path:gmatch("[^/]+") do t[#t + 1] = p end
  return t
end

-- Segments of a pattern against segments of a path; ** spans any number.
local function match_segs(ps, i, xs, j)
  if i > #ps then return j > #xs end
  if ps[i] == "**" then
    for k = j, #xs + 1 do
      if match_segs(ps, i + 1, xs, k) then return true end
    end
    return false
  end
  if j > #xs then return false end
  if not xs[j]:match(ps[i]) then return false end
  return match_segs(ps, i + 1, xs, j + 1)
end

-- dockerignore(text) -> matcher(rel) -> true when rel is left out.  As
-- docker: patterns are relative to the context root ("/" and "./" dropped),
-- the last one matching wins, "!" re-includes, a directory matched leaves
-- out what is below it.
function M.dockerignore(text)
  local rules = {}
  for line in (text or ""):gmatch("[^\n]+") do
    line = line:gsub("\r$", ""):gsub("^%s+", ""):gsub("%s+$", "")
    if line ~= "" and line:sub(1, 1) ~= "#" then
      local neg = line:sub(1, 1) == "!"
      if neg then line = line:sub(2):gsub("^%s+", "") end
      line = line:gsub("^/+", ""):gsub("^%./", ""):gsub("/+$", "")
      local segs = {}
      for _, s in ipairs(split(line)) do
        if s ~= "." then segs[#segs + 1] = s == "**" and s or seg_pattern(s) end
      end
      if #segs > 0 then rules[#rules + 1] = { neg = neg, segs = segs } end
    end
  end
  return function(rel)
    local xs = split(rel)
    local out = false
    for _, r in ipairs(rules) do
      -- the path or one of its parents
      for n = #xs, 1, -1 do
        local prefix = { unpack(xs, 1, n) }
        if match_segs(r.segs, 1, prefix, 1) then out = not r.neg; break end
      end
    end
    return out
  end
end

-- ---- hashing ----

-- Two 32-bit FNV-1a lanes over the tar: 16 hex digits, for a tag.
local function hash(s)
  local bit = require("bit")
  local a, b = 0x811c9dc5, 0x050c5d1f
  for i = 1, #s do
    local c = s:byte(i)
    a = bit.tobit(bit.bxor(a, c) * 16777619)
    b = bit.tobit(bit.bxor(b, c + 31) * 16777619)
  end
  return bit.tohex(a) .. bit.tohex(b)
end

-- ---- the context ----

local function inside(root, path)
  return path == root or path:sub(1, #root + 1) == root .. "/"
end

local function pack(root, b)
  local real_root = sys.realpath(root)
  local dir = real_root and sys.realpath(real_root .. "/" .. b.context)
  if not dir or not inside(real_root, dir) then
    return nil, errors.new("CONFIG_INVALID", ("build context '%s' %s"):format(b.context,
      dir and "resolves outside the project directory" or "does not exist in the project directory"),
      { hint = "the context is a directory of the project, relative to " .. tostring(real_root or root) })
  end
  local df = sys.realpath(dir .. "/" .. b.dockerfile)
  if not df or not inside(dir, df) or sys.isdir(df) then
    return nil, errors.new("CONFIG_INVALID", ("no Dockerfile '%s' in the build context %s"):format(b.dockerfile, b.context))
  end
  local ignored = M.dockerignore(sys.read_file(dir .. "/.dockerignore"))
  local keep = { [b.dockerfile:gsub("^%./", "")] = true, [".dockerignore"] = true }
  local tar, err = archive.pack(dir, "", { mtime = 0, filter = function(rel)
    if keep[rel] then return true end
    return not ignored(rel)
  end })
  if not tar then return nil, err end
  -- a target stage is part of what the image is (without one, the hash
  -- stays what it was, so existing builds keep their tags)
  local what = b.target and (b.dockerfile .. "\0target=" .. b.target) or b.dockerfile
  return { tar = tar, hash = hash(what .. "\0" .. tar) }
end

function M.resolve(comp, root, project)
  local b = comp.build
  local key = root .. "\0" .. b.context .. "\0" .. b.dockerfile .. "\0" .. (b.target or "")
  local ctx = cache[key]
  if not ctx then
    local err
    ctx, err = pack(root, b)
    if not ctx then return nil, err end
    cache[key] = ctx
  end
  tars[comp] = ctx.tar
  comp.image = ("deloc-%s/%s:%s"):format(project, comp.service ..
    (comp.name ~= comp.service and ("-" .. comp.name) or ""), ctx.hash)
  -- the plan's config hash knew only "...:build": the context's hash joins
  -- it, so a changed context recreates the container
  local base = bases[comp] or comp.config_hash
  bases[comp] = base
  if base then comp.config_hash = require("deloc.adapters.docker.build").hash({ base, comp.image }) end
  return comp.image
end

-- ---- building ----

function M.ensure(run, image, service, emit, comp)
  local c = run.c
  local ok, err = c:get("/images/" .. image .. "/json")
  if ok then return true end
  if not (errors.is(err) and err.status == 404) then return nil, err end
  emit("building", image)
  local berr, tail = nil, {}
  local lines = require("deloc.adapters.docker.stream").lines(function(line)
    local ev = json.decode(line)
    if type(ev) ~= "table" then return end
    if ev.error then berr = ev.error; return end
    local text = type(ev.stream) == "string" and ev.stream:gsub("%s+$", "")
    if text and text ~= "" then
      tail[#tail + 1] = text
      if #tail > 12 then table.remove(tail, 1) end
      local step = text:match("^Step %d+/%d+ : .*")
      if step then emit("building", step:sub(1, 100)) end
    end
  end)
  local res
  res, err = c:request({ method = "POST", path = "/build", timeout = 3600,
    query = { t = image, dockerfile = comp.build.dockerfile, target = comp.build.target, rm = 1, forcerm = 1,
      labels = json.encode({ ["dev.deloc.project"] = run.plan.project, ["dev.deloc.service"] = service }) },
    body = tars[comp], content_type = "application/x-tar",
    on_data = function(ch) lines:feed(ch) end })
  lines:finish()
  if not res then berr = berr or (err and (err.engine_message or err.message)) end
  if berr then
    local msg = ("cannot build the image of %s: %s"):format(service, tostring(berr):gsub("%s+$", ""))
    return nil, errors.new("DEPLOYMENT_FAILED", msg, { logs = tail,
      hint = ("see the Dockerfile %s in %s"):format(comp.build.dockerfile, comp.build.context) })
  end
  return true
end

-- The images built for the project (labelled by POST /build), every tag.
function M.remove_images(c, project)
  local list, err = c:get("/images/json", { filters = json.encode({ label = { "dev.deloc.project=" .. project } }) })
  if not list then return nil, err end
  local out = {}
  for _, img in ipairs(list) do
    local ok, derr = c:delete("/images/" .. img.Id, { force = 1 })
    if not ok and not (errors.is(derr) and derr.status == 404) then return nil, derr end
    for _, t in ipairs(img.RepoTags or {}) do out[#out + 1] = t end
  end
  table.sort(out)
  return out
end

return M
