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
ARGV[1] now    ms
ARGV[2] sid    session id
ARGV[3] prio   priority level
ARGV[4] meta   metadata JSON, or '' for none
ARGV[5] from   'queue:sid' when transferred in from another queue, else ''
ARGV[6] clamp  '1' to lower an unknown priority to the top level instead
               of refusing it (transfers)

Returns {1, sid, view...} for a new session, {0, sid, view...} for the
existing one (view: see includes/view.lua), or {code}:
E_QUEUE_NOT_FOUND, E_QUEUE_CLOSED, E_JOINS_PAUSED, E_NOT_OPEN_YET,
E_QUEUE_FULL, E_UNKNOWN_PRIORITY.
]]
local cfgKey, statsKey, waitKey, preKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local recKey, metaKey, ctrKey, evKey = KEYS[5], KEYS[6], KEYS[7], KEYS[8]
local now, sid, prio = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3])
local meta, from, clamp = ARGV[4], ARGV[5], ARGV[6] == '1'

--- @include "codes"
--- @include "hash"
--- @include "record"
--- @include "score"
--- @include "emit"
--- @include "phase"
--- @include "shuffle"
--- @include "view"

local cfg = loadHash(cfgKey)
if cfg == nil then
  return {E_QUEUE_NOT_FOUND}
end
local stats = loadEstimateStats(statsKey)
local k = {cfg = cfgKey, wait = waitKey, pre = preKey, rec = recKey,
  ev = evKey, ctr = ctrKey}
if shuffleDue(cfg, now) then
  shufflePrequeue(k, cfg, now)
end

-- A session that still holds a place is returned as it is.
local existing = decodeRecord(redis.call('HGET', recKey, sid))
if existing and isLive(existing) then
  local view = sessionView(k, cfg, stats, sid, existing, now)
  return {0, sid, unpack(view)}
end

-- Admission rules.
local state = effectiveState(cfg, now)
local pre = inPrequeue(cfg, now)
if state == 'closed' then
  return {E_QUEUE_CLOSED}
elseif cfg.joins_paused == '1' then
  return {E_JOINS_PAUSED}
elseif beforePrequeue(cfg, now) or (state == 'scheduled' and not pre) then
  return {E_NOT_OPEN_YET}
end
local levels = num(cfg, 'levels', 1)
if clamp and prio >= levels then
  prio = levels - 1
end
if prio < 0 or prio >= levels then
  return {E_UNKNOWN_PRIORITY}
end
local maxWaiting = num(cfg, 'max_waiting', 0)
local size = redis.call('ZCARD', waitKey) + redis.call('ZCARD', preKey)
if maxWaiting > 0 and size >= maxWaiting then
  return {E_QUEUE_FULL}
end

-- Arrival number (also the count of joins) and ticket: one counter field
-- per local day, yesterday's dropped when today's first ticket is issued.
local seq = redis.call('HINCRBY', statsKey, 'seq', 1)
local day = localDay(cfg, now)
local ticketN = redis.call('HINCRBY', statsKey, 'tk:' .. day, 1)
if ticketN == 1 then
  redis.call('HDEL', statsKey, 'tk:' .. (day - 1))
end
local ticket = string.format('%s-%03d', cfg.ticket_prefix or 'A', ticketN)
local ord = seq * ORD_GAP

-- Into the pre-queue (scored by the draw) or the line.
local r = {prio = prio, ticket = ticket, joined = now}
local score = ''
if pre then
  r.state, r.score = 'p', ord
  redis.call('ZADD', preKey, prequeueScore(cfg.seed, sid), sid)
else
  r.state, score = 'w', fmt(waitScore(prio, ord))
  redis.call('ZADD', waitKey, score, sid)
end
local view = sessionView(k, cfg, stats, sid, r, now)
r.p50, r.p90 = view[5], view[6]
view[7], view[8] = view[5], view[6]
redis.call('HSET', recKey, sid, encodeRecord(r))
if meta ~= '' then
  redis.call('HSET', metaKey, sid, meta)
elseif existing then
  redis.call('HDEL', metaKey, sid)
end

emit(evKey, now, 'joined', sid, {
  'prio', prio, 'ticket', ticket, 'score', score, 'p50', view[5],
  'p90', view[6], 'meta', meta, 'from', from})
-- Joins land at the back and move nobody; a waiting room's surge would
-- flood subscribers, so only service lines (kiosk displays) hear of them.
if cfg.mode == 'service' then
  notify(evKey, {t = 'joined', w = size + 1})
end
return {1, sid, unpack(view)}
