-- deloc.plan.ports: the planner's fifth stage.  Every port of every
-- component, and a host port for each published one: the project's or the
-- flag's (fixed), else the one the running stack has (previous plan), else
-- the recipe's, else the next free one.  A port of a component that scales
-- is not published (replicas cannot share it).
--
--   ports.run(st) -> true | nil, err; sets
--     st.ports = { [svc] = { [comp] = { [name] = { container=, host=, protocol=, publish=, http= } } } }
--   ports.listening([proc]) -> { [port] = true }: TCP ports listening and bound UDP ports
--
-- The set of ports in use is read only when a published port needs checking
-- (opts.listening: a set, or a function returning one; default /proc/net).
local errors = require("deloc.errors")
local array = require("deloc.array")

local M = {}

local function read_listening(set, path, state)
  local f = io.open(path, "rb")
  if not f then return end
  local text = f:read("*a")
  f:close()
  -- "  sl  local_address rem_address   st ...": the local port and the state
  for port, st in text:gmatch("\n%s*%d+:%s+%x+:(%x+)%s+%x+:%x+%s+(%x%x)") do
    if st == state then set[tonumber(port, 16)] = true end
  end
end

-- TCP from the kernel's socket diagnostics when it answers (/proc/net/tcp
-- costs about a millisecond a file on a machine with a large table), else
-- from /proc; UDP from /proc (cheap).  proc: another /proc, read as files.
function M.listening(proc)
  local set = not proc and require("deloc.sys").tcp_listening() or nil
  proc = proc or "/proc"
  if not set then
    set = {}
    read_listening(set, proc .. "/net/tcp", "0A")
    read_listening(set, proc .. "/net/tcp6", "0A")
  end
  read_listening(set, proc .. "/net/udp", "07")
  read_listening(set, proc .. "/net/udp6", "07")
  return set
end

local function lazy_listening(opts)
  local listening = opts.listening or M.listening
  if type(listening) ~= "function" then return listening end
  local load, set = listening, nil
  return setmetatable({}, { __index = function(_, port)
    set = set or load()
    return set[port]
  end })
end

-- host ports the last applied plan gave: still ours
local function previous_ports(previous)
  local own = {}
  for sname, ps in pairs(previous and previous.services or {}) do
    for cname, pc in pairs(ps.components or {}) do
      for pname, pp in pairs(pc.ports or {}) do
        if pp.host then own[sname .. "." .. cname .. "." .. pname] = pp.host end
      end
    end
  end
  return own
end

local function next_free(want, free)
  local cand = want + 1
  while cand <= 65535 and not free(cand) do cand = cand + 1 end
  if cand > 65535 then
    cand = 1024
    while cand < want and not free(cand) do cand = cand + 1 end
  end
  return cand
end

-- the host port of one published port | nil, err
local function host_port(ctx, key, shown, want, default, why)
  local explicit = want ~= nil
  local own = ctx.own[key]
  if want == nil and own and not ctx.assigned[own] then
    want = own
    why("kept from the running stack")
  elseif want == nil then
    want = default
  end
  if explicit then
    if ctx.assigned[want] then
      return nil, errors.new("CONFIG_INVALID",
        ("host port %d of %s is also given to %s"):format(want, shown, ctx.assigned[want]))
    end
    if ctx.listening[want] then
      ctx.warnings[#ctx.warnings + 1] = ("%s: host port %d is in use on this machine"):format(shown, want)
    end
    why("override")
  elseif want ~= own and not ctx.free(want) then
    local cand = next_free(want, ctx.free)
    ctx.warnings[#ctx.warnings + 1] = ("%s: host port %d is in use; using %d"):format(shown, want, cand)
    why(("picked: %d is in use"):format(want))
    want = cand
  end
  ctx.assigned[want] = shown
  return want
end

local function component_ports(st, ctx, svc, cname)
  local c = st.recipes[svc].components[cname]
  local it = st.item_of[svc][cname]
  local port_over = (st.override_of(svc) or {}).ports or {}
  local out = {}
  for _, pname in ipairs(array.sorted_keys(c.ports)) do
    local p = c.ports[pname]
    local po = { container = p.port, protocol = p.protocol, publish = p.publish, http = p.http }
    local function why(text) it.why["ports." .. pname] = text end
    if p.publish and (c.scalable or it.replicas > 1) then
      po.publish = false
      why("not published: the component scales")
    end
    if po.publish then
      local shown = (cname == svc and svc or (svc .. "." .. cname)) .. " port '" .. pname .. "'"
      local err
      po.host, err = host_port(ctx, svc .. "." .. cname .. "." .. pname, shown, port_over[pname], p.port, why)
      if not po.host then return nil, err end
    end
    out[pname] = po
  end
  return out
end

function M.run(st)
  local ctx = { listening = lazy_listening(st.opts), own = previous_ports(st.opts.previous),
                assigned = {}, warnings = st.warnings }
  function ctx.free(p) return not ctx.listening[p] and not ctx.assigned[p] end
  st.ports = {}
  for _, svc in ipairs(st.order) do
    st.ports[svc] = {}
    for _, cname in ipairs(st.comp_order[svc]) do
      local ps, err = component_ports(st, ctx, svc, cname)
      if not ps then return nil, err end
      st.ports[svc][cname] = ps
    end
  end
  return true
end

return M
