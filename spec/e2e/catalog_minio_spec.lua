-- The catalog's minio recipe, unchanged, on stand-ins of both its images —
-- the MinIO server and mc built from the Go modules at the recipe's pinned
-- RELEASE tags (spec/tools/install-go-tools), behind the images' contracts
-- (root, /root not writable without CAP_DAC_OVERRIDE): up, the bucket job
-- completes, healthy, `deloc smoke` puts and gets an object in the created
-- bucket, and `down --volumes` leaves nothing.  Tagged #minio, not #e2e: the
-- first build of the two Go programs takes many minutes (make test-minio).
local json = require("deloc.json")
local e2e = dofile("spec/support/e2e.lua")
local catalog = dofile("spec/support/catalog.lua")

describe("catalog: minio on stand-ins built from the MinIO Go modules #minio", function()
  local stack = catalog.stack({ "minio", "mc" }, "catmin", "services:\n  minio:\n    options: { buckets: \"deloc, raw\" }\n", 300)
  setup(function() stack:start() end)
  teardown(function() stack:stop() end)
  local function deloc(args) return stack:deloc(args) end

  it("comes up: the bucket job (mc as root, no capabilities) completes, the server is healthy", function()
    local st, out, err = deloc({ "up", "--wait", "--timeout", "180s" })
    assert.equal(0, st, (err or "") .. (out or ""))
    st, out, err = deloc({ "health", "--json" })
    assert.equal(0, st, (err or "") .. (out or ""))
    local doc = assert(json.decode(out))
    local by = {}
    for _, r in ipairs(doc.services) do by[r.component] = r end
    assert.equal("completed", by.buckets.state)
    assert.is_true(by.server.healthy)
  end)

  it("passes its smoke: an object put and read back in the created bucket", function()
    local st, out, err = deloc({ "smoke", "--json" })
    assert.equal(0, st, (err or "") .. (out or ""))
    local doc = assert(json.decode(out))
    assert.is_true(doc.passed)
    assert.equal("server", doc.smokes[1].component)
  end)

  it("down --volumes leaves nothing of the project", function()
    local st, _, err = deloc({ "down", "--volumes" })
    assert.equal(0, st, err)
    assert.same({}, e2e.leftovers(stack.project))
  end)
end)
