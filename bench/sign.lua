-- wrk script: every request signs with a new address, as readers do.
-- Arguments: path, form token, origin.
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
