/**
 * The atomic step of `purgeTask` (src/queues/purge.ts): one short Lua script that overwrites a batch of messages
 * with the purge tombstone, each identified by its exact payload near the index where it was read, and touches
 * nothing else. The tombstones are removed afterwards, many at once, by LREM (see purge.ts).
 *
 * KEYS[1]  the priority list
 * ARGV[1]  the tombstone (`TOMBSTONE`)
 * ARGV[2]  time budget in microseconds: the script stops taking new messages once it has run that long
 * then one triple per message, in increasing index order: expected index (head-based), its distance from the tail
 *          when it was read (an upper bound now: only consumers and removals below it bring it closer), payload
 *
 * For each message: look for the payload at its expected index or further on, in a window read once with LRANGE
 * (concurrent LPUSHes move it up); failing that, LPOS from the tail within its old tail distance (a burst of LPUSH
 * bigger than the window). Not found means a worker took it (or someone removed it): it is skipped and not counted.
 * Found, it is overwritten with the tombstone (LSET), so an index never moves because of us until the LREM.
 *
 * Returns { messages processed (a prefix of the batch), messages marked, index shift observed (pushes) }.
 */

export const MARK_LUA = `
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
local lastIdx = tonumber(ARGV[3 * n])
load(tonumber(ARGV[3]), lastIdx)
local shift, marked, processed = 0, 0, 0
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
      load(p + 1, p + 1 + lastIdx - idx)
    end
  end
  if pos then
    redis.call('LSET', key, pos, tomb)
    marked = marked + 1
    shift = pos - idx
  end
  processed = c
end
return { processed, marked, shift }
`

/**
 * The tombstone of a queue: one fixed value per queue, so one LREM removes every mark, also those a crashed run left
 * behind. It is a well-formed kombu envelope with no task name, so a worker that takes one before the LREM (it is
 * consumable between the mark and the LREM) does what Celery does with any message without a task: it logs
 * "Received and deleted unknown message" and rejects it (celery/worker/consumer/consumer.py `on_task_received` →
 * `on_unknown_message`; checked on Celery 5.2.6 in test/integration/queue/queue-purge-task.test.ts). Its delivery tag
 * is not a UUID, so no real message can equal it; its routing key is the queue, so if kombu ever restores it from
 * `unacked` it goes back where a worker drops it. The body is `{}` in base64.
 */
export function tombstoneFor(queue: string): string {
  return `{"body": "e30=", "content-encoding": "utf-8", "content-type": "application/json", "headers": {}, "properties": {"delivery_tag": "dify-ops-purge-tombstone", "body_encoding": "base64", "delivery_info": {"exchange": "", "routing_key": ${JSON.stringify(queue)}}, "priority": 0}}`
}
