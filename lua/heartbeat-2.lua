--[[ heartbeat: records that the visitor is still there. A visitor not seen
within the queue's heartbeat grace is skipped when reaching the front.

KEYS[1] cfg    queue configuration hash
KEYS[2] rec    session records hash
ARGV[1] now    ms
ARGV[2] sid    session id

Returns {0, state} (state letter, see includes/record.lua), or {code}:
E_QUEUE_NOT_FOUND, E_SESSION_NOT_FOUND.
]]
local cfgKey, recKey = KEYS[1], KEYS[2]
local now, sid = tonumber(ARGV[1]), ARGV[2]

--- @include "codes"
--- @include "record"

if redis.call('EXISTS', cfgKey) == 0 then
  return {E_QUEUE_NOT_FOUND}
end
local r = decodeRecord(redis.call('HGET', recKey, sid))
if r == nil then
  return {E_SESSION_NOT_FOUND}
end
if isLive(r) then
  r.seen = now
  redis.call('HSET', recKey, sid, encodeRecord(r))
end
return {0, r.state}
