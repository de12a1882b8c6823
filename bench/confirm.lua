-- wrk script: each request confirms a different pending signature (links bench-1, bench-2 …).
-- Arguments: origin, number of threads.
local next_id = 0

function setup(thread)
  thread:set("thread_id", next_id)
  next_id = next_id + 1
end

function init(args)
  origin = args[1]
  threads = tonumber(args[2])
  counter = thread_id + 1
end

function request()
  local path = "/signatures/confirm/bench-" .. counter
  counter = counter + threads
  return wrk.format("POST", path, { ["Origin"] = origin })
end
