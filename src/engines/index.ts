import { UserError } from '../util/errors.js'
import type { Engine } from './types.js'

/**
 * Engines by URL scheme, each loaded only when a run needs it: adding an engine is adding its
 * folder and a line here.
 */
const ENGINES: Record<string, () => Promise<Engine>> = {
  postgres: () => import('./postgres/index.js').then(engine => engine.postgres),
  postgresql: () => import('./postgres/index.js').then(engine => engine.postgres),
  mysql: () => import('./mysql/index.js').then(engine => engine.mysql),
  mariadb: () => import('./mysql/index.js').then(engine => engine.mysql)
}

/** The schemes a connection URL may start with. */
export const ENGINE_SCHEMES = Object.keys(ENGINES)

/** The scheme of a connection URL (`postgres` of `postgres://...`), as written (libpq, too, reads it case-sensitively). */
export function schemeOf(url: string): string | undefined {
  return /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(url.trim())?.[1]
}

/**
 * The engine a connection URL names by its scheme. A text without a scheme goes to PostgreSQL,
 * whose parser says what is wrong with it (a key=value string, a bare host); a scheme no engine
 * serves fails in one line naming the input.
 */
export async function engineFor(inputName: string, url: string): Promise<Engine> {
  const scheme = schemeOf(url)
  const load = ENGINES[scheme ?? 'postgresql']
  if (!load) {
    const schemes = ENGINE_SCHEMES.map(s => `${s}://`).join(' or ')
    throw new UserError(`Input '${inputName}' must start with ${schemes} (got '${scheme}://').`)
  }
  return load()
}
