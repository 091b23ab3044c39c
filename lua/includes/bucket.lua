--- @include "hash"
-- The release token bucket, in integer units so that counts stay exact over
-- any sequence of ticks: one admission costs 60000 units and the bucket
-- gains `rate` (admissions per minute) units per ms while the queue flows,
-- up to `burst` admissions (0 = two seconds of flow, at least one).
-- State: bk_units and bk_ms in the stats hash.
local BUCKET_UNIT = 60000

-- bucketUnits(cfg, stats, now, flowing): the units available at now.
local function bucketUnits(cfg, stats, now, flowing)
  local units = num(stats, 'bk_units', 0)
  local last = num(stats, 'bk_ms', now)
  local burst = num(cfg, 'burst', 0)
  if burst <= 0 then
    burst = math.max(1, math.ceil(num(cfg, 'rate', 0) / 30))
  end
  -- Room for `burst` whole admissions plus the fraction towards the next,
  -- so that the cap never eats the part of a tick that carries over.
  local cap = (burst + 1) * BUCKET_UNIT - 1
  -- Accrue only since the flow began: the last tick, the event start, or
  -- the scheduled opening, whichever came last.
  local from = math.max(last, num(cfg, 'event_at', 0))
  if cfg.state == 'scheduled' then
    from = math.max(from, num(cfg, 'open_at', 0))
  end
  if flowing and now > from then
    units = units + (now - from) * num(cfg, 'rate', 0)
  end
  return math.min(units, cap)
end

-- saveBucket(statsKey, stats, units, now): stores the bucket; the clock
-- mark never moves back, so a tick with a late `now` cannot add twice.
local function saveBucket(statsKey, stats, units, now)
  local last = math.max(num(stats, 'bk_ms', now), now)
  redis.call('HSET', statsKey, 'bk_units', fmt(units), 'bk_ms', fmt(last))
  stats.bk_units, stats.bk_ms = units, last
end
