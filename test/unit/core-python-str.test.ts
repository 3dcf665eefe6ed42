import { describe, expect, it } from 'vitest'
import { execFileSync } from 'node:child_process'
import { pyStrip } from '../../src/core/python-str.js'

// the strings where Python's str.strip() and JavaScript's trim() disagree, and some where they agree
const CASES = [
  '\u001cops@example.com\u001f',
  '\u0085ops@example.com\u0085',
  '\u001d\u001e x \u001e',
  '\ufeffops@example.com\ufeff',
  ' \t\nops@example.com\r\n',
  '\u3000a\u2028',
  '\u00a0\u1680b\u202f',
  '',
  '   ',
  'a b',
  '\u200bzero-width\u200b',
]

describe("pyStrip is Python's str.strip()", () => {
  it('matches /usr/bin/python3 on every case (U+001C–U+001F and U+0085 stripped, U+FEFF kept)', () => {
    const py = JSON.parse(
      execFileSync(
        '/usr/bin/python3',
        ['-c', 'import json,sys; print(json.dumps([s.strip() for s in json.load(sys.stdin)]))'],
        { input: JSON.stringify(CASES), encoding: 'utf8' },
      ),
    )
    expect(CASES.map(pyStrip)).toEqual(py)
    expect(pyStrip('\u001cx\u0085')).toBe('x')
    expect(pyStrip('\ufeffx')).toBe('\ufeffx')
  })
})
