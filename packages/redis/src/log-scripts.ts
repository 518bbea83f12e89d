/**
 * The Lua scripts that keep the log consistent. Redis runs a script atomically, so the epoch,
 * the sequence, the stream entry, the id index and the trimming change together or not at all
 * as far as any other client can see.
 *
 * Keys: KEYS[1] `<key>:meta` (hash: `epoch`, `sequence`, `last`), KEYS[2] `<key>:log` (the
 * stream; entry ids are `<sequence>-0`, fields `e` epoch, `i` update id, `t` Redis time in ms,
 * `u` the update as JSON), KEYS[3] `<key>:ids` (hash: update id → sequence, for
 * `Last-Event-ID` lookups; it holds exactly the ids still in the stream).
 */

/**
 * Makes sure the log has an epoch; when it has none (a new or flushed Redis), starts a new
 * one with ARGV[1] and drops whatever a previous epoch left. Returns `{epoch, sequence, last?}`.
 */
const ENSURE_EPOCH = `
local epoch = redis.call('HGET', KEYS[1], 'epoch')
if not epoch then
  epoch = ARGV[1]
  redis.call('DEL', KEYS[2], KEYS[3])
  redis.call('HSET', KEYS[1], 'epoch', epoch, 'sequence', 0)
  redis.call('HDEL', KEYS[1], 'last')
end
`;

export const HEAD_SCRIPT = `${ENSURE_EPOCH}
local state = redis.call('HMGET', KEYS[1], 'epoch', 'sequence', 'last')
return state
`;

/**
 * Removes the oldest entries beyond `maxEvents` or older than `maxAge` ms before `now` (0: no
 * age limit), at most 100 per run, with their ids from the index unless a later update reused
 * the id. Leaves the count in `trimmed`.
 */
const TRIM_OLDEST = `
local length = redis.call('XLEN', KEYS[2])
local trimmed = 0
for _ = 1, 100 do
  local oldest = redis.call('XRANGE', KEYS[2], '-', '+', 'COUNT', 1)[1]
  if not oldest then break end
  local fields = oldest[2]
  local tooOld = maxAge > 0 and tonumber(fields[6]) < now - maxAge
  if length <= maxEvents and not tooOld then break end
  redis.call('XDEL', KEYS[2], oldest[1])
  length = length - 1
  trimmed = trimmed + 1
  local oldSequence = string.match(oldest[1], '^(%d+)')
  if redis.call('HGET', KEYS[3], fields[4]) == oldSequence then
    redis.call('HDEL', KEYS[3], fields[4])
  end
end
`;

/**
 * Appends one update: ARGV[1] a new epoch in case there is none, ARGV[2] the update id,
 * ARGV[3] the update as JSON, ARGV[4] the most entries kept, ARGV[5] the longest age kept in
 * ms (0: none). Returns `{epoch, sequence}`.
 *
 * Trimming removes the oldest entries beyond the length or older than the age, at most 100
 * per append (length trimming needs one per append, so it never falls behind), and removes
 * their ids from the index unless a later update reused the id.
 */
export const APPEND_SCRIPT = `${ENSURE_EPOCH}
local sequence = redis.call('HINCRBY', KEYS[1], 'sequence', 1)
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
redis.call('XADD', KEYS[2], sequence .. '-0', 'e', epoch, 'i', ARGV[2], 't', now, 'u', ARGV[3])
redis.call('HSET', KEYS[3], ARGV[2], sequence)
redis.call('HSET', KEYS[1], 'last', ARGV[2])
local maxEvents = tonumber(ARGV[4])
local maxAge = tonumber(ARGV[5])
${TRIM_OLDEST}
return {epoch, sequence}
`;

/**
 * Trims a log nobody appends to: ARGV[1] the most entries kept, ARGV[2] the longest age kept
 * in ms. Without it an idle log would keep entries older than `max_age` until the next
 * append. Returns how many entries it removed (at most 100 per call).
 */
export const TRIM_SCRIPT = `
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local maxEvents = tonumber(ARGV[1])
local maxAge = tonumber(ARGV[2])
${TRIM_OLDEST}
return trimmed
`;

/**
 * Ends an epoch whose sequence went backwards: ARGV[1] the epoch a node read in, ARGV[2] the
 * sequence it had read up to, ARGV[3] a new epoch, ARGV[4] and ARGV[5] the update id and time
 * (fields `i`, `t`) of the entry it read at that sequence, or empty when unknown. A Redis that
 * failed over to a replica which lacked the newest entries hands their sequences out again, so
 * one position of the epoch would name two different updates: the sequence is below what the
 * node read, or the entry there is another one. A new epoch (with an empty log) makes every
 * node and subscriber start over, told, instead. Returns `{epoch, sequence, last?}`.
 */
export const REWIND_SCRIPT = `
local epoch = redis.call('HGET', KEYS[1], 'epoch')
local sequence = tonumber(redis.call('HGET', KEYS[1], 'sequence') or '0')
local read = tonumber(ARGV[2])
local rewritten = false
if epoch == ARGV[1] and ARGV[4] ~= '' and sequence >= read and read > 0 then
  local entry = redis.call('XRANGE', KEYS[2], read .. '-0', read .. '-0')[1]
  rewritten = entry ~= nil and (entry[2][4] ~= ARGV[4] or entry[2][6] ~= ARGV[5])
end
if (not epoch) or (epoch == ARGV[1] and (sequence < read or rewritten)) then
  redis.call('DEL', KEYS[2], KEYS[3])
  redis.call('HSET', KEYS[1], 'epoch', ARGV[3], 'sequence', 0)
  redis.call('HDEL', KEYS[1], 'last')
end
return redis.call('HMGET', KEYS[1], 'epoch', 'sequence', 'last')
`;
