-- renew-lease: extend the lease of a running run, or re-create it if the store lost it. A renewal
-- that says when the run started also records that (see the 'started' check in claim.lua): the run's
-- claim was decided earlier, and its reply may have reached the replica late.
-- KEYS[1] lease key of the task   KEYS[2] task state hash (leaseOwner, runStart, started, ended)
-- ARGV[1] run token   ARGV[2] lease TTL ms   ARGV[3] instance of the replica running it
-- ARGV[4] when the run started (ms, store time; '' or absent when unknown)
-- Returns 'renewed' | 'restored' (re-created: the store had lost it) | 'taken' (another run holds the
-- lease) | 'ended' (the run's completion released it already)
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
elseif not holder then
  -- Gone because the run ended (a renewal sent just before its completion can arrive after it, e.g.
  -- resent after NOSCRIPT): re-creating it would hold the task for a whole TTL behind a finished run.
  if redis.call('HGET', KEYS[2], 'ended') == ARGV[1] then return 'ended' end
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  redis.call('HSET', KEYS[2], 'leaseOwner', ARGV[3])
else
  return 'taken'
end
local startedMs = tonumber(ARGV[4] or '')
if startedMs then
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  local granted = tonumber(redis.call('HGET', KEYS[2], 'runStart') or '0')
  -- Never before its claim was decided, nor in the future (the replica's estimate of this clock may be off).
  local runStart = math.max(granted, math.min(startedMs, now))
  redis.call('HSET', KEYS[2], 'runStart', string.format('%.0f', runStart), 'started', ARGV[1])
end
if holder then return 'renewed' end
return 'restored'
