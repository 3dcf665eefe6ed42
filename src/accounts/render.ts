/** Human renderings of the account reports (lines for stdout). Never given a password, so never prints one. */
import type { ResetPasswordReport } from './reset-password.js'
import type { ResetEmailReport } from './reset-email.js'
import type { BanReport } from './ban.js'
import type { UnlockReport } from './unlock.js'
import type { ShowReport } from './show.js'
import type { AccountBrief } from './lookup.js'
import type { RedisOutcome } from './common.js'
import type { ListReport } from './list.js'
import { table } from '../core/table.js'

const who = (a: AccountBrief) => `${a.email} (id ${a.id}, status ${a.status})`
const would = (dry: boolean, done: string, todo: string) => (dry ? todo : done)
const row = (label: string, text: string) => `${label.padEnd(11)}${text}`.trimEnd()

function redisLines(r: RedisOutcome): string[] {
  if (r.ok) return []
  return [row('Redis', `unavailable (${r.error}); not done: ${r.notDone.join('; ')}.`)]
}

function sessionText(
  dry: boolean,
  s: { revoke: boolean; refreshTokens: number; accountKey: boolean; oauthTokens?: number | null },
  r: RedisOutcome,
): string {
  if (!s.revoke) return 'kept (--keep-sessions)'
  const oauth = s.oauthTokens
    ? `; ${would(dry, 'revoked', 'would revoke')} ${s.oauthTokens} device-flow token${s.oauthTokens === 1 ? '' : 's'} (oauth_access_tokens)`
    : ''
  if (!r.ok && r.notDone.some((n) => n.startsWith('revoke')))
    return `refresh tokens not revoked (Redis unavailable)${oauth}`
  const n = `${s.refreshTokens} refresh token${s.refreshTokens === 1 ? '' : 's'}${s.accountKey ? ' and the latest-token pointer' : ''}`
  return (
    (s.refreshTokens || s.accountKey ? `${would(dry, 'revoked', 'would revoke')} ${n}` : 'no live refresh token') +
    oauth
  )
}

export function renderResetPassword(r: ResetPasswordReport): string[] {
  const lines = [
    ...(r.dryRun ? ['Dry run: nothing was changed.'] : []),
    row('Account', who(r.account) + (r.matchedBy === 'lowercase' ? ', found by the lower-cased email' : '')),
    row('Password', r.dryRun ? 'would be changed' : `changed (updated_at ${r.updatedAt})`),
    row(
      'Lock-out',
      r.redis.notDone.some((n) => n.includes('lock-out'))
        ? 'not cleared (Redis unavailable)'
        : r.lockout.cleared.length
          ? `${would(r.dryRun, 'cleared', 'would clear')} the login counter of ${r.lockout.cleared.map((c) => `${c.email} (${c.count} failures)`).join(', ')}`
          : 'no login lock-out counter',
    ),
    row('Sessions', sessionText(r.dryRun, r.sessions, r.redis)),
    ...redisLines(r.redis),
  ]
  if (r.statusNote) lines.push(`Note: ${r.statusNote}`)
  lines.push(`Note: ${r.accessTokens.note}`)
  return lines
}

export function renderResetEmail(r: ResetEmailReport): string[] {
  const lines = [
    ...(r.dryRun ? ['Dry run: nothing was changed.'] : []),
    row('Account', who(r.account)),
    row(
      'Email',
      r.changed
        ? `${r.oldEmail} → ${r.newEmail}${r.dryRun ? ' (would change)' : ''}`
        : `already ${r.newEmail}; nothing to change`,
    ),
  ]
  if (r.lockoutMoved)
    lines.push(
      row(
        'Lock-out',
        `${would(r.dryRun, 'moved', 'would move')} the login counter (${r.lockoutMoved.count} failures) from ${r.lockoutMoved.from.join(', ')} to ${r.lockoutMoved.to}`,
      ),
    )
  return [...lines, ...redisLines(r.redis)]
}

export function renderBan(r: BanReport): string[] {
  const lines = [
    ...(r.dryRun ? ['Dry run: nothing was changed.'] : []),
    row('Account', who(r.account)),
    row(
      'Status',
      r.changed ? `${r.previousStatus} → ${r.status}${r.dryRun ? ' (would change)' : ''}` : (r.note ?? 'unchanged'),
    ),
  ]
  if (r.action === 'ban') lines.push(row('Sessions', sessionText(r.dryRun, r.sessions, r.redis)))
  if (r.action === 'ban' && r.changed)
    lines.push('Note: Dify refuses a banned account at login and on every request, live access tokens included.')
  return [...lines, ...redisLines(r.redis)]
}

