// opendal 0.49.2 (pinned: later builds need glibc 2.38) lists platform packages that were never published for
// that version (darwin, linux-arm64, win32). `npm install` leaves them out of package-lock.json, and `npm ci` then
// refuses the lock as "missing" them. This adds placeholder entries with their os/cpu, which npm ci skips on
// other platforms and keeps on later installs. Run after changing dependencies: node scripts/lock-opendal-placeholders.mjs
import { readFileSync, writeFileSync } from 'node:fs'

const path = new URL('../package-lock.json', import.meta.url)
const lock = JSON.parse(readFileSync(path, 'utf8'))
const version = lock.packages['node_modules/opendal']?.version
const platforms = {
  'darwin-arm64': ['darwin', 'arm64'],
  'darwin-x64': ['darwin', 'x64'],
  'linux-arm64-gnu': ['linux', 'arm64'],
  'linux-arm64-musl': ['linux', 'arm64'],
  'win32-arm64-msvc': ['win32', 'arm64'],
  'win32-x64-msvc': ['win32', 'x64'],
}
let added = 0
for (const [name, [os, cpu]] of Object.entries(platforms)) {
  const key = `node_modules/@opendal/lib-${name}`
  if (!lock.packages[key]) {
    lock.packages[key] = { version, cpu: [cpu], os: [os], optional: true }
    added++
  }
}
writeFileSync(path, JSON.stringify(lock, null, 2) + '\n')
console.log(`opendal ${version}: ${added} placeholder(s) added`)
