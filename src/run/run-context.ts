import * as core from '@actions/core'
import type { DatabaseDefaults, Engine, SeamMaintenance, SeamSession, ServerFacts, ServerRole } from '../engines/types.js'
import type { Report } from '../report/report.js'
import { onCancel } from '../util/cancellation.js'
import { UserError } from '../util/errors.js'
import { writeWorkFile } from '../util/work-files.js'
import { CleanRoom } from './cleanroom.js'
import { INPUT, type Settings } from './settings.js'
import { ServerWatch, type WatchedServer } from './watchdog.js'
import type { Workspace } from './workspace.js'

/** What the context reads of a run's settings, whatever the engine. */
export interface ContextSettings {
  /** Absent only when a stored backup is verified from its manifest alone. */
  production?: unknown
  cleanroom: unknown
  lockTimeoutSeconds: number
  serverTimeoutSeconds: number
}

/**
 * One run's context, whatever the engine, shared by its stages instead of long parameter lists:
 * what every stage reads (the engine, the settings, the workspace, the report it fills), the clean
 * room, production's live sessions and every other session the run opened. It runs each stage in
 * a log group under the watchdog (which ends the client programs of a server that stopped
 * answering, as a cancellation does: util/cancellation.ts), and ends the servers it holds on
 * every path: closed at the end, abandoned on cancellation, and abandoned at once when a server
 * stops answering (then the clean room's scratch databases are left to the post step if it is the
 * clean room that went silent). Production's sessions live here and only here: the data the
 * report and the manifest read (a run's ProductionSnapshot) never holds a connection. A fresh
 * dump (pipeline.ts) and a stored backup (stored-pipeline.ts) run the same way.
 */
export class RunContext<S extends ContextSettings = Settings> {
  /** Production's live sessions in the snapshot: the first is the one that connected (and began it), the others joined it. */
  readonly productionSessions: SeamSession[] = []
  /** What the separate-servers check established about the clean room: every restore checks it is there. */
  cleanroomIdentity?: ServerFacts['instance']
  /** Production's collations the sanitizer rewrites to the clean room's, which the schema comparison counts as the same. */
  collationsRewritten?: ReadonlyMap<string, string>
  /** Objects the sanitizer restored unable to run (events), whose status the schema comparison reads as dumped. */
  restoredDisabled: { kind: string; name: string }[] = []
  /** Every session the run opened through open() (production's among them), closed with the run. */
  private readonly sessions: SeamSession[] = []
  private room?: CleanRoom
  private watch?: ServerWatch
  private closing?: Promise<void>

  constructor(
    /** The engine the run reads through (engines/types.ts): what it asks of either server goes through its methods. */
    readonly engine: Engine,
    readonly settings: S,
    readonly workspace: Workspace,
    readonly report: Report
  ) {
    // Lock waits and the TCP safeguards of every session and client program, from the inputs.
    engine.setLimits({ lockTimeoutSeconds: settings.lockTimeoutSeconds, serverTimeoutSeconds: settings.serverTimeoutSeconds })
  }

  /** One log group per stage that gives up as soon as a server stops answering (watchdog.ts); the group still closes. */
  readonly group = <T>(name: string, work: () => Promise<T>): Promise<T> => core.group(name, () => this.guarded(name, work))

  /** Runs `work` as the stage `stage` under the watchdog (once it watches). */
  guarded<T>(stage: string, work: () => Promise<T>): Promise<T> {
    return this.watch ? this.watch.guard(stage, work) : work()
  }

  /** Production's first session (read-only), once connected; a run from a manifest never connects. */
  get production(): SeamSession | undefined {
    return this.productionSessions[0]
  }

  /** The clean room, once the run has opened it. */
  get cleanroom(): CleanRoom {
    if (!this.room) throw new Error('the clean room is not open yet')
    return this.room
  }

  /** The clean room's maintenance handle: the only session that creates or drops a database. */
  get maintenance(): SeamMaintenance {
    return this.cleanroom.maintenance
  }

  /** Where the scratch database for `purpose` is, created or not; its tables are reported under `reportAs`. */
  scratchTarget(purpose: string, reportAs?: string): unknown {
    return this.engine.withDatabase(this.settings.cleanroom, this.cleanroom.scratchName(purpose), reportAs)
  }

  /** Creates the scratch database for `purpose` with production's defaults, and says where it is. */
  async createScratchDatabase(purpose: string, defaults: DatabaseDefaults, reportAs?: string): Promise<unknown> {
    const name = await this.cleanroom.create(purpose, defaults)
    return this.engine.withDatabase(this.settings.cleanroom, name, reportAs)
  }

  /** Fails early, before production is dumped, when the clean room's account cannot create databases (in the engine's words). */
  async assertCanCreateDatabases(): Promise<void> {
    const { role, allowed, hint } = await this.maintenance.canCreateDatabases()
    if (!allowed)
      throw new UserError(this.engine.cannotCreateDatabases(role, this.engine.describe(this.settings.cleanroom), hint))
  }

  /** Opens a session (closed with the run): production's join its snapshot, the clean room's read a restored copy. */
  async open(target: unknown, role: ServerRole): Promise<SeamSession> {
    const session = await this.engine.openRead(target, role)
    this.sessions.push(session)
    return session
  }

