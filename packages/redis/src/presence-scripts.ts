/**
 * The Lua scripts of presence (who is subscribed on which node, for the subscriptions API).
 * Time is Redis's own (`TIME`), never a node's clock: nodes whose clocks disagree still agree
 * on which of them has lapsed.
 *
 * Keys: `<key>:presence:nodes` (sorted set: node id scored by the Redis time in ms at which
 * its presence lapses), `<key>:presence:node:<node id>` (hash: subscriber id → the
 * subscriber's record as JSON).
 *
 * The scripts compute the hash key of other nodes from a prefix, which Redis Cluster would
 * not allow; the broker does not support Cluster anyway (docs/redis.md).
 */

/** The Redis time in ms, in `now`. */
const NOW = `
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
`;

/**
 * One heartbeat of a node, with the changes to its subscribers since the last one.
 * KEYS[1] the nodes set, KEYS[2] this node's hash. ARGV[1] this node's id, ARGV[2] the ttl
 * in ms, ARGV[3] the prefix of node hashes, ARGV[4] `full` (replace the hash) or `delta`,
 * ARGV[5] the number of subscribers to set, then that many `id, json` pairs, then the ids to
 * remove.
 *
 * A delta is refused when this node's presence lapsed or is gone (it may have been claimed:
 * its hash no longer holds what the node thinks): the node writes everything (`full`) next.
 * Then every other lapsed node is claimed: its hash and its place in the set go, and its
 * records are returned, so that one node only (this one) announces them as inactive.
 *
 * Returns `{applied (1|0), json, json, ...}`: the records of the nodes claimed.
 */
export const HEARTBEAT_SCRIPT = `${NOW}
local ttl = tonumber(ARGV[2])
local result = {0}
local expiry = redis.call('ZSCORE', KEYS[1], ARGV[1])
local current = expiry and tonumber(expiry) >= now
if ARGV[4] == 'full' or current then
  if ARGV[4] == 'full' then redis.call('DEL', KEYS[2]) end
  local sets = tonumber(ARGV[5])
  for i = 6, 5 + 2 * sets, 2 do
    redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1])
  end
  for i = 6 + 2 * sets, #ARGV do
    redis.call('HDEL', KEYS[2], ARGV[i])
  end
  redis.call('ZADD', KEYS[1], now + ttl, ARGV[1])
  -- Only a guard against a leak when every node is gone for good: a live node refreshes it.
  redis.call('PEXPIRE', KEYS[2], ttl * 10)
  result[1] = 1
end
local lapsed = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. now, 'LIMIT', 0, 100)
for _, node in ipairs(lapsed) do
  if node ~= ARGV[1] then
    local key = ARGV[3] .. node
    for _, record in ipairs(redis.call('HVALS', key)) do
      result[#result + 1] = record
    end
    redis.call('DEL', key)
    redis.call('ZREM', KEYS[1], node)
  end
end
return result
`;

/**
 * The records of every live node but this one. KEYS[1] the nodes set; ARGV[1] this node's
 * id, ARGV[2] the prefix of node hashes. A node whose presence lapsed is left out at once,
 * before any node claimed it. Returns `{json, json, ...}`.
 */
export const LIST_SCRIPT = `${NOW}
local result = {}
for _, node in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], now, '+inf')) do
  if node ~= ARGV[1] then
    for _, record in ipairs(redis.call('HVALS', ARGV[2] .. node)) do
      result[#result + 1] = record
    end
  end
end
return result
`;
