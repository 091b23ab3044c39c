--- @include "record"
--- @include "score"
--- @include "emit"
--- @include "hash"
-- The pre-queue is shuffled fairly at the event start. Each pre-queue entrant
-- is scored on entry by the first 52 bits of sha1(seed .. sid); the seed is
-- secret until the shuffle and its SHA-256 (seed_hash) is public from the
-- moment the pre-queue opens. At the shuffle, the k-th entrant in score order
-- (ties by sid) takes the k-th smallest arrival number of all entrants, so
-- the pre-queue as a whole keeps its place ahead of later arrivals. The
-- seed is then revealed and anyone can recompute the order.

-- prequeueScore(seed, sid): the entrant's draw.
local function prequeueScore(seed, sid)
  return tonumber(string.sub(redis.sha1hex(seed .. sid), 1, 13), 16)
end

-- shuffleDue(cfg, now): the event has started and the draw has not run.
local function shuffleDue(cfg, now)
  local eventAt = tonumber(cfg.event_at) or 0
  return eventAt > 0 and now >= eventAt and cfg.shuffled == '0'
end

-- shufflePrequeue(k, cfg, now): moves the pre-queue into the line in draw
-- order; k holds the keys cfg, wait, pre, rec, ev. Returns the count.
local function shufflePrequeue(k, cfg, now)
  local members = redis.call('ZRANGE', k.pre, 0, -1)
  local records, ords = {}, {}
  for i, sid in ipairs(members) do
    records[i] = decodeRecord(redis.call('HGET', k.rec, sid))
    ords[i] = tonumber(records[i].score)
  end
  table.sort(ords)

  for i, sid in ipairs(members) do
    local r = records[i]
    local score = fmt(waitScore(tonumber(r.prio), ords[i]))
    redis.call('ZADD', k.wait, score, sid)
    r.state, r.score = 'w', ''
    redis.call('HSET', k.rec, sid, encodeRecord(r))
    emit(k.ev, now, 'queued', sid, {'score', score})
  end

  redis.call('DEL', k.pre)
  redis.call('HSET', k.cfg, 'shuffled', '1')
  cfg.shuffled = '1'
  emit(k.ev, now, 'prequeue_shuffled', '', {
    'count', #members, 'seed', cfg.seed, 'seed_hash', cfg.seed_hash})
  notify(k.ev, {t = 'shuffled', n = #members})
  return #members
end
