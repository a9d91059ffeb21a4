-- wrk script for the SCEP connector: verify, then notify, per prepared pair.
-- Run with as many threads as connections (-tN -cN): each thread then has a
-- single connection, so its requests go strictly one after another and a
-- notify is only sent once its verify was answered. Thread k reads
-- PAIRS_PREFIX<k>.txt ("<verify body>\t<notify body>" per line, from
-- bench/fleet.py pairs) and stops when it has used them all: challenges are
-- single-use, so pairs cannot be replayed. TOKEN is a connector token.
-- wrk's own duration is the -d it was given even when every thread ran out
-- early, so the rate and the per-pair latency come from a monotonic clock
-- (LuaJIT's ffi): pairs recorded over first verify sent .. last notify answered.
local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } fleet_timespec;
int clock_gettime(int clock, fleet_timespec *t);
]]
local timespec = ffi.new("fleet_timespec")
local function now_ms()
  ffi.C.clock_gettime(1, timespec) -- CLOCK_MONOTONIC
  return tonumber(timespec.tv_sec) * 1000 + tonumber(timespec.tv_nsec) / 1e6
end
local threads = {}

setup = function(thread)
  thread:set("id", #threads)
  threads[#threads + 1] = thread
end

init = function()
  pairs_ = {}
  for line in io.lines(os.getenv("PAIRS_PREFIX") .. id .. ".txt") do
    local verify, notify = line:match("^([^\t]+)\t([^\t]+)$")
    pairs_[#pairs_ + 1] = { verify, notify }
  end
  headers = { ["Authorization"] = "Bearer " .. os.getenv("TOKEN"), ["Content-Type"] = "application/json" }
  next_ = 0          -- steps answered: even = verify of pair next_/2 + 1 is next, odd = its notify
  allowed, denied, recorded, failed, exhausted = 0, 0, 0, 0, 0
  first_ms, last_ms, pair_ms, started_ms = 0, 0, {}, 0
end

-- request() may be called more than once for the same step: wrk calls it
-- once on thread 0 before the run to see whether the script pipelines. So
-- only an answer moves a thread on to its next step (next_), and a repeated
-- call restarts the step's clock.
request = function()
  local pair = pairs_[math.floor(next_ / 2) + 1]
  if pair == nil then
    -- Out of pairs: stop this thread. The request returned here may still go
    -- out; it is a cheap one and its answer is not counted.
    exhausted = 1
    wrk.thread:stop()
    return wrk.format("GET", "/readyz")
  end
  if next_ % 2 == 0 then
    started_ms = now_ms()
    if next_ == 0 then first_ms = started_ms end
    return wrk.format("POST", "/connector/v1/scep/verify", headers, pair[1])
  end
  return wrk.format("POST", "/connector/v1/scep/notify", headers, pair[2])
end

response = function(status, headers, body)
  if exhausted == 1 then return end
  next_ = next_ + 1
  if next_ % 2 == 1 then
    if status == 200 and body:find('"allowed":true', 1, true) then allowed = allowed + 1 else denied = denied + 1 end
  else
    if status == 201 then recorded = recorded + 1 else failed = failed + 1 end
    last_ms = now_ms()
    pair_ms[#pair_ms + 1] = last_ms - started_ms
  end
end

done = function(summary, latency, requests)
  local sums = { allowed = 0, denied = 0, recorded = 0, failed = 0, exhausted = 0 }
  local first, last, all = math.huge, 0, {}
  for _, thread in ipairs(threads) do
    for key in pairs(sums) do sums[key] = sums[key] + thread:get(key) end
    local f, l = thread:get("first_ms"), thread:get("last_ms")
    if f > 0 and f < first then first = f end
    if l > last then last = l end
    for _, ms in ipairs(thread:get("pair_ms")) do all[#all + 1] = ms end
  end
  table.sort(all)
  local function pct(p) return #all > 0 and all[math.max(1, math.ceil(#all * p / 100))] or 0 end
  local seconds = (last - first) / 1000
  io.write(string.format(
    "pairs=%d pairs_per_s=%.0f pair_p50=%.2fms pair_p99=%.2fms allowed=%d denied=%d notify_201=%d " ..
    "notify_other=%d threads_out_of_pairs=%d/%d seconds=%.1f first_ms=%.1f last_ms=%.1f\n",
    sums.recorded, sums.recorded / seconds, pct(50), pct(99), sums.allowed, sums.denied, sums.recorded,
    sums.failed, sums.exhausted, #threads, seconds, first, last))
end
