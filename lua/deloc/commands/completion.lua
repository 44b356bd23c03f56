-- deloc completion bash|zsh|fish: shell completion for commands, flags,
-- service and recipe names.  The scripts are generated from the command
-- table (the commands and their flags are written into them); names, which
-- depend on the project, come from the hidden `deloc __complete`.
local errors = require("deloc.errors")

local M = {
  name = "completion",
  order = 95,
  usage = "deloc completion bash|zsh|fish",
  summary = "print a shell completion script",
  help = [[
  bash:  source <(deloc completion bash)         (or save it in ~/.local/share/bash-completion/completions/deloc)
  zsh:   source <(deloc completion zsh)          (or save it as _deloc on your $fpath)
  fish:  deloc completion fish > ~/.config/fish/completions/deloc.fish

Commands, flags, profile and target names are completed; services and
recipes from the project in the current directory (or -f FILE).]],
}

local function cli() return require("deloc.cli") end

local function visible_commands()
  local names = {}
  for _, c in ipairs(cli().commands()) do
    if not c.hidden then
      names[#names + 1] = c.name
      for _, a in ipairs(c.aliases or {}) do names[#names + 1] = a end
    end
  end
  return names
end

-- words the shell may offer after `deloc CMD` for an option's value
local VALUES = {
  profile = function() return require("deloc.profiles").names end,
  target = function() return require("deloc.targets").names() end,
  format = function() return { "shell", "dotenv", "json" } end,
}

local function names(file)
  local out, seen = {}, {}
  local function add(n) if not seen[n] then seen[n] = true; out[#out + 1] = n end end
  local api = require("deloc.api")
  local project = api.project(file)
  for _, n in ipairs(project and project.service_order or {}) do add(n) end
  local reg = api.registry({ file = file })
  for _, n in ipairs(reg and reg:names() or {}) do add(n) end
  return out
end

-- candidates(index, words) -> list: index is the 0-based position of the
-- word being completed in words (words[1] = "deloc")
function M.candidates(index, words)
  local cur = words[index + 1] or ""
  local out = {}
  local function offer(list)
    for _, w in ipairs(list) do
      if w:sub(1, #cur) == cur then out[#out + 1] = w end
    end
  end
  if index <= 1 then offer(visible_commands()); return out end
  local cmd = cli().find(words[2] or "")
  if not cmd then return out end
  local opts = cli().options_of(cmd)
  local file
  for i = 3, index do
    if (words[i] == "-f" or words[i] == "--file") and words[i + 1] then file = words[i + 1] end
  end
  local prev = words[index] or ""
  for _, o in ipairs(opts) do
    if o.arg and (prev == "--" .. o[1] or (o[2] and prev == "-" .. o[2])) then
      if VALUES[o[1]] then offer(VALUES[o[1]]()) end
      return out -- FILE, PATH, ...: the shell completes paths
    end
  end
  if cur:sub(1, 1) == "-" then
    local flags = {}
    for _, o in ipairs(opts) do
      flags[#flags + 1] = "--" .. o[1]
      if o[2] then flags[#flags + 1] = "-" .. o[2] end
    end
    offer(flags)
    return out
  end
  if cmd.name == "completion" then offer({ "bash", "zsh", "fish" }); return out end
  if cmd.name == "generate" and index == 2 then offer({ "compose", "helm" }); return out end
  if cmd.name == "help" then offer(visible_commands()); return out end
  if cmd.name == "init" or cmd.name == "import" or cmd.name == "run" then return out end
  local ok, list = pcall(names, file)
  if ok then offer(list) end
  return out
end

local function quote_words(list)
  local q = {}
  for i, w in ipairs(list) do q[i] = w:gsub("[^%w_.-]", "") end
  return table.concat(q, " ")
end

M.BASH = [=[
# deloc completion for bash: source <(deloc completion bash)
_deloc() {
  local cur=${COMP_WORDS[COMP_CWORD]}
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=($(compgen -W "%s" -- "$cur"))
    return
  fi
  local IFS=$'\n'
  COMPREPLY=($(deloc __complete "$COMP_CWORD" "${COMP_WORDS[@]}" 2>/dev/null))
}
complete -o default -o nospace -F _deloc deloc 2>/dev/null || complete -o default -F _deloc deloc
]=]

M.ZSH = [=[
#compdef deloc
# deloc completion for zsh: source <(deloc completion zsh)
_deloc() {
  local -a cands
  if (( CURRENT == 2 )); then
    cands=(%s)
  else
    cands=("${(@f)$(deloc __complete $((CURRENT - 1)) "${words[@]}" 2>/dev/null)}")
  fi
  if (( ${#cands} )) && [[ -n "${cands[1]}" ]]; then
    compadd -a cands
  else
    _files
  fi
}
if (( $+functions[compdef] )); then compdef _deloc deloc; fi
]=]

M.FISH = [=[
# deloc completion for fish: deloc completion fish > ~/.config/fish/completions/deloc.fish
function __deloc_complete
    set -l tokens (commandline -opc) (commandline -ct)
    deloc __complete (math (count $tokens) - 1) $tokens 2>/dev/null
end
complete -c deloc -f -n '__fish_is_first_token' -a '%s'
complete -c deloc -f -n 'not __fish_is_first_token' -a '(__deloc_complete)'
complete -c deloc -s f -l file -r -F
]=]

function M.run(_, args)
  local shell = args[1]
  local list = quote_words(visible_commands())
  if shell == "bash" then io.stdout:write((M.BASH:gsub("%%s", list)))
  elseif shell == "zsh" then io.stdout:write((M.ZSH:gsub("%%s", list)))
  elseif shell == "fish" then io.stdout:write((M.FISH:gsub("%%s", list)))
  else
    return nil, errors.new("USAGE", shell and ("unknown shell '%s'"):format(shell) or "completion needs a shell",
      { hint = "deloc completion bash|zsh|fish" })
  end
  return 0
end

-- deloc __complete INDEX WORDS...: one candidate a line (hidden)
M.complete = {
  name = "__complete",
  hidden = true,
  raw_args = true,
  order = 1000,
  usage = "deloc __complete INDEX WORDS...",
  summary = "completion candidates (used by the completion scripts)",
  run = function(_, args)
    local index = tonumber(args[1] or "")
    if not index then return 0 end
    local words = {}
    for i = 2, #args do words[#words + 1] = args[i] end
    local ok, out = pcall(M.candidates, index, words)
    if ok and #out > 0 then
      for i, w in ipairs(out) do out[i] = w:gsub("%c", "") end
      io.stdout:write(table.concat(out, "\n"), "\n")
    end
    return 0
  end,
}

return { M, M.complete }
