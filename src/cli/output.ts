/** Human output to stdout, diagnostics and progress to stderr; silent where --json asks for a clean stdout. */
export interface Output {
  json: boolean
  /** stdout is a terminal and --json is off: spinners and colours allowed */
  interactive: boolean
  /** a line of human output (stdout); nothing under --json */
  log(text?: string): void
  /** a warning (stderr), shown in both modes */
  warn(text: string): void
  /** a progress handle on stderr; silent without a TTY or under --json */
  progress(text: string): Progress
  /** several lines of human output (a domain's render.ts); nothing under --json */
  lines(lines: readonly string[]): void
  /** text to stdout exactly as given (no newline added, nothing escaped: generated SQL); nothing under --json */
  write(text: string): void
  /** a JSON value on stdout in both modes, for results streamed line by line: compact, or indented by 2 */
  jsonValue(value: unknown, opts?: { pretty?: boolean }): void
  /** a large result object on stdout, as `jsonValue(value, {pretty: true})` would write it, its array `streamKey` in pages */
  jsonStreamed(value: Record<string, unknown>, streamKey: string): Promise<void>
  /** text to stderr exactly as given, in both modes: progress lines and notices a command formats itself */
  stderr(text: string): void
  /** clear the terminal before a refresh (interactive only) */
  clearScreen(): void
}

export interface Progress {
  update(text: string): void
  succeed(text?: string): void
  fail(text?: string): void
  stop(): void
}

const silent: Progress = { update() {}, succeed() {}, fail() {}, stop() {} }

let pipesGuarded = false

/**
 * A reader that goes away (`dify … | head`, `2>&1 | head`) breaks our stdout or stderr pipe: Node then emits EPIPE as
 * an 'error' on the stream, which nobody handles once the command has returned, so Node printed its stack trace and
 * exited 1 after a command that had succeeded, or in the middle of a writer's work. The output is dropped instead
 * (a destroyed stream ignores later writes) and the command ends as it would have, with its own exit code and audit
 * line. Any other stream error is rethrown, as before.
 */
function guardBrokenPipes(): void {
  if (pipesGuarded) return
  pipesGuarded = true
  for (const s of [process.stdout, process.stderr])
    s.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code !== 'EPIPE') throw e
    })
}

export function makeOutput(opts: { json: boolean }): Output {
  guardBrokenPipes()
  const interactive = !opts.json && Boolean(process.stderr.isTTY)
  // the same warning reached by two paths (e.g. the release check of the base command and of a domain module) once
  const warned = new Set<string>()
  return {
    json: opts.json,
    interactive,
    log(text = '') {
      // human output may carry arguments, database values or broker payloads: control characters are escaped
      if (!opts.json) process.stdout.write(escapeControls(text) + '\n')
    },
    warn(text) {
      if (warned.has(text)) return
      warned.add(text)
      process.stderr.write(`${interactive ? '\x1b[33m!\x1b[0m' : 'Warning:'} ${escapeControls(text)}\n`)
    },
    progress(text) {
      if (!interactive) return silent
      return new Spinner(text)
    },
    lines(lines) {
      for (const l of lines) this.log(l)
    },
    write(text) {
      if (!opts.json) process.stdout.write(text)
    },
    jsonValue(value, o = {}) {
      process.stdout.write(`${o.pretty ? JSON.stringify(value, null, 2) : JSON.stringify(value)}\n`)
    },
    jsonStreamed(value, streamKey) {
      return writeJsonStreamed(process.stdout, value, streamKey)
    },
    stderr(text) {
      process.stderr.write(text)
    },
    clearScreen() {
      if (interactive) process.stdout.write('\x1b[H\x1b[2J')
    },
  }
}

/** A tiny stderr spinner (ora is loaded lazily only where rich bars are needed). */
class Spinner implements Progress {
  #text: string
  #i = 0
  #timer: NodeJS.Timeout
  static frames = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏']
  constructor(text: string) {
    this.#text = text
    this.#timer = setInterval(() => this.#render(), 80)
    this.#timer.unref()
    this.#render()
  }
  #render() {
    process.stderr.write(`\r\x1b[2K${Spinner.frames[this.#i++ % Spinner.frames.length]} ${this.#text}`)
  }
  update(text: string) {
    this.#text = text
  }
  #end(symbol: string, text?: string) {
    clearInterval(this.#timer)
    process.stderr.write(`\r\x1b[2K${text !== undefined ? `${symbol} ${text}\n` : ''}`)
  }
  succeed(text?: string) {
    this.#end('\x1b[32m✓\x1b[0m', text ?? this.#text)
  }
  fail(text?: string) {
    this.#end('\x1b[31m✗\x1b[0m', text ?? this.#text)
  }
  stop() {
    this.#end('')
  }
}

