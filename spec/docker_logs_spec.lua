-- `deloc logs --since`: what docker accepts — a duration, an RFC 3339 time
-- (Z or an offset, a fraction, shortened to the minute or hour, a date), a
-- unix time — and how it goes to the engine.
local sys = require("deloc.sys")
local logs = require("deloc.adapters.docker.logs")

describe("docker logs --since", function()
  -- 2026-11-27T06:00:00Z, counted by hand: 20 784 days after 1970-01-01
  local T = 20784 * 86400 + 6 * 3600

  it("reads RFC 3339 times in UTC and with an offset", function()
    assert.equal(T, logs.since("2026-11-27T06:00:00Z"))
    assert.equal(T, logs.since("2026-11-27t06:00:00z"))
    assert.equal(T, logs.since("2026-11-27T07:00:00+01:00"))
    assert.equal(T, logs.since("2026-11-26T20:30:00-09:30"))
    assert.equal(T + 0.25, logs.since("2026-11-27T06:00:00.25Z"))
    assert.equal(T, logs.since("2026-11-27T06:00Z"))
    assert.equal(T, logs.since("2026-11-27T06Z"))
    assert.equal(T - 6 * 3600, logs.since("2026-11-27Z"))
    assert.equal(0, logs.since("1970-01-01T00:00:00Z"))
    assert.equal(951782400, logs.since("2000-02-29T00:00:00Z"))
    assert.equal(-86400, logs.since("1969-12-31T00:00:00Z"))
  end)

  it("reads a time without a zone as local time, like docker", function()
    local want = os.time({ year = 2026, month = 11, day = 27, hour = 6, min = 0, sec = 0 })
    assert.equal(want, logs.since("2026-11-27T06:00:00"))
    assert.equal(want, logs.since("2026-11-27T06:00"))
    assert.equal(os.time({ year = 2026, month = 11, day = 27, hour = 0 }), logs.since("2026-11-27"))
  end)

  it("still reads durations and unix times", function()
    assert.equal(1700000000, logs.since("1700000000"))
    assert.equal(1700000000.5, logs.since("1700000000.5"))
    assert.is_true(math.abs(logs.since("10m") - (sys.time() - 600)) < 2)
  end)

  for _, bad in ipairs({ "yesterday", "2026-13-01T00:00:00Z", "2026-02-29T00:00:00Z",
    "2026-11-27T24:00:00Z", "2026-11-27T06:60:00Z", "2026-11-27T06:00:00+25:00",
    "2026-11-27T06:00:00 UTC", "2026-11-27 06:00:00", "27/11/2026", "-5", "0x10" }) do
    it("refuses '" .. bad .. "' with a usage error naming the forms", function()
      local v, err = logs.since(bad)
      assert.is_nil(v)
      assert.equal("USAGE", err.code)
      assert.equal(("--since: '%s' is neither a duration (10m, 2h), an RFC 3339 time "
        .. "(2026-11-27T06:00:00Z) nor a unix time"):format(bad), err.message)
    end)
  end

  it("hands the engine seconds, with nanoseconds when there is a fraction", function()
    assert.equal("1700000000", logs.since_param(1700000000))
    assert.equal("1700000000.500000000", logs.since_param(1700000000.5))
    assert.equal("1700000000.000001000", logs.since_param(logs.since("2023-11-14T22:13:20.000001Z")))
    assert.is_nil(logs.since_param(nil))
  end)
end)
