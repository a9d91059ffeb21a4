-- wrk script for check-ins where each device sends its own report.
-- CHECKIN_FILE lists one device per line: "<credential> <etag> <body>", the
-- body being the device's JSON report without spaces (bench/fleet.py idle
-- writes it). The request carries If-None-Match with the etag, so a device
-- whose state did not change gets 304. Requests pick devices at random.
local devices = {}
for line in io.lines(os.getenv("CHECKIN_FILE")) do
  local credential, etag, body = line:match("^(%S+) (%S+) (%S+)$")
  devices[#devices + 1] = {
    headers = { ["Authorization"] = "Bearer " .. credential, ["Content-Type"] = "application/json",
                ["If-None-Match"] = etag },
    body = body,
  }
end
local threads = {}

setup = function(thread)
  thread:set("id", #threads)
  threads[#threads + 1] = thread
end

init = function()
  math.randomseed(42 + id)
  s200, s304, other = 0, 0, 0
end

request = function()
  local device = devices[math.random(#devices)]
  return wrk.format("POST", "/device/v1/checkin", device.headers, device.body)
end

response = function(status)
  if status == 200 then s200 = s200 + 1 elseif status == 304 then s304 = s304 + 1 else other = other + 1 end
end

done = function(summary, latency, requests)
  local ok, not_modified, rest = 0, 0, 0
  for _, thread in ipairs(threads) do
    ok = ok + thread:get("s200")
    not_modified = not_modified + thread:get("s304")
    rest = rest + thread:get("other")
  end
  io.write(string.format("requests=%d rps=%.0f 200=%d 304=%d other=%d p50=%.2fms p90=%.2fms p99=%.2fms max=%.2fms\n",
    summary.requests, summary.requests / (summary.duration / 1e6), ok, not_modified, rest,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
end
