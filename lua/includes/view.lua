--- @include "record"
--- @include "estimate"
--- @include "phase"
--- @include "hash"
-- sessionView(k, cfg, stats, sid, r, now): what a visitor sees of their
-- session, as a flat array: state, ticket, prio, position (1 = next, 0 when
-- active, -1 when not in line), p50, p90 (seconds, -1 = unknown), quoted
-- p50, quoted p90, joined ms, counter, last transition ms, queue state.
-- k holds the keys wait and ctr. A caller that knows the position of a
-- waiting session passes it as `known`, saving a lookup.
local function sessionView(k, cfg, stats, sid, r, now, known)
  local position, p50, p90 = -1, -1, -1
  if r.state == 'w' then
    position = known or redis.call('ZRANK', k.wait, sid) + 1
    p50, p90 = estimate(cfg, stats, k.ctr, position, now)
  elseif r.state == 'a' then
    position, p50, p90 = 0, 0, 0
  end
  return {
    r.state, r.ticket, tonumber(r.prio), position, p50, p90,
    tonumber(r.p50) or -1, tonumber(r.p90) or -1, fmt(r.joined),
    r.counter or '', fmt(lastChange(r)), effectiveState(cfg, now),
  }
end
