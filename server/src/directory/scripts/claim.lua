-- claim(room, node): take a room that has no live owner; otherwise name its owner.
-- KEYS[1] = owner hash, KEYS[2] = epoch counter (same {room} slot)
-- ARGV[1] = node id, ARGV[2] = node url, ARGV[3] = lease ttl ms, ARGV[4] = epoch ttl ms
-- Returns {1, node, url, epoch} when the caller now owns the room under a new epoch,
--         {0, node, url, epoch} naming the live owner (nothing changed).
local owner = redis.call('HMGET', KEYS[1], 'node', 'url', 'epoch')
if owner[1] then
  return {0, owner[1], owner[2], tonumber(owner[3])}
end
-- The counter outlives the lease, so the new epoch is greater than any epoch handed out
-- before: a stale owner's renewals are refused from now on.
local epoch = redis.call('INCR', KEYS[2])
redis.call('PEXPIRE', KEYS[2], ARGV[4])
redis.call('HSET', KEYS[1], 'node', ARGV[1], 'url', ARGV[2], 'epoch', epoch, 'state', 'live')
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return {1, ARGV[1], ARGV[2], epoch}
