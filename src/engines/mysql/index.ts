import type { ClientProgram, Engine } from '../types.js'
import { describe, parseMysqlUrl, secretsOf, withDatabase, type MysqlTarget } from './connection.js'
import { MysqlSession, ownSession } from './database.js'
import type { MysqlDrillCatalog } from './drill-catalog.js'
import { MYSQL_DRILL_OPERATORS, planMysqlDrill } from './drill-plan.js'
import type { MysqlTable } from './figure-queries.js'
import { assertSeparateServers } from './guards.js'
import { MysqlMaintenance } from './maintenance.js'
import { diffSchema } from './schema-queries.js'
import { diffAsDumped } from './restored-status.js'
import { buildSanitizer } from './sanitizer.js'
import { judged, streamForRun } from './stream.js'
import { findClientTools, releaseOf, restoreDumpFile, type MysqlClientTool, type MysqlClientTools } from './tools.js'

/** The MySQL/MariaDB shapes behind the engine seam. */
export interface MysqlShapes {
  target: MysqlTarget
  table: MysqlTable
  tools: MysqlClientTools
  drillCatalog: MysqlDrillCatalog
}

/** A client program by its own name (mysqldump, mariadb-dump, mysql, mariadb), as the report lists it. */
function named(tool: MysqlClientTool): ClientProgram {
  return { name: tool.path.split('/').pop() ?? tool.path, path: tool.path, version: tool.version, major: tool.major }
}

/** MySQL and MariaDB as one engine over the seam: the flavour is the server's, not the URL's scheme. */
export const mysql: Engine<MysqlShapes> = {
  name: 'MySQL/MariaDB',
  schemes: ['mysql', 'mariadb'],
  parseUrl: parseMysqlUrl,
  urlForm: 'a mysql:// URL',
  describe,
  binDirInput: 'mysql-bin-dir',
  secretsOf,
  setLimits: limits => (MysqlSession.limits = { ...limits }),
  withDatabase,
  openRead: (target, role) => MysqlSession.open(target, role),
  // FLUSH TABLES WITH READ LOCK holds production's writers until the dump's snapshot has begun.
  snapshotHoldsWriters: true,
  openMaintenance: target => MysqlMaintenance.openMaintenance(target),
  cannotCreateDatabases: (role, where, hint) =>
    `Account ${role} on the clean room (${where}) cannot create databases: give it ` +
    'the CREATE, DROP, ALTER, INDEX, INSERT, CREATE VIEW, CREATE ROUTINE, ALTER ROUTINE, TRIGGER, EVENT and REFERENCES ' +
    `privileges on *.* there (docs/mysql.md), or use an account that has them${hint ? `; ${hint}` : ''}.`,
  assertSeparateTargets: (production, cleanroom) => assertSeparateServers(production, cleanroom),
  async assertSeparateServers(production, cleanroom) {
    const [p, c] = [ownSession(production), ownSession(cleanroom)]
    assertSeparateServers(p.target, c.target)
    assertSeparateServers(p.target, c.target, { production: await p.facts(), cleanroom: await c.facts() })
  },
  diffSchema: (production, restored, collationsRewritten, restoredDisabled) =>
    diffAsDumped((mine, theirs) => diffSchema(mine, theirs, collationsRewritten), production, restored, restoredDisabled),
  rowDiffSide: (session, table, key) => ownSession(session).rowDiffSide(table, key),
  findClientTools: (production, cleanroom, binDir) => findClientTools(releaseOf(production), releaseOf(cleanroom), binDir),
  clientPrograms: tools => ({ dump: named(tools.dump), restore: named(tools.client) }),
  sanitizer: { build: buildSanitizer },
  streamDumpToRestore: streamForRun,
  // A failed restore in the client's words; any other program's failure is the run's (stream.ts judged).
  restoreDumpFile: async request => judged(await restoreDumpFile(request), request.restoreInto),
  readDrillCatalog: (session, rowCounts) => ownSession(session).drillCatalog(rowCounts),
  drillOperators: MYSQL_DRILL_OPERATORS,
  planDrill: planMysqlDrill
}
