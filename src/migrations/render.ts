/** Human rendering of the `dify db` commands: upgrade (its progress and report), status, history, stamp, verify. */
import { table } from '../core/table.js'
import { impactLines } from './impact.js'
import type { RunEvent } from './runner.js'
import type { VerifyResult } from './schema/verify.js'
import type { HistoryResult, StampResult, StatusResult } from './status.js'
import type { UpgradeResult } from './upgrade.js'

/** The spinner's text while a lock is awaited or a revision runs; null for the other events. */
export function upgradeProgressText(e: RunEvent): string | null {
  if (e.type === 'wait')
    return `Waiting for ${e.lock === 'redis' ? "Dify's upgrade lock (db_upgrade_lock)" : 'the database lock'}${e.ttlMs !== null ? `, holder's lock expires in ${Math.ceil(e.ttlMs / 1000)} s unless renewed` : ''}; waited ${Math.round(e.waitedMs / 1000)} s`
  if (e.type === 'revision') return `Applying ${e.revision}: ${e.description}`
  return null
}

/**
 * What stderr carries for an event, whatever the mode: on MySQL each revision's statements before they run (DDL
 * is not transactional there, so an operator can see how far a failed one got).
 */
export function upgradeEventNotice(e: RunEvent): string | null {
  if (e.type === 'revision' && e.dialect === 'mysql')
    return `About to apply ${e.revision} (${e.description}), ${e.statements.length} statement(s), not transactional on MySQL:\n${e.statements.map((s) => `  ${s}\n`).join('')}`
  return null
}

/** The line per applied revision, on stderr when there is no spinner (no terminal) and no --json. */
export function appliedNotice(e: RunEvent): string | null {
  return e.type === 'revision-done' ? `Applied ${e.revision} (${e.ms} ms)\n` : null
}

export function renderUpgrade(r: UpgradeResult): string[] {
  const at = (rev: string | null, rel: string | null) => (rev ? `${rev}${rel ? ` (${rel})` : ''}` : 'an empty database')
  const lines = [
    `Database: ${r.database} (${r.dialect}, DDL ${r.transactionalDdl ? 'transactional' : 'not transactional'})`,
    `Target:   ${r.target.revision} (${r.target.source === 'cli' ? "this CLI's head" : r.target.source === 'flag' ? '--to' : `head of the Dify code in ${r.target.difyCodeDir}`})`,
  ]
  if (r.status === 'dry-run') {
    lines.push(`Current:  ${at(r.from, r.fromRelease)}`)
    if (!r.pending.length) lines.push('Already at the target; nothing would run.')
    else {
      lines.push(`Would apply ${r.pending.length} revision(s) (dry run, nothing written):`)
      for (const p of r.pending) {
        lines.push(`  ${p.revision}  ${p.release.padEnd(7)} ${p.description}`)
        lines.push(...impactLines(p, '      '))
      }
      for (const e of r.dataEffects ?? [])
        lines.push(
          `  data: ${e.revision} ${e.description}: ${e.rows === null ? 'not countable yet' : `${e.rows} row(s)`}`,
        )
      if (r.schema?.differences.length)
        lines.push(
          `  schema: ${r.schema.differences.length} difference(s) from the schema expected at ${r.schema.revision}: ${r.schema.suggestion.message} (details: dify db status)`,
        )
    }
    if (r.lockHolder?.held)
      lines.push(
        `Dify's upgrade lock is held now (expires in ${r.lockHolder.ttlMs !== null ? Math.ceil(r.lockHolder.ttlMs / 1000) + ' s' : 'never'}).`,
      )
  } else if (r.status === 'up-to-date') {
    lines.push(
      r.completedByOther
        ? `Another upgrade brought the database to ${r.to} while this one waited; nothing left to do.`
        : `Already at ${at(r.to, r.fromRelease)}; nothing to do.`,
    )
  } else {
    for (const a of r.applied) lines.push(`  applied ${a.revision}  ${a.description} (${a.ms} ms)`)
    lines.push(`Upgraded from ${at(r.from, r.fromRelease)} to ${r.to}: ${r.applied.length} revision(s).`)
  }
  return lines
}

