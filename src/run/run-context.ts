import * as core from '@actions/core'
import { describe, withDatabase, type ConnectionTarget } from '../engines/postgres/connection.js'
import { DatabaseSession, asDatabaseDefaults } from '../engines/postgres/database.js'
import { restoreLocationCheckSql, type ClusterIdentity } from '../engines/postgres/guards.js'
import { postgres, type PostgresEngine } from '../engines/postgres/index.js'
import type { MaintenanceSession } from '../engines/postgres/maintenance.js'
import type { PostgresRunRoles } from '../engines/postgres/run-roles.js'
import type { Engine, SeamMaintenance, SeamSession, ServerFacts, ServerRole } from '../engines/types.js'
import type { Report } from '../report/report.js'
import { onCancel } from '../util/cancellation.js'
import { UserError } from '../util/errors.js'
import { CleanRoom } from './cleanroom.js'
import type { EngineSettings } from './engine-settings.js'
import type { Settings } from './settings.js'
import { ServerWatch, type WatchedServer } from './watchdog.js'
import type { Workspace } from './workspace.js'

/**
 * What every run's context does, whatever the engine: it carries what every stage reads (the
 * settings, the workspace, the report it fills), runs each stage in a log group under the
 * watchdog, and ends the servers it holds on every path: closed at the end, abandoned on
 * cancellation, and abandoned at once when a server stops answering (then the clean room's
 * scratch databases are left to the post step if it is the clean room that went silent).
 * PostgreSQL's run (RunContext) and the run over the engine seam (SeamRunContext) differ only in
 * which sessions they hold.
 */
abstract class WatchedRun<S extends { serverTimeoutSeconds: number; lockTimeoutSeconds: number }> {
  private watch?: ServerWatch
  private closing?: Promise<void>

  constructor(
    readonly settings: S,
    readonly workspace: Workspace,
    readonly report: Report
  ) {}

  /** One log group per stage that gives up as soon as a server stops answering (watchdog.ts); the group still closes. */
  readonly group = <T>(name: string, work: () => Promise<T>): Promise<T> => core.group(name, () => this.guarded(name, work))

  /** Runs `work` as the stage `stage` under the watchdog (once it watches). */
  guarded<T>(stage: string, work: () => Promise<T>): Promise<T> {
    return this.watch ? this.watch.guard(stage, work) : work()
  }

  /**
   * Connects (`connect` opens the clean room and whatever else the run holds, then watchServers),
   * and runs the stages under the watch. Everything is closed afterwards, whatever happened;
   * `discard` (what a failed or cancelled run must not leave behind) runs then and on cancellation.
   */
  protected async supervise(connect: () => Promise<void>, stages: () => Promise<void>, discard: () => void): Promise<void> {
    const stopCancelHandler = onCancel(async () => {
      // Work still waiting on a server ends silently: the cancellation is the one thing to report.
      this.abandon()
      await this.close()
      this.workspace.removeWorkFiles()
      discard()
    })
    try {
      await connect()
      await this.guarded('the run', stages)
    } finally {
      stopCancelHandler()
      await this.close()
      discard()
    }
  }

  /** Starts the watchdog over the servers' probe sessions (opened by the engine's half). */
  protected async watchServers(probes: Promise<WatchedServer>[]): Promise<void> {
    this.watch = await ServerWatch.start(probes, this.settings)
  }

  /** Drops every connection but the clean room's maintenance handle at once, without waiting for a server. */
  protected abstract abandon(): void
  /** Leaves the clean room (which stopped answering) as it is: the post step drops what is left. */
  protected abstract abandonCleanroom(): void
  /** Drops the scratch databases and closes every session; never throws. */
  protected abstract closeServers(): Promise<void>

