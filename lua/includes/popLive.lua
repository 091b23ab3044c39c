--- @include "hash"
--- @include "record"
--- @include "emit"
-- popLive(k, cfg, now, budget): takes the head of the line, skipping every
-- visitor not seen within the heartbeat grace (grace_s > 0, plus the lag
-- SEEN_STEP_MS of a poll's sign of life): those are marked expired and
-- consume no admission. k holds the keys stats, wait,
-- rec, ev. At most `budget` members are looked at.
-- Returns sid, record, wait score, expired count; sid is nil when the line
-- is empty or the budget is spent.
local function popLive(k, cfg, now, budget)
  local graceMs = num(cfg, 'grace_s', 0) * 1000
  local allowedMs = graceMs + SEEN_STEP_MS
  local expired = 0
  while budget > 0 do
    local head = redis.call('ZPOPMIN', k.wait)
    if #head == 0 then
      break
    end
    budget = budget - 1
    local sid, score = head[1], tonumber(head[2])
    local r = decodeRecord(redis.call('HGET', k.rec, sid))
    if graceMs > 0 and now - lastSeen(r) > allowedMs then
      r.state, r.at = 'e', now
      redis.call('HSET', k.rec, sid, encodeRecord(r))
      emit(k.ev, now, 'expired', sid, {'reason', 'heartbeat'})
      expired = expired + 1
    else
      if expired > 0 then
        redis.call('HINCRBY', k.stats, 'expired', expired)
      end
      return sid, r, score, expired
    end
  end
  if expired > 0 then
    redis.call('HINCRBY', k.stats, 'expired', expired)
  end
  return nil, nil, nil, expired
end
