/**
 * A raw LRANGE reader for `queue stats`: the elements of each reply are handed over as (buffer, start, end) of the
 * socket's own chunks, with no Buffer or string per element and no reply array, and several LRANGE chunks are kept
 * in flight. Through ioredis every element became a Buffer in an array (about half the CPU of a stats run went to
 * that and its garbage collection).
 *
 * The connection is a duplicate of the broker client (same options: TLS, sentinel, password, DB), opened and
 * authenticated by ioredis; once it is ready its socket is taken over (ioredis's data listener removed) and only
 * this reader talks on it until it is closed.
 */
import type { Redis } from 'ioredis'
import type { Duplex } from 'node:stream'

export type ElementFn = (buf: Buffer, start: number, end: number) => void

/** Incremental parser of a sequence of RESP2 replies that are arrays of bulk strings (or errors). */
export class ArrayReplyParser {
  /** bytes of an incomplete header line kept from the previous chunk */
  private carry: Buffer | null = null
  /** an element split across chunks: its bytes (plus CRLF) are gathered here */
  private partial: Buffer | null = null
  private partialFill = 0
  /** elements still expected in the current array; -1 between replies */
  private left = -1
  private count = 0

  constructor(
    private readonly onElement: ElementFn,
    private readonly onReply: (err: Error | null, count: number) => void,
  ) {}

  feed(chunk: Buffer): void {
    let buf = chunk
    let p = 0
    if (this.partial) {
      const need = this.partial.length - this.partialFill
      const take = Math.min(need, buf.length)
      buf.copy(this.partial, this.partialFill, 0, take)
      this.partialFill += take
      if (take < need) return
      p = take
      const whole = this.partial
      this.partial = null
      this.element(whole, 0, whole.length - 2)
    }
    if (this.carry) {
      buf = Buffer.concat([this.carry, buf.subarray(p)])
      p = 0
      this.carry = null
    }
    const n = buf.length
    while (p < n) {
      const eol = buf.indexOf(0x0d, p)
      if (eol < 0 || eol + 1 >= n) {
        this.carry = Buffer.from(buf.subarray(p))
        return
      }
      const type = buf[p]
      if (this.left < 0) {
        if (type === 0x2a) {
          // *<count>
          const c = Number(buf.toString('latin1', p + 1, eol))
          p = eol + 2
          this.count = 0
          if (c <= 0) this.onReply(null, 0)
          else this.left = c
        } else if (type === 0x2d) {
          const msg = buf.toString('utf8', p + 1, eol)
          p = eol + 2
          this.onReply(new Error(msg), 0)
        } else {
          throw new Error(`unexpected reply type ${JSON.stringify(String.fromCharCode(type ?? 0))} from Redis`)
        }
        continue
      }
      if (type !== 0x24)
        throw new Error(`unexpected array element type ${JSON.stringify(String.fromCharCode(type ?? 0))} from Redis`)
      const len = Number(buf.toString('latin1', p + 1, eol))
      const start = eol + 2
      if (len < 0) {
        // a nil element (not produced by LRANGE): counted as an empty one
        p = start
        this.element(buf, start, start)
        continue
      }
      const end = start + len
      if (end + 2 <= n) {
        p = end + 2
        this.element(buf, start, end)
        continue
      }
      this.partial = Buffer.allocUnsafe(len + 2)
      this.partialFill = buf.copy(this.partial, 0, start, n)
      return
    }
  }

  private element(buf: Buffer, start: number, end: number): void {
    this.onElement(buf, start, end)
    this.count++
    if (--this.left === 0) {
      this.left = -1
      this.onReply(null, this.count)
    }
  }
}

function lrangeCommand(key: Buffer, start: number, stop: number): Buffer {
  const a = String(start)
  const b = String(stop)
  return Buffer.concat([
    Buffer.from(`*4\r\n$6\r\nLRANGE\r\n$${key.length}\r\n`),
    key,
    Buffer.from(`\r\n$${Buffer.byteLength(a)}\r\n${a}\r\n$${Buffer.byteLength(b)}\r\n${b}\r\n`),
  ])
}

export interface RawLrange {
  /**
   * Read a whole list from the head (index 0) in chunks of `chunk`, `inFlight` requests at a time, until a reply
   * comes back short. Every element is passed to `onElement` as a slice of a socket buffer that is only valid during
   * the call. Returns the number of elements read.
   */
  scan(
    key: string,
    opts: {
      chunk: number
      inFlight: number
      onElement: ElementFn
      onChunk?: (n: number) => void
      signal?: AbortSignal
    },
  ): Promise<number>
  close(): void
}

/**
 * Open the raw reader on a duplicate of `client`, or null when that fails or the client has no stream to take over
 * (the caller then reads through `client`).
 */
export async function openRawLrange(client: Redis): Promise<RawLrange | null> {
  const dup = client.duplicate({ lazyConnect: true, enableOfflineQueue: false, autoResubscribe: false })
  dup.on('error', () => {})
  try {
    await dup.connect()
    // every command ioredis sent while connecting (SELECT, CLIENT SETINFO, INFO) has been answered once this is
    await dup.ping()
  } catch {
    dup.disconnect()
    return null
  }
  const stream = (dup as unknown as { stream?: Duplex }).stream
  if (!stream || typeof stream.write !== 'function') {
    dup.disconnect()
    return null
  }
  stream.removeAllListeners('data')
  let current: { fail(e: Error): void } | null = null
  stream.on('close', () => current?.fail(new Error('the connection to Redis closed during the scan')))
  stream.on('error', (e: Error) => current?.fail(e))
  return {
    scan(key, opts) {
      return new Promise<number>((resolve, reject) => {
        const keyBuf = Buffer.from(key, 'utf8')
        let next = 0
        let outstanding = 0
        let finished = false
        let total = 0
        let failed = false
        const fail = (e: Error) => {
          if (failed) return
          failed = true
          current = null
          stream.removeListener('data', onData)
          reject(e)
        }
        const send = () => {
          stream.write(lrangeCommand(keyBuf, next, next + opts.chunk - 1))
          next += opts.chunk
          outstanding++
        }
        const parser = new ArrayReplyParser(opts.onElement, (err, n) => {
          outstanding--
          if (err) return fail(err)
          total += n
          opts.onChunk?.(total)
          if (n < opts.chunk || opts.signal?.aborted) finished = true
          if (!finished) send()
          else if (outstanding === 0) {
            current = null
            stream.removeListener('data', onData)
            resolve(total)
          }
        })
        const onData = (d: Buffer) => {
          try {
            parser.feed(d)
          } catch (e) {
            fail(e as Error)
          }
        }
        current = { fail }
        stream.on('data', onData)
        for (let i = 0; i < Math.max(1, opts.inFlight); i++) send()
      })
    },
    close() {
      current = null
      dup.disconnect()
    },
  }
}
