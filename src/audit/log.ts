import { appendFile } from 'node:fs/promises'
import { hostname, userInfo } from 'node:os'
import type { Runtime } from '../runtime/index.js'
import { keys } from '../dify/keys.js'
import { redactDeep } from '../core/redact.js'

export interface AuditEntry {
  time: string
  command: string
  args: Record<string, unknown>
  /**
   * Where it acted, without credentials: the metadata database, the app-cache Redis, the storage, the Celery broker
   * (CELERY_BROKER_URL as displayed) and the vector stores (`<type>@<location>`, vdb-migrate's with `(target)` or
   * `(source)`), each only when the command opened it.
   */
  target: { database?: string; redis?: string; storage?: string; broker?: string; vectorStores?: string[] }
  outcome: 'ok' | 'failed' | 'partial'
  exitCode: number
  counts?: Record<string, number>
  user: string
  host: string
  version: string
}

/** The capped Redis stream keeps the newest entries only. */
export const AUDIT_STREAM_MAXLEN = 10_000

function osUser(): string {
  try {
    return userInfo().username
  } catch {
    return String(process.getuid?.() ?? 'unknown')
  }
}

export function buildAuditEntry(
  input: Omit<AuditEntry, 'time' | 'user' | 'host' | 'args'> & { args: Record<string, unknown> },
): AuditEntry {
  return {
    time: new Date().toISOString(),
    ...input,
    args: redactDeep(input.args) as Record<string, unknown>,
    // the targets are built without credentials; redacted again in case a configured host or URL carries some
    target: redactDeep(input.target) as AuditEntry['target'],
    user: osUser(),
    host: hostname(),
  }
}

/**
 * Append one redacted JSON line to DIFY_OPS_AUDIT_LOG (when set) and to the capped Redis stream
 * `dify_ops:audit` (when Redis is reachable). Never throws: auditing must not turn a success into a failure.
 */
export async function writeAudit(rt: Runtime, entry: AuditEntry): Promise<{ file: boolean; redis: boolean }> {
  const line = JSON.stringify(entry)
  let file = false
  let redis = false
  if (rt.config.auditLog) {
    try {
      await appendFile(rt.config.auditLog, line + '\n', { mode: 0o600 })
      file = true
    } catch {
      /* reported by the caller as a warning */
    }
  }
  try {
    const r = await rt.redis()
    await r.client.xadd(keys.auditStream(r.keyPrefix), 'MAXLEN', '~', String(AUDIT_STREAM_MAXLEN), '*', 'entry', line)
    redis = true
  } catch {
    /* Redis unreachable: the file (if any) is the record */
  }
  return { file, redis }
}

/**
 * Read audit entries from the Redis stream (newest last), optionally since a time. With a limit, reads backwards from
 * the newest in batches (XREVRANGE … COUNT) until it has that many well-formed entries or reaches `since`: the stream
 * holds up to AUDIT_STREAM_MAXLEN entries, and `dify audit` shows the last 100 by default. Each batch starts at the
 * previous one's last id, inclusive, and drops that row again: exclusive ranges (`(id`) need Redis 6.2, and a
 * managed Redis may be older.
 */
export async function readAudit(rt: Runtime, opts: { since?: Date; limit?: number }): Promise<AuditEntry[]> {
  const r = await rt.redis()
  const key = keys.auditStream(r.keyPrefix)
  const start = opts.since && opts.since.getTime() > 0 ? String(opts.since.getTime()) : '-'
  if (!opts.limit) return parseRows((await r.client.xrange(key, start, '+')) as StreamRows)
  const newestFirst: AuditEntry[] = []
  let last: string | undefined
  for (;;) {
    const batch = Math.min(Math.max(opts.limit - newestFirst.length, 100), 1000)
    const got = (await r.client.xrevrange(key, last ?? '+', start, 'COUNT', last ? batch + 1 : batch)) as StreamRows
    const rows = last && got[0]?.[0] === last ? got.slice(1) : got
    newestFirst.push(...parseRows(rows))
    if (newestFirst.length >= opts.limit || rows.length < batch) break
    last = rows.at(-1)![0]
  }
  return newestFirst.slice(0, opts.limit).reverse()
}

type StreamRows = Array<[string, string[]]>

/** The `entry` field of each row, parsed; rows without one, or with a malformed one, are skipped. */
function parseRows(rows: StreamRows): AuditEntry[] {
  const entries: AuditEntry[] = []
  for (const [, fields] of rows) {
    const i = fields.indexOf('entry')
    if (i < 0) continue
    try {
      entries.push(JSON.parse(fields[i + 1]!) as AuditEntry)
    } catch {
      /* skip malformed */
    }
  }
  return entries
}
