/**
 * The per-release command matrix: on a database created by EVERY Dify release that has a schema fixture
 * (ORACLE_RELEASES, test/support/oracles.ts: PostgreSQL 1.0.0 → 1.15.0, MariaDB from 1.10.1), in process
 * (test/support/in-process.ts), one scratch database per release reused by every command:
 * - db verify (the schema is exactly Dify's at its alembic_version) and db status;
 * - reset-password, account ban / unban, reset-email;
 * - encryption check, then encryption rotate: every value of every tenant-key location that exists at the release
 *   (src/dify/encrypted-columns.ts) is re-encrypted and decrypts to its old plaintext with the new key;
 * - vdb check and vdb-migrate (pgvector → pgvector): text, QA, parent-child (child chunks), annotations; the check
 *   finds nothing missing and the migration copies exactly the live set.
 * Rows are seeded with test/support/release-seed.ts (each release's own columns), so nothing here assumes one
 * release's layout.
 */
import { randomUUID } from 'node:crypto'
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runInProcess } from '../../support/in-process.js'
import { ORACLE_RELEASES, loadRelease, releaseSchema } from '../../support/oracles.js'
import { scratchMysql, scratchPg, scratchRedis, type Scratch, type ScratchRedis } from '../../support/scratch.js'
import { seedAccount, seedDb, seedSession, type SeedDb } from '../../support/dify-accounts.js'
import { releaseSink, type ReleaseSink } from '../../support/release-seed.js'
import { pgvectorAvailable, pgvectorVars, writeEnvFile } from '../../support/pgvector.js'
import { configFromVars } from '../../support/config.js'
import { unitVector } from '../../support/vdb-seed.js'
import { TENANT_ENCRYPTED_COLUMNS } from '../../../src/dify/encrypted-columns.js'
import { privateKeyPath } from '../../../src/dify/keys.js'
import { classPrefixForStore, indexStructJson } from '../../../src/dify/collections.js'
import { decryptToken, encryptToken, generateTenantKeyPair } from '../../../src/crypto/tenant-key.js'
import { extractTokens } from '../../../src/encryption/values.js'
import { openVectorStore } from '../../../src/vector/index.js'
import type { VectorRecord, VectorStore, VectorTarget } from '../../../src/vector/store.js'
import { dump } from '../../support/vdb-migrate-world.js'
import ResetPassword from '../../../commands/reset-password.js'
import AccountBan from '../../../commands/account/ban.js'
import AccountUnban from '../../../commands/account/unban.js'
import ResetEmail from '../../../commands/reset-email.js'
import EncryptionCheck from '../../../commands/encryption/check.js'
import EncryptionRotate from '../../../commands/encryption/rotate.js'
import VdbCheck from '../../../commands/vdb/check.js'
import VdbMigrate from '../../../commands/vdb-migrate.js'
import DbVerify from '../../../commands/db/verify.js'
import DbStatus from '../../../commands/db/status.js'

const pgvectorUp = await pgvectorAvailable()
if (!pgvectorUp) console.warn('SKIPPED vdb part: pgvector missing; run scripts/services/pgvector.sh')

const DIM = 8
const CASES: Array<['postgres' | 'mysql', string]> = ORACLE_RELEASES.flatMap((r) =>
  r.dialects.map((d) => [d, r.release] as ['postgres' | 'mysql', string]),
)

let redis: ScratchRedis
let vsrc: Scratch
let vdst: Scratch
let src: VectorStore | undefined
let dst: VectorStore | undefined
let sourceEnvFile: string
beforeAll(async () => {
  redis = await scratchRedis('matrix')
  vsrc = await scratchPg('matrixvsrc')
  vdst = await scratchPg('matrixvdst')
  if (pgvectorUp) {
    src = await openVectorStore(configFromVars({ VECTOR_STORE: 'pgvector', ...pgvectorVars(vsrc.name) }))
    dst = await openVectorStore(configFromVars({ VECTOR_STORE: 'pgvector', ...pgvectorVars(vdst.name) }))
  }
  sourceEnvFile = writeEnvFile({ VECTOR_STORE: 'pgvector', ...pgvectorVars(vsrc.name) }, 'matrix')
}, 60_000)
afterAll(async () => {
  await src?.close()
  await dst?.close()
  await vsrc?.drop()
  await vdst?.drop()
  await redis?.drop()
})

interface Secret {
  table: string
  column: string
  id: string
  plaintext: string
}

