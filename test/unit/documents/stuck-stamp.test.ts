import { describe, expect, it } from 'vitest'
import { stampOf } from '../../../src/documents/stuck.js'

/** what the drivers gave before: the text parsed as UTC by Date, then toISOString() / getTime() */
const viaDate = (text: string) => {
  const d = new Date(`${text.replace(' ', 'T')}Z`)
  return { iso: d.toISOString(), ms: d.getTime() }
}

describe('stampOf (timestamps read as text)', () => {
  it('gives what Date gives, for every fraction length and across the years', () => {
    let seed = 7
    const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n)
    const p = (n: number, w: number) => String(n).padStart(w, '0')
    for (let i = 0; i < 5000; i++) {
      const base = `${p(1000 + rnd(9000), 4)}-${p(1 + rnd(12), 2)}-${p(1 + rnd(28), 2)} ${p(rnd(24), 2)}:${p(rnd(60), 2)}:${p(rnd(60), 2)}`
      const frac = rnd(7)
      const text = frac ? `${base}.${p(rnd(10 ** frac), frac)}` : base
      expect(stampOf(text), text).toEqual(viaDate(text))
    }
  })

  it('edge values: leap day, end of year, epoch, microseconds that round down', () => {
    for (const text of [
      '2024-02-29 23:59:59.999999',
      '1999-12-31 23:59:59.9995',
      '1970-01-01 00:00:00',
      '2000-01-01 00:00:00.1',
      '1000-01-01 00:00:00.01',
    ])
      expect(stampOf(text), text).toEqual(viaDate(text))
  })

  it('anything else goes through Date: a Date, another layout, null', () => {
    const d = new Date(Date.UTC(2024, 4, 1, 12, 0, 0, 5))
    expect(stampOf(d)).toEqual({ iso: d.toISOString(), ms: d.getTime() })
    expect(stampOf('2024-05-01T12:00:00.5')).toEqual(viaDate('2024-05-01T12:00:00.5'))
    expect(stampOf('0099-05-01 12:00:00')).toEqual(viaDate('0099-05-01 12:00:00'))
    expect(stampOf(null)).toBeNull()
    expect(() => stampOf('infinity')).toThrow(RangeError)
  })
})
