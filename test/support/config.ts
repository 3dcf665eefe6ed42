import { parseConfig, type Config } from '../../src/config/schema.js'

/** Variables as if they came from the process environment, in the form src/config reads them. */
export function rawVars(vars: Record<string, string>) {
  return new Map(Object.entries(vars).map(([k, v]) => [k, { value: v, source: 'environment' as const }]))
}

/** The parsed configuration of exactly these variables (and Dify's defaults for the rest). */
export function configFromVars(vars: Record<string, string>): Config {
  return parseConfig(rawVars(vars))
}
