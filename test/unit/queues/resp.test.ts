import { describe, expect, it } from 'vitest'
import { ArrayReplyParser } from '../../../src/queues/resp.js'

const bulk = (s: Buffer) => Buffer.concat([Buffer.from(`$${s.length}\r\n`), s, Buffer.from('\r\n')])
const array = (items: Buffer[]) => Buffer.concat([Buffer.from(`*${items.length}\r\n`), ...items.map(bulk)])

function run(chunks: Buffer[]) {
  const elements: string[] = []
  const replies: Array<string | number> = []
  const p = new ArrayReplyParser(
    (buf, start, end) => elements.push(buf.toString('utf8', start, end)),
    (err, n) => replies.push(err ? `error: ${err.message}` : n),
  )
  for (const c of chunks) p.feed(c)
  return { elements, replies }
}

describe('ArrayReplyParser (raw LRANGE replies)', () => {
  const items = ['{"body": "e30="}', '', 'x'.repeat(300), 'é\r\n$3\r\n*2 inside', '{"a": 1}'].map((s) => Buffer.from(s))
  const stream = Buffer.concat([
    array(items.slice(0, 3)),
    Buffer.from('*0\r\n'),
    Buffer.from('-WRONGTYPE Operation against a key holding the wrong kind of value\r\n'),
    array(items.slice(3)),
  ])
  const expected = {
    elements: items.map((b) => b.toString('utf8')),
    replies: [3, 0, 'error: WRONGTYPE Operation against a key holding the wrong kind of value', 2],
  }

  it('reads whole replies, empty arrays and errors', () => {
    expect(run([stream])).toEqual(expected)
  })

  it('gives the same answer however the stream is cut (every split point, and byte by byte)', () => {
    for (let i = 0; i <= stream.length; i++) expect(run([stream.subarray(0, i), stream.subarray(i)])).toEqual(expected)
    for (let i = 0; i < stream.length; i += 7) {
      for (let j = i; j <= stream.length; j += 11)
        expect(run([stream.subarray(0, i), stream.subarray(i, j), stream.subarray(j)])).toEqual(expected)
    }
    expect(run([...stream].map((b) => Buffer.from([b])))).toEqual(expected)
  })

  it('refuses a reply that is not an array of bulk strings', () => {
    expect(() => run([Buffer.from('+OK\r\n')])).toThrow(/unexpected reply type/)
    expect(() => run([Buffer.from('*1\r\n:5\r\n')])).toThrow(/unexpected array element type/)
  })
})
