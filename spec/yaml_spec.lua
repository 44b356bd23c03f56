-- YAML rules in one place: scalar resolution, dumping, round trips, limits,
-- positions.  Every bad input names file:line:col and fails fast.
local yaml = require("deloc.yaml")
local json = require("deloc.json")
local sys = require("deloc.sys")

local FIX = "spec/fixtures/yaml/"

local function tmpdir()
  local dir = os.tmpname()
  os.remove(dir)
  assert(sys.mkdir_p(dir))
  return dir
end

local function write(path, text)
  local f = assert(io.open(path, "wb"))
  f:write(text)
  f:close()
end

-- Deep equality; NaN equals NaN; a marked sequence must come back marked.
local function same(a, b)
  if type(a) ~= type(b) then return false end
  if type(a) == "number" and a ~= a then return b ~= b end
  if type(a) ~= "table" then return a == b end
  if yaml.is_sequence(a) and not yaml.is_sequence(b) then return false end
  for k, v in pairs(a) do
    if not same(v, b[k]) then return false end
  end
  for k in pairs(b) do
    if a[k] == nil then return false end
  end
  return true
end

-- Runs fn, returns its results and fails if it took longer than `limit` s.
local function fast(limit, fn)
  local t0 = os.clock()
  local a, b = fn()
  local took = os.clock() - t0
  assert(took < limit, ("took %.3fs, more than %.3fs"):format(took, limit))
  return a, b
end

