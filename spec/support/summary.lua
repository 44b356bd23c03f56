-- busted output handler: the usual plain output, then the line CI reads,
-- `N passed, N failed, N skipped` (errors count as failures).
return function(options)
  local busted = require("busted")
  local name = require("term").isatty(io.stdout) and "utfTerminal" or "plainTerminal"
  local inner = require("busted.outputHandlers." .. name)(options)
  local subscribe = inner.subscribe
  function inner:subscribe(opts)
    subscribe(self, opts)
    busted.subscribe({ "suite", "end" }, function()
      io.write(("%d passed, %d failed, %d skipped\n"):format(
        #inner.successes, #inner.failures + #inner.errors, #inner.pendings))
      io.flush()
      return nil, true
    end)
  end
  return inner
end
