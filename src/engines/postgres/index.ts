import type { Engine } from '../types.js'
import { installAmcheck, runAmcheck } from './amcheck.js'
import { checkSide } from './check-queries.js'
import { checkDialect } from './check-dialect.js'
import { settleAcrossMajors } from './cross-major.js'
import { readLargeObjects } from './large-objects.js'
import { describe, forgetLibpqEnvironment, parseConnectionUrl, withDatabase, type ConnectionTarget } from './connection.js'
import type { RestoreRoleMode } from './restore-role.js'
import { DatabaseSession, ownSession } from './database.js'
import { readDrillCatalog, type DrillCatalog } from './drill-catalog.js'
import { postgresDrillCopies } from './drill-copies.js'
import { DRILL_OPERATORS, planOrExplain, type DrillOperator } from './drill-plan.js'
import type { TableRef } from './figure-queries.js'
import { assertSeparateClusters, restoreLocationCheckSql } from './guards.js'
import { resolveClientTools, type ClientTools } from './pg-tools.js'
import { MaintenanceSession } from './maintenance.js'
import { postgresOwnersAndPrivileges } from './owners-and-privileges.js'
import { rowDiffSide } from './row-diff-queries.js'
import { readingEveryRow } from './row-security.js'
import { postgresCleanroomRoles } from './run-roles.js'
import { postgresRestorePoints } from './restore-points.js'
import type { KeptFormat } from './backup-format.js'
import type { DumpCompression } from './dump-compression.js'
import type { RestoreTools } from './pg-restore.js'
import { diffSchema } from './schema-fingerprint.js'
import { sanitizeFilter } from './sanitizer.js'
import { serverChecks } from './server-checks.js'
import { restoreDumpFile, streamForRun, type PostgresRestoreOptions, type PostgresStreamDetail } from './stream.js'

/** PostgreSQL's shapes behind the engine interface. */
export interface PostgresShapes {
  target: ConnectionTarget
  table: TableRef
  tools: ClientTools
  drillCatalog: DrillCatalog
  restoreOptions: PostgresRestoreOptions
  /** pg-tools.ts's account of the stream: the program that failed first, and whether the servers were to blame. */
  streamDetail: PostgresStreamDetail
  /** What the inputs choose, in PostgreSQL's terms (run/settings.ts). */
  drillOperator: DrillOperator
  restoreRole: RestoreRoleMode
  /** pg_dump's formats a restore point is kept in, and its compression (restore-points.ts). */
  keptFormat: KeptFormat
  compression: DumpCompression
  /** pg_restore and psql, for a stored backup (pg-restore.ts): a stored backup's run has no pg_dump. */
  restoreTools: RestoreTools
}

/**
 * PostgreSQL's engine, with its stream's and drill's methods typed by its own functions: a
 * fresh stream's outcome always carries PostgreSQL's detail, a kept dump's restore takes psql
 * alone (a stored backup's run has no pg_dump), as does a replay of owners and privileges, and a plan is PostgreSQL's DrillPlan. `postgres` is an Engine all the same (the scheme map, engines/index.ts, holds it as one).
 */
export type PostgresEngine = Omit<
  Engine<PostgresShapes>,
  'streamDumpToRestore' | 'restoreDumpFile' | 'drillOperators' | 'planDrill' | 'sanitizer' | 'ownersAndPrivileges'
> & {
  /** The filter is PostgreSQL's SanitizeFilter (each pipeline's argv, the line index, its work files); it needs psql alone. */
  sanitizer: { build: typeof sanitizeFilter }
  streamDumpToRestore: typeof streamForRun
  restoreDumpFile: typeof restoreDumpFile
  drillOperators: typeof DRILL_OPERATORS
  planDrill: typeof planOrExplain
  ownersAndPrivileges: typeof postgresOwnersAndPrivileges
}

