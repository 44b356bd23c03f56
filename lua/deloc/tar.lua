-- deloc.tar: tar archives, written from local files and read back into a
-- directory safely.  The cp of every target uses it: the Docker driver with
-- the Engine's archive API, the Kubernetes driver with tar over pods/exec.
--
--   tar.pack(path, name [, opts]) -> tar (string) | nil, err
--     the file, link or directory tree at path, its top entry called name
--     (name "": a directory's contents, no top entry); opts.mtime, uid, gid
--     replace the files' own;
--     opts.filter(rel, type) -> false leaves an entry out (dirs: and below);
--     opts.on_file(rel, size) reports progress
--   tar.unpacker(dir, rename [, opts]) -> u
--     u:feed(chunk) -> true | nil, err ; u:finish() -> summary | nil, err
--     Entries land under dir, the archive's first path component replaced by
--     `rename`.  Names with "..", absolute names and links that point out
--     of what is being unpacked are refused (links are skipped and listed in
--     summary.skipped; bad names stop it); nothing at the destination is
--     followed (deloc.native.fsat); set-id bits are dropped.
--   tar.unpack_to(local_path [, opts]) -> u   where `cp` out lands
--   tar.pack_for_copy(path, name, owner [, on_progress]) -> tar, summary
--   tar.basename(path), tar.dirname(path)
local errors = require("deloc.errors")

local M = {}

local function fsat() return require("deloc.native.fsat") end

local BLOCK = 512

-- ---- writing ----

local function octal(n, width)
  return ("%0" .. (width - 1) .. "o"):format(n) .. "\0"
end

local function field(s, width)
  s = s or ""
  if #s > width then s = s:sub(1, width) end
  return s .. ("\0"):rep(width - #s)
end

local function checksum(h)
  local sum = 0
  for i = 1, #h do sum = sum + h:byte(i) end
  return sum
end

-- One 512-byte ustar header.
local function header(name, e)
  local h = field(name, 100) .. octal(e.mode, 8) .. octal(e.uid or 0, 8) .. octal(e.gid or 0, 8)
    .. octal(e.size or 0, 12) .. octal(math.floor(e.mtime or 0), 12) .. "        "
    .. e.type .. field(e.link, 100) .. "ustar\0" .. "00" .. field(e.uname, 32) .. field(e.gname, 32)
    .. octal(0, 8) .. octal(0, 8) .. field("", 155) .. field("", 12)
  local sum = checksum(h)
  return h:sub(1, 148) .. ("%06o\0 "):format(sum) .. h:sub(157)
end

local function pad(n)
  local r = n % BLOCK
  return r == 0 and "" or ("\0"):rep(BLOCK - r)
end

local function pax_record(key, value)
  local body = " " .. key .. "=" .. value .. "\n"
  local len = #body + 1
  while #tostring(len) + #body ~= len do len = #tostring(len) + #body end
  return len .. body
end

-- Header(s) for an entry: a PAX header first when a name is too long.
local function entry_headers(name, e)
  local out = {}
  local records = ""
  if #name > 100 then records = records .. pax_record("path", name) end
  if e.link and #e.link > 100 then records = records .. pax_record("linkpath", e.link) end
  if records ~= "" then
    out[#out + 1] = header("PaxHeaders/" .. name:sub(-80), { mode = 420, type = "x", size = #records })
    out[#out + 1] = records .. pad(#records)
  end
  out[#out + 1] = header(name, e)
  return out
end

local function read_all(path)
  local f, err = io.open(path, "rb")
  if not f then return nil, err end
  local data = f:read("*a")
  f:close()
  return data
end

function M.pack(path, name, opts)
  opts = opts or {}
  local parts = {}
  local function add(list) for _, p in ipairs(list) do parts[#parts + 1] = p end end
  local function walk(abs, rel)
    local st, err = fsat().lstat(abs)
    if not st then return nil, err end
    if rel ~= "" and opts.filter and opts.filter(rel, st.type) == false then return true end
    local e = { mode = st.mode % 4096, mtime = opts.mtime or st.mtime, uid = opts.uid or 0, gid = opts.gid or 0 }
    if st.type == "directory" then
      e.type = "5"
      if rel ~= "" then add(entry_headers(rel .. "/", e)) end
      local names = require("deloc.sys").listdir(abs) or {}
      table.sort(names)
      for _, n in ipairs(names) do
        local ok, werr = walk(abs .. "/" .. n, rel == "" and n or (rel .. "/" .. n))
        if not ok then return nil, werr end
      end
    elseif st.type == "file" then
      local data, rerr = read_all(abs)
      if not data then return nil, rerr end
      e.type, e.size = "0", #data
      add(entry_headers(rel, e))
      parts[#parts + 1] = data
      parts[#parts + 1] = pad(#data)
      if opts.on_file then opts.on_file(rel, #data) end
    elseif st.type == "symlink" then
      e.type, e.link, e.mode = "2", fsat().readlink(abs), 511
      add(entry_headers(rel, e))
    end -- sockets, fifos and devices have no place in a copy
    return true
  end
  local ok, err = walk(path, name)
  if not ok then return nil, errors.new("IO_ERROR", tostring(err)) end
  parts[#parts + 1] = ("\0"):rep(BLOCK * 2)
  return table.concat(parts)
end

-- ---- reading ----

local function cstr(s)
  return (s:match("^([^%z]*)"))
end

local function parse_octal(s)
  local digits = cstr(s):match("^%s*([0-7]*)")
  return tonumber(digits ~= "" and digits or "0", 8)
end

local function parse_pax(data, into)
  local pos = 1
  while pos <= #data do
    local len = tonumber(data:match("^(%d+) ", pos))
    if not len or len < 1 then break end
    local rec = data:sub(pos, pos + len - 1)
    local key, value = rec:match("^%d+ ([^=]+)=(.*)\n$")
    if key then into[key] = value end
    pos = pos + len
  end
end

-- The parts of a member name, or nil when it is absolute or climbs.
local function split(name)
  if name:sub(1, 1) == "/" then return nil end
  local parts = {}
  for p in name:gmatch("[^/]+") do
    if p == ".." then return nil end
    if p ~= "." then parts[#parts + 1] = p end
  end
  if #parts == 0 then return nil end
  return parts
end

-- Does a link at parts (a list) with target stay inside the top entry?
local function link_inside(parts, target)
  if target:sub(1, 1) == "/" then return false end
  local depth = #parts - 1 -- the link's directory, below the top entry's parent
  for p in target:gmatch("[^/]+") do
    if p == ".." then depth = depth - 1 elseif p ~= "." then depth = depth + 1 end
    if depth < 1 then return false end
  end
  return true
end

local Unpacker = {}
Unpacker.__index = Unpacker

function M.unpacker(dir, rename, opts)
  local root, err = fsat().open(dir)
  if not root then return nil, errors.new("IO_ERROR", err) end
  return setmetatable({ root = root, rename = rename, opts = opts or {}, buf = "",
    state = "header", pax = {}, summary = { files = 0, dirs = 0, links = 0, bytes = 0, skipped = {} },
  }, Unpacker)
end

function Unpacker:fail(msg)
  self.failed = errors.new("IO_ERROR", msg)
  if self.file then self.file:close(); self.file = nil end
  return nil, self.failed
end

-- The destination path of a member, its first component renamed.
function Unpacker:dest(name)
  local parts = split(name)
  if not parts then return nil, nil end
  if self.rename then parts[1] = self.rename end
  return table.concat(parts, "/"), parts
end

local function perm(mode)
  return mode % 512 -- no set-id or sticky bits from someone else's archive
end

function Unpacker:begin(h)
  local name = self.pax.path or self.long_name or h.name
  local link = self.pax.linkpath or self.long_link or h.link
  self.pax, self.long_name, self.long_link = {}, nil, nil
  local rel, parts = self:dest(name)
  if not rel then return self:fail(("unsafe name in the archive: %q"):format(name)) end
  local s, root = self.summary, self.root
  local ok, err = true, nil
  if h.type == "5" then
    local m = perm(h.mode)
    local owner = math.floor(m / 64) % 8
    ok, err = root:mkdir(rel, m - owner * 64 + 448) -- we must be able to fill it
    s.dirs = s.dirs + 1
  elseif h.type == "0" or h.type == "\0" or h.type == "7" then
    local f
    f, err = root:create(rel, perm(h.mode))
    if not f then return self:fail(err) end
    self.file, self.left, self.mtime, self.current = f, h.size, h.mtime, rel
    s.files = s.files + 1
    if h.size == 0 then self.file:close(h.mtime); self.file = nil end
  elseif h.type == "2" then
    if link_inside(parts, link) then
      ok, err = root:symlink(rel, link)
      s.links = s.links + 1
    else
      s.skipped[#s.skipped + 1] = ("%s -> %s (points outside what is copied)"):format(rel, link)
    end
  elseif h.type == "1" then
    local target = self:dest(link)
    if not target then return self:fail(("unsafe hard link in the archive: %q"):format(link)) end
    ok, err = root:link(rel, target)
    s.links = s.links + 1
  else
    s.skipped[#s.skipped + 1] = ("%s (not a file, directory or link)"):format(rel)
  end
  if not ok then return self:fail(err) end
  return true
end

local function parse_header(b)
  return { name = cstr(b:sub(1, 100)), mode = parse_octal(b:sub(101, 108)),
    size = parse_octal(b:sub(125, 136)), mtime = parse_octal(b:sub(137, 148)),
    type = b:sub(157, 157), link = cstr(b:sub(158, 257)),
    prefix = b:sub(258, 263) == "ustar\0" and cstr(b:sub(346, 500)) or "" }
end

-- Handles one 512-byte header block.
function Unpacker:on_header(b)
  if b == ("\0"):rep(BLOCK) then self.state = "end"; return true end
  local h = parse_header(b)
  if checksum(b:sub(1, 148) .. "        " .. b:sub(157)) ~= parse_octal(b:sub(149, 156)) then
    return self:fail("not a tar archive (bad header checksum)")
  end
  if h.prefix ~= "" then h.name = h.prefix .. "/" .. h.name end
  if h.type == "x" or h.type == "g" or h.type == "L" or h.type == "K" then
    self.state, self.meta_type, self.left, self.meta = "meta", h.type, h.size, {}
    self.padding = (BLOCK - h.size % BLOCK) % BLOCK
    return true
  end
  local ok, err = self:begin(h)
  if not ok then return nil, err end
  local size = (h.type == "0" or h.type == "\0" or h.type == "7") and h.size or 0
  self.padding = (BLOCK - size % BLOCK) % BLOCK
  if size > 0 then self.state, self.left = "data", size
  elseif self.padding > 0 then self.state = "pad"
  else self.state = "header" end
  return true
end

function Unpacker:on_meta_done()
  local data = table.concat(self.meta)
  if self.meta_type == "x" then parse_pax(data, self.pax)
  elseif self.meta_type == "L" then self.long_name = cstr(data)
  elseif self.meta_type == "K" then self.long_link = cstr(data) end
end

function Unpacker:feed(chunk)
  if self.failed then return nil, self.failed end
  self.buf = self.buf .. chunk
  while true do
    local st = self.state
    if st == "header" then
      if #self.buf < BLOCK then return true end
      local b = self.buf:sub(1, BLOCK)
      self.buf = self.buf:sub(BLOCK + 1)
      local ok, err = self:on_header(b)
      if not ok then return nil, err end
    elseif st == "data" or st == "meta" then
      if #self.buf == 0 then return true end
      local n = math.min(self.left, #self.buf)
      local piece = self.buf:sub(1, n)
      self.buf = self.buf:sub(n + 1)
      self.left = self.left - n
      if st == "meta" then
        self.meta[#self.meta + 1] = piece
      else
        if self.file then
          local ok, err = self.file:write(piece)
          if not ok then return self:fail(err) end
        end
        self.summary.bytes = self.summary.bytes + n
        if self.opts.on_progress then self.opts.on_progress(self.summary.bytes, self.current) end
      end
      if self.left == 0 then
        if st == "meta" then self:on_meta_done()
        elseif self.file then self.file:close(self.mtime); self.file = nil end
        self.state = self.padding > 0 and "pad" or "header"
      end
    elseif st == "pad" then
      if #self.buf < self.padding then return true end
      self.buf = self.buf:sub(self.padding + 1)
      self.state = "header"
    else -- "end": what follows the end blocks is ignored
      self.buf = ""
      return true
    end
  end
end

function Unpacker:finish()
  if self.failed then return nil, self.failed end
  if self.state == "data" or self.state == "meta" then
    return self:fail("the archive ended in the middle of an entry")
  end
  self.root:close()
  return self.summary
end


-- ---- every target's cp ----

-- tar.pack_for_copy(path, name, owner [, on_progress]) -> tar, summary | nil, err
-- what `cp` in sends: owned by owner = { uid=, gid= }, on_progress(bytes, rel)
function M.pack_for_copy(path, name, owner, on_progress)
  local summary = { files = 0, bytes = 0 }
  local tar, err = M.pack(path, name, { uid = owner.uid, gid = owner.gid, on_file = function(rel, size)
    summary.files, summary.bytes = summary.files + 1, summary.bytes + size
    if on_progress then on_progress(summary.bytes, rel) end
  end })
  if not tar then return nil, err end
  return tar, summary
end

function M.basename(p)
  return (p:gsub("/+$", ""):match("([^/]*)$"))
end

function M.dirname(p)
  p = p:gsub("/+$", "")
  local d = p:match("^(.*)/[^/]*$")
  if d == nil then return "." end
  if d == "" then return "/" end
  return d
end

-- tar.unpack_to(local_path [, opts]) -> unpacker | nil, err: like `docker cp`,
-- into an existing directory under the archive's own name, else as local_path
-- (its directory must exist; a symbolic link there is not written through)
function M.unpack_to(local_path, opts)
  local st = fsat().lstat(local_path)
  if st and st.type == "directory" then return M.unpacker(local_path, nil, opts) end
  if st and st.type == "symlink" then
    return nil, errors.new("USAGE", ("'%s' is a symbolic link: deloc cp does not write through one"):format(local_path))
  end
  local dir = M.dirname(local_path)
  local pst = fsat().lstat(dir)
  if not pst or pst.type ~= "directory" then
    return nil, errors.new("USAGE", ("no directory '%s' to copy into"):format(dir))
  end
  return M.unpacker(dir, M.basename(local_path), opts)
end

return M
