/**
 * Dify's per-tenant RSA hybrid encryption (reference: dify-accounts-crypto-config.md §4; upstream api/libs/rsa.py,
 * api/core/helper/encrypter.py). Written from the documented format, not from Dify's code.
 *
 * Token (what the database holds) = base64( "HYBRID:" || RSA-OAEP-SHA1(aes_key) || nonce(16) || tag(16) || EAX(ct) ),
 * AES-128-EAX with no associated data; legacy tokens are base64(RSA-OAEP-SHA1(plaintext)) with no prefix.
 */
import {
  constants,
  createPrivateKey,
  createPublicKey,
  generateKeyPair as generateKeyPairCb,
  generateKeyPairSync,
  privateDecrypt,
  publicEncrypt,
  randomBytes,
  type KeyObject,
} from 'node:crypto'
import { promisify } from 'node:util'
import { eaxDecrypt, eaxEncrypt } from './eax.js'

export const HYBRID_PREFIX = Buffer.from('HYBRID:', 'latin1')
/**
 * The first 9 base64 characters of every hybrid token ("HYBRID:" is 7 bytes, so the 10th character already mixes in
 * the first byte of the wrapped key: it is one of g…v, not always `g` as the reference suggests).
 */
export const HYBRID_TOKEN_PREFIX = 'SFlCUklEO'
const AES_KEY_BYTES = 16
const NONCE_BYTES = 16
const TAG_BYTES = 16

export interface TenantKeyPair {
  /** PKCS#1 PEM (`BEGIN RSA PRIVATE KEY`), 64-char lines, LF, no trailing newline: what Dify writes to storage */
  privatePem: string
  /** SubjectPublicKeyInfo PEM (`BEGIN PUBLIC KEY`), no trailing newline: what Dify stores in tenants.encrypt_public_key */
  publicPem: string
}

const KEYGEN_OPTIONS = {
  modulusLength: 2048,
  publicExponent: 65537,
  publicKeyEncoding: { type: 'spki', format: 'pem' },
  privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
} as const

const stripNl = (pem: string) => pem.replace(/\n+$/, '')

/** RSA-2048, e = 65537, in Dify's exact PEM forms. Asynchronous: runs on libuv's thread pool. */
export async function generateTenantKeyPair(): Promise<TenantKeyPair> {
  const gen = promisify(generateKeyPairCb) as (
    type: 'rsa',
    o: typeof KEYGEN_OPTIONS,
  ) => Promise<{ publicKey: string; privateKey: string }>
  const { publicKey, privateKey } = await gen('rsa', KEYGEN_OPTIONS)
  return { privatePem: stripNl(privateKey), publicPem: stripNl(publicKey) }
}

/** The same, blocking the event loop (for the sequential baseline of the benchmark). */
export function generateTenantKeyPairSync(): TenantKeyPair {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', {
    modulusLength: KEYGEN_OPTIONS.modulusLength,
    publicExponent: KEYGEN_OPTIONS.publicExponent,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
  })
  return { privatePem: stripNl(privateKey), publicPem: stripNl(publicKey) }
}

export class KeyFormatError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'KeyFormatError'
  }
}

/** Parse a private key PEM (PKCS#1 or PKCS#8); throws KeyFormatError when it is not an RSA private key. */
export function parsePrivateKey(pem: string | Buffer): KeyObject {
  let k: KeyObject
  try {
    k = createPrivateKey({ key: pem, format: 'pem' })
  } catch (e) {
    throw new KeyFormatError(`not a PEM private key (${(e as Error).message.split('\n')[0]})`)
  }
  if (k.asymmetricKeyType !== 'rsa') throw new KeyFormatError(`not an RSA key (${k.asymmetricKeyType})`)
  return k
}

export function parsePublicKey(pem: string | Buffer): KeyObject {
  let k: KeyObject
  try {
    k = createPublicKey({ key: pem, format: 'pem' })
  } catch (e) {
    throw new KeyFormatError(`not a PEM public key (${(e as Error).message.split('\n')[0]})`)
  }
  if (k.asymmetricKeyType !== 'rsa') throw new KeyFormatError(`not an RSA key (${k.asymmetricKeyType})`)
  return k
}

