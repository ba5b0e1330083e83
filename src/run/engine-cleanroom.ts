import * as core from '@actions/core'
import type { DatabaseDefaults, SeamMaintenance } from '../engines/types.js'
import { UserError, messageOf } from '../util/errors.js'
import { saveRunId, saveScratchDatabases } from '../util/leftovers.js'

/** Every scratch database carries this mark; Lazarus drops no database without it. */
export const SCRATCH_MARKER = 'Lazarus scratch database'

/** The mark of one run's scratch databases. */
export function scratchMark(runId: string): string {
  return `${SCRATCH_MARKER} of run ${runId}`
}

/** The scratch database of a run and purpose: `lazarus_<run id>_<purpose>`, within MySQL's 64 characters. */
export function scratchName(runId: string, purpose: string): string {
  return `lazarus_${runId}_${purpose.toLowerCase().replace(/[^a-z0-9]+/g, '_')}`.slice(0, 64)
}

/**
 * The clean room's scratch databases of one run over the engine seam: created marked, recorded
 * (for this process and the post step) before they exist, always dropped at the end unless kept
 * (keep-cleanroom). The engine's maintenance handle is the only thing that creates or drops them.
 */
export class ScratchDatabases {
  private readonly scratch = new Set<string>()
  private readonly kept = new Set<string>()

  constructor(
    readonly maintenance: SeamMaintenance,
    private readonly runId: string
  ) {
    saveRunId(runId)
  }

  /**
   * Creates an empty scratch database for `purpose` in production's character set and collation,
   * marked as this run's. The name is recorded before CREATE DATABASE: a run killed in between
   * leaves an unmarked database that its name, lazarus_<this run's id>_..., still identifies.
   */
  async create(purpose: string, defaults: DatabaseDefaults): Promise<string> {
    const name = scratchName(this.runId, purpose)
    this.scratch.add(name)
    saveScratchDatabases([...this.scratch])
    let collationFallback: boolean
    try {
      ;({ collationFallback } = await this.maintenance.createScratchDatabase(name, defaults))
    } catch (error) {
      // Refused (a database of that name exists, someone else's; no right): nothing of this run's to drop.
      this.forget(name)
      throw error
    }
    await this.maintenance.markScratchDatabase(name, scratchMark(this.runId))
    if (collationFallback) {
      core.notice(`The clean room lacks production's collation ${defaults.collation}; scratch database ${name} uses its default.`)
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
    await dropIfLazarus(this.maintenance, name, this.runId)
    this.forget(name)
    core.info(`Dropped scratch database ${name}.`)
  }

  /** Drops whatever is left and closes the handle; never throws, so cleanup always finishes. */
  async close(): Promise<void> {
    for (const name of [...this.scratch]) {
      try {
        await this.drop(name)
      } catch (error) {
        core.warning(`Could not drop scratch database ${name}: ${messageOf(error)}`)
      }
    }
    await this.maintenance.close().catch(() => undefined)
  }

  /**
   * Gives up on a clean room that stopped answering: drops the connection without waiting, and
   * leaves the scratch databases recorded for the post step, which tries again.
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
 * or a crafted input must never make Lazarus drop someone else's database.
 */
export async function dropIfLazarus(maintenance: SeamMaintenance, name: string, runId?: string): Promise<void> {
  const mark = await maintenance.scratchMarker(name)
  if (mark === undefined && !(await maintenance.databaseExists(name))) return
  const unmarkedOfThisRun = !mark && runId !== undefined && name.startsWith(`lazarus_${runId}_`)
  if (!mark?.startsWith(SCRATCH_MARKER) && !unmarkedOfThisRun) {
    throw new UserError(`Refusing to drop database '${name}' on the clean room: Lazarus did not create it.`)
  }
  await maintenance.dropDatabase(name)
}
