-- Sweep of the job-search index (core/engines/bullmq/search.ts): BullMQ deletes retained jobs in its own
-- scripts and does not know the index, so each enqueue moves a cursor over a few entries (oldest first,
-- wrapping at the end) and removes those whose job is gone or was re-created (another timestamp). Two
-- entries looked at per job added keep the index at most about twice the queue's retained jobs.
-- KEYS[1]  the index             KEYS[2]  the sweep's cursor (the last entry looked at)
-- ARGV[1]  '<prefix>:<queue>:' (job hashes)       ARGV[2]  entries to look at
-- returns the number of entries removed
local cursor = redis.call('GET', KEYS[2])
local lower = '-'
if cursor then lower = '(' .. cursor end
local want = tonumber(ARGV[2])
local entries = redis.call('ZRANGEBYLEX', KEYS[1], lower, '+', 'LIMIT', 0, want)
local removed = 0
for _, m in ipairs(entries) do
  local sep = string.find(m, ':', 1, true)
  if sep then
    local ts = redis.call('HGET', ARGV[1] .. string.sub(m, sep + 1), 'timestamp')
    if not ts or tonumber(ts) ~= tonumber(string.sub(m, 1, sep - 1)) then
      redis.call('ZREM', KEYS[1], m)
      removed = removed + 1
    end
  end
end
if #entries < want then
  redis.call('DEL', KEYS[2])
else
  redis.call('SET', KEYS[2], entries[#entries], 'EX', 86400)
end
return removed
