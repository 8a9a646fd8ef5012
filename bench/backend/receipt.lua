-- wrk: POST /api/stock/movements, a receipt of 1 on a random one of $PRODUCTS products
-- (ids 00000000-0000-4000-8000-<n, 12 digits>, made by bench/backend/run).
local token = os.getenv("TOKEN")
local products = tonumber(os.getenv("PRODUCTS") or "1000")
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. token

function setup(thread)
  thread:set("seed", math.random(1, 1000000))
end

function init(args)
  math.randomseed(seed or os.time())
end

request = function()
  local id = string.format("00000000-0000-4000-8000-%012d", math.random(1, products))
  return wrk.format(nil, nil, nil,
    '{"product_id":"' .. id .. '","operation_type":"receipt","quantity":1}')
end
