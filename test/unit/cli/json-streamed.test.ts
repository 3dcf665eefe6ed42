import { Writable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { writeJsonStreamed } from '../../../src/cli/output.js'

/** a sink that asks for backpressure on every other write and drains on the next tick, recording the chunks */
function slowSink() {
  const chunks: string[] = []
  let waits = 0
  const sink = new Writable({
    highWaterMark: 1,
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk.toString('utf8'))
      setImmediate(cb)
    },
  })
  const write = sink.write.bind(sink)
  sink.write = ((c: string) => {
    const ok = write(c)
    if (!ok) waits++
    return ok
  }) as typeof sink.write
  return { sink, text: () => chunks.join(''), waits: () => waits }
}

describe('writeJsonStreamed', () => {
  const cases: Array<[string, Record<string, unknown>]> = [
    ['empty object', {}],
    ['empty array', { a: 1, documents: [], z: null }],
    [
      'rows and nested values',
      {
        version: '1.12.1',
        skipped: undefined,
        documents: Array.from({ length: 7 }, (_, i) => ({
          id: `d${i}`,
          name: 'quote " and \\ and ü and \u2028',
          segments: { total: i, byStatus: i ? { completed: i } : {} },
          work: i % 2 ? [{ kind: 'queue', position: i, flag: null }] : [],
          gone: undefined,
          at: new Date(0),
        })),
        counts: { queued: 1 },
        list: [1, [2, []], {}],
        last: 'x',
      },
    ],
    ['array of odd values', { documents: [1, null, undefined, 'x', [], {}, [{ a: [] }]] }],
    ['stream key last', { a: { b: { c: [1, 2] } }, documents: [{ x: 1 }] }],
  ]
  for (const [name, value] of cases) {
    it(`writes exactly JSON.stringify(value, null, 2) + newline: ${name}`, async () => {
      for (const page of [1, 2, 500]) {
        const s = slowSink()
        await writeJsonStreamed(s.sink, value, 'documents', page)
        expect(s.text()).toBe(`${JSON.stringify(value, null, 2)}\n`)
      }
    })
  }

  it('waits for drain when the stream asks, one page at a time', async () => {
    const s = slowSink()
    const documents = Array.from({ length: 10 }, (_, i) => ({ i }))
    await writeJsonStreamed(s.sink, { documents }, 'documents', 2)
    expect(s.waits()).toBeGreaterThan(5)
    expect(JSON.parse(s.text())).toEqual({ documents })
  })

  it('stops writing, and does not wait for a drain, when the stream is gone (its reader closed the pipe)', async () => {
    const documents = Array.from({ length: 50 }, (_, i) => ({ id: i }))
    let writes = 0
    const sink = new Writable({
      highWaterMark: 1,
      write(_chunk, _enc, cb) {
        writes++
        // the pipe breaks under the first chunk: an error, as Node reports EPIPE
        cb(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }))
      },
    })
    sink.on('error', () => {})
    await writeJsonStreamed(sink, { documents }, 'documents', 2)
    expect(writes).toBe(1)
  })
})
