#!/usr/bin/env node
// The import rules of docs/architecture.md, checked over src/, commands/ and bin/ (part of `npm run lint`):
//  1. only commands/ and src/cli/ import oclif (@oclif/*);
//  2. nothing under src/ outside src/cli/ imports src/cli/;
//  3. no import cycles among the modules of src/ (static and literal dynamic imports, type-only imports included: a
//     type cycle is still two modules that cannot be understood apart), nor among its folders (src/runtime,
//     src/dify, …: a folder is a layer, and two layers that import each other are one).
// Exit 1 with one line per violation.
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const files = []
const walk = (d) => {
  for (const n of readdirSync(d)) {
    const p = join(d, n)
    if (statSync(p).isDirectory()) walk(p)
    else if (/\.ts$/.test(n) && !n.endsWith('.d.ts')) files.push(p)
  }
}
for (const d of ['src', 'commands']) walk(join(root, d))

const IMPORT =
  /(?:^|\n)\s*(?:import|export)\s+(?:type\s+)?(?:[^'";]*?\s+from\s+)?['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)/g
const rel = (p) => relative(root, p)
const problems = []
const graph = new Map()
for (const f of files) {
  const text = readFileSync(f, 'utf8')
  const deps = []
  for (const m of text.matchAll(IMPORT)) {
    const spec = m[1] ?? m[2]
    const from = rel(f)
    if (spec.startsWith('@oclif/') && !(from.startsWith('commands/') || from.startsWith('src/cli/'))) {
      problems.push(`${from}: imports ${spec} (only commands/ and src/cli/ may import oclif)`)
    }
    if (!spec.startsWith('.')) continue
    const target = rel(resolve(dirname(f), spec).replace(/\.js$/, '.ts'))
    if (from.startsWith('src/') && !from.startsWith('src/cli/') && target.startsWith('src/cli/')) {
      problems.push(`${from}: imports ${target} (nothing under src/ outside src/cli/ may import src/cli/)`)
    }
    if (from.startsWith('src/') && target.startsWith('src/')) deps.push(target)
  }
  graph.set(rel(f), deps)
}

// Tarjan's strongly connected components: every component of more than one node (or a self-import) is a cycle
function cycles(graph) {
  let index = 0
  const idx = new Map()
  const low = new Map()
  const stack = []
  const on = new Set()
  const sccs = []
  const strong = (v) => {
    idx.set(v, index)
    low.set(v, index++)
    stack.push(v)
    on.add(v)
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue
      if (!idx.has(w)) {
        strong(w)
        low.set(v, Math.min(low.get(v), low.get(w)))
      } else if (on.has(w)) low.set(v, Math.min(low.get(v), idx.get(w)))
    }
    if (low.get(v) === idx.get(v)) {
      const c = []
      let w
      do {
        w = stack.pop()
        on.delete(w)
        c.push(w)
      } while (w !== v)
      if (c.length > 1 || (graph.get(v) ?? []).includes(v)) sccs.push(c.sort())
    }
  }
  for (const v of graph.keys()) if (!idx.has(v)) strong(v)
  return sccs
}
for (const c of cycles(graph)) problems.push(`import cycle: ${c.join(' ↔ ')}`)
const folderOf = (m) => m.split('/').slice(0, 2).join('/').replace(/\.ts$/, '')
const folders = new Map()
for (const [m, deps] of graph) {
  const f = folderOf(m)
  const set = folders.get(f) ?? new Set()
  for (const d of deps) if (folderOf(d) !== f) set.add(folderOf(d))
  folders.set(f, set)
}
const folderGraph = new Map([...folders].map(([f, set]) => [f, [...set]]))
for (const c of cycles(folderGraph)) {
  const why = c.flatMap((a) =>
    c
      .filter((b) => b !== a)
      .flatMap((b) =>
        [...graph]
          .filter(([m, deps]) => folderOf(m) === a && deps.some((d) => folderOf(d) === b))
          .slice(0, 1)
          .map(([m, deps]) => `${m} → ${deps.find((d) => folderOf(d) === b)}`),
      ),
  )
  problems.push(`folder cycle: ${c.join(' ↔ ')} (${why.join('; ')})`)
}

if (problems.length) {
  console.error(problems.join('\n'))
  console.error(`\n${problems.length} boundary violation(s); the rules: docs/architecture.md`)
  process.exit(1)
}
console.log(`boundaries: ${files.length} files, no violation`)
