-- deloc.plan.endpoints: the planner's seventh stage.  Where each service is
-- reached from this machine: its endpoints (published ports) and its
-- connection strings (the recipe's templates with host ports filled in;
-- secrets appear as "<secret svc.name>", never their value).
--
--   endpoints.run(st) -> true | nil, err; sets services.<svc>.connections, .endpoints
local array = require("deloc.array")
local errors = require("deloc.errors")

local M = {}

-- the host port (else the container port) of a named port, the primary
-- component's first
local function port_of(st, svc, s_out, name)
  local p = s_out.components[st.primary[svc]].ports[name]
  if not p then
    for _, cn in ipairs(st.comp_order[svc]) do
      p = s_out.components[cn].ports[name]
      if p and p.host then break end
    end
  end
  if not p then return nil end
  return p.host or p.container
end

local function connections(st, svc, r, s_out)
  local conns = array.of({})
  for _, tmpl in ipairs(r.connections) do
    local bad
    local text = tmpl:gsub("{([%w_:.-]+)}", function(tag)
      if tag == "host" then return "127.0.0.1" end
      if tag == "service" then return svc end
      if tag == "project" then return st.project_name end
      local kind, arg = tag:match("^(%a+):(.+)$")
      if kind == "port" then
        local p = port_of(st, svc, s_out, arg)
        if p then return tostring(p) end
      elseif kind == "secret" then
        if r.secrets[arg] then return "<secret " .. svc .. "." .. arg .. ">" end
      end
      bad = tag
    end)
    if bad then
      return nil, errors.new("CONFIG_INVALID", ("%s: connections: unknown placeholder '{%s}' (host, port:NAME, secret:NAME)")
        :format(r.path or svc, bad))
    end
    conns[#conns + 1] = text
  end
  return conns
end

local function endpoints(st, svc, s_out)
  local eps = array.of({})
  for _, cn in ipairs(st.comp_order[svc]) do
    local ports = s_out.components[cn].ports
    for _, pname in ipairs(array.sorted_keys(ports)) do
      local p = ports[pname]
      if p.host then
        eps[#eps + 1] = { component = cn, port = pname, url = (p.http and "http://" or "") .. "127.0.0.1:" .. p.host }
      end
    end
  end
  return eps
end

function M.run(st)
  for _, svc in ipairs(st.order) do
    local s_out = st.services[svc]
    local conns, err = connections(st, svc, st.recipes[svc], s_out)
    if not conns then return nil, err end
    s_out.connections = conns
    s_out.endpoints = endpoints(st, svc, s_out)
    -- what `deloc env` prints (deloc.exports): templates filled, secrets by reference
    s_out.exports, err = require("deloc.exports").parts(st.recipes[svc], svc,
      function(name) return port_of(st, svc, s_out, name) end, st.project_name)
    if not s_out.exports then return nil, err end
  end
  return true
end

return M
