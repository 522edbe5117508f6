/**
 * Lua scripts behind the queue state (queues.ts). Each one is a single
 * atomic step in Redis, so the API and any number of signaling nodes can
 * enqueue, leave and dequeue concurrently without a lock: MaxSize cannot be
 * overshot, two dequeuers never take the same call, and the name index and
 * the wait statistics never disagree with the members.
 *
 * Conventions: every key a script touches is passed in KEYS (cluster-safe);
 * numbers that must survive the trip back (scores) are returned as strings,
 * since Redis truncates Lua numbers to integers in replies.
 *
 * Wait statistics (`queueWaitStats`): `epoch` is the floor of the first
 * member's enqueue ms since the queue was last empty, `sum` is Σ (floor(score)
 * − epoch) over the current members, so the average enqueue time is
 * `epoch + sum / size` in O(1) and every number stays far below 2^53. The hash
 * is dropped whenever the queue empties and rebuilt from the members if it is
 * ever missing while members exist (data written before it existed).
 */

const STATS_HELPERS = `
local function rebuild(members, stats)
  redis.call('DEL', stats)
  local all = redis.call('ZRANGE', members, 0, -1, 'WITHSCORES')
  if #all == 0 then return end
  local epoch = math.floor(tonumber(all[2]))
  local sum = 0
  for i = 2, #all, 2 do sum = sum + math.floor(tonumber(all[i])) - epoch end
  redis.call('HSET', stats, 'epoch', epoch, 'sum', sum)
end
local function ensure_stats(members, stats)
  if redis.call('HEXISTS', stats, 'epoch') == 0 then rebuild(members, stats) end
end
local function settle(members, stats, score)
  if redis.call('ZCARD', members) == 0 then
    redis.call('DEL', stats)
    return
  end
  local epoch = redis.call('HGET', stats, 'epoch')
  if epoch then redis.call('HINCRBY', stats, 'sum', tonumber(epoch) - math.floor(tonumber(score))) end
end
`;

/**
 * KEYS: names hash, account index, new record key. ARGV: name, sid, record JSON, created ms.
 * → {sid, 1} when created, {existing sid, 0} when the name is taken.
 */
export const CREATE_QUEUE = `
local existing = redis.call('HGET', KEYS[1], ARGV[1])
if existing then return {existing, 0} end
redis.call('SET', KEYS[3], ARGV[3])
redis.call('ZADD', KEYS[2], ARGV[4], ARGV[2])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return {ARGV[2], 1}
`;

/** KEYS: names hash. ARGV: name, sid. Drops a name that still points at a queue whose record is gone. */
export const FORGET_QUEUE_NAME = `
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then return redis.call('HDEL', KEYS[1], ARGV[1]) end
return 0
`;

/**
 * KEYS: names hash, record. ARGV: sid, rename ('1'|'0'), new name, new maxSize ('' = keep), dateUpdated.
 * → {'ok', json} | {'gone'} | {'name-taken'}. The old name is read from the
 * stored record, so a concurrent rename cannot leave a stale index entry.
 */
export const UPDATE_QUEUE = `
local raw = redis.call('GET', KEYS[2])
if not raw then return {'gone'} end
local rec = cjson.decode(raw)
if ARGV[2] == '1' and ARGV[3] ~= rec.friendlyName then
  local holder = redis.call('HGET', KEYS[1], ARGV[3])
  if holder and holder ~= ARGV[1] then return {'name-taken'} end
  if type(rec.friendlyName) == 'string' and redis.call('HGET', KEYS[1], rec.friendlyName) == ARGV[1] then
    redis.call('HDEL', KEYS[1], rec.friendlyName)
  end
  redis.call('HSET', KEYS[1], ARGV[3], ARGV[1])
  rec.friendlyName = ARGV[3]
end
if ARGV[4] ~= '' then rec.maxSize = tonumber(ARGV[4]) end
rec.dateUpdated = ARGV[5]
local out = cjson.encode(rec)
redis.call('SET', KEYS[2], out)
return {'ok', out}
`;

