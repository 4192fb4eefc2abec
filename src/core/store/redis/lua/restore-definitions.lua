-- restore-definitions: hand back the definition set a replica holds, unless a newer one is stored.
-- KEYS[1] definitions hash
-- ARGV[1] version   ARGV[2] generation   ARGV[3] content digest   ARGV[4] published-at ms
-- ARGV[5] body (JSON array of definitions)
-- ARGV[6..] triples: task name, task digest, since ms
-- Returns 1 if restored, 0 if the stored set is at least as new
local current = redis.call('HMGET', KEYS[1], 'version', 'generation')
local version, generation = tonumber(ARGV[1]), tonumber(ARGV[2])
if current[1] then
  local v, g = tonumber(current[1]), tonumber(current[2] or '0')
  if v > version or (v == version and g >= generation) then return 0 end
end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'version', ARGV[1], 'generation', ARGV[2], 'digest', ARGV[3], 'publishedAt', ARGV[4], 'body', ARGV[5])
for i = 6, #ARGV, 3 do
  redis.call('HSET', KEYS[1], 'd:' .. ARGV[i], ARGV[i + 1], 's:' .. ARGV[i], ARGV[i + 2])
end
return 1
