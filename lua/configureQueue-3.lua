--[[ configureQueue: creates a queue or changes its configuration live
(rate, capacity, state: pause, resume, close...). The release bucket is
settled at the old settings first, so a rate change applies from now on.
Arming an event start draws a new pre-queue seed, unless a draw is still
pending (its entrants were scored with the current seed).

KEYS[1] cfg    queue configuration hash
KEYS[2] stats  queue counters hash
KEYS[3] ev     event stream
ARGV[1] now    ms
ARGV[2] create '1' to create or replace, '0' to change an existing queue
ARGV[3] seed   a fresh secret seed (hex), used when a draw is armed
ARGV[4] hash   SHA-256 of that seed (hex), published at once
ARGV[5..] field, value pairs of the configuration (core/model.py)

Returns {0, created (1 or 0)}, or {code}: E_QUEUE_NOT_FOUND (change of a
missing queue), E_MODE_IMMUTABLE (the mode of a queue never changes).
]]
local cfgKey, statsKey, evKey = KEYS[1], KEYS[2], KEYS[3]
local now, create = tonumber(ARGV[1]), ARGV[2] == '1'
local seed, seedHash = ARGV[3], ARGV[4]

--- @include "codes"
--- @include "hash"
--- @include "emit"
--- @include "phase"
--- @include "bucket"

local cfg = loadHash(cfgKey)
if cfg == nil and not create then
  return {E_QUEUE_NOT_FOUND}
end
local changes, changed = {}, {}
for i = 5, #ARGV, 2 do
  changes[ARGV[i]] = ARGV[i + 1]
end
if cfg and changes.mode and changes.mode ~= cfg.mode then
  return {E_MODE_IMMUTABLE}
end

-- Settle the bucket under the old settings before they change.
if cfg and cfg.mode == 'waiting_room' then
  local stats = loadHash(statsKey) or {}
  local flowing = releasing(cfg, now)
  saveBucket(statsKey, stats, bucketUnits(cfg, stats, now, flowing), now)
end

local merged = cfg or {}
for field, value in pairs(changes) do
  if merged[field] ~= value then
    changed[field] = value
  end
  merged[field] = value
end
local eventAt = tonumber(merged.event_at) or 0
if eventAt > 0 and (merged.seed == nil or merged.shuffled == '1')
    and changed.event_at then
  changes.seed, changes.seed_hash, changes.shuffled = seed, seedHash, '0'
  changed.seed_hash = seedHash
end

local args = {'HSET', cfgKey}
for field, value in pairs(changes) do
  args[#args + 1] = field
  args[#args + 1] = value
end
redis.call(unpack(args))
local kind = cfg and 'configured' or 'created'
emit(evKey, now, kind, '', {'changes', cjson.encode(changed)})
notify(evKey, {t = kind, st = effectiveState(merged, now)})
return {0, cfg and 0 or 1}
