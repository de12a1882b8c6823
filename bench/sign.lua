-- wrk script: every request signs with a new address, as readers do.
-- Arguments: path, form token, origin, and optionally a pause in ms between one connection's
-- requests (readers who take their time, for a steady rate rather than as fast as possible).
local next_id = 0

function setup(thread)
  thread:set("thread_id", next_id)
  next_id = next_id + 1
end

function init(args)
  path = args[1]
  token = args[2]
  origin = args[3]
  counter = 0
  run = tostring(os.time())
  local pause = tonumber(args[4] or "0")
  if pause > 0 then
    delay = function() return pause end
  end
end

function request()
  counter = counter + 1
  local body = "name=Bench+Reader&country=FR&postcode=&email=r" .. run .. "t" .. thread_id .. "n" .. counter ..
    "%40bench.example&form_token=" .. token
  return wrk.format("POST", path, {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["Origin"] = origin,
  }, body)
end
