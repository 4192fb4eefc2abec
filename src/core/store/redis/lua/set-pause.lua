-- set-pause: pause or resume a task cluster-wide.
-- KEYS[1] epoch marker   KEYS[2] pause hash   KEYS[3] pause sequence counter
-- ARGV[1] task   ARGV[2] '1' pause | '0' resume   ARGV[3] pub/sub channel
-- Returns {'ok', seq} | {'reset'}
if redis.call('EXISTS', KEYS[1]) == 0 then return {'reset'} end
local seq = redis.call('INCR', KEYS[3])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2] .. ':' .. seq)
redis.call('PUBLISH', ARGV[3], 'pause')
return {'ok', tostring(seq)}
