-- claim: decide scheduled fires of cluster-scope tasks, once for all replicas. One call decides a
-- batch of fires (all that came due on this replica at the same moment), each on its own.
-- KEYS[1] epoch marker ("<id>:<recover-until-ms>"); absent means the store lost its state
-- KEYS[2] definitions hash (fields "d:<task>" digest, "s:<task>" since-ms)
-- KEYS[3] pause hash (field <task> = "<0|1>:<seq>")
-- KEYS[4] members hash (see sync.lua)   KEYS[5] liveness clock hash (see sync.lua)
-- then per fire i (from 0): KEYS[6+2i] task state hash (fire = latest decided scheduled ms, token,
--   owner, prev, outcome, won*, runStart, runEnd, leaseOwner, taken*, started = token of the
--   run whose replica told when it started, pausedAt / resumedAt = when set-pause.lua last paused /
--   resumed the task)
--   KEYS[7+2i] lease key of the task (token of the running run)
-- ARGV per fire i, 11 entries from ARGV[1+11i]: task name, definition digest, scheduled ms, deadline ms,
--   overlap (skip|allow), lease TTL ms, claim token, instance of the claiming replica, '1' if the
--   definition is paused, '1' if the fire is a catch-up (an older due fire claimed on the way to a later
--   one), the task's next scheduled ms after this fire ('' when there is none)
-- Returns {'reset'} for the whole batch, else one reply per fire:
--   {'won', prev, now, taken-over instance or '', pausedAt, resumedAt}
--   | {'overlap'|'paused'|'missed', prev, pausedAt, resumedAt} | {'lost', decided}
--   | {'early'|'recovering'|'busy', wait-ms} | {'stale'} | {'before'} | {'expired'} (too late to decide)
--   | {'superseded'} (a catch-up fire no live replica was up for: left to the later fire to record)
--   | {'error', message, key} (this fire's keys hold what this script cannot read: the other fires
--     of the batch are decided all the same)
-- pausedAt/resumedAt ('' when never) let the decider tell the fires nobody decided in between
-- (prev, this fire) that were paused from those that were missed.
-- overlap:skip never queues a fire. A fire whose next fire is already due when it is claimed is
-- skipped as an overlap (after an outage only the latest due fire runs), and so is a fire due while
-- a run of the task was in progress (claimed during it, or after it ended). A fire due before the
-- running run started waits for it ('busy'), until its own next fire is due at most. A run is
-- trusted to be running only once its replica has heartbeated since the fire was due: until then the
-- fire waits ('busy'), also while the replica is late, and takes the lease over once the replica has
-- missed 5 heartbeats of Redis service time (it was killed mid-run). A run's start is when its claim
-- was decided until its replica tells when it really started (renew-lease.lua, complete.lua); until
-- then a fire waits ('busy').
local epoch = redis.call('GET', KEYS[1])
if not epoch then return {'reset'} end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local nowText = string.format('%.0f', now)
local fires = #ARGV / 11
local replies = {}
local recoverUntil = tonumber(string.match(epoch, ':(%d+)$') or '0')
if now < recoverUntil then
  for i = 1, fires do replies[i] = {'recovering', string.format('%.0f', recoverUntil - now)} end
  return replies
end

local clock = redis.call('HMGET', KEYS[5], 'tick', 'down', 'gap')
local tick, downNow = tonumber(clock[1] or '0'), tonumber(clock[2] or '0')
local gap = tonumber(clock[3] or '2000')
if tick > 0 and now - tick > gap then downNow = downNow + (now - tick - gap) end

-- 'alive', 'late' or 'dead', the time of the member's last heartbeat and when it registered, from
-- its members entry (see sync.lua).
local function judge(entry)
  local beat, beatDown, every, deadAfter, since, settling =
    string.match(entry, '^(%d+):(%d+):(%d+):(%d+):?(%d*):?(%d?)$')
  beat = tonumber(beat or '0')
  local age = (now - beat) - (downNow - tonumber(beatDown or '0'))
  local sinceMs = tonumber(since) or beat
  if age > tonumber(deadAfter or '5000') then return 'dead', beat, sinceMs end
  -- Completions still on their way: a heartbeat does not show that a run outlived a fire.
  if age > 2 * tonumber(every or '1000') or settling == '1' then return 'late', beat, sinceMs end
  return 'alive', beat, sinceMs
