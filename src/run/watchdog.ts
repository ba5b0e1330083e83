import { endChildProcesses } from '../util/cancellation.js'
import { describe, type ConnectionTarget } from '../engines/postgres/connection.js'
import { DatabaseSession, type Role } from '../engines/postgres/database.js'
import { UserError, messageOf } from '../util/errors.js'

/**
 * Tells a server that stopped answering from one that is busy. A checksum of a huge table or an
 * index build in the restore may run for hours without a byte on the wire, so no statement
 * timeout or byte-count watchdog can bound a run without killing legitimate work. A separate
 * probe session per server asks `SELECT 1` every few seconds instead: a busy server answers at
 * once, a frozen one (its processes stopped, or the network to it cut while the kernel
 * acknowledges) does not. When a probe gets no answer within `server-timeout-seconds`, the run
 * stops: the client programs are ended, the server's sessions are dropped, and the error names
 * the server and what Lazarus was doing.
 */

/**
 * The probe reports a lock wait only this long after the wait outlasted lock-timeout-seconds: a
 * wait that pg_dump's --lock-wait-timeout or a session's lock_timeout bounds ends by itself
 * then, with its program's own, more precise error. The probe is for waits nothing else bounds.
 */
const LOCK_GRACE_SECONDS = 5

/** Probes run this often: a quarter of the timeout, between 0.5 and 10 seconds. */
export function probeIntervalMs(timeoutSeconds: number): number {
  return Math.min(10_000, Math.max(500, (timeoutSeconds * 1000) / 4))
}

interface Watched {
  role: Role
  target: ConnectionTarget
  session: DatabaseSession
}

export class ServerWatch {
  /** The server that stopped answering, once one has. */
  unresponsive?: Role
  private stage = 'starting'
  private stopped = false
  private timers = new Set<NodeJS.Timeout>()
  private reject!: (error: UserError) => void
  private readonly failed: Promise<never>

  private constructor(
    private readonly watched: Watched[],
    private readonly timeoutSeconds: number,
    private readonly lockTimeoutSeconds: number
  ) {
    this.failed = new Promise<never>((_, reject) => (this.reject = reject))
    this.failed.catch(() => undefined)
    for (const server of watched) this.schedule(server, 0)
  }

  /** Opens one probe session per server and starts probing. */
  static async start(
    servers: { role: Role; target: ConnectionTarget }[],
    limits: { serverTimeoutSeconds: number; lockTimeoutSeconds: number }
  ): Promise<ServerWatch> {
    const opened = await Promise.allSettled(servers.map(server => DatabaseSession.open(server.target, server.role)))
    const failure = opened.find(result => result.status === 'rejected')
    if (failure) {
      for (const result of opened) if (result.status === 'fulfilled') result.value.abandon()
      throw failure.reason
    }
    const watched = servers.map((server, index) => ({
      ...server,
      session: (opened[index] as PromiseFulfilledResult<DatabaseSession>).value
    }))
    return new ServerWatch(watched, limits.serverTimeoutSeconds, limits.lockTimeoutSeconds)
  }

  /**
   * Runs one stage of the run: settles as `work` does, or rejects with the watch's error as soon
   * as a server stops answering (the stage's own work is then left to the ended programs and
   * dropped sessions, whose failures are not reported).
   */
  guard<T>(stage: string, work: () => Promise<T>): Promise<T> {
    if (this.unresponsive) return this.failed
    this.stage = stage
    return Promise.race([work(), this.failed])
  }

  /** Stops probing and closes the probe sessions. */
  stop(): void {
    this.stopped = true
    for (const timer of this.timers) clearTimeout(timer)
    for (const server of this.watched) server.session.abandon()
  }

  private schedule(server: Watched, delayMs: number): void {
    if (this.stopped) return
    const timer = setTimeout(() => {
      this.timers.delete(timer)
      void this.probe(server)
    }, delayMs)
    // Probing never keeps the process alive on its own.
    timer.unref()
    this.timers.add(timer)
  }

  private async probe(server: Watched): Promise<void> {
    let deadline: NodeJS.Timeout | undefined
    const timedOut = new Promise<'timeout'>(resolve => {
      deadline = setTimeout(() => resolve('timeout'), this.timeoutSeconds * 1000)
      deadline.unref()
    })
    // On production, the probe also looks for Lazarus's sessions stuck behind another session's lock.
    const asking =
      server.role === 'production'
        ? server.session.lockWaits(this.lockTimeoutSeconds + LOCK_GRACE_SECONDS)
        : server.session.ping().then(() => [])
    const answer = await Promise.race([
      asking.then(
        waits => waits,
        (error: unknown) => error
      ),
      timedOut
    ])
    clearTimeout(deadline)
    if (this.stopped) return
    if (Array.isArray(answer)) {
      if (answer.length > 0) return this.failOnLock(server, answer)
      return this.schedule(server, probeIntervalMs(this.timeoutSeconds))
    }
    const why =
      answer === 'timeout'
        ? `stopped answering: a probe (SELECT 1) got no reply within ${this.timeoutSeconds} s ('server-timeout-seconds')`
        : `dropped Lazarus's connection (${messageOf(answer)})`
    this.fail(server, why)
  }

  private failOnLock(server: Watched, waits: { waitingFor: string; blockers: string }[]): void {
    const [wait] = waits
    const blockers = wait.blockers ? ` (blocked by session${wait.blockers.includes(',') ? 's' : ''} ${wait.blockers})` : ''
    this.stopWith(
      'production',
      new UserError(
        `Lazarus waited more than ${this.lockTimeoutSeconds} s for a lock on ${wait.waitingFor} on production ` +
          `(${describe(server.target)}, '${server.target.inputName}') during "${this.stage}"${blockers}: another session holds a lock ` +
          `that blocks reading it (ACCESS EXCLUSIVE: ALTER TABLE, TRUNCATE, VACUUM FULL, REFRESH MATERIALIZED VIEW, LOCK TABLE). ` +
          `Run Lazarus when no such lock is held, or raise 'lock-timeout-seconds' to wait longer.`
      )
    )
  }

  /** Stops the run: the client programs end, and the stages waiting on the server give up with `error`. */
  private stopWith(role: Role, error: UserError): void {
    if (this.unresponsive) return
    this.unresponsive = role
    this.stop()
    endChildProcesses()
    this.reject(error)
  }

  private fail(server: Watched, why: string): void {
    if (this.unresponsive) return
    const name = server.role === 'production' ? 'Production' : 'The clean room'
    const leftover =
      server.role === 'cleanroom' ? ' Scratch databases that could not be dropped there are dropped by the post step.' : ''
    // pg_dump and psql wait on the silent server as long as it stays silent: they end too.
    this.stopWith(
      server.role,
      new UserError(
        `${name} (${describe(server.target)}, '${server.target.inputName}') ${why} during "${this.stage}": ` +
          `its processes may be frozen, or the network to it cut. Check the server and the network, then run again.${leftover}`
      )
    )
  }
}
