-- One step of a group (core/groups/, docs/groups.md), atomic: park ids, or free a slot, then release what fits.
-- KEYS: 1 overrides (hash group → JSON), 2 groups (set), 3 parked (zset id → ready ms), 4 held (zset id → since ms),
--       5 rate (string: the next start the rate allows, ms)
-- ARGV: 1 mode (park | free | fill), 2 group, 3 default concurrency, 4 default rate per second (0 = none),
--       park: then id, delay ms pairs; free: then the id
-- returns { freed (1/0), id, delay ms, id, delay ms, … } for every job released now (delay: its rate slot)
local mode, group = ARGV[1], ARGV[2]
local conc, rate = tonumber(ARGV[3]), tonumber(ARGV[4])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local freed = 0
if mode == 'park' then
  for i = 5, #ARGV, 2 do
    redis.call('ZADD', KEYS[3], now + tonumber(ARGV[i + 1]), ARGV[i])
  end
  redis.call('SADD', KEYS[2], group)
elseif mode == 'free' then
  freed = redis.call('ZREM', KEYS[4], ARGV[5])
  if freed == 0 then
    -- not holding a slot: a parked job that reached a final state without running (cancelled) leaves the list
    if redis.call('ZREM', KEYS[3], ARGV[5]) == 1 and redis.call('ZCARD', KEYS[3]) == 0 and redis.call('ZCARD', KEYS[4]) == 0 then
      redis.call('SREM', KEYS[2], group)
    end
    return { 0 }
  end
end
local out = { freed }
local paused = false
local raw = redis.call('HGET', KEYS[1], group)
if raw then
  local o = cjson.decode(raw)
  if type(o.concurrency) == 'number' then conc = o.concurrency end
  if type(o.ratePerSecond) == 'number' then rate = o.ratePerSecond end
  if o.paused == true then paused = true end
end
if not paused then
  local room = conc - redis.call('ZCARD', KEYS[4])
  if room > 0 then
    local due = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now, 'LIMIT', 0, room)
    local nxt = tonumber(redis.call('GET', KEYS[5]) or '0')
    for _, id in ipairs(due) do
      redis.call('ZREM', KEYS[3], id)
      redis.call('ZADD', KEYS[4], now, id)
      local delay = 0
      if rate > 0 then
        local at = math.max(now, nxt)
        delay = at - now
        nxt = at + 1000 / rate
      end
      out[#out + 1] = id
      out[#out + 1] = tostring(math.floor(delay))
    end
    if rate > 0 and #due > 0 then
      redis.call('SET', KEYS[5], tostring(nxt), 'PX', math.ceil(nxt - now) + 60000)
    end
  end
end
if redis.call('ZCARD', KEYS[3]) == 0 and redis.call('ZCARD', KEYS[4]) == 0 then
  redis.call('SREM', KEYS[2], group)
end
return out
