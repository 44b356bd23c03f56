-- deloc.planner: recipes + project + flags -> the plan, the one input every
-- adapter uses.  Nothing here starts anything; the plan is plain data.
--
--   local plan, err = planner.plan{
--     services = { "airflow" },        -- asked for; default: the project's services
--     registry = registry.new{...},    -- where recipes come from
--     project = project,               -- deloc.project.load(...) result, or nil
--     profile = "minimal", target = "docker", reserve = 0.15,   -- flags (win over the project)
--     overrides = { kafka = { resources = { memory = "1Gi" } } },  -- flags, same shape as
--                                      -- deloc.yaml services.<name> (win over the project)
--     images = { ["postgres:16.4-bookworm"] = "my/pg:16", redis = "my/redis:7" },
--     mirror = "registry.local:5000/",
--     capacity = { cpu=, memory=, disk=, source = {...} },  -- instead of this machine's
--                                      -- (the Docker driver passes the engine's /info)
--                  nodes = { { name=, cpu=, memory= } },   -- a cluster's: replicas are placed
--     listening = { [5432] = true },   -- host ports in use, or a function returning them,
--                                      -- called only if a port is published (default:
--                                      -- /proc/net/tcp{,6}, udp{,6})
--     previous = plan,                 -- last applied plan: its host ports are ours, kept
--     explain = true,                  -- plan.explain says where each value came from
--   }
--
-- The plan (contract.md; arrays marked with deloc.array so `[]` stays `[]`):
--
--   plan = { project=, profile=, target=, network = "deloc-<project>", dir = project dir,
--     capacity = { cpu=, memory=, disk=, source = {...}, reserve=,
--                  usable = { cpu=, memory=, disk= } },
--     order = { services, dependencies first }, levels = { { ... }, ... },
--     components = { { service=, component=, id= }, ... }   -- every component, in start order
--     services = { NAME = {
--       name=, recipe = { name=, origin = "builtin"|"user", path= }, why = "asked for" | "needed by X",
--       description=, category=, options = { resolved }, depends_on = { services },
--       component_order = { ... }, primary = component name,
--       components = { NAME = {
--         name=, service=, kind = "service"|"oneshot", image=, replicas=, scalable=,
--         cpu=, memory= (bytes), heap_mb= | nil, env = { K = "string" },
--         command=, entrypoint=, ports = { NAME = { container=, host= | nil, protocol=, publish=, http= } },
--         volumes = { NAME = { path=, name = "deloc-<project>-<service>-<volume>", data=, size= } },
--         tmpfs=, secrets = { NAME | "svc.NAME" = { file = "/run/secrets/<svc>.<name>",
--                              source = ".deloc/secrets/<svc>.<name>", service=, name=, length= } },
--         health = { kind=, exec=, port= (container number), path=, scheme=, pattern=,
--                    interval=, timeout=, retries=, start_period= } | nil,   -- seconds
--         user=, read_only=, capabilities=, restricted=, restricted_reason=,
--         depends_on = { { service=, component=, condition = "healthy"|"completed" } },
--         aliases = { DNS names on the project network },
--         -- facts every target uses as they are (deloc.plan.facts decides them):
--         id = "<svc>" | "<svc>-<comp>", host_ip = "127.0.0.1", pids_limit = 4096,
--         cap_drop = { "ALL" }, cap_add = { ... }, no_new_privileges = true,
--         restart = "unless-stopped" | "no", tmpfs_owned = true | nil,
--         healthcheck = { test = { "CMD"|"CMD-SHELL", ... }, interval=, timeout=,
--                         retries=, start_period= } | nil,   -- what the engine runs
--         config_hash = hash = "16 hex" (everything that recreates when changed),
--         labels = { ["dev.deloc.project"]=, service, component, kind, config-hash } } },
--       backup = { exec=, restore=, component= } | nil,
--       connections = { "postgresql://deloc:<secret postgres.password>@127.0.0.1:5433/deloc" },
--       endpoints = { { component=, port=, url = "127.0.0.1:5433" } } } },
--     placement = { nodes = { { node=, components = { "svc/comp#i" } } }, unplaced = { ... },
--                   reasons = { [name] = why } } | nil  (only when capacity has nodes),
--     verdict = { fits=, needed = { cpu=, memory=, disk= }, available = { cpu=, memory=, disk= },
--                 shrunk = { { service=, component=, from=, to= } }, choices = { "drop trino", ... },
--                 reasons = { ... } },
--     warnings = { ... }, explain = { [service] = { [component] = { key = "where from" } } } | nil }
--
-- The pipeline, one module a stage (lua/deloc/plan/), each handing the next
-- a state table `st`:
--   inputs      profile, target, reserve, project name, what was asked, overrides
--   closure     recipes loaded breadth-first, options, enabled components, service order
--   components  component order inside each service, primary component, DNS names
--   sizing      capacity, replicas, memory and CPU shrunk fairly; whether the minimums fit
--   ports       host ports: fixed, kept from the running stack, the recipe's, or the next free
--   containers  image, heap, secrets, env, command, volumes, health, dependencies
--   endpoints   connection strings and endpoints with the host ports
--   placement   on a cluster (capacity.nodes), every replica packed onto a node
--   verdict     disk, choices when it does not fit, replicas without a node
-- then deloc.plan.facts completes every component with the facts targets use.
--
-- Errors (nil, err with deloc.errors codes): unknown service
-- (SERVICE_NOT_FOUND, did-you-mean), a dependency without a recipe, a cycle
-- ("dependency cycle: a -> b -> a"), a name twice, a name that is not a
-- DNS-1123 label, unknown options or choices, bad quantities, an unknown
-- profile or target, two components with one DNS name, a recipe function
-- that fails or loops.  Not fitting is not an error: plan.verdict.fits.
local facts = require("deloc.plan.facts")
local overrides = require("deloc.plan.overrides")
local ports = require("deloc.plan.ports")
local placement = require("deloc.plan.placement")

local M = {}

M.DEFAULT_RESERVE = overrides.DEFAULT_RESERVE
M.override_keys, M.component_override_keys = overrides.KEYS, overrides.COMPONENT_KEYS
M.check_override = overrides.check
M.merge_override = overrides.merge
M.reserve = overrides.reserve
M.listening = ports.listening
M.config_hash = facts.config_hash
-- place(plan, nodes [, strategy]) -> which node takes which replica (deloc.pack)
M.place = placement.place

M.STAGES = { "inputs", "closure", "components", "sizing", "ports", "containers", "endpoints",
             "placement", "verdict" }
local stage = {}
for _, name in ipairs(M.STAGES) do stage[name] = require("deloc.plan." .. name) end

local function assemble(st)
  local opts, project = st.opts, st.project
  local plan = {
    project = st.project_name, profile = st.profile.name, target = st.target,
    profile_values = st.pv,
    dir = project.dir or ".",
    file = project.file,
    network = facts.network_name(st.project_name),
    capacity = st.capacity,
    order = st.order, levels = st.levels,
    services = st.services,
    placement = st.placement,
    verdict = st.verdict,
    warnings = st.warnings,
    explain = st.explain,
  }
  if st.explain then
    plan.explain_plan = { profile = opts.profile and "flag" or (project.profile and "deloc.yaml") or "default",
      target = opts.target and "flag" or (project.target and "deloc.yaml") or "default" }
  end
  return facts.complete(plan)
end

-- sizes(opts) -> { [service] = { [component] = { cpu=, memory=, replicas= } } } | nil, err
-- The sizing stages only (what a profile changes), for a chart's
-- values-<profile>.yaml: the same options as plan.
local function sizes_here(opts)
  local st, err = stage.inputs.run(opts or {})
  if not st then return nil, err end
  for i = 2, 4 do
    local ok
    ok, err = stage[M.STAGES[i]].run(st)
    if not ok then return nil, err end
  end
  local out = {}
  for _, it in ipairs(st.items) do
    out[it.svc] = out[it.svc] or {}
    out[it.svc][it.comp] = { cpu = it.final_cpu, memory = it.final_memory, replicas = it.replicas }
  end
  return out
end

local function plan_here(opts)
  local st, err = stage.inputs.run(opts or {})
  if not st then return nil, err end
  for i = 2, #M.STAGES do
    local ok
    ok, err = stage[M.STAGES[i]].run(st)
    if not ok then return nil, err end
  end
  return assemble(st)
end

-- With recipes that are not built in, both run in an isolated child
-- (deloc.isolate): the recipes' functions are called in the closure,
-- components and containers stages.
function M.sizes(opts)
  return require("deloc.isolate").plan(opts or {}, sizes_here)
end

-- plan(opts) -> plan | nil, err
function M.plan(opts)
  return require("deloc.isolate").plan(opts or {}, plan_here)
end

return M
