/**
 * The atomic step of `purgeTask` (src/queues/purge.ts): one Lua script that removes a batch of messages, each
 * identified by its exact payload and the index where it was read, and leaves everything else where it was.
 *
 * KEYS[1]  the priority list
 * ARGV[1]  the tombstone (unique to this run; no Celery message can equal it)
 * ARGV[2]  time budget in microseconds: the script stops taking new messages once it has run that long
 * then one triple per message, in increasing index order: expected index (head-based), its distance from the tail
 *          when it was read (an upper bound now: only consumers and removals below it bring it closer), payload
 *
 * For each message: look for the payload at its expected index, or further on in a window read once with LRANGE
 * (concurrent LPUSHes move it up); failing that, LPOS from the tail within its old tail distance (a burst of LPUSH).
 * Not found means a worker took it (or someone removed it): it is skipped and not counted. Found, it is overwritten
 * with the tombstone (LSET). Before returning, exactly the tombstones set here are removed with one LREM from the
 * nearer end, so no tombstone is ever seen by a worker or left behind.
 *
 * Returns { messages processed (a prefix of the batch), messages removed, index shift observed (pushes) }.
 */
import { randomUUID } from 'node:crypto'

export const MARK_REMOVE_LUA = `
local key, tomb, budget = KEYS[1], ARGV[1], tonumber(ARGV[2])
local n = (#ARGV - 2) / 3
local function now() local t = redis.call('TIME') return tonumber(t[1]) * 1000000 + tonumber(t[2]) end
local t0 = now()
local SPAN = 64
local first, win, w
local function load(from, to)
  first = from
  win = redis.call('LRANGE', key, from, to + SPAN)
  w = 1
end
load(tonumber(ARGV[3]), tonumber(ARGV[3 * n]))
local shift, marked, processed = 0, 0, 0
local lo, hi
for c = 1, n do
  if c > 1 and now() - t0 > budget then break end
  local a = 3 * c
  local idx, tail, value = tonumber(ARGV[a]), tonumber(ARGV[a + 1]), ARGV[a + 2]
  local pos
  local i = idx + shift - first + 1
  if i < w then i = w end
  while i <= #win do
    if win[i] == value then pos = first + i - 1 w = i + 1 break end
    i = i + 1
  end
  if not pos then
    local p = redis.call('LPOS', key, value, 'RANK', -1, 'MAXLEN', tail + 1)
    if p then
      pos = p
      load(p + 1, p + 1 + tonumber(ARGV[3 * n]) - idx)
    end
  end
  if pos then
    redis.call('LSET', key, pos, tomb)
    marked = marked + 1
    shift = pos - idx
    if not lo or pos < lo then lo = pos end
    if not hi or pos > hi then hi = pos end
  end
  processed = c
end
local removed = 0
if marked > 0 then
  local len = redis.call('LLEN', key)
  if hi <= len - 1 - lo then removed = redis.call('LREM', key, marked, tomb)
  else removed = redis.call('LREM', key, -marked, tomb) end
end
return { processed, removed, shift }
`

/** A value no Celery message can have (not JSON), unique to one purge run. */
export function newTombstone(): string {
  return `dify-ops purge tombstone ${randomUUID()}`
}
