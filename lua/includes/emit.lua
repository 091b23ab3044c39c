-- emit(evKey, now, kind, sid, extra): appends one event to the queue's stream
-- and publishes a compact JSON notice for live subscribers on a channel named
-- like the stream key. extra is a flat list of field, value pairs.
-- Stream fields: type, sid, at, then the extras. The stream is never trimmed
-- here: trimming follows the consumer groups' acknowledgements.
local function emit(evKey, now, kind, sid, extra)
  local args = {'XADD', evKey, '*', 'type', kind, 'sid', sid or '', 'at', now}
  for i = 1, #extra do
    args[#args + 1] = extra[i]
  end
  return redis.call(unpack(args))
end

-- notify(evKey, notice): publishes one notice table as JSON.
local function notify(evKey, notice)
  redis.call('PUBLISH', evKey, cjson.encode(notice))
end
