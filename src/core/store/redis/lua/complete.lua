-- complete: record finished runs (or missed fires) of one or more tasks, and release each run's
-- lease if still held (noting when the run ended). One call carries every completion a replica had
-- ready at the same moment.
-- per task i (from 0): KEYS[1+3i] task state hash   KEYS[2+3i] lease key   KEYS[3+3i] history list
-- ARGV[1] history length to keep, then per task i, in order: lease token ('' when the run held
--   none), when the run ended (ms, store time; '' for now), when it started (ms, store time; ''
--   when unknown), the number n of history entries, then n entries (JSON), oldest first; an entry
--   with "outcome":"success" sets lastSuccess
-- Returns one reply per task: {'ok'} | {'error', message, key} (that task's keys hold what this
-- script cannot read; its lease is still released when only its history is unreadable, and the other
-- tasks of the call are recorded all the same)
local keep = tonumber(ARGV[1]) - 1
local nowMs
local function now()
  if not nowMs then
    local t = redis.call('TIME')
    nowMs = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  end
  return nowMs
end
-- Which of a task's keys holds the wrong type, for the error reply.
local function culprit(stateKey, leaseKey, historyKey)
  local expected = {{stateKey, 'hash'}, {leaseKey, 'string'}, {historyKey, 'list'}}
  for _, pair in ipairs(expected) do
    local kind = redis.call('TYPE', pair[1]).ok
    if kind ~= pair[2] and kind ~= 'none' then return pair[1] end
  end
  return stateKey
end

local function release(stateKey, leaseKey, token, ended, started)
  -- A renewal of this run still on its way must not re-create the lease (renew-lease.lua).
  if token ~= '' then redis.call('HSET', stateKey, 'ended', token) end
  if token ~= '' and redis.call('GET', leaseKey) == token then
    redis.call('DEL', leaseKey)
    -- When the run really started and ended, not when its claim was decided (the reply may have
    -- reached the replica late) nor when this write got through (an outage may have held it back):
    -- fires due while it ran overlapped it, the others did not.
    local runStart = tonumber(redis.call('HGET', stateKey, 'runStart') or '0')
    if started then runStart = math.max(runStart, math.min(started, now())) end
    local runEnd = math.max(math.min(ended or now(), now()), runStart)
    redis.call('HSET', stateKey, 'runStart', string.format('%.0f', runStart), 'runEnd', string.format('%.0f', runEnd), 'started', token)
  end
end

local function record(stateKey, historyKey, from, count)
  local succeeded = false
  for i = from, from + count - 1 do
    redis.call('LPUSH', historyKey, ARGV[i])
    if string.find(ARGV[i], '"outcome":"success"', 1, true) then succeeded = true end
  end
  if count > 0 then redis.call('LTRIM', historyKey, 0, keep) end
  if succeeded then redis.call('HSET', stateKey, 'lastSuccess', string.format('%.0f', now())) end
end

local replies = {}
local at = 2
local task = 0
while at <= #ARGV do
  local stateKey, leaseKey, historyKey = KEYS[1 + 3 * task], KEYS[2 + 3 * task], KEYS[3 + 3 * task]
  local token, ended, started, count = ARGV[at], tonumber(ARGV[at + 1]), tonumber(ARGV[at + 2]), tonumber(ARGV[at + 3])
  local ok, failure = pcall(release, stateKey, leaseKey, token, ended, started)
  if ok then ok, failure = pcall(record, stateKey, historyKey, at + 4, count) end
  if ok then
    replies[#replies + 1] = {'ok'}
  else
    local message = type(failure) == 'table' and (failure.err or '') or tostring(failure)
    replies[#replies + 1] = {'error', message, culprit(stateKey, leaseKey, historyKey)}
  end
  at = at + 4 + count
  task = task + 1
end
return replies
