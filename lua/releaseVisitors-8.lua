--[[ releaseVisitors: one tick of a waiting room. Ends active sessions past
their duration, then admits min(what the token bucket allows, free active
slots, waiting) visitors, highest priority first, then arrival order.
Visitors not seen within the heartbeat grace are marked expired on the way
and consume no admission. Nothing is admitted unless the queue is open.
A ticker passes the fencing token of its lease (acquireLeader): a deposed
leader's late call is refused, so two tickers never release twice.

KEYS[1] cfg    queue configuration hash
KEYS[2] stats  queue counters hash
KEYS[3] wait   waiting line
KEYS[4] pre    pre-queue
KEYS[5] active active sessions, sorted set by expiry ms
KEYS[6] rec    session records hash
KEYS[7] ev     event stream
KEYS[8] fence  fencing token of the ticker lease
ARGV[1] now    ms
ARGV[2] budget at most this many sessions are ended, expired or admitted
ARGV[3] token  the caller's fencing token, or '' when not a ticker

Returns {0, admitted, expired, ended, waiting, active, sid...} (the sids
admitted), or {code}: E_QUEUE_NOT_FOUND, E_WRONG_MODE (a service line),
E_STALE_LEADER (the token is not the current one).
]]
local cfgKey, statsKey, waitKey, preKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local activeKey, recKey, evKey, fenceKey = KEYS[5], KEYS[6], KEYS[7], KEYS[8]
local now, budget, token = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]

--- @include "codes"
--- @include "hash"
--- @include "record"
--- @include "emit"
--- @include "phase"
--- @include "shuffle"
--- @include "popLive"
--- @include "bucket"
--- @include "outflow"

if token ~= '' and redis.call('GET', fenceKey) ~= token then
  return {E_STALE_LEADER}
end
local cfg = loadHash(cfgKey)
if cfg == nil then
  return {E_QUEUE_NOT_FOUND}
elseif cfg.mode ~= 'waiting_room' then
  return {E_WRONG_MODE}
end
local stats = loadHash(statsKey) or {}
local k = {cfg = cfgKey, stats = statsKey, wait = waitKey, pre = preKey,
  rec = recKey, ev = evKey}
if shuffleDue(cfg, now) then
  shufflePrequeue(k, cfg, now)
end

-- End the active sessions whose time is up; each frees its slot.
local due = redis.call('ZRANGEBYSCORE', activeKey, '-inf', now,
  'LIMIT', 0, budget)
for _, sid in ipairs(due) do
  local r = decodeRecord(redis.call('HGET', recKey, sid))
  local duration = now - tonumber(r.at)
  recordDuration(statsKey, stats, duration)
  r.state, r.at, r.score = 's', now, ''
  redis.call('HSET', recKey, sid, encodeRecord(r))
  emit(evKey, now, 'served', sid, {'reason', 'timeout', 'duration', duration,
    'counter', ''})
end
if #due > 0 then
  redis.call('ZREM', activeKey, unpack(due))
  redis.call('HINCRBY', statsKey, 'served', #due)
end
budget = budget - #due

-- How many the bucket and the free slots allow.
local flowing = releasing(cfg, now)
local units = bucketUnits(cfg, stats, now, flowing)
local allowed = 0
if flowing then
  allowed = math.min(math.floor(units / BUCKET_UNIT), budget)
  local maxActive = num(cfg, 'max_active', 0)
  if maxActive > 0 then
    local free = maxActive - redis.call('ZCARD', activeKey)
    allowed = math.min(allowed, math.max(free, 0))
  end
end

-- Admit from the head of the line.
local admitted, expired = {}, 0
local sessionMs = num(cfg, 'session_s', 0) * 1000
while #admitted < allowed and budget > 0 do
  local sid, r, score, skipped = popLive(k, cfg, now, budget)
  expired = expired + skipped
  budget = budget - skipped
  if sid == nil then
    break
  end
  budget = budget - 1
  r.state, r.at, r.score = 'a', now, fmt(score)
  redis.call('HSET', recKey, sid, encodeRecord(r))
  redis.call('ZADD', activeKey, now + sessionMs, sid)
  emit(evKey, now, 'released', sid, {'expires', fmt(now + sessionMs)})
  admitted[#admitted + 1] = sid
end

saveBucket(statsKey, stats, units - #admitted * BUCKET_UNIT, now)
if #admitted > 0 then
  redis.call('HINCRBY', statsKey, 'released', #admitted)
  recordOutflow(statsKey, stats, #admitted, now)
end
local waiting = redis.call('ZCARD', waitKey)
local active = redis.call('ZCARD', activeKey)
if #admitted + expired + #due > 0 then
  notify(evKey, {t = 'released', n = #admitted, w = waiting, a = active})
end
return {0, #admitted, expired, #due, waiting, active, unpack(admitted)}
