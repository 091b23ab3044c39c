--[[ restoreSessions: puts sessions back after Redis lost the queue's state,
from the durable record (PostgreSQL), in batches. Idempotent: restoring
the same session again leaves the same state. The queue must have been
configured first (the pre-queue draw needs its seed).

KEYS[1] cfg    queue configuration hash
KEYS[2] stats  queue counters hash
KEYS[3] wait   waiting line
KEYS[4] pre    pre-queue
KEYS[5] active active sessions
KEYS[6] rec    session records hash
ARGV[1] now    ms
ARGV[2] seq    arrival numbers used so far: the counter never goes back
ARGV[3] ticket tickets issued today: today's counter never goes back
ARGV[4..] one session per 11 values: sid, state letter (w, p or a), prio,
          score (w: wait score; p: arrival ord; a: its old wait score),
          ticket, joined ms, p50, p90, counter, last change ms, active
          score (a: expiry ms in a waiting room, call ms in a service
          line; else '')

Returns {0, sessions restored}, or {code}: E_QUEUE_NOT_FOUND.
]]
local cfgKey, statsKey, waitKey, preKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local activeKey, recKey = KEYS[5], KEYS[6]
local now, seq, ticketN = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])

--- @include "codes"
--- @include "hash"
--- @include "record"
--- @include "phase"
--- @include "shuffle"

local cfg = loadHash(cfgKey)
if cfg == nil then
  return {E_QUEUE_NOT_FOUND}
end

-- Counters only move forward: the arrival number, and today's tickets
-- (counted from tk_base, as joinQueue does).
local day = tostring(localDay(cfg, now))
local known = redis.call('HMGET', statsKey, 'seq', 'tk_day', 'tk_base')
local knownSeq = tonumber(known[1]) or 0
local today = 0
if known[2] == day then
  today = knownSeq - (tonumber(known[3]) or 0)
end
local nextSeq = math.max(knownSeq, seq)
redis.call('HSET', statsKey, 'seq', fmt(nextSeq), 'tk_day', day,
  'tk_base', fmt(nextSeq - math.max(today, ticketN)))

local count = 0
for i = 4, #ARGV, 11 do
  local sid, state, score = ARGV[i], ARGV[i + 1], ARGV[i + 3]
  local r = {state = state, prio = ARGV[i + 2], ticket = ARGV[i + 4],
    joined = ARGV[i + 5], p50 = ARGV[i + 6], p90 = ARGV[i + 7],
    counter = ARGV[i + 8], at = ARGV[i + 9]}
  if state == 'w' then
    redis.call('ZADD', waitKey, score, sid)
  elseif state == 'p' then
    r.score = score
    redis.call('ZADD', preKey, prequeueScore(cfg.seed, sid), sid)
  else
    r.score = score
    redis.call('ZADD', activeKey, ARGV[i + 10], sid)
  end
  redis.call('HSET', recKey, sid, encodeRecord(r))
  count = count + 1
end
return {0, count}
