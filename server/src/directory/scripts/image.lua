-- image(room, node, epoch, bytes): a fenced write of the room's image (a migration's or a
-- checkpoint's): only the room's owner at its current epoch may write it, so a stale owner never
-- clobbers the image a newer owner relies on.
-- KEYS[1] = owner hash, KEYS[2] = image string (same {room} slot)
-- ARGV[1] = node id, ARGV[2] = epoch, ARGV[3] = image bytes, ARGV[4] = image ttl ms
-- Returns 1 when written, 0 when the node does not own the room at the epoch (nothing written).
local owner = redis.call('HMGET', KEYS[1], 'node', 'epoch')
if owner[1] == ARGV[1] and tonumber(owner[2]) == tonumber(ARGV[2]) then
  redis.call('SET', KEYS[2], ARGV[3], 'PX', ARGV[4])
  return 1
end
return 0
