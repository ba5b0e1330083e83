import type { Engine } from '../types.js'
import { describe, parseConnectionUrl, type ConnectionTarget } from './connection.js'
import { DatabaseSession } from './database.js'
import { readDrillCatalog, type DrillCatalog } from './drill-catalog.js'
import { dropRowRewriter, type DumpRewriter } from './drill-rewriters.js'
import type { TableRef } from './figure-queries.js'
import { MaintenanceSession } from './maintenance.js'
import { resolveClientTools, type ClientTools } from './pg-tools.js'
import { buildSedProgram, type SanitizeRuleOptions } from './sanitize-rules.js'

/** PostgreSQL's shapes behind the engine interface. */
export interface PostgresShapes {
  target: ConnectionTarget
  table: TableRef
  tools: ClientTools
  sanitizeOptions: SanitizeRuleOptions
  drillCatalog: DrillCatalog
  rewriter: DumpRewriter
}

/** PostgreSQL as an engine: the modules of this folder, behind engines/types.ts. */
export const postgres: Engine<PostgresShapes> = {
  name: 'PostgreSQL',
  schemes: ['postgres', 'postgresql'],
  parseUrl: parseConnectionUrl,
  describe,
  openRead: (target, role) => DatabaseSession.open(target, role),
  openMaintenance: target => MaintenanceSession.openMaintenance(target),
  findClientTools: resolveClientTools,
  sanitizerProgram: buildSedProgram,
  readDrillCatalog: (session, rowCounts) => {
    // The run hands back the session this engine opened: SQL goes through its driver session only.
    if (!(session instanceof DatabaseSession)) throw new Error('PostgreSQL reads its drill catalog through its own session')
    return readDrillCatalog(session, rowCounts)
  },
  dropRowRewriter
}
