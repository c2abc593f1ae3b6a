-- wrk script of the benchmark: the request shapes real clients send, every answer checked.
-- MODE: ceiling | get_hot | get_random | put_random | put_shared | mix | wrong_key | get_big | put_big
-- (put_shared: PUTs of random keys among KEYS, as clients of several nodes that write the same keys)
local mode = os.getenv("MODE") or "get_hot"
local keys = tonumber(os.getenv("KEYS") or "10000")
local expect = tonumber(os.getenv("EXPECT") or "200")
local apiKey = os.getenv("API_KEY") or ""
-- A value of about 100 bytes of JSON, and one of 1 MiB.
local small = '{"value":{"id":12345,"name":"' .. string.rep("n", 40) .. '","tags":["a","b","c"],"active":true}}'
local big = '{"value":"' .. string.rep("b", 1024 * 1024 - 2) .. '"}'

local threads = {}
function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  errors = 0
  bodyErrors = 0
  -- SEED tells apart wrk processes that start in the same second.
  math.randomseed(os.time() * 1000 + (id or 0) * 7919 + tonumber(os.getenv("SEED") or "0") * 104729)
  wrk.headers["Authorization"] = mode == "wrong_key" and "Bearer wrong-key" or ("Bearer " .. apiKey)
  wrk.headers["Content-Type"] = "application/json"
end

local function randomKey()
  return "/v1/kv/k" .. math.random(0, keys - 1)
end

function request()
  if mode == "ceiling" then
    return wrk.format("GET", "/v1/kv/hot")
  elseif mode == "get_hot" or mode == "wrong_key" then
    return wrk.format("GET", "/v1/kv/hot")
  elseif mode == "get_random" then
    return wrk.format("GET", randomKey())
  elseif mode == "put_random" then
    return wrk.format("PUT", "/v1/kv/p" .. math.random(0, 1000000000), nil, small)
  elseif mode == "put_shared" then
    return wrk.format("PUT", randomKey(), nil, small)
  elseif mode == "mix" then
    if math.random(10) == 1 then
      return wrk.format("PUT", randomKey(), nil, small)
    end
    return wrk.format("GET", randomKey())
  elseif mode == "get_big" then
    return wrk.format("GET", "/v1/kv/big")
  elseif mode == "put_big" then
    return wrk.format("PUT", "/v1/kv/bigput" .. math.random(0, 15), nil, big)
  end
end

function response(status, headers, body)
  if status ~= expect then
    errors = errors + 1
  elseif not string.find(body, expect == 200 and '"success":true' or '"success":false', 1, true) then
    bodyErrors = bodyErrors + 1
  end
end

function done(summary, latency, requests)
  local e, b = 0, 0
  for _, t in ipairs(threads) do
    e = e + t:get("errors")
    b = b + t:get("bodyErrors")
  end
  io.write(string.format("CHECK status_errors=%d body_errors=%d\n", e, b))
end