  /**
   * Closes the clean room and the sessions, or abandons what waits on a server that stopped
   * answering. Once: a second call (the run's end after a cancellation began closing) waits for the first.
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
      if (this.watch.unresponsive === 'cleanroom') return this.abandonCleanroom()
    }
    await this.closeServers()
  }
}

/** PostgreSQL's probe of one server: `SELECT 1`, and on production the lock waits of Lazarus's sessions. */
async function postgresProbe(role: ServerRole, target: ConnectionTarget): Promise<WatchedServer> {
  const session = await DatabaseSession.open(target, role)
  return {
    role,
    name: `${describe(target)}, '${target.inputName}'`,
    probe: 'a probe (SELECT 1)',
    ask: lockWaitSeconds => (role === 'production' ? session.lockWaits(lockWaitSeconds) : session.ping().then(() => [])),
    lockAdvice:
      'another session holds a lock that blocks reading it (ACCESS EXCLUSIVE: ALTER TABLE, TRUNCATE, VACUUM FULL, ' +
      'REFRESH MATERIALIZED VIEW, LOCK TABLE)',
    abandon: () => session.abandon()
  }
}

/** PostgreSQL's clean room: its maintenance handle and its roles, as its own run reads them. */
export type PostgresCleanRoom = CleanRoom<MaintenanceSession, PostgresRunRoles>

/**
 * One PostgreSQL run's context, shared by its stages instead of long parameter lists: the clean
 * room and production's live sessions beside what every run carries (WatchedRun). Production's
 * sessions live here and only here: the data the report and the manifest read (pipeline.ts
 * ProductionSnapshot) never holds a connection. A fresh dump (pipeline.ts) and a stored backup
 * (stored-pipeline.ts) run the same way.
 */
export class RunContext<S extends Settings = Settings> extends WatchedRun<S> {
  /** The engine the run reads through (engines/types.ts): what it asks of either server goes through its methods. */
  readonly engine: PostgresEngine = postgres
  /** Production's live sessions: the first is the one that connected (and exports the snapshot), the others join it. */
  readonly productionSessions: DatabaseSession[] = []
  private room?: PostgresCleanRoom
  /** What the separate-clusters guard established about the clean room: every restore checks it is there (guards.ts). */
  cleanroomIdentity?: ClusterIdentity

  constructor(settings: S, workspace: Workspace, report: Report) {
    super(settings, workspace, report)
    // Lock waits and the TCP safeguards of every session and client program, from the inputs.
    this.engine.setLimits({
      lockTimeoutSeconds: settings.lockTimeoutSeconds,
      serverTimeoutSeconds: settings.serverTimeoutSeconds
    })
  }

  /** Production's first session (read-only), once connected; a run from a manifest never connects. */
  get production(): DatabaseSession | undefined {
    return this.productionSessions[0]
  }

  /** The clean room, once the run has opened it. */
  get cleanroom(): PostgresCleanRoom {
    if (!this.room) throw new Error('the clean room is not open yet')
    return this.room
  }

  /** Where the scratch database for `purpose` is, created or not. */
  scratchTarget(purpose: string): ConnectionTarget {
    return withDatabase(this.settings.cleanroom, this.cleanroom.scratchName(purpose))
  }

  /** Creates the scratch database for `purpose` in the encoding and locale of production's `database`. */
  async createScratchDatabase(
    purpose: string,
    database: { encoding: string; collate: string; ctype: string }
  ): Promise<ConnectionTarget> {
    return withDatabase(this.settings.cleanroom, await this.cleanroom.create(purpose, asDatabaseDefaults(database)))
  }

  /** Fails early, before production is dumped, when the clean-room role cannot create databases. */
  async assertCanCreateDatabases(): Promise<void> {
    const { role, allowed } = await this.cleanroom.maintenance.canCreateDatabases()
    if (!allowed) {
      throw new UserError(
        `Role '${role}' on the clean room (${describe(this.settings.cleanroom)}) cannot create databases: ` +
          `run ALTER ROLE "${role}" CREATEDB there, or use a role that can.`
      )
    }
  }

  /** The SQL psql runs before a dump restored into `target`: it stops psql anywhere but there (see guards.ts). */
  locationCheckSql(target: ConnectionTarget): string {
    if (!this.cleanroomIdentity) throw new Error('The clean room was not identified before a restore')
    return restoreLocationCheckSql(target.database, this.cleanroomIdentity)
  }

  /** Connects to production (read-only): the run's first production session. */
  async connectProduction(): Promise<DatabaseSession> {
    const target = this.settings.production
    if (!target) throw new Error('connectProduction needs production-url')
    const session = await core.group('Connect', () => DatabaseSession.open(target, 'production'))
    this.productionSessions.push(session)
    return session
  }

  /**
   * Opens the clean room, watches the servers the run uses (production only when connected), and
   * runs the stages under that watch. Everything is closed afterwards, whatever happened;
   * `discard` (what a failed or cancelled run must not leave behind) runs then and on cancellation.
   */
  run(stages: () => Promise<void>, discard: () => void = () => undefined): Promise<void> {
    return this.supervise(
      async () => {
        // PostgreSQL's run reads its clean room in its own shapes (its handle, its roles) until it runs over the seam.
        this.room = (await CleanRoom.open(postgres, this.settings.cleanroom, this.workspace.runId)) as PostgresCleanRoom
        const production = this.production && this.settings.production
        await this.watchServers([
          ...(production ? [postgresProbe('production', production)] : []),
          postgresProbe('cleanroom', this.settings.cleanroom)
        ])
      },
      stages,
      discard
    )
  }

  protected abandon(): void {
    DatabaseSession.abandonAll(this.room ? [this.room.maintenance] : [])
  }

  protected abandonCleanroom(): void {
    this.room?.abandon()
  }

