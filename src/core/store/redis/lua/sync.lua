-- sync: the replica heartbeat; one round trip registers the replica as alive and tells what changed,
-- which replicas are alive, and the server time.
-- KEYS[1] epoch marker   KEYS[2] definitions hash   KEYS[3] pause sequence counter
-- KEYS[4] members hash (field <instance> =
--   "<beat-ms>:<down-ms at beat>:<interval-ms>:<dead-after-ms>:<since-ms>:<settling 0|1>")
-- KEYS[5] liveness clock hash (tick = last heartbeat of any replica, down = service gaps so far)
-- ARGV[1] instance ('' to only read)   ARGV[2] heartbeat interval ms
-- ARGV[3] ms without a heartbeat (of Redis service time) after which the instance counts as dead
-- ARGV[4] since-ms the instance was told at an earlier beat ('' on its first: taken from the entry, or now)
-- ARGV[5] '1' while the instance has run completions not yet written (its leases prove nothing)
-- ARGV[6] pub/sub channel: told 'members' when the instance was not registered or had lapsed (the
--   others beat at once rather than at their next interval: they agree on who is alive within a
--   round trip)
-- Returns {epoch or '', generation, pause seq, TIME seconds, TIME microseconds, then per live
-- instance: instance, since-ms}
-- A replica is judged by how long Redis served heartbeats without it: time in which no replica at
-- all could beat (Redis paused, or everyone cut off) is a service gap and does not age anyone.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local interval = tonumber(ARGV[2])
local tick = tonumber(redis.call('HGET', KEYS[5], 'tick') or '0')
local down = tonumber(redis.call('HGET', KEYS[5], 'down') or '0')
if ARGV[1] ~= '' then
  if tick > 0 and now - tick > 2 * interval then down = down + (now - tick - 2 * interval) end
  redis.call('HSET', KEYS[5], 'tick', string.format('%.0f', now), 'down', string.format('%.0f', down), 'gap', 2 * interval)
  local entry = redis.call('HGET', KEYS[4], ARGV[1])
  local since = tonumber(ARGV[4])
  if not since or since > now then
    since = tonumber(string.match(entry or '', '^%d+:%d+:%d+:%d+:(%d+)') or now)
  end
  -- New, or back after the others stopped counting it alive: either way their view changes.
  local lapsed = true
  if entry then
    local beat, beatDown, every = string.match(entry, '^(%d+):(%d+):(%d+)')
    lapsed = not beat or (now - tonumber(beat)) - (down - tonumber(beatDown)) > 2 * tonumber(every)
  end
  if lapsed and ARGV[6] then redis.call('PUBLISH', ARGV[6], 'members') end
  redis.call('HSET', KEYS[4], ARGV[1],
    string.format('%.0f:%.0f:%d:%d:%.0f:%s', now, down, interval, tonumber(ARGV[3]), since, ARGV[5] == '1' and '1' or '0'))
end
local reply = {redis.call('GET', KEYS[1]) or '', redis.call('HGET', KEYS[2], 'generation') or '0',
  redis.call('GET', KEYS[3]) or '0', t[1], t[2]}
local members = redis.call('HGETALL', KEYS[4])
for i = 1, #members, 2 do
  local beat, beatDown, beatInterval, since = string.match(members[i + 1], '^(%d+):(%d+):(%d+):%d+:?(%d*)')
  local age = (now - tonumber(beat or '0')) - (down - tonumber(beatDown or '0'))
  local every = tonumber(beatInterval or '1000')
  if age <= 2 * every then
    reply[#reply + 1] = members[i]
    reply[#reply + 1] = (since and since ~= '') and since or beat
  elseif age > 100 * every then
    redis.call('HDEL', KEYS[4], members[i]) -- long gone: forget it
  end
end
return reply
