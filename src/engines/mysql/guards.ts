import { UserError } from '../../util/errors.js'
import type { ServerFacts } from '../types.js'
import { describe, type MysqlTarget } from './connection.js'

/**
 * Refuses a clean room that is production's server: Lazarus creates and restores databases in
 * the clean room, and nothing may ever be created or restored on production. Checked on the
 * URLs first (same host and port), then on what the servers say about themselves, which also
 * catches one server reached under two names. One server always reports the same instance
 * values (MySQL: server_uuid; MariaDB, which has no server_uuid: host name, port and data
 * directory), so values that differ prove two servers, and equal ones are refused.
 */
export function assertSeparateServers(
  production: MysqlTarget,
  cleanroom: MysqlTarget,
  facts?: { production: ServerFacts; cleanroom: ServerFacts }
): void {
  const refuse = (why: string) =>
    new UserError(
      `The clean room (${describe(cleanroom)}) is the production server (${describe(production)}): ${why}. ` +
        `Point cleanroom-url at a separate, disposable server.`
    )
  if (sameHost(production.host, cleanroom.host) && production.port === cleanroom.port) throw refuse('same host and port')
  if (!facts) return
  const [p, c] = [facts.production.instance, facts.cleanroom.instance]
  const names = Object.keys(p)
  const comparable = names.length > 0 && [...names].sort().join() === Object.keys(c).sort().join()
  if (comparable && names.every(name => p[name] === c[name])) {
    throw refuse(`both report ${names.map(name => `${name} ${p[name]}`).join(', ')}`)
  }
}

function sameHost(a: string, b: string): boolean {
  const normal = (host: string) =>
    host === 'localhost' || host === '::1' || host.startsWith('127.') ? 'loopback' : host.toLowerCase()
  return normal(a) === normal(b)
}
