import { describe, expect, it } from 'vitest'
import { difyLockPrefix } from '../../../src/migrations/lock.js'

/** Dify prefixes its db_upgrade_lock with REDIS_KEY_PREFIX only from 1.14.0 (docs/migrations-runner.md §3). */
describe("the key prefix of Dify's upgrade lock", () => {
  it('follows the Dify code at hand, else the target', () => {
    expect(difyLockPrefix('p:', { revision: 'd9e8f7a6b5c4' })).toBe('p:') // 1.15.0
    expect(difyLockPrefix('p:', { revision: '8574b23a38fd' })).toBe('p:') // first revision of 1.14.0
    expect(difyLockPrefix('p:', { revision: '6b5f9f8b1a2c' })).toBe('') // 1.13.1–1.13.3
    expect(difyLockPrefix('p:', { revision: 'd57accd375ae' })).toBe('') // 1.11.0
    expect(difyLockPrefix('p:', { revision: '6b5f9f8b1a2c', difyCodeHead: 'd9e8f7a6b5c4' })).toBe('p:') // the code's pods decide
    expect(difyLockPrefix('p:', { revision: 'd9e8f7a6b5c4', difyCodeHead: '6b5f9f8b1a2c' })).toBe('')
    expect(difyLockPrefix('', { revision: 'd9e8f7a6b5c4' })).toBe('')
    expect(difyLockPrefix('p:', { revision: 'synthetic00' })).toBe('p:') // outside Dify's chain: keep the prefix
  })
})
