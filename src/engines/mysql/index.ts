import type { SeamEngine } from '../types.js'
import { describe, parseMysqlUrl, secretsOf, withDatabase, type MysqlTarget } from './connection.js'

/** The MySQL/MariaDB shapes behind the engine seam. */
export interface MysqlShapes {
  target: MysqlTarget
  table: import('../../util/table-name.js').TableName
  tools: unknown
  sanitizeOptions: unknown
  drillCatalog: unknown
  rewriter: unknown
}

/** Parts still being built (issue 15): each fails plainly until its module lands. */
const notYet = (what: string) => (): never => {
  throw new Error(`The MySQL/MariaDB engine's ${what} is not built yet`)
}

/** MySQL and MariaDB as one engine over the seam: the flavour is the server's, not the URL's scheme. */
export const mysql: SeamEngine<MysqlShapes> = {
  runsOverSeam: true,
  name: 'MySQL/MariaDB',
  schemes: ['mysql', 'mariadb'],
  parseUrl: parseMysqlUrl,
  describe,
  secretsOf,
  withDatabase,
  openRead: notYet('read session'),
  openMaintenance: notYet('maintenance handle'),
  assertSeparateServers: notYet('same-server guard'),
  diffSchema: notYet('schema comparison'),
  rowDiffSide: notYet('row pinning'),
  findClientTools: notYet('client programs'),
  sanitizerProgram: notYet('sanitizer'),
  streamDumpToRestore: notYet('dump stream'),
  restoreDumpFile: notYet('restore stream'),
  readDrillCatalog: notYet('drill catalog'),
  drillOperators: [],
  planDrill: notYet('drill planning')
}
