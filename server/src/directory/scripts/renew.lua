-- renew(room, node, epoch): keep (or take back) the lease the node holds at this epoch.
-- KEYS[1] = owner hash, KEYS[2] = epoch counter (same {room} slot)
-- ARGV[1] = node id, ARGV[2] = node url, ARGV[3] = epoch, ARGV[4] = lease ttl ms,
-- ARGV[5] = epoch ttl ms
-- Returns 1 when the node holds the lease at the epoch now, 0 when the lease is lost (another
-- owner, or a greater epoch was handed out): the node must stop the room.
local epoch = tonumber(ARGV[3])
local owner = redis.call('HMGET', KEYS[1], 'node', 'epoch')
if owner[1] then
  if owner[1] == ARGV[1] and tonumber(owner[2]) == epoch then
    redis.call('PEXPIRE', KEYS[1], ARGV[4])
    redis.call('PEXPIRE', KEYS[2], ARGV[5])
    return 1
  end
  if tonumber(owner[2]) >= epoch then
    return 0
  end
  -- An older epoch holds the lease: only after Redis lost writes. The newest epoch wins.
end
-- No owner (the lease lapsed, or Redis restarted empty). Nobody can have run the room since
-- unless a greater epoch was handed out, so the node takes its lease back at the same epoch;
-- epochs never go back, because the counter is raised to it.
local counter = tonumber(redis.call('GET', KEYS[2]) or '0')
if counter > epoch then
  return 0
end
redis.call('SET', KEYS[2], ARGV[3], 'PX', ARGV[5])
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'node', ARGV[1], 'url', ARGV[2], 'epoch', ARGV[3], 'state', 'live')
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 1
