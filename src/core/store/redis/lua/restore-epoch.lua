-- restore-epoch: open an epoch on a store without one. The marker is "<id>:<recover-until-ms>"; no
-- fire is claimed before recover-until while replicas hand back what they know.
-- KEYS[1] epoch marker
-- ARGV[1] new epoch id
-- ARGV[2] recovery window ms: 0 from a replica that never saw an epoch (a brand-new scheduler: there
--   is nothing to recover), the configured window from one that saw its epoch vanish (Redis lost its
--   state: the live replicas must hand back what they know before anyone claims)
-- Returns the epoch marker in force. A window is opened on an epoch that a new replica opened without
-- one (it started just as Redis restarted empty, before the live replicas noticed), once.
local epoch = redis.call('GET', KEYS[1])
local window = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if epoch then
  local id, recoverUntil = string.match(epoch, '^(.*):(%d+)$')
  if window > 0 and recoverUntil == '0' then
    epoch = id .. ':' .. string.format('%.0f', now + window)
    redis.call('SET', KEYS[1], epoch)
  end
  return epoch
end
epoch = ARGV[1] .. ':' .. (window > 0 and string.format('%.0f', now + window) or '0')
redis.call('SET', KEYS[1], epoch)
return epoch
