--[[ callNext: a counter calls the next customer of a service line, highest
priority first, then arrival order. Customers not seen within the heartbeat
grace are marked expired on the way. With ARGV[4] set, that customer is
called out of order instead (they must be waiting). A paused line calls
nobody; a closed one still calls those who were already waiting.

KEYS[1] cfg     queue configuration hash
KEYS[2] stats   queue counters hash
KEYS[3] wait    waiting line
KEYS[4] pre     pre-queue
KEYS[5] active  called sessions, sorted set by call time ms
KEYS[6] rec     session records hash
KEYS[7] ctr     counters sorted set (counter name by last activity ms)
KEYS[8] ev      event stream
ARGV[1] now     ms
ARGV[2] counter counter name
ARGV[3] budget  at most this many waiting sessions are looked at
ARGV[4] sid     a specific session to call, or ''

Returns {0, sid, view...} (see includes/view.lua), {0} when nobody is
waiting, or {code}: E_QUEUE_NOT_FOUND, E_WRONG_MODE (a waiting room),
E_QUEUE_PAUSED, E_SESSION_NOT_FOUND, E_INVALID_TRANSITION (that session
is not waiting).
]]
local cfgKey, statsKey, waitKey, preKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local activeKey, recKey, ctrKey, evKey = KEYS[5], KEYS[6], KEYS[7], KEYS[8]
local now, counter = tonumber(ARGV[1]), ARGV[2]
local budget, chosen = tonumber(ARGV[3]), ARGV[4]

--- @include "codes"
--- @include "hash"
--- @include "record"
--- @include "emit"
--- @include "shuffle"
--- @include "popLive"
--- @include "outflow"
--- @include "view"

local cfg = loadHash(cfgKey)
if cfg == nil then
  return {E_QUEUE_NOT_FOUND}
elseif cfg.mode ~= 'service' then
  return {E_WRONG_MODE}
elseif effectiveState(cfg, now) == 'paused' then
  return {E_QUEUE_PAUSED}
end
local stats = loadEstimateStats(statsKey)
local k = {cfg = cfgKey, stats = statsKey, wait = waitKey, pre = preKey,
  rec = recKey, ev = evKey, ctr = ctrKey}
if shuffleDue(cfg, now) then
  shufflePrequeue(k, cfg, now)
end

-- Pick the customer: the one asked for, or the live head of the line.
local sid, r, score
if chosen ~= '' then
  r = decodeRecord(redis.call('HGET', recKey, chosen))
  if r == nil then
    return {E_SESSION_NOT_FOUND}
  elseif r.state ~= 'w' then
    return {E_INVALID_TRANSITION}
  end
  sid, score = chosen, tonumber(redis.call('ZSCORE', waitKey, chosen))
  redis.call('ZREM', waitKey, chosen)
else
  sid, r, score = popLive(k, cfg, now, budget)
end
redis.call('ZADD', ctrKey, now, counter)
if sid == nil then
  return {0}
end

r.state, r.at, r.score, r.counter = 'a', now, fmt(score), counter
redis.call('HSET', recKey, sid, encodeRecord(r))
redis.call('ZADD', activeKey, now, sid)
redis.call('HINCRBY', statsKey, 'released', 1)
recordOutflow(statsKey, stats, 1, now)
emit(evKey, now, 'called', sid, {'counter', counter, 'ticket', r.ticket})
notify(evKey, {t = 'called', s = sid, k = r.ticket, c = counter,
  w = redis.call('ZCARD', waitKey)})
return {0, sid, unpack(sessionView(k, cfg, stats, sid, r, now))}