/** one tenant with a secret in every tenant-key location the release has; its private key in storage */
async function seedSecrets(sink: ReleaseSink, root: string): Promise<{ tenantId: string; secrets: Secret[] }> {
  const kp = await generateTenantKeyPair()
  const tenantId = randomUUID()
  await sink.insert('tenants', { id: tenantId, name: 'ws', encrypt_public_key: kp.publicPem })
  const file = join(root, privateKeyPath(tenantId))
  mkdirSync(dirname(file), { recursive: true })
  writeFileSync(file, kp.privatePem)
  const appId = randomUUID()
  await sink.insert('apps', { id: appId, tenant_id: tenantId, name: 'a', mode: 'chat', status: 'normal' })
  const secrets: Secret[] = []
  // one row per table, a secret in each of its locations (unique names per tenant allow no second row)
  const byTable = new Map<string, Array<(typeof TENANT_ENCRYPTED_COLUMNS)[number]>>()
  for (const c of TENANT_ENCRYPTED_COLUMNS) {
    if (!sink.has(c.table, c.column)) continue
    byTable.set(c.table, [...(byTable.get(c.table) ?? []), c])
  }
  for (const [table, cols] of byTable) {
    const id = randomUUID()
    const row: Record<string, unknown> = {
      id,
      ...(cols[0]!.tenantVia === 'app' ? { app_id: appId } : { tenant_id: tenantId }),
    }
    for (const c of cols) {
      const plaintext = `${c.table}.${c.column}-sécret`
      const tok = encryptToken(plaintext, kp.publicPem)
      row[c.column] = c.format === 'token' ? tok : JSON.stringify({ api_key: tok, region: 'eu' })
      secrets.push({ table, column: c.column, id, plaintext })
    }
    await sink.insert(table, row)
  }
  return { tenantId, secrets }
}

/** text + QA, parent-child and an annotation app, with every live vector in the source store */
async function seedVectors(sink: ReleaseSink, s: VectorStore) {
  const tenantId = randomUUID()
  const user = randomUUID()
  const live = new Map<string, string[]>()
  const rec = (docId: string, text: string, metadata: Record<string, unknown>): VectorRecord => ({
    id: docId,
    docId,
    text,
    metadata: { ...metadata, doc_id: docId },
    vector: unitVector(text, DIM),
  })
  const put = async (t: VectorTarget, recs: VectorRecord[]) => {
    await s.ensureCollection(t, DIM)
    await s.upsert(t, recs)
  }
  const binding = async (type: string) => {
    const id = randomUUID()
    await sink.insert('dataset_collection_bindings', {
      id,
      provider_name: 'openai',
      model_name: 'text-embedding-3-small',
      collection_name: `Vector_index_${randomUUID().replace(/-/g, '_')}_Node`,
      ...(sink.has('dataset_collection_bindings', 'type') ? { type } : {}),
    })
    return id
  }
  let pos = 0
  const dataset = async () => {
    const id = randomUUID()
    const coll = classPrefixForStore('pgvector', id)!
    await sink.insert('datasets', {
      id,
      tenant_id: tenantId,
      name: `ds ${id.slice(0, 6)}`,
      provider: 'vendor',
      permission: 'only_me',
      created_by: user,
      indexing_technique: 'high_quality',
      index_struct: indexStructJson('pgvector', coll),
      embedding_model: 'text-embedding-3-small',
      embedding_model_provider: 'openai',
      collection_binding_id: await binding('dataset'),
      is_multimodal: false,
    })
    live.set(id, [])
    return { id, target: { collection: coll } as VectorTarget }
  }
  const document = async (ds: string, docForm: string) => {
    const id = randomUUID()
    await sink.insert('documents', {
      id,
      tenant_id: tenantId,
      dataset_id: ds,
      position: ++pos,
      data_source_type: 'upload_file',
      batch: 'b',
      name: 'd.txt',
      created_from: 'web',
      created_by: user,
      indexing_status: 'completed',
      enabled: true,
      archived: false,
      doc_form: docForm,
    })
    return id
  }
  const segment = async (ds: string, doc: string, content: string, answer?: string) => {
    const id = randomUUID()
    const node = randomUUID()
    await sink.insert('document_segments', {
      id,
      tenant_id: tenantId,
      dataset_id: ds,
      document_id: doc,
      position: ++pos,
      content,
      answer: answer ?? null,
      word_count: content.length,
      tokens: 1,
      enabled: true,
      status: 'completed',
      created_by: user,
      index_node_id: node,
      index_node_hash: `h${node.slice(0, 6)}`,
    })
    return { id, node }
  }
  const meta = (ds: string, doc: string, node: string) => ({
    doc_hash: `h${node.slice(0, 6)}`,
    document_id: doc,
    dataset_id: ds,
  })

  // text + QA
  const a = await dataset()
  const d1 = await document(a.id, 'text_model')
  const recs: VectorRecord[] = []
  for (let i = 0; i < 3; i++) {
    const g = await segment(a.id, d1, `text ${i} of ${a.id}`)
    live.get(a.id)!.push(g.node)
    recs.push(rec(g.node, `text ${i} of ${a.id}`, meta(a.id, d1, g.node)))
  }
  const dq = await document(a.id, 'qa_model')
  const q = await segment(a.id, dq, `question of ${a.id}?`, 'the answer')
  live.get(a.id)!.push(q.node)
  recs.push(rec(q.node, `question of ${a.id}?`, { ...meta(a.id, dq, q.node), answer: 'the answer' }))
  await put(a.target, recs)

  // parent-child: the child chunks are live, the parent is not
  const b = await dataset()
  const dp = await document(b.id, 'hierarchical_model')
  const parent = await segment(b.id, dp, `parent of ${b.id}`)
  const pcRecs: VectorRecord[] = []
  for (let k = 0; k < 2; k++) {
    const node = randomUUID()
    const content = `child ${k} of ${b.id}`
    await sink.insert('child_chunks', {
      id: randomUUID(),
      tenant_id: tenantId,
      dataset_id: b.id,
      document_id: dp,
      segment_id: parent.id,
      position: ++pos,
      content,
      word_count: content.length,
      created_by: user,
      index_node_id: node,
      index_node_hash: `h${node.slice(0, 6)}`,
      type: 'automatic',
    })
    live.get(b.id)!.push(node)
    pcRecs.push(rec(node, content, meta(b.id, dp, node)))
  }
  await put(b.target, pcRecs)

  // annotation reply: vectors in VECTOR_STORE's `{prefix}_{app id}_Node`
  const app = randomUUID()
  await sink.insert('apps', { id: app, tenant_id: tenantId, name: 'bot', mode: 'chat', status: 'normal' })
  await sink.insert('app_annotation_settings', {
    id: randomUUID(),
    app_id: app,
    collection_binding_id: await binding('annotation'),
    created_user_id: user,
    updated_user_id: user,
  })
  live.set(app, [])
  const annRecs: VectorRecord[] = []
  for (let i = 0; i < 2; i++) {
    const id = randomUUID()
    const question = `annotation ${i} of ${app}`
    await sink.insert('message_annotations', { id, app_id: app, question, content: 'answer', account_id: user })
    live.get(app)!.push(id)
    annRecs.push(rec(id, question, { annotation_id: id, app_id: app }))
  }
  const annTarget: VectorTarget = { collection: classPrefixForStore('pgvector', app)! }
  await put(annTarget, annRecs)
  return {
    tenantId,
    live,
    targets: new Map([
      [a.id, a.target],
      [b.id, b.target],
      [app, annTarget],
    ]),
  }
}

