/** The first supported window of Dify releases (kept tiny: `dify --version` imports only this). */
export const FIRST_WINDOW = { from: '1.11.0', to: '1.12.1', fromHead: 'd57accd375ae', toHead: '788d3099ae3a' } as const
