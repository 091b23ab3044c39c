--[[ getStatus: a session's state, position and estimate. With touch = '1'
the call also counts as a heartbeat (a visitor polling is present),
recorded when the last sign of life is SEEN_STEP_MS old (includes/record).

KEYS[1] cfg    queue configuration hash
KEYS[2] stats  queue counters hash
KEYS[3] wait   waiting line
KEYS[4] pre    pre-queue
KEYS[5] rec    session records hash
KEYS[6] ctr    counters sorted set
KEYS[7] ev     event stream (written only when the pre-queue draw is due)
KEYS[8] quota  the rate-limit counter this read counts against, in the
               queue's slot (see includes/quota.lua), or any key of the
               queue when ARGV[4] is ''
ARGV[1] now    ms
ARGV[2] sid    session id
ARGV[3] touch  '1' to record a heartbeat
ARGV[4] limit  the most reads the quota allows, or '' for no quota
ARGV[5] window the quota's window, seconds

Returns {0, sid, view...} (see includes/view.lua), or {code}:
E_QUEUE_NOT_FOUND, E_SESSION_NOT_FOUND, E_OVER_LIMIT (past the quota: not
read, not touched).
]]
local cfgKey, statsKey, waitKey, preKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local recKey, ctrKey, evKey = KEYS[5], KEYS[6], KEYS[7]
local now, sid, touch = tonumber(ARGV[1]), ARGV[2], ARGV[3] == '1'

--- @include "codes"
--- @include "quota"

if overQuota(KEYS[8], ARGV[4], ARGV[5]) then
  return {E_OVER_LIMIT}
end

--- @include "hash"
--- @include "record"
--- @include "shuffle"
--- @include "outflow"
--- @include "view"

local cfg = loadHash(cfgKey)
if cfg == nil then
  return {E_QUEUE_NOT_FOUND}
end
local k = {cfg = cfgKey, wait = waitKey, pre = preKey, rec = recKey,
  ev = evKey, ctr = ctrKey}
if shuffleDue(cfg, now) then
  shufflePrequeue(k, cfg, now)
end

local r = decodeRecord(redis.call('HGET', recKey, sid))
if r == nil then
  return {E_SESSION_NOT_FOUND}
end
if touch and isLive(r) and now - lastSeen(r) >= SEEN_STEP_MS then
  r.seen = now
  redis.call('HSET', recKey, sid, encodeRecord(r))
end
local stats = loadEstimateStats(statsKey)
return {0, sid, unpack(sessionView(k, cfg, stats, sid, r, now))}
