import { FIRST_WINDOW, REVISIONS, compareVersions, releaseOfRevision, type ReleaseOfRevision } from './releases.js'
import { WORKER_QUEUES_1_11, WORKER_QUEUES_1_12 } from './queues.js'
import { indexingFactsFor, type IndexingFacts } from './indexing-tasks.js'

/**
 * The compatibility profile: every fact that differs between Dify releases, decided from the connected
 * database's alembic_version in this one place (reference: dify-version-differences.md).
 */
export interface DifyProfile {
  revision: string | null
  release: ReleaseOfRevision | null
  /** the Dify code version this database implies (first release containing its revision) */
  version: string | null
  /** inside the first supported window 1.11.0 – 1.12.1 */
  supported: boolean
  /** how login (and reset-password) finds an account by email */
  emailLookup: 'exact' | 'exact-then-lowercase'
  /** the email form in reset-password's rate-limit key */
  resetPasswordRateLimitEmail: 'as-typed' | 'stripped-lowercase'
  /** the email form in the login lock-out key `login_error_rate_limit:<email>` written by the console login */
  loginRateLimitEmail: 'as-typed' | 'lowercase'
  /** the form in which `flask reset-email` stores the new address */
  resetEmailStoredForm: 'stripped' | 'stripped-lowercase'
  workerQueues: readonly string[]
  /** document_segment_summaries and summary vectors exist */
  summaryIndex: boolean
  /** vdb-migrate of parent-child datasets migrates child chunks */
  parentChildMigratesChildren: boolean
  /** Weaviate object ids: uuid5 of the text (1.9.2 – 1.15) */
  weaviateIdScheme: 'uuid5-text' | 'doc-id'
  /** Dify's own upgrade-db lock */
  upgradeLock: { key: 'db_upgrade_lock'; ttlMs: number; renewed: boolean }
  /** whether this release itself honours REDIS_KEY_PREFIX */
  redisKeyPrefixSupported: boolean
  // ---- vector layouts and the live set (docs/vector-stores.md "Per release", docs/vdb-check.md)
  /** annotation vectors embed `question` (≤ 1.11.2) or MessageAnnotation.question_text = question or content (1.11.3+) */
  annotationText: 'question' | 'question-or-content'
  /** Weaviate classes are created with doc_type, is_summary and original_chunk_id properties (1.14.0+) */
  weaviateSummaryProperties: boolean
  /** document-indexing tasks, dispatch and tenant-isolated queues (indexing-tasks.ts, docs/documents.md) */
  indexing: IndexingFacts
}

const windowFrom = REVISIONS.get(FIRST_WINDOW.fromHead)!.seq
const windowTo = REVISIONS.get(FIRST_WINDOW.toHead)!.seq

export function profileFor(revision: string | null): DifyProfile {
  const release = revision ? releaseOfRevision(revision) : null
  const seq = release?.seq
  const version = release?.atLeast ?? null
  const atLeast = (v: string) => (version ? compareVersions(version, v) >= 0 : false)
  return {
    revision,
    release,
    version,
    supported: seq !== undefined && seq >= windowFrom && seq <= windowTo,
    emailLookup: atLeast('1.11.3') ? 'exact-then-lowercase' : 'exact',
    resetPasswordRateLimitEmail: atLeast('1.11.3') ? 'stripped-lowercase' : 'as-typed',
    loginRateLimitEmail: atLeast('1.11.3') ? 'lowercase' : 'as-typed',
    resetEmailStoredForm: atLeast('1.11.3') ? 'stripped-lowercase' : 'stripped',
    workerQueues: atLeast('1.12.0') ? WORKER_QUEUES_1_12 : WORKER_QUEUES_1_11,
    summaryIndex: atLeast('1.12.0'),
    parentChildMigratesChildren: atLeast('1.12.0'),
    weaviateIdScheme: 'uuid5-text',
    upgradeLock: { key: 'db_upgrade_lock', ttlMs: 60_000, renewed: atLeast('1.13.3') },
    redisKeyPrefixSupported: atLeast('1.14.0'),
    annotationText: atLeast('1.11.3') ? 'question-or-content' : 'question',
    weaviateSummaryProperties: atLeast('1.14.0'),
    indexing: indexingFactsFor(version),
  }
}

export const SUPPORTED_WINDOW_TEXT = `Dify ${FIRST_WINDOW.from} – ${FIRST_WINDOW.to} (schema ${FIRST_WINDOW.fromHead} … ${FIRST_WINDOW.toHead})`
