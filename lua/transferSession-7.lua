--[[ transferSession: the source half of a transfer. Ends a live session
here as transferred; the engine has already placed the customer in the
target queue with joinQueue (from = this queue and session).

KEYS[1] cfg    queue configuration hash
KEYS[2] stats  queue counters hash
KEYS[3] wait   waiting line
KEYS[4] pre    pre-queue
KEYS[5] active active sessions
KEYS[6] rec    session records hash
KEYS[7] ev     event stream
ARGV[1] now    ms
ARGV[2] sid    session id
ARGV[3] to     'queue:sid' of the session in the target queue

Returns {0}, or {code}: E_QUEUE_NOT_FOUND, E_SESSION_NOT_FOUND,
E_INVALID_TRANSITION (the session already ended).
]]
local cfgKey, statsKey, waitKey, preKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local activeKey, recKey, evKey = KEYS[5], KEYS[6], KEYS[7]
local now, sid, to = tonumber(ARGV[1]), ARGV[2], ARGV[3]

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

redis.call('ZREM', waitKey, sid)
redis.call('ZREM', preKey, sid)
redis.call('ZREM', activeKey, sid)
r.state, r.at, r.score = 't', now, ''
redis.call('HSET', recKey, sid, encodeRecord(r))
redis.call('HINCRBY', statsKey, 'transferred', 1)
emit(evKey, now, 'transferred', sid, {'to', to})
notify(evKey, {t = 'transferred', s = sid})
return {0}
