-- The layers, read from the real `require` graph of lua/, adapters/ and
-- recipes/: core <- model <- adapters <- cli, each using only those below
-- it, and no target using another target (README "Development: layers").
--
-- Every require("...") in a file counts, lazy ones inside functions too;
-- require("deloc.plan." .. name) counts as every module under deloc.plan.
-- A module no rule places is an error too: a new file says its layer here.
local sys = require("deloc.sys")

local ROOT = (function()
  local src = debug.getinfo(1, "S").source:gsub("^@", "")
  local dir = src:match("^(.*)/spec/[^/]+$") or "."
  return assert(sys.realpath(dir ~= "" and dir or "."))
end)()

local CORE, MODEL, ADAPTERS, CLI = 1, 2, 3, 4
local LAYER_NAME = { "core", "model", "adapters", "cli" }

-- first match wins; patterns are anchored
local RULES = {
  { "^deloc%.native%.", CORE }, { "^cjson", CORE }, { "^bit$", CORE }, { "^ffi$", CORE },
  { "^jit", CORE }, { "^string%.buffer$", CORE }, { "^table%.new$", CORE },
  { "^deloc%.sys$", CORE }, { "^deloc%.yaml$", CORE }, { "^deloc%.json$", CORE },
  { "^deloc%.http$", CORE }, { "^deloc%.dag$", CORE }, { "^deloc%.pack$", CORE },
  { "^deloc%.term$", CORE }, { "^deloc%.array$", CORE }, { "^deloc%.errors$", CORE },
  { "^deloc%.quantity$", CORE }, { "^deloc%.inspect$", CORE }, { "^deloc%.suggest$", CORE },
  { "^deloc%.sched$", CORE }, { "^deloc%.sandbox$", CORE }, { "^deloc%.names$", CORE },
  { "^deloc%.tar$", CORE },
  { "^deloc%.recipe$", MODEL }, { "^deloc%.registry$", MODEL }, { "^deloc%.project$", MODEL },
  { "^deloc%.profiles$", MODEL }, { "^deloc%.planner$", MODEL }, { "^deloc%.plan%.", MODEL },
  { "^deloc%.health$", MODEL }, { "^deloc%.state$", MODEL }, { "^deloc%.secret_files$", MODEL },
  { "^deloc%.secrets$", MODEL }, { "^deloc%.drivers$", MODEL }, { "^deloc%.converge$", MODEL }, { "^deloc%.filesink$", CORE }, { "^deloc%.mounts$", MODEL }, { "^deloc%.exports$", MODEL },
  { "^deloc%.interpolate$", MODEL }, { "^deloc%.import$", MODEL },
  { "^deloc%.isolate$", MODEL },
  { "^deloc%.adapters%.", ADAPTERS }, { "^deloc%.k8s%.", ADAPTERS }, { "^deloc%.kubeconfig$", ADAPTERS },
  { "^deloc$", CLI }, { "^deloc%.api$", CLI }, { "^deloc%.cli$", CLI }, { "^deloc%.args$", CLI },
  { "^deloc%.cmdutil$", CLI }, { "^deloc%.commands%.", CLI }, { "^deloc%.targets$", CLI },
  { "^deloc%.run$", CLI }, { "^deloc%.repl$", CLI }, { "^deloc%.generate$", CLI },
  { "^deloc%.ui%.", CLI }, { "^deloc%.init$", CLI }, { "^deloc%.session$", CLI }, { "^deloc%.stack$", CLI },
  { "^recipes%.", MODEL },
}

-- Adapters come in families (one a target or renderer); a family may use
-- the shared Kubernetes objects, never another family.
local function family(mod)
  local f = mod:match("^deloc%.adapters%.([%w_]+)")
  if f then return f end
  if mod == "deloc.kubeconfig" then return "kubernetes" end
  if mod:match("^deloc%.k8s%.") then return "shared" end
  return nil
end

-- Edges that break the rules today, each named with the file's owner and
-- why it is still here.  The list only shrinks: an edge that is gone must
-- leave it (the spec fails on a stale entry), and the lead requires it empty.
local ALLOWED = {
  -- sandbox: the user environment (`deloc run`, REPL) hands programs the
  -- whole API; recipes use the same module for their strict environment
  ["deloc.sandbox -> deloc"] = "sandbox: user_base belongs with deloc.run / deloc.repl",
}

local function layer_of(mod)
  for _, r in ipairs(RULES) do
    if mod:match(r[1]) then return r[2] end
  end
  return nil
end

