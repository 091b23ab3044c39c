--[[ queueSummary: what a list of queues shows of one queue: its state,
how many wait, and the estimate for a newcomer. Read only, and lighter
than queueStats: the engine pipelines one call per queue of a tenant.

KEYS[1] cfg    queue configuration hash
KEYS[2] stats  queue counters hash
KEYS[3] wait   waiting line
KEYS[4] ctr    counters sorted set
ARGV[1] now    ms

Returns {0, state, waiting, p50, p90} (seconds, -1 = unknown), or {code}:
E_QUEUE_NOT_FOUND.
]]
local cfgKey, statsKey, waitKey, ctrKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local now = tonumber(ARGV[1])

--- @include "codes"
--- @include "hash"
--- @include "phase"
--- @include "outflow"
--- @include "estimate"

local FIELDS = {'mode', 'state', 'open_at', 'close_at', 'rate', 'max_active',
  'session_s', 'service_s'}
local values = redis.call('HMGET', cfgKey, unpack(FIELDS))
if not values[1] then
  return {E_QUEUE_NOT_FOUND}
end
local cfg = {}
for i, name in ipairs(FIELDS) do
  cfg[name] = values[i] or nil
end

local waiting = redis.call('ZCARD', waitKey)
local stats = loadEstimateStats(statsKey)
local p50, p90 = estimate(cfg, stats, ctrKey, waiting + 1, now)
return {0, effectiveState(cfg, now), waiting, p50, p90}
