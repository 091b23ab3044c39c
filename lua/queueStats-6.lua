--[[ queueStats: the live counters of a queue, read only.

KEYS[1] cfg    queue configuration hash
KEYS[2] stats  queue counters hash
KEYS[3] wait   waiting line
KEYS[4] pre    pre-queue
KEYS[5] active active sessions
KEYS[6] ctr    counters sorted set
ARGV[1] now    ms

Returns {0, state, waiting, prequeue, active, open counters, outflow per
minute (string, '' when none yet), mean service ms (string, '' when none
yet), p50, p90 (estimate for a newcomer, seconds), field, value, ...} where
the trailing pairs are the totals per outcome; or {code}:
E_QUEUE_NOT_FOUND.
]]
local cfgKey, statsKey, waitKey, preKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local activeKey, ctrKey = KEYS[5], KEYS[6]
local now = tonumber(ARGV[1])

--- @include "codes"
--- @include "hash"
--- @include "phase"
--- @include "estimate"

local TOTALS = {'joined', 'released', 'served', 'left', 'expired', 'no_show',
  'transferred', 'requeued', 'recalled'}

local cfg = loadHash(cfgKey)
if cfg == nil then
  return {E_QUEUE_NOT_FOUND}
end
local stats = loadHash(statsKey) or {}
local waiting = redis.call('ZCARD', waitKey)
local outflow = outflowRate(stats, now)
local p50, p90 = estimate(cfg, stats, ctrKey, waiting + 1, now)

local reply = {
  0, effectiveState(cfg, now), waiting, redis.call('ZCARD', preKey),
  redis.call('ZCARD', activeKey),
  redis.call('ZCOUNT', ctrKey, now - COUNTER_WINDOW_MS, '+inf'),
  outflow and tostring(outflow * 60) or '', stats.svc_mean or '', p50, p90,
}
stats.joined = stats.seq -- every join takes the next arrival number
for _, name in ipairs(TOTALS) do
  reply[#reply + 1] = name
  reply[#reply + 1] = num(stats, name, 0)
end
return reply
