import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { parseRevisionHeader, readDifyCode } from '../../../src/dify/dify-code.js'
import { buildChain, nearestRevisions } from '../../../src/migrations/graph.js'
import { makePlan, resolveRevisionArg, resolveTarget } from '../../../src/migrations/plan.js'
import { planSql, versionStatement } from '../../../src/migrations/runner.js'
import { BASELINE, REVISION_LIST } from '../../../src/migrations/registry.js'
import { isIgnoredTable } from '../../../src/migrations/state.js'
import type { Revision } from '../../../src/migrations/types.js'

const rev = (revision: string, downRevision: string | null): Revision => ({
  revision,
  downRevision,
  release: '1.11.0',
  description: revision,
  statements: () => [{ sql: `select '${revision}'` }],
})
// deliberately out of order: the chain comes from downRevision only
const SYNTH = [
  rev('905527cc8fd3', '7df29de0f6be'),
  rev('d57accd375ae', null),
  rev('7df29de0f6be', '03ea244985ce'),
  rev('03ea244985ce', 'd57accd375ae'),
]

describe('revision graph', () => {
  it('orders by downRevision, never by list order', () => {
    const c = buildChain(SYNTH)
    expect(c.ordered.map((r) => r.revision)).toEqual(['d57accd375ae', '03ea244985ce', '7df29de0f6be', '905527cc8fd3'])
    expect(c.head.revision).toBe('905527cc8fd3')
  })
  it('rejects branches, dangling parents and two roots', () => {
    expect(() => buildChain([...SYNTH, rev('aaaaaaaaaaaa', '03ea244985ce')])).toThrow(/children/)
    expect(() => buildChain([...SYNTH, rev('aaaaaaaaaaaa', 'ffffffffffff')])).toThrow(/not registered/)
    expect(() => buildChain([...SYNTH, rev('aaaaaaaaaaaa', null)])).toThrow(/exactly one root/)
  })
  it("the real registry is one linear chain of steps from 1.0.0's head, with the baseline beside it", () => {
    const c = buildChain(REVISION_LIST, BASELINE)
    expect(c.root.revision).toBe('4413929e1ec2')
    expect(c.floor).toBe('08ec4f75af5e')
    expect(c.baseline!.revision).toBe('d57accd375ae')
    expect(c.ordered.map((r) => r.revision)).toContain('788d3099ae3a')
    expect(c.head.revision).toBe('d9e8f7a6b5c4')
  })
  it('nearest revisions: prefix first, then edit distance', () => {
    const ids = SYNTH.map((r) => r.revision)
    expect(nearestRevisions('03ea', ids)[0]).toBe('03ea244985ce')
    expect(nearestRevisions('7df29de0f6bf', ids)[0]).toBe('7df29de0f6be')
    expect(nearestRevisions('zzzzzzzzzzzz', ids)).toEqual([])
  })
})

