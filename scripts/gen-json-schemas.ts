/**
 * The `--json` shape of every command, as a JSON Schema (draft 2020-12) derived from the TypeScript sources with the
 * compiler API: for each command class under commands/, the type its run() resolves to; plus the error shape
 * (ErrorJson in src/cli/command.ts) and `dify --version --json`'s (VersionJson in src/version.ts). The snapshots live in test/fixtures/json-schema/ and
 * test/unit/cli/json-schemas.test.ts fails when the sources no longer give the same schemas.
 *
 *   npm run gen:json-schemas            write the snapshots
 *   npm run gen:json-schemas -- --check exit 1 (naming the files) when a snapshot differs
 *
 * The schema is what JSON.stringify writes: properties that are functions are left out, `undefined` makes a property
 * optional, Date becomes a date-time string, a toJSON() method decides, `unknown` is {}, records are
 * additionalProperties. Types that JSON cannot carry (bigint, Map, Set, symbols, functions) stop the generator.
 */
import ts from 'typescript'
import { mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { join, relative, sep } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

export const ROOT = fileURLToPath(new URL('..', import.meta.url))
export const SCHEMA_DIR = join(ROOT, 'test', 'fixtures', 'json-schema')
const COMMANDS = join(ROOT, 'commands')
const ERROR_SOURCE = join(ROOT, 'src', 'cli', 'command.ts')
const ERROR_TYPE = 'ErrorJson'
const VERSION_SOURCE = join(ROOT, 'src', 'version.ts')
const VERSION_TYPE = 'VersionJson'
const DRAFT = 'https://json-schema.org/draft/2020-12/schema'

type Schema = { [k: string]: unknown }

/** commands/db/lock/clear.ts → "db lock clear"; commands/audit/index.ts → "audit" */
export function commandId(file: string): string {
  const parts = relative(COMMANDS, file).replace(/\.ts$/, '').split(sep)
  if (parts[parts.length - 1] === 'index') parts.pop()
  return parts.join(' ')
}

/** The snapshot file of a command id ("db lock clear" → db-lock-clear.json); the error shape is _error.json. */
export function schemaFile(id: string): string {
  return `${id.replace(/ /g, '-')}.json`
}

function commandFiles(dir = COMMANDS): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((n) => {
      const p = join(dir, n)
      return statSync(p).isDirectory() ? commandFiles(p) : n.endsWith('.ts') && !n.endsWith('.d.ts') ? [p] : []
    })
}

/** Every snapshot, by file name, in memory: `{ 'db-history.json': schema, …, '_error.json': schema }`. */
export function generateSchemas(): Record<string, Schema> {
  const files = commandFiles()
  const cfgPath = join(ROOT, 'tsconfig.json')
  const cfg = ts.parseJsonConfigFileContent(ts.readConfigFile(cfgPath, ts.sys.readFile).config, ts.sys, ROOT)
  const program = ts.createProgram({
    rootNames: [...files, ERROR_SOURCE, VERSION_SOURCE],
    options: { ...cfg.options, noEmit: true },
  })
  const checker = program.getTypeChecker()
  const out: Record<string, Schema> = {}

  for (const file of files) {
    const sf = program.getSourceFile(file)
    if (!sf) throw new Error(`${file}: not in the program`)
    const id = commandId(file)
    const moduleSym = checker.getSymbolAtLocation(sf)
    const def = moduleSym && checker.getExportsOfModule(moduleSym).find((s) => s.escapedName === 'default')
    if (!def) throw new Error(`${rel(file)}: no default export`)
    const cls = def.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(def) : def
    const instance = checker.getDeclaredTypeOfSymbol(cls)
    const run = instance.getProperty('run')
    if (!run) throw new Error(`${rel(file)}: the command class has no run()`)
    const sigs = checker.getTypeOfSymbol(run).getCallSignatures()
    if (sigs.length !== 1) throw new Error(`${rel(file)}: run() has ${sigs.length} signatures`)
    const ret = checker.getAwaitedType(checker.getReturnTypeOfSignature(sigs[0]!))
    if (!ret) throw new Error(`${rel(file)}: run() returns no awaitable type`)
    const conv = new Converter(checker, `${rel(file)} run()`)
    out[schemaFile(id)] = conv.root(ret, {
      title: `dify ${id} --json`,
      description: `The JSON that \`dify ${id} --json\` writes to stdout on success (generated from the return type of run() in ${rel(file).split(sep).join('/')}; failures write _error.json's shape).`,
    })
  }

  const esf = program.getSourceFile(ERROR_SOURCE)!
  const esym = checker.getSymbolAtLocation(esf)
  const et = esym && checker.getExportsOfModule(esym).find((s) => s.escapedName === ERROR_TYPE)
  if (!et) throw new Error(`src/cli/command.ts: no exported ${ERROR_TYPE}`)
  out['_error.json'] = new Converter(checker, ERROR_TYPE).root(checker.getDeclaredTypeOfSymbol(et), {
    title: 'dify <command> --json (failure)',
    description:
      'What every command writes to stdout with --json when it fails (generated from ErrorJson in src/cli/command.ts); the exit code is error.exitCode.',
  })
  const vsf = program.getSourceFile(VERSION_SOURCE)!
  const vsym = checker.getSymbolAtLocation(vsf)
  const vt = vsym && checker.getExportsOfModule(vsym).find((s) => s.escapedName === VERSION_TYPE)
  if (!vt) throw new Error(`src/version.ts: no exported ${VERSION_TYPE}`)
  out['_version.json'] = new Converter(checker, VERSION_TYPE).root(checker.getDeclaredTypeOfSymbol(vt), {
    title: 'dify --version --json',
    description:
      'What `dify --version --json` (also `dify version --json`, `-v`) writes to stdout (generated from VersionJson in src/version.ts).',
  })
  return out
}