describe.each(CASES)('every command on Dify %s %s', (dialect, release) => {
  let scratch: Scratch
  let db: SeedDb
  let sink: ReleaseSink
  let root: string
  let env: Record<string, string>
  const run = (cmd: Parameters<typeof runInProcess>[0], argv: string[]) =>
    runInProcess(cmd, [...argv, '--json'], { env })

  beforeAll(async () => {
    scratch = dialect === 'postgres' ? await scratchPg(`mx${release}`) : await scratchMysql(`mx${release}`)
    await loadRelease(scratch, dialect, release)
    db = await seedDb(dialect, scratch.name)
    sink = releaseSink(db, await releaseSchema(dialect, release), dialect)
    root = mkdtempSync(join(tmpdir(), 'dops-mx-'))
    env = {
      ...scratch.env,
      ...redis.env,
      STORAGE_TYPE: 'opendal',
      OPENDAL_SCHEME: 'fs',
      OPENDAL_FS_ROOT: root,
      EDITION: 'SELF_HOSTED',
      VECTOR_STORE: 'pgvector',
      ...pgvectorVars(vdst.name),
      DIFY_OPS_CONNECT_TIMEOUT: '3',
    }
  }, 120_000)
  afterAll(async () => {
    await db?.close()
    await scratch?.drop()
    if (root) rmSync(root, { recursive: true, force: true })
  })

  it('db verify and db status: the schema is Dify’s own at its revision', async () => {
    const v = await run(DbVerify, [])
    expect(v.code, v.stdout + v.stderr).toBe(0)
    const s = await run(DbStatus, [])
    expect(s.code, s.stdout + s.stderr).toBe(0)
  })

  it('reset-password, account ban / unban, reset-email', async () => {
    const tag = `${dialect}${release.replace(/\./g, '')}`
    const email = `mx-${tag}@example.com`
    const a = await seedAccount(db, { email })
    await redis.client.set(`${redis.prefix}login_error_rate_limit:${email}`, '6', 'EX', 600)
    await seedSession(redis.client, redis.prefix, a.id)
    const before = (await db.query('select password from accounts where id = ?', [a.id]))[0]!.password
    const r = await run(ResetPassword, ['--email', email, '--new-password', 'Correct-horse-battery-9'])
    expect(r.code, r.stdout + r.stderr).toBe(0)
    expect((await db.query('select password from accounts where id = ?', [a.id]))[0]!.password).not.toBe(before)
    expect(await redis.client.exists(`${redis.prefix}login_error_rate_limit:${email}`)).toBe(0)

    const ban = await run(AccountBan, [email])
    expect(ban.code, ban.stdout + ban.stderr).toBe(0)
    expect((await db.query('select status from accounts where id = ?', [a.id]))[0]!.status).toBe('banned')
    const unban = await run(AccountUnban, [email])
    expect(unban.code, unban.stdout + unban.stderr).toBe(0)
    expect((await db.query('select status from accounts where id = ?', [a.id]))[0]!.status).toBe('active')

    const newEmail = `moved-${tag}@example.com`
    const e = await run(ResetEmail, ['--email', email, '--new-email', newEmail])
    expect(e.code, e.stdout + e.stderr).toBe(0)
    expect((await db.query('select email from accounts where id = ?', [a.id]))[0]!.email).toBe(newEmail)
  })

  it('encryption check and rotate: every location of the release, each value decrypts with the new key', async () => {
    const { tenantId, secrets } = await seedSecrets(sink, root)
    expect(secrets.length).toBeGreaterThanOrEqual(10)
    const c = await run(EncryptionCheck, [])
    expect(c.code, c.stdout + c.stderr).toBe(0)
    expect(c.json.summary).toMatchObject({ tenants: 1, tenantsOk: 1, values: secrets.length, undecryptable: 0 })
    const oldKey = readFileSync(join(root, privateKeyPath(tenantId)), 'utf8')
    const r = await run(EncryptionRotate, ['--yes'])
    expect(r.code, r.stdout + r.stderr).toBe(0)
    expect(r.json.summary).toMatchObject({ rotated: 1, failed: 0, reencrypted: secrets.length, undecryptable: 0 })
    const key = readFileSync(join(root, privateKeyPath(tenantId)), 'utf8')
    expect(key).not.toBe(oldKey)
    const text = (col: string) => (dialect === 'mysql' ? `cast(${col} as char)` : `${col}::text`)
    for (const s of secrets) {
      const col = TENANT_ENCRYPTED_COLUMNS.find((x) => x.table === s.table && x.column === s.column)!
      const raw = (await db.query(`select ${text(s.column)} as raw from ${s.table} where id = ?`, [s.id]))[0]!.raw
      const toks = extractTokens(col, raw as string).tokens
      expect(toks, `${s.table}.${s.column}`).toHaveLength(1)
      expect(decryptToken(toks[0]!, key), `${s.table}.${s.column}`).toBe(s.plaintext)
    }
  })

  it.runIf(pgvectorUp)(
    'vdb check and vdb-migrate (pgvector): nothing missing, exactly the live set copied',
    async () => {
      const w = await seedVectors(sink, src!)
      // the check runs against VECTOR_STORE's settings: the source first
      const ck = await runInProcess(VdbCheck, ['--tenant', w.tenantId, '--sample', '0', '--json'], {
        env: { ...env, ...pgvectorVars(vsrc.name) },
      })
      expect(ck.code, ck.stdout + ck.stderr).toBe(0)
      for (const t of ck.json.targets)
        expect(t, `${t.scope} ${t.id}`).toMatchObject({ status: 'consistent', missing: 0, orphaned: 0 })
      expect(ck.json.targets.map((t: { id: string }) => t.id).sort()).toEqual([...w.live.keys()].sort())

      const m = await run(VdbMigrate, [
        '--from',
        'pgvector',
        '--source-env-file',
        sourceEnvFile,
        '--tenant',
        w.tenantId,
        '--yes',
      ])
      expect(m.code, m.stdout + m.stderr).toBe(0)
      for (const u of m.json.units) expect(u, u.id).toMatchObject({ outcome: 'migrated', missing: 0 })
      for (const [id, t] of w.targets) {
        const got = await dump(dst!, t)
        expect([...got.keys()].sort(), id).toEqual([...w.live.get(id)!].sort())
      }
      // switched: the same check against the target finds everything
      const after = await run(VdbCheck, ['--tenant', w.tenantId, '--sample', '0'])
      expect(after.code, after.stdout + after.stderr).toBe(0)
    },
    120_000,
  )
})
