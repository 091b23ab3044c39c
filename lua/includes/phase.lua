-- effectiveState(cfg, now): the queue state in force at now, applying the
-- scheduled open and close times: open, paused, closed or scheduled (not
-- open yet). Scripts read the clock only through ARGV, so a schedule takes
-- effect exactly at its time even if no ticker ran.
local function effectiveState(cfg, now)
  local state = cfg.state
  local openAt = tonumber(cfg.open_at) or 0
  local closeAt = tonumber(cfg.close_at) or 0
  if state == 'closed' then
    return 'closed'
  end
  if closeAt > 0 and now >= closeAt then
    return 'closed'
  end
  if state == 'scheduled' then
    if openAt > 0 and now >= openAt then
      return 'open'
    end
    return 'scheduled'
  end
  return state
end

-- inPrequeue(cfg, now): joins go to the pre-queue (before the event start,
-- after the pre-queue opened).
local function inPrequeue(cfg, now)
  local eventAt = tonumber(cfg.event_at) or 0
  local preAt = tonumber(cfg.prequeue_at) or 0
  return eventAt > 0 and now < eventAt and preAt > 0 and now >= preAt
end

-- beforePrequeue(cfg, now): an event start is set and even its pre-queue
-- has not opened yet.
local function beforePrequeue(cfg, now)
  local eventAt = tonumber(cfg.event_at) or 0
  local preAt = tonumber(cfg.prequeue_at) or 0
  return eventAt > 0 and now < eventAt and (preAt == 0 or now < preAt)
end

-- localDay(cfg, now): the queue's local date as a day number, for ticket
-- numbers that restart every day. utc_offsets lists 'fromMs:offsetS' pairs
-- in ascending order (core/localtime.py writes them for a year ahead).
local function localDay(cfg, now)
  local offset = 0
  for from, off in string.gmatch(cfg.utc_offsets or '', '(%-?%d+):(%-?%d+)') do
    if tonumber(from) > now then
      break
    end
    offset = tonumber(off)
  end
  return math.floor((now + offset * 1000) / 86400000)
end

-- releasing(cfg, now): a waiting room lets visitors through (and fills its
-- release bucket) only while open and, when an event start is set, from
-- that start on.
local function releasing(cfg, now)
  local eventAt = tonumber(cfg.event_at) or 0
  return effectiveState(cfg, now) == 'open' and (eventAt == 0 or now >= eventAt)
end
