-- Resource quantities: the one table of accepted and refused forms.
local q = require("deloc.quantity")

local Ki, Mi, Gi = 1024, 1024 ^ 2, 1024 ^ 3

describe("deloc.quantity", function()
  local memory_cases = {
    { "512Mi", 512 * Mi }, { "1Gi", Gi }, { "1G", 1e9 }, { "500M", 500e6 }, { "1024Ki", 1024 * Ki },
    { "1.5Gi", 1.5 * Gi }, { "100k", 1e5 }, { "2Ti", 2 * 1024 * Gi }, { 1048576, Mi }, { "1048576", Mi },
    { " 64Mi ", 64 * Mi }, { 0, 0 },
  }
  for _, c in ipairs(memory_cases) do
    it(("reads memory %q"):format(tostring(c[1])), function()
      assert.equal(c[2], q.memory(c[1]))
    end)
  end

  local bad_memory = { "12 parsecs", "512mi", "1GB", "-1Gi", "Gi", "", "1e9", -5, 1.5, true, {} }
  for _, v in ipairs(bad_memory) do
    it(("refuses memory %s and shows the accepted forms"):format(tostring(v)), function()
      local n, err = q.memory(v)
      assert.is_nil(n)
      assert.matches("invalid memory", err, 1, true)
      assert.matches("512Mi, 1Gi, 1G, 500M", err, 1, true)
    end)
  end

  local cpu_cases = { { "500m", 0.5 }, { "0.5", 0.5 }, { 2, 2 }, { "2", 2 }, { 0.25, 0.25 }, { "100m", 0.1 }, { ".5", 0.5 } }
  for _, c in ipairs(cpu_cases) do
    it(("reads cpu %q"):format(tostring(c[1])), function()
      assert.equal(c[2], q.cpu(c[1]))
    end)
  end

  for _, v in ipairs({ "0", 0, -1, "half", "1.5 cores", "500 m", "1Gi", false }) do
    it(("refuses cpu %s"):format(tostring(v)), function()
      local n, err = q.cpu(v)
      assert.is_nil(n)
      assert.matches("invalid cpu", err, 1, true)
      assert.matches("500m", err, 1, true)
    end)
  end

  local durations = { { "5s", 5 }, { "1m", 60 }, { "250ms", 0.25 }, { "1m30s", 90 }, { "2h", 7200 }, { 3, 3 } }
  for _, c in ipairs(durations) do
    it(("reads duration %q"):format(tostring(c[1])), function()
      assert.equal(c[2], q.duration(c[1]))
    end)
  end

  for _, v in ipairs({ "5", "5 sec", "s", "", "-1s", -1 }) do
    it(("refuses duration %q"):format(tostring(v)), function()
      local n, err = q.duration(v)
      assert.is_nil(n)
      assert.matches("invalid duration", err, 1, true)
    end)
  end

  it("formats memory and cpu for people", function()
    assert.equal("512Mi", q.format_memory(512 * Mi))
    assert.equal("1.5Gi", q.format_memory(1.5 * Gi))
    assert.equal("2Gi", q.format_memory(2 * Gi))
    assert.equal("0.5", q.format_cpu(0.5))
    assert.equal("2", q.format_cpu(2))
    assert.equal("0.12", q.format_cpu(0.12))
  end)
end)