local function module_name(path)
  local rel = path:sub(#ROOT + 2):gsub("%.lua$", "")
  local m = rel:match("^lua/(.+)$")
  if m then
    m = m:gsub("/", ".")
    return (m:gsub("%.init$", ""))
  end
  m = rel:match("^adapters/(.+)$")
  if m then return "deloc.adapters." .. m:gsub("/", ".") end
  return rel:gsub("/", ".")
end

local function lua_files()
  local out = {}
  local function walk(dir)
    for _, name in ipairs(sys.listdir(dir) or {}) do
      local p = dir .. "/" .. name
      if sys.isdir(p) then walk(p) elseif name:match("%.lua$") then out[#out + 1] = p end
    end
  end
  for _, top in ipairs({ "lua", "adapters", "recipes" }) do walk(ROOT .. "/" .. top) end
  table.sort(out)
  return out
end

-- require("x"), require "x", require('x'), require("prefix." .. name);
-- comment lines are documentation, not code
local function requires(text)
  local out = {}
  for line in (text .. "\n"):gmatch("([^\n]*)\n") do
    if not line:match("^%s*%-%-") then
      for _, name in line:gmatch("require%s*%(?%s*([\"'])([%w_.]+)%1") do
        out[#out + 1] = name
      end
    end
  end
  return out
end

local function graph()
  local files, modules, edges = lua_files(), {}, {}
  for _, path in ipairs(files) do modules[module_name(path)] = path end
  for _, path in ipairs(files) do
    local from = module_name(path)
    for _, to in ipairs(requires(assert(sys.read_file(path)))) do
      if to:sub(-1) == "." then
        for m in pairs(modules) do
          if m:sub(1, #to) == to then edges[#edges + 1] = { from, m } end
        end
      else
        edges[#edges + 1] = { from, to }
      end
    end
  end
  return modules, edges
end

-- the CLI reaches a live target only through the driver registry
-- (deloc.targets); renderers are named by what they write (deloc.generate)
local DRIVER_GATE = { ["deloc.targets"] = true }

local function violation(from, to)
  local lf, lt = layer_of(from), layer_of(to)
  if not lf then return ("%s has no layer (add it to spec/layers_spec.lua RULES)"):format(from) end
  if not lt then return ("%s requires %s, which has no layer"):format(from, to) end
  if lt > lf then
    return ("%s (%s) requires %s (%s): upward"):format(from, LAYER_NAME[lf], to, LAYER_NAME[lt])
  end
  local ff, ft = family(from), family(to)
  if lf == ADAPTERS and lt == ADAPTERS and ff ~= ft and ft ~= "shared" then
    return ("%s (%s) requires %s (%s): sideways, one target using another"):format(from, ff, to, ft)
  end
  if lf == CLI and (ft == "docker" or ft == "kubernetes") and not DRIVER_GATE[from] then
    return ("%s requires %s: the CLI names a target (go through deloc.targets)"):format(from, to)
  end
  return nil
end

describe("layers", function()
  local modules, edges = graph()

  it("reads the real graph (lazy requires included)", function()
    assert.truthy(modules["deloc.planner"])
    assert.truthy(modules["deloc.adapters.compose"])
    local lazy = false
    for _, e in ipairs(edges) do
      if e[1] == "deloc.plan.sizing" and e[2] == "deloc.sys" then lazy = true end
    end
    assert.is_true(lazy, "the lazy require of deloc.sys inside sizing's capacity_of")
  end)

  it("has a layer for every module", function()
    local missing = {}
    for m in pairs(modules) do
      if not layer_of(m) then missing[#missing + 1] = m end
    end
    table.sort(missing)
    assert.same({}, missing)
  end)

  it("has no upward or sideways edge beyond the named allowlist", function()
    local bad, used = {}, {}
    for _, e in ipairs(edges) do
      local why = violation(e[1], e[2])
      if why then
        local key = e[1] .. " -> " .. e[2]
        if ALLOWED[key] then used[key] = true else bad[#bad + 1] = why end
      end
    end
    table.sort(bad)
    assert.same({}, bad)
    local stale = {}
    for key in pairs(ALLOWED) do if not used[key] then stale[#stale + 1] = key end end
    table.sort(stale)
    assert.same({}, stale, "allowlisted edges that are gone: remove them from ALLOWED")
  end)

  it("catches what it is for", function()
    assert.truthy(violation("deloc.planner", "deloc.adapters.docker"))
    assert.truthy(violation("deloc.adapters.compose", "deloc.api"))
    assert.truthy(violation("deloc.adapters.compose", "deloc.adapters.docker.secrets"))
    assert.truthy(violation("deloc.sys", "deloc.recipe"))
    assert.is_nil(violation("deloc.adapters.helm", "deloc.k8s.objects"))
    assert.is_nil(violation("deloc.commands.plan", "deloc.planner"))
    assert.truthy(violation("deloc.commands.up", "deloc.adapters.docker"))
    assert.is_nil(violation("deloc.targets", "deloc.adapters.kubernetes"))
    assert.same({ "a.b", "c" }, requires('local x = require("a.b")\n  -- require("no")\nlocal y = require \'c\''))
  end)
end)
