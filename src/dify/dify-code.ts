import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { ConfigError } from '../core/errors.js'

/** Where the Dify code is found inside the dify-api image. */
export const DIFY_API_VERSIONS_DIR = '/app/api/migrations/versions'

export interface DifyCodeRevision {
  revision: string
  downRevisions: string[]
  file: string
}

export interface DifyCodeGraph {
  dir: string
  revisions: DifyCodeRevision[]
  head: string
}

/** `--dify-root` / `DIFY_OPS_DIFY_ROOT` names a folder without Dify's migrations (exit 4). */
export function noMigrationsUnder(root: string): ConfigError {
  return new ConfigError(`No Dify migrations were found under ${root}.`, {
    hint: 'Point --dify-root (DIFY_OPS_DIFY_ROOT) at the Dify source root (the folder holding api/), at api/, or at api/migrations/versions.',
  })
}

/** The versions directory of a Dify checkout or install: DIR/api/migrations/versions, DIR/migrations/versions or DIR itself. */
export function findVersionsDir(root: string): string | undefined {
  for (const d of [join(root, 'api', 'migrations', 'versions'), join(root, 'migrations', 'versions'), root]) {
    if (existsSync(d) && statSync(d).isDirectory() && readdirSync(d).some((f) => f.endsWith('.py'))) return d
  }
  return undefined
}

const QUOTED = /(['"])([^'"]*)\1/g

/**
 * Read `revision` and `down_revision` from one Alembic script. Accepts both quote styles, typed assignments
 * (`revision: str = "…"`, `down_revision: Union[str, None] = …`), None, and tuples spread over several lines.
 * Returns undefined for files that are not revisions.
 */
export function parseRevisionHeader(text: string): { revision: string; downRevisions: string[] } | undefined {
  const rev = /^revision\s*(?::[^=\n]+)?=\s*(['"])([^'"]+)\1/m.exec(text)
  if (!rev) return undefined
  const down = /^down_revision\s*(?::[^=\n]+)?=\s*/m.exec(text)
  if (!down) return undefined
  let rest = text.slice(down.index + down[0].length)
  if (rest.startsWith('(') || rest.startsWith('[')) {
    const close = rest.indexOf(rest[0] === '(' ? ')' : ']')
    rest = rest.slice(0, close < 0 ? undefined : close + 1)
  } else {
    rest = rest.split('\n')[0]!
  }
  rest = rest.replace(/#.*$/gm, '')
  if (/^\s*None\b/.test(rest)) return { revision: rev[2]!, downRevisions: [] }
  const downs = [...rest.matchAll(QUOTED)].map((m) => m[2]!).filter(Boolean)
  return { revision: rev[2]!, downRevisions: downs }
}

/** Parse every revision file in `dir` and compute the head of that graph (the revision nobody revises). */
export function readDifyCode(dir: string): DifyCodeGraph {
  const revisions: DifyCodeRevision[] = []
  for (const f of readdirSync(dir).sort()) {
    if (!f.endsWith('.py') || f.startsWith('__')) continue
    const h = parseRevisionHeader(readFileSync(join(dir, f), 'utf8'))
    if (h) revisions.push({ ...h, file: f })
  }
  if (revisions.length === 0) {
    throw new ConfigError(`No Alembic revision files were found in ${dir}.`, {
      hint: 'Point --dify-root at the Dify source root (the folder holding api/) or at api/.',
    })
  }
  const revised = new Set(revisions.flatMap((r) => r.downRevisions))
  const heads = revisions.filter((r) => !revised.has(r.revision)).map((r) => r.revision)
  if (heads.length !== 1) {
    throw new ConfigError(
      `The Dify code in ${dir} has ${heads.length} migration heads (${heads.join(', ')}); Dify itself would refuse to upgrade.`,
      {
        hint: 'Use the migrations of a released Dify version, or pass --to REV.',
        details: { heads },
      },
    )
  }
  return { dir, revisions, head: heads[0]! }
}
