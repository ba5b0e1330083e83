import * as core from '@actions/core'
import type { CleanroomRoles, DatabaseDefaults, RunRoles, SeamMaintenance } from '../engines/types.js'
import { ScratchNameTaken, UserError, messageOf } from '../util/errors.js'
import { saveRunId, saveScratchDatabases } from '../util/leftovers.js'

/** Every scratch database carries this mark; Lazarus drops no database without it. */
export const SCRATCH_MARKER = 'Lazarus scratch database'

/** The mark of one run's scratch databases. */
export function scratchMark(runId: string): string {
  return `${SCRATCH_MARKER} of run ${runId}`
}

/**
 * The scratch database of a run and purpose: `lazarus_<run id>_<purpose>`, within 63 characters
 * (PostgreSQL's limit on a name, one under MySQL's).
 */
export function scratchName(runId: string, purpose: string): string {
  return `lazarus_${runId}_${purpose.toLowerCase().replace(/[^a-z0-9]+/g, '_')}`.slice(0, 63)
}

/**
 * The clean room of one run, for every engine: its scratch databases, created marked, recorded
 * (for this process and the post step) before they exist, and always dropped at the end unless
 * kept (keep-cleanroom), then the roles the engine keeps there (`roles`, PostgreSQL's, which the
 * databases may depend on). Lazarus writes nothing else there. The engine's maintenance handle is
 * the only thing that creates or drops a database.
 */
export class CleanRoom<M extends SeamMaintenance = SeamMaintenance, R extends RunRoles | undefined = RunRoles | undefined> {
  private readonly scratch = new Set<string>()
  private readonly kept = new Set<string>()

  constructor(
    readonly maintenance: M,
    private readonly runId: string,
    /** The engine's roles of this run (Engine.cleanroomRoles), dropped after the scratch databases. */
    readonly roles: R
  ) {
    saveRunId(runId)
  }

  /** Opens the clean room through an engine's maintenance handle, with the engine's roles when it keeps any. */
  static async open<T>(
    engine: { openMaintenance(target: T): Promise<SeamMaintenance>; readonly cleanroomRoles?: CleanroomRoles },
    target: T,
    runId: string
  ): Promise<CleanRoom> {
    const maintenance = await engine.openMaintenance(target)
    return new CleanRoom(maintenance, runId, engine.cleanroomRoles?.forRun(maintenance, runId))
  }

  /** The name of this run's scratch database for `purpose` (created or not). */
  scratchName(purpose: string): string {
    return scratchName(this.runId, purpose)
  }

  /**
   * Creates an empty scratch database for `purpose` with production's defaults, marked as this
   * run's. The name is recorded before CREATE DATABASE, and the mark can only follow it: a run
   * killed in between leaves an unmarked database that its name, lazarus_<this run's id>_...,
   * still identifies as this run's.
   */
  async create(purpose: string, defaults: DatabaseDefaults): Promise<string> {
    const name = this.scratchName(purpose)
    this.scratch.add(name)
    saveScratchDatabases([...this.scratch])
    let created
    try {
      created = await this.maintenance.createScratchDatabase(name, defaults)
    } catch (error) {
      // A database of that name exists, someone else's: the name is not this run's, and must not
      // be dropped as an unmarked database of this run. Any other failure keeps it recorded: the
      // server may have made the database (its answer lost with the connection), and the run's end
      // or the post step drops it, or finds nothing there.
      if (error instanceof ScratchNameTaken) this.forget(name)
      throw error
    }
    await this.maintenance.markScratchDatabase(name, scratchMark(this.runId))
    if (created.collationFallback) {
      const { lacking, using } = created.fallback ?? { lacking: `collation ${defaults.collation}`, using: 'its default' }
      core.notice(`The clean room lacks production's ${lacking}; scratch database ${name} uses ${using}.`)
    }
    core.info(`Created scratch database ${name} (${defaults.characterSet}, ${defaults.collation}).`)
    return name
  }

  /** Leaves a scratch database in place (keep-cleanroom): no longer this run's to drop. */
  keep(name: string): void {
    this.forget(name)
    this.kept.add(name)
  }

  async drop(name: string): Promise<void> {
    if (this.kept.has(name)) return
    const dropped = await dropIfLazarus(this.maintenance, name, this.runId)
    this.forget(name)
    if (dropped) core.info(`Dropped scratch database ${name}.`)
  }

  /**
   * Drops whatever is left, then the run's roles (which the databases may depend on), and closes
   * the handle; never throws, so cleanup always finishes.
   */
  async close(): Promise<void> {
    for (const name of [...this.scratch]) {
      try {
        await this.drop(name)
      } catch (error) {
        core.warning(`Could not drop scratch database ${name}: ${messageOf(error)}`)
      }
    }
    await this.roles?.dropAll().catch(error => core.warning(`Could not drop Lazarus's roles: ${messageOf(error)}`))
    await this.maintenance.close().catch(() => undefined)
  }

  /**
   * Gives up on a clean room that stopped answering: drops the connection without waiting, and
   * leaves the scratch databases (and roles) recorded for the post step, which tries again.
   */
  abandon(): void {
    this.maintenance.abandon()
    if (this.scratch.size > 0) {
      core.warning(
        `Could not drop scratch database(s) ${[...this.scratch].join(', ')} on the clean room, which stopped answering: ` +
          'the post step drops them once it answers again.'
      )
    }
  }

  private forget(name: string): void {
    this.scratch.delete(name)
    saveScratchDatabases([...this.scratch])
  }
}

/**
 * Drops a database only if it is Lazarus's: it carries Lazarus's mark, or it is one of the run's
 * own (`runId`'s) that a kill left between CREATE DATABASE and its mark. A name from saved state
 * or a crafted input must never make Lazarus drop someone else's database. Whether there was one
 * to drop (a name recorded before CREATE DATABASE may never have been made): logs say only what was done.
 */
export async function dropIfLazarus(maintenance: SeamMaintenance, name: string, runId?: string): Promise<boolean> {
  const mark = await maintenance.scratchMarker(name)
  if (mark === undefined && !(await maintenance.databaseExists(name))) return false
  const unmarkedOfThisRun = !mark && runId !== undefined && name.startsWith(`lazarus_${runId}_`)
  if (!mark?.startsWith(SCRATCH_MARKER) && !unmarkedOfThisRun) {
    throw new UserError(`Refusing to drop database '${name}' on the clean room: Lazarus did not create it.`)
  }
  await maintenance.dropDatabase(name)
  return true
}

/**
 * The post step: drops the scratch databases and then the roles a killed run left, each on its
 * own (one refusal or failure must not leave the others behind); never throws.
 */
export async function dropLeftovers(
  engine: { openMaintenance(target: unknown): Promise<SeamMaintenance>; readonly cleanroomRoles?: CleanroomRoles },
  target: unknown,
  leftovers: { databases: string[]; roles: string[]; runId?: string }
): Promise<void> {
  const roles = engine.cleanroomRoles
  if (leftovers.databases.length === 0 && (!roles || leftovers.roles.length === 0)) return
  const maintenance = await engine.openMaintenance(target)
  try {
    for (const name of leftovers.databases) {
      try {
        if (await dropIfLazarus(maintenance, name, leftovers.runId)) core.info(`Dropped leftover scratch database ${name}.`)
      } catch (error) {
        core.warning(`Post-run cleanup failed: ${messageOf(error)}`)
      }
    }
    // After the databases: a role stays while a scratch database depends on it.
    if (roles && leftovers.roles.length > 0) await roles.dropLeftovers(maintenance, leftovers.roles)
  } finally {
    await maintenance.close().catch(() => undefined)
  }
}
