import { execFileSync } from 'node:child_process'
import { describe, expect, it } from 'vitest'
import {
  generatePassword,
  hashPassword,
  meetsDifyPolicy,
  policyProblem,
  verifyPassword,
} from '../../../src/accounts/password.js'
import { PYTHON } from '../../support/services.js'

const seq16 = Buffer.from([...new Array(16).keys()])

describe('Dify password hash (api/libs/password.py)', () => {
  it('matches reference vector 1 (salt 00..0f)', () => {
    expect(hashPassword('Abcdefg1', seq16)).toEqual({
      passwordSalt: 'AAECAwQFBgcICQoLDA0ODw==',
      password: 'YWQ1OWVmN2M4NTA2ZDdkZWY1YWQ5ZDBjNDU1ZDUyM2NmNTZjZDc2MGU3YzQwZGMzZmQ5Njg2NmM3OWE2NTMyMg==',
    })
    expect(Buffer.from(hashPassword('Abcdefg1', seq16).password, 'base64').toString()).toBe(
      'ad59ef7c8506d7def5ad9d0c455d523cf56cd760e7c40dc3fd96866c79a65322',
    )
  })

  it('matches reference vector 2 (all-zero salt)', () => {
    expect(hashPassword('Abcdefg1', Buffer.alloc(16))).toEqual({
      passwordSalt: 'AAAAAAAAAAAAAAAAAAAAAA==',
      password: 'ODQzMWZmOGVlMTc5MGNiZTQ4YTcyY2VlOGM4NzRhZWE2NmNkZGYwMjdlZmM0ODgwZjY4NDIwMWY5MTYzMWYyNQ==',
    })
  })

  it('uses a fresh 16-byte salt and the stored shapes Dify writes', () => {
    const a = hashPassword('Abcdefg1')
    const b = hashPassword('Abcdefg1')
    expect(a.passwordSalt).not.toBe(b.passwordSalt)
    expect(a.passwordSalt).toHaveLength(24)
    expect(a.password).toHaveLength(88)
    expect(a.password).toMatch(/^[YZMNO]/)
    expect(verifyPassword('Abcdefg1', a)).toBe(true)
    expect(verifyPassword('Abcdefg2', a)).toBe(false)
    expect(verifyPassword('Abcdefg1', { password: null, passwordSalt: null })).toBe(false)
  })

  it("is accepted by an independent implementation (Python hashlib, Dify's compare_password)", () => {
    const pw = 'Ünïcødé-pässwörd 9'
    const stored = hashPassword(pw)
    const check = (candidate: string) =>
      execFileSync(PYTHON, [
        '-c',
        [
          'import base64, binascii, hashlib, sys',
          'pw, hashed, salt = sys.argv[1], sys.argv[2], sys.argv[3]',
          'dk = binascii.hexlify(hashlib.pbkdf2_hmac("sha256", pw.encode("utf-8"), base64.b64decode(salt), 10000))',
          'print("ok" if dk == base64.b64decode(hashed) else "bad")',
        ].join('\n'),
        candidate,
        stored.password,
        stored.passwordSalt,
      ])
        .toString()
        .trim()
    expect(check(pw)).toBe('ok')
    expect(check(pw + 'x')).toBe('bad')
  })
})

describe('Dify password policy with Python re.match semantics', () => {
  /** Dify's check in Python for many passwords at once (JSON in, JSON out: one process, not one per case) */
  const python = (pws: string[]): boolean[] =>
    JSON.parse(
      execFileSync(
        PYTHON,
        [
          '-c',
          'import re,sys,json; print(json.dumps([re.match(r"^(?=.*[a-zA-Z])(?=.*\\d).{8,}$", p) is not None for p in json.load(sys.stdin)]))',
        ],
        {
          input: JSON.stringify(pws),
        },
      ).toString(),
    )

  const cases: Array<[string, boolean]> = [
    ['Abcdefg1', true],
    ['abcdefg1\n', true], // $ matches before one final newline
    ['abcdefg1\n\n', false],
    ['abcd\nefg1', false],
    ['abcdefg\u0661', true], // Arabic-Indic digit one is a \d in Python
    ['abcdefg\uff11', true], // fullwidth digit one
    ['abcdefgh', false],
    ['12345678', false],
    ['Abcdef1', false],
    ['Ab1😀😀😀😀😀', true], // 8 code points, 13 UTF-16 units
    ['Ab1😀😀😀😀', false], // 7 code points though 11 UTF-16 units
    ['Ab1\r\r\r\r\r', true], // Python's . matches \r
    ['Ab1\u2028\u2028\u2028\u2028\u2028', true],
    ['éééééé1a', true],
    ['éééééééé1', false], // é is not [a-zA-Z]
    ['ab cd ef 1', true],
  ]
  it.each(cases)('%j → %s', (pw, ok) => {
    expect(meetsDifyPolicy(pw)).toBe(ok)
  })

  it('agrees with /usr/bin/python3 on every case', () => {
    const py = python(cases.map(([pw]) => pw))
    cases.forEach(([pw], i) => expect([pw, meetsDifyPolicy(pw)]).toEqual([pw, py[i]]))
  })

  it('names the problem', () => {
    expect(policyProblem('Ab1')).toBe('too-short')
    expect(policyProblem('12345678')).toBe('no-letter')
    expect(policyProblem('abcdefgh')).toBe('no-digit')
    expect(policyProblem('abcd\nefg1')).toBe('multi-line')
    expect(policyProblem('abcdefg1\ud800')).toBe('invalid-unicode')
    expect(policyProblem('abcdefg1')).toBeUndefined()
  })

  it('generates passwords Dify accepts', () => {
    const pws = Array.from({ length: 200 }, () => generatePassword())
    for (const p of pws) expect(p).toHaveLength(20)
    expect(new Set(pws).size).toBe(200)
    expect(python(pws).every(Boolean)).toBe(true)
  })
})