describe('Dify code heads', () => {
  it('parses every header style', () => {
    expect(
      parseRevisionHeader(`"""x\n\nRevision ID: abc\n"""\nrevision = '64b051264f32'\ndown_revision = None\n`),
    ).toEqual({ revision: '64b051264f32', downRevisions: [] })
    expect(parseRevisionHeader(`revision = "a1"\ndown_revision = "a0"\nbranch_labels = None\n`)).toEqual({
      revision: 'a1',
      downRevisions: ['a0'],
    })
    expect(parseRevisionHeader(`revision: str = "b1"\ndown_revision: Union[str, None] = "b0"  # parent\n`)).toEqual({
      revision: 'b1',
      downRevisions: ['b0'],
    })
    expect(
      parseRevisionHeader(`revision = '63f9175e515b'\ndown_revision = ('2a3aebbbf4bb', 'b69ca54b9208')\n`),
    ).toEqual({ revision: '63f9175e515b', downRevisions: ['2a3aebbbf4bb', 'b69ca54b9208'] })
    expect(parseRevisionHeader(`revision = 'm'\ndown_revision = (\n    "x",\n    "y",\n)\n`)).toEqual({
      revision: 'm',
      downRevisions: ['x', 'y'],
    })
    expect(parseRevisionHeader(`revision: str = "c1"\ndown_revision: str | Sequence[str] | None = None\n`)).toEqual({
      revision: 'c1',
      downRevisions: [],
    })
    expect(parseRevisionHeader(`import x\n# not a revision\n`)).toBeUndefined()
  })
  function codeDir(files: Record<string, string>): string {
    const root = mkdtempSync(join(tmpdir(), 'dify-code-'))
    const dir = join(root, 'api', 'migrations', 'versions')
    mkdirSync(dir, { recursive: true })
    for (const [f, t] of Object.entries(files)) writeFileSync(join(dir, f), t)
    return root
  }
  it('the head of the Dify code decides the target; names never order anything', () => {
    const root = codeDir({
      // file names sort in the wrong order on purpose
      'zz_first.py': `revision = 'd57accd375ae'\ndown_revision = '7bb281b7a422'\n`,
      'aa_second.py': `revision = "03ea244985ce"\ndown_revision = "d57accd375ae"\n`,
      '7bb281b7a422_x.py': `revision = '7bb281b7a422'\ndown_revision = None\n`,
      '__init__.py': '',
    })
    expect(readDifyCode(join(root, 'api', 'migrations', 'versions')).head).toBe('03ea244985ce')
    const chain = buildChain(SYNTH)
    expect(resolveTarget(chain, { difyRoot: root })).toMatchObject({ revision: '03ea244985ce', source: 'dify-code' })
    expect(resolveTarget(chain, { difyRoot: join(root, 'api') }).revision).toBe('03ea244985ce')
    expect(resolveTarget(chain, { autoDirs: [join(root, 'api', 'migrations', 'versions')] }).source).toBe('dify-code')
    expect(resolveTarget(chain, { autoDirs: [] })).toEqual({ revision: '905527cc8fd3', source: 'cli' })
    // --to past the code's head is refused (exit 4)
    expect(() => resolveTarget(chain, { difyRoot: root, to: '905527cc8fd3' })).toThrow(/past the head/)
  })
  it('a code head unknown to the CLI is exit 4, naming it', () => {
    const root = codeDir({
      'a.py': `revision = 'd57accd375ae'\ndown_revision = None\n`,
      'b.py': `revision = 'e8c3b3c46151'\ndown_revision = 'd57accd375ae'\n`,
    })
    const chain = buildChain(SYNTH)
    let err: any
    try {
      resolveTarget(chain, { difyRoot: root })
    } catch (e) {
      err = e
    }
    expect(err.exitCode).toBe(4)
    expect(err.message).toContain('e8c3b3c46151')
    expect(err.hint).toContain('newer')
  })
  it('two heads in the code are refused', () => {
    const root = codeDir({
      'a.py': `revision = 'a'\ndown_revision = None\n`,
      'b.py': `revision = 'b'\ndown_revision = 'a'\n`,
      'c.py': `revision = 'c'\ndown_revision = 'a'\n`,
    })
    expect(() => resolveTarget(buildChain(SYNTH), { difyRoot: root })).toThrow(/2 migration heads/)
  })
})

