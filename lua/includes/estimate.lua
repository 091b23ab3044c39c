--- @include "outflow"
--- @include "hash"
-- estimate(cfg, stats, ctrKey, position, now) -> p50, p90 in whole seconds,
-- or -1, -1 when the queue lets nobody through.
-- Waiting rooms: position over the effective outflow, that is the configured
-- rate capped by what the active limit lets through (max_active over the
-- mean active time), pulled down by the measured outflow when it is lower.
-- Service lines: position times the mean service time over the counters
-- seen in the last 15 minutes (at least one).
-- The p90 adds 1.28 standard deviations of a sum of `position` independent
-- services (sqrt(position) of them), on the slower of the two rates.
local Z90 = 1.2816
local COUNTER_WINDOW_MS = 900000

local function meanServiceS(cfg, stats)
  local default = num(cfg, 'service_s', 300)
  if cfg.mode == 'waiting_room' then
    default = num(cfg, 'session_s', 300)
  end
  -- A floor of one second keeps a run of instant services from
  -- promising no wait at all.
  return math.max(num(stats, 'svc_mean', default * 1000) / 1000, 1)
end

local function waitingRoomRates(cfg, stats, now)
  local model = num(cfg, 'rate', 0) / 60
  local maxActive = num(cfg, 'max_active', 0)
  local meanS = meanServiceS(cfg, stats)
  if maxActive > 0 and meanS > 0 then
    model = math.min(model, maxActive / meanS)
  end
  local measured = outflowRate(stats, now)
  if measured == nil or model <= 0 then
    return model, model
  end
  local low = math.max(math.min(measured, model), model / 10)
  return (model + low) / 2, low
end

local function serviceRates(cfg, stats, ctrKey, now)
  local open = redis.call('ZCOUNT', ctrKey, now - COUNTER_WINDOW_MS, '+inf')
  local rate = math.max(open, 1) / meanServiceS(cfg, stats)
  return rate, rate
end

local function estimate(cfg, stats, ctrKey, position, now)
  local r50, r90
  if cfg.mode == 'waiting_room' then
    r50, r90 = waitingRoomRates(cfg, stats, now)
  else
    r50, r90 = serviceRates(cfg, stats, ctrKey, now)
  end
  if r50 <= 0 or r90 <= 0 then
    return -1, -1
  end
  local p50 = position / r50
  local p90 = (position + Z90 * math.sqrt(position)) / r90
  return math.floor(p50 + 0.5), math.floor(p90 + 0.5)
end
