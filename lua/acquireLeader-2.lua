--[[ acquireLeader: takes or renews the lease of a queue's release ticker.
A new lease bumps the fencing token; the holder passes that token to
releaseVisitors, which refuses any older one. A renewal keeps the token.

KEYS[1] leader lease holder (string with a TTL)
KEYS[2] fence  fencing token counter
ARGV[1] owner  the candidate's unique name
ARGV[2] ttl    lease length, ms

Returns {0, token} when the caller holds the lease, {0, 0} when another
ticker does.
]]
local leaderKey, fenceKey = KEYS[1], KEYS[2]
local owner, ttl = ARGV[1], tonumber(ARGV[2])

local holder = redis.call('GET', leaderKey)
if holder == owner then
  redis.call('PEXPIRE', leaderKey, ttl)
  return {0, tonumber(redis.call('GET', fenceKey))}
elseif holder then
  return {0, 0}
end
redis.call('SET', leaderKey, owner, 'PX', ttl)
return {0, redis.call('INCR', fenceKey)}
