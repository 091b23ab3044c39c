-- overQuota(key, limit, window): counts one request at key and tells
-- whether the count went past limit (a string; '' counts nothing). The
-- count is a fixed window kept as the limits library keeps its own (its
-- incr_expire script: INCRBY, then EXPIRE window seconds on the first
-- count), so the edge's library reads, refuses and resets it as one of its
-- own; tests/edge/test_protection.py checks the two agree.
local function overQuota(key, limit, window)
  if limit == '' then
    return false
  end
  local count = redis.call('INCRBY', key, 1)
  if count == 1 then
    redis.call('EXPIRE', key, window)
  end
  return count > tonumber(limit)
end
