-- Takes the lock KEYS[1] for the holder ARGV[1] (its token) for ARGV[2] milliseconds. Returns 1
-- when this holder holds it now: newly taken, or already its own (an earlier try whose answer was
-- lost did take it; its lease is then renewed). Returns 0 while another holder has it.
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
