import type { LimitDecision, LimitResult } from '../../core/ratelimit/index.js';
import type { RateLimitSpec } from '../../core/store/index.js';

/**
 * The sliding-log decision as one Lua script (kept in TypeScript so the build ships it).
 * See RedisRateLimiter for the guarantee it gives, docs/ratelimits.md for the layout.
 *
 * One call decides, in order, every request of one identifier that reached this node in the
 * same event-loop turn: each is checked against what the log held plus the cost admitted to the
 * requests before it in the call, all at one instant of Redis's clock, so the answers are those
 * of as many calls one after another.
 *
 * Every Redis command a script makes costs about as much as the rest of the script: hence the
 * cursor kept in the newest entry (in the steady state a decision reads the newest entry, walks
 * one step, pushes one entry) and the expiry written once a second. Redis runs Lua 5.1 without
 * a JIT, so the globals used are copied into locals.
 */
export const SLIDING_LOG_SCRIPT = `
-- KEYS[i]: the log of limit i, a list, newest entry first. An entry is
--   struct.pack('<dddddd', at, base, run, oldestAt, oldestBase, skip): its Redis time in ms,
--   the running total of admitted cost before and after it, then a cursor, read only from the
--   newest entry: the oldest entry still inside the window when it was written (its at and
--   base), at index -(skip + 1) from the old end, the skip entries behind it having left the
--   window but not yet been removed. Pushes at the new end leave those indexes as they are.
--   The cost inside the window is newest.run - oldest.base: no scan, no counter key.
-- ARGV: m, cost_1 .. cost_m, then for each limit i: limit_i, windowMs_i.
-- Returns { now, ok_1 .. ok_m, total_1, oldest_1, .., total_n, oldest_n }: total_i is the
--   cost inside limit i's window before the first request (oldest_i its oldest entry's time,
--   0 when empty); the caller adds up what was admitted after it.
local call, unpack, pack, floor, num = redis.call, struct.unpack, struct.pack, math.floor, tonumber
local m = num(ARGV[1])
local n = #KEYS
local t = call('TIME')
local now = t[1] * 1000 + floor(t[2] / 1000)
-- For limit i, s[i] = { newest's at (0: empty log), its base, its run, then the cursor: the
-- oldest's at and base, skip; whether the cursor moved from the stored one; windowMs }.
local s = {}
local least = nil
for i = 1, n do
  local key = KEYS[i]
  local window = num(ARGV[m + 2 * i + 1])
  local cutoff = now - window
  local at, base, run, oAt, oBase, skip, moved = 0, 0, 0, 0, 0, 0, false
  local head = call('LINDEX', key, 0)
  if head then
    at, base, run, oAt, oBase, skip = unpack('<dddddd', head)
    if at > cutoff then
      -- Stops at the newest entry at the latest: it is inside the window.
      while oAt <= cutoff do
        skip = skip + 1
        local entry = call('LINDEX', key, -1 - skip)
        if not entry then error('rate-limit log ' .. key .. ' lost its cursor') end
        oAt, oBase = unpack('<dd', entry)
        moved = true
      end
    else
      -- The newest entry has left the window, and every older one before it.
      call('DEL', key)
      at, base, run, oAt, oBase, skip = 0, 0, 0, 0, 0, 0
    end
  end
  local room = num(ARGV[m + 2 * i]) - (run - oBase)
  if least == nil or room < least then least = room end
  s[i] = { at, base, run, oAt, oBase, skip, moved, window }
end
-- A request fits when it fits the limit with the least room left.
local out = { now }
local admitted = 0
for j = 1, m do
  local cost = num(ARGV[1 + j])
  local room = least - admitted
  if cost > room or (cost <= 0 and room <= 0) then
    out[1 + j] = 0
  else
    out[1 + j] = 1
    if cost > 0 then admitted = admitted + cost end
  end
end
for i = 1, n do
  local key, e = KEYS[i], s[i]
  local at, run, oAt, oBase, skip, moved = e[1], e[3], e[4], e[5], e[6], e[7]
  out[m + 2 * i], out[m + 2 * i + 1] = run - oBase, oAt
  if skip >= 16 and (admitted > 0 or moved) then
    -- Remove the entries that have left the window, 16 or more at a time.
    call('LTRIM', key, 0, -1 - skip)
    skip = 0
  end
  if admitted > 0 then
    -- The requests admitted by this call share one instant, hence one entry: they leave together.
    if at == 0 then oAt, oBase = now, 0 end
    call('LPUSH', key, pack('<dddddd', now, run, run + admitted, oAt, oBase, skip))
    -- The log must outlive its newest entry's window. PEXPIREAT to the next whole second after
    -- it, and only when that second moved on since the previous newest entry (which set it):
    -- one expiry write a second per log instead of one per decision.
    local reach = floor((now + e[8]) / 1000)
    if at == 0 or floor((at + e[8]) / 1000) < reach then call('PEXPIREAT', key, (reach + 1) * 1000) end
  elseif moved then
    -- Nothing pushed: store the cursor in the newest entry, so no call walks the same way again.
    call('LSET', key, 0, pack('<dddddd', at, e[2], run, oAt, oBase, skip))
  end
end
return out
`;

/**
 * Reads the script's answer into one decision per request, in the order of `costs`: the totals
 * it returns are from before the first request, and each admitted request adds its cost to
 * every limit.
 */
export function decisionsFromReply(
  limits: readonly RateLimitSpec[],
  costs: readonly number[],
  reply: readonly number[],
): LimitDecision[] {
  const m = costs.length;
  const now = reply[0] ?? 0;
  let spent = 0;
  const decisions: LimitDecision[] = [];
  for (let j = 0; j < m; j++) {
    const success = reply[1 + j] === 1;
    const cost = costs[j] ?? 0;
    if (success && cost > 0) spent += cost;
    const results: LimitResult[] = [];
    for (let i = 0; i < limits.length; i++) {
      const l = limits[i] as RateLimitSpec;
      const oldest = reply[m + 2 + 2 * i] ?? 0;
      // An empty log frees up now; one whose first entry is this call's, a window from now.
      const from = oldest > 0 ? oldest : spent > 0 ? now : now - l.windowMs;
      results.push({
        name: l.name,
        limit: l.limit,
        remaining: Math.max(0, l.limit - (reply[m + 1 + 2 * i] ?? 0) - spent),
        resetAt: from + l.windowMs,
      });
    }
    decisions.push({ success, results });
  }
  return decisions;
}
