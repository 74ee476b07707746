-- abort(room, source, epoch): the source takes its offer back (no adoption came in time).
-- KEYS[1] = owner hash
-- ARGV[1] = source node id, ARGV[2] = epoch
-- Returns 1 when the room is live on the source again, 0 when it was not moving at the epoch
-- (adopted already, or never offered). Exactly one of adopt and abort wins an offer.
local owner = redis.call('HMGET', KEYS[1], 'node', 'epoch', 'state')
if owner[1] == ARGV[1] and tonumber(owner[2]) == tonumber(ARGV[2]) and owner[3] == 'moving' then
  redis.call('HSET', KEYS[1], 'state', 'live')
  redis.call('HDEL', KEYS[1], 'target')
  return 1
end
return 0
