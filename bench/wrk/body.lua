-- wrk script for bench/http.py: the same request with a JSON body, method LB_METHOD
-- (GET, POST, PUT, ...), cycling through the bodies LB_BODY_1, LB_BODY_2, ... (none: no
-- body). Every run of the bench uses it, the bare endpoint's included, so all pay the same.
-- Answers of 500 or more are counted and reported by done() as "server errors: N".

local method = os.getenv("LB_METHOD") or "POST"
local bodies = {}
while os.getenv("LB_BODY_" .. (#bodies + 1)) do
  bodies[#bodies + 1] = os.getenv("LB_BODY_" .. (#bodies + 1))
end
local next_body = 0
errors = 0  -- global: done() reads it from every thread's state
local threads = {}

setup = function(thread) threads[#threads + 1] = thread end

init = function(args)
  wrk.method = method
  if #bodies > 0 then wrk.headers["Content-Type"] = "application/json" end
end

request = function()
  if #bodies == 0 then return wrk.format() end
  next_body = next_body % #bodies + 1
  return wrk.format(nil, nil, nil, bodies[next_body])
end

response = function(status, headers, body)
  if status >= 500 then errors = errors + 1 end
end

done = function(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(threads) do total = total + (thread:get("errors") or 0) end
  io.write(string.format("server errors: %d\n", total))
end
