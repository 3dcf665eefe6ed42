import { execFileSync } from 'node:child_process'
import { PYTHON } from './services.js'

/**
 * Dify's tenant crypto done by PyCryptodome (Debian's python3-pycryptodome, namespace `Cryptodome`), the way
 * api/libs/rsa.py does it: an independent peer for interop tests. Input and output are JSON on stdin/stdout.
 */
const PEER = `
import sys, json, base64
from Cryptodome.PublicKey import RSA
from Cryptodome.Cipher import AES, PKCS1_OAEP
from Cryptodome.Random import get_random_bytes
req = json.load(sys.stdin)
op = req["op"]
def decrypt(token, key):
    blob = base64.b64decode(token)
    cipher = PKCS1_OAEP.new(key)
    if blob.startswith(b"HYBRID:"):
        blob = blob[7:]
        n = key.size_in_bytes()
        aes_key = cipher.decrypt(blob[:n])
        nonce, tag, ct = blob[n:n+16], blob[n+16:n+32], blob[n+32:]
        return AES.new(aes_key, AES.MODE_EAX, nonce=nonce).decrypt_and_verify(ct, tag).decode()
    return cipher.decrypt(blob).decode()
def encrypt(text, pub):
    aes_key = get_random_bytes(16)
    aes = AES.new(aes_key, AES.MODE_EAX)
    ct, tag = aes.encrypt_and_digest(text.encode())
    wrapped = PKCS1_OAEP.new(pub).encrypt(aes_key)
    return base64.b64encode(b"HYBRID:" + wrapped + aes.nonce + tag + ct).decode()
if op == "decrypt":
    key = RSA.import_key(req["private"])
    out = {"plaintexts": [decrypt(t, key) for t in req["tokens"]], "public": key.publickey().export_key().decode()}
elif op == "encrypt":
    pub = RSA.import_key(req["public"])
    out = {"tokens": [encrypt(t, pub) for t in req["texts"]]}
elif op == "generate":
    key = RSA.generate(2048)
    out = {"private": key.export_key().decode(), "public": key.publickey().export_key().decode()}
elif op == "reexport":
    key = RSA.import_key(req["private"])
    out = {"private": key.export_key().decode(), "public": key.publickey().export_key().decode()}
print(json.dumps(out))
`

export function pyCrypto<T = any>(req: Record<string, unknown>): T {
  const out = execFileSync(PYTHON, ['-c', PEER], {
    input: JSON.stringify(req),
    encoding: 'utf8',
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  return JSON.parse(out) as T
}

export function hasPyCryptodome(): boolean {
  try {
    execFileSync(PYTHON, ['-c', 'import Cryptodome'], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}
