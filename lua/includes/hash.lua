-- loadHash(key): the hash at key as a Lua table, or nil when the key is
-- missing. Values stay strings; read numbers through num().
local function loadHash(key)
  local flat = redis.call('HGETALL', key)
  if #flat == 0 then
    return nil
  end
  local t = {}
  for i = 1, #flat, 2 do
    t[flat[i]] = flat[i + 1]
  end
  return t
end

-- num(t, field, default): t[field] as a number, default when absent.
local function num(t, field, default)
  local v = tonumber(t[field])
  if v == nil then
    return default
  end
  return v
end

-- fmt(n): an integer as a decimal string; tostring() would print large
-- numbers in exponent form (Lua 5.1 formats with %.14g).
local function fmt(n)
  return string.format('%.0f', n)
end
