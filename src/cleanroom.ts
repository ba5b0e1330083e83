import * as core from '@actions/core'
import { DatabaseSession } from './database.js'
import { withDatabase, type ConnectionTarget } from './connection.js'
import { messageOf } from './errors.js'

/**
 * The clean-room server, through its maintenance database. Lazarus writes nothing there except
 * its own scratch databases, which it tracks and always drops.
 */
export class CleanRoom {
  private readonly scratch = new Set<string>()

  private constructor(
    readonly maintenance: DatabaseSession,
    private readonly target: ConnectionTarget,
    private readonly runId: string
  ) {}

  static async open(target: ConnectionTarget, runId: string): Promise<CleanRoom> {
    return new CleanRoom(await DatabaseSession.open(target, 'cleanroom'), target, runId)
  }

  /** Creates an empty scratch database named for this run and its purpose. */
  async createScratchDatabase(
    purpose: string,
    production: { encoding: string; collate: string; ctype: string }
  ): Promise<ConnectionTarget> {
    const name = `lazarus_${this.runId}_${purpose.replace(/[^a-z0-9]+/g, '_')}`.slice(0, 63)
    this.scratch.add(name)
    const { localeFallback } = await this.maintenance.createScratchDatabase(name, production.encoding, production.collate, production.ctype)
    if (localeFallback) {
      core.notice(`The clean room lacks production's locale '${production.collate}'; scratch database ${name} uses C.`)
    }
    core.info(`Created scratch database ${name} (${production.encoding}).`)
    return withDatabase(this.target, name)
  }

  async dropScratchDatabase(target: ConnectionTarget): Promise<void> {
    await this.maintenance.dropDatabase(target.database)
    this.scratch.delete(target.database)
    core.info(`Dropped scratch database ${target.database}.`)
  }

  /** Drops whatever is left and closes the connection; never throws, so cleanup always finishes. */
  async close(): Promise<void> {
    for (const name of [...this.scratch]) {
      try {
        await this.maintenance.dropDatabase(name)
        this.scratch.delete(name)
      } catch (error) {
        core.warning(`Could not drop scratch database ${name}: ${messageOf(error)}`)
      }
    }
    await this.maintenance.close()
  }
}
