/**
 * AES-EAX (Bellare, Rogaway, Wagner 2004) on Node's crypto, as PyCryptodome's `AES.MODE_EAX` does it with its
 * defaults (16-byte nonce, 16-byte tag, full 128-bit big-endian CTR counter). Node has no EAX mode, so it is
 * composed here from AES-CMAC (OMAC1, built on AES-CBC with a zero IV) and AES-CTR.
 *
 *   OMAC_t(M) = CMAC_K([t]_128 || M)
 *   N' = OMAC_0(nonce), H' = OMAC_1(header), C = CTR_K(iv = N', P), C' = OMAC_2(C), tag = N' ⊕ H' ⊕ C'
 */
import { createCipheriv, timingSafeEqual } from 'node:crypto'

const BLOCK = 16

function aesAlgorithm(key: Buffer, mode: 'cbc' | 'ctr' | 'ecb'): string {
  if (key.length !== 16 && key.length !== 24 && key.length !== 32)
    throw new RangeError(`AES key must be 16, 24 or 32 bytes, got ${key.length}`)
  return `aes-${key.length * 8}-${mode}`
}

/** doubling in GF(2^128) with the CMAC polynomial x^128 + x^7 + x^2 + x + 1 */
function dbl(b: Buffer): Buffer {
  const out = Buffer.alloc(BLOCK)
  for (let i = 0; i < BLOCK; i++) out[i] = ((b[i]! << 1) & 0xff) | (i + 1 < BLOCK ? b[i + 1]! >>> 7 : 0)
  if (b[0]! & 0x80) out[BLOCK - 1]! ^= 0x87
  return out
}

/** CMAC subkeys K1, K2 of a key (RFC 4493 §2.3) */
export function cmacSubkeys(key: Buffer): [Buffer, Buffer] {
  const c = createCipheriv(aesAlgorithm(key, 'ecb'), key, null).setAutoPadding(false)
  const l = Buffer.concat([c.update(Buffer.alloc(BLOCK)), c.final()])
  const k1 = dbl(l)
  return [k1, dbl(k1)]
}

/** AES-CMAC (RFC 4493) of a message */
export function cmac(key: Buffer, message: Buffer, subkeys: [Buffer, Buffer] = cmacSubkeys(key)): Buffer {
  const n = message.length === 0 ? 1 : Math.ceil(message.length / BLOCK)
  const complete = message.length > 0 && message.length % BLOCK === 0
  const m = Buffer.alloc(n * BLOCK)
  message.copy(m)
  if (!complete) m[message.length] = 0x80
  const k = complete ? subkeys[0] : subkeys[1]
  const last = (n - 1) * BLOCK
  for (let i = 0; i < BLOCK; i++) m[last + i]! ^= k[i]!
  const c = createCipheriv(aesAlgorithm(key, 'cbc'), key, Buffer.alloc(BLOCK)).setAutoPadding(false)
  const out = Buffer.concat([c.update(m), c.final()])
  return out.subarray(out.length - BLOCK)
}

function omac(key: Buffer, t: number, m: Buffer, subkeys: [Buffer, Buffer]): Buffer {
  const prefix = Buffer.alloc(BLOCK)
  prefix[BLOCK - 1] = t
  return cmac(key, Buffer.concat([prefix, m]), subkeys)
}

function ctr(key: Buffer, iv: Buffer, data: Buffer): Buffer {
  const c = createCipheriv(aesAlgorithm(key, 'ctr'), key, iv)
  return Buffer.concat([c.update(data), c.final()])
}

function xor3(a: Buffer, b: Buffer, c: Buffer): Buffer {
  const out = Buffer.alloc(BLOCK)
  for (let i = 0; i < BLOCK; i++) out[i] = a[i]! ^ b[i]! ^ c[i]!
  return out
}

export interface EaxSealed {
  ciphertext: Buffer
  /** 16 bytes */
  tag: Buffer
}

export function eaxEncrypt(key: Buffer, nonce: Buffer, plaintext: Buffer, header: Buffer = Buffer.alloc(0)): EaxSealed {
  const sk = cmacSubkeys(key)
  const n = omac(key, 0, nonce, sk)
  const h = omac(key, 1, header, sk)
  const ciphertext = ctr(key, n, plaintext)
  const c = omac(key, 2, ciphertext, sk)
  return { ciphertext, tag: xor3(n, h, c) }
}

export class EaxAuthError extends Error {
  constructor() {
    super('MAC check failed')
    this.name = 'EaxAuthError'
  }
}

/** Verifies the tag (constant time) before decrypting; throws EaxAuthError on a mismatch. */
export function eaxDecrypt(
  key: Buffer,
  nonce: Buffer,
  ciphertext: Buffer,
  tag: Buffer,
  header: Buffer = Buffer.alloc(0),
): Buffer {
  const sk = cmacSubkeys(key)
  const n = omac(key, 0, nonce, sk)
  const h = omac(key, 1, header, sk)
  const c = omac(key, 2, ciphertext, sk)
  const expected = xor3(n, h, c)
  if (tag.length !== BLOCK || !timingSafeEqual(expected, tag)) throw new EaxAuthError()
  return ctr(key, n, ciphertext)
}
