import { describe, expect, it } from 'vitest'
import { addFlows, listFlow, toRate, type ListMark } from '../../../src/queues/rates.js'

const mark = (len: number): ListMark => ({ len, head: len ? Buffer.from(`m${len}`) : null })

describe('rates in and out (queue list --watch)', () => {
  it('the previous head element found at index p: p pushed, len0 + p - len1 taken, exact', () => {
    // 10 waiting; 4 pushed and 7 taken since: 7 left, the old head is now at index 4
    expect(listFlow(mark(10), { len: 7, head: Buffer.from('x'), prevAt: 4 })).toEqual({ in: 4, out: 7, exact: true })
    // nothing happened
    expect(listFlow(mark(3), { len: 3, head: Buffer.from('m3'), prevAt: 0 })).toEqual({ in: 0, out: 0, exact: true })
    // only pushes
    expect(listFlow(mark(3), { len: 8, head: Buffer.from('y'), prevAt: 5 })).toEqual({ in: 5, out: 0, exact: true })
  })

  it('an empty list before, or a head element consumed since: lower bounds', () => {
    expect(listFlow(mark(0), { len: 6, head: Buffer.from('y'), prevAt: null })).toEqual({ in: 6, out: 0, exact: false })
    expect(listFlow(undefined, { len: 2, head: Buffer.from('y'), prevAt: null })).toEqual({
      in: 2,
      out: 0,
      exact: false,
    })
    // the 5 that were there are gone, 2 are new
    expect(listFlow(mark(5), { len: 2, head: Buffer.from('z'), prevAt: null })).toEqual({ in: 2, out: 5, exact: false })
    // empty at both refreshes: nothing seen (what passed through unseen is a documented limit)
    expect(listFlow(mark(0), { len: 0, head: null, prevAt: null })).toEqual({ in: 0, out: 0, exact: true })
    expect(listFlow(undefined, { len: 0, head: null, prevAt: null })).toEqual({ in: 0, out: 0, exact: false })
  })

  it('a queue is the sum of its priority lists; per second over the measured interval', () => {
    const f = addFlows([
      { in: 4, out: 7, exact: true },
      { in: 1, out: 0, exact: true },
      { in: 0, out: 0, exact: false },
    ])
    expect(f).toEqual({ in: 5, out: 7, exact: false })
    expect(toRate(f, 2)).toEqual({ in: 5, out: 7, exact: false, inPerSec: 2.5, outPerSec: 3.5, seconds: 2 })
    expect(toRate({ in: 1, out: 2, exact: true }, 3)).toMatchObject({ inPerSec: 0.33, outPerSec: 0.67 })
    expect(toRate({ in: 1, out: 2, exact: true }, 0)).toMatchObject({ inPerSec: 0, outPerSec: 0 })
  })
})
