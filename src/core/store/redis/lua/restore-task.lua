-- restore-task: hand back the latest decided fire of a task a replica knows, so it is not decided twice.
-- KEYS[1] task state hash
-- ARGV[1] decided scheduled ms   ARGV[2] claim token ('' if decided by another replica)
-- Returns 1 if the watermark rose, 0 otherwise
local decided = tonumber(redis.call('HGET', KEYS[1], 'fire') or '-1')
if tonumber(ARGV[1]) <= decided then return 0 end
redis.call('HSET', KEYS[1], 'fire', ARGV[1], 'token', ARGV[2], 'prev', '', 'outcome', 'restored')
return 1
