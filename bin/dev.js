#!/usr/bin/env node
// Development entry: runs the compiled dist/ like run.js, but without the manifest cache (oclif dev mode).
const { execute } = await import('@oclif/core')
await execute({ development: true, dir: import.meta.url })