end

-- How a lease holder stands; a lease without a known owner is trusted until its TTL.
local function liveness(instance)
  if not instance or instance == '' then return 'alive', nil end
  local entry = redis.call('HGET', KEYS[4], instance)
  if not entry then return 'dead', nil end
  local state, beat = judge(entry)
  return state, beat
end

-- Whether some replica was up when the fire was due (registered before it, and not dead since, or
-- heartbeating after it): the fire was owed to it and it may still be asking, cut off or queued.
-- Read once per call, and only for catch-up claims.
local upSpans
local function owed(scheduled)
  if not upSpans then
    upSpans = {}
    local members = redis.call('HGETALL', KEYS[4])
    for i = 2, #members, 2 do
      local state, beat, since = judge(members[i])
      upSpans[#upSpans + 1] = {since, state ~= 'dead' and math.huge or beat}
    end
  end
  for _, span in ipairs(upSpans) do
    if span[1] <= scheduled and scheduled <= span[2] then return true end
  end
  return false
end

local function claim(stateKey, leaseKey, a)
  local task, digest, scheduledText, deadline, overlap = a[1], a[2], a[3], tonumber(a[4]), a[5]
  local leaseTtl, token, instance, paused, catchUp, nextFire = a[6], a[7], a[8], a[9], a[10], tonumber(a[11])
  local definition = redis.call('HMGET', KEYS[2], 'd:' .. task, 's:' .. task)
  if definition[1] ~= digest then return {'stale'} end
  local scheduled = tonumber(scheduledText)
  if scheduled < tonumber(definition[2] or '0') then return {'before'} end

  local state = redis.call('HMGET', stateKey, 'fire', 'token', 'prev', 'outcome', 'wonFire', 'wonToken', 'wonPrev',
    'runStart', 'leaseOwner', 'runEnd', 'takenFire', 'takenToken', 'started', 'pausedAt', 'resumedAt')
  local pausedAt, resumedAt = state[14] or '', state[15] or ''
  -- A replica whose 'won' reply was lost asks again with the same token: it keeps the fire even if
  -- later fires were decided meanwhile (they were skipped behind its lease).
  if state[6] == token and state[5] == scheduledText then return {'won', state[7] or '', nowText, '', pausedAt, resumedAt} end
  -- ...unless its lease was taken over meanwhile (it was cut off for long): the fire never started.
  if state[12] == token and state[11] == scheduledText then return {'missed', '', pausedAt, resumedAt} end
  local decided = tonumber(state[1])
  if decided and scheduled <= decided then
    -- The same replica retrying the same claim (its reply was lost) gets the same answer.
    if scheduled == decided and state[2] == token then
      if state[4] == 'won' then return {'won', state[3] or '', nowText, '', pausedAt, resumedAt} end
      return {state[4], state[3] or '', pausedAt, resumedAt}
    end
    return {'lost', state[1]}
  end
  if scheduled > now then return {'early', string.format('%.0f', scheduled - now)} end
  if catchUp == '1' and not owed(scheduled) then return {'superseded'} end

  local prev = state[1] or ''
  local function decide(outcome)
    redis.call('HSET', stateKey, 'fire', scheduledText, 'token', token, 'owner', instance, 'prev', prev, 'outcome', outcome)
  end
  local leaseTtlLeft = 0
  local owner, beat
  if overlap == 'skip' then
    leaseTtlLeft = redis.call('PTTL', leaseKey)
    if leaseTtlLeft > 0 then owner, beat = liveness(state[9]) end
  end
  if now > scheduled + deadline + 2000 then
    -- Every replica has given up on this fire (they ask until deadline + 2 s): a claim that was held
    -- up in the network decides nothing, so the next decision counts the fire among the missed.
    return {'expired'}
  end
  -- A paused task's fire is skipped as paused, however late it is asked for: never missed.
  local pause = redis.call('HGET', KEYS[3], task)
  if paused == '1' or (pause and string.sub(pause, 1, 1) == '1') then
    decide('paused')
    return {'paused', prev, pausedAt, resumedAt}
  end
  if now > scheduled + deadline then
    -- Past its deadline while a live run holds the task, or having waited behind a run that ended
    -- after it was due: the fire overlapped that run.
    if (owner and owner ~= 'dead') or (overlap == 'skip' and tonumber(state[10] or '0') > scheduled) then
      decide('overlap')
      return {'overlap', prev, pausedAt, resumedAt}
    end
    decide('missed')
    return {'missed', prev, pausedAt, resumedAt}
  end
  if overlap == 'skip' and nextFire and now >= nextFire then
    -- Its next fire is due already (an outage held the claims back): running this one now would
    -- start a queue; the latest due fire runs instead.
    decide('overlap')
    return {'overlap', prev, pausedAt, resumedAt}
  end
  local takenOver = ''
  if overlap == 'skip' then
    local runStart = tonumber(state[8] or '0')
    if leaseTtlLeft > 0 then
      if owner == 'late' then return {'busy', '250'} end
      if owner == 'alive' then
        -- Due before the running run started (its claim reply reached its replica late): the fire
        -- did not overlap it and waits for it, never past its own next fire (then it is coalesced).
        if runStart >= scheduled then return {'busy', tostring(math.min(leaseTtlLeft, 100))} end
        -- runStart is when the run's claim was decided until its replica tells when the run started
        -- (a renewal, or its completion): the reply may reach it late (a slow link, a replica
        -- acknowledgement held up by a failover), and the run may yet end before this fire was due.
        if state[13] ~= redis.call('GET', leaseKey) then return {'busy', '50'} end
        -- Only a heartbeat after the fire was due shows the run outlived it: until then its replica
        -- may have died just before, and the fire waits rather than being skipped behind a ghost.
        if beat and beat < scheduled and runStart < scheduled then return {'busy', '200'} end
        decide('overlap')
        return {'overlap', prev, pausedAt, resumedAt}
      end
      takenOver = state[9]
      redis.call('HSET', stateKey, 'takenFire', state[5] or '', 'takenToken', state[6] or '')
    elseif runStart < scheduled and tonumber(state[10] or '0') > scheduled then
      -- The last run ended after this fire was due (the fire waited for proof of life): it overlapped.
      decide('overlap')
      return {'overlap', prev, pausedAt, resumedAt}
    end
    redis.call('SET', leaseKey, token, 'PX', leaseTtl)
    redis.call('HSET', stateKey, 'fire', scheduledText, 'token', token, 'owner', instance, 'prev', prev, 'outcome', 'won',
      'wonFire', scheduledText, 'wonToken', token, 'wonPrev', prev, 'runStart', nowText, 'leaseOwner', instance)
  else
    redis.call('HSET', stateKey, 'fire', scheduledText, 'token', token, 'owner', instance, 'prev', prev, 'outcome', 'won',
      'wonFire', scheduledText, 'wonToken', token, 'wonPrev', prev)
  end
  return {'won', prev, nowText, takenOver, pausedAt, resumedAt}
end

-- Which of a fire's keys holds what the script cannot read, for the error reply.
local function culprit(stateKey, leaseKey)
  local stateType, leaseType = redis.call('TYPE', stateKey).ok, redis.call('TYPE', leaseKey).ok
  if stateType ~= 'hash' and stateType ~= 'none' then return stateKey end
  if leaseType ~= 'string' and leaseType ~= 'none' then return leaseKey end
  return stateKey
end

for i = 0, fires - 1 do
  local a = {}
  for j = 1, 11 do a[j] = ARGV[11 * i + j] end
  local stateKey, leaseKey = KEYS[6 + 2 * i], KEYS[7 + 2 * i]
  local ok, reply = pcall(claim, stateKey, leaseKey, a)
  if ok then
    replies[i + 1] = reply
  else
    local message = type(reply) == 'table' and (reply.err or '') or tostring(reply)
    replies[i + 1] = {'error', message, culprit(stateKey, leaseKey)}
  end
end
return replies