export function renderStatus(s: StatusResult): string[] {
  const rel = (r: string | null) => (r ? ` (${r})` : '')
  const lines = [
    `Database:  ${s.database}`,
    `Dialect:   ${s.dialect}, DDL ${s.transactionalDdl ? 'transactional (a failed revision rolls back)' : 'not transactional (a failed revision may be half-applied)'}`,
    `Current:   ${s.versions === null ? 'none (no alembic_version table)' : s.versions.length > 1 ? s.versions.join(' + ') : (s.current ?? 'none') + rel(s.currentRelease)}`,
    `Target:    ${s.target.revision}${rel(s.targetRelease)}, ${s.target.source === 'cli' ? "this CLI's head" : `head of the Dify code in ${s.target.difyCodeDir}`}`,
  ]
  if (s.problem) lines.push(`Problem:   ${s.problem.message}${s.problem.hint ? `\n           ${s.problem.hint}` : ''}`)
  else if (s.upToDate) lines.push('Pending:   none, up to date')
  else {
    lines.push(`Pending:   ${s.pending.length} revision(s)`)
    for (const p of s.pending) {
      lines.push(`           ${p.revision}  ${p.release.padEnd(7)} ${p.description}`)
      lines.push(...impactLines(p, '               '))
    }
  }
  for (const e of s.dataEffects)
    lines.push(
      `Data:      ${e.revision} ${e.description}: ${e.rows === null ? 'not countable yet' : `${e.rows} row(s)`}`,
    )
  lines.push(`Schema:    ${schemaLine(s)}`)
  for (const d of s.schema.differences.slice(0, 20)) lines.push(`           - ${d.message}`)
  if (s.schema.differences.length > 20) lines.push(`           … ${s.schema.differences.length - 20} more (--json)`)
  if (s.schema.differences.length) {
    lines.push(`Fix:       ${s.schema.suggestion.message}`)
    for (const st of s.schema.suggestion.steps) lines.push(`           ${st}`)
  }
  const r = s.lock.redis
  lines.push(
    `Lock:      ${'error' in r ? `Redis not readable (${r.error})` : r.held ? `${r.key} held, expires in ${r.ttlMs === null ? 'never (no TTL)' : Math.ceil(r.ttlMs / 1000) + ' s'}` : `${r.key} free`}` +
      (s.lock.database === null ? '' : `; database lock ${s.lock.database ? 'held by a dify-ops upgrade' : 'free'}`),
  )
  return lines
}

function schemaLine(s: StatusResult): string {
  const c = s.schema
  if (c.error) return `not checked (${c.error})`
  if (!c.checked)
    return c.revision ? `not checked (no expected schema known for ${c.revision})` : 'not checked (no revision)'
  return c.differences.length
    ? `${c.differences.length} difference(s) from the schema expected at ${c.revision}`
    : `matches ${c.revision}`
}

/** `db history`: the chain, * marking the database's revision (`current`) and H the head. */
export function renderHistory(h: HistoryResult, current: string | null, reachable: boolean): string[] {
  return [
    table(
      h.revisions.map((r) => ({
        mark: `${r.current ? '*' : ' '}${r.head ? 'H' : ' '}`,
        revision: r.revision,
        down: r.downRevision ?? (r.baseline ? '(baseline)' : '-'),
        release: r.release,
        description: r.description,
      })),
      [
        { key: 'mark', header: '' },
        { key: 'revision', header: 'REVISION' },
        { key: 'down', header: 'REVISES' },
        { key: 'release', header: 'RELEASE' },
        { key: 'description', header: 'DESCRIPTION' },
      ],
    ),
    `\n* current${current ? ` (${current})` : reachable ? ' (none: empty database or a revision not listed)' : ' (database not reachable)'}   H head`,
  ]
}

export function stampQuestion(from: string[] | null | undefined, to: string): string {
  return `Set alembic_version from ${from?.length ? from.join(' + ') : '(nothing)'} to ${to}? The schema is not changed.`
}

export function renderStamp(r: StampResult): string[] {
  if (!r.statements.length) return [`alembic_version is already ${r.to}; nothing to do.`]
  if (r.dryRun) return [`Would run (dry run):\n${r.statements.map((s) => `  ${s};`).join('\n')}`]
  return [
    `alembic_version set to ${r.to}${r.toRelease ? ` (${r.toRelease})` : ''} (was ${r.from?.length ? r.from.join(' + ') : 'nothing'}).`,
  ]
}

export function renderVerify(v: VerifyResult): string[] {
  if (!v.known) return [`Not compared: ${v.suggestion.message}`]
  if (!v.differences.length) return [`Schema matches ${v.revision} exactly (${v.dialect}).`]
  return [
    `${v.differences.length} difference(s) from the schema expected at ${v.revision} (${v.dialect}):`,
    ...v.differences.map((d) => `  - ${d.message}`),
    `Fix: ${v.suggestion.message}`,
    ...v.suggestion.steps.map((s) => `  ${s}`),
  ]
}

/** `db lock clear`: the lock's state and what was (or would be) done about it. */
export function renderLockClear(
  r: { key: string; held: boolean; ttlMs: number | null },
  stage: 'not-held' | 'dry-run' | 'done',
): string[] {
  if (stage === 'not-held') return [`${r.key} is not held; nothing to clear.`]
  if (stage === 'dry-run') return [`${r.key} is held (${lockTtl(r.ttlMs)}); would delete it (dry run).`]
  return [r.held ? `Deleted ${r.key}.` : `${r.key} was released meanwhile; nothing deleted.`]
}

/** The warning (stderr, human mode) before `db lock clear` asks. */
export function lockClearDanger(key: string, ttlMs: number | null): string {
  return `DANGER: deleting ${key} (${lockTtl(ttlMs)}). If an upgrade is still running, a second one can start beside it.\n`
}

const lockTtl = (ttlMs: number | null) => (ttlMs === null ? 'no expiry' : `expires in ${Math.ceil(ttlMs / 1000)} s`)
