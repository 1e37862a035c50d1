-- One script for every scenario; environment variables choose it:
--   BENCH_KIND   checkin | accept | get | bare
--   BENCH_DIR    where seed.py wrote tokens and codes
--   BENCH_TOKENS the token file (one access token per line)
--   BENCH_PATH   for get: the path; for accept: the file of task ids
--   (closed loop: for a fixed rate, open loop, see bench/openloop.py)
package.path = os.getenv("BENCH_LUA") .. "/?.lua;" .. package.path
local common = require("common")

local kind = os.getenv("BENCH_KIND")
local dir = os.getenv("BENCH_DIR")
local threads_n = tonumber(os.getenv("BENCH_THREADS") or "1")
local tokens, codes, tasks, i, step

setup = common.setup
done = common.done

function init(args)
  statuses = {}
  tokens = common.lines(dir .. "/" .. os.getenv("BENCH_TOKENS"))
  if kind == "checkin" then codes = common.lines(dir .. "/codes.txt") end
  if kind == "accept" then tasks = common.lines(dir .. "/" .. os.getenv("BENCH_PATH")) end
  -- thread t takes items t, t + T, t + 2T, ...: every request a different member
  i = id
  step = threads_n
end

function request()
  local k = i % #tokens
  i = i + step
  local headers = {["Authorization"] = "Bearer " .. tokens[k + 1], ["Content-Type"] = "application/json"}
  if kind == "checkin" then
    local body = string.format('{"code": "%s", "location": {"lat": 21.858, "lng": 111.962, "accuracy": 20}}',
                               codes[k % #codes + 1])
    return wrk.format("POST", "/api/v1/checkins", headers, body)
  elseif kind == "accept" then
    return wrk.format("POST", "/api/v1/tasks/" .. tasks[k % #tasks + 1] .. "/accept", headers, "{}")
  elseif kind == "bare" then
    return wrk.format("POST", "/api/v1/bench/insert", headers, "{}")
  else
    return wrk.format("GET", os.getenv("BENCH_PATH"), headers)
  end
end

function response(status, headers, body)
  common.count(status)
end
