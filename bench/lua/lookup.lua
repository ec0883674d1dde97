-- wrk script: a kiosk scans a card (lookup), then shows the first page of that member's
-- history, with the customer_id read from the lookup's answer.
-- Run with one connection per thread (-t N -c N): wrk's Lua state is per thread, so the
-- lookup -> history sequence is kept per connection.
-- Arguments: sample file ("card customer_id" per line), bearer token.
local threads = {}
local next_id = 1

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

function init(args)
  cards = {}
  for line in io.lines(args[1]) do
    local card = line:match("^(%S+)")
    if card then cards[#cards + 1] = card end
  end
  headers = { ["Authorization"] = "Bearer " .. args[2], ["Accept"] = "application/json" }
  math.randomseed(id * 7919 + os.time())
  phase, card, cid = 0, nil, nil
  lookups, histories, failures, not_found = 0, 0, 0, 0
  bad_statuses = ""
end

function request()
  if phase == 0 then
    card = cards[math.random(#cards)]
    return wrk.format("GET", "/api/v1/customers/lookup?card=" .. card, headers)
  end
  return wrk.format("GET", "/api/v1/customers/" .. cid .. "/history?card=" .. card, headers)
end

-- An answer the run did not expect: counted, and the first few statuses kept to be shown.
function fail(status)
  failures = failures + 1
  if failures <= 10 then bad_statuses = bad_statuses .. " " .. status end
end

function response(status, hdrs, body)
  if phase == 0 then
    lookups = lookups + 1
    cid = status == 200 and body:match('"customer_id"%s*:%s*"([^"]+)"') or nil
    if cid then phase = 1 elseif status == 404 then not_found = not_found + 1 else fail(status) end
  else
    histories = histories + 1
    if status ~= 200 then fail(status) end
    phase = 0
  end
end

function done(summary, latency, requests)
  local l, h, f, n, bad = 0, 0, 0, 0, ""
  for _, t in ipairs(threads) do
    l = l + t:get("lookups"); h = h + t:get("histories")
    f = f + t:get("failures"); n = n + t:get("not_found")
    bad = bad .. t:get("bad_statuses")
  end
  local e = summary.errors
  io.write(string.format(
    '\nWRK_JSON {"requests": %d, "duration_us": %d, "lookups": %d, "histories": %d, ' ..
    '"failures": %d, "not_found": %d, "errors": %d, "connect": %d, "read": %d, ' ..
    '"write": %d, "timeout": %d, "bad_statuses": "%s", "p50_us": %d, "p90_us": %d, ' ..
    '"p99_us": %d, "max_us": %d, "mean_us": %.1f}\n',
    summary.requests, summary.duration, l, h, f, n,
    e.connect + e.read + e.write + e.timeout, e.connect, e.read, e.write, e.timeout, bad,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    latency.mean))
end
