import { UserError } from '../../util/errors.js'
import { quoteLiteral } from './figure-queries.js'
import { describe, type ConnectionTarget } from './connection.js'

export interface ClusterIdentity {
  systemIdentifier?: string
  /** The postmaster's start time in UTC, as CLUSTER_STARTED_AT_SQL writes it. */
  startedAt: string
  port: string
}

/** The server's start time, written the same whatever the session's DateStyle and TimeZone. */
export const CLUSTER_STARTED_AT_SQL = `pg_catalog.to_char(pg_catalog.pg_postmaster_start_time() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`

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

/**
 * SQL that psql runs before the first statement of a dump, in the restore's transaction: it
 * fails, and with ON_ERROR_STOP ends psql before anything of the dump runs, unless psql is in
 * `database` on the cluster whose identity the separate-clusters guard recorded for the clean
 * room. Defence in depth: psql connects with the same vetted description as Lazarus's own
 * sessions, and this proves it landed where they checked. Plain SQL, so it needs nothing
 * installed in whatever database psql reached.
 */
export function restoreLocationCheckSql(database: string, identity: ClusterIdentity): string {
  const checks: [string, string][] = [
    ['pg_catalog.current_database()', database],
    [CLUSTER_STARTED_AT_SQL, identity.startedAt],
    ["pg_catalog.current_setting('port')", identity.port]
  ]
  if (identity.systemIdentifier) {
    checks.push(['(SELECT system_identifier::text FROM pg_catalog.pg_control_system())', identity.systemIdentifier])
  }
  const differs = checks.map(([actual, expected]) => `${actual} IS DISTINCT FROM ${quoteLiteral(expected)}`).join('\n     OR ')
  const expected = `database ${database} on the clean room (started ${identity.startedAt}, port ${identity.port})`
  // A failing cast carries the message: psql prints it with this file's name, and stops.
  return `SELECT CASE WHEN ${differs}
  THEN pg_catalog.format('Lazarus location check failed: psql reached database %s on a server started %s, port %s, not ${expected.replace(/'/g, "''").replace(/%/g, '%%')}',
         pg_catalog.current_database(), ${CLUSTER_STARTED_AT_SQL}, pg_catalog.current_setting('port'))::integer
  END AS lazarus_location_check;
`
}
