import { ALEMBIC_CHAIN } from './alembic-chain.js'

/** Schema head revision of each Dify release (reference: dify-schema-and-migrations.md §2.1). */
export const RELEASE_HEADS: ReadonlyArray<readonly [string, string]> = [
  ['0.15.0', 'a91b476a53de'],
  ['1.0.0', '08ec4f75af5e'],
  ['1.0.1', 'f051706725cc'],
  ['1.1.0', 'd20049ed0af6'],
  ['1.2.0', '6a9f914f656c'],
  ['1.4.0', 'd28f2004b072'],
  ['1.4.1', '2adcbe1f5dfb'],
  ['1.4.2', '4474872b0ee6'],
  ['1.5.0', '0ab65e1cc7fa'],
  ['1.6.0', '58eb7bdb93fe'],
  ['1.7.0', '8bcc02c9bd07'],
  ['1.7.2', '532b3f888abf'],
  ['1.8.0', '0e154742a5fa'],
  ['1.8.1', 'b95962a3885c'],
  ['1.9.0', '68519ad5cd18'],
  ['1.9.2', 'ae662b25d9bc'],
  ['1.10.0', '669ffd70119c'],
  ['1.10.1', '09cfdda155d1'],
  ['1.11.0', 'd57accd375ae'],
  ['1.11.2', '03ea244985ce'],
  ['1.11.3', '905527cc8fd3'],
  ['1.12.0', '788d3099ae3a'],
  ['1.13.0', 'fce013ca180e'],
  ['1.13.1', '6b5f9f8b1a2c'],
  ['1.14.0', '227822d22895'],
  ['1.14.1', 'a4f2d8c9b731'],
  ['1.15.0', 'd9e8f7a6b5c4'],
]

/** Release ranges sharing one head, for display ("1.11.0–1.11.1"). */
const RELEASE_LABEL: Record<string, string> = {
  '0.15.0': '0.15.0–0.15.8',
  '1.1.0': '1.1.0–1.1.3',
  '1.2.0': '1.2.0–1.3.1',
  '1.4.2': '1.4.2–1.4.3',
  '1.5.0': '1.5.0–1.5.1',
  '1.7.0': '1.7.0–1.7.1',
  '1.9.0': '1.9.0–1.9.1',
  '1.10.1': '1.10.1',
  '1.11.0': '1.11.0–1.11.1',
  '1.11.3': '1.11.3–1.11.4',
  '1.12.0': '1.12.0–1.12.1',
  '1.13.1': '1.13.1–1.13.3',
  '1.14.1': '1.14.1–1.14.2',
}

/** Revisions that exist only on pre-release or side branches (dify-schema-and-migrations.md §2.6). */
export const OFF_MAIN_REVISIONS: Record<string, string> = {
  aab323465866: '1.14.0-rc1 (agent sandbox, not on main)',
  b45e25c2d166: '2.0.0-beta head (knowledge-pipeline beta, squashed into 68519ad5cd18 on main)',
  ...Object.fromEntries(
    [
      'b35c3db83d09',
      'abb18a379e62',
      'c459994abfa8',
      'e4fb49a4fe86',
      'd466c551816f',
      '224fba149d48',
      '70a0fc0c013f',
      'a1025f709c06',
      '15e40b74a6d2',
      'd4a76fde2724',
      '1bce102aef9a',
      '2008609cf2bb',
      'fcb46171d891',
      'd3c68680d3ba',
      '74e5f667f4b7',
      '17d4db47800c',
      '76db8b6ed8f1',
      '8c5088481127',
    ].map((r) => [r, '2.0.0-beta (knowledge-pipeline beta, not on main)']),
  ),
}

export interface RevisionInfo {
  seq: number
  revision: string
  downRevisions: string[]
  /** first stable release containing it, or "unreleased(…)" */
  firstRelease: string
  dialectBranch: boolean
}

export const REVISIONS: ReadonlyMap<string, RevisionInfo> = new Map(
  ALEMBIC_CHAIN.map(([seq, revision, down, firstRelease, dialectBranch]) => [
    revision,
    { seq, revision, downRevisions: down ? down.split(',') : [], firstRelease, dialectBranch },
  ]),
)

export { SUPPORTED_WINDOW, FIRST_WINDOW } from './window.js'

/** Compare dotted versions ("1.11.3" < "1.12.0"). */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map((n) => parseInt(n, 10))
  const pb = b.split('.').map((n) => parseInt(n, 10))
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0)
    if (d !== 0) return d
  }
  return 0
}

export interface ReleaseOfRevision {
  revision: string
  known: boolean
  seq?: number
  /** the release whose head is this revision, as a label ("1.11.0–1.11.1") */
  release?: string
  /** the release whose code is at least needed: the first stable release containing the revision */
  atLeast?: string
  /** true when the revision is a release head (not a partial upgrade between releases) */
  isReleaseHead: boolean
  /** human description */
  description: string
}

/** Tell which Dify release a database at `revision` belongs to. */
export function releaseOfRevision(revision: string): ReleaseOfRevision {
  const info = REVISIONS.get(revision)
  if (!info) {
    const off = OFF_MAIN_REVISIONS[revision]
    return {
      revision,
      known: false,
      isReleaseHead: false,
      description: off
        ? `unknown to this CLI: ${off}`
        : 'unknown to this CLI (a newer Dify release, a pre-release branch or a fork)',
    }
  }
  const head = RELEASE_HEADS.find(([, h]) => h === revision)
  if (head) {
    const label = RELEASE_LABEL[head[0]] ?? head[0]
    return {
      revision,
      known: true,
      seq: info.seq,
      release: label,
      atLeast: head[0],
      isReleaseHead: true,
      description: `Dify ${label}`,
    }
  }
  const atLeast = info.firstRelease.startsWith('unreleased') ? undefined : info.firstRelease
  return {
    revision,
    known: true,
    seq: info.seq,
    atLeast,
    isReleaseHead: false,
    description: atLeast ? `between releases: part of the upgrade to Dify ${atLeast}` : 'unreleased Dify main branch',
  }
}
