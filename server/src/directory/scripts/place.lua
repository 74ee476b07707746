-- place(): the node for a new room.
-- KEYS[1] = the nodes sorted set; node keys share its {cluster} slot
-- ARGV[1] = node record key prefix
-- Returns the record of the live node with the lowest finite score (draining nodes score
-- +inf), after adding 1 to its score so the next placements spread until its next heartbeat
-- resets it; nil when there is none. Dead members are removed on the way.
local ids = redis.call('ZRANGE', KEYS[1], '-inf', '(+inf', 'BYSCORE')
for _, id in ipairs(ids) do
  local record = redis.call('GET', ARGV[1] .. id)
  if record then
    redis.call('ZINCRBY', KEYS[1], 1, id)
    return record
  end
  redis.call('ZREM', KEYS[1], id)
end
return false
