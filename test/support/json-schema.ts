/** Validate a command's --json output against its committed schema snapshot (test/fixtures/json-schema/). */
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const DIR = fileURLToPath(new URL('../fixtures/json-schema/', import.meta.url))
// strict: a schema the generator writes wrongly (unknown keyword, bad format) fails instead of passing silently
const ajv = new Ajv2020({ strict: true, allErrors: true, formats: { 'date-time': true } })
const cache = new Map<string, ValidateFunction>()

/** The validation errors ([] when valid), one readable line each. */
export function validateJson(file: string, value: unknown): string[] {
  let v = cache.get(file)
  if (!v) {
    v = ajv.compile(JSON.parse(readFileSync(DIR + file, 'utf8')))
    cache.set(file, v)
  }
  if (v(value)) return []
  return (v.errors ?? []).map(
    (e) =>
      `${file}: ${e.instancePath || '/'} ${e.message}${e.params && 'additionalProperty' in e.params ? ` (${String(e.params.additionalProperty)})` : ''}`,
  )
}
