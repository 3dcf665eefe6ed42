import { describe, expect, it } from 'vitest'
import { extractTokens, replaceTokens } from '../../../src/encryption/values.js'
import { SAMPLE_TOKEN } from '../../support/crypto-vectors.js'

const json = { format: 'json' as const }
const legacy = 'A'.repeat(342) + '=='

describe('tokens inside stored values', () => {
  const raw = `{"openai_api_key": "${SAMPLE_TOKEN}", "name": "caf\\u00e9 \\"q\\"", "n": 1.50, "nested": {"k": ["${SAMPLE_TOKEN}", "${legacy}"]}, "plain": "SFlCUklEO"}`
  it('finds hybrid and legacy tokens at any depth, nothing else', () => {
    expect(extractTokens(json, raw).tokens).toEqual([SAMPLE_TOKEN, SAMPLE_TOKEN, legacy])
    expect(extractTokens({ format: 'token' }, SAMPLE_TOKEN).tokens).toEqual([SAMPLE_TOKEN])
    expect(extractTokens(json, null).tokens).toEqual([])
    expect(extractTokens(json, '{"a": ').malformed).toBe(true)
  })
  it('replaces only the token literals: every other byte stays', () => {
    let i = 0
    const out = replaceTokens(json, raw, () => `NEW${i++}`)
    expect(out).toBe(
      `{"openai_api_key": "NEW0", "name": "caf\\u00e9 \\"q\\"", "n": 1.50, "nested": {"k": ["NEW1", "NEW2"]}, "plain": "SFlCUklEO"}`,
    )
    expect(replaceTokens(json, raw, () => undefined)).toBe(raw)
    expect(replaceTokens({ format: 'token' }, SAMPLE_TOKEN, () => 'X')).toBe('X')
  })
})

describe('json-or-token values (providers / provider_credentials.encrypted_config)', () => {
  const col = { format: 'json-or-token' as const }
  it('a value that does not start with "{" is one token (Dify reads it as {"openai_api_key": value})', () => {
    expect(extractTokens(col, SAMPLE_TOKEN)).toEqual({ tokens: [SAMPLE_TOKEN] })
    expect(replaceTokens(col, SAMPLE_TOKEN, () => 'NEW')).toBe('NEW')
  })
  it('a JSON object is searched like a json column', () => {
    const raw = `{"openai_api_key": "${SAMPLE_TOKEN}", "openai_organization": "org"}`
    expect(extractTokens(col, raw).tokens).toEqual([SAMPLE_TOKEN])
    expect(replaceTokens(col, raw, () => 'N')).toBe('{"openai_api_key": "N", "openai_organization": "org"}')
    expect(extractTokens(col, '{"a": ').malformed).toBe(true)
  })
})
