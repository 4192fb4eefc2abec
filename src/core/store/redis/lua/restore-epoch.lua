-- restore-epoch: the first replica to notice a store that lost its state opens a new epoch with a
-- recovery window, during which no fire is claimed while replicas hand back what they know.
-- KEYS[1] epoch marker
-- ARGV[1] new epoch id   ARGV[2] recovery window ms
-- Returns the epoch marker in force
local epoch = redis.call('GET', KEYS[1])
if epoch then return epoch end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
epoch = ARGV[1] .. ':' .. string.format('%.0f', now + tonumber(ARGV[2]))
redis.call('SET', KEYS[1], epoch)
return epoch