/**
 * KEYS: names hash, account index, record, members, stats. ARGV: sid.
 * → 'removed' | 'gone' | 'not-empty' (a queue with members is never deleted).
 */
export const DELETE_QUEUE = `
local raw = redis.call('GET', KEYS[3])
if not raw then return 'gone' end
if redis.call('ZCARD', KEYS[4]) > 0 then return 'not-empty' end
local ok, rec = pcall(cjson.decode, raw)
if ok and type(rec) == 'table' and type(rec.friendlyName) == 'string' and redis.call('HGET', KEYS[1], rec.friendlyName) == ARGV[1] then
  redis.call('HDEL', KEYS[1], rec.friendlyName)
end
redis.call('DEL', KEYS[3], KEYS[4], KEYS[5])
redis.call('ZREM', KEYS[2], ARGV[1])
return 'removed'
`;

/**
 * KEYS: record, members, stats. ARGV: callSid, now ms, default max size.
 * → {'ok', position, size, score} | {'full', 0, size, maxSize} | {'gone', 0, 0, '0'}.
 * A call already waiting keeps its place (idempotent). Scores strictly
 * increase (at least 1 µs after the tail), so equal clocks still give FIFO.
 */
export const ENQUEUE = `${STATS_HELPERS}
local rec = redis.call('GET', KEYS[1])
if not rec then return {'gone', 0, 0, '0'} end
local size = redis.call('ZCARD', KEYS[2])
local rank = redis.call('ZRANK', KEYS[2], ARGV[1])
if rank then return {'ok', rank + 1, size, redis.call('ZSCORE', KEYS[2], ARGV[1])} end
local ok, decoded = pcall(cjson.decode, rec)
local max_size = (ok and type(decoded) == 'table' and tonumber(decoded.maxSize)) or tonumber(ARGV[3])
if size >= max_size then return {'full', 0, size, tostring(max_size)} end
if size == 0 then redis.call('DEL', KEYS[3]) else ensure_stats(KEYS[2], KEYS[3]) end
local score = tonumber(ARGV[2])
local tail = redis.call('ZRANGE', KEYS[2], -1, -1, 'WITHSCORES')
if tail[2] and tonumber(tail[2]) >= score then score = tonumber(tail[2]) + 0.001 end
local s = string.format('%.3f', score)
redis.call('ZADD', KEYS[2], s, ARGV[1])
local whole = math.floor(tonumber(s))
redis.call('HSETNX', KEYS[3], 'epoch', whole)
redis.call('HINCRBY', KEYS[3], 'sum', whole - tonumber(redis.call('HGET', KEYS[3], 'epoch')))
return {'ok', size + 1, size + 1, s}
`;

/** KEYS: members, stats. ARGV: callSid. → {score, position before removal} | nil. */
export const REMOVE_MEMBER = `${STATS_HELPERS}
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not score then return false end
local rank = redis.call('ZRANK', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[1], ARGV[1])
settle(KEYS[1], KEYS[2], score)
return {score, rank + 1}
`;

/** KEYS: members, stats. → {callSid, score} of the front member, removed | nil when empty. */
export const POP_FRONT = `${STATS_HELPERS}
local popped = redis.call('ZPOPMIN', KEYS[1])
if #popped == 0 then return false end
settle(KEYS[1], KEYS[2], popped[2])
return popped
`;

/** KEYS: members, stats. → {size, epoch, sum} (strings for the last two). */
export const WAIT_STATS = `${STATS_HELPERS}
local size = redis.call('ZCARD', KEYS[1])
if size == 0 then return {0, '0', '0'} end
ensure_stats(KEYS[1], KEYS[2])
local h = redis.call('HMGET', KEYS[2], 'epoch', 'sum')
return {size, h[1], h[2]}
`;
