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