describe('plan and SQL', () => {
  const chain = buildChain(SYNTH)
  const target = { revision: '905527cc8fd3', source: 'cli' as const }
  it('empty database → whole chain; unrelated tables → refused', () => {
    expect(makePlan(chain, { versions: null, otherTables: [] }, target).pending.length).toBe(4)
    // pgvector collections in the metadata DB and the CLI's own tables do not count (as Dify's env.py ignores them)
    expect(['embedding_vector_index_ab12_nod', 'dify_ops_audit', 'accounts'].filter((t) => !isIgnoredTable(t))).toEqual(
      ['accounts'],
    )
    expect(makePlan(chain, { versions: null, otherTables: ['foo'] }, target).problem?.exitCode).toBe(4)
    expect(makePlan(chain, { versions: [], otherTables: ['accounts'] }, target).problem?.hint).toContain('db stamp')
  })
  it("version statements are Alembic's", () => {
    expect(versionStatement(null, 'd57accd375ae')).toBe(
      "INSERT INTO alembic_version (version_num) VALUES ('d57accd375ae')",
    )
    expect(versionStatement('d57accd375ae', '03ea244985ce')).toBe(
      "UPDATE alembic_version SET version_num='03ea244985ce' WHERE alembic_version.version_num = 'd57accd375ae'",
    )
    expect(() => versionStatement('x', "y'; drop table t; --")).toThrow()
    const s = planSql(makePlan(chain, { versions: ['7df29de0f6be'], otherTables: [] }, target), 'postgres', {
      createVersionTable: false,
      lockTimeoutMs: 10_000,
      statementTimeoutMs: 0,
    })
    expect(s).toContain('-- Running upgrade 7df29de0f6be -> 905527cc8fd3')
    expect(s).toContain("SET LOCAL lock_timeout = '10000ms';")
  })
})

describe("plan on the real registry (steps from 1.0.0's head, baseline beside them)", () => {
  const chain = buildChain(REVISION_LIST, BASELINE)
  const head = { revision: chain.head.revision, source: 'cli' as const }
  const ids = (p: { pending: Revision[] }) => p.pending.map((r) => r.revision)
  it('an empty database gets the baseline, then only the steps after d57accd375ae', () => {
    const p = makePlan(chain, { versions: null, otherTables: [] }, head)
    expect(p.pending[0]).toBe(BASELINE)
    expect(ids(p)[1]).toBe('03ea244985ce')
    expect(ids(p).filter((r) => r === 'd57accd375ae').length).toBe(1)
    // a target older than the baseline cannot be built from scratch
    expect(
      makePlan(chain, { versions: null, otherTables: [] }, { revision: '58eb7bdb93fe', source: 'flag' }).problem
        ?.exitCode,
    ).toBe(4)
  })
  it("a database at Dify 1.0.0's head gets every step, the step d57accd375ae included", () => {
    const p = makePlan(chain, { versions: ['08ec4f75af5e'], otherTables: ['accounts'] }, head)
    expect(p.problem).toBeUndefined()
    expect(ids(p)[0]).toBe('4413929e1ec2')
    expect(ids(p)).toContain('d57accd375ae')
    expect(p.pending.some((r) => r.baseline)).toBe(false)
    expect(ids(makePlan(chain, { versions: ['58eb7bdb93fe'], otherTables: [] }, head))[0]).toBe('1c9ba48be8e4')
  })
  it('older than 1.0.0 → exit 4 naming the release', () => {
    const p = makePlan(chain, { versions: ['a91b476a53de'], otherTables: [] }, head)
    expect(p.problem?.exitCode).toBe(4)
    expect(p.problem?.message).toContain('0.15.0')
    expect(p.problem?.hint).toContain('1.0.0')
  })
  it('MySQL: from 1.10.1 (09cfdda155d1) on; older → exit 4 naming the release', () => {
    expect(ids(makePlan(chain, { versions: ['09cfdda155d1'], otherTables: [] }, head, 'mysql'))[0]).toBe('7bb281b7a422')
    const p = makePlan(chain, { versions: ['58eb7bdb93fe'], otherTables: [] }, head, 'mysql')
    expect(p.problem?.exitCode).toBe(4)
    expect(p.problem?.message).toMatch(/1\.6\.0.*1\.10\.1/)
    expect(makePlan(chain, { versions: ['58eb7bdb93fe'], otherTables: [] }, head, 'postgres').problem).toBeUndefined()
  })
  it('--from accepts the floor; --to does not', () => {
    expect(resolveRevisionArg(chain, '08ec4f75af5e', '--from')).toBe('08ec4f75af5e')
    expect(() => resolveRevisionArg(chain, '08ec4f75af5e', '--to')).toThrow()
  })
})
