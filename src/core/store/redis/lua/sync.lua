-- sync: the replica heartbeat; one round trip tells what changed and the server time.
-- KEYS[1] epoch marker   KEYS[2] definitions hash   KEYS[3] pause sequence counter
-- Returns {epoch or '', generation, pause seq, TIME seconds, TIME microseconds}
local t = redis.call('TIME')
return {redis.call('GET', KEYS[1]) or '', redis.call('HGET', KEYS[2], 'generation') or '0',
  redis.call('GET', KEYS[3]) or '0', t[1], t[2]}
