-- Hands back a turn that was never used: if the reservation KEYS[2] is still there (so each is
-- handed back once, however often this runs), moves the theoretical arrival time in KEYS[1] back
-- by ARGV[1] microseconds (the interval between turns).
-- Effects replication (before any write): replicas and AOF replay apply the write, not a second
-- reading of TIME (the default from Redis 5; needed before, a no-op after).
redis.replicate_commands()
if redis.call('DEL', KEYS[2]) == 0 then return 0 end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tat = tonumber(redis.call('GET', KEYS[1]))
if not tat then return 0 end
local earlier = tat - tonumber(ARGV[1])
if earlier <= now then redis.call('DEL', KEYS[1]) return 0 end
redis.call('SET', KEYS[1], string.format('%.0f', earlier), 'PX', math.ceil((earlier - now) / 1000) + 1000)
return 1
