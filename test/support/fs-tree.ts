import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'

/** path → sha256 of every file under `root` ({} when it does not exist) */
export function tree(root: string, dir = root, out: Record<string, string> = {}): Record<string, string> {
  if (!existsSync(dir)) return out
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name)
    if (e.isDirectory()) tree(root, p, out)
    else out[p.slice(root.length + 1)] = createHash('sha256').update(readFileSync(p)).digest('hex')
  }
  return out
}

/** path → "sha256@mtimeMs": proves nothing was rewritten (the part before "@" is the content) */
export function stamped(root: string): Record<string, string> {
  const t = tree(root)
  for (const p of Object.keys(t)) t[p] += `@${statSync(join(root, p)).mtimeMs}`
  return t
}

/** how many files are under `root` (0 when it does not exist), without reading them */
export function fileCount(root: string): number {
  if (!existsSync(root)) return 0
  return readdirSync(root, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).length
}

/** write `data` at `path` under `root`, creating its directories */
export function putFile(root: string, path: string, data: Buffer | string): void {
  mkdirSync(dirname(join(root, path)), { recursive: true })
  writeFileSync(join(root, path), data)
}
