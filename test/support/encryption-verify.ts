import type { Query } from './encryption-env.js'
import { decryptToken } from '../../src/crypto/tenant-key.js'
import { TENANT_ENCRYPTED_COLUMNS } from '../../src/dify/encrypted-columns.js'
import { privateKeyPath } from '../../src/dify/keys.js'
import { extractTokens } from '../../src/encryption/values.js'
import type { SeededTenant } from './encryption-seed.js'

/**
 * Every seeded secret, read back and decrypted with the private key now in storage: returns the secrets that are
 * missing or wrong (empty = nothing lost).
 */
export async function lostSecrets(
  e: { query: Query; text(c: string): string; readKey: (p: string) => string | undefined },
  tenants: SeededTenant[],
): Promise<string[]> {
  const readKey = e.readKey
  const lost: string[] = []
  for (const t of tenants) {
    const key = readKey(privateKeyPath(t.id))
    for (const s of t.secrets) {
      const col = TENANT_ENCRYPTED_COLUMNS.find((c) => c.table === s.table && c.column === s.column)!
      const row = (await e.query(`select ${e.text(s.column)} as raw from ${s.table} where id = $1`, [s.id]))[0]
      const plain = new Set<string>()
      for (const tok of extractTokens(col, row?.raw).tokens) {
        try {
          plain.add(decryptToken(tok, key!))
        } catch {
          /* counted below */
        }
      }
      if (!plain.has(s.plaintext)) lost.push(`${s.table}.${s.column} ${s.id}`)
    }
  }
  return lost
}

/** a column's stored text with every token replaced by "T": what must stay byte-for-byte across a rotation */
export async function maskedColumns(e: { query: Query; text(c: string): string }): Promise<Record<string, string>> {
  const out: Record<string, string> = {}
  for (const c of TENANT_ENCRYPTED_COLUMNS) {
    let rows: any[]
    try {
      rows = await e.query(`select id, ${e.text(c.column)} as raw from ${c.table} order by id`)
    } catch (err) {
      // a location of another release (e.g. providers.encrypted_config before 1.8.0)
      if (/does not exist|Unknown column|doesn't exist/.test((err as Error).message)) continue
      throw err
    }
    for (const r of rows) {
      let raw: string = r.raw ?? ''
      for (const tok of extractTokens(c, raw).tokens) raw = raw.split(tok).join('T')
      out[`${c.table}.${c.column}.${r.id}`] = raw
    }
  }
  return out
}
