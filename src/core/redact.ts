/** Redaction of secrets in anything we print or log. */

const SECRET_NAME = /(PASSWORD|SECRET|TOKEN|API_KEY|ACCESS_KEY|ACCOUNT_KEY|CREDENTIAL|PRIVATE|AUTH|_KEY$)/i

/** True when a variable or field name holds a secret (passwords, keys, tokens, credentials). */
export function isSecretName(name: string): boolean {
  // "passwordFrom", "keySource": where a secret came from (stdin, prompt, …), never the secret itself
  if (/(From|Source)$/.test(name)) return false
  return SECRET_NAME.test(name)
}

/** Names whose values are URLs that may carry credentials (user:password@). */
const URL_NAME = /(_URL|_URI|_ENDPOINT|_HOST|_CLOUD_URL)$/i

export const REDACTED = '***'

/** Remove the password (and username) part of any URL-looking text. */
export function redactUrl(value: string): string {
  // scheme://user:pass@host  ->  scheme://***@host ; several URLs separated by ; (sentinel://a;sentinel://b). Up to
  // the LAST @ of the authority, as URL parsers (and kombu) split it: a password may hold a raw @
  return value.replace(/([a-z][a-z0-9+.-]*:\/\/)([^/\s;]*)@/gi, (_m, scheme: string) => `${scheme}${REDACTED}@`)
}

/** The printable form of one configuration value. */
export function redactValue(name: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined
  if (value === '') return ''
  if (isSecretName(name)) return REDACTED
  if (URL_NAME.test(name) || value.includes('://')) return redactUrl(value)
  return value
}

/** Deep-redact an object for logs and audit lines: secret-named keys become ***, URLs lose credentials. */
export function redactDeep(input: unknown): unknown {
  if (Array.isArray(input)) return input.map((v) => redactDeep(v))
  if (input && typeof input === 'object') {
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(input as Record<string, unknown>)) {
      if (isSecretName(k) && v !== undefined && v !== null && v !== '') out[k] = REDACTED
      else out[k] = redactDeep(v)
    }
    return out
  }
  if (typeof input === 'string' && input.includes('://')) return redactUrl(input)
  return input
}
