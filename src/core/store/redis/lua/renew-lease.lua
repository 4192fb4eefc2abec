-- renew-lease: extend the lease of a running run, or re-create it if the store lost it.
-- KEYS[1] lease key of the task   KEYS[2] task state hash (leaseOwner)
-- ARGV[1] run token   ARGV[2] lease TTL ms   ARGV[3] instance of the replica running it
-- Returns 'renewed' | 'restored' | 'taken' (another run holds the lease)
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 'renewed'
end
if not holder then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  redis.call('HSET', KEYS[2], 'leaseOwner', ARGV[3])
  return 'restored'
end
return 'taken'
