/** Human lines for the encryption commands' plans and reports (no oclif here; the commands print them). */
import type { ResetPlan } from './reset.js'

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
