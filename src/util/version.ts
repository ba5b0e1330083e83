/**
 * Lazarus's own version, as package.json says (a unit test keeps them equal). Written into every
 * manifest, so a later verification knows which Lazarus computed the figures it compares with.
 */
export const LAZARUS_VERSION = '0.1.0'
