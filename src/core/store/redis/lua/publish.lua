-- publish: offer a definition set; a lower or equal version never replaces the stored one.
-- KEYS[1] epoch marker   KEYS[2] definitions hash
-- ARGV[1] version   ARGV[2] content digest   ARGV[3] body (JSON array of definitions)
-- ARGV[4] pub/sub channel for change notices
-- ARGV[5] anchor ms: the time the publisher anchored delays at ("since" is never later than it)
-- ARGV[6..] pairs: task name, task digest
-- Returns {'accepted'|'kept'|'conflict', <definitions hash as a flat list>} | {'reset'}
if redis.call('EXISTS', KEYS[1]) == 0 then return {'reset'} end
local t = redis.call('TIME')
local nowMs = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local now = string.format('%.0f', nowMs)
local since = string.format('%.0f', math.min(nowMs, tonumber(ARGV[5])))
local current = redis.call('HMGET', KEYS[2], 'version', 'digest', 'generation')
local version = tonumber(ARGV[1])
if current[1] and tonumber(current[1]) >= version then
  local status = 'kept'
  if tonumber(current[1]) == version and current[2] ~= ARGV[2] then status = 'conflict' end
  return {status, redis.call('HGETALL', KEYS[2])}
end
local generation = tonumber(current[3] or '0') + 1
local keep = {}
for i = 6, #ARGV, 2 do
  local name, digest = ARGV[i], ARGV[i + 1]
  keep['d:' .. name] = true
  keep['s:' .. name] = true
  -- An unchanged task keeps its "since", so its schedule continues without a gap.
  if redis.call('HGET', KEYS[2], 'd:' .. name) ~= digest then
    redis.call('HSET', KEYS[2], 'd:' .. name, digest, 's:' .. name, since)
  end
end
for _, field in ipairs(redis.call('HKEYS', KEYS[2])) do
  local kind = string.sub(field, 1, 2)
  if (kind == 'd:' or kind == 's:') and not keep[field] then redis.call('HDEL', KEYS[2], field) end
end
redis.call('HSET', KEYS[2], 'version', ARGV[1], 'digest', ARGV[2], 'generation', string.format('%.0f', generation),
  'publishedAt', now, 'body', ARGV[3])
redis.call('PUBLISH', ARGV[4], 'definitions:' .. string.format('%.0f', generation))
return {'accepted', redis.call('HGETALL', KEYS[2])}
