/**
 * Seeding Dify accounts, workspaces and sessions as Dify writes them (uuid4 ids, naive-UTC timestamps, the
 * base64-of-hex password columns, refresh tokens of 128 hex chars), for PostgreSQL and MySQL scratch databases.
 */
import { execFileSync } from 'node:child_process'
import { randomBytes, randomUUID } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import mysql from 'mysql2/promise'
import type { Redis } from 'ioredis'
import { hashPassword } from '../../src/accounts/password.js'
import { MYSQL, PG, PYTHON } from './services.js'
import { BIN } from './cli.js'

export interface SeedDb {
  query(text: string, params?: unknown[]): Promise<Array<Record<string, unknown>>>
  close(): Promise<void>
}

/** A plain connection to a scratch database; SQL is written with `?` placeholders for both dialects. */
export async function seedDb(kind: 'postgres' | 'mysql', database: string): Promise<SeedDb> {
  if (kind === 'postgres') {
    const c = new pg.Client({ ...PG, database })
    await c.connect()
    return {
      async query(text, params = []) {
        let i = 0
        return (
          await c.query(
            text.replace(/\?/g, () => `$${++i}`),
            params,
          )
        ).rows
      },
      close: () => c.end(),
    }
  }
  const c = await mysql.createConnection({ ...MYSQL, database })
  return {
    async query(text, params = []) {
      const [rows] = await c.query(text, params)
      return Array.isArray(rows) ? (rows as Array<Record<string, unknown>>) : []
    },
    close: () => c.end(),
  }
}

export interface SeededAccount {
  id: string
  email: string
  password: string | null
}

const ts = (d = new Date()) => d.toISOString().replace('T', ' ').slice(0, 19)

export async function seedAccount(
  db: SeedDb,
  o: {
    email: string
    password?: string | null
    status?: string
    name?: string
    lastLoginAt?: Date
    lastLoginIp?: string
  },
): Promise<SeededAccount> {
  const id = randomUUID()
  const pw = o.password === undefined ? 'Initial-pass1' : o.password
  const stored = pw === null ? { password: null, passwordSalt: null } : hashPassword(pw)
  await db.query(
    `insert into accounts (id, name, email, password, password_salt, interface_language, interface_theme, timezone, last_login_at, last_login_ip, last_active_at, status, initialized_at, created_at, updated_at)
     values (?, ?, ?, ?, ?, 'en-US', 'light', 'UTC', ?, ?, ?, ?, ?, ?, ?)`,
    [
      id,
      o.name ?? o.email.split('@')[0],
      o.email,
      stored.password,
      stored.passwordSalt,
      o.lastLoginAt ? ts(o.lastLoginAt) : null,
      o.lastLoginIp ?? null,
      ts(),
      o.status ?? 'active',
      ts(),
      ts(new Date(Date.now() - 86_400_000)),
      ts(new Date(Date.now() - 86_400_000)),
    ],
  )
  return { id, email: o.email, password: pw }
}

export async function seedTenant(
  db: SeedDb,
  name: string,
  members: Array<{ accountId: string; role: string; current?: boolean }>,
): Promise<string> {
  const id = randomUUID()
  await db.query(
    `insert into tenants (id, name, plan, status, created_at, updated_at) values (?, ?, 'basic', 'normal', ?, ?)`,
    [id, name, ts(), ts()],
  )
  for (const m of members) {
    await db.query(
      `insert into tenant_account_joins (id, tenant_id, account_id, role, current, created_at, updated_at) values (?, ?, ?, ?, ?, ?, ?)`,
      [randomUUID(), id, m.accountId, m.role, m.current ?? false, ts(), ts()],
    )
  }
  return id
}

/** One login as Dify's _store_refresh_token does it: refresh_token:<token> = id, account_refresh_token:<id> = token. */
export async function seedSession(redis: Redis, prefix: string, accountId: string): Promise<string> {
  const token = randomBytes(64).toString('hex')
  await redis.set(`${prefix}refresh_token:${token}`, accountId, 'EX', 30 * 86400)
  await redis.set(`${prefix}account_refresh_token:${accountId}`, token, 'EX', 30 * 86400)
  return token
}

/** Every key under the prefix with its type, value and whether it has a TTL (for before/after comparisons). */
export async function redisSnapshot(redis: Redis, prefix: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {}
  let cursor = '0'
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000)
    cursor = next
    for (const k of batch) {
      if (k.endsWith('dify_ops:audit')) continue
      const type = await redis.type(k)
      const value =
        type === 'string'
          ? await redis.get(k)
          : type === 'zset'
            ? JSON.stringify(await redis.zrange(k, 0, -1, 'WITHSCORES'))
            : type
      out[k] = `${type}:${value}`
    }
  } while (cursor !== '0')
  return out
}

/** Python's check of Dify's compare_password on the stored columns (an independent implementation). */
export const PY_COMPARE = [
  'import base64, binascii, hashlib, sys',
  'pw, hashed, salt = sys.argv[1], sys.argv[2], sys.argv[3]',
  'dk = binascii.hexlify(hashlib.pbkdf2_hmac("sha256", pw.encode("utf-8"), base64.b64decode(salt), 10000))',
  'print("ok" if dk == base64.b64decode(hashed) else "bad")',
].join('\n')

/** Run the built CLI in a pseudo-terminal (Python's pty), typing `answers` at the prompts. */
export function runCliInPty(
  args: string[],
  env: Record<string, string>,
  answers: Array<[prompt: string, answer: string]>,
): { code: number; out: string } {
  const script = fileURLToPath(new URL('pty-run.py', import.meta.url))
  const fullEnv = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', TERM: 'xterm', ...env }
  const res = execFileSync(
    PYTHON,
    [script, JSON.stringify([process.execPath, BIN, ...args]), JSON.stringify(fullEnv), JSON.stringify(answers)],
    { timeout: 90_000 },
  )
  return JSON.parse(res.toString())
}
