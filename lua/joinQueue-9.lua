--[[ joinQueue: puts a visitor in the line, or in the pre-queue before the
event start. Idempotent: while the session id holds a place, joining again
returns that same session unchanged. A session that ended (served, left...)
starts a new visit with a new ticket.

KEYS[1] cfg    queue configuration hash
KEYS[2] stats  queue counters hash
KEYS[3] wait   waiting line, sorted set of session ids by wait score
KEYS[4] pre    pre-queue, sorted set of session ids by draw
KEYS[5] rec    session records hash
KEYS[6] meta   session metadata hash (JSON per session, only when given)
KEYS[7] ctr    counters sorted set (counter name by last activity ms)
KEYS[8] ev     event stream, also the notice channel name
KEYS[9] quota  the rate-limit counter this join counts against, in the
               queue's slot (see includes/quota.lua), or any key of the
               queue when ARGV[7] is ''
ARGV[1] now    ms
ARGV[2] sid    session id
ARGV[3] prio   priority level
ARGV[4] meta   metadata JSON, or '' for none
ARGV[5] from   'queue:sid' when transferred in from another queue, else ''
ARGV[6] clamp  '1' to lower an unknown priority to the top level instead
               of refusing it (transfers)
ARGV[7] limit  the most joins the quota allows, or '' for no quota
ARGV[8] window the quota's window, seconds

Returns {1, sid, view...} for a new session, {0, sid, view...} for the
existing one (view: see includes/view.lua), or {code}:
E_QUEUE_NOT_FOUND, E_QUEUE_CLOSED, E_JOINS_PAUSED, E_NOT_OPEN_YET,
E_QUEUE_FULL, E_UNKNOWN_PRIORITY, E_OVER_LIMIT (past the quota: nothing
but the count changed, not even an idempotent re-join is answered).
]]
local cfgKey, statsKey, waitKey, preKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local recKey, metaKey, ctrKey, evKey = KEYS[5], KEYS[6], KEYS[7], KEYS[8]
local now, sid, prio = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3])
local meta, from, clamp = ARGV[4], ARGV[5], ARGV[6] == '1'

--- @include "codes"
--- @include "quota"

if overQuota(KEYS[9], ARGV[7], ARGV[8]) then
  return {E_OVER_LIMIT}
end

--- @include "hash"
--- @include "record"
--- @include "score"
--- @include "emit"
--- @include "phase"
--- @include "shuffle"
--- @include "outflow"
--- @include "view"

local cfg = loadHash(cfgKey)
if cfg == nil then
  return {E_QUEUE_NOT_FOUND}
end
local stats = loadStats(statsKey, {'svc_mean', 'out_level', 'out_ms',
  'out_first', 'seq', 'tk_day', 'tk_base'})
local k = {cfg = cfgKey, wait = waitKey, pre = preKey, rec = recKey,
  ev = evKey, ctr = ctrKey}
if shuffleDue(cfg, now) then
  shufflePrequeue(k, cfg, now)
end

-- liveSession(): the reply for a session id that still holds a place (an
-- idempotent re-join), or nil. Looked up only when it matters: on a
-- refusal, or when the record turns out to exist.
local function liveSession()
  local r = decodeRecord(redis.call('HGET', recKey, sid))
  if r and isLive(r) then
    return {0, sid, unpack(sessionView(k, cfg, stats, sid, r, now))}
  end
  return nil
end

-- Admission rules.
local state = effectiveState(cfg, now)
local pre = inPrequeue(cfg, now)
local levels = num(cfg, 'levels', 1)
if clamp and prio >= levels then
  prio = levels - 1
end
local maxWaiting = num(cfg, 'max_waiting', 0)
local refusal
if state == 'closed' then
  refusal = E_QUEUE_CLOSED
elseif cfg.joins_paused == '1' then
  refusal = E_JOINS_PAUSED
elseif beforePrequeue(cfg, now) or (state == 'scheduled' and not pre) then
  refusal = E_NOT_OPEN_YET
elseif prio < 0 or prio >= levels then
  refusal = E_UNKNOWN_PRIORITY
elseif maxWaiting > 0 and redis.call('ZCARD', waitKey)
    + redis.call('ZCARD', preKey) >= maxWaiting then
  refusal = E_QUEUE_FULL
end
if refusal then
  return liveSession() or {refusal}
end

-- Arrival number (also the count of joins) and ticket: the ticket counts
-- the arrivals since the queue's local day began (tk_base).
local seq = num(stats, 'seq', 0) + 1
local day = tostring(localDay(cfg, now))
local base = num(stats, 'tk_base', 0)
if stats.tk_day ~= day then
  base = seq - 1
end
local ticket = string.format('%s-%03d', cfg.ticket_prefix or 'A', seq - base)
local ord = seq * ORD_GAP

-- Place and estimate first, so that one write stores the whole record.
local r = {prio = prio, ticket = ticket, joined = ARGV[1]}
local score, position = '', -1
if pre then
  r.state, r.score = 'p', ord
else
  r.state, score = 'w', fmt(waitScore(prio, ord))
  position = redis.call('ZCOUNT', waitKey, '-inf', '(' .. score) + 1
end
local view = sessionView(k, cfg, stats, sid, r, now, position)
r.p50, r.p90 = view[5], view[6]
view[7], view[8] = view[5], view[6]

-- A record already there is a re-join: returned while it holds a place,
-- replaced (with its old metadata dropped) once its visit ended.
if redis.call('HSETNX', recKey, sid, encodeRecord(r)) == 0 then
  local live = liveSession()
  if live then
    return live
  end
  redis.call('HSET', recKey, sid, encodeRecord(r))
  redis.call('HDEL', metaKey, sid)
end
if pre then
  redis.call('ZADD', preKey, prequeueScore(cfg.seed, sid), sid)
else
  redis.call('ZADD', waitKey, score, sid)
end
redis.call('HSET', statsKey, 'seq', fmt(seq), 'tk_day', day,
  'tk_base', fmt(base))
if meta ~= '' then
  redis.call('HSET', metaKey, sid, meta)
end

local extra = {'prio', prio, 'ticket', ticket, 'score', score,
  'p50', view[5], 'p90', view[6]}
if meta ~= '' then  -- most joins carry neither: no empty fields stored
  extra[#extra + 1], extra[#extra + 2] = 'meta', meta
end
if from ~= '' then
  extra[#extra + 1], extra[#extra + 2] = 'from', from
end
emit(evKey, now, 'joined', sid, extra)
-- Joins land at the back and move nobody; a waiting room's surge would
-- flood subscribers, so only service lines (kiosk displays) hear of them.
if cfg.mode == 'service' then
  notify(evKey, {t = 'joined', w = redis.call('ZCARD', waitKey)})
end
return {1, sid, unpack(view)}