/** PostgreSQL as an engine: the modules of this folder, behind engines/types.ts. */
export const postgres: PostgresEngine = {
  name: 'PostgreSQL',
  schemes: ['postgres', 'postgresql'],
  parseUrl: parseConnectionUrl,
  urlForm: 'a postgresql:// URI',
  describe,
  // The target's own host, port and database (libpq's defaults filled in) name the history, as they always have.
  address: ({ host, port, database }) => ({ host, port, database }),
  binDirInput: 'postgres-bin-dir',
  clientEnvironment: { passwordVariable: 'PGPASSWORD', forget: forgetLibpqEnvironment },
  secretsOf: target => [...target.secrets],
  setLimits: limits => (DatabaseSession.limits = { ...limits }),
  // A PostgreSQL table is named by its schema and name, never by its database: nothing to report it under.
  withDatabase: (target, database) => withDatabase(target, database),
  openRead: (target, role) => DatabaseSession.open(target, role),
  // pg_dump joins the snapshot production's session exported: nobody waits on it.
  snapshotHoldsWriters: false,
  openMaintenance: target => MaintenanceSession.openMaintenance(target),
  cleanroomRoles: postgresCleanroomRoles,
  cannotCreateDatabases: (role, where) =>
    `Role '${role}' on the clean room (${where}) cannot create databases: ` +
    `run ALTER ROLE "${role}" CREATEDB there, or use a role that can.`,
  abandonAll: keep => DatabaseSession.abandonAll(keep.map(ownSession)),
  // A session of its own on the database being restored (a restore's progress line), closed at once.
  async databaseBytes(target) {
    const session = await DatabaseSession.open(target, 'cleanroom')
    try {
      return await session.databaseSize()
    } finally {
      await session.close()
    }
  },
  assertSeparateTargets: (production, cleanroom) => assertSeparateClusters(production, cleanroom),
  async assertSeparateServers(production, cleanroom) {
    const [p, c] = [ownSession(production), ownSession(cleanroom)]
    assertSeparateClusters(p.target, c.target)
    const [productionIdentity, cleanroomIdentity] = await Promise.all([p.clusterIdentity(), c.clusterIdentity()])
    assertSeparateClusters(p.target, c.target, { production: productionIdentity, cleanroom: cleanroomIdentity })
  },
  // Collations and disabled objects are MySQL's: PostgreSQL's sanitizer rewrites neither.
  diffSchema: (production, restored) => diffSchema(production, restored),
  rowDiffSide: (session, table, key) => rowDiffSide(ownSession(session), table, key),
  tableTraits: table => ({
    bytes: table.bytes,
    // A materialized view's rows are derived, not backed up: reading them would only cost time.
    ...(table.kind === 'm' ? { derived: true } : {}),
    ...(table.kind === 'p' ? { wholeTree: true } : {}),
    // A materialized view left unpopulated has no rows to read.
    ...(table.populated ? {} : { unreadable: true })
  }),
  aroundRowReads: (production, restored, table, read) =>
    ownSession(production).withSavepoint(() => readingEveryRow(ownSession(restored), [table], read)),
  // pg_dump must be at least production's major; psql restores whatever it dumps.
  findClientTools: (production, _cleanroom, binDir) => resolveClientTools(production.major, binDir),
  clientPrograms: tools => ({
    dump: { name: 'pg_dump', path: tools.pgDump.path, version: tools.pgDump.version, major: tools.pgDump.major },
    restore: { name: 'psql', path: tools.psql.path, version: tools.psql.version, major: tools.psql.major },
    byName: true
  }),
  sanitizer: { build: sanitizeFilter },
  streamDumpToRestore: streamForRun,
  restoreDumpFile,
  readDrillCatalog: (session, rowCounts) => readDrillCatalog(ownSession(session), rowCounts),
  drillOperators: DRILL_OPERATORS,
  planDrill: planOrExplain,
  drillCopies: postgresDrillCopies,
  largeObjects: { read: session => readLargeObjects(ownSession(session)) },
  userChecks: { side: session => checkSide(ownSession(session)), dialect: checkDialect },
  amcheck: {
    async check(sessions) {
      const [first, ...others] = sessions.map(ownSession)
      const schema = await installAmcheck(first)
      return runAmcheck([first, ...others], schema, (await first.serverFacts()).major)
    }
  },
  crossMajor: {
    settle: ({ production, restored, standIns }, differences) =>
      settleAcrossMajors({ production: ownSession(production), restored: ownSession(restored), standIns }, differences)
  },
  lockWatch: {
    probe: 'a probe (SELECT 1)',
    lockWaits: (session, seconds) => ownSession(session).lockWaits(seconds),
    lockAdvice:
      'another session holds a lock that blocks reading it (ACCESS EXCLUSIVE: ALTER TABLE, TRUNCATE, VACUUM FULL, ' +
      'REFRESH MATERIALIZED VIEW, LOCK TABLE)'
  },
  restorePoints: postgresRestorePoints,
  serverChecks,
  ownersAndPrivileges: postgresOwnersAndPrivileges,
  // The clean room's facts' instance holds its cluster identity's fields (DatabaseSession.facts).
  locationCheck: {
    sql: (target, { systemIdentifier, startedAt, port }) =>
      restoreLocationCheckSql(target.database, { systemIdentifier, startedAt, port })
  }
}
