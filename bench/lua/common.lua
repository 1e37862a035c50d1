-- Shared by every scenario: read lines from a file, count answers by status,
-- and print one JSON line with throughput, latency percentiles and statuses.
local M = {}
local threads = {}

function M.lines(path)
  local out = {}
  for line in io.lines(path) do
    if line ~= "" then out[#out + 1] = line end
  end
  return out
end

function M.setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function M.count(status)
  local key = "s" .. status
  statuses[key] = (statuses[key] or 0) + 1
end

function M.done(summary, latency, requests)
  local counts = {}
  for _, thread in ipairs(threads) do
    local s = thread:get("statuses")
    for key, value in pairs(s) do counts[key] = (counts[key] or 0) + value end
  end
  local parts = {}
  for key, value in pairs(counts) do parts[#parts + 1] = string.format('"%s": %d', key:sub(2), value) end
  io.write(string.format(
    'RESULT {"requests": %d, "seconds": %.3f, "rps": %.1f, "p50_ms": %.2f, "p95_ms": %.2f, "p99_ms": %.2f, "errors": %d, "status": {%s}}\n',
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    table.concat(parts, ", ")))
end

return M
