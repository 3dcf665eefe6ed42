import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { profileFor, descendsFrom } from '../../../src/dify/profile.js'
import { RELEASE_HEADS, releaseOfRevision } from '../../../src/dify/releases.js'
import { SUPPORTED_WINDOW } from '../../../src/dify/window.js'
import { checkSupported, codeAtHand } from '../../../src/dify/schema-version.js'
import { workerQueuesFor } from '../../../src/queues/deps.js'
import { pyStrip as pythonStrip } from '../../../src/core/python-str.js'
import { storeOptionsFor } from '../../../src/vector/index.js'
import { liveSetDeps } from '../../../src/dify/live-set.js'
import type { Db } from '../../../src/core/db.js'
import { configFromVars } from '../../support/config.js'

const head = (v: string) => RELEASE_HEADS.find(([r]) => r === v)![1]
const at = (v: string, dialect: 'postgres' | 'mysql' = 'postgres') => profileFor(head(v), { dialect })

// the community DEFAULT_QUEUES of api/docker/entrypoint.sh at the first tag of each change (docs/queues.md)
const Q = {
  '1.0.0': 'dataset,mail,ops_trace,app_deletion',
  '1.7.0': 'dataset,mail,ops_trace,app_deletion,plugin',
  '1.8.0': 'dataset,mail,ops_trace,app_deletion,plugin,workflow_storage,conversation',
  '1.9.0': 'dataset,pipeline,mail,ops_trace,app_deletion,plugin,workflow_storage,conversation',
  '1.10.0':
    'dataset,priority_dataset,priority_pipeline,pipeline,mail,ops_trace,app_deletion,plugin,workflow_storage,conversation,workflow,schedule_poller,schedule_executor,triggered_workflow_dispatcher,trigger_refresh_executor',
  '1.11.2':
    'dataset,priority_dataset,priority_pipeline,pipeline,mail,ops_trace,app_deletion,plugin,workflow_storage,conversation,workflow,schedule_poller,schedule_executor,triggered_workflow_dispatcher,trigger_refresh_executor,retention',
  '1.13.0':
    'api_token,dataset,priority_dataset,priority_pipeline,pipeline,mail,ops_trace,app_deletion,plugin,workflow_storage,conversation,workflow,schedule_poller,schedule_executor,triggered_workflow_dispatcher,trigger_refresh_executor,retention,workflow_based_app_execution',
  '1.13.1':
    'api_token,dataset,dataset_summary,priority_dataset,priority_pipeline,pipeline,mail,ops_trace,app_deletion,plugin,workflow_storage,conversation,workflow,schedule_poller,schedule_executor,triggered_workflow_dispatcher,trigger_refresh_executor,retention,workflow_based_app_execution',
  '1.14.0':
    'api_token,dataset,dataset_summary,priority_dataset,priority_pipeline,pipeline,mail,ops_trace,app_deletion,plugin,workflow_storage,conversation,workflow,schedule_poller,schedule_executor,triggered_workflow_dispatcher,trigger_refresh_publisher,trigger_refresh_executor,retention,workflow_based_app_execution',
}

describe('the release window', () => {
  it('is 1.0.0 – 1.15.0 on PostgreSQL and 1.10.1 – 1.15.0 on MySQL', () => {
    expect(SUPPORTED_WINDOW).toMatchObject({
      fromHead: '08ec4f75af5e',
      toHead: 'd9e8f7a6b5c4',
      mysqlFromHead: '09cfdda155d1',
    })
    for (const [v] of RELEASE_HEADS.filter(([r]) => r.startsWith('1.'))) {
      expect(at(v).supported, v).toBe(true)
      expect(at(v, 'mysql').supported, v).toBe(
        v === '1.10.1' || v.localeCompare('1.10.1', undefined, { numeric: true }) > 0,
      )
    }
    expect(at('0.15.0').status).toBe('older')
    expect(at('1.9.2', 'mysql').status).toBe('older')
  })
  it('labels the 1.13 – 1.15 heads', () => {
    expect(releaseOfRevision('fce013ca180e').release).toBe('1.13.0')
    expect(releaseOfRevision('6b5f9f8b1a2c').release).toBe('1.13.1–1.13.3')
    expect(releaseOfRevision('227822d22895').release).toBe('1.14.0')
    expect(releaseOfRevision('a4f2d8c9b731').release).toBe('1.14.1–1.14.2')
    expect(releaseOfRevision('d9e8f7a6b5c4').release).toBe('1.15.0')
  })
})

