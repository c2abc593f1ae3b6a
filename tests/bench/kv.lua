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

-- Each request is its method and path before a tail made once, in init: the bytes wrk.format
-- would make (its headers in another order), without its string.format calls and table per
-- request, which cost wrk 1.1-1.5 µs of CPU per GET of the ceiling and 2.5-3.4 µs per PUT, on the
-- cores it shares with the server.
local getTail, putSmallTail, putBigTail

function init(args)
  errors = 0
  bodyErrors = 0
  -- SEED tells apart wrk processes that start in the same second.
  math.randomseed(os.time() * 1000 + (id or 0) * 7919 + tonumber(os.getenv("SEED") or "0") * 104729)
  local headers = "Host: " .. wrk.headers["Host"] .. "\r\n" ..
    "Authorization: " .. (mode == "wrong_key" and "Bearer wrong-key" or ("Bearer " .. apiKey)) .. "\r\n" ..
    "Content-Type: application/json\r\n"
  getTail = " HTTP/1.1\r\n" .. headers .. "\r\n"
  putSmallTail = " HTTP/1.1\r\n" .. headers .. "Content-Length: " .. #small .. "\r\n\r\n" .. small
  if mode == "put_big" then
    putBigTail = " HTTP/1.1\r\n" .. headers .. "Content-Length: " .. #big .. "\r\n\r\n" .. big
  end
end

local random = math.random

local function randomKey()
  return "/v1/kv/k" .. random(0, keys - 1)
end

function request()
  if mode == "ceiling" or mode == "get_hot" or mode == "wrong_key" then
    return "GET /v1/kv/hot" .. getTail
  elseif mode == "get_random" then
    return "GET " .. randomKey() .. getTail
  elseif mode == "put_random" then
    return "PUT /v1/kv/p" .. random(0, 1000000000) .. putSmallTail
  elseif mode == "put_shared" then
    return "PUT " .. randomKey() .. putSmallTail
  elseif mode == "mix" then
    if random(10) == 1 then
      return "PUT " .. randomKey() .. putSmallTail
    end
    return "GET " .. randomKey() .. getTail
  elseif mode == "get_big" then
    return "GET /v1/kv/big" .. getTail
  elseif mode == "put_big" then
    return "PUT /v1/kv/bigput" .. random(0, 15) .. putBigTail
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
