import * as core from '@actions/core'
import type { ConnectionTarget } from '../engines/postgres/connection.js'
import type { DatabaseSession, ServerFacts } from '../engines/postgres/database.js'
import type { ClusterIdentity } from '../engines/postgres/guards.js'
import type { PostgresEngine, PostgresShapes } from '../engines/postgres/index.js'
import type { MaintenanceSession } from '../engines/postgres/maintenance.js'
import type { ClientTools } from '../engines/postgres/pg-tools.js'
import type { Engine, RunRoles } from '../engines/types.js'
import { UserError } from '../util/errors.js'
import type { RunContext as EngineRunContext } from './run-context.js'
import { INPUT, type ProductionSettings as AnyProductionSettings } from './settings.js'

/** PostgreSQL's run context, as pipeline.ts has it (PostgresRunShapes), until these checks serve every engine. */
type RunContext<S extends ProductionSettings> = EngineRunContext<
  S,
  {
    engine: PostgresEngine
    target: ConnectionTarget
    session: DatabaseSession
    maintenance: MaintenanceSession
    roles: RunRoles | undefined
    cleanroomIdentity: ClusterIdentity
  }
>
type ProductionSettings = AnyProductionSettings<PostgresShapes>

/** What checkServers learnt of production, for the manifest. */
export interface ProductionServer {
  facts: ServerFacts
  identity: { systemIdentifier?: string; startedAt: string }
}

/** Versions, the separate-cluster guard, the clean room's CREATEDB right, and the client tools. */
export async function checkServers(
  context: RunContext<ProductionSettings>
): Promise<{ tools: ClientTools; productionServer: ProductionServer }> {
  const { settings, report, cleanroom, engine } = context
  const production = context.production!
  const [productionFacts, cleanroomFacts] = await Promise.all([production.serverFacts(), cleanroom.maintenance.serverFacts()])
  report.production.serverVersion = productionFacts.serverVersion
  report.cleanroom.serverVersion = cleanroomFacts.serverVersion
  refuseUnsupportedServers(engine, [
    ['production', productionFacts],
    ['clean room', cleanroomFacts]
  ])
  core.info(
    `Production: PostgreSQL ${productionFacts.serverVersion} at ${engine.describe(settings.production)} (read-only session)`
  )
  core.info(`Clean room: PostgreSQL ${cleanroomFacts.serverVersion} at ${engine.describe(settings.cleanroom)}`)
  const [productionServer, cleanroomServer] = await Promise.all([production.facts(), cleanroom.maintenance.facts()])
  // Finding the client tools only runs --version: it overlaps the guards' queries, and its error waits for theirs.
  const resolving = engine.findClientTools(productionServer, cleanroomServer, settings.binDir)
  resolving.catch(() => undefined)
  const [productionIdentity, cleanroomIdentity] = await Promise.all([
    production.clusterIdentity(),
    cleanroom.maintenance.clusterIdentity()
  ])
  await engine.assertSeparateServers(production, cleanroom.maintenance)
  context.cleanroomIdentity = cleanroomIdentity
  await context.assertCanCreateDatabases()
  await checkEnvironment(context)
  const tools = await resolving
  report.tools = { pg_dump: toolInfo(tools.pgDump), psql: toolInfo(tools.psql) }
  // lz4 and zstd need pg_dump 16+: refused now, not once pg_dump has started.
  context.engine.restorePoints?.requireCompressionSupport(settings.backupCompression, tools, INPUT.backupCompression)
  core.info(
    `Client tools: pg_dump ${tools.pgDump.version} (${tools.pgDump.path}), psql ${tools.psql.version} (${tools.psql.path})`
  )
  return { tools, productionServer: { facts: productionFacts, identity: productionIdentity } }
}

/**
 * Refuses, in one line, a server the engine cannot read (older than the oldest its catalog
 * queries understand): the fresh run's production and clean room, a stored backup's clean room.
 */
export function refuseUnsupportedServers(
  engine: Engine,
  sides: (readonly ['production' | 'clean room', { serverVersion: string; major: number } | undefined])[]
): void {
  for (const [side, facts] of sides) {
    const refusal = facts && engine.serverChecks?.unsupported(side, { version: facts.serverVersion, major: facts.major })
    if (refusal) throw new UserError(refusal)
  }
}

/**
 * Fails before anything is dumped when the clean room lacks what production uses (an extension),
 * and reports what it would restore otherwise (an extension at another version) as a difference
 * of the servers (the engine's serverChecks).
 */
async function checkEnvironment(context: RunContext<ProductionSettings>): Promise<void> {
  const { settings, report, cleanroom, engine } = context
  const production = context.production!
  if (!engine.serverChecks) return
  const { missing, differences } = await engine.serverChecks.environment(production, cleanroom.maintenance, settings.cleanroom)
  if (missing) throw new UserError(missing)
  if (differences.length > 0) report.environment = differences
  for (const difference of differences) {
    core.warning(
      `Extension ${difference.name}: production has version ${difference.production}, the clean room restores ${difference.cleanroom}: ` +
        `${difference.detail}. This is a difference of the clean-room server, not of the backup; ` +
        `a clean room with production's versions verifies it exactly.`,
      { title: 'Lazarus: clean room differs from production' }
    )
  }
}

function toolInfo(tool: { path: string; version: string }) {
  return { path: tool.path, version: tool.version }
}
