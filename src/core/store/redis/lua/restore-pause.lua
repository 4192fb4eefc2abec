-- restore-pause: hand back a task's pause state; the higher sequence wins.
-- KEYS[1] pause hash   KEYS[2] pause sequence counter
-- ARGV[1] task   ARGV[2] '1' paused | '0' running   ARGV[3] sequence
-- Returns 1 if restored, 0 if the stored state is newer
local seq = tonumber(ARGV[3])
if tonumber(redis.call('GET', KEYS[2]) or '0') < seq then redis.call('SET', KEYS[2], ARGV[3]) end
local current = redis.call('HGET', KEYS[1], ARGV[1])
if current and tonumber(string.match(current, ':(%d+)$')) >= seq then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2] .. ':' .. ARGV[3])
return 1
