-- deloc help [COMMAND]
return {
  name = "help",
  order = 99,
  usage = "deloc help [COMMAND]",
  summary = "show help for deloc or one command",
  run = function(_, rest)
    local cli = require("deloc.cli")
    if rest[1] == nil then
      io.stdout:write(cli.help_text())
      return 0
    end
    local cmd, err = cli.find(rest[1])
    if not cmd then return nil, err end
    io.stdout:write(cli.help_text(cmd))
    return 0
  end,
}
