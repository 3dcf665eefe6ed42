import { describe, expect, it } from 'vitest'
import { caseInsensitiveGlob, globEscape, keys } from '../../../src/dify/keys.js'
import {
  choosePassword,
  FLAG_PASSWORD_WARNING,
  passwordSourceKind,
  stripFinalNewline,
  type PasswordSourceIo,
} from '../../../src/accounts/password-source.js'
import { isDifyValidEmail } from '../../../src/accounts/reset-email.js'
import { likeContains } from '../../../src/accounts/list.js'
import { naiveUtc, statusNote } from '../../../src/accounts/lookup.js'
import { profileFor } from '../../../src/dify/profile.js'

const io = (o: Partial<PasswordSourceIo> & { answers?: string[] } = {}): PasswordSourceIo & { warnings: string[] } => {
  const warnings: string[] = []
  const answers = [...(o.answers ?? [])]
  return {
    readStdin: o.readStdin ?? (async () => ''),
    canPrompt: o.canPrompt ?? (() => false),
    prompt: o.prompt ?? (async () => answers.shift() ?? ''),
    warn: (t) => warnings.push(t),
    warnings,
  }
}

describe('Redis key globs', () => {
  it('escapes glob metacharacters', () => {
    expect(globEscape('a*b?[c]\\^')).toBe('a\\*b\\?\\[c\\]\\\\\\^')
    expect(keys.refreshTokenPattern('p*x:')).toBe('p\\*x:refresh_token:*')
  })
  it('builds a case-insensitive glob for ASCII and a wildcard for other cased letters', () => {
    expect(caseInsensitiveGlob('Ops+1@x.io')).toBe('[oO][pP][sS]+1@[xX].[iI][oO]')
    expect(caseInsensitiveGlob('ÉÈa')).toBe('*[aA]')
    expect(keys.emailKeyPattern('login_error_rate_limit', '[aA]', 'pre:')).toBe('pre:login_error_rate_limit:[aA]')
  })
})

describe('new password sources', () => {
  it('reads stdin and drops one final newline only', async () => {
    expect(await choosePassword({ passwordStdin: true }, io({ readStdin: async () => 'Secret123\n' }))).toEqual({
      password: 'Secret123',
      source: 'stdin',
      generated: false,
    })
    expect(stripFinalNewline('a\r\n')).toBe('a')
    expect(stripFinalNewline('a\n\n')).toBe('a\n')
  })
  it('refuses two sources and an empty stdin', async () => {
    await expect(choosePassword({ passwordStdin: true, envPassword: 'x' }, io())).rejects.toMatchObject({
      exitCode: 2,
      message: expect.stringContaining('one way only'),
    })
    await expect(choosePassword({ passwordStdin: true }, io())).rejects.toMatchObject({ exitCode: 2 })
  })
  it('without a terminal and without a source is exit 2 naming the options', async () => {
    const e = await choosePassword({}, io()).catch((x) => x)
    expect(e.exitCode).toBe(2)
    expect(e.hint).toContain('--password-stdin')
    expect(e.hint).toContain('DIFY_NEW_PASSWORD')
    expect(e.hint).toContain('--generate')
  })
  it('asks twice on a terminal and refuses a mismatch', async () => {
    expect((await choosePassword({}, io({ canPrompt: () => true, answers: ['Abcdefg1', 'Abcdefg1'] }))).source).toBe(
      'prompt',
    )
    await expect(
      choosePassword({}, io({ canPrompt: () => true, answers: ['Abcdefg1', 'Abcdefg2'] })),
    ).rejects.toMatchObject({ exitCode: 2 })
  })
  it("accepts Dify's flags, checks --password-confirm", async () => {
    expect(passwordSourceKind({ newPassword: 'Abcdefg1' }, () => false)).toBe('flag')
    expect(FLAG_PASSWORD_WARNING).toMatch(/visible to other users/)
    expect((await choosePassword({ newPassword: 'Abcdefg1', passwordConfirm: 'Abcdefg1' }, io())).password).toBe(
      'Abcdefg1',
    )
    await expect(choosePassword({ newPassword: 'Abcdefg1', passwordConfirm: 'x' }, io())).rejects.toMatchObject({
      exitCode: 2,
    })
  })
  it('generates', async () => {
    const c = await choosePassword({ generate: true }, io())
    expect(c.generated).toBe(true)
    expect(c.password).toHaveLength(20)
  })
})

describe('misc', () => {
  it("validates emails as Dify's helper.email does", () => {
    for (const ok of ['a@b.co', 'first.last+tag@sub.example.org', "o'neil@x.io", 'ü@exämple.de'])
      expect(isDifyValidEmail(ok)).toBe(true)
    for (const bad of ['a@b', 'a b@c.de', '@x.io', 'a@b.c', 'a@@b.io', '']) expect(isDifyValidEmail(bad)).toBe(false)
  })
  it('escapes LIKE', () => {
    expect(likeContains('A_b%\\')).toBe('%a\\_b\\%\\\\%')
  })
  it('writes naive UTC timestamps', () => {
    expect(naiveUtc(new Date('2026-01-02T03:04:05.678Z'))).toBe('2026-01-02 03:04:05.678')
  })
  it('explains statuses', () => {
    expect(statusNote('active')).toBeNull()
    expect(statusNote('banned')).toMatch(/unban/)
  })
  it('decides lookup and key forms from the release', () => {
    expect(profileFor('d57accd375ae')).toMatchObject({
      emailLookup: 'exact',
      resetPasswordRateLimitEmail: 'as-typed',
      loginRateLimitEmail: 'as-typed',
      resetEmailStoredForm: 'stripped',
    })
    expect(profileFor('03ea244985ce')).toMatchObject({ emailLookup: 'exact' })
    expect(profileFor('905527cc8fd3')).toMatchObject({
      emailLookup: 'exact-then-lowercase',
      loginRateLimitEmail: 'lowercase',
      resetEmailStoredForm: 'stripped-lowercase',
    })
    expect(profileFor('788d3099ae3a')).toMatchObject({ emailLookup: 'exact-then-lowercase' })
  })
})
