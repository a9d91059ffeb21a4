-- wrk script for device check-ins. CHECKIN_FILE lists one device per line:
-- "<credential>" or "<credential> <etag>". BODY is the JSON report sent by
-- every device. With an etag, the request carries If-None-Match (the idle,
-- 304 case). Requests pick devices at random, so load spreads over them all.
local devices = {}
for line in io.lines(os.getenv("CHECKIN_FILE")) do
  local credential, etag = line:match("^(%S+)%s*(.*)$")
  devices[#devices + 1] = { credential = credential, etag = etag ~= "" and etag or nil }
end
local body = os.getenv("BODY")
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
  local headers = { ["Authorization"] = "Bearer " .. device.credential, ["Content-Type"] = "application/json" }
  if device.etag then
    headers["If-None-Match"] = device.etag
  end
  return wrk.format("POST", "/device/v1/checkin", headers, body)
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
