export * from './eax.js'
export * from './tenant-key.js'
