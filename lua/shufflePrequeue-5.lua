--[[ shufflePrequeue: runs the pre-queue draw once the event has started
(see includes/shuffle.lua) and reveals the seed. The ticker calls it at the
event start; joins, status reads, releases and calls also run it when due.

KEYS[1] cfg    queue configuration hash
KEYS[2] wait   waiting line
KEYS[3] pre    pre-queue
KEYS[4] rec    session records hash
KEYS[5] ev     event stream
ARGV[1] now    ms

Returns {0, count, seed}, or {code}: E_QUEUE_NOT_FOUND, E_SHUFFLE_NOT_DUE
(no event start set, not reached yet, or already drawn).
]]
local cfgKey, waitKey, preKey, recKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local evKey = KEYS[5]
local now = tonumber(ARGV[1])

--- @include "codes"
--- @include "hash"
--- @include "shuffle"

local cfg = loadHash(cfgKey)
if cfg == nil then
  return {E_QUEUE_NOT_FOUND}
elseif not shuffleDue(cfg, now) then
  return {E_SHUFFLE_NOT_DUE}
end
local k = {cfg = cfgKey, wait = waitKey, pre = preKey, rec = recKey,
  ev = evKey}
local count = shufflePrequeue(k, cfg, now)
return {0, count, cfg.seed}
