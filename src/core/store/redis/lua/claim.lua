-- claim: decide one scheduled fire of a cluster-scope task, once for all replicas.
-- KEYS[1] epoch marker ("<id>:<recover-until-ms>"); absent means the store lost its state
-- KEYS[2] definitions hash (fields "d:<task>" digest, "s:<task>" since-ms)
-- KEYS[3] task state hash (fire = latest decided scheduled ms, token, owner, prev, outcome)
-- KEYS[4] lease key of the task (holds the token of the running run)
-- KEYS[5] pause hash (field <task> = "<0|1>:<seq>")
-- ARGV[1] task name        ARGV[2] definition digest   ARGV[3] scheduled ms
-- ARGV[4] deadline ms      ARGV[5] overlap (skip|allow) ARGV[6] lease TTL ms
-- ARGV[7] claim token      ARGV[8] replica id          ARGV[9] '1' if the definition is paused
-- Returns {'won', prev, now} | {'overlap'|'paused'|'missed', prev} | {'lost', decided}
--       | {'early'|'recovering'|'busy', wait-ms} | {'stale'} | {'before'} | {'reset'}
-- A running run blocks an overlap:skip fire in two ways: if it started before the fire was due, the
-- fire overlaps it and is skipped; if it started later (catching up after an outage), the fire is
-- merely queued behind it ('busy') and the replica asks again within the deadline.
local epoch = redis.call('GET', KEYS[1])
if not epoch then return {'reset'} end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local recoverUntil = tonumber(string.match(epoch, ':(%d+)$') or '0')
if now < recoverUntil then return {'recovering', string.format('%.0f', recoverUntil - now)} end

if redis.call('HGET', KEYS[2], 'd:' .. ARGV[1]) ~= ARGV[2] then return {'stale'} end
local scheduled = tonumber(ARGV[3])
local since = tonumber(redis.call('HGET', KEYS[2], 's:' .. ARGV[1]) or '0')
if scheduled < since then return {'before'} end

local state = redis.call('HMGET', KEYS[3], 'fire', 'token', 'prev', 'outcome', 'wonFire', 'wonToken', 'wonPrev')
-- A replica whose 'won' reply was lost asks again with the same token: it keeps the fire even if
-- later fires were decided meanwhile (they were skipped behind its lease).
if state[6] == ARGV[7] and state[5] == ARGV[3] then return {'won', state[7] or '', string.format('%.0f', now)} end
local decided = tonumber(state[1])
if decided and scheduled <= decided then
  -- The same replica retrying the same claim (its reply was lost) gets the same answer.
  if scheduled == decided and state[2] == ARGV[7] then
    if state[4] == 'won' then return {'won', state[3] or '', string.format('%.0f', now)} end
    return {state[4], state[3] or ''}
  end
  return {'lost', state[1]}
end
if scheduled > now then return {'early', string.format('%.0f', scheduled - now)} end

local prev = state[1] or ''
local function decide(outcome)
  redis.call('HSET', KEYS[3], 'fire', ARGV[3], 'token', ARGV[7], 'owner', ARGV[8], 'prev', prev, 'outcome', outcome)
end
if now > scheduled + tonumber(ARGV[4]) then
  decide('missed')
  return {'missed', prev}
end
local pause = redis.call('HGET', KEYS[5], ARGV[1])
if ARGV[9] == '1' or (pause and string.sub(pause, 1, 1) == '1') then
  decide('paused')
  return {'paused', prev}
end
if ARGV[5] == 'skip' then
  local leaseTtl = redis.call('PTTL', KEYS[4])
  if leaseTtl > 0 then
    local runStart = tonumber(redis.call('HGET', KEYS[3], 'runStart') or '0')
    if runStart >= scheduled then return {'busy', tostring(math.min(leaseTtl, 100))} end
    decide('overlap')
    return {'overlap', prev}
  end
  redis.call('SET', KEYS[4], ARGV[7], 'PX', ARGV[6])
  redis.call('HSET', KEYS[3], 'runStart', string.format('%.0f', now))
end
decide('won')
redis.call('HSET', KEYS[3], 'wonFire', ARGV[3], 'wonToken', ARGV[7], 'wonPrev', prev)
return {'won', prev, string.format('%.0f', now)}
