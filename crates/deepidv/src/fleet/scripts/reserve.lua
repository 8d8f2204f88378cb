-- Takes a turn from the shared bucket (GCRA: KEYS[1] holds the theoretical arrival time, in
-- microseconds on Redis's clock) and notes it under KEYS[2], the reservation's own key, so that
-- it can be handed back exactly once (scripts/refund.lua). ARGV: the interval between turns (us),
-- the burst, the longest wait the caller accepts (us, -1 for any). Returns the microseconds to
-- wait, or -1 - wait when the wait would exceed the longest accepted (then nothing is reserved).
-- Effects replication: replicas and AOF replay apply the write, not a second reading of TIME
-- (the default from Redis 5; needed before, a no-op after).
redis.replicate_commands()
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local tolerance = interval * (tonumber(ARGV[2]) - 1)
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local wait = tat - tolerance - now
if wait < 0 then wait = 0 end
local max_wait = tonumber(ARGV[3])
if max_wait >= 0 and wait > max_wait then return -1 - wait end
local next_tat = tat + interval
redis.call('SET', KEYS[1], string.format('%.0f', next_tat), 'PX', math.ceil((next_tat - now) / 1000) + 1000)
-- Worth handing back until the turn has come.
redis.call('SET', KEYS[2], '1', 'PX', math.ceil(wait / 1000) + 1000)
return wait