export function renderUnlock(r: UnlockReport): string[] {
  if (!r.cleared.length) return [`No lock-out counter or rate limiter exists for ${r.email} in any letter case.`]
  return [
    ...(r.dryRun ? ['Dry run: nothing was changed.'] : []),
    `${would(r.dryRun, 'Cleared', 'Would clear')} ${r.cleared.length} key${r.cleared.length === 1 ? '' : 's'} for ${r.email}:`,
    ...r.cleared.map(
      (c) =>
        `  ${c.kind}:${c.email}  count ${c.count}${c.locked ? ' (locked)' : ''}${c.ttlSeconds !== null ? `, ${c.ttlSeconds}s left` : ''}`,
    ),
  ]
}

export function renderShow(r: ShowReport): string[] {
  const a = r.account
  const lines = [
    row('Id', a.id),
    row('Email', a.email),
    row('Name', a.name),
    row('Status', a.status),
    row('Password', a.hasPassword ? 'set' : 'not set (SSO, email-code or pending invitation)'),
    row('Created', a.createdAt ?? ''),
    row('Last login', a.lastLoginAt ? `${a.lastLoginAt} from ${a.lastLoginIp ?? 'unknown IP'}` : 'never'),
    row('Active', a.lastActiveAt ?? ''),
    row(
      'Sessions',
      r.sessions
        ? `${r.sessions.refreshTokens} live refresh token${r.sessions.refreshTokens === 1 ? '' : 's'}`
        : 'unknown (Redis unavailable)',
    ),
  ]
  if (r.oauthSessions) {
    const o = r.oauthSessions
    lines.push(
      row(
        'Devices',
        `${o.live} live device-flow token${o.live === 1 ? '' : 's'}${o.lastUsedAt ? `, last used ${o.lastUsedAt}` : ''}`,
      ),
    )
    for (const t of o.tokens)
      lines.push(
        `  ${t.deviceLabel} (client ${t.clientId})  created ${t.createdAt ?? '?'}, last used ${t.lastUsedAt ?? 'never'}, expires ${t.expiresAt ?? '?'}`,
      )
  }
  if (r.lockouts === null) lines.push(row('Lock-outs', 'unknown (Redis unavailable)'))
  else if (!r.lockouts.length) lines.push(row('Lock-outs', 'none'))
  else {
    lines.push(row('Lock-outs', ''))
    for (const l of r.lockouts)
      lines.push(
        `  ${l.kind}:${l.email}  count ${l.count}${l.locked ? ' (locked)' : ''}${l.ttlSeconds !== null ? `, ${l.ttlSeconds}s left` : ''}`,
      )
  }
  lines.push(row('Workspaces', r.tenants.length ? '' : 'none'))
  for (const t of r.tenants)
    lines.push(
      `  ${t.tenantName} (${t.tenantId})  ${t.role}${t.current ? ', current' : ''}${t.tenantStatus !== 'normal' ? `, workspace ${t.tenantStatus}` : ''}`,
    )
  return lines
}

/** `account list`: the page of accounts (ROLE with --tenant) and where it stands in the whole list. */
export function renderList(report: ListReport, opts: { tenant?: string; page: number }): string[] {
  const cols = [
    { key: 'email', header: 'EMAIL' },
    { key: 'name', header: 'NAME' },
    { key: 'status', header: 'STATUS' },
    ...(opts.tenant ? [{ key: 'role', header: 'ROLE' }] : []),
    { key: 'lastLoginAt', header: 'LAST LOGIN' },
    { key: 'id', header: 'ID' },
  ]
  const lines = report.accounts.length
    ? [table(report.accounts as unknown as Array<Record<string, unknown>>, cols)]
    : []
  const last = report.offset + report.accounts.length
  lines.push(
    `${report.accounts.length ? `${report.offset + 1}–${last}` : 'none'} of ${report.total}${last < report.total ? ` (next: --page ${opts.page + 1})` : ''}`,
  )
  return lines
}
