import { execFileSync } from 'node:child_process'
import { describe, expect, it } from 'vitest'
import {
  compareVectors,
  decodeFloatListPickle,
  difyTextHash,
  PickleFormatError,
} from '../../../src/dify/embedding-cache.js'
import { PYTHON } from '../../support/services.js'

const py = (expr: string) =>
  execFileSync(PYTHON, ['-c', `import pickle,sys; sys.stdout.buffer.write(pickle.dumps(${expr}, protocol=5))`])

describe('embedding cache pickle decoder (strict)', () => {
  it('decodes what /usr/bin/python3 writes: empty, one item, a batch, several frames', () => {
    expect([...decodeFloatListPickle(py('[]'))]).toEqual([])
    expect([...decodeFloatListPickle(py('[0.5]'))]).toEqual([0.5])
    expect([...decodeFloatListPickle(py('[0.5, -0.25, 1e-300, 3.141592653589793]'))]).toEqual([
      0.5, -0.25, 1e-300, 3.141592653589793,
    ])
    const big = decodeFloatListPickle(py('[i / 7.0 for i in range(10001)]'))
    expect(big.length).toBe(10001)
    expect(big[10000]).toBe(10000 / 7)
    const d1536 = decodeFloatListPickle(py('[((i * 7919) % 1000) / 1000.0 - 0.5 for i in range(1536)]'))
    expect(d1536.length).toBe(1536)
    expect(d1536[3]).toBe(((3 * 7919) % 1000) / 1000 - 0.5)
  })

  it('decodes protocol 4 (HIGHEST_PROTOCOL of Python 3.4–3.7) as well', () => {
    const b = execFileSync(PYTHON, [
      '-c',
      'import pickle,sys; sys.stdout.buffer.write(pickle.dumps([1.5, 2.5], protocol=4))',
    ])
    expect([...decodeFloatListPickle(b)]).toEqual([1.5, 2.5])
  })

  it('rejects anything that is not exactly a list of floats', () => {
    for (const expr of ['[1, 2]', '(0.5,)', '{"a": 0.5}', '"x"', '[0.5, None]', '[[0.5]]']) {
      expect(() => decodeFloatListPickle(py(expr)), expr).toThrow(PickleFormatError)
    }
    const ok = py('[0.5, 0.25]')
    expect(() => decodeFloatListPickle(ok.subarray(0, -1))).toThrow(PickleFormatError)
    expect(() => decodeFloatListPickle(Buffer.concat([ok, Buffer.from('.')]))).toThrow(PickleFormatError)
    // a numpy array pickle (GLOBAL/REDUCE) is refused, never executed
    const np = Buffer.from('80049520000000000000008c05706f7369788c0673797374656d9493948c026c7394859452942e', 'hex')
    expect(() => decodeFloatListPickle(np)).toThrow(PickleFormatError)
  })

  it("hash is sha256(text + 'None') as Dify's generate_text_hash", () => {
    const h = execFileSync(PYTHON, [
      '-c',
      'import hashlib; print(hashlib.sha256(("héllo"+"None").encode()).hexdigest(), end="")',
    ]).toString()
    expect(difyTextHash('héllo')).toBe(h)
  })

  it('compares float32-stored vectors with float64 cache values', () => {
    const v = [0.6, 0.8]
    const f32 = Float32Array.from(v)
    expect(compareVectors(f32, v).equal).toBe(true)
    expect(compareVectors([0.8, 0.6], v).equal).toBe(false)
    expect(compareVectors([0.6], v).equal).toBe(false)
  })
})
