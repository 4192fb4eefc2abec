-- complete: record finished runs (or missed fires) of one or more tasks, and release each run's
-- lease if still held (noting when the run ended). One call carries every completion a replica had
-- ready at the same moment.
-- per task i (from 0): KEYS[1+3i] task state hash   KEYS[2+3i] lease key   KEYS[3+3i] history list
-- ARGV[1] history length to keep, then per task i, in order: lease token ('' when the run held
--   none), the number n of history entries, then n entries (JSON), oldest first; an entry with
--   "outcome":"success" sets lastSuccess
local keep = tonumber(ARGV[1]) - 1
local now
local at = 2
local task = 0
while at <= #ARGV do
  local stateKey, leaseKey, historyKey = KEYS[1 + 3 * task], KEYS[2 + 3 * task], KEYS[3 + 3 * task]
  local token, count = ARGV[at], tonumber(ARGV[at + 1])
  if token ~= '' and redis.call('GET', leaseKey) == token then
    redis.call('DEL', leaseKey)
    if not now then
      local t = redis.call('TIME')
      now = string.format('%.0f', tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000))
    end
    redis.call('HSET', stateKey, 'runEnd', now) -- fires due before this overlapped the run
  end
  local succeeded = false
  for i = at + 2, at + 1 + count do
    redis.call('LPUSH', historyKey, ARGV[i])
    if string.find(ARGV[i], '"outcome":"success"', 1, true) then succeeded = true end
  end
  redis.call('LTRIM', historyKey, 0, keep)
  if succeeded then
    if not now then
      local t = redis.call('TIME')
      now = string.format('%.0f', tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000))
    end
    redis.call('HSET', stateKey, 'lastSuccess', now)
  end
  at = at + 2 + count
  task = task + 1
end
return task
