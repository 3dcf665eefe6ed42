/** Human lines for the encryption commands' plans and reports (no oclif here; the commands print them). */
import { table } from '../core/table.js'
import type { CheckResult } from './check.js'
import type { ResetPlan, ResetResult } from './reset.js'
import type { RestoreResult } from './restore.js'
import type { RotateResult } from './rotate.js'

/** The first line of every encryption command: where the keys are. */
export function renderStorage(location: string): string[] {
  return [`Storage: ${location}`]
}

/** The warning when a writer could not delete the tenants' Redis caches. */
export function cacheWarning(error: string): string {
  return `The Redis caches could not be deleted (${error}); Dify may use cached credentials for up to 24 h.`
}

export function renderCheck(res: CheckResult, opts: { verbose?: boolean }): string[] {
  const lines = [`Storage: ${res.storage}`]
  for (const t of res.tenants) {
    const mark = t.ok ? 'ok' : 'PROBLEM'
    lines.push(
      `\n${mark.padEnd(8)} tenant ${t.tenantId} (${t.name}): key ${t.key.status}${t.key.detail ? ` (${t.key.detail})` : ''}; ${t.values} encrypted values, ${t.undecryptable} undecryptable`,
    )
    if (t.columns.length) {
      lines.push(
        table(
          t.columns.map((c) => ({
            ...c,
            col: `${c.table}.${c.column}`,
            ids: opts.verbose ? c.failedRowIds.join(' ') : '',
          })),
          [
            { key: 'col', header: '  TABLE.COLUMN' },
            { key: 'rows', header: 'ROWS' },
            { key: 'values', header: 'VALUES' },
            { key: 'undecryptable', header: 'UNDECRYPTABLE' },
            { key: 'malformed', header: 'MALFORMED' },
            ...(opts.verbose ? [{ key: 'ids', header: 'ROW IDS' }] : []),
          ],
        ).replace(/^/gm, '  '),
      )
    }
  }
  const s = res.summary
  lines.push(
    `\n${s.tenantsOk}/${s.tenants} tenants ok; ${s.keyProblems} key problems; ${s.undecryptable} of ${s.values} values do not decrypt.`,
  )
  if (res.missingTables.length)
    lines.push(`Tables not in this database (older release): ${res.missingTables.join(', ')}`)
  return lines
}

/** The warnings of `encryption rotate` (stderr). */
export function rotateWarnings(res: RotateResult): string[] {
  return res.cacheError ? [`The Redis caches could not be deleted (${res.cacheError}).`] : []
}

/** The question `encryption rotate` asks before writing. */
export function rotateQuestion(opts: { tenants?: string[]; dropUndecryptable?: boolean }): string {
  return `Rotate the key pair of ${opts.tenants?.length ? `${opts.tenants.length} tenant(s)` : 'every tenant'} and re-encrypt their secrets${opts.dropUndecryptable ? ', removing values that do not decrypt' : ''}?`
}

export function renderRotate(res: RotateResult, opts: { verbose?: boolean }): string[] {
  const lines: string[] = []
  for (const o of res.outcomes) {
    const state = { failed: 'FAILED', 'would-rotate': 'would rotate', rotated: 'rotated', skipped: 'skipped' }[o.status]
    lines.push(
      `${state.padEnd(12)} ${o.tenantId} (${o.name})${o.resumed ? ' [finishing an interrupted run]' : ''}${o.recoveredFrom ? ` [old key taken from ${o.recoveredFrom}]` : ''}: ${o.reencrypted} value(s) re-encrypted${o.dropped ? `, ${o.dropped} dropped` : ''}${o.error ? `; ${o.error}` : ''}`,
    )
    for (const u of o.undecryptable)
      lines.push(
        `  does not decrypt: ${u.table}.${u.column} ${u.values} value(s)${opts.verbose ? ` in rows ${u.rowIds.join(' ')}` : ''}`,
      )
  }
  const s = res.summary
  lines.push(
    `\n${s.rotated} of ${s.tenants} tenant(s) ${res.dryRun ? 'would be rotated' : 'rotated'}; ${s.reencrypted} value(s) re-encrypted; ${s.undecryptable} undecryptable${s.dropped ? `; ${s.dropped} dropped` : ''}.`,
  )
  if (res.dryRun) lines.push('Dry run: nothing was changed.')
  return lines
}

