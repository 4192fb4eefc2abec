-- complete: record finished runs (or missed fires) and release the run's lease if still held.
-- KEYS[1] task state hash   KEYS[2] lease key of the task   KEYS[3] history list of the task
-- ARGV[1] lease token ('' when the run held none)   ARGV[2] history length to keep
-- ARGV[3..] history entries (JSON), oldest first; an entry with "outcome":"success" sets lastSuccess
if ARGV[1] ~= '' and redis.call('GET', KEYS[2]) == ARGV[1] then redis.call('DEL', KEYS[2]) end
local succeeded = false
for i = 3, #ARGV do
  redis.call('LPUSH', KEYS[3], ARGV[i])
  if string.find(ARGV[i], '"outcome":"success"', 1, true) then succeeded = true end
end
redis.call('LTRIM', KEYS[3], 0, tonumber(ARGV[2]) - 1)
if succeeded then
  local t = redis.call('TIME')
  redis.call('HSET', KEYS[1], 'lastSuccess', string.format('%.0f', tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)))
end
return 1
