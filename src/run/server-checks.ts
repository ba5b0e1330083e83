import * as core from '@actions/core'
import type { ClientPrograms, Engine, ServerFacts } from '../engines/types.js'
import type { Report } from '../report/report.js'
import { UserError } from '../util/errors.js'
import type { RunContext } from './run-context.js'
import { INPUT, type ProductionSettings } from './settings.js'

/** What the checks before the dump established: both servers as they describe themselves, and the client programs for them. */
export interface CheckedServers<Tools = unknown> {
  production: ServerFacts
  cleanroom: ServerFacts
  /** The engine's client programs (Engine.findClientTools), in its own shape. */
  tools: Tools
}

/**
 * The checks before anything is created or dumped, for every engine: the servers' versions (and
 * whether the engine reads them: Engine.serverChecks), the same-server guard, the clean room's
 * right to create databases, the clean room's environment against production's, and the client
 * programs. `Tools` is the engine's own shape of them (the run's engine returns its own).
 */
export async function checkServers<Tools = unknown>(context: RunContext<ProductionSettings>): Promise<CheckedServers<Tools>> {
  const { settings, report, engine } = context
  const production = context.production!
  const maintenance = context.maintenance
  const [productionFacts, cleanroomFacts] = await Promise.all([production.facts(), maintenance.facts()])
  // The product, where the engine's name does not say it: MySQL/MariaDB's server says which it is.
  if (productionFacts.product !== engine.name) report.engine = productionFacts.product
  report.production.serverVersion = productionFacts.version
  report.cleanroom.serverVersion = cleanroomFacts.version
  refuseUnsupportedServers(engine, [
    ['production', productionFacts],
    ['clean room', cleanroomFacts]
  ])
  core.info(
    `Production: ${productionFacts.product} ${productionFacts.version} at ${engine.describe(settings.production)} (read-only session)`
  )
  core.info(`Clean room: ${cleanroomFacts.product} ${cleanroomFacts.version} at ${engine.describe(settings.cleanroom)}`)
  // Finding the client tools only runs --version: it overlaps the guards' queries, and its error waits for theirs.
  const resolving = engine.findClientTools(productionFacts, cleanroomFacts, settings.binDir)
  resolving.catch(() => undefined)
  // Nothing is created in the clean room before it is proven to be another server than production.
  await engine.assertSeparateServers(production, maintenance)
  // What tells the clean room apart from every other server: each restore's location check names it.
  context.cleanroomIdentity = cleanroomFacts.instance
  await context.assertCanCreateDatabases()
  await checkEnvironment(context)
  // The engine's findClientTools returns its own tools.
  const tools = (await resolving) as Tools
  const programs = engine.clientPrograms(tools)
  recordPrograms(programs, report)
  // lz4 and zstd need pg_dump 16+: refused now, not once pg_dump has started.
  engine.restorePoints?.requireCompressionSupport(settings.backupCompression, tools, INPUT.backupCompression)
  if (programs) {
    const { dump, restore } = programs
    core.info(
      `Client ${programs.byName ? 'tools' : 'programs'}: ${dump.name} ${dump.version} (${dump.path}), ` +
        `${restore.name} ${restore.version} (${restore.path})`
    )
  }
  // Where the engine has owners and roles (Engine.ownersAndPrivileges), input restore-role chooses who restores, said once set up.
  if (!engine.ownersAndPrivileges)
    core.info('The restore runs as the clean-room account (restore-role applies to PostgreSQL only).')
  return { production: productionFacts, cleanroom: cleanroomFacts, tools }
}

/** The dump and restore programs in the report: under their own names (`tools`) or by what they do (`programs`), as the engine says. */
function recordPrograms(programs: ClientPrograms | undefined, report: Report): void {
  if (!programs) return
  const { dump, restore } = programs
  if (!programs.byName) {
    report.programs = { dump, restore }
    return
  }
  const info = (program: { path: string; version: string }) => ({ path: program.path, version: program.version })
  // PostgreSQL's: pg_dump and psql (report.ts `tools`).
  report.tools = { [dump.name]: info(dump), [restore.name]: info(restore) }
}

/**
 * Refuses, in one line, a server the engine cannot read (older than the oldest its catalog
 * queries understand): the fresh run's production and clean room, a stored backup's clean room.
 */
export function refuseUnsupportedServers(
  engine: Engine,
  sides: (readonly ['production' | 'clean room', Pick<ServerFacts, 'version' | 'major'> | undefined])[]
): void {
  for (const [side, facts] of sides) {
    const refusal = facts && engine.serverChecks?.unsupported(side, facts)
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
