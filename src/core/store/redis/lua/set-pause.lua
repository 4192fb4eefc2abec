-- set-pause: pause or resume a task cluster-wide.
-- KEYS[1] epoch marker   KEYS[2] pause hash   KEYS[3] pause sequence counter
-- KEYS[4] the task's state hash (fields pausedAt / resumedAt: when the task was last paused / resumed,
--   read by claim.lua to tell paused fires from missed ones)
-- ARGV[1] task   ARGV[2] '1' pause | '0' resume   ARGV[3] pub/sub channel
-- Returns {'ok', seq} | {'reset'}
if redis.call('EXISTS', KEYS[1]) == 0 then return {'reset'} end
local current = redis.call('HGET', KEYS[2], ARGV[1])
local wasPaused = current ~= false and string.sub(current, 1, 1) == '1'
local seq = redis.call('INCR', KEYS[3])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2] .. ':' .. seq)
if (ARGV[2] == '1') ~= wasPaused then
  local t = redis.call('TIME')
  local now = string.format('%.0f', tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000))
  redis.call('HSET', KEYS[4], ARGV[2] == '1' and 'pausedAt' or 'resumedAt', now)
end
redis.call('PUBLISH', ARGV[3], 'pause')
return {'ok', tostring(seq)}
