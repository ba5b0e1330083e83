import type { KeptTable, ManifestProfile, RestorePointsCapability } from '../types.js'
import { KEPT_FORMATS, detectBackup, type KeptFormat } from './backup-format.js'
import type { ConnectionTarget } from './connection.js'
import {
  DEFAULT_KEEP_COMPRESSION,
  type DumpCompression,
  compressArgument,
  describeCompressArgument,
  parseDumpCompression,
  refusedKeepCompression,
  requireCompressionSupport
} from './dump-compression.js'
import { COLUMN_HASHINGS, PINNED_SETTINGS, type Column, type TableRef } from './figure-queries.js'
import { dumpArguments, type ClientTools } from './pg-tools.js'
import { asDatabaseDefaults, ownSession } from './database.js'
import { resolveRestoreTools, type RestoreTools } from './pg-restore.js'
import { describeBackup, openStoredBackup, own, restorePrograms } from './stored-backup.js'

/**
 * PostgreSQL's restore points (engines/types.ts RestorePointsCapability): pg_dump's formats and
 * compression, the file names a restore point's backup gets, and what its manifest records that
 * only PostgreSQL knows (the settings its figures are computed under, how a column is hashed); and
 * stored backups, told by content (backup-format.ts), read by pg_restore (pg-restore.ts) and
 * restored through the sanitizer (stored-backup.ts, stored-restore.ts).
 */

/** What a PostgreSQL manifest records of PostgreSQL, as data for report/manifest.ts. */
export const POSTGRES_MANIFEST: ManifestProfile = {
  program: 'pg_dump',
  formats: KEPT_FORMATS,
  pinnedSettings: PINNED_SETTINGS,
  columnHashings: COLUMN_HASHINGS,
  // `r` table or leaf partition, `m` materialized view, `p` partitioned table compared as a whole.
  tableKinds: ['r', 'm', 'p']
}

/** File names per format: a DBA sees at once what to restore it with. */
const BACKUP_NAMES: Record<KeptFormat, (database: string) => string> = {
  custom: database => `${database}.dump`,
  directory: database => `${database}.dir`,
  plain: database => `${database}.sql`
}

export const postgresRestorePoints: RestorePointsCapability<
  TableRef,
  ClientTools,
  KeptFormat,
  DumpCompression,
  ConnectionTarget,
  RestoreTools
> = {
  manifest: POSTGRES_MANIFEST,
  formats: KEPT_FORMATS,
  backupName: (format, database) => BACKUP_NAMES[format](database),
  parseCompression: parseDumpCompression,
  defaultCompression: format => (format === 'plain' ? { method: 'none' } : DEFAULT_KEEP_COMPRESSION),
  refusedCompression: refusedKeepCompression,
  // A plain backup is always written uncompressed.
  compressArgument: (format, compression) => (format === 'plain' ? '0' : compressArgument(compression)),
  describeCompression: backup => (backup.format === 'plain' ? 'none' : describeCompressArgument(backup.compress)),
  requireCompressionSupport: (compression, tools, input) => requireCompressionSupport(compression, tools.pgDump, input),
  keptDump(backup, tools, { withOwnersAndPrivileges, lockTimeoutSeconds }) {
    const format = backup.format as KeptFormat
    return {
      version: tools.pgDump.version,
      arguments: dumpArguments({ ...backup, format }, withOwnersAndPrivileges, lockTimeoutSeconds),
      format,
      compression: postgresRestorePoints.describeCompression(backup),
      // An archive holds owners and privileges whatever the clean room could take (pg_restore leaves them out).
      ownersAndPrivileges: format === 'plain' ? withOwnersAndPrivileges : true
    }
  },
  // parseManifest has held the kinds and hashings to POSTGRES_MANIFEST's; the size is not recorded.
  tableOf: (kept: KeptTable): TableRef => ({
    schema: kept.schema,
    name: kept.name,
    kind: kept.kind as TableRef['kind'],
    populated: kept.populated,
    columns: kept.columns as Column[],
    bytes: 0,
    filter: kept.filter
  }),
  // A table reference holds what the manifest records of a table (its size aside, which writeManifest leaves out).
  keptTable: table => table,
  // The manifest records the database as its snapshot read it (DatabaseSession.databaseFacts).
  databaseDefaults: asDatabaseDefaults,
  // Read inside the snapshot: now() is its transaction's start; the identity is the checks' before the dump.
  async keptProduction(session, { systemIdentifier, startedAt }) {
    const production = ownSession(session)
    const [server, database, snapshotTakenAt] = await Promise.all([
      production.serverFacts(),
      production.databaseFacts(),
      production.transactionStart()
    ])
    return {
      serverVersion: server.serverVersion,
      serverVersionNum: server.serverVersionNum,
      systemIdentifier,
      startedAt,
      database,
      snapshotTakenAt
    }
  },
  detectBackup,
  describeBackup,
  // pg_restore reads archives of its own version and older: the newest installed client reads the most.
  findRestoreTools: (backup, binDir) => resolveRestoreTools(own(backup).format, binDir),
  restorePrograms,
  openBackup: openStoredBackup
}
