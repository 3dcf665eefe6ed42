import { readFileSync } from 'node:fs'
import { SUPPORTED_WINDOW } from './dify/window.js'

export function cliVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
  return pkg.version
}

/** `dify --version`: the CLI version, the Node it runs on, and the Dify releases whose schema it supports. */
export function versionText(): string {
  return `dify-ops/${cliVersion()} ${process.platform}-${process.arch} node-${process.version} (Dify ${SUPPORTED_WINDOW.from} – ${SUPPORTED_WINDOW.to}, schema ${SUPPORTED_WINDOW.fromHead} … ${SUPPORTED_WINDOW.toHead})`
}

/** `dify --version --json` (snapshot: test/fixtures/json-schema/_version.json). */
export interface VersionJson {
  /** this CLI's version (package.json) */
  version: string
  /** process.platform-process.arch, e.g. "linux-x64" */
  platform: string
  /** the Node.js running the CLI, e.g. "v20.20.2" */
  node: string
  /** the Dify releases whose schema every command supports: PostgreSQL from `from`, MySQL from `mysqlFrom` */
  dify: { from: string; to: string; fromHead: string; toHead: string; mysqlFrom: string; mysqlFromHead: string }
}

export function versionJson(): VersionJson {
  return {
    version: cliVersion(),
    platform: `${process.platform}-${process.arch}`,
    node: process.version,
    dify: { ...SUPPORTED_WINDOW },
  }
}
