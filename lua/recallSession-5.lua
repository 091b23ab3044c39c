--[[ recallSession: calls an already called customer again (same counter),
for instance when they did not come forward.

KEYS[1] cfg    queue configuration hash
KEYS[2] stats  queue counters hash
KEYS[3] rec    session records hash
KEYS[4] ctr    counters sorted set
KEYS[5] ev     event stream
ARGV[1] now    ms
ARGV[2] sid    session id

Returns {0, counter}, or {code}: E_QUEUE_NOT_FOUND, E_WRONG_MODE,
E_SESSION_NOT_FOUND, E_INVALID_TRANSITION (the session is not called).
]]
local cfgKey, statsKey, recKey, ctrKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local evKey = KEYS[5]
local now, sid = tonumber(ARGV[1]), ARGV[2]

--- @include "codes"
--- @include "record"
--- @include "emit"

local mode = redis.call('HGET', cfgKey, 'mode')
if not mode then
  return {E_QUEUE_NOT_FOUND}
elseif mode ~= 'service' then
  return {E_WRONG_MODE}
end
local r = decodeRecord(redis.call('HGET', recKey, sid))
if r == nil then
  return {E_SESSION_NOT_FOUND}
elseif r.state ~= 'a' then
  return {E_INVALID_TRANSITION}
end

redis.call('HINCRBY', statsKey, 'recalled', 1)
redis.call('ZADD', ctrKey, now, r.counter)
emit(evKey, now, 'recalled', sid, {'counter', r.counter, 'ticket', r.ticket})
notify(evKey, {t = 'called', s = sid, k = r.ticket, c = r.counter})
return {0, r.counter}
