-- wrk script for the baseline: each request updates a different row by primary key.
local next_id = 0

function setup(thread)
  thread:set("thread_id", next_id)
  next_id = next_id + 1
end

function init(args)
  threads = tonumber(args[1])
  counter = thread_id + 1
end

function request()
  local path = "/update/" .. counter
  counter = counter + threads
  return wrk.format("POST", path)
end
