-- spec/support/catalog.lua: the frame every catalog e2e spec shares — a
-- recipe, unchanged, on its stand-in images (only the image is overridden),
-- in a project of its own that is removed after the file, even on failure.
--
--   catalog.stack(images, prefix, services_yaml [, timeout = 300]) -> stack
--   setup(function() stack:start() end)     builds or finds the images, writes the project
--   teardown(function() stack:stop() end)   removes the project, also after a failure
--   stack:deloc(args) -> status, stdout, stderr   (in the project, images overridden)
--   stack.project, stack.dir
--   stack:volumes() -> count, { anonymous destinations } | nil, err   (the
--     volumes of the project's one container)
local e2e = dofile("spec/support/e2e.lua")
local images = dofile("spec/support/images.lua")

local M = {}

local Stack = {}
Stack.__index = Stack

function M.stack(image_names, prefix, services_yaml, timeout)
  return setmetatable({ images = image_names, prefix = prefix, yaml = services_yaml,
    timeout = timeout or 300 }, Stack)
end

-- busted's setup/teardown exist only in the spec file's environment, so the
-- file registers these two itself.
function Stack:start()
  local tags = assert(images.ensure(self.images))
  self.project = e2e.project(self.prefix)
  self.dir = e2e.workdir(self.project, self.yaml)
  self.env = { DELOC_IMAGES = images.overrides(tags) }
end

function Stack:stop()
  if self.project then e2e.cleanup(self.project) end
  if self.dir then e2e.rmdir(self.dir) end
end

function Stack:deloc(args)
  return e2e.deloc(args, { cwd = self.dir, env = self.env, timeout = self.timeout })
end

-- The volumes mounted into the project's one container: how many, and the
-- destinations of those that are anonymous (not deloc-<project>-*: an image
-- VOLUME the recipe left out).  The spec asserts; luassert is its own.
function Stack:volumes()
  local st, ids = e2e.docker({ "ps", "-q", "--filter", "label=dev.deloc.project=" .. self.project })
  local id = st == 0 and ids:match("%S+")
  if not id then return nil, "no container of " .. self.project end
  local out
  st, out = e2e.docker({ "inspect", "-f", "{{range .Mounts}}{{.Type}} {{.Name}} {{.Destination}}\n{{end}}", id })
  if st ~= 0 then return nil, "docker inspect failed: " .. out end
  local prefix = "deloc-" .. self.project .. "-"
  local n, anonymous = 0, {}
  for typ, name, dest in out:gmatch("(%S+) (%S*) (%S+)\n") do
    if typ == "volume" then
      n = n + 1
      if name:sub(1, #prefix) ~= prefix then anonymous[#anonymous + 1] = dest end
    end
  end
  return n, anonymous
end

return M
