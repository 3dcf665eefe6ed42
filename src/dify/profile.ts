import { REVISIONS, SUPPORTED_WINDOW, compareVersions, releaseOfRevision, type ReleaseOfRevision } from './releases.js'
import { CELERY_WORKER_QUEUES_FROM, EDITION_QUEUES_FROM, WORKER_QUEUES_BY_RELEASE, cloudQueues } from './queues.js'
import { LOCKOUT_COUNTERS_BY_RELEASE, RATE_LIMITERS_BY_RELEASE, type LockoutCounter, type RateLimiter } from './keys.js'
import { indexingFactsFor, type IndexingFacts } from './indexing-tasks.js'

/**
 * The compatibility profile: every fact that differs between Dify releases, decided from the connected
 * database's alembic_version in this one place (docs/releases.md lists each fact with its upstream path and tags).
 */
export interface DifyProfile {
  revision: string | null
  release: ReleaseOfRevision | null
  /** the Dify code version this database implies (first release containing its revision); null when newer or unknown */
  version: string | null
  /** inside the supported window 1.0.0 – 1.15.0 (MySQL from 1.10.1) */
  supported: boolean
  /**
   * supported: in the window; newer: a revision that descends from the window's head (the CLI's own chain after
   * 1.15.0, or the Dify code at hand); older: before 1.0.0 (or before 1.10.1 on MySQL); unknown: not in any chain
   * at hand (pre-release branch, fork); no-schema: no single alembic_version row
   */
  status: 'supported' | 'newer' | 'older' | 'unknown' | 'no-schema'
  /** status === 'newer'; the facts below are then the window head's (1.15.0) */
  newerThanKnown: boolean
  /** how login (and reset-password) finds an account by email */
  emailLookup: 'exact' | 'exact-then-lowercase'
  /** the email form in reset-password's rate-limit key */
  resetPasswordRateLimitEmail: 'as-typed' | 'stripped-lowercase'
  /** the email form in the login lock-out key `login_error_rate_limit:<email>` written by the console login */
  loginRateLimitEmail: 'as-typed' | 'lowercase'
  /** the form in which `flask reset-email` stores the new address */
  resetEmailStoredForm: 'stripped' | 'stripped-lowercase'
  // ---- per-release facts owned by the release profile (accounts, queues, secret key, sessions, upgrade lock)
  /** the per-email lock-out counters this release writes (`<kind>:<email>`) */
  lockoutCounters: readonly LockoutCounter[]
  /** the per-email RateLimiter sorted sets this release writes (`<prefix>:<email>`) */
  rateLimiters: readonly RateLimiter[]
  /** the community worker's default queues (api/docker/entrypoint.sh) */
  workerQueues: readonly string[]
  /** the CLOUD edition's default queues (the same as workerQueues before 1.10.0) */
  workerQueuesCloud: readonly string[]
  /** the entrypoint honours CELERY_WORKER_QUEUES (over CELERY_QUEUES) */
  celeryWorkerQueuesVariable: boolean
  /** an empty SECRET_KEY makes Dify generate one and keep it in storage as `.dify_secret_key` */
  secretKeyFromStorage: boolean
  /** `oauth_access_tokens` (device-flow sessions, revoked by setting revoked_at) exists at this revision */
  oauthAccessTokens: boolean
  // ---- end of the release-profile group
  /** document_segment_summaries and summary vectors exist */
  summaryIndex: boolean
  /**
   * datasets.is_multimodal and segment_attachment_bindings (image vectors) exist: from 1.11.0 (revision
   * d57accd375ae; api/models/dataset.py has neither at 1.10.1)
   */
  multimodalDatasets: boolean
  /** datasets.chunk_structure exists: from 1.9.0 (revision 68519ad5cd18, the RAG pipeline) */
  datasetChunkStructure: boolean
  /** vdb-migrate of parent-child datasets migrates child chunks */
  parentChildMigratesChildren: boolean
  /**
   * Weaviate object ids: metadata doc_id (≤ 1.9.1, BaseVector._get_uuids with the v3 client) or uuid5(NAMESPACE_URL,
   * text) (1.9.2 – 1.15, WeaviateVector._get_uuids with the v4 client)
   */
  weaviateIdScheme: 'uuid5-text' | 'doc-id'
  /**
   * Weaviate class layout: v3 (≤ 1.9.1: `_default_schema`, property `text` only, legacy unnamed vector) or v4
   * (1.9.2+: properties text, document_id, doc_id, chunk_index and the self-provided named vector "default")
   */
  weaviateClassLayout: 'v3' | 'v4'
  /**
   * VECTOR_INDEX_NAME_PREFIX is honoured by Dataset.gen_collection_name_by_id from 1.7.0; before, collections are
   * always `Vector_index_<id>_Node` (api/models/dataset.py @ 1.6.0, 1.7.0)
   */
  vectorIndexNamePrefixVariable: boolean
  /** Dify's own upgrade-db lock: TTL 60 s at every release; renewed every ttl/3 from 1.13.1 */
  upgradeLock: { key: 'db_upgrade_lock'; ttlMs: number; renewed: boolean; renewEveryMs: number | null }
  /** whether this release itself honours REDIS_KEY_PREFIX (from 1.14.0; the variable does not exist before) */
  redisKeyPrefixSupported: boolean
  // ---- vector layouts and the live set (docs/vector-stores.md "Per release", docs/vdb-check.md)
  /** annotation vectors embed `question` (≤ 1.11.2) or MessageAnnotation.question_text = question or content (1.11.3+) */
  annotationText: 'question' | 'question-or-content'
  /** Weaviate classes are created with doc_type, is_summary and original_chunk_id properties (1.14.0+) */
  weaviateSummaryProperties: boolean
  /** document-indexing tasks, dispatch and tenant-isolated queues (indexing-tasks.ts, docs/documents.md) */
  indexing: IndexingFacts
}

