-- wrk script: every request signs with the same address, which has already signed.
-- Arguments: path, form token, origin.
function init(args)
  path = args[1]
  token = args[2]
  origin = args[3]
end

function request()
  local body = "name=Bench+Reader&country=FR&postcode=&email=signed-before%40bench.example" ..
    "&form_token=" .. token
  return wrk.format("POST", path, {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["Origin"] = origin,
  }, body)
end