/**
 * The schema of one exported type of a TypeScript text (for tests of the conversion rules): the program holds only
 * that text and the standard library.
 */
const libCache = new Map<string, ts.SourceFile | undefined>()
export function schemaFromSource(text: string, typeName: string): Schema {
  const name = join(ROOT, '__schema_probe__.ts')
  const options: ts.CompilerOptions = {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    strict: true,
    noEmit: true,
    types: [],
  }
  const host = ts.createCompilerHost(options)
  const getSourceFile = host.getSourceFile.bind(host)
  host.getSourceFile = (f, v, ...rest) => {
    if (f === name) return ts.createSourceFile(f, text, v)
    let sf = libCache.get(f)
    if (!sf) libCache.set(f, (sf = getSourceFile(f, v, ...rest)))
    return sf
  }
  const fileExists = host.fileExists.bind(host)
  host.fileExists = (f) => f === name || fileExists(f)
  const program = ts.createProgram({ rootNames: [name], options, host })
  const checker = program.getTypeChecker()
  const sym = checker.getSymbolAtLocation(program.getSourceFile(name)!)
  const t = sym && checker.getExportsOfModule(sym).find((s) => s.escapedName === typeName)
  if (!t) throw new Error(`no exported ${typeName}`)
  const {
    $schema: _s,
    title: _t,
    description: _d,
    ...rest
  } = new Converter(checker, typeName).root(checker.getDeclaredTypeOfSymbol(t), { title: '', description: '' })
  return rest
}

function rel(file: string): string {
  return relative(ROOT, file)
}

class Converter {
  /** types being converted (for recursion) and the names given to recursive ones */
  #stack: ts.Type[] = []
  #recursive = new Map<ts.Type, string>()
  #defs: Record<string, Schema> = {}

  constructor(
    private checker: ts.TypeChecker,
    private where: string,
  ) {}

