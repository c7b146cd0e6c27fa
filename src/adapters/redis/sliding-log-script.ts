import type { LimitDecision, LimitResult } from '../../core/ratelimit/index.js';
import type { RateLimitSpec } from '../../core/store/index.js';

/**
 * The sliding-log decision as one Lua script (kept in TypeScript so the build ships it).
 * See RedisRateLimiter for the guarantee it gives, docs/ratelimits.md for the layout.
 *
 * One call decides, in order, every request of one identifier that reached this node in the
 * same event-loop turn: each is checked against what the log held plus what the requests before
 * it in the call were admitted, all at one instant of Redis's clock, so the answers are those
 * of as many calls one after another.
 */
export const SLIDING_LOG_SCRIPT = `
-- KEYS[i]: the log of limit i, a list, newest entry first. An entry is
--   struct.pack('<ddd', at, run, cost): Redis time in ms, the running total of admitted cost
--   after it, and its cost. The cost inside the window is newest.run - oldest.run + oldest.cost,
--   so both ends are O(1) reads: no scan, no counter key.
-- ARGV: m, cost_1 .. cost_m, then for each limit i: limit_i, windowMs_i.
-- Returns { now, ok_1 .. ok_m, total_1, oldest_1, .., total_n, oldest_n }: total_i is the
--   cost inside limit i's window before the first request (oldest_i its oldest entry's time,
--   0 when empty); the caller adds up what was admitted after it.
local m = tonumber(ARGV[1])
local n = #KEYS
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local out = { now }
local totals, runs, newest, limits = {}, {}, {}, {}
for i = 1, n do
  local key = KEYS[i]
  local cutoff = now - tonumber(ARGV[m + 2 * i + 1])
  local total, run, oldest = 0, 0, 0
  local entry = redis.call('LINDEX', key, -1)
  while entry do
    local at, atRun, atCost = struct.unpack('<ddd', entry)
    if at > cutoff then
      local last, lastRun = struct.unpack('<dd', redis.call('LINDEX', key, 0))
      total, run, oldest, newest[i] = lastRun - atRun + atCost, lastRun, at, last
      break
    end
    -- Entries leave in the order they came, so the expired ones are all at this end.
    redis.call('RPOP', key)
    entry = redis.call('LINDEX', key, -1)
  end
  totals[i], runs[i], limits[i] = total, run, tonumber(ARGV[m + 2 * i])
  out[m + 2 * i] = total
  out[m + 2 * i + 1] = oldest
end
local admitted = 0
for j = 1, m do
  local cost = tonumber(ARGV[1 + j])
  local ok = 1
  for i = 1, n do
    local room = limits[i] - totals[i]
    if cost > room or (cost <= 0 and room <= 0) then
      ok = 0
      break
    end
  end
  if ok == 1 and cost > 0 then
    for i = 1, n do totals[i] = totals[i] + cost end
    admitted = admitted + cost
  end
  out[1 + j] = ok
end
if admitted > 0 then
  -- The requests admitted by this call share one instant, hence one entry: they leave together.
  for i = 1, n do
    local key = KEYS[i]
    redis.call('LPUSH', key, struct.pack('<ddd', now, runs[i] + admitted, admitted))
    -- The log must outlive its newest entry's window. PEXPIREAT to the next whole second after
    -- it, and only when that second moved on since the previous newest entry (which set it):
    -- one expiry write a second per log instead of one per decision.
    local reach = math.floor((now + tonumber(ARGV[m + 2 * i + 1])) / 1000)
    local last = newest[i]
    if last == nil or math.floor((last + tonumber(ARGV[m + 2 * i + 1])) / 1000) < reach then
      redis.call('PEXPIREAT', key, (reach + 1) * 1000)
    end
  end
end
return out
`;

/**
 * Reads the script's answer into one decision per request, in the order of `costs`: the totals
 * it returns are from before the first request, and each admitted request adds its cost.
 */
export function decisionsFromReply(
  limits: readonly RateLimitSpec[],
  costs: readonly number[],
  reply: readonly number[],
): LimitDecision[] {
  const m = costs.length;
  const now = reply[0] ?? 0;
  const totals = limits.map((_, i) => reply[m + 1 + 2 * i] ?? 0);
  let admitted = false;
  const decisions: LimitDecision[] = [];
  for (let j = 0; j < m; j++) {
    const success = reply[1 + j] === 1;
    const cost = costs[j] ?? 0;
    if (success && cost > 0) {
      admitted = true;
      for (let i = 0; i < totals.length; i++) totals[i] = (totals[i] ?? 0) + cost;
    }
    const results: LimitResult[] = [];
    for (let i = 0; i < limits.length; i++) {
      const l = limits[i] as RateLimitSpec;
      const oldest = reply[m + 2 + 2 * i] ?? 0;
      // An empty log frees up now; one whose first entry is this call's, a window from now.
      const from = oldest > 0 ? oldest : admitted ? now : now - l.windowMs;
      results.push({
        name: l.name,
        limit: l.limit,
        remaining: Math.max(0, l.limit - (totals[i] ?? 0)),
        resetAt: from + l.windowMs,
      });
    }
    decisions.push({ success, results });
  }
  return decisions;
}
