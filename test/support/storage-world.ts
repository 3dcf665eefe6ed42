import { randomUUID } from 'node:crypto'
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { connectScratch, scratchMysql, scratchPg, scratchRedis, type Scratch, type ScratchRedis } from './scratch.js'
import { loadRelease } from './oracles.js'

/**
 * A seeded Dify deployment for the storage commands: a release schema on a scratch PostgreSQL database and an
 * OpenDAL fs storage in a temp dir, with files of every reference kind, planted orphans (old and young), one file
 * referenced only from text and one row whose object is missing.
 */
export interface StorageWorld {
  scratch: Scratch
  /** its own Redis key space (the audit stream of the writing commands lands there) */
  redis: ScratchRedis
  root: string
  env: Record<string, string>
  /** a plain SQL connection to the scratch database (`$1` placeholders on both dialects) */
  query(text: string, params?: unknown[]): Promise<Array<Record<string, any>>>
  tenants: [string, string]
  /** every object written: path → size */
  objects: Map<string, number>
  /** the planted old orphans (paths) */
  orphans: string[]
  youngOrphan: string
  textOnly: string
  missingRow: { table: 'upload_files'; id: string; key: string }
  /** insert a row, filling every NOT NULL column without a default */
  insert(table: string, values: Record<string, unknown>): Promise<string>
  put(path: string, content: string | Buffer, ageDays?: number): void
  close(): Promise<void>
}

const DAY = 86_400

