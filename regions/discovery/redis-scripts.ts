/**
 * Lua scripts of RedisDiscovery. Each runs atomically in Redis and reads the
 * clock with TIME, so every node compares deadlines against the same (the
 * server's) clock, whatever the skew between the nodes' own clocks.
 *
 * Layout under the prefix P:
 *   P inst:<id>       instance JSON, PX = ttl (so stale data also ages out by itself)
 *   P svc:<service>   sorted set id → deadline (server ms): the source of truth for health
 *   P index           hash id → service: deregister by id alone, and the mark that an id is
 *                     registered (kept through an expiry, removed by deregister)
 *   P events          pub/sub channel: {"type":"up"|"down"|"expired","id","service"}
 *
 * Scripts build some key names themselves, so this layout is for a single
 * Redis (or a cluster with one hash slot via a `{tag}` prefix).
 */

const NOW = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

/**
 * KEYS: inst, svc, index. ARGV: json, ttlMs, id, service, channel, mode ('register' | 'refresh').
 * Returns 1 if the instance was (re)announced, 0 if only refreshed, -1 if a refresh found the id
 * deregistered: an explicit deregister (from any node) is final, as with Consul, while a heartbeat
 * that comes back after an expiry revives the instance (a TTL check turning passing again).
 */
export const HEARTBEAT_LUA = `${NOW}
if ARGV[6] == 'refresh' and redis.call('HEXISTS', KEYS[3], ARGV[3]) == 0 then return -1 end
local prev = redis.call('GET', KEYS[1])
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[2]), ARGV[3])
redis.call('HSET', KEYS[3], ARGV[3], ARGV[4])
if prev ~= ARGV[1] then
  redis.call('PUBLISH', ARGV[5], cjson.encode({type = 'up', id = ARGV[3], service = ARGV[4]}))
  return 1
end
return 0`;

/** KEYS: svc. ARGV: instPrefix. Returns the JSON of every instance whose deadline is in the future. */
export const LIST_LUA = `${NOW}
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. now, '+inf', 'LIMIT', 0, tonumber(ARGV[2]))
local out = {}
local i = 1
while i <= #ids do
  local keys = {}
  for j = i, math.min(i + 499, #ids) do keys[#keys + 1] = ARGV[1] .. ids[j] end
  local vals = redis.call('MGET', unpack(keys))
  for _, v in ipairs(vals) do if v then out[#out + 1] = v end end
  i = i + 500
end
return out`;

/**
 * KEYS: svc. ARGV: instPrefix, channel, service. Removes (at most 1000) instances past their
 * deadline. Their index entry stays, so a late heartbeat may revive them.
 */
export const REAP_LUA = `${NOW}
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, 1000)
for _, id in ipairs(ids) do
  redis.call('ZREM', KEYS[1], id)
  redis.call('DEL', ARGV[1] .. id)
  redis.call('PUBLISH', ARGV[2], cjson.encode({type = 'expired', id = id, service = ARGV[3]}))
end
return #ids`;

/** KEYS: index. ARGV: instPrefix, svcPrefix, channel, id. Returns the service it was in, or false. */
export const DEREGISTER_LUA = `
local svc = redis.call('HGET', KEYS[1], ARGV[4])
redis.call('DEL', ARGV[1] .. ARGV[4])
if svc then
  redis.call('ZREM', ARGV[2] .. svc, ARGV[4])
  redis.call('HDEL', KEYS[1], ARGV[4])
  redis.call('PUBLISH', ARGV[3], cjson.encode({type = 'down', id = ARGV[4], service = svc}))
end
return svc`;