describe("deloc.yaml", function()
  describe("scalar resolution (YAML 1.2 core schema)", function()
    local null = yaml.null
    local cases = {
      { "true", true }, { "True", true }, { "TRUE", true },
      { "false", false }, { "False", false }, { "FALSE", false },
      { "tRUE", "tRUE" },
      { "on", "on" }, { "off", "off" }, { "yes", "yes" }, { "no", "no" },
      { "y", "y" }, { "Yes", "Yes" },
      { "null", null }, { "Null", null }, { "NULL", null }, { "~", null },
      { "", null }, { "nULL", "nULL" },
      { "12", 12 }, { "-3", -3 }, { "+7", 7 }, { "007", 7 }, { "0", 0 },
      { "0x1f", 31 }, { "0x1F", 31 }, { "0o17", 15 },
      { "0x", "0x" }, { "0o8", "0o8" }, { "0b101", "0b101" },
      { "1_000", "1_000" }, { "-0x1f", "-0x1f" },
      { "9007199254740992", 2 ^ 53 },
      { "1.5", 1.5 }, { "-1.5", -1.5 }, { ".5", 0.5 }, { "1.", 1 },
      { "1e3", 1000 }, { "+1.5e-2", 0.015 }, { "1.0", 1 }, { "1E+2", 100 },
      { ".inf", math.huge }, { ".Inf", math.huge }, { "+.INF", math.huge },
      { "-.inf", -math.huge }, { ".nan", 0 / 0 }, { ".NaN", 0 / 0 },
      { "-.nan", "-.nan" }, { "inf", "inf" }, { "nan", "nan" },
      { "1e", "1e" }, { ".", "." }, { "1.2.3", "1.2.3" },
      { "2001-12-14", "2001-12-14" }, { "1:20", "1:20" }, { "12abc", "12abc" },
      { "'true'", "true" }, { '"1"', "1" }, { "'null'", "null" }, { "''", "" },
      { '"~"', "~" },
      { "!!str 12", "12" }, { "! 12", "12" }, { "!!str true", "true" },
      { "!!int '12'", 12 }, { "!!float 1", 1 }, { "!!float '.5'", 0.5 },
      { "!!bool 'false'", false }, { "!!null ''", null }, { "!!null", null },
      { "|\n  a\n  b\n", "a\nb\n" }, { ">\n  a\n  b\n", "a b\n" },
      { "|-\n  12\n", "12" },
      { "héllo ✓", "héllo ✓" },
    }
    for _, c in ipairs(cases) do
      it(("%q"):format(c[1]), function()
        local v = assert(yaml.load("v: " .. c[1]))
        assert.is_true(same(c[2], v.v), ("got %s"):format(tostring(v.v)))
      end)
    end

    it("a bad value for an explicit tag is an error with its position", function()
      local v, err = yaml.load("a: 1\nb: !!int twelve")
      assert.is_nil(v)
      assert.equal("<string>:2:4: 'twelve' is not a valid !!int", err)
      assert.equal("<string>:1:1: 'maybe' is not a valid !!bool", select(2, yaml.load("!!bool maybe")))
    end)

    it("an integer a Lua number cannot hold exactly is an error", function()
      local v, err = yaml.load("id: 9007199254740993")
      assert.is_nil(v)
      assert.matches("^<string>:1:5: integer 9007199254740993 does not fit a Lua number exactly", err)
      assert.equal("9007199254740993", yaml.load("id: '9007199254740993'").id)
    end)
  end)

  describe("loading", function()
    it("marks sequences, keeps null keys with a sentinel shared with JSON", function()
      local v = assert(yaml.load("a: [1, null, 3]\nb: ~\nc: []\nd: {}\n"))
      assert.is_true(yaml.is_sequence(v.a))
      assert.equal(3, #v.a)
      assert.equal(yaml.null, v.a[2])
      assert.equal(yaml.null, v.b)
      assert.equal(json.null, yaml.null)
      assert.is_true(yaml.is_sequence(v.c))
      assert.is_false(yaml.is_sequence(v.d))
      assert.equal('{"a":[1,null,3],"b":null,"c":[],"d":{}}', json.encode(v))
    end)

    it("an empty document or stream is yaml.null", function()
      assert.equal(yaml.null, yaml.load(""))
      assert.equal(yaml.null, yaml.load("# only a comment\n"))
      assert.equal(yaml.null, yaml.load("---\n...\n"))
    end)

    it("numbers, booleans and strings as keys follow Lua equality", function()
      local v = assert(yaml.load("1: a\ntrue: b\n'1': c\n0x10: d\n"))
      assert.equal("a", v[1])
      assert.equal("b", v[true])
      assert.equal("c", v["1"])
      assert.equal("d", v[16])
    end)

    it("an alias is a copy, and merge keys fill in what the mapping lacks", function()
      local v = assert(yaml.load_file(FIX .. "service.yaml"))
      local web, db = v.services.web, v.services.db
      assert.equal("always", web.restart)
      assert.equal("512Mi", web.memory) -- its own key wins
      assert.equal("256Mi", db.memory)
      assert.is_nil(web["<<"])
      assert.equal(yaml.null, db.environment.POSTGRES_PASSWORD)
      assert.equal("on", db.environment.ENABLED)
      local a = assert(yaml.load("x: &x {k: [1]}\ny: *x\n"))
      assert.are_not.equal(a.x, a.y)
      assert.is_true(same(a.x, a.y))
      a.y.k[1] = 2
      assert.equal(1, a.x.k[1])
    end)

    it("earlier merge sources win, and a quoted '<<' is an ordinary key", function()
      local v = assert(yaml.load("a: &a {k: 1, p: 1}\nb: &b {k: 2, q: 2}\nc:\n  <<: [*a, *b]\n  own: 3\nd: {'<<': 1}\n"))
      assert.is_true(same({ k = 1, p = 1, q = 2, own = 3 }, v.c))
      assert.equal(1, v.d["<<"])
      local _, err = yaml.load("a: 1\nb:\n  <<: [1, 2]\n")
      assert.equal("<string>:3:7: merge key '<<' needs a mapping or a list of mappings", err)
    end)

    it("takes its name for messages from opts.name", function()
      local _, err = yaml.load("a: [", { name = "deloc.yaml" })
      assert.matches("^deloc%.yaml:%d+:%d+: did not find expected node content", err)
    end)

    it("raises for the caller's mistakes", function()
      assert.has_error(function() yaml.load(42) end, "yaml.load: text must be a string")
      assert.has_error(function() yaml.load("", { mark = true }) end, "yaml.load: unknown option 'mark'")
      assert.has_error(function() yaml.load("", { max_depth = 0 }) end,
        "yaml.load: option 'max_depth' must be a positive integer")
      assert.has_error(function() yaml.load("", { max_size = "1" }) end,
        "yaml.load: option 'max_size' must be a number")
    end)

    it("reports a file it cannot read", function()
      local v, err = yaml.load_file(FIX .. "missing.yaml")
      assert.is_nil(v)
      assert.equal("cannot read '" .. FIX .. "missing.yaml': no such file or directory", err)
      local _, derr = yaml.load_file(FIX)
      assert.matches("^cannot read '" .. FIX:gsub("%p", "%%%0") .. "': is a directory", derr)
    end)
  end)

  describe("marks", function()
    it("give the line and column of every table, key and value", function()
      local v, marks = assert(yaml.load_file(FIX .. "service.yaml", { marks = true }))
      local web = v.services.web
      assert.same({ line = 6, col = 1 }, marks[v].keys.services)
      assert.same({ line = 8, col = 5 }, { line = marks[web].line, col = marks[web].col })
      assert.same({ line = 9, col = 5 }, marks[web].keys.image)
      assert.same({ line = 9, col = 12 }, marks[web].values.image)
      assert.same({ line = 13, col = 9 }, marks[web.ports].values[2])
      assert.equal(13, select(1, yaml.locate(marks, web.ports, 2)))
      assert.equal(9, select(2, yaml.locate(marks, web.ports, 2)))
      -- a merged key points where it was written, in the defaults
      assert.same({ line = 3, col = 3 }, marks[web].keys.restart)
      assert.same({ line = 3, col = 12 }, marks[web].values.restart)
      assert.is_nil(yaml.locate(marks, web, "nope"))
      assert.is_nil(yaml.locate(marks, {}))
    end)

    it("are not returned unless asked for", function()
      assert.equal(1, select("#", yaml.load("a: 1")))
    end)
  end)

  describe("bad input", function()
    it("rejects a megabyte of '[' at depth 65, in milliseconds", function()
      local dir = tmpdir()
      local path = dir .. "/brackets.yaml"
      write(path, ("["):rep(1024 * 1024))
      local v, err = fast(0.5, function() return yaml.load_file(path) end)
      os.remove(path)
      sys.remove(dir)
      assert.is_nil(v)
      assert.equal(path .. ":1:65: nested deeper than 64 levels (max_depth)", err)
    end)

    it("accepts 64 levels and rejects 65, for block nesting too", function()
      assert.truthy(yaml.load(("["):rep(64) .. ("]"):rep(64)))
      local deep = {}
      for i = 1, 65 do deep[i] = (" "):rep(2 * (i - 1)) .. "k:" end
      local _, err = yaml.load(table.concat(deep, "\n") .. " 1\n")
      assert.equal("<string>:65:129: nested deeper than 64 levels (max_depth)", err)
      assert.truthy(yaml.load(("["):rep(65) .. ("]"):rep(65), { max_depth = 65 }))
    end)

    it("rejects input over max_size before parsing it", function()
      local big = ("#"):rep(1024 * 1024 + 1)
      local v, err = fast(0.5, function() return yaml.load(big) end)
      assert.is_nil(v)
      assert.equal("<string>: input is 1048577 bytes, more than the limit of 1048576 (max_size)", err)
      assert.equal("<string>: input is 8 bytes, more than the limit of 4 (max_size)",
        select(2, yaml.load("a: hello", { max_size = 4 })))
      local dir = tmpdir()
      write(dir .. "/big.yaml", big)
      local _, ferr = yaml.load_file(dir .. "/big.yaml")
      os.remove(dir .. "/big.yaml")
      sys.remove(dir)
      assert.equal(dir .. "/big.yaml: input is 1048577 bytes, more than the limit of 1048576 (max_size)", ferr)
    end)

    it("stops a billion laughs at the alias expansion cap", function()
      local v, err = fast(0.5, function() return yaml.load_file(FIX .. "billion-laughs.yaml") end)
      assert.is_nil(v)
      assert.equal(FIX .. "billion-laughs.yaml:7:8: alias expansion makes more than 100000 nodes (max_alias_nodes)", err)
      local _, small = yaml.load("a: &a [1, 2]\nb: [*a, *a]\n", { max_alias_nodes = 5 })
      assert.equal("<string>:2:9: alias expansion makes more than 5 nodes (max_alias_nodes)", small)
    end)

    it("counts the bytes aliases produce, not only nodes (billion laughs by long strings)", function()
      -- 5 levels of 9 aliases of a 900 KiB string: 59049 nodes (under the
      -- node cap), 54 GB for whoever writes it out
      local lines = { "a0: &a0 " .. ("x"):rep(900 * 1024) }
      for i = 1, 5 do
        local refs = {}
        for j = 1, 9 do refs[j] = "*a" .. (i - 1) end
        lines[#lines + 1] = ("a%d: &a%d [%s]"):format(i, i, table.concat(refs, ", "))
      end
      local text = table.concat(lines, "\n") .. "\n"
      assert.is_true(#text < 1024 * 1024)
      local v, err = fast(0.5, function() return yaml.load(text) end)
      assert.is_nil(v)
      assert.equal("<string>:2:30: alias expansion makes more than 4194304 bytes (max_alias_bytes)", err)
      local _, small = yaml.load("a: &a [abcdef]\nb: [*a, *a]\n", { max_alias_bytes = 10 })
      assert.equal("<string>:2:9: alias expansion makes more than 10 bytes (max_alias_bytes)", small)
      assert.same({ a = { "abcdef" }, b = { { "abcdef" } } }, yaml.load("a: &a [abcdef]\nb: [*a]\n", { max_alias_bytes = 10 }))
    end)

    it("rejects an alias that expands past max_depth", function()
      local _, err = yaml.load("a: &a [[[1]]]\nb: [[*a]]\n", { max_depth = 5 })
      assert.equal("<string>:2:6: alias '*a' nests deeper than 5 levels (max_depth)", err)
    end)

    it("rejects a recursive alias and an unknown one", function()
      local v, err = fast(0.5, function() return yaml.load_file(FIX .. "recursive-alias.yaml") end)
      assert.is_nil(v)
      assert.equal(FIX .. "recursive-alias.yaml:1:8: recursive alias '*a' (it refers to a node that contains it)", err)
      assert.equal("<string>:1:5: recursive alias '*a' (it refers to a node that contains it)",
        select(2, yaml.load("&a [*a]")))
      assert.equal("<string>:2:4: unknown alias '*b'", select(2, yaml.load("a: &a 1\nb: *b\n")))
    end)

    it("names a duplicate key and both of its lines", function()
      local v, err = yaml.load_file(FIX .. "duplicate-keys.yaml")
      assert.is_nil(v)
      assert.equal(FIX .. "duplicate-keys.yaml:5:5: duplicate key 'image' (first at line 3)", err)
      assert.equal("<string>:2:1: duplicate key '1' (first at line 1)", select(2, yaml.load("1: a\n1.0: b\n")))
      assert.equal("<string>:1:10: duplicate key '<<' (first at line 1)",
        select(2, yaml.load("{<<: {}, <<: {}}")))
      assert.equal("<string>:3:1: duplicate key 'k' (first at line 1)",
        select(2, yaml.load("k: 1\nx: &x k\n*x : 2\n")))
    end)

    it("rejects keys Lua cannot hold or YAML configs should not have", function()
      assert.equal("<string>:1:1: a mapping key cannot be null", select(2, yaml.load("~: 1")))
      assert.equal("<string>:1:1: a mapping key cannot be .nan", select(2, yaml.load(".nan: 1")))
      assert.equal("<string>:1:2: a mapping key must be a scalar, not a sequence",
        select(2, yaml.load("{[a]: 1}")))
    end)

    it("rejects a second document", function()
      local v, err = yaml.load_file(FIX .. "two-documents.yaml")
      assert.is_nil(v)
      assert.equal(FIX .. "two-documents.yaml:2:1: more than one document (deloc reads one per file)", err)
    end)

    it("rejects unknown tags and a tag on the wrong kind of node", function()
      assert.equal(FIX .. "unknown-tag.yaml:3:12: unknown tag '!vault'",
        select(2, yaml.load_file(FIX .. "unknown-tag.yaml")))
      assert.equal("<string>:1:4: unknown tag '!!binary'", select(2, yaml.load("x: !!binary aGk=")))
      assert.equal("<string>:1:1: unknown tag '!!set'", select(2, yaml.load("!!set {a}")))
      assert.equal("<string>:1:1: tag '!!map' on a scalar", select(2, yaml.load("!!map x")))
      assert.equal("<string>:1:1: tag '!!seq' on a mapping", select(2, yaml.load("!!seq {a: 1}")))
    end)

    it("passes on libyaml's syntax errors with their position", function()
      assert.equal("<string>:1:5: mapping values are not allowed in this context",
        select(2, yaml.load("a: b: c")))
      assert.equal("<string>:1:6: found unexpected end of stream (while scanning a quoted scalar at line 1 column 4)",
        select(2, yaml.load("a: 'x")))
      assert.equal("<string>:1:4: invalid leading UTF-8 octet (byte 0xff)", select(2, yaml.load("a: \255")))
      assert.equal("<string>:2:3: control characters are not allowed (byte 0x00)",
        select(2, yaml.load("a: 1\nb:\0")))
    end)
  end)

  describe("dumping", function()
    local cases = {
      { "a mapping, keys sorted", { b = "x", a = 1, c = true }, "a: 1\nb: x\nc: true\n" },
      { "an empty marked sequence", yaml.sequence({}), "[]\n" },
      { "an empty table is a mapping", {}, "{}\n" },
      { "empty collections as values", { l = yaml.sequence(), m = {} }, "l: []\nm: {}\n" },
      { "a sequence under a key", { a = { 1, 2 } }, "a:\n  - 1\n  - 2\n" },
      { "mappings in a sequence", { { a = 1, b = 2 }, { c = 3 } }, "- a: 1\n  b: 2\n- c: 3\n" },
      { "sequences in a sequence", { { 1, 2 }, yaml.sequence() }, "- - 1\n  - 2\n- []\n" },
      { "null", yaml.null, "null\n" },
      { "nil", nil, "null\n" },
      { "null in a sequence keeps its place", { 1, yaml.null, 3 }, "- 1\n- null\n- 3\n" },
      { "integers without .0", { 3, -7, 2 ^ 53, 1e15 }, "- 3\n- -7\n- 9007199254740992\n- 1000000000000000\n" },
      { "floats in the fewest digits", { 1.5, 0.1, 1 / 3, 1e20, -2.5e-10 },
        "- 1.5\n- 0.1\n- 0.3333333333333333\n- 1e+20\n- -2.5e-10\n" },
      { "infinities and NaN", { math.huge, -math.huge, 0 / 0 }, "- .inf\n- -.inf\n- .nan\n" },
      { "keys: booleans, numbers, strings", { [true] = 1, [2] = 2, [10] = 3, a = 4 },
        "true: 1\n2: 2\n10: 3\na: 4\n" },
      { "strings that would resolve are quoted",
        { "true", "on", "yes", "1.0", "", "null", "~", "0777", "1_000", "1:20", ".inf", "0x1f", "<<" },
        '- "true"\n- "on"\n- "yes"\n- "1.0"\n- ""\n- "null"\n- "~"\n- "0777"\n- "1_000"\n'
          .. '- "1:20"\n- ".inf"\n- "0x1f"\n- "<<"\n' },
      { "strings with indicators are quoted",
        { " lead", "trail ", "a: b", "a:", "#x", "a #b", "- x", "-", "---", "...x", "*a", "&a", "!t", "|", "{x}",
          "'q'", '"d"', "%x", "@x" },
        '- " lead"\n- "trail "\n- "a: b"\n- "a:"\n- "#x"\n- "a #b"\n- "- x"\n- "-"\n- "---"\n- "...x"\n'
          .. '- "*a"\n- "&a"\n- "!t"\n- "|"\n- "{x}"\n- "\'q\'"\n- "\\"d\\""\n- "%x"\n- "@x"\n' },
      { "plain where it is safe", { "nginx:1.25", "a#b", "a:b", "-x", "x-y", "hello world", "é ✓", "C:\\dir" },
        "- nginx:1.25\n- a#b\n- a:b\n- -x\n- x-y\n- hello world\n- é ✓\n- C:\\dir\n" },
      { "control characters escaped", { "tab\there", "nul\0", "bell\7", "nel\194\133", "ls\226\128\168" },
        '- "tab\\there"\n- "nul\\0"\n- "bell\\x07"\n- "nel\\N"\n- "ls\\L"\n' },
      { "multi-line strings are literal blocks", { s = "a\nb\n", t = "a\nb", u = "a\n\n", v = "x\n  y\n" },
        "s: |\n  a\n  b\nt: |-\n  a\n  b\nu: |+\n  a\n\nv: |\n  x\n    y\n" },
      { "literal blocks nest", { { { k = "a\nb\n" } } }, "- - k: |\n      a\n      b\n" },
      { "a literal block at the top", "a\nb\n", "|\n  a\n  b\n" },
      { "multi-line strings that cannot be blocks", { " lead\nx", "a\r\nb", "\n\n" },
        '- " lead\\nx"\n- "a\\r\\nb"\n- "\\n\\n"\n' },
      { "keys are quoted like values, never blocks", { ["a\nb"] = 1, ["true"] = 2, ["x y"] = 3 },
        '"a\\nb": 1\n"true": 2\nx y: 3\n' },
    }
    for _, c in ipairs(cases) do
      it(c[1], function()
        assert.equal(c[3], assert(yaml.dump(c[2])))
      end)
    end

    it("puts listed keys first: yaml.ordered and opts.key_order", function()
      local pod = yaml.ordered({ spec = {}, kind = "Pod", metadata = { name = "x" }, apiVersion = "v1", zz = 1 },
        { "apiVersion", "kind", "metadata", "spec", "missing" })
      assert.equal("apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\nspec: {}\nzz: 1\n", yaml.dump(pod))
      local function k8s(t)
        if t.apiVersion then return { "apiVersion", "kind" } end
      end
      assert.equal("- apiVersion: v1\n  kind: Service\n  a: 1\n- a: 1\n  kind: x\n",
        yaml.dump({ { a = 1, kind = "Service", apiVersion = "v1" }, { kind = "x", a = 1 } }, { key_order = k8s }))
    end)

    it("writes the same bytes whatever order the keys went in", function()
      local a, b = {}, {}
      for i = 1, 200 do a["k" .. i] = i end
      for i = 200, 1, -1 do b["k" .. i] = i end
      assert.equal(yaml.dump(a), yaml.dump(b))
    end)

    it("uses an explicit key for keys past the 1024-character limit", function()
      local long = ("k"):rep(1500)
      local v = { [long] = { 1 } }
      assert.is_true(same(v, assert(yaml.load(assert(yaml.dump(v))))))
    end)

    it("refuses what YAML cannot say, naming where", function()
      assert.equal("cannot dump a function at 'a.b'", select(2, yaml.dump({ a = { b = print } })))
      assert.equal("cannot dump a function at 'a[2]'", select(2, yaml.dump({ a = { 1, print } })))
      local t = { x = {} }
      t.x.self = t
      assert.equal("cannot dump a table that contains itself at 'x.self'", select(2, yaml.dump(t)))
      assert.equal("cannot dump a string that is not valid UTF-8 at 's'", select(2, yaml.dump({ s = "\255" })))
      assert.equal("cannot dump a table key at '[1]'", select(2, yaml.dump({ { [{}] = 1 } })))
      assert.equal("cannot dump a table marked as a sequence that has other keys",
        select(2, yaml.dump(yaml.sequence({ 1, x = 2 }))))
      local deep = {}
      local cur = deep
      for _ = 1, 250 do cur.a = {}; cur = cur.a end
      assert.matches("^cannot dump a table nested deeper than 200 levels", select(2, yaml.dump(deep)))
    end)
  end)

  describe("round trips", function()
    local strings = {
      "true", "on", "yes", "1.0", "", "null", "  lead", "trail  ", ": x", "a: b", "#x", "a #b", "-", "- x", "--",
      "---", "...", "?", "? x", "[x]", "{x}", "*a", "&a", "!t", "|", ">", "%x", "@x", "`x", "'q'", '"dq"',
      "multi\nline", "multi\nline\n", "trail\n\n\n", "\n\nlead newline", "tab\there", "\ttab lead\nx",
      "line1\n  indented\n", " space first\nline", "\r\n", "unicode é ✓ 😀", "\0nul", "del\127", "x\194\133y",
      "\226\128\168", "\239\187\191bom", "a,b", "0777", "1_000", "1:20", "2001-12-14", "0x1f", ".inf", "-.inf",
      ".nan", "<<", "=", "~", "y", "n", "Yes", "NO", "-1", "+1", ".5", "1e3", "12abc", "\\", "a\\nb",
      "x\n# not a comment\n---\n...\n", "  \n  ", "last line no newline\n\nx",
    }
    for i, s in ipairs(strings) do
      it(("string %d %q"):format(i, s), function()
        local v = { s, key = s, [s ~= "" and s or "empty"] = s, nested = { { s } } }
        local text = assert(yaml.dump(v))
        local back, err = yaml.load(text)
        assert(back, err)
        assert.is_true(same(v, back), text)
      end)
    end

    it("numbers, booleans, null, empty and nested tables", function()
      local v = {
        ints = { 0, -1, 42, 2 ^ 53, -(2 ^ 53) },
        floats = { 1.5, 0.1, 1 / 3, 1e300, -2.5e-10, 2 ^ 60, 5e-324, math.huge, -math.huge },
        nan = 0 / 0,
        bools = { true, false },
        null = yaml.null,
        nulls = yaml.sequence({ yaml.null, yaml.null }),
        empty_seq = yaml.sequence(), empty_map = {},
        [1] = "one", [2.5] = "two and a half", [true] = "yes",
        deep = { { { { a = { { b = yaml.sequence() } } } } } },
      }
      local text = assert(yaml.dump(v))
      assert.is_true(same(v, assert(yaml.load(text))), text)
      assert.equal(text, yaml.dump(yaml.load(text)))
    end)

    it("loads what it dumps for the realistic fixture", function()
      local v = assert(yaml.load_file(FIX .. "service.yaml"))
      local text = assert(yaml.dump(v))
      assert.is_true(same(v, assert(yaml.load(text))), text)
    end)
  end)

  describe("numbers under another LC_NUMERIC", function()
    it("read and write with a '.' under de_DE", function()
      local dir = tmpdir()
      local r = sys.spawn({ argv = { "localedef", "-i", "de_DE", "-f", "UTF-8", dir .. "/de_DE.UTF-8" } })
      local old = sys.getenv("LOCPATH")
      sys.setenv("LOCPATH", dir)
      local set = r and os.setlocale("de_DE.UTF-8", "numeric")
      if not set then
        sys.setenv("LOCPATH", old)
        pending("no de_DE locale could be made here (localedef, locale sources)")
        return
      end
      local ok, err = pcall(function()
        assert.equal(1.5, yaml.load("1.5"))
        assert.equal(0.015, yaml.load("+1.5e-2"))
        assert.equal("- 1.5\n- 0.1\n- 1e+20\n", yaml.dump({ 1.5, 0.1, 1e20 }))
        assert.equal('"1.5"\n', yaml.dump("1.5"))
      end)
      os.setlocale("C", "numeric")
      sys.setenv("LOCPATH", old)
      sys.spawn({ argv = { "rm", "-rf", dir } })
      assert(ok, err)
    end)
  end)
end)
