/**
 * Writing private keys and their copies so that no reader ever sees half a key, and so that no copy is more readable
 * than the key it copies.
 *
 * - fs storage (OpenDAL `fs`, STORAGE_TYPE=local/opendal): the bytes go to a temporary file in the same directory
 *   (`.<name>.tmp-<random>`, created with O_EXCL and its final mode), are fsynced, then renamed over the target
 *   (rename(2) is atomic on one file system) and the directory is fsynced. A reader sees the old key or the new one.
 * - other storages (S3, Azure Blob, …): an object PUT already replaces the whole object at once; we still write a
 *   temporary object first and then move it (OpenDAL rename where the service has it, else copy + delete), so a
 *   failed upload never replaces a good key.
 *
 * Modes (fs only; object stores have no file modes): `private.pem` keeps the mode of the key it replaces (a new key
 * gets the process umask, as Dify's own write); copies of a key (`private.pem.previous`, `private.pem.<UTC>.bak`)
 * are created 0600, or with the key's own mode when that is stricter (mode & 0600).
 */
import { randomBytes } from 'node:crypto'
import { constants, promises as fsp } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import type { Storage } from '../runtime/storage.js'

/** the permission bits of a local file, or undefined */
async function modeOf(file: string): Promise<number | undefined> {
  try {
    return (await fsp.stat(file)).mode & 0o777
  } catch {
    return undefined
  }
}

/** the mode of a copy of a key whose own mode is `keyMode`: 0600, or stricter when the key is */
export function copyMode(keyMode: number | undefined): number {
  return keyMode === undefined ? 0o600 : keyMode & 0o600
}

async function atomicLocalWrite(file: string, data: Buffer | string, mode: number | undefined): Promise<void> {
  const dir = dirname(file)
  await fsp.mkdir(dir, { recursive: true })
  const tmp = join(dir, `.${basename(file)}.tmp-${randomBytes(6).toString('hex')}`)
  // O_EXCL: never follow or reuse an existing file; mode is applied at creation (then umask), set exactly below
  const fh = await fsp.open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, mode ?? 0o666)
  try {
    try {
      await fh.writeFile(data)
      if (mode !== undefined) await fh.chmod(mode)
      await fh.sync()
    } finally {
      await fh.close()
    }
    await fsp.rename(tmp, file)
  } catch (e) {
    await fsp.rm(tmp, { force: true }).catch(() => {})
    throw e
  }
  try {
    const d = await fsp.open(dir, 'r')
    try {
      await d.sync()
    } finally {
      await d.close()
    }
  } catch {
    /* some file systems cannot fsync a directory: the rename is still atomic */
  }
}

async function atomicObjectWrite(storage: Storage, path: string, data: Buffer | string): Promise<void> {
  const tmp = `${dirname(path)}/.${basename(path)}.tmp-${randomBytes(6).toString('hex')}`
  await storage.write(tmp, data)
  try {
    await storage.rename(tmp, path)
  } catch (e) {
    await storage.delete(tmp).catch(() => {})
    throw e
  }
}

/** Write `private.pem` (or any key) atomically, keeping the mode of the file it replaces (fs). */
export async function writeKeyFile(storage: Storage, path: string, data: Buffer | string): Promise<void> {
  const local = storage.localPath?.(path)
  if (local) return atomicLocalWrite(local, data, await modeOf(local))
  return atomicObjectWrite(storage, path, data)
}

/**
 * Write a copy of the key at `keyPath` (a backup or private.pem.previous) atomically, with mode 0600 or the key's own
 * mode if stricter (fs).
 */
export async function writeKeyCopy(
  storage: Storage,
  path: string,
  data: Buffer | string,
  keyPath: string,
): Promise<void> {
  const local = storage.localPath?.(path)
  if (local) return atomicLocalWrite(local, data, copyMode(await modeOf(storage.localPath!(keyPath))))
  return atomicObjectWrite(storage, path, data)
}
