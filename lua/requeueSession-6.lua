--[[ requeueSession: returns a called customer to the line at the place
they had (same priority and arrival), for instance when they stepped away.

KEYS[1] cfg    queue configuration hash
KEYS[2] stats  queue counters hash
KEYS[3] wait   waiting line
KEYS[4] active active sessions
KEYS[5] rec    session records hash
KEYS[6] ev     event stream
ARGV[1] now    ms
ARGV[2] sid    session id

Returns {0, position}, or {code}: E_QUEUE_NOT_FOUND, E_SESSION_NOT_FOUND,
E_INVALID_TRANSITION (the session is not active).
]]
local cfgKey, statsKey, waitKey, activeKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local recKey, evKey = KEYS[5], KEYS[6]
local now, sid = tonumber(ARGV[1]), ARGV[2]

--- @include "codes"
--- @include "record"
--- @include "emit"

if redis.call('EXISTS', cfgKey) == 0 then
  return {E_QUEUE_NOT_FOUND}
end
local r = decodeRecord(redis.call('HGET', recKey, sid))
if r == nil then
  return {E_SESSION_NOT_FOUND}
elseif r.state ~= 'a' then
  return {E_INVALID_TRANSITION}
end

local score = r.score
redis.call('ZREM', activeKey, sid)
redis.call('ZADD', waitKey, score, sid)
r.state, r.at, r.score, r.counter, r.seen = 'w', now, '', '', now
redis.call('HSET', recKey, sid, encodeRecord(r))
redis.call('HINCRBY', statsKey, 'requeued', 1)

local position = redis.call('ZRANK', waitKey, sid) + 1
emit(evKey, now, 'requeued', sid, {'score', score, 'pos', position})
notify(evKey, {t = 'requeued', s = sid, w = redis.call('ZCARD', waitKey)})
return {0, position}
