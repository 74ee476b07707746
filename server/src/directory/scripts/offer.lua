-- offer(room, source, epoch, target): the owner offers the room to another node (migration).
-- KEYS[1] = owner hash
-- ARGV[1] = source node id, ARGV[2] = epoch, ARGV[3] = target node id
-- Returns 1 when the room is now moving to the target, 0 when the source does not own it at
-- the epoch or it is already offered (nothing changed). The source keeps renewing its lease.
local owner = redis.call('HMGET', KEYS[1], 'node', 'epoch', 'state')
if owner[1] == ARGV[1] and tonumber(owner[2]) == tonumber(ARGV[2]) and owner[3] == 'live' then
  redis.call('HSET', KEYS[1], 'state', 'moving', 'target', ARGV[3])
  return 1
end
return 0
