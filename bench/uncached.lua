-- wrk script: GET the URL with a query no request has asked before (?r=…), so the micro-cache
-- never has it and every request is rendered: what a page costs before any cache helps.
local thread_tag = tostring({}):match("0x(%x+)") or tostring(math.random(1, 1e9))
local counter = 0

function request()
  counter = counter + 1
  return wrk.format("GET", wrk.path .. "?r=" .. thread_tag .. "-" .. counter)
end
