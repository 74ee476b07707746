-- release(room, node, epoch): the node disposed the room; free it.
-- KEYS[1] = owner hash, KEYS[2] = epoch counter (same {room} slot)
-- ARGV[1] = node id, ARGV[2] = epoch, ARGV[3] = epoch ttl ms
-- Returns 1 when the lease was the node's at the epoch (or lapsed at it), 0 otherwise (nothing
-- changed).
local epoch = tonumber(ARGV[2])
local owner = redis.call('HMGET', KEYS[1], 'node', 'epoch')
local counter = tonumber(redis.call('GET', KEYS[2]) or '0')
if owner[1] then
  if owner[1] ~= ARGV[1] or tonumber(owner[2]) ~= epoch then
    return 0
  end
elseif counter > epoch then
  return 0
end
redis.call('DEL', KEYS[1])
-- Releasing is an ownership change too: the new epoch fences off a renewal of this lease that
-- is still in flight (a heartbeat sent before the room was disposed).
if counter < epoch then
  redis.call('SET', KEYS[2], ARGV[2])
end
redis.call('INCR', KEYS[2])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
return 1
