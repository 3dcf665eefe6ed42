import { afterEach, describe, expect, it } from 'vitest'
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
// @ts-expect-error a plain .mjs build helper without types
import { compareCommandIds } from '../../../scripts/compare-command-ids.mjs'

const cmp = compareCommandIds as ((a: string, b: string) => number) & { plain?: boolean }
const root = fileURLToPath(new URL('../../..', import.meta.url))
const LOCALE_VARS = ['LC_ALL', 'LC_MESSAGES', 'LANG'] as const
const saved = Object.fromEntries(LOCALE_VARS.map((k) => [k, process.env[k]]))

/** the real command ids (ours and the autocomplete plugin's) and every short string over a-z, 0-9, '-', ':' */
function ids(): string[] {
  const ours = Object.keys(JSON.parse(readFileSync(`${root}/oclif.manifest.json`, 'utf8')).commands as object)
  const alphabet = ['-', ':', '0', '5', '9', 'a', 'b', 'd', 'z']
  const short = ['']
  for (let len = 1; len <= 3; len++)
    for (const s of short.filter((x) => x.length === len - 1)) for (const c of alphabet) short.push(s + c)
  return [...ours, 'autocomplete', 'autocomplete:create', 'autocomplete:script', ...short]
}

function withLocale(env: Partial<Record<(typeof LOCALE_VARS)[number], string>>): void {
  for (const k of LOCALE_VARS) delete process.env[k]
  Object.assign(process.env, env)
  cmp.plain = undefined
}

afterEach(() => {
  for (const k of LOCALE_VARS)
    if (saved[k] === undefined) delete process.env[k]
    else process.env[k] = saved[k]
  cmp.plain = undefined
})

describe("compareCommandIds (oclif's command sort without ICU, scripts/build.mjs)", () => {
  it.each([{}, { LANG: 'C.UTF-8' }, { LANG: 'en_US.UTF-8' }, { LC_ALL: 'POSIX' }])(
    'orders command ids exactly as localeCompare under %j, without it',
    (env) => {
      withLocale(env)
      const all = ids()
      for (const a of all)
        for (const b of all)
          if (Math.sign(cmp(a, b)) !== Math.sign(a.localeCompare(b))) expect([a, b]).toBe('same order')
      expect(cmp.plain).toBe(true)
      // the locale of this process is not one of these (ICU reads the environment once): the same in a child process
      const code = `import('${root}/scripts/compare-command-ids.mjs').then(({ compareCommandIds: c }) => { const ids = ${JSON.stringify(all)}; let bad = 0; for (const a of ids) for (const b of ids) if (Math.sign(c(a, b)) !== Math.sign(a.localeCompare(b))) bad++; console.log(bad, c.plain) })`
      const out = execFileSync(process.execPath, ['-e', code], {
        env: { PATH: process.env.PATH, ...env },
        encoding: 'utf8',
      })
      expect(out.trim()).toBe('0 true')
    },
  )

  it('leaves other locales and other characters to localeCompare', () => {
    withLocale({ LANG: 'da_DK.UTF-8' })
    expect(cmp('aa', 'b')).toBe('aa'.localeCompare('b'))
    expect(cmp.plain).toBe(false)
    withLocale({ LANG: 'en_US.UTF-8', LC_MESSAGES: 'lt_LT.UTF-8' })
    cmp('a', 'b')
    expect(cmp.plain).toBe(false)
    withLocale({})
    expect(Math.sign(cmp('Db', 'da'))).toBe(Math.sign('Db'.localeCompare('da')))
    expect(Math.sign(cmp('db_x', 'db-x'))).toBe(Math.sign('db_x'.localeCompare('db-x')))
    const code = `import('${root}/scripts/compare-command-ids.mjs').then(({ compareCommandIds: c }) => console.log(c('aa', 'b'), 'aa'.localeCompare('b')))`
    const out = execFileSync(process.execPath, ['-e', code], {
      env: { PATH: process.env.PATH, LANG: 'da_DK.UTF-8' },
      encoding: 'utf8',
    })
    expect(out.trim()).toBe('1 1')
  })
})
