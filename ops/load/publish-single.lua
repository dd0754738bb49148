-- wrk script: one single-event POST /v1/events per request over keep-alive connections.
--   wrk -t2 -c32 -d20s -s ops/load/publish-single.lua http://127.0.0.1:PORT -- <publish key>
-- The body is the fan-out benchmark's event (~120 bytes); every request has its own "id" so no
-- publish is an idempotent duplicate. Non-2xx answers are counted by wrk ("Non-2xx").
local key = "unused"
local counter = 0
local thread_id = 0
local threads = {}

function setup(thread)
  thread:set("thread_id", #threads)
  table.insert(threads, thread)
end

function init(args)
  if args[1] then key = args[1] end
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Authorization"] = "Bearer " .. key
end

function request()
  counter = counter + 1
  local body = string.format(
    '{"room":"loadtest","type":"load.tick","id":"w%d-%d","data":{"t":1700000000000.123,"seq":%d,"pad":"abcdefghijklmnopqrstuvwxyz"}}',
    thread_id, counter, counter)
  return wrk.format(nil, "/v1/events", nil, body)
end
