-- claim-manual: start a manual run of a cluster-scope task under the overlap rule.
-- KEYS[1] epoch marker   KEYS[2] lease key of the task   KEYS[3] task state hash (runStart)
-- ARGV[1] overlap (skip|allow)   ARGV[2] force ('1' ignores a running run)
-- ARGV[3] lease TTL ms           ARGV[4] run token   ARGV[5] instance of the claiming replica
-- Returns {'won', now, leased ('1'|'0')} | {'overlap'} | {'recovering', wait-ms} | {'reset'}
local epoch = redis.call('GET', KEYS[1])
if not epoch then return {'reset'} end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local recoverUntil = tonumber(string.match(epoch, ':(%d+)$') or '0')
if now < recoverUntil then return {'recovering', string.format('%.0f', recoverUntil - now)} end
local leased = '0'
-- The same request retried (its reply was lost): it already holds the lease.
if redis.call('GET', KEYS[2]) == ARGV[4] then return {'won', string.format('%.0f', now), '1'} end
if ARGV[1] == 'skip' then
  if redis.call('EXISTS', KEYS[2]) == 1 then
    if ARGV[2] ~= '1' then return {'overlap'} end
  else
    redis.call('SET', KEYS[2], ARGV[4], 'PX', ARGV[3])
    redis.call('HSET', KEYS[3], 'runStart', string.format('%.0f', now), 'leaseOwner', ARGV[5])
    leased = '1'
  end
end
return {'won', string.format('%.0f', now), leased}