  /**
   * Opens `count` sessions at once, each with the pinned settings. Each is added to `into` as soon
   * as it connects, so that the caller's cleanup releases every session that opened when another failed.
   */
  async openPinned(target: unknown, role: ServerRole, count: number, into: SeamSession[]): Promise<void> {
    const opened = await Promise.allSettled(
      Array.from({ length: count }, async () => {
        const session = await this.open(target, role)
        into.push(session)
        await session.pinSettings()
      })
    )
    for (const result of opened) if (result.status === 'rejected') throw result.reason
  }

  /** Closes a session opened with open() before the run ends. */
  async release(session: SeamSession): Promise<void> {
    const index = this.sessions.indexOf(session)
    if (index >= 0) this.sessions.splice(index, 1)
    await session.close().catch(() => undefined)
  }

  /** Connects to production (read-only): the run's first production session. */
  async connectProduction(): Promise<SeamSession> {
    const target = this.settings.production
    if (!target) throw new Error('connectProduction needs production-url')
    const session = await core.group('Connect', () => this.open(target, 'production'))
    this.productionSessions.push(session)
    return session
  }

  /**
   * Opens the clean room, watches the servers the run uses (production only when connected), and
   * runs the stages under that watch. Everything is closed afterwards, whatever happened;
   * `discard` (what a failed or cancelled run must not leave behind) runs then and on cancellation.
   */
  async run(stages: () => Promise<void>, discard: () => void = () => undefined): Promise<void> {
    const stopCancelHandler = onCancel(async () => {
      // Work still waiting on a server ends silently: the cancellation is the one thing to report.
      this.abandon()
      await this.close()
      this.workspace.removeWorkFiles()
      discard()
    })
    try {
      await this.connect()
      await this.guarded('the run', stages)
    } finally {
      stopCancelHandler()
      await this.close()
      discard()
    }
  }

  /** Opens the clean room (its maintenance handle and the engine's roles), then the watchdog over the servers. */
  protected async connect(): Promise<void> {
    this.openedCleanroom(await this.engine.openMaintenance(this.settings.cleanroom))
    await this.watchServers()
  }

  /** The clean room of this run over its maintenance handle, with the engine's roles when it keeps any. */
  protected openedCleanroom(maintenance: SeamMaintenance): void {
    const { engine, workspace } = this
    this.room = new CleanRoom(maintenance, workspace.runId, engine.cleanroomRoles?.forRun(maintenance, workspace.runId))
  }

  /** Starts the watchdog over a probe session per server: production's only when the run connected to it. */
  protected async watchServers(): Promise<void> {
    const production = this.production && this.settings.production
    this.watch = await ServerWatch.start(
      [...(production ? [this.probe('production', production)] : []), this.probe('cleanroom', this.settings.cleanroom)],
      this.settings
    )
  }

  /**
   * The watchdog's probe of one server, on a session of its own: its ping (a busy server still
   * answers it) and, on production, Lazarus's sessions stuck behind a lock where the engine looks
   * for them (Engine.lockWatch).
   */
  private async probe(role: ServerRole, target: unknown): Promise<WatchedServer> {
    const { engine } = this
    const session = await engine.openRead(target, role)
    const locks = engine.lockWatch
    return {
      role,
      name: `${engine.describe(target)}, '${role === 'production' ? INPUT.productionUrl : INPUT.cleanroomUrl}'`,
      probe: locks?.probe ?? 'a probe',
      ask: lockWaitSeconds =>
        role === 'production' && locks ? locks.lockWaits(session, lockWaitSeconds) : session.ping().then(() => []),
      lockAdvice: locks?.lockAdvice,
      abandon: () => session.abandon()
    }
  }

  /**
   * Drops the run's scratch databases and closes its sessions, or abandons what waits on a server
   * that stopped answering; never throws. Once: a second call (the run's
   * end after a cancellation began closing) waits for the first.
   */
  close(): Promise<void> {
    this.closing ??= this.closeOnce()
    return this.closing
  }

  private async closeOnce(): Promise<void> {
    this.watch?.stop()
    if (this.watch?.unresponsive) {
      // The stages still waiting on either server end here, silently; only the clean room's
      // maintenance session stays, to drop the scratch databases if the clean room still answers.
      this.abandon()
      if (this.watch.unresponsive === 'cleanroom') return this.room?.abandon()
    }
    // The lock, should a failure have come between taking and releasing it, goes first: production's writers wait on it.
    await this.production?.releaseSnapshotLock().catch(() => undefined)
    await this.room?.close()
    for (const session of this.sessions.splice(0)) await session.close().catch(() => undefined)
  }

  /** Drops every connection but the clean room's maintenance handle at once, without waiting for a server. */
  private abandon(): void {
    for (const session of this.sessions) session.abandon()
    this.engine.abandonAll?.(this.room ? [this.room.maintenance] : [])
  }
}

/**
 * Writes the SQL that stops the restore program unless it restores into `target` on the checked
 * clean room (the engine's locationCheck), to `file`: the backup's restore and each drill copy's.
 */
export function writeLocationCheck(run: RunContext, target: unknown, file: string): string {
  if (!run.cleanroomIdentity) throw new Error('The clean room was not identified before a restore')
  const check = run.engine.locationCheck
  if (!check) throw new Error(`${run.engine.name} has no locationCheck capability`)
  writeWorkFile(file, check.sql(target, run.cleanroomIdentity), "the restore's location check")
  return file
}