  root(type: ts.Type, meta: { title: string; description: string }): Schema {
    const body = this.#omitUndefined(type, 'the result')
    const s: Schema = { $schema: DRAFT, title: meta.title, description: meta.description, ...body }
    if (Object.keys(this.#defs).length) s.$defs = sortKeys(this.#defs)
    return s
  }

  /** undefined at the top (queue list --watch returns nothing): JSON gets nothing, so the schema describes the rest */
  #omitUndefined(type: ts.Type, what: string): Schema {
    if (type.isUnion()) {
      const rest = type.types.filter((t) => !(t.flags & (ts.TypeFlags.Undefined | ts.TypeFlags.Void)))
      if (!rest.length) throw new Error(`${this.where}: ${what} is always undefined`)
      return this.#union(rest, what)
    }
    return this.convert(type, what)
  }

  convert(type: ts.Type, path: string): Schema {
    const c = this.checker
    const f = type.flags
    if (f & (ts.TypeFlags.Any | ts.TypeFlags.Unknown)) return {}
    if (f & ts.TypeFlags.Never) return { not: {} }
    if (f & ts.TypeFlags.Null) return { type: 'null' }
    if (f & ts.TypeFlags.StringLiteral) return { type: 'string', const: (type as ts.StringLiteralType).value }
    if (f & ts.TypeFlags.NumberLiteral) return { type: 'number', const: (type as ts.NumberLiteralType).value }
    if (f & ts.TypeFlags.BooleanLiteral) return { type: 'boolean', const: c.typeToString(type) === 'true' }
    if (f & ts.TypeFlags.String || f & ts.TypeFlags.TemplateLiteral) return { type: 'string' }
    if (f & ts.TypeFlags.Number) return { type: 'number' }
    if (f & ts.TypeFlags.Boolean) return { type: 'boolean' }
    if (
      f &
      (ts.TypeFlags.BigInt |
        ts.TypeFlags.BigIntLiteral |
        ts.TypeFlags.ESSymbolLike |
        ts.TypeFlags.Undefined |
        ts.TypeFlags.Void)
    ) {
      throw new Error(`${this.where}: ${path} is ${c.typeToString(type)}, which JSON cannot carry`)
    }
    if (type.isUnion()) return this.#union(type.types, path)
    if (f & ts.TypeFlags.Object || type.isIntersection()) return this.#object(type, path)
    throw new Error(`${this.where}: ${path} has a type the generator does not know: ${c.typeToString(type)}`)
  }

  #union(types: readonly ts.Type[], path: string): Schema {
    const strings: string[] = []
    const numbers: number[] = []
    const bools = new Set<boolean>()
    const others: Schema[] = []
    for (const t of types) {
      if (t.flags & (ts.TypeFlags.Undefined | ts.TypeFlags.Void)) continue // an optional value: JSON leaves it out
      if (t.flags & ts.TypeFlags.StringLiteral) strings.push((t as ts.StringLiteralType).value)
      else if (t.flags & ts.TypeFlags.NumberLiteral) numbers.push((t as ts.NumberLiteralType).value)
      else if (t.flags & ts.TypeFlags.BooleanLiteral) bools.add(this.checker.typeToString(t) === 'true')
      else others.push(this.convert(t, path))
    }
    const members: Schema[] = [...others]
    if (strings.length)
      members.push(
        strings.length === 1
          ? { type: 'string', const: strings[0] }
          : { type: 'string', enum: [...new Set(strings)].sort() },
      )
    if (numbers.length)
      members.push(
        numbers.length === 1
          ? { type: 'number', const: numbers[0] }
          : { type: 'number', enum: [...new Set(numbers)].sort((a, b) => a - b) },
      )
    if (bools.size === 2) members.push({ type: 'boolean' })
    else if (bools.size === 1) members.push({ type: 'boolean', const: [...bools][0] })
    // {} absorbs everything
    if (members.some((m) => Object.keys(m).length === 0)) return {}
    const unique = [...new Map(members.map((m) => [canonical(m), m])).entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([, m]) => m)
    if (unique.length === 1) return unique[0]!
    // string | null → { type: ['null', 'string'] }
    if (unique.every((m) => Object.keys(m).length === 1 && typeof m.type === 'string'))
      return { type: unique.map((m) => m.type as string).sort() }
    return { anyOf: unique }
  }