export function renderRestoreKey(res: RestoreResult): string[] {
  const lines = [`The key from ${res.source} decrypts all ${res.values} encrypted value(s) of tenant ${res.tenantId}.`]
  if (res.unchanged) lines.push('It is already in place: nothing to do.')
  else if (res.dryRun) lines.push('Dry run: nothing was changed.')
  else {
    lines.push(
      `Written to privkeys/${res.tenantId}/private.pem${res.publicKeyUpdated ? '; tenants.encrypt_public_key updated' : ''}; ${res.cachesDeleted} Redis cache key(s) deleted.`,
    )
    if (res.replacedKeyBackup) lines.push(`The key it replaced is saved as ${res.replacedKeyBackup}.`)
  }
  return lines
}

/** Rows `reset-encrypt-key-pair` deletes over every tenant of the plan. */
export function resetRows(plan: ResetPlan): number {
  return plan.tenants.reduce((a, t) => a + t.deletes.reduce((b, d) => b + d.rows, 0), 0)
}

/** `reset-encrypt-key-pair`: the count, then the plan (describeResetPlan), before the question. */
export function renderResetPlan(plan: ResetPlan, opts: { verbose?: boolean; dryRun?: boolean }): string[] {
  return [
    `${plan.privateKeysInStorage} private key(s) under privkeys/; ${plan.tenants.length} tenant(s) to reset.\n`,
    ...describeResetPlan(plan, opts),
    ...(opts.dryRun ? [`\nDry run: nothing was changed.`] : []),
  ]
}

export function resetQuestion(plan: ResetPlan): string {
  return `Reset the key pair of ${plan.tenants.length} tenant(s) and delete ${resetRows(plan)} row(s)? Secrets encrypted with the old keys cannot be recovered.`
}

export function renderReset(res: ResetResult): string[] {
  const lines = ['']
  for (const o of res.outcomes) {
    if (o.status === 'reset') {
      const del = Object.entries(o.deleted)
        .filter(([, n]) => n > 0)
        .map(([t, n]) => `${t} ${n}`)
        .join(', ')
      lines.push(
        `reset   ${o.tenantId}${o.backup ? ` (old key saved as ${o.backup})` : ''}${del ? `; deleted ${del}` : ''}`,
      )
    } else if (o.status === 'skipped') lines.push(`skipped ${o.tenantId} (interrupted before it started)`)
    else lines.push(`FAILED  ${o.tenantId}: ${o.error} (the old key was put back)`)
  }
  lines.push(
    `\n${res.summary.reset} of ${res.summary.tenants} tenant(s) reset; ${res.cachesDeleted} Redis cache key(s) deleted.`,
  )
  return lines
}

export function describeResetPlan(plan: ResetPlan, opts: { verbose?: boolean; dryRun?: boolean }): string[] {
  const lines: string[] = []
  const will = opts.dryRun ? 'would' : 'will'
  const extra = plan.deletesFrom.filter((d) => d.table.startsWith('tool_'))
  if (extra.length)
    lines.push(
      `Dify ${plan.difyVersion}: the tool providers (${extra.map((d) => d.table).join(', ')}) are deleted too, as Dify's own reset-encrypt-key-pair does from 1.14.2.`,
    )
  for (const t of plan.tenants) {
    lines.push(
      `Tenant ${t.tenantId} (${t.name}): private key ${t.hasPrivateKey ? 'present' : 'absent'}${t.hasPrivateKey && plan.backupTimestamp ? `, ${will} be backed up as private.pem.${plan.backupTimestamp}.bak` : ''}`,
    )
    const dels = t.deletes.filter((d) => d.rows > 0)
    if (dels.length) {
      lines.push(`  rows that ${will} be deleted:`)
      for (const d of dels)
        lines.push(
          `    ${d.table.padEnd(34)} ${String(d.rows).padStart(6)}${opts.verbose ? `  ${d.ids.join(' ')}` : ''}`,
        )
    } else lines.push(`  no rows to delete`)
    if (t.unreadable.length) {
      lines.push(`  secrets that ${will} become unreadable (left in place):`)
      for (const u of t.unreadable)
        lines.push(
          `    ${`${u.table}.${u.column}`.padEnd(48)} ${String(u.values).padStart(6)} value(s) in ${u.rows} row(s)`,
        )
    }
  }
  return lines
}
