import { beforeAll, describe, expect, it } from 'vitest'
import {
  decryptToken,
  encryptToken,
  generateTenantKeyPair,
  keysMatch,
  type TenantKeyPair,
} from '../../../src/crypto/tenant-key.js'
import { hasPyCryptodome, pyCrypto } from '../../support/pycryptodome.js'
import { SAMPLE_PLAINTEXT, SAMPLE_PRIVATE_PEM, SAMPLE_TOKEN } from '../../support/crypto-vectors.js'

if (!hasPyCryptodome()) console.warn('SKIPPED: PyCryptodome is not installed; run scripts/services/pycryptodome.sh')

const TEXTS = [
  'sk-proj-abcdef0123456789',
  '',
  'ünïcødé 🔑 secret',
  'x'.repeat(3000),
  'https://mcp.example.com/sse?token=abc',
]

describe.skipIf(!hasPyCryptodome())('interop with PyCryptodome (scripts/services/pycryptodome.sh)', () => {
  let ours: TenantKeyPair
  beforeAll(async () => {
    ours = await generateTenantKeyPair()
  })

  it('PyCryptodome reads our key pair and decrypts our tokens the way Dify does', () => {
    const tokens = TEXTS.map((t) => encryptToken(t, ours.publicPem))
    const r = pyCrypto<{ plaintexts: string[]; public: string }>({ op: 'decrypt', private: ours.privatePem, tokens })
    expect(r.plaintexts).toEqual(TEXTS)
    // the public key PyCryptodome derives is byte-for-byte the one we store
    expect(r.public).toBe(ours.publicPem)
  })

  it('PyCryptodome re-exports our private key byte-for-byte (same PEM form as Dify writes)', () => {
    const r = pyCrypto<{ private: string; public: string }>({ op: 'reexport', private: ours.privatePem })
    expect(r.private).toBe(ours.privatePem)
    expect(r.public).toBe(ours.publicPem)
  })

  it('we decrypt tokens made by PyCryptodome with a PyCryptodome key', () => {
    const kp = pyCrypto<{ private: string; public: string }>({ op: 'generate' })
    expect(keysMatch(kp.private, kp.public)).toBe(true)
    const { tokens } = pyCrypto<{ tokens: string[] }>({ op: 'encrypt', public: kp.public, texts: TEXTS })
    expect(tokens.map((t) => decryptToken(t, kp.private))).toEqual(TEXTS)
    // and to our public key
    const mine = pyCrypto<{ tokens: string[] }>({ op: 'encrypt', public: ours.publicPem, texts: TEXTS })
    expect(mine.tokens.map((t) => decryptToken(t, ours.privatePem))).toEqual(TEXTS)
  })

  it('PyCryptodome agrees on the Appendix A vector', () => {
    expect(pyCrypto({ op: 'decrypt', private: SAMPLE_PRIVATE_PEM, tokens: [SAMPLE_TOKEN] }).plaintexts).toEqual([
      SAMPLE_PLAINTEXT,
    ])
  })
})
