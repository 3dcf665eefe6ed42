import { describe, expect, it } from 'vitest'
import { createPrivateKey, publicEncrypt, constants } from 'node:crypto'
import { cmac, eaxDecrypt, eaxEncrypt, EaxAuthError } from '../../../src/crypto/eax.js'
import {
  decryptToken,
  encryptToken,
  generateTenantKeyPair,
  keysMatch,
  publicPemOf,
  DecryptError,
  looksLikeHybridToken,
} from '../../../src/crypto/tenant-key.js'
import { keys, privateKeyPath } from '../../../src/dify/keys.js'
import {
  SAMPLE_CACHE_KEY,
  SAMPLE_PLAINTEXT,
  SAMPLE_PRIVATE_PEM,
  SAMPLE_TENANT,
  SAMPLE_TOKEN,
} from '../../support/crypto-vectors.js'

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex')

describe('AES-CMAC (RFC 4493 vectors)', () => {
  const k = hex('2b7e151628aed2a6abf7158809cf4f3c')
  const m = hex(
    '6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e5130c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710',
  )
  it.each([
    [0, 'bb1d6929e95937287fa37d129b756746'],
    [16, '070a16b46b4d4144f79bdd9dd04a287c'],
    [40, 'dfa66747de9ae63030ca32611497c827'],
    [64, '51f0bebf7e3b9d92fc49741779363cfe'],
  ])('message of %i bytes', (len, mac) => {
    expect(cmac(k, m.subarray(0, len)).toString('hex')).toBe(mac)
  })
})

describe('AES-EAX (vectors of the EAX paper)', () => {
  const vectors = [
    {
      key: '233952DEE4D5ED5F9B9C6D6FF80FF478',
      nonce: '62EC67F9C3A4A407FCB2A8C49031A8B3',
      header: '6BFB914FD07EAE6B',
      msg: '',
      ct: '',
      tag: 'E037830E8389F27B025A2D6527E79D01',
    },
    {
      key: '91945D3F4DCBEE0BF45EF52255F095A4',
      nonce: 'BECAF043B0A23D843194BA972C66DEBD',
      header: 'FA3BFD4806EB53FA',
      msg: 'F7FB',
      ct: '19DD',
      tag: '5C4C9331049D0BDAB0277408F67967E5',
    },
    {
      key: '01F74AD64077F2E704C0F60ADA3DD523',
      nonce: '70C3DB4F0D26368400A10ED05D2BFF5E',
      header: '234A3463C1264AC6',
      msg: '1A47CB4933',
      ct: 'D851D5BAE0',
      tag: '3A59F238A23E39199DC9266626C40F80',
    },
  ]
  it.each(vectors)('encrypts and decrypts vector $msg', (v) => {
    const r = eaxEncrypt(hex(v.key), hex(v.nonce), hex(v.msg), hex(v.header))
    expect(r.ciphertext.toString('hex').toUpperCase()).toBe(v.ct)
    expect(r.tag.toString('hex').toUpperCase()).toBe(v.tag)
    expect(
      eaxDecrypt(hex(v.key), hex(v.nonce), hex(v.ct), hex(v.tag), hex(v.header)).toString('hex').toUpperCase(),
    ).toBe(v.msg)
  })
  it('rejects a wrong tag', () => {
    const v = vectors[1]!
    const bad = hex(v.tag)
    bad[0]! ^= 1
    expect(() => eaxDecrypt(hex(v.key), hex(v.nonce), hex(v.ct), bad, hex(v.header))).toThrow(EaxAuthError)
  })
})

describe('Dify hybrid tokens (Appendix A)', () => {
  it('decrypts the sample token with the sample key', () => {
    expect(decryptToken(SAMPLE_TOKEN, SAMPLE_PRIVATE_PEM)).toBe(SAMPLE_PLAINTEXT)
    expect(Buffer.from(SAMPLE_TOKEN, 'base64').length).toBe(313)
  })
  it('builds the private-key cache key of the sample tenant (SHA3-256)', () => {
    expect(keys.tenantPrivkey(SAMPLE_TENANT)).toBe(SAMPLE_CACHE_KEY)
    expect(keys.tenantPrivkey(SAMPLE_TENANT, 'pfx:')).toBe(`pfx:${SAMPLE_CACHE_KEY}`)
    expect(privateKeyPath(SAMPLE_TENANT)).toBe(`privkeys/${SAMPLE_TENANT}/private.pem`)
  })
  it('round-trips with the sample key, and the layout is prefix + 256 + 16 + 16 + n', () => {
    const pub = publicPemOf(SAMPLE_PRIVATE_PEM)
    for (const text of ['', 'x', 'sk-ünïcødé-🔑', 'a'.repeat(5000)]) {
      const t = encryptToken(text, pub)
      expect(looksLikeHybridToken(t)).toBe(true)
      expect(Buffer.from(t, 'base64').length).toBe(7 + 256 + 32 + Buffer.byteLength(text))
      expect(decryptToken(t, SAMPLE_PRIVATE_PEM)).toBe(text)
    }
  })
  it('decrypts legacy pure RSA-OAEP tokens', () => {
    const legacy = publicEncrypt(
      { key: publicPemOf(SAMPLE_PRIVATE_PEM), padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha1' },
      Buffer.from('legacy-secret'),
    ).toString('base64')
    expect(decryptToken(legacy, SAMPLE_PRIVATE_PEM)).toBe('legacy-secret')
  })
  it('a token of another key or a tampered token is a DecryptError', async () => {
    const other = await generateTenantKeyPair()
    expect(() => decryptToken(SAMPLE_TOKEN, other.privatePem)).toThrow(DecryptError)
    const blob = Buffer.from(SAMPLE_TOKEN, 'base64')
    blob[blob.length - 1]! ^= 1
    expect(() => decryptToken(blob.toString('base64'), SAMPLE_PRIVATE_PEM)).toThrow(/tag/)
    expect(() => decryptToken('bm90IGEgdG9rZW4=', SAMPLE_PRIVATE_PEM)).toThrow(DecryptError)
  })
})

describe("key pairs in Dify's exact PEM forms", () => {
  it('PKCS#1 private, SPKI public, no trailing newline, 64-char lines, RSA-2048 e=65537', async () => {
    const kp = await generateTenantKeyPair()
    expect(kp.privatePem.startsWith('-----BEGIN RSA PRIVATE KEY-----\n')).toBe(true)
    expect(kp.privatePem.endsWith('\n-----END RSA PRIVATE KEY-----')).toBe(true)
    expect(kp.publicPem.startsWith('-----BEGIN PUBLIC KEY-----\n')).toBe(true)
    expect(kp.publicPem.endsWith('\n-----END PUBLIC KEY-----')).toBe(true)
    for (const pem of [kp.privatePem, kp.publicPem]) {
      const body = pem.split('\n').slice(1, -1)
      expect(body.slice(0, -1).every((l) => l.length === 64)).toBe(true)
      expect(pem).not.toContain('\r')
    }
    const d = createPrivateKey(kp.privatePem).asymmetricKeyDetails!
    expect(d.modulusLength).toBe(2048)
    expect(d.publicExponent).toBe(65537n)
    expect(keysMatch(kp.privatePem, kp.publicPem)).toBe(true)
    expect(keysMatch(SAMPLE_PRIVATE_PEM, kp.publicPem)).toBe(false)
    expect(publicPemOf(kp.privatePem)).toBe(kp.publicPem)
  })
})
