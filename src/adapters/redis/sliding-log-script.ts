/**
 * The sliding-log decision as one Lua script (kept in TypeScript so the build ships it).
 * See RedisRateLimiter for the guarantee it gives.
 */
export const SLIDING_LOG_SCRIPT = `
-- Keyward sliding-log rate limit: decides every limit of one call together, atomically.
-- KEYS: for each limit i, KEYS[2i-1] = sorted set of admitted entries (score = ms time,
--       member = "<time>:<seq>:<cost>"), KEYS[2i] = running total of their costs.
-- ARGV: cost, n, then for each limit: limit, windowMs.
-- Time is Redis's own clock, so every node decides against the same time.
-- Returns: { success (0/1), now, remaining_1, oldest_1, remaining_2, oldest_2, ... }
local cost = tonumber(ARGV[1])
local n = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local totals = {}
local success = 1
for i = 1, n do
  local log, tot = KEYS[2 * i - 1], KEYS[2 * i]
  local limit, window = tonumber(ARGV[1 + 2 * i]), tonumber(ARGV[2 + 2 * i])
  local cutoff = now - window
  local total = tonumber(redis.call('GET', tot) or '0')
  -- The log expired as a whole (idle longer than the window): nothing is inside it.
  if redis.call('EXISTS', log) == 0 then total = 0 end
  local expired = redis.call('ZRANGEBYSCORE', log, '-inf', cutoff)
  if #expired > 0 then
    for _, member in ipairs(expired) do
      total = total - tonumber(string.match(member, ':(%d+)$'))
    end
    redis.call('ZREMRANGEBYSCORE', log, '-inf', cutoff)
    if total < 0 then total = 0 end
    redis.call('SET', tot, total, 'KEEPTTL')
  end
  totals[i] = total
  if cost > 0 then
    if total + cost > limit then success = 0 end
  elseif total >= limit then
    success = 0
  end
end
local seq
if success == 1 and cost > 0 then
  for i = 1, n do
    local log, tot = KEYS[2 * i - 1], KEYS[2 * i]
    local window = tonumber(ARGV[2 + 2 * i])
    seq = redis.call('INCR', tot .. ':seq')
    redis.call('PEXPIRE', tot .. ':seq', window)
    redis.call('ZADD', log, now, now .. ':' .. seq .. ':' .. cost)
    redis.call('PEXPIRE', log, window)
    totals[i] = totals[i] + cost
    redis.call('SET', tot, totals[i], 'PX', window)
  end
end
local out = { success, now }
for i = 1, n do
  local limit = tonumber(ARGV[1 + 2 * i])
  local window = tonumber(ARGV[2 + 2 * i])
  local first = redis.call('ZRANGE', KEYS[2 * i - 1], 0, 0, 'WITHSCORES')
  local oldest = now - window
  if #first == 2 then oldest = tonumber(first[2]) end
  local remaining = limit - totals[i]
  if remaining < 0 then remaining = 0 end
  out[#out + 1] = remaining
  out[#out + 1] = oldest
end
return out
`;
