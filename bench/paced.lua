-- wrk script: GET the URL, with a pause in ms between one connection's requests (argument 1).
function init(args)
  local pause = tonumber(args[1] or "0")
  if pause > 0 then
    delay = function() return pause end
  end
end