describe('per-release facts', () => {
  it('worker queues at every release head', () => {
    const expectAt: Array<[string, keyof typeof Q]> = [
      ['1.0.0', '1.0.0'],
      ['1.6.0', '1.0.0'],
      ['1.7.0', '1.7.0'],
      ['1.7.2', '1.7.0'],
      ['1.8.0', '1.8.0'],
      ['1.8.1', '1.8.0'],
      ['1.9.0', '1.9.0'],
      ['1.9.2', '1.9.0'],
      ['1.10.0', '1.10.0'],
      ['1.10.1', '1.10.0'],
      ['1.11.0', '1.10.0'],
      ['1.11.2', '1.11.2'],
      ['1.11.3', '1.11.2'],
      ['1.12.0', '1.11.2'],
      ['1.13.0', '1.13.0'],
      ['1.13.1', '1.13.1'],
      ['1.14.0', '1.14.0'],
      ['1.14.1', '1.14.0'],
      ['1.15.0', '1.14.0'],
    ]
    for (const [v, q] of expectAt) expect(at(v).workerQueues.join(','), v).toBe(Q[q])
    // #17 item 4: retention from 1.11.2 (03ea244985ce), not 1.12.0
    expect(at('1.11.2').workerQueues).toContain('retention')
    expect(at('1.11.0').workerQueues).not.toContain('retention')
  })
  it('CLOUD lists split workflow from 1.10.0; CELERY_WORKER_QUEUES only from 1.10.0', () => {
    expect(at('1.15.0').workerQueuesCloud).toContain('workflow_sandbox')
    expect(at('1.15.0').workerQueuesCloud).not.toContain('workflow')
    expect(at('1.9.2').workerQueuesCloud).toEqual(at('1.9.2').workerQueues)
    const p = at('1.15.0')
    expect(workerQueuesFor(p, { celeryQueues: ['a'], celeryWorkerQueues: ['b'] })).toMatchObject({
      queues: ['b'],
      source: 'CELERY_WORKER_QUEUES',
    })
    expect(workerQueuesFor(p, { celeryQueues: ['a'] })).toMatchObject({ queues: ['a'], source: 'CELERY_QUEUES' })
    expect(workerQueuesFor(p, { edition: 'CLOUD' }).queues).toEqual(p.workerQueuesCloud)
    const old = workerQueuesFor(at('1.9.2'), { celeryQueues: ['a'], celeryWorkerQueues: ['b'] })
    expect(old).toMatchObject({ queues: ['a'], source: 'CELERY_QUEUES' })
    expect(old.note).toMatch(/does not read it/)
  })
  it('lock-out counters and rate limiters per release', () => {
    expect(at('1.6.0').lockoutCounters).toEqual(['login_error_rate_limit', 'forgot_password_error_rate_limit'])
    expect(at('1.7.0').lockoutCounters).toContain('owner_transfer_error_rate_limit')
    expect(at('1.8.1').lockoutCounters).not.toContain('email_register_error_rate_limit')
    expect(at('1.9.0').lockoutCounters).toContain('email_register_error_rate_limit')
    expect(at('1.0.0').rateLimiters).toEqual([
      'reset_password_rate_limit',
      'email_code_login_rate_limit',
      'email_code_account_deletion_rate_limit',
    ])
    expect(at('1.15.0').rateLimiters).toHaveLength(6)
  })
  it('email lookup, secret key, oauth tokens, upgrade lock and key prefix', () => {
    expect(at('1.11.2').emailLookup).toBe('exact')
    expect(at('1.11.3').emailLookup).toBe('exact-then-lowercase')
    expect(at('1.14.0').secretKeyFromStorage).toBe(false)
    expect(at('1.14.1').secretKeyFromStorage).toBe(true)
    expect(at('1.14.1').oauthAccessTokens).toBe(false)
    expect(at('1.15.0').oauthAccessTokens).toBe(true)
    expect(profileFor('d4a5e1f3c9b7').oauthAccessTokens).toBe(true)
    expect(profileFor('97e2e1a644e8').oauthAccessTokens).toBe(false)
    expect(at('1.13.0').upgradeLock).toEqual({
      key: 'db_upgrade_lock',
      ttlMs: 60_000,
      renewed: false,
      renewEveryMs: null,
    })
    expect(at('1.13.1').upgradeLock).toMatchObject({ renewed: true, renewEveryMs: 20_000 })
    expect(at('1.0.0').upgradeLock.ttlMs).toBe(60_000)
    expect(at('1.13.1').redisKeyPrefixSupported).toBe(false)
    expect(at('1.14.0').redisKeyPrefixSupported).toBe(true)
  })

  it('vector layouts and the live set, 1.0 – 1.10 (docs/vector-stores.md "Per release")', () => {
    // Weaviate: v3 client (text-only class, legacy vector, id = doc_id) up to 1.9.1; v4 from 1.9.2
    for (const v of ['1.0.0', '1.6.0', '1.8.1', '1.9.0']) {
      expect(at(v)).toMatchObject({ weaviateClassLayout: 'v3', weaviateIdScheme: 'doc-id' })
    }
    for (const v of ['1.9.2', '1.10.1', '1.15.0']) {
      expect(at(v)).toMatchObject({ weaviateClassLayout: 'v4', weaviateIdScheme: 'uuid5-text' })
    }
    // VECTOR_INDEX_NAME_PREFIX from 1.7.0
    expect(at('1.6.0').vectorIndexNamePrefixVariable).toBe(false)
    expect(at('1.7.0').vectorIndexNamePrefixVariable).toBe(true)
    // datasets.chunk_structure from 1.9.0, is_multimodal / image vectors from 1.11.0, summaries from 1.12.0
    expect(at('1.8.1').datasetChunkStructure).toBe(false)
    expect(at('1.9.0').datasetChunkStructure).toBe(true)
    expect(at('1.10.1').multimodalDatasets).toBe(false)
    expect(at('1.11.0').multimodalDatasets).toBe(true)
    expect(at('1.11.3').summaryIndex).toBe(false)
    expect(at('1.12.0').summaryIndex).toBe(true)
    // the stores are opened with the release's Weaviate layout
    expect(storeOptionsFor(at('1.6.0'))).toMatchObject({ weaviateClassLayout: 'v3', weaviateIdScheme: 'doc-id' })
    expect(storeOptionsFor(at('1.9.2'))).toMatchObject({ weaviateClassLayout: 'v4', weaviateIdScheme: 'uuid5-text' })
    // a VECTOR_INDEX_NAME_PREFIX set on a 1.6.0 deployment does not rename its collections
    const cfg = configFromVars({ VECTOR_STORE: 'pgvector', VECTOR_INDEX_NAME_PREFIX: 'Custom' })
    expect(liveSetDeps({} as Db, at('1.6.0'), cfg).namePrefix).toBeUndefined()
    expect(liveSetDeps({} as Db, at('1.7.0'), cfg).namePrefix).toBe('Custom')
    // an unknown revision: the newest layouts
    expect(profileFor('deadbeef0bad')).toMatchObject({ weaviateClassLayout: 'v4', vectorIndexNamePrefixVariable: true })
  })
})