export async function storageWorld(
  tag: string,
  release: string,
  dialect: 'postgres' | 'mysql' = 'postgres',
): Promise<StorageWorld> {
  const scratch = dialect === 'postgres' ? await scratchPg(tag) : await scratchMysql(tag)
  const redis = await scratchRedis(tag)
  await loadRelease(scratch, dialect, release)
  const { query, end } = await connectScratch(scratch)
  const schema = dialect === 'postgres' ? 'current_schema()' : 'database()'
  const root = mkdtempSync(join(tmpdir(), `dops-${tag}-`))
  const objects = new Map<string, number>()
  const put = (path: string, content: string | Buffer, ageDays = 30) => {
    const f = join(root, path)
    mkdirSync(dirname(f), { recursive: true })
    writeFileSync(f, content)
    const t = Date.now() / 1000 - ageDays * DAY
    utimesSync(f, t, t)
    objects.set(path, Buffer.byteLength(content))
  }
  const colCache = new Map<
    string,
    Array<{ column_name: string; data_type: string; is_nullable: string; column_default: string | null }>
  >()
  const insert = async (table: string, values: Record<string, unknown>): Promise<string> => {
    if (!colCache.has(table)) {
      const rows = await query(
        `select column_name as column_name, data_type as data_type, is_nullable as is_nullable, column_default as column_default from information_schema.columns where table_schema = ${schema} and table_name = $1`,
        [table],
      )
      if (!rows.length) throw new Error(`no table ${table}`)
      colCache.set(table, rows as any)
    }
    const row: Record<string, unknown> = { ...values }
    if (!('id' in row) && colCache.get(table)!.some((c) => c.column_name === 'id')) row.id = randomUUID()
    for (const c of colCache.get(table)!) {
      if (c.column_name in row || c.is_nullable === 'YES' || c.column_default !== null) continue
      row[c.column_name] = filler(c.data_type)
    }
    const cols = Object.keys(row)
    await query(
      `insert into ${table} (${cols.map((c) => `"${c}"`).join(',')}) values (${cols.map((_, i) => `$${i + 1}`).join(',')})`,
      cols.map((c) => row[c]),
    )
    return String(row.id)
  }
  const t1 = randomUUID()
  const t2 = randomUUID()
  for (const t of [t1, t2]) {
    await insert('tenants', { id: t, name: `t-${t.slice(0, 4)}` })
    put(`privkeys/${t}/private.pem`, '-----BEGIN RSA PRIVATE KEY-----\nx\n-----END RSA PRIVATE KEY-----\n', 200)
  }
  const account = randomUUID()
  const upload = async (tenant: string, ext: string, opts: { ageDays?: number; object?: boolean } = {}) => {
    const key = `upload_files/${tenant}/${randomUUID()}.${ext}`
    const id = await insert('upload_files', {
      tenant_id: tenant,
      storage_type: 'opendal',
      key,
      name: `f.${ext}`,
      size: 11,
      extension: ext,
      created_by: account,
      created_at: new Date(Date.now() - (opts.ageDays ?? 30) * DAY * 1000),
    })
    if (opts.object !== false) put(key, 'hello world', opts.ageDays ?? 30)
    return { id, key }
  }
  // referenced files of every kind
  const avatar = await upload(t1, 'png')
  await insert('accounts', { id: account, name: 'a', email: `a-${account.slice(0, 6)}@example.com`, avatar: avatar.id })
  const icon = await upload(t1, 'png')
  const app = await insert('apps', { tenant_id: t1, name: 'app', mode: 'workflow', icon: icon.id, icon_type: 'image' })
  await insert('sites', { app_id: app, title: 'app', icon: icon.id, code: randomUUID().slice(0, 8) })
  const markdownOnly = await upload(t2, 'jpg')
  const dataset = randomUUID()
  const document = randomUUID()
  await insert('document_segments', {
    tenant_id: t2,
    dataset_id: dataset,
    document_id: document,
    position: 1,
    word_count: 3,
    tokens: 3,
    content: `see ![chart](/files/${markdownOnly.id}/image-preview?timestamp=1&nonce=2&sign=3)`,
    created_by: account,
  })
  const workflowOut = await upload(t1, 'csv')
  await insert('workflow_runs', {
    tenant_id: t1,
    app_id: app,
    workflow_id: randomUUID(),
    type: 'workflow',
    triggered_from: 'app-run',
    version: 'draft',
    status: 'succeeded',
    created_by_role: 'account',
    created_by: account,
    outputs: JSON.stringify({
      file: { dify_model_identity: '__dify__file__', related_id: workflowOut.id, transfer_method: 'local_file' },
    }),
  })
  const toolName = randomUUID().replace(/-/g, '')
  const toolKey = `tools/${t1}/${toolName}.png`
  const toolId = await insert('tool_files', {
    user_id: account,
    tenant_id: t1,
    conversation_id: null,
    file_key: toolKey,
    mimetype: 'image/png',
    name: 'chart.png',
    size: 5,
  })
  put(toolKey, 'tool!')
  await insert('messages', {
    app_id: app,
    conversation_id: randomUUID(),
    query: 'q',
    message: '[]',
    answer: `![chart](/files/tools/${toolId}.png?timestamp=1&nonce=2&sign=3)`,
    message_unit_price: 0,
    answer_unit_price: 0,
    provider_response_latency: 0,
    total_price: 0,
    currency: 'USD',
    from_source: 'api',
  })
  // non-user areas: never orphans
  put('.dify_secret_key', 'sk-generated\n', 100)
  put(`keyword_files/${t1}/${dataset}.txt`, '{"__type__":"keyword_table"}', 100)
  put('custom-backups/old.tar', 'unknown prefix', 100)
  put(`ops_trace/${app}/${randomUUID()}.json`, '{}', 100)
  // a row-less object named in a segment: kept
  const textOnlyId = randomUUID()
  const textOnly = `upload_files/${t2}/${textOnlyId}.png`
  put(textOnly, 'text only', 40)
  await insert('document_segments', {
    tenant_id: t2,
    dataset_id: dataset,
    document_id: document,
    position: 2,
    word_count: 3,
    tokens: 3,
    content: `old link /files/${textOnlyId}/file-preview`,
    created_by: account,
  })
  // planted orphans: three old, one young
  const orphans = [
    `upload_files/${t1}/${randomUUID()}.txt`,
    `tools/${t2}/${randomUUID().replace(/-/g, '')}.bin`,
    `image_files/${t1}/${randomUUID()}.png`,
  ]
  orphans.forEach((p, i) => put(p, 'orphan'.repeat(i + 1), 10 + i))
  const youngOrphan = `upload_files/${t2}/${randomUUID()}.txt`
  put(youngOrphan, 'young', 0)
  // a row whose object is missing
  const missing = await upload(t2, 'pdf', { object: false })
  return {
    scratch,
    redis,
    root,
    query,
    tenants: [t1, t2],
    objects,
    orphans,
    youngOrphan,
    textOnly,
    missingRow: { table: 'upload_files', id: missing.id, key: missing.key },
    env: { ...scratch.env, ...redis.env, STORAGE_TYPE: 'opendal', OPENDAL_SCHEME: 'fs', OPENDAL_FS_ROOT: root },
    insert,
    put,
    async close() {
      await end().catch(() => {})
      await scratch.drop()
      await redis.drop()
      rmSync(root, { recursive: true, force: true })
    },
  }
}

function filler(type: string): unknown {
  if (type === 'uuid' || type === 'char') return randomUUID() // MySQL keeps ids in CHAR(36)
  if (/char|text/.test(type)) return '{}' // valid JSON too: MariaDB keeps JSON in LONGTEXT with a json_valid check
  if (/int|numeric|decimal|double|real|float/.test(type)) return 0
  if (type === 'boolean') return false
  if (/timestamp|date/.test(type)) return new Date()
  if (/json/.test(type)) return '{}'
  return 'x'
}
