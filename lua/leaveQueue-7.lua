--[[ leaveQueue: the visitor gives up their place (waiting, pre-queue) or
ends their active session early.

KEYS[1] cfg    queue configuration hash
KEYS[2] stats  queue counters hash
KEYS[3] wait   waiting line
KEYS[4] pre    pre-queue
KEYS[5] active active sessions, sorted set by expiry (or call time) ms
KEYS[6] rec    session records hash
KEYS[7] ev     event stream
ARGV[1] now    ms
ARGV[2] sid    session id

Returns {0, previous state letter}, or {code}: E_QUEUE_NOT_FOUND,
E_SESSION_NOT_FOUND, E_INVALID_TRANSITION (the session already ended).
]]
local cfgKey, statsKey, waitKey, preKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local activeKey, recKey, evKey = KEYS[5], KEYS[6], KEYS[7]
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
elseif not isLive(r) then
  return {E_INVALID_TRANSITION}
end

local previous = r.state
redis.call('ZREM', waitKey, sid)
redis.call('ZREM', preKey, sid)
redis.call('ZREM', activeKey, sid)
r.state, r.at, r.score = 'l', now, ''
redis.call('HSET', recKey, sid, encodeRecord(r))
redis.call('HINCRBY', statsKey, 'left', 1)
emit(evKey, now, 'left', sid, {'from', previous})
notify(evKey, {t = 'left', s = sid})
return {0, previous}
