/**
 * Dify's password format and policy (api/libs/password.py; reference dify-accounts-crypto-config.md §1).
 *
 * - hash: PBKDF2-HMAC-SHA256 over the UTF-8 bytes, 10 000 iterations, 32-byte key, fresh 16-byte salt;
 * - `accounts.password`      = base64( lowercase hex of the key )  (a double encoding, 88 chars);
 * - `accounts.password_salt` = base64( salt )                       (24 chars).
 */
import { pbkdf2Sync, randomBytes, randomInt, timingSafeEqual } from 'node:crypto'

export const PBKDF2_ITERATIONS = 10_000
export const KEY_BYTES = 32
export const SALT_BYTES = 16

export interface StoredPassword {
  /** the `accounts.password` column */
  password: string
  /** the `accounts.password_salt` column */
  passwordSalt: string
}

/** The 64 lowercase hex characters Dify compares (hash_password's result, before base64). */
function hexDigest(password: string, salt: Buffer): string {
  return pbkdf2Sync(Buffer.from(password, 'utf8'), salt, PBKDF2_ITERATIONS, KEY_BYTES, 'sha256').toString('hex')
}

/** Hash a password as Dify stores it. `salt` is for tests; production always uses a fresh random salt. */
export function hashPassword(password: string, salt: Buffer = randomBytes(SALT_BYTES)): StoredPassword {
  if (salt.length !== SALT_BYTES) throw new Error(`salt must be ${SALT_BYTES} bytes`)
  return {
    password: Buffer.from(hexDigest(password, salt), 'ascii').toString('base64'),
    passwordSalt: salt.toString('base64'),
  }
}

/** Dify's login check (compare_password), done in constant time. */
export function verifyPassword(
  password: string,
  stored: { password: string | null; passwordSalt: string | null },
): boolean {
  if (!stored.password || !stored.passwordSalt) return false
  const expected = Buffer.from(stored.password, 'base64')
  const actual = Buffer.from(hexDigest(password, Buffer.from(stored.passwordSalt, 'base64')), 'ascii')
  return expected.length === actual.length && timingSafeEqual(expected, actual)
}

/** Dify's pattern, for messages and docs. */
export const DIFY_PASSWORD_PATTERN = '^(?=.*[a-zA-Z])(?=.*\\d).{8,}$'
export const PASSWORD_RULE_TEXT =
  'at least 8 characters on one line, with at least one letter (a-z or A-Z) and at least one digit'

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/
const DECIMAL_DIGIT = /\p{Nd}/u
const ASCII_LETTER = /[a-zA-Z]/

/**
 * Whether Python's `re.match(r"^(?=.*[a-zA-Z])(?=.*\d).{8,}$", password)` accepts the password:
 * - `.` is any code point but "\n" (it does match "\r", U+2028 …, unlike JavaScript's `.`);
 * - `$` also matches just before one final "\n", so "abcdefg1\n" passes;
 * - `\d` is any Unicode decimal digit (category Nd), e.g. Arabic-Indic "١";
 * - `{8,}` counts code points, not UTF-16 units.
 * Since both look-aheads start at position 0 and `.` stops at "\n", everything must sit on the first line.
 */
export function meetsDifyPolicy(password: string): boolean {
  const line = password.endsWith('\n') ? password.slice(0, -1) : password
  if (line.includes('\n')) return false
  if ([...line].length < 8) return false
  return ASCII_LETTER.test(line) && DECIMAL_DIGIT.test(line)
}

export type PolicyProblem = 'too-short' | 'no-letter' | 'no-digit' | 'multi-line' | 'invalid-unicode' | undefined

/** Why a password is refused (undefined when Dify accepts it). Lone surrogates cannot be UTF-8 encoded by Python. */
export function policyProblem(password: string): PolicyProblem {
  if (LONE_SURROGATE.test(password)) return 'invalid-unicode'
  if (meetsDifyPolicy(password)) return undefined
  const line = password.endsWith('\n') ? password.slice(0, -1) : password
  if (line.includes('\n')) return 'multi-line'
  if ([...line].length < 8) return 'too-short'
  if (!ASCII_LETTER.test(line)) return 'no-letter'
  return 'no-digit'
}

const PROBLEM_TEXT: Record<Exclude<PolicyProblem, undefined>, string> = {
  'too-short': 'it is shorter than 8 characters',
  'no-letter': 'it has no letter a-z or A-Z',
  'no-digit': 'it has no digit',
  'multi-line': 'it spans several lines',
  'invalid-unicode': 'it is not valid Unicode text',
}

export function policyProblemText(p: Exclude<PolicyProblem, undefined>): string {
  return PROBLEM_TEXT[p]
}

/** Letters and digits without look-alikes (no 0/O, 1/l/I), so a generated password can be read aloud. */
const GEN_LETTERS = 'abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ'
const GEN_DIGITS = '23456789'

/** A strong random password Dify accepts: 20 characters (about 114 bits), at least one letter and two digits. */
export function generatePassword(length = 20): string {
  const alphabet = GEN_LETTERS + GEN_DIGITS
  for (;;) {
    let pw = ''
    for (let i = 0; i < length; i++) pw += alphabet[randomInt(alphabet.length)]
    const digits = [...pw].filter((c) => GEN_DIGITS.includes(c)).length
    if (digits >= 2 && digits < length && meetsDifyPolicy(pw)) return pw
  }
}
