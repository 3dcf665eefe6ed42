import { describe, expect, it } from 'vitest'
import { pyDumps, pyLoads } from '../../../src/migrations/pyjson.js'

/** Expected strings produced by CPython 3 `json.dumps(json.loads(s), separators=(",", ":"), sort_keys=True)`. */
const CASES: [string, string][] = [
  [
    '{"b":1,"a":[1.0,2.5,1e16,1e-5,0.0001,-0.0,123456789012345678901234567890,1E5,3.14159,-0,9999999999999998.0,1e15,0.00012,5e-324]}',
    '{"a":[1.0,2.5,1e+16,1e-05,0.0001,-0.0,123456789012345678901234567890,100000.0,3.14159,0,9999999999999998.0,1000000000000000.0,0.00012,5e-324],"b":1}',
  ],
  [
    '{"c":"\u00e9\\u2028\ud83d\ude00\\u00e9\\"\\n\\t\\u007f/\\\\","a":2,"a":3,"Z":NaN,"y":-Infinity,"x":1e308,"w":0.1,"v":1.5e300,"u":12345678901234567.0}',
    '{"Z":NaN,"a":3,"c":"\\u00e9\\u2028\\ud83d\\ude00\\u00e9\\"\\n\\t\\u007f/\\\\","u":1.2345678901234568e+16,"v":1.5e+300,"w":0.1,"x":1e+308,"y":-Infinity}',
  ],
  [
    '{"\\ud800":1,"\\uffff":2,"\ud83d\ude00":3,"a\\u0000":4, "nested": {"k": [true, false, null, {}, []]}}',
    '{"a\\u0000":4,"nested":{"k":[true,false,null,{},[]]},"\\ud800":1,"\\uffff":2,"\\ud83d\\ude00":3}',
  ],
]

describe('pyjson (Python json byte for byte)', () => {
  it.each(CASES)('%s', (input, expected) => {
    expect(pyDumps(pyLoads(input))).toBe(expected)
  })
  it('rejects what Python rejects', () => {
    for (const bad of ['{"a":1,}', '[01]', '"\u0001"', '{"a" 1}', '1 2']) expect(() => pyLoads(bad), bad).toThrow()
  })
})
