-- deloc repl
return {
  name = "repl",
  order = 91,
  usage = "deloc repl",
  summary = "interactive Lua prompt with deloc loaded",
  help = [[
Type Lua; expressions print their value (tables pretty-printed). A chunk that is
not complete keeps reading. TAB completes names (deloc.res<TAB>). Ctrl-C clears
the line or interrupts running code; Ctrl-D leaves. History is kept in
$XDG_STATE_HOME/deloc/history. With stdin not a terminal, statements are read
and results printed; the exit status is 1 if any failed.]],
  run = function(opts)
    return require("deloc.repl").run(opts)
  end,
}
