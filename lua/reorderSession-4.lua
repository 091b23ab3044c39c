--[[ reorderSession: staff move a waiting customer to another position in
the line. The new wait score falls between the new neighbours' scores; the
2^16 gap between arrivals (includes/score.lua) leaves room for 16 moves into
the same gap, after which E_REORDER_NO_ROOM asks to move another customer.

KEYS[1] cfg      queue configuration hash
KEYS[2] wait     waiting line
KEYS[3] rec      session records hash
KEYS[4] ev       event stream
ARGV[1] now      ms
ARGV[2] sid      session id
ARGV[3] position wanted position, 1 = next (clamped to the line)

Returns {0, old position, new position}, or {code}: E_QUEUE_NOT_FOUND,
E_SESSION_NOT_FOUND, E_INVALID_TRANSITION (not waiting),
E_REORDER_NO_ROOM.
]]
local cfgKey, waitKey, recKey, evKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local now, sid, wanted = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3])

--- @include "codes"
--- @include "hash"
--- @include "record"
--- @include "score"
--- @include "emit"

if redis.call('EXISTS', cfgKey) == 0 then
  return {E_QUEUE_NOT_FOUND}
end
local r = decodeRecord(redis.call('HGET', recKey, sid))
if r == nil then
  return {E_SESSION_NOT_FOUND}
elseif r.state ~= 'w' then
  return {E_INVALID_TRANSITION}
end

-- Neighbours in the line as it would be without this session (0-based
-- ranks of the others map to ranks in the full line around `current`).
local size = redis.call('ZCARD', waitKey)
local current = redis.call('ZRANK', waitKey, sid)
local target = math.max(1, math.min(wanted, size))
if target == current + 1 then
  return {0, target, target}
end
local function scoreOfOther(i)
  local rank = i - 1
  if rank >= current then
    rank = rank + 1
  end
  local hit = redis.call('ZRANGE', waitKey, rank, rank, 'WITHSCORES')
  return tonumber(hit[2])
end

local before, after
if target > 1 then
  before = scoreOfOther(target - 1)
end
if target < size then
  after = scoreOfOther(target)
end
local score
if before == nil then
  score = after - ORD_GAP
elseif after == nil then
  score = before + ORD_GAP
else
  score = math.floor((before + after) / 2)
  if score <= before or score >= after then
    return {E_REORDER_NO_ROOM}
  end
end

redis.call('ZADD', waitKey, fmt(score), sid)
emit(evKey, now, 'reordered', sid, {
  'score', fmt(score), 'from', current + 1, 'pos', target})
notify(evKey, {t = 'reordered', s = sid})
return {0, current + 1, target}
