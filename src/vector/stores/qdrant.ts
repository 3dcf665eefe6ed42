export async function open(): Promise<never> { throw new Error('not yet') }