/** The SubjectPublicKeyInfo PEM (Dify's form, no trailing newline) of a private key. */
export function publicPemOf(privateKey: string | Buffer | KeyObject): string {
  const k = typeof privateKey === 'string' || Buffer.isBuffer(privateKey) ? parsePrivateKey(privateKey) : privateKey
  return stripNl(createPublicKey(k).export({ type: 'spki', format: 'pem' }) as string)
}

/** Does this private key belong to this public key (same modulus and exponent)? */
export function keysMatch(privateKey: string | Buffer | KeyObject, publicPem: string | null | undefined): boolean {
  if (!publicPem) return false
  let pub: KeyObject
  try {
    pub = parsePublicKey(publicPem)
  } catch {
    return false
  }
  const priv = typeof privateKey === 'string' || Buffer.isBuffer(privateKey) ? parsePrivateKey(privateKey) : privateKey
  const a = createPublicKey(priv).export({ type: 'spki', format: 'der' })
  const b = pub.export({ type: 'spki', format: 'der' })
  return a.equals(b)
}

const OAEP = { padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha1' } as const

/** encrypt_token: the base64 token Dify stores, for `plaintext` under the tenant's public key. */
export function encryptToken(plaintext: string, publicKey: string | KeyObject): string {
  const pub = typeof publicKey === 'string' ? parsePublicKey(publicKey) : publicKey
  const aesKey = randomBytes(AES_KEY_BYTES)
  const nonce = randomBytes(NONCE_BYTES)
  const { ciphertext, tag } = eaxEncrypt(aesKey, nonce, Buffer.from(plaintext, 'utf8'))
  const wrapped = publicEncrypt({ key: pub, ...OAEP }, aesKey)
  return Buffer.concat([HYBRID_PREFIX, wrapped, nonce, tag, ciphertext]).toString('base64')
}

export class DecryptError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'DecryptError'
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true })

/** decrypt_token: a hybrid or legacy token back to its text; throws DecryptError when it does not decrypt. */
export function decryptToken(token: string, privateKey: string | Buffer | KeyObject): string {
  const priv = typeof privateKey === 'string' || Buffer.isBuffer(privateKey) ? parsePrivateKey(privateKey) : privateKey
  const blob = Buffer.from(token, 'base64')
  const size = (priv.asymmetricKeyDetails?.modulusLength ?? 2048) / 8
  try {
    if (blob.subarray(0, HYBRID_PREFIX.length).equals(HYBRID_PREFIX)) {
      let p = HYBRID_PREFIX.length
      if (blob.length < p + size + NONCE_BYTES + TAG_BYTES) throw new DecryptError('hybrid token is too short')
      const wrapped = blob.subarray(p, (p += size))
      const nonce = blob.subarray(p, (p += NONCE_BYTES))
      const tag = blob.subarray(p, (p += TAG_BYTES))
      const ct = blob.subarray(p)
      const aesKey = privateDecrypt({ key: priv, ...OAEP }, wrapped)
      return utf8.decode(eaxDecrypt(aesKey, nonce, ct, tag))
    }
    return utf8.decode(privateDecrypt({ key: priv, ...OAEP }, blob))
  } catch (e) {
    if (e instanceof DecryptError) throw e
    throw new DecryptError(
      /MAC/.test((e as Error).message) ? 'authentication tag mismatch' : 'does not decrypt with this key',
    )
  }
}

/** Does this string look like an encrypt_token value (base64 of a HYBRID: blob)? */
export function looksLikeHybridToken(v: unknown): v is string {
  if (typeof v !== 'string' || !v.startsWith(HYBRID_TOKEN_PREFIX) || v.length < 12) return false
  return Buffer.from(v.slice(0, 12), 'base64').subarray(0, HYBRID_PREFIX.length).equals(HYBRID_PREFIX)
}
