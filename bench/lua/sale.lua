-- wrk script: POS terminals record sales (1 to 4 catalogue lines, 70 % with a member),
-- each with a new Idempotency-Key. Arguments: sample file, bearer token, product count.
local threads = {}
local next_id = 1

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

function init(args)
  ids = {}
  for line in io.lines(args[1]) do
    local cid = line:match("^%S+ (%S+)")
    if cid then ids[#ids + 1] = cid end
  end
  token = args[2]
  products = tonumber(args[3])
  math.randomseed(id * 104729 + os.time())
  run = math.random(1e9)
  seq, created, failures = 0, 0, 0
  bad_statuses = ""
end

function request()
  seq = seq + 1
  local lines = {}
  for i = 1, math.random(4) do
    lines[i] = string.format('{"sku": "SKU-%06d", "qty": %d}', math.random(products), math.random(2))
  end
  local member = ""
  if math.random() < 0.7 then
    member = string.format('"customer_id": "%s", ', ids[math.random(#ids)])
  end
  local body = string.format('{"terminal_id": "pos-%d", %s"currency": "EUR", "lines": [%s]}',
    id, member, table.concat(lines, ", "))
  local h = {
    ["Authorization"] = "Bearer " .. token,
    ["Content-Type"] = "application/json",
    ["Idempotency-Key"] = string.format("bench-%d-%d-%d-%d", run, id, seq, math.random(1e9)),
  }
  return wrk.format("POST", "/api/v1/sales", h, body)
end

-- An answer the run did not expect: counted, and the first few statuses kept to be shown.
function fail(status)
  failures = failures + 1
  if failures <= 10 then bad_statuses = bad_statuses .. " " .. status end
end

function response(status, hdrs, body)
  if status == 201 then created = created + 1 else fail(status) end
end

function done(summary, latency, requests)
  local c, f, bad = 0, 0, ""
  for _, t in ipairs(threads) do
    c = c + t:get("created"); f = f + t:get("failures"); bad = bad .. t:get("bad_statuses")
  end
  local e = summary.errors
  io.write(string.format(
    '\nWRK_JSON {"requests": %d, "duration_us": %d, "created": %d, "failures": %d, ' ..
    '"errors": %d, "connect": %d, "read": %d, "write": %d, "timeout": %d, "bad_statuses": "%s", ' ..
    '"p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d, "mean_us": %.1f}\n',
    summary.requests, summary.duration, c, f,
    e.connect + e.read + e.write + e.timeout, e.connect, e.read, e.write, e.timeout, bad,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    latency.mean))
end
