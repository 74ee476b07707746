-- matchmake(): quick play's seat, promised atomically with the choice (rules in seats.rs).
-- KEYS[1] = the nodes sorted set, KEYS[2] = promised seats (hash room -> seats),
-- KEYS[3] = when each room's promises lapse (sorted set room -> ms), KEYS[4] = fresh rooms not
-- listed yet (hash room -> node id .. '|' .. capacity); all in the {cluster} slot
-- ARGV[1] = node record key prefix, ARGV[2] = seat hold (ms), ARGV[3] = a fresh room id,
-- ARGV[4] = its capacity, then per listed room: id, node id, players, capacity, public (1|0)
-- Returns {room, node record, opened (1|0)}, or false when no node takes new rooms.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local hold = tonumber(ARGV[2])
-- Whole milliseconds as digits (a Lua number may print as 1.7e+12).
local function ms(x) return string.format('%.0f', x) end

for _, room in ipairs(redis.call('ZRANGE', KEYS[3], '-inf', ms(now), 'BYSCORE')) do
  redis.call('HDEL', KEYS[2], room)
  redis.call('HDEL', KEYS[4], room)
end
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', ms(now))

local function promised(room)
  return tonumber(redis.call('HGET', KEYS[2], room) or '0')
end

local candidates, listed = {}, {}
for i = 5, #ARGV, 5 do
  listed[ARGV[i]] = true
  if ARGV[i + 4] == '1' then
    candidates[#candidates + 1] = {
      room = ARGV[i], node = ARGV[i + 1], capacity = tonumber(ARGV[i + 3]),
      seats = math.max(tonumber(ARGV[i + 2]), promised(ARGV[i])),
    }
  end
end
local fresh = redis.call('HGETALL', KEYS[4])
for i = 1, #fresh, 2 do
  local room, at = fresh[i], fresh[i + 1]
  if not listed[room] then
    local bar = string.find(at, '|', 1, true)
    candidates[#candidates + 1] = {
      room = room, node = string.sub(at, 1, bar - 1),
      capacity = tonumber(string.sub(at, bar + 1)), seats = promised(room),
    }
  end
end
table.sort(candidates, function(a, b)
  if a.seats ~= b.seats then return a.seats > b.seats end
  return a.room < b.room
end)

local function promise(room, seats)
  redis.call('HSET', KEYS[2], room, seats)
  redis.call('ZADD', KEYS[3], ms(now + hold), room)
  for k = 2, 4 do redis.call('PEXPIRE', KEYS[k], ARGV[2]) end
end

-- A node takes players while it is live and not draining (score +inf).
for _, c in ipairs(candidates) do
  if c.seats < c.capacity then
    local score = redis.call('ZSCORE', KEYS[1], c.node)
    local record = score and score ~= 'inf' and redis.call('GET', ARGV[1] .. c.node)
    if record then
      promise(c.room, c.seats + 1)
      return {c.room, record, 0}
    end
  end
end

-- Every room is full: open ARGV[3] on the least-loaded node, as place.lua does.
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], '-inf', '(+inf', 'BYSCORE')) do
  local record = redis.call('GET', ARGV[1] .. id)
  if record then
    redis.call('ZINCRBY', KEYS[1], 1, id)
    redis.call('HSET', KEYS[4], ARGV[3], id .. '|' .. ARGV[4])
    promise(ARGV[3], 1)
    return {ARGV[3], record, 1}
  end
  redis.call('ZREM', KEYS[1], id)
end
return false
