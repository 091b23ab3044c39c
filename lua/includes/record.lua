-- A session record is one string in the queue's record hash (field = session
-- id), its fields joined by '|' in this order:
--   state    w waiting, p pre-queue, a active (released or called),
--            s served, l left, e expired, n no-show, t transferred
--   prio     priority level, 0 = lowest
--   score    wait score the session had when it left the line (set only
--            while active, so that "return to queue" restores its place;
--            the arrival number while in the pre-queue)
--   ticket   human ticket number, e.g. A-042
--   joined   join time, ms
--   seen     last heartbeat, ms; empty means "same as joined"
--   p50 p90  estimate quoted at join, seconds (-1 = none)
--   counter  counter that called the session (service lines)
--   at       time of the last transition, ms; empty means "same as joined"
-- One string per session keeps a million waiting visitors within budget.
local RECORD_FIELDS = {
  'state', 'prio', 'score', 'ticket', 'joined', 'seen', 'p50', 'p90',
  'counter', 'at',
}

local function decodeRecord(s)
  if not s then
    return nil
  end
  local r, i = {}, 1
  for part in string.gmatch(s .. '|', '([^|]*)|') do
    r[RECORD_FIELDS[i]] = part
    i = i + 1
  end
  return r
end

local function encodeRecord(r)
  local parts = {}
  for i, name in ipairs(RECORD_FIELDS) do
    local v = r[name]
    if type(v) == 'number' then
      v = string.format('%.0f', v)
    end
    parts[i] = v or ''
  end
  return table.concat(parts, '|')
end

-- isLive(r): the session still holds a place (waiting, pre-queue, active).
local function isLive(r)
  return r.state == 'w' or r.state == 'p' or r.state == 'a'
end

-- A status poll records a sign of life only once the last one is this old
-- (each write is a record rewrite, and a line in the append-only file), so
-- lastSeen() may lag by up to this much; the heartbeat grace allows for it.
local SEEN_STEP_MS = 5000

-- lastSeen(r): the last time the visitor showed signs of life, ms.
local function lastSeen(r)
  local seen = tonumber(r.seen)
  if seen then
    return seen
  end
  return tonumber(r.joined) or 0
end

-- lastChange(r): the time of the session's last transition, ms.
local function lastChange(r)
  return tonumber(r.at) or tonumber(r.joined) or 0
end