  protected async closeServers(): Promise<void> {
    await this.room?.close()
    for (const session of this.productionSessions) await session.close()
  }
}

/** An engine over the seam's probe of one server: its session's ping (a busy server still answers it). */
async function seamProbe(engine: Engine, role: ServerRole, target: unknown): Promise<WatchedServer> {
  const session = await engine.openRead(target, role)
  return {
    role,
    name: `${engine.describe(target)}, '${role === 'production' ? 'production-url' : 'cleanroom-url'}'`,
    probe: 'a probe',
    ask: () => session.ping().then(() => []),
    abandon: () => session.abandon()
  }
}

/**
 * The context of a run over the engine seam (engine-pipeline.ts: MySQL, MariaDB): the engine, the
 * open sessions (closed at the end whatever happens), the clean room's scratch databases (always
 * dropped), and what the checks established, beside what every run carries (WatchedRun).
 */
export class SeamRunContext extends WatchedRun<EngineSettings> {
  readonly engine: Engine
  /** Production's session that holds the snapshot: the dump's data as of its start; row pinning asks it. */
  production!: SeamSession
  /** Every production session in the snapshot: the first and those that joined it, for the figures. */
  readonly figureSessions: SeamSession[] = []
  scratch?: CleanRoom
  facts!: { production: ServerFacts; cleanroom: ServerFacts }
  /** Production's collations the sanitizer rewrites to the clean room's, which the schema comparison counts as the same. */
  collationsRewritten?: ReadonlyMap<string, string>
  /** Objects the sanitizer restored unable to run (events), whose status the schema comparison reads as dumped. */
  restoredDisabled: { kind: string; name: string }[] = []
  tools: unknown
  /** Stops the client programs when the run ends early (an error, a server that stopped answering). */
  readonly abort = new AbortController()
  private readonly sessions: SeamSession[] = []

  constructor(settings: EngineSettings, workspace: Workspace, report: Report) {
    super(settings, workspace, report)
    this.engine = settings.engine
  }

  /** Connects (production's session, the clean room's maintenance handle, the watchdog over both) and runs the stages. */
  run(stages: () => Promise<void>): Promise<void> {
    return this.supervise(
      () => this.connect(),
      stages,
      () => undefined
    )
  }

  /** Production's session and the clean room's maintenance handle, then the watchdog over both. */
  private async connect(): Promise<void> {
    const { engine, settings } = this
    engine.setLimits({ lockTimeoutSeconds: settings.lockTimeoutSeconds, serverTimeoutSeconds: settings.serverTimeoutSeconds })
    const [production, maintenance] = await core.group('Connect', async () => {
      const opened = await Promise.allSettled([
        engine.openRead(settings.production, 'production'),
        engine.openMaintenance(settings.cleanroom)
      ])
      for (const result of opened) if (result.status === 'fulfilled') this.sessions.push(result.value)
      const failed = opened.find(result => result.status === 'rejected')
      if (failed) throw failed.reason
      return [opened[0], opened[1]].map(result => (result as PromiseFulfilledResult<SeamSession>).value) as [
        SeamSession,
        SeamMaintenance
      ]
    })
    this.production = production
    this.figureSessions.push(production)
    this.scratch = new CleanRoom(
      maintenance,
      this.workspace.runId,
      engine.cleanroomRoles?.forRun(maintenance, this.workspace.runId)
    )
    this.sessions.splice(this.sessions.indexOf(maintenance), 1)
    await this.watchServers([
      seamProbe(engine, 'production', settings.production),
      seamProbe(engine, 'cleanroom', settings.cleanroom)
    ])
  }

  get maintenance(): SeamMaintenance {
    return this.scratch!.maintenance
  }

  /** Opens a session (closed with the run): production's join its snapshot, the clean room's read a restored copy. */
  async open(target: unknown, role: ServerRole): Promise<SeamSession> {
    const session = await this.engine.openRead(target, role)
    this.sessions.push(session)
    return session
  }

  /** Closes a session opened with open() before the run ends. */
  async release(session: SeamSession): Promise<void> {
    const index = this.sessions.indexOf(session)
    if (index >= 0) this.sessions.splice(index, 1)
    await session.close().catch(() => undefined)
  }

  /** Ends the run's client programs, drops its scratch databases, closes its sessions; never throws. */
  override async close(): Promise<void> {
    this.abort.abort()
    await super.close()
  }

  /** Drops every connection at once, without waiting for servers that may not answer. */
  protected abandon(): void {
    this.abort.abort()
    for (const session of this.sessions) session.abandon()
  }

  protected abandonCleanroom(): void {
    this.scratch?.abandon()
  }

  protected async closeServers(): Promise<void> {
    // The lock, should a failure have come between taking and releasing it, goes first: production's writers wait on it.
    await this.production?.releaseSnapshotLock().catch(() => undefined)
    await this.scratch?.close()
    for (const session of this.sessions.splice(0)) await session.close().catch(() => undefined)
  }
}