const seqOf = (rev: string) => REVISIONS.get(rev)!.seq
const windowFrom = seqOf(SUPPORTED_WINDOW.fromHead)
const windowTo = seqOf(SUPPORTED_WINDOW.toHead)
const mysqlFrom = seqOf(SUPPORTED_WINDOW.mysqlFromHead)
/** the revision that creates oauth_access_tokens (1.15.0, api/migrations/versions/…d4a5e1f3c9b7_add_oauth_access_tokens.py) */
export const OAUTH_ACCESS_TOKENS_REVISION = 'd4a5e1f3c9b7'

/** The facts of the newest entry of a per-release table that applies to `version`. */
export function byRelease<T>(table: ReadonlyArray<readonly [string, T]>, version: string | null): T {
  if (!version) return table.at(-1)![1]
  let out = table[0]![1]
  for (const [from, v] of table) if (compareVersions(version, from) >= 0) out = v
  return out
}

export interface ProfileOptions {
  /** the database's dialect: MySQL is supported from 1.10.1 */
  dialect?: 'postgres' | 'mysql'
  /**
   * the Alembic graph of the Dify code at hand (src/dify/dify-code.ts), used to tell whether a revision this
   * CLI does not know descends from the window's head
   */
  code?: { revisions: ReadonlyArray<{ revision: string; downRevisions: string[] }> }
}

/** Whether `revision` descends from `ancestor` in the CLI's chain or in the code at hand (walks down_revisions). */
export function descendsFrom(revision: string, ancestor: string, code?: ProfileOptions['code']): boolean {
  const downs = new Map<string, string[]>()
  for (const [rev, info] of REVISIONS) downs.set(rev, info.downRevisions)
  for (const r of code?.revisions ?? []) if (!downs.has(r.revision)) downs.set(r.revision, r.downRevisions)
  const seen = new Set<string>()
  const stack = [revision]
  while (stack.length) {
    const r = stack.pop()!
    if (r === ancestor) return r !== revision
    if (seen.has(r)) continue
    seen.add(r)
    stack.push(...(downs.get(r) ?? []))
  }
  return false
}

