-- Job search on BullMQ (core/engines/bullmq/search.ts): walk one queue's search index newest first and
-- keep the jobs that match. The index is a sorted set, every score 0, of `<13-digit ms timestamp>:<job id>`,
-- so lexicographic order is creation order. An entry whose job is gone (or was re-created: another
-- timestamp) is removed on the way.
-- KEYS[1]  the index
-- ARGV[1]  '<prefix>:<queue>:' (job hashes)         ARGV[2]  upper lex bound ('+', '(<member>' or '(<ts>')
-- ARGV[3]  lower lex bound ('-' or '[<ts>')           ARGV[4]  entries to look at, at most
-- ARGV[5]  matches to return (0: count only)          ARGV[6]  JSON array of kinds, or ''
-- ARGV[7]  JSON array of states, or ''                 ARGV[8]  JSON [[path[], value, prefix 0|1, needle, number 0|1]]
-- ARGV[9]  '<prefix>:<queue>-dlq:' (dead letters)
-- returns { 'limit' | 'budget' | 'end', last entry looked at or '', matches counted, matching entries… }
local base, upper, lower = ARGV[1], ARGV[2], ARGV[3]
local budget, limit = tonumber(ARGV[4]), tonumber(ARGV[5])
local conds = cjson.decode(ARGV[8])
local dlqBase = ARGV[9]
local function set(json)
  if json == '' then return nil end
  local s = {}
  for _, v in ipairs(cjson.decode(json)) do s[v] = true end
  return s
end
local kinds, states = set(ARGV[6]), set(ARGV[7])

local function stateOf(id, failedReason)
  if redis.call('ZSCORE', base .. 'completed', id) then return 'completed' end
  if redis.call('ZSCORE', base .. 'failed', id) then
    local letter = id
    if string.match(id, '^%d+$') then letter = 'bullmq-' .. id end
    if redis.call('EXISTS', dlqBase .. letter) == 1 then return 'dead' end
    if failedReason and string.sub(failedReason, 1, 11) == '[cancelled]' then return 'cancelled' end
    return 'failed'
  end
  if redis.call('ZSCORE', base .. 'delayed', id) then return 'delayed' end
  if redis.call('EXISTS', base .. id .. ':lock') == 1 then return 'active' end
  return 'waiting'
end

local function scalar(v, c)
  local t, val = type(v), c[2]
  if t == 'string' then
    if c[3] == 1 then return string.sub(v, 1, #val) == val end
    return v == val
  end
  if c[3] == 1 then return false end
  if t == 'number' then return c[5] == 1 and tonumber(val) == v end
  if t == 'boolean' then return tostring(v) == val end
  return v == cjson.null and val == 'null'
end

-- arrays match when any element does, at every step of the path (as Postgres' lax jsonpath)
local function match(node, c, i)
  if type(node) == 'table' and #node > 0 then
    for _, e in ipairs(node) do
      if match(e, c, i) then return true end
    end
    return false
  end
  if i > #c[1] then return scalar(node, c) end
  if type(node) ~= 'table' then return false end
  local nxt = node[c[1][i]]
  if nxt == nil then return false end
  return match(nxt, c, i + 1)
end

local function matches(id, h)
  if kinds and not kinds[h[1]] then return false end
  local data = h[3] or ''
  for _, c in ipairs(conds) do
    if not string.find(data, c[4], 1, true) then return false end
  end
  if #conds > 0 then
    local ok, doc = pcall(cjson.decode, data)
    if not ok then return false end
    for _, c in ipairs(conds) do
      if not match(doc, c, 1) then return false end
    end
  end
  return not states or states[stateOf(id, h[4])] == true
end

local found, count, seen, last = {}, 0, 0, ''
while true do
  local want = math.min(500, budget - seen)
  if want <= 0 then return { 'budget', last, count, unpack(found) } end
  local entries = redis.call('ZREVRANGEBYLEX', KEYS[1], upper, lower, 'LIMIT', 0, want)
  for _, m in ipairs(entries) do
    seen = seen + 1
    last = m
    local sep = string.find(m, ':', 1, true)
    local id = string.sub(m, sep + 1)
    local h = redis.call('HMGET', base .. id, 'name', 'timestamp', 'data', 'failedReason')
    if not h[1] or tonumber(h[2]) ~= tonumber(string.sub(m, 1, sep - 1)) then
      redis.call('ZREM', KEYS[1], m)
    elseif matches(id, h) then
      count = count + 1
      if limit > 0 then
        found[#found + 1] = m
        if #found >= limit then return { 'limit', last, count, unpack(found) } end
      end
    end
  end
  if #entries < want then return { 'end', last, count, unpack(found) } end
  upper = '(' .. last
end