  #object(type: ts.Type, path: string): Schema {
    const c = this.checker
    const name = type.aliasSymbol?.name ?? type.getSymbol()?.name
    if (name === 'Date' && !type.aliasSymbol) return { type: 'string', format: 'date-time' }
    if (this.#stack.includes(type)) {
      if (!this.#recursive.has(type)) this.#recursive.set(type, this.#defName(type))
      return { $ref: `#/$defs/${this.#recursive.get(type)}` }
    }
    for (const bad of ['Map', 'Set', 'WeakMap', 'WeakSet', 'Promise', 'Buffer', 'Uint8Array', 'Function']) {
      if (name === bad && !type.aliasSymbol)
        throw new Error(`${this.where}: ${path} is a ${bad}, which JSON cannot carry`)
    }
    if (type.getCallSignatures().length) throw new Error(`${this.where}: ${path} is a function`)
    this.#stack.push(type)
    let s: Schema
    try {
      const toJSON = type.getProperty('toJSON')
      if (toJSON) {
        const sig = c.getTypeOfSymbol(toJSON).getCallSignatures()[0]
        s = sig ? this.convert(c.getReturnTypeOfSignature(sig), `${path}.toJSON()`) : {}
      } else if (c.isTupleType(type)) {
        const args = c.getTypeArguments(type as ts.TypeReference)
        s = {
          type: 'array',
          prefixItems: args.map((a, i) => this.convert(a, `${path}[${i}]`)),
          items: false,
          minItems: args.length,
        }
      } else if (c.isArrayType(type)) {
        const [item] = c.getTypeArguments(type as ts.TypeReference)
        s = { type: 'array', items: item ? this.#arrayItem(item, `${path}[]`) : {} }
      } else {
        s = this.#plainObject(type, path)
      }
    } finally {
      this.#stack.pop()
    }
    const def = this.#recursive.get(type)
    if (def) {
      this.#defs[def] = s
      return { $ref: `#/$defs/${def}` }
    }
    return s
  }

  /** JSON.stringify writes undefined array items as null */
  #arrayItem(item: ts.Type, path: string): Schema {
    if (item.isUnion() && item.types.some((t) => t.flags & ts.TypeFlags.Undefined)) {
      return this.#union(
        [...item.types.filter((t) => !(t.flags & ts.TypeFlags.Undefined)), this.checker.getNullType()],
        path,
      )
    }
    return this.convert(item, path)
  }

  #plainObject(type: ts.Type, path: string): Schema {
    const c = this.checker
    const properties: Record<string, Schema> = {}
    const required: string[] = []
    for (const p of c.getPropertiesOfType(type)) {
      const name = p.getName()
      if (name.startsWith('__@') || name.startsWith('#')) continue // symbols and private names are not serialised
      const pt = c.getTypeOfSymbol(p)
      if (p.flags & ts.SymbolFlags.Method || pt.getCallSignatures().length) continue // JSON.stringify skips functions
      const optional =
        (p.flags & ts.SymbolFlags.Optional) !== 0 ||
        (pt.isUnion() && pt.types.some((t) => t.flags & (ts.TypeFlags.Undefined | ts.TypeFlags.Void)))
      if (pt.flags & ts.TypeFlags.Undefined) continue // always undefined: never written
      properties[name] = this.convert(pt, `${path}.${name}`)
      if (!optional) required.push(name)
    }
    const s: Schema = { type: 'object' }
    if (Object.keys(properties).length) s.properties = sortKeys(properties)
    if (required.length) s.required = required.sort()
    const index = c.getIndexInfosOfType(type).find((i) => i.keyType.flags & (ts.TypeFlags.String | ts.TypeFlags.Number))
    s.additionalProperties = index ? this.#omitUndefined(index.type, `${path}[key]`) : false
    return s
  }

  #defName(type: ts.Type): string {
    const base = type.aliasSymbol?.name ?? type.getSymbol()?.name ?? 'Type'
    let n = base.replace(/[^\w]/g, '_')
    for (let i = 2; Object.values(Object.fromEntries(this.#recursive)).includes(n) || n in this.#defs; i++)
      n = `${base}${i}`
    return n
  }
}

function sortKeys<T>(o: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
}

/** a stable string for sorting union members */
function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, x) =>
    x && typeof x === 'object' && !Array.isArray(x) ? sortKeys(x as Record<string, unknown>) : x,
  )
}

/** The text of a snapshot file. */
export function renderSchema(s: Schema): string {
  return JSON.stringify(s, null, 2) + '\n'
}

function main(argv: string[]): number {
  const schemas = generateSchemas()
  const check = argv.includes('--check')
  const existing = (() => {
    try {
      return readdirSync(SCHEMA_DIR).filter((n) => n.endsWith('.json'))
    } catch {
      return []
    }
  })()
  const changed: string[] = []
  for (const [name, s] of Object.entries(schemas)) {
    const text = renderSchema(s)
    let old: string | undefined
    try {
      old = readFileSync(join(SCHEMA_DIR, name), 'utf8')
    } catch {
      /* new */
    }
    if (old === text) continue
    changed.push(name)
    if (!check) {
      mkdirSync(SCHEMA_DIR, { recursive: true })
      writeFileSync(join(SCHEMA_DIR, name), text)
    }
  }
  for (const name of existing) {
    if (name in schemas) continue
    changed.push(`${name} (no such command any more)`)
    if (!check) rmSync(join(SCHEMA_DIR, name))
  }
  const dir = relative(ROOT, SCHEMA_DIR)
  if (!changed.length) process.stdout.write(`${dir}: ${Object.keys(schemas).length} schemas, all up to date.\n`)
  else process.stdout.write(`${dir}: ${check ? 'out of date' : 'written'}: ${changed.join(', ')}\n`)
  return check && changed.length ? 1 : 0
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href)
  process.exitCode = main(process.argv.slice(2))
