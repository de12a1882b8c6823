-- wrk script: each request confirms a different pending signature (links bench-1, bench-2 …),
-- sending the details the confirm page shows, as a reader's press of its button does.
-- Arguments: origin, number of threads, how many links there are, and optionally a pause in ms
-- between one connection's requests. Each run starts where the clock says (a thousand links a
-- second), so back-to-back runs confirm signatures still pending, not ones already confirmed.
local next_id = 0

function setup(thread)
  thread:set("thread_id", next_id)
  next_id = next_id + 1
end

function init(args)
  origin = args[1]
  threads = tonumber(args[2])
  links = tonumber(args[3])
  counter = (os.time() * 1000) % links + 1 + thread_id
  local pause = tonumber(args[4] or "0")
  if pause > 0 then
    delay = function() return pause end
  end
end

function request()
  local path = "/signatures/confirm/bench-" .. counter
  counter = counter + threads
  if counter > links then
    counter = counter - links
  end
  return wrk.format("POST", path, {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["Origin"] = origin,
  }, "details_shown=1&name=Bench+Reader&country=GB&postcode=SW1A+1AA")
end
