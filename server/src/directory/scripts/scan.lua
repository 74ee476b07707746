-- scan(lists?): every live node's record, and its room list when asked.
-- KEYS[1] = the nodes sorted set; node keys share its {cluster} slot
-- ARGV[1] = node record key prefix, ARGV[2] = room list key prefix, or '' for records only
-- Returns, lowest score first, {record, ...} or {record, list-or-nil, ...}. A member whose
-- record expired is a dead node: it is removed from the set here, so the set never grows with
-- the ids of nodes that are gone.
local ids = redis.call('ZRANGE', KEYS[1], 0, -1)
local out = {}
for _, id in ipairs(ids) do
  local record = redis.call('GET', ARGV[1] .. id)
  if record then
    out[#out + 1] = record
    if ARGV[2] ~= '' then
      out[#out + 1] = redis.call('GET', ARGV[2] .. id)
    end
  else
    redis.call('ZREM', KEYS[1], id)
  end
end
return out