/** "90s", "15m", "2h", "1d", "0" → seconds; null when not a duration. */
export function parseDuration(text: string): number | null {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/i.exec(text)
  if (!m) return null
  const n = Number(m[1])
  const unit = (m[2] ?? 's').toLowerCase()
  return unit === 'ms' ? n / 1000 : unit === 's' ? n : unit === 'm' ? n * 60 : unit === 'h' ? n * 3600 : n * 86400
}

/**
 * Control characters (C0, DEL, C1) in text that came from arguments, files or the database, escaped for a
 * terminal (\x1b → \x1b shown as "\x1b"), so nothing typed by someone else can move the cursor or recolour it.
 * Newlines and tabs are kept only where the caller allows.
 */
export function escapeControls(text: string, opts: { keepNewlines?: boolean } = { keepNewlines: true }): string {
  return text.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029]|\n|\t/g, (c) => {
    if ((c === '\n' || c === '\t') && opts.keepNewlines !== false) return c
    const code = c.charCodeAt(0)
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`
  })
}

/**
 * Write `value` as `JSON.stringify(value, null, 2)` + "\n" would (byte for byte), without building that text: the
 * top-level array property `streamKey` is written at most `pageSize` elements (about 32 K characters) at a time,
 * waiting for `drain` whenever the stream asks (backpressure), so the peak is one page of text, not the whole
 * document. Other properties are stringified one by one. Used by commands whose --json result can hold very many rows (`documents stuck`).
 */
export async function writeJsonStreamed(
  out: NodeJS.WritableStream,
  value: Record<string, unknown>,
  streamKey: string,
  pageSize = 500,
): Promise<void> {
  // a stream that is gone (its reader closed the pipe: guardBrokenPipes) never drains: stop waiting and writing
  const gone = () => (out as NodeJS.WritableStream & { destroyed?: boolean }).destroyed === true
  const write = (s: string) =>
    gone() || out.write(s) || gone()
      ? Promise.resolve()
      : new Promise<void>((resolve) => {
          const done = () => {
            out.off('drain', done)
            out.off('close', done)
            resolve()
          }
          out.once('drain', done)
          out.once('close', done)
        })
  const indent = (s: string, pad: string) => s.replace(/\n/g, `\n${pad}`)
  const entries = Object.entries(value).filter(([, v]) => jsonValue(v))
  if (!entries.length) return write('{}\n')
  await write('{\n')
  for (const [i, [k, v]] of entries.entries()) {
    const sep = i < entries.length - 1 ? ',\n' : '\n'
    const key = `  ${JSON.stringify(k)}: `
    if (k !== streamKey || !Array.isArray(v) || v.length === 0) {
      await write(`${key}${indent(JSON.stringify(v, null, 2), '  ')}${sep}`)
      continue
    }
    await write(`${key}[\n`)
    // one JSON.stringify per page: the page inside a one-key object is indented exactly as it is here (2 levels),
    // so its text is the wrapper's minus a fixed head and tail — no per-element stringify and re-indent. Pages aim
    // at PAGE_CHARS characters (sized by the previous page's average): a string this small stays in V8's young
    // generation (one over ~128 KB goes to large-object space, freed only by a full GC)
    let n = Math.min(pageSize, 8)
    for (let j = 0; j < v.length;) {
      const end = Math.min(v.length, j + n)
      const text = JSON.stringify({ a: v.slice(j, end) }, null, 2)
      await write(`${text.slice(WRAP_HEAD, text.length - WRAP_TAIL)}${end < v.length ? ',\n' : '\n'}`)
      n = Math.max(1, Math.min(pageSize, Math.floor((PAGE_CHARS * (end - j)) / text.length)))
      j = end
    }
    await write(`  ]${sep}`)
  }
  await write('}\n')
}

const PAGE_CHARS = 32 * 1024
/** `{\n  "a": [\n` and `\n  ]\n}` around a page stringified as `{a: page}` */
const WRAP_HEAD = 11
const WRAP_TAIL = 6

/** what JSON.stringify keeps as an object property (undefined, functions and symbols are left out) */
const jsonValue = (v: unknown) => v !== undefined && typeof v !== 'function' && typeof v !== 'symbol'
