import type { DatabaseDefaults, SchemaObject, SeamSession, ServerFacts } from '../types.js'
import type { DatabaseSession } from './database.js'
import type { TableRef } from './figure-queries.js'
import { readPrimaryKeys } from './row-diff-queries.js'
import { readSchemaFingerprint } from './schema-fingerprint.js'
import { findSequencesBehindData, readSequenceValues } from './sequence-queries.js'

/**
 * PostgreSQL's read session as the run over the engine seam reads one (engines/types.ts
 * SeamSession): the first step of moving PostgreSQL's run onto the seam (docs/development.md, "The
 * layout"). Every answer is the one run/pipeline.ts reads today through this folder's modules.
 * What the seam's shapes cannot carry yet is said where it is lost.
 */
export function asSeamSession(session: DatabaseSession): SeamSession<TableRef> {
  return {
    pinSettings: () => session.pinSettings(),
    beginSnapshot: () => session.beginSnapshot(),
    joinSnapshot: snapshotId => session.joinSnapshot(snapshotId),
    listTables: () => session.listTables(),
    tablesFigures: (tables, withChecksum, inTransaction) => session.tablesFigures(tables, withChecksum, inTransaction),
    close: () => session.close(),
    facts: () => facts(session),
    // The character set and collation; LC_CTYPE, which PostgreSQL keeps apart, needs a wider DatabaseDefaults.
    databaseDefaults: async (): Promise<DatabaseDefaults> => {
      const { encoding, collate } = await session.databaseFacts()
      return { characterSet: encoding, collation: collate }
    },
    collations: async () =>
      (await session.query<{ name: string }>('SELECT collname AS name FROM pg_catalog.pg_collation ORDER BY 1')).map(
        row => row.name
      ),
    readSchema: (): Promise<SchemaObject[]> => readSchemaFingerprint(session),
    readCounters: () => readSequenceValues(session),
    countersBehindData: () => findSequencesBehindData(session),
    primaryKeys: () => readPrimaryKeys(session),
    // An exported snapshot takes no global lock: the dump imports it, and writers never wait on it.
    releaseSnapshotLock: async () => undefined,
    // Every PostgreSQL table is read through MVCC: the snapshot isolates them all.
    outsideSnapshot: () => [],
    ping: () => session.ping(),
    abandon: () => session.abandon()
  }
}

/**
 * The server's version and what tells it apart from every other server: the system identifier
 * (when the role may read pg_control_system()), the postmaster's start time and the port, as
 * guards.ts compares them.
 */
async function facts(session: DatabaseSession): Promise<ServerFacts> {
  const [server, identity] = await Promise.all([session.serverFacts(), session.clusterIdentity()])
  return {
    product: 'PostgreSQL',
    version: server.serverVersion,
    major: server.major,
    instance: {
      ...(identity.systemIdentifier !== undefined ? { systemIdentifier: identity.systemIdentifier } : {}),
      startedAt: identity.startedAt,
      port: identity.port
    }
  }
}
