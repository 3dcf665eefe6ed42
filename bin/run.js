#!/usr/bin/env -S node --
// "node --": Node 20.6+ and 22 scan the WHOLE command line for --env-file (even after the script name) and exit 9
// on a missing file before this script runs; "--" ends their scan, so dify's own --env-file reaches the CLI.
// Fast path: `dify --version` needs neither oclif nor any driver, and `docker exec … dify --version` is the
// cold-start case operators (and the benchmark) hit most. Everything else goes through oclif.
const argv = process.argv.slice(2)
const json = argv.includes('--json')
const rest = argv.filter((a) => a !== '--json')
if (rest.length === 1 && argv.length <= 2 && (rest[0] === '--version' || rest[0] === '-v' || rest[0] === 'version')) {
  const { versionJson, versionText } = await import('../dist/src/version.js')
  process.stdout.write(json ? JSON.stringify(versionJson(), null, 2) + '\n' : versionText() + '\n')
} else {
  // Node 22+ (dify-api 1.11.3+) caches compiled code between runs; absent on Node 18, where this is a no-op.
  const mod = await import('node:module')
  try {
    mod.enableCompileCache?.()
  } catch {}
  const { execute } = await import('../dist/src/cli/main.js')
  await execute({ dir: import.meta.url })
}
