-- renew-lease: extend the lease of a running run, or re-create it if the store lost it. A renewal
-- also tells when the run really started: its claim was decided earlier, and the reply may have
-- reached the replica late (see the 'started' check in claim.lua).
-- KEYS[1] lease key of the task   KEYS[2] task state hash (leaseOwner, runStart, started)
-- ARGV[1] run token   ARGV[2] lease TTL ms   ARGV[3] instance of the replica running it
-- ARGV[4] when the run started (ms, store time; '' or absent when unknown)
-- Returns 'renewed' | 'restored' | 'taken' (another run holds the lease)
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
elseif not holder then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  redis.call('HSET', KEYS[2], 'leaseOwner', ARGV[3])
else
  return 'taken'
end
redis.call('HSET', KEYS[2], 'started', ARGV[1])
local startedMs = tonumber(ARGV[4] or '')
if startedMs then
  local granted = tonumber(redis.call('HGET', KEYS[2], 'runStart') or '0')
  redis.call('HSET', KEYS[2], 'runStart', string.format('%.0f', math.max(granted, startedMs)))
end
if holder then return 'renewed' end
return 'restored'
