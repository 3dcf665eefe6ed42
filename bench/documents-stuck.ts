// `dify documents stuck` over 100 000 non-terminal documents (Dify 1.12.1 schema, 20 000 segments) with 10 000
// indexing messages in `priority_dataset`, next to the floor measured in the same run: the same two SQL queries
// (documents; segment states grouped) plus LRANGE of the queue, in one Node process with pg + ioredis.
// Target: < 2 s and < 200 MB peak RSS (the CLI process). Build first (dist/). Run: npm run bench -- documents-stuck
// BENCH_BEFORE=/copy/of/an/older/build/bin/run.js also runs that build, interleaved with this one (before/after in
// the same run, on the same data).
import { randomBytes } from 'node:crypto'
import { loadavg } from 'node:os'
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import { Redis } from 'ioredis'
import { loadRelease } from '../test/support/oracles.js'
import { scratchPg } from '../test/support/scratch.js'
import { PG } from '../test/support/services.js'
import { buildTaskMessage } from '../src/documents/celery-message.js'

const DOCS = Number(process.argv[2] ?? 100_000)
const MESSAGES = Number(process.argv[3] ?? 10_000)
const name = `dops_bench_${randomBytes(4).toString('hex')}`
const BIN = fileURLToPath(new URL('../bin/run.js', import.meta.url))
const BINS: Array<[string, string]> = [
  ...(process.env.BENCH_BEFORE ? [['before', process.env.BENCH_BEFORE] as [string, string]] : []),
  ['', BIN],
]
const db = await scratchPg('benchdocs')
const broker = new Redis({ host: '127.0.0.1', port: 6379, db: 1 })
const c = new pg.Client({ ...PG, database: db.name })
try {
  await loadRelease(db, 'postgres', '1.12.1')
  await c.connect()
  const t0 = performance.now()
  const tenant = '6f0c1d2e-3a4b-4c5d-8e9f-0a1b2c3d4e5f'
  await c.query(`insert into tenants (id, name) values ('${tenant}', 'bench')`)
  // 100 datasets, DOCS documents spread over them, a fifth of them with one completed segment
  await c.query(`insert into datasets (id, tenant_id, name, provider, permission, created_by, indexing_technique)
    select md5('ds' || i)::uuid, '${tenant}', 'ds' || i, 'vendor', 'only_me', '${tenant}', 'high_quality' from generate_series(1, 100) i`)
  await c.query(`insert into documents (id, tenant_id, dataset_id, position, data_source_type, batch, name, created_from, created_by, indexing_status, doc_form)
    select md5('doc' || i)::uuid, '${tenant}', md5('ds' || (i % 100 + 1))::uuid, i, 'upload_file', 'b', 'doc' || i || '.txt', 'web', '${tenant}',
      (array['waiting','parsing','splitting','indexing'])[i % 4 + 1], 'text_model' from generate_series(1, ${DOCS}) i`)
  await c.query(`insert into document_segments (id, tenant_id, dataset_id, document_id, position, content, word_count, tokens, hit_count, status, created_by)
    select gen_random_uuid(), '${tenant}', md5('ds' || (i % 100 + 1))::uuid, md5('doc' || i)::uuid, 1, 'x', 1, 1, 0, 'completed', '${tenant}'
    from generate_series(1, ${DOCS}, 5) i`)
  await c.query('analyze')
  const ids = (await c.query(`select id, dataset_id from documents order by position limit ${MESSAGES}`))
    .rows as Array<{ id: string; dataset_id: string }>
  const pipe = broker.pipeline()
  for (const r of ids) {
    const m = buildTaskMessage({
      task: 'tasks.document_indexing_task.priority_document_indexing_task',
      queue: 'priority_dataset',
      args: [],
      kwargs: { tenant_id: tenant, dataset_id: r.dataset_id, document_ids: [r.id] },
    })
    pipe.lpush(`${name}:${m.list}`, m.payload)
  }
  await pipe.exec()
  console.log(
    `generated ${DOCS} documents and ${MESSAGES} messages in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  )
  const load = () =>
    loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')
  console.log(`load average before the runs: ${load()}`)

  const floor = async () => {
    const s = performance.now()
    const f = new pg.Client({ ...PG, database: db.name })
    await f.connect()
    const r = new Redis({ host: '127.0.0.1', port: 6379, db: 1 })
    await f.query(`select id, dataset_id, tenant_id, name, indexing_status, is_paused, created_at, processing_started_at, parsing_completed_at, cleaning_completed_at, splitting_completed_at
      from documents where indexing_status not in ('completed', 'error') order by created_at, position, id`)
    await f.query(`select s.document_id, s.status, count(*) from document_segments s join documents d on d.id = s.document_id
      where d.indexing_status not in ('completed', 'error') group by s.document_id, s.status`)
    const raws = await r.lrange(`${name}:priority_dataset`, 0, -1)
    if (raws.length !== MESSAGES) throw new Error('floor: wrong message count')
    await f.end()
    r.disconnect()
    return (performance.now() - s) / 1000
  }
  const env = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    ...(process.env.BENCH_NODE_OPTIONS ? { NODE_OPTIONS: process.env.BENCH_NODE_OPTIONS } : {}),
    ...db.env,
    REDIS_HOST: '127.0.0.1',
    REDIS_PORT: '6379',
    REDIS_KEY_PREFIX: name,
    CELERY_BROKER_URL: 'redis://127.0.0.1:6379/1',
  }
  for (const json of [false, true]) {
    const floors: number[] = []
    const runs = new Map<string, Array<{ wall: number; cpu: number; rss: number }>>(BINS.map(([label]) => [label, []]))
    for (let i = 0; i < 3; i++) {
      floors.push(await floor())
      for (const [label, bin] of BINS) {
        const start = performance.now()
        const r = spawnSync(
          '/usr/bin/time',
          ['-f', '%U %S %M', process.execPath, bin, 'documents', 'stuck', ...(json ? ['--json'] : [])],
          { env, encoding: 'utf8', maxBuffer: 512 * 1024 * 1024 },
        )
        const wall = (performance.now() - start) / 1000
        if (r.status !== 8) throw new Error(`stuck exited ${r.status}: ${r.stderr.slice(0, 2000)}`)
        if (json) {
          const out = JSON.parse(r.stdout)
          if (out.documents.length !== DOCS || out.counts.queued !== MESSAGES)
            throw new Error(`unexpected: ${out.documents.length} documents, ${out.counts.queued} queued`)
        }
        const [u, sy, kb] = r.stderr.trim().split('\n').pop()!.split(' ').map(Number)
        runs.get(label)!.push({ wall, cpu: u! + sy!, rss: kb! / 1024 })
      }
    }
    const bestFloor = Math.min(...floors)
    for (const [label, rs] of runs) {
      const best = Math.min(...rs.map((x) => x.wall))
      console.log(
        `${label ? `[${label}] ` : ''}documents stuck${json ? ' --json' : ''} over ${DOCS} documents, ${MESSAGES} messages: best ${best.toFixed(2)} s wall (target < 2 s), ` +
          `${Math.min(...rs.map((x) => x.cpu)).toFixed(2)} s CLI CPU, peak RSS max ${Math.max(...rs.map((x) => x.rss)).toFixed(0)} MB (target < 200 MB); ` +
          `floor (SQL + LRANGE) best ${bestFloor.toFixed(2)} s → ${(best / bestFloor).toFixed(2)}× the floor`,
      )
    }
  }
  console.log(`load average after the runs: ${load()}`)
} finally {
  await c.end().catch(() => {})
  let cursor = '0'
  do {
    const [next, keys] = await broker.scan(cursor, 'MATCH', `${name}:*`, 'COUNT', 1000)
    cursor = next
    if (keys.length) await broker.unlink(...keys)
  } while (cursor !== '0')
  broker.disconnect()
  await db.drop()
}
