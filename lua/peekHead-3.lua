--[[ peekHead: who is at the front of a line, read only; the engine uses it
to pick among several queues when one counter serves them all.

KEYS[1] cfg    queue configuration hash
KEYS[2] wait   waiting line
KEYS[3] rec    session records hash

Returns {0, tenant, mode} when the line is empty, {0, tenant, mode, sid,
prio, joined ms} otherwise, or {code}: E_QUEUE_NOT_FOUND.
]]
local cfgKey, waitKey, recKey = KEYS[1], KEYS[2], KEYS[3]

--- @include "codes"
--- @include "record"

local head = redis.call('HMGET', cfgKey, 'tenant_id', 'mode')
if not head[2] then
  return {E_QUEUE_NOT_FOUND}
end
local tenant, mode = head[1] or '', head[2]
local first = redis.call('ZRANGE', waitKey, 0, 0)
if #first == 0 then
  return {0, tenant, mode}
end
local r = decodeRecord(redis.call('HGET', recKey, first[1]))
return {0, tenant, mode, first[1], tonumber(r.prio), r.joined}
