--- @include "hash"
-- Recent outflow: an exponentially decayed count of admissions (or calls)
-- with a 60 s time constant, kept in the stats hash as out_level (count
-- decayed to out_ms) and out_first (start of the current busy period).
local OUTFLOW_TAU_S = 60

-- outflowRate(stats, now): admissions per second lately, or nil when
-- nothing has flowed in this busy period.
local function outflowRate(stats, now)
  local first = tonumber(stats.out_first)
  if not first then
    return nil
  end
  local idle = math.max(now - num(stats, 'out_ms', now), 0) / 1000
  local level = num(stats, 'out_level', 0) * math.exp(-idle / OUTFLOW_TAU_S)
  local span = math.max((now - first) / 1000, 1)
  return level / (OUTFLOW_TAU_S * (1 - math.exp(-span / OUTFLOW_TAU_S)))
end

-- recordOutflow(statsKey, stats, n, now): adds n admissions at now. A level
-- that decayed to almost nothing starts a new busy period, so a quiet night
-- does not drag the next morning's rate down.
local function recordOutflow(statsKey, stats, n, now)
  local last = num(stats, 'out_ms', now)
  local idle = math.max(now - last, 0) / 1000
  local level = num(stats, 'out_level', 0) * math.exp(-idle / OUTFLOW_TAU_S)
  local first = tonumber(stats.out_first)
  if first == nil or level < 0.01 then
    first = now
  end
  level = level + n
  redis.call('HSET', statsKey, 'out_level', tostring(level),
    'out_ms', fmt(math.max(now, last)), 'out_first', fmt(first))
  stats.out_level, stats.out_ms, stats.out_first = level, now, first
end

-- recordDuration(statsKey, stats, ms): folds one release-to-finish duration
-- into the mean service time (svc_mean, ms; exponential average, 0.2).
local function recordDuration(statsKey, stats, ms)
  local mean = tonumber(stats.svc_mean)
  if mean == nil then
    mean = ms
  else
    mean = 0.8 * mean + 0.2 * ms
  end
  redis.call('HSET', statsKey, 'svc_mean', tostring(mean))
  stats.svc_mean = mean
end

-- The stats fields that estimates read.
local ESTIMATE_STATS = {'svc_mean', 'out_level', 'out_ms', 'out_first'}

-- loadStats(statsKey, names): the named stats fields as a table (absent
-- fields are nil); one HMGET instead of the whole hash.
local function loadStats(statsKey, names)
  local values = redis.call('HMGET', statsKey, unpack(names))
  local t = {}
  for i, name in ipairs(names) do
    t[name] = values[i] or nil
  end
  return t
end

-- loadEstimateStats(statsKey): the stats fields estimates read.
local function loadEstimateStats(statsKey)
  return loadStats(statsKey, ESTIMATE_STATS)
end
