import * as core from '@actions/core'
import { DatabaseSession } from '../engines/postgres/database.js'
import type { Report } from '../report/report.js'
import { onCancel } from '../util/cancellation.js'
import { CleanRoom } from './cleanroom.js'
import type { Settings } from './settings.js'
import { ServerWatch } from './watchdog.js'
import type { Workspace } from './workspace.js'

/**
 * One run's context, shared by its stages instead of long parameter lists: what every stage reads
 * (the settings, the workspace, the report it fills), the servers it holds (the clean room and
 * production's live sessions) and how they end: closed on every path, on cancellation, and as
 * soon as a server stops answering. Production's sessions live here and only here: the data the
 * report and the manifest read (pipeline.ts ProductionSnapshot) never holds a connection.
 * A fresh dump (pipeline.ts) and a stored backup (stored-pipeline.ts) run the same way.
 */
export class RunContext<S extends Settings = Settings> {
  /** Production's live sessions: the first is the one that connected (and exports the snapshot), the others join it. */
  readonly productionSessions: DatabaseSession[] = []
  private room?: CleanRoom
  private watch?: ServerWatch

  constructor(
    readonly settings: S,
    readonly workspace: Workspace,
    readonly report: Report
  ) {
    // Lock waits and the TCP safeguards of every session and client program, from the inputs.
    DatabaseSession.limits = {
      lockTimeoutSeconds: settings.lockTimeoutSeconds,
      serverTimeoutSeconds: settings.serverTimeoutSeconds
    }
  }

  /** Production's first session (read-only), once connected; a run from a manifest never connects. */
  get production(): DatabaseSession | undefined {
    return this.productionSessions[0]
  }

  /** The clean room, once the run has opened it. */
  get cleanroom(): CleanRoom {
    if (!this.room) throw new Error('the clean room is not open yet')
    return this.room
  }

  /** Connects to production (read-only): the run's first production session. */
  async connectProduction(): Promise<DatabaseSession> {
    const target = this.settings.production
    if (!target) throw new Error('connectProduction needs production-url')
    const session = await core.group('Connect', () => DatabaseSession.open(target, 'production'))
    this.productionSessions.push(session)
    return session
  }

  /** One log group per stage that gives up as soon as a server stops answering (watchdog.ts); the group still closes. */
  readonly group = <T>(name: string, work: () => Promise<T>): Promise<T> =>
    core.group(name, () => (this.watch ? this.watch.guard(name, work) : work()))

  /**
   * Opens the clean room, watches the servers the run uses (production only when connected), and
   * runs the stages under that watch. Everything is closed afterwards, whatever happened;
   * `discard` (what a failed or cancelled run must not leave behind) runs then and on cancellation.
   */
  async run(stages: () => Promise<void>, discard: () => void = () => undefined): Promise<void> {
    const stopCancelHandler = onCancel(async () => {
      // Work still waiting on a server ends silently: the cancellation is the one thing to report.
      DatabaseSession.abandonAll(this.room ? [this.room.maintenance] : [])
      await this.close()
      this.workspace.removeWorkFiles()
      discard()
    })
    try {
      this.room = await CleanRoom.open(this.settings.cleanroom, this.workspace.runId)
      const production = this.production && this.settings.production
      this.watch = await ServerWatch.start(
        [
          ...(production ? [{ role: 'production' as const, target: production }] : []),
          { role: 'cleanroom' as const, target: this.settings.cleanroom }
        ],
        this.settings
      )
      await this.watch.guard('the run', stages)
    } finally {
      stopCancelHandler()
      await this.close()
      discard()
    }
  }

  /** Closes the clean room and production's sessions, or abandons what waits on a server that stopped answering. */
  private async close(): Promise<void> {
    this.watch?.stop()
    if (this.watch?.unresponsive) {
      // The stages still waiting on either server end here, silently; only the clean room's
      // maintenance session stays, to drop the scratch databases if the clean room still answers.
      DatabaseSession.abandonAll(this.room ? [this.room.maintenance] : [])
      if (this.watch.unresponsive === 'cleanroom') return this.room?.abandon()
    }
    await this.room?.close()
    for (const session of this.productionSessions) await session.close()
  }
}