export function profileFor(revision: string | null, opts: ProfileOptions = {}): DifyProfile {
  const release = revision ? releaseOfRevision(revision) : null
  const seq = release?.seq
  let status: DifyProfile['status']
  if (!revision) status = 'no-schema'
  else if (seq !== undefined && seq > windowTo)
    status = descendsFrom(revision, SUPPORTED_WINDOW.toHead) ? 'newer' : 'unknown'
  else if (seq !== undefined && seq >= (opts.dialect === 'mysql' ? mysqlFrom : windowFrom)) status = 'supported'
  else if (seq !== undefined) status = 'older'
  else status = descendsFrom(revision, SUPPORTED_WINDOW.toHead, opts.code) ? 'newer' : 'unknown'
  const newer = status === 'newer'
  const version = newer ? null : (release?.atLeast ?? null)
  // facts: the release's own; for a newer database the window head's
  const factsVersion = newer ? SUPPORTED_WINDOW.to : version
  const atLeast = (v: string) => (factsVersion ? compareVersions(factsVersion, v) >= 0 : false)
  const community = byRelease(WORKER_QUEUES_BY_RELEASE, factsVersion)
  const hasOauth = newer || (seq !== undefined && seq >= seqOf(OAUTH_ACCESS_TOKENS_REVISION) && status !== 'unknown')
  return {
    revision,
    release,
    version,
    supported: status === 'supported',
    status,
    newerThanKnown: newer,
    emailLookup: atLeast('1.11.3') ? 'exact-then-lowercase' : 'exact',
    resetPasswordRateLimitEmail: atLeast('1.11.3') ? 'stripped-lowercase' : 'as-typed',
    loginRateLimitEmail: atLeast('1.11.3') ? 'lowercase' : 'as-typed',
    resetEmailStoredForm: atLeast('1.11.3') ? 'stripped-lowercase' : 'stripped',
    lockoutCounters: byRelease(LOCKOUT_COUNTERS_BY_RELEASE, factsVersion),
    rateLimiters: byRelease(RATE_LIMITERS_BY_RELEASE, factsVersion),
    workerQueues: community,
    workerQueuesCloud: atLeast(EDITION_QUEUES_FROM) ? cloudQueues(community) : community,
    celeryWorkerQueuesVariable: atLeast(CELERY_WORKER_QUEUES_FROM),
    secretKeyFromStorage: atLeast('1.14.1'),
    oauthAccessTokens: hasOauth,
    summaryIndex: atLeast('1.12.0'),
    multimodalDatasets: atLeast('1.11.0'),
    datasetChunkStructure: atLeast('1.9.0'),
    parentChildMigratesChildren: atLeast('1.12.0'),
    // an unknown release (no version) gets the newest layout, as the facts of the newest release elsewhere
    weaviateIdScheme: !factsVersion || atLeast('1.9.2') ? 'uuid5-text' : 'doc-id',
    weaviateClassLayout: !factsVersion || atLeast('1.9.2') ? 'v4' : 'v3',
    vectorIndexNamePrefixVariable: !factsVersion || atLeast('1.7.0'),
    upgradeLock: {
      key: 'db_upgrade_lock',
      ttlMs: 60_000,
      renewed: atLeast('1.13.1'),
      renewEveryMs: atLeast('1.13.1') ? 20_000 : null,
    },
    redisKeyPrefixSupported: atLeast('1.14.0'),
    annotationText: atLeast('1.11.3') ? 'question-or-content' : 'question',
    weaviateSummaryProperties: atLeast('1.14.0'),
    indexing: indexingFactsFor(version),
  }
}

export const SUPPORTED_WINDOW_TEXT = `Dify ${SUPPORTED_WINDOW.from} – ${SUPPORTED_WINDOW.to} (schema ${SUPPORTED_WINDOW.fromHead} … ${SUPPORTED_WINDOW.toHead}; MySQL from ${SUPPORTED_WINDOW.mysqlFrom})`