describe('releases newer than the CLI knows', () => {
  const fakeCode = (revs: Array<[string, string | null]>) => {
    const dir = mkdtempSync(join(tmpdir(), 'dops-code-'))
    for (const [r, d] of revs)
      writeFileSync(join(dir, `${r}_x.py`), `revision = '${r}'\ndown_revision = ${d ? `'${d}'` : 'None'}\n`)
    return dir
  }
  it("a revision of the CLI's own chain after 1.15.0 is newer", () => {
    const p = profileFor('a6f1c9d2e8b4')
    expect(p.status).toBe('newer')
    expect(p.workerQueues).toEqual(at('1.15.0').workerQueues)
  })
  it('an unknown revision descending from d9e8f7a6b5c4 in the code at hand is newer; a fork is unknown', () => {
    const dir = fakeCode([
      ['d9e8f7a6b5c4', 'c8f4a6b2d3e1'],
      ['ffff00000001', 'd9e8f7a6b5c4'],
      ['ffff00000002', 'ffff00000001'],
    ])
    const code = codeAtHand({ difyRoot: dir })
    expect(profileFor('ffff00000002', { code }).status).toBe('newer')
    expect(profileFor('ffff00000002').status).toBe('unknown')
    const fork = codeAtHand({
      difyRoot: fakeCode([
        ['788d3099ae3a', '9d77545f524e'],
        ['eeee00000001', '788d3099ae3a'],
      ]),
    })
    expect(profileFor('eeee00000001', { code: fork }).status).toBe('unknown')
    expect(descendsFrom('d9e8f7a6b5c4', 'd9e8f7a6b5c4')).toBe(false)
    expect(() => codeAtHand({ difyRoot: mkdtempSync(join(tmpdir(), 'dops-empty-')) })).toThrow(/No Dify migrations/)
  })
  it('rules: reads warn; writes need a verified manifest; no upgrade-db hint for newer databases', () => {
    const p = profileFor('a6f1c9d2e8b4')
    expect(checkSupported(p, { writes: false })).toMatch(/newer than this CLI knows/)
    expect(checkSupported(p, { writes: true, manifestVerified: true })).toMatch(/goes on/)
    let hint = ''
    try {
      checkSupported(p, { writes: true })
    } catch (e) {
      hint = (e as { hint: string }).hint
    }
    expect(hint).toMatch(/ahead of this CLI, which cannot migrate it/)
    expect(hint).not.toMatch(/upgrade-db/)
    expect(() => checkSupported(profileFor('ffff00000002'), { writes: true })).toThrow(/outside the supported/)
    expect(checkSupported(at('1.0.0'), { writes: true })).toBeUndefined()
  })
  it('only a forced write says it goes on because of --force-version', () => {
    const newer = profileFor('a6f1c9d2e8b4')
    const unknown = profileFor('ffff00000002')
    expect(checkSupported(newer, { writes: true, force: true })).toMatch(/ Going on because of --force-version\.$/)
    expect(checkSupported(unknown, { writes: true, force: true })).toMatch(/ Going on because of --force-version\.$/)
    expect(checkSupported(newer, { writes: true, manifestVerified: true })).not.toMatch(/force-version/)
    expect(checkSupported(newer, { writes: false, force: true })).not.toMatch(/force-version/)
    expect(checkSupported(unknown, { writes: false })).not.toMatch(/force-version/)
  })
})

describe('SECRET_KEY from storage', () => {
  it('strips as Python str.strip()', () => {
    expect(pythonStrip('\n\x1c abc \x85\u3000')).toBe('abc')
    expect(pythonStrip('\ufeffabc\n')).toBe('\ufeffabc')
  })
})

describe('refusal hints', () => {
  const hintOf = (rev: string | null) => {
    try {
      checkSupported(profileFor(rev), { writes: true })
    } catch (e) {
      return (e as { hint: string }).hint
    }
    return ''
  }
  it('names what to do for each kind of database outside the window', () => {
    expect(hintOf('a91b476a53de')).toMatch(/Upgrade Dify to 1\.0\.0 or later first/)
    expect(hintOf('b45e25c2d166')).toMatch(/pre-release branch/)
    expect(hintOf('0123456789ab')).toMatch(/--dify-root/)
    expect(hintOf(null)).toMatch(/Create the schema/)
    for (const r of ['b45e25c2d166', '0123456789ab', 'a6f1c9d2e8b4'])
      expect(hintOf(r)).not.toMatch(/\(dify upgrade-db|run dify upgrade-db/)
  })
})
