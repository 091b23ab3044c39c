--[[ finishSession: ends an active session. 'served' (service lines: the
customer was served; waiting rooms: the visitor is done and frees their
slot at once) or 'no_show' (service lines: the called customer never came).

KEYS[1] cfg     queue configuration hash
KEYS[2] stats   queue counters hash
KEYS[3] active  active sessions
KEYS[4] rec     session records hash
KEYS[5] ctr     counters sorted set
KEYS[6] ev      event stream
ARGV[1] now     ms
ARGV[2] sid     session id
ARGV[3] outcome 'served' or 'no_show'
ARGV[4] reason  who ended it: 'staff' or 'visitor'

Returns {0}, or {code}: E_QUEUE_NOT_FOUND, E_WRONG_MODE (no-show in a
waiting room), E_SESSION_NOT_FOUND, E_INVALID_TRANSITION (not active).
]]
local cfgKey, statsKey, activeKey, recKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local ctrKey, evKey = KEYS[5], KEYS[6]
local now, sid, outcome = tonumber(ARGV[1]), ARGV[2], ARGV[3]
local reason = ARGV[4]

--- @include "codes"
--- @include "hash"
--- @include "record"
--- @include "emit"
--- @include "outflow"

local mode = redis.call('HGET', cfgKey, 'mode')
if not mode then
  return {E_QUEUE_NOT_FOUND}
elseif outcome == 'no_show' and mode ~= 'service' then
  return {E_WRONG_MODE}
end
local r = decodeRecord(redis.call('HGET', recKey, sid))
if r == nil then
  return {E_SESSION_NOT_FOUND}
elseif r.state ~= 'a' then
  return {E_INVALID_TRANSITION}
end

local duration = now - tonumber(r.at)
if outcome == 'served' then
  local stats = loadEstimateStats(statsKey)
  recordDuration(statsKey, stats, duration)
  r.state = 's'
else
  r.state = 'n'
end
if r.counter ~= '' then
  redis.call('ZADD', ctrKey, now, r.counter)
end

r.at, r.score = now, ''
redis.call('HSET', recKey, sid, encodeRecord(r))
redis.call('ZREM', activeKey, sid)
redis.call('HINCRBY', statsKey, outcome, 1)
emit(evKey, now, outcome, sid, {'reason', reason, 'duration', duration,
  'counter', r.counter})
notify(evKey, {t = outcome, s = sid, a = redis.call('ZCARD', activeKey)})
return {0}
