-- deloc version
local host = require("deloc.native.host")

return {
  name = "version",
  order = 95,
  usage = "deloc version",
  summary = "print the version",
  run = function(opts)
    if opts.json then
      io.stdout:write(('{"version":"%s","lua":"%s"}\n'):format(host.version(), jit.version))
    else
      io.stdout:write("deloc ", host.version(), " (", jit.version, ")\n")
    end
    return 0
  end,
}
