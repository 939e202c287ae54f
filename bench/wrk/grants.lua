-- wrk script for bench/concurrency.py: random permission writes by the admin.
-- Half of the requests grant a random level from a random principal to a random head, a
-- quarter change the level of a grant created earlier, a quarter revoke one. Principals and
-- heads come from the environment (JSON arrays of uuids, LB_PRINCIPALS and LB_HEADS).
-- Answers of 500 or more are counted and reported by done() as "server errors: N".

local function uuids(name)
  local list = {}
  for uuid in string.gmatch(os.getenv(name) or "", '"([^"]+)"') do list[#list + 1] = uuid end
  return list
end

local principals = uuids("LB_PRINCIPALS")
local heads = uuids("LB_HEADS")
local levels = {"can_read", "can_write", "can_manage"}
local created = {}
errors = 0  -- global: done() reads it from every thread's state
local threads = {}

math.randomseed(os.time())

local function pick(list) return list[math.random(#list)] end

-- wrk.format uses the given headers instead of the command line's (-H): merge them.
local function json_headers()
  local headers = {}
  for name, value in pairs(wrk.headers) do headers[name] = value end
  headers["Content-Type"] = "application/json"
  return headers
end

setup = function(thread) threads[#threads + 1] = thread end

request = function()
  local roll = math.random()
  if #created > 0 and roll < 0.25 then
    local uuid = table.remove(created, math.random(#created))
    return wrk.format("DELETE", "/arvados/v1/links/" .. uuid)
  end
  if #created > 0 and roll < 0.5 then
    local body = '{"link": {"name": "' .. pick(levels) .. '"}}'
    return wrk.format("PUT", "/arvados/v1/links/" .. pick(created),
                      json_headers(), body)
  end
  local tail, head = pick(principals), pick(heads)
  while head == tail do head = pick(heads) end
  local body = '{"link": {"link_class": "permission", "name": "' .. pick(levels) ..
      '", "tail_uuid": "' .. tail .. '", "head_uuid": "' .. head .. '"}}'
  return wrk.format("POST", "/arvados/v1/links", json_headers(), body)
end

response = function(status, headers, body)
  if status >= 500 then errors = errors + 1 end
  if status == 200 then
    local uuid = string.match(body, '"uuid":"([%w%-]+%-o0j2j%-[%w]+)"')
    if uuid and #created < 5000 then created[#created + 1] = uuid end
  end
end

done = function(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(threads) do total = total + (thread:get("errors") or 0) end
  io.write(string.format("server errors: %d\n", total))
end
