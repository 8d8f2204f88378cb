-- Writes the record KEYS[2] (what the holder did: ARGV[2], kept ARGV[3] milliseconds) only if
-- the holder ARGV[1] (its token) still holds the lock KEYS[1]: a holder whose lease ran out
-- (fencing) cannot overwrite what the next holder recorded. Returns 1 when written, else 0.
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[2], ARGV[1] .. '|' .. ARGV[2], 'PX', ARGV[3])
return 1
