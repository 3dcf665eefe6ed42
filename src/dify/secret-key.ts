/**
 * Where Dify's SECRET_KEY comes from (never its value in any output):
 * - SECRET_KEY set and non-empty: the environment, an env file, ./.env or a flag (config.raw tells which);
 * - empty, and the release generates one (Dify 1.14.1+, profile.secretKeyFromStorage; api/configs/secret_key.py
 *   and api/extensions/ext_set_secretkey.py): the storage object `.dify_secret_key` at the storage root, read as
 *   UTF-8 and stripped as Python's str.strip(); an object that is missing or blank means Dify generates a new key
 *   (secrets.token_urlsafe(48) plus a newline) at its next start;
 * - otherwise: missing.
 */
import { existsSync } from 'node:fs'
import type { Config } from '../config/schema.js'
import type { SecretKeySource } from '../config/show.js'
import { pyStrip } from '../core/python-str.js'
export type { SecretKeySource }
import type { Storage } from '../runtime/storage.js'
import { GENERATED_SECRET_KEY_PATH } from './keys.js'

/**
 * Resolve the key. `fromStorage`: profile.secretKeyFromStorage of the connected release (null when no database
 * tells the release: the storage is then looked at anyway, and the note says so).
 */
export async function resolveSecretKey(
  cfg: Pick<Config, 'raw' | 'storage'>,
  opts: { fromStorage: boolean | null; storage: () => Promise<Storage> },
): Promise<{ info: SecretKeySource; value: string | null }> {
  const raw = cfg.raw.get('SECRET_KEY')
  if (raw && raw.value !== '') {
    return {
      info: { source: raw.source, from: raw.file ?? null, generatedByDify: opts.fromStorage, note: null },
      value: raw.value,
    }
  }
  const where = `${cfg.storage.location} (object ${GENERATED_SECRET_KEY_PATH})`
  if (opts.fromStorage === false) {
    return {
      info: {
        source: 'missing',
        from: null,
        generatedByDify: false,
        note: 'SECRET_KEY is empty and this Dify release does not generate one (from 1.14.1 only)',
      },
      value: null,
    }
  }
  let buf: Buffer | undefined
  // an fs root that does not exist holds no key; opening it would create the directory (a read must not)
  const fsRoot = cfg.storage.scheme === 'fs' ? cfg.storage.options.root : undefined
  try {
    if (!fsRoot || existsSync(fsRoot)) buf = await (await opts.storage()).readIfExists(GENERATED_SECRET_KEY_PATH)
  } catch (e) {
    return {
      info: {
        source: 'missing',
        from: where,
        generatedByDify: opts.fromStorage,
        note: `the storage could not be read (${(e as Error).message.split('\n')[0]})`,
      },
      value: null,
    }
  }
  const text = buf ? pyStrip(new TextDecoder('utf-8', { fatal: false }).decode(buf)) : ''
  const unknown = opts.fromStorage === null ? ' (the Dify release is not known: Dify 1.14.1+ reads it)' : ''
  if (!text) {
    return {
      info: {
        source: 'missing',
        from: where,
        generatedByDify: opts.fromStorage,
        note: `SECRET_KEY is empty and ${buf ? `${GENERATED_SECRET_KEY_PATH} is blank` : `${GENERATED_SECRET_KEY_PATH} does not exist`}: Dify generates a new key at its next start${unknown}`,
      },
      value: null,
    }
  }
  return {
    info: {
      source: 'storage',
      from: where,
      generatedByDify: opts.fromStorage,
      note: unknown ? `read from storage${unknown}` : null,
    },
    value: text,
  }
}

/** One line for humans: where the key came from, never the key. */
export function secretKeySourceText(i: SecretKeySource): string {
  switch (i.source) {
    case 'storage':
      return `from storage (${i.from})${i.note ? `; ${i.note}` : ''}`
    case 'missing':
      return `missing${i.note ? `: ${i.note}` : ''}`
    case 'env-file':
    case 'dotenv':
      return `from ${i.source === 'dotenv' ? './.env' : 'the env file'} ${i.from ?? ''}`.trim()
    default:
      return `from the ${i.source}`
  }
}
