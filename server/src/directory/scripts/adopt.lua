-- adopt(room, source, epoch, target): the target takes an offered room. The commit point of a
-- migration: the new epoch makes the source's next renewal report the room lost.
-- KEYS[1] = owner hash, KEYS[2] = epoch counter (same {room} slot)
-- ARGV[1] = source node id, ARGV[2] = epoch, ARGV[3] = target node id, ARGV[4] = target url,
-- ARGV[5] = lease ttl ms, ARGV[6] = epoch ttl ms
-- Returns the new epoch, or 0 when the room is not (or no longer) offered to the target at the
-- epoch: aborted, adopted already, or never offered.
local owner = redis.call('HMGET', KEYS[1], 'node', 'epoch', 'state', 'target')
if owner[1] ~= ARGV[1] or tonumber(owner[2]) ~= tonumber(ARGV[2])
    or owner[3] ~= 'moving' or owner[4] ~= ARGV[3] then
  return 0
end
local epoch = redis.call('INCR', KEYS[2])
redis.call('PEXPIRE', KEYS[2], ARGV[6])
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'node', ARGV[3], 'url', ARGV[4], 'epoch', epoch, 'state', 'live')
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return epoch
