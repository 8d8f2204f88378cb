-- Renews the lease of the lock KEYS[1] to ARGV[2] milliseconds, only if the holder ARGV[1] (its
-- token) still holds it. Returns 1 when renewed, 0 when the lock is gone or another's.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
