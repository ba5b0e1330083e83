import { UserError } from './errors.js'
import { describe, type ConnectionTarget } from './connection.js'

export interface ClusterIdentity {
  systemIdentifier?: string
  startedAt: string
  port: string
}

/**
 * Refuses a clean room that is the production cluster: Lazarus creates and restores databases
 * in the clean room, and nothing may ever be created or restored on production. Checked on the
 * URIs first (same host and port), then on what the servers say about themselves, which also
 * catches one cluster reached under two names.
 */
export function assertSeparateClusters(
  production: ConnectionTarget,
  cleanroom: ConnectionTarget,
  identities?: { production: ClusterIdentity; cleanroom: ClusterIdentity }
): void {
  const refuse = (why: string) =>
    new UserError(
      `The clean room (${describe(cleanroom)}) is the production cluster (${describe(production)}): ${why}. ` +
        `Point cleanroom-url at a separate, disposable server.`
    )
  if (sameHost(production.host, cleanroom.host) && production.port === cleanroom.port) throw refuse('same host and port')
  if (!identities) return
  const { production: p, cleanroom: c } = identities
  if (p.systemIdentifier && p.systemIdentifier === c.systemIdentifier) {
    throw refuse(`both report system identifier ${p.systemIdentifier}`)
  }
  if (p.startedAt === c.startedAt && p.port === c.port) throw refuse(`both servers started at ${p.startedAt}`)
}

function sameHost(a: string, b: string): boolean {
  const normal = (host: string) =>
    host === 'localhost' || host === '::1' || host.startsWith('127.') ? 'loopback' : host.toLowerCase()
  return normal(a) === normal(b)
}
