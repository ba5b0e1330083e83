import type { LockWait, ServerRole } from '../engines/types.js'
import { endChildProcesses } from '../util/cancellation.js'
import { UserError, messageOf } from '../util/errors.js'

/**
 * Tells a server that stopped answering from one that is busy. A checksum of a huge table or an
 * index build in the restore may run for hours without a byte on the wire, so no statement
 * timeout or byte-count watchdog can bound a run without killing legitimate work. A separate
 * probe session per server asks a trivial question every few seconds instead: a busy server
 * answers at once, a frozen one (its processes stopped, or the network to it cut while the
 * kernel acknowledges) does not. When a probe gets no answer within `server-timeout-seconds`, the
 * run stops: the client programs are ended, the server's sessions are dropped, and the error
 * names the server and what Lazarus was doing.
 *
 * The watchdog knows no engine: each server comes as a WatchedServer (run-context.ts opens them,
 * each with its session's ping, and on production its lock waits where the engine looks
 * for them: Engine.lockWatch), so that every engine's run stops alike.
 */

/**
 * The probe reports a lock wait only this long after the wait outlasted lock-timeout-seconds: a
 * wait that the dump's own lock timeout or a session's bounds ends by itself then, with its
 * program's own, more precise error. The probe is for waits nothing else bounds.
 */
const LOCK_GRACE_SECONDS = 5

/** Probes run this often: a quarter of the timeout, between 0.5 and 10 seconds. */
export function probeIntervalMs(timeoutSeconds: number): number {
  return Math.min(10_000, Math.max(500, (timeoutSeconds * 1000) / 4))
}

/** One server under watch: its probe session, and how an error names it. */
export interface WatchedServer {
  role: ServerRole
  /** The server and its input, as the error names them: `user@host:5432/shop, 'production-url'`. */
  name: string
  /** The probe, as the error names it: "a probe (SELECT 1)". */
  probe: string
  /**
   * Asks once. Resolves when the server answered, with Lazarus's sessions that have waited more
   * than `lockWaitSeconds` for a lock (only where the engine looks for them; otherwise none);
   * rejects when the connection failed.
   */
  ask(lockWaitSeconds: number): Promise<LockWait[]>
  /** Why such a lock blocks the run, and what holds it: the engine's words, for the error. */
  lockAdvice?: string
  /** Drops the probe's connection without a word to the server (which may not be answering). */
  abandon(): void
}

export class ServerWatch {
  /** The server that stopped answering, once one has. */
  unresponsive?: ServerRole
  private stage = 'starting'
  private stopped = false
  private readonly timers = new Set<NodeJS.Timeout>()
  private reject!: (error: UserError) => void
  private readonly failed: Promise<never>

  private constructor(
    private readonly watched: WatchedServer[],
    private readonly timeoutSeconds: number,
    private readonly lockTimeoutSeconds: number
  ) {
    this.failed = new Promise<never>((_, reject) => (this.reject = reject))
    this.failed.catch(() => undefined)
    for (const server of watched) this.schedule(server, 0)
  }

  /** Waits for every probe session to open, then starts probing; one that fails to open drops the others. */
  static async start(
    opening: Promise<WatchedServer>[],
    limits: { serverTimeoutSeconds: number; lockTimeoutSeconds: number }
  ): Promise<ServerWatch> {
    const opened = await Promise.allSettled(opening)
    const failure = opened.find(result => result.status === 'rejected')
    if (failure) {
      for (const result of opened) if (result.status === 'fulfilled') result.value.abandon()
      throw failure.reason
    }
    const watched = opened.map(result => (result as PromiseFulfilledResult<WatchedServer>).value)
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

  /** Stops probing and drops the probe sessions. */
  stop(): void {
    this.stopped = true
    for (const timer of this.timers) clearTimeout(timer)
    for (const server of this.watched) server.abandon()
  }

  private schedule(server: WatchedServer, delayMs: number): void {
    if (this.stopped) return
    const timer = setTimeout(() => {
      this.timers.delete(timer)
      void this.probe(server)
    }, delayMs)
    // Probing never keeps the process alive on its own.
    timer.unref()
    this.timers.add(timer)
  }

  private async probe(server: WatchedServer): Promise<void> {
    let deadline: NodeJS.Timeout | undefined
    const timedOut = new Promise<'timeout'>(resolve => {
      deadline = setTimeout(() => resolve('timeout'), this.timeoutSeconds * 1000)
      deadline.unref()
    })
    const answer = await Promise.race([
      server.ask(this.lockTimeoutSeconds + LOCK_GRACE_SECONDS).then(
        waits => waits,
        (error: unknown) => error
      ),
      timedOut
    ])
    clearTimeout(deadline)
    if (this.stopped) return
    if (Array.isArray(answer)) {
      if (answer.length > 0) return this.failOnLock(server, answer as LockWait[])
      return this.schedule(server, probeIntervalMs(this.timeoutSeconds))
    }
    const why =
      answer === 'timeout'
        ? `stopped answering: ${server.probe} got no reply within ${this.timeoutSeconds} s ('server-timeout-seconds')`
        : `dropped Lazarus's connection (${messageOf(answer)})`
    this.fail(server, why)
  }

  private failOnLock(server: WatchedServer, waits: LockWait[]): void {
    const [wait] = waits
    const blockers = wait.blockers ? ` (blocked by session${wait.blockers.includes(',') ? 's' : ''} ${wait.blockers})` : ''
    const advice = server.lockAdvice ? `: ${server.lockAdvice}` : ''
    this.stopWith(
      server.role,
      new UserError(
        `Lazarus waited more than ${this.lockTimeoutSeconds} s for a lock on ${wait.waitingFor} on ${server.role} ` +
          `(${server.name}) during "${this.stage}"${blockers}${advice}. ` +
          `Run Lazarus when no such lock is held, or raise 'lock-timeout-seconds' to wait longer.`
      )
    )
  }

  /** Stops the run: the client programs end, and the stages waiting on the server give up with `error`. */
  private stopWith(role: ServerRole, error: UserError): void {
    if (this.unresponsive) return
    this.unresponsive = role
    this.stop()
    endChildProcesses()
    this.reject(error)
  }

  private fail(server: WatchedServer, why: string): void {
    const name = server.role === 'production' ? 'Production' : 'The clean room'
    const leftover =
      server.role === 'cleanroom' ? ' Scratch databases that could not be dropped there are dropped by the post step.' : ''
    // The client programs wait on the silent server as long as it stays silent: they end too.
    this.stopWith(
      server.role,
      new UserError(
        `${name} (${server.name}) ${why} during "${this.stage}": ` +
          `its processes may be frozen, or the network to it cut. Check the server and the network, then run again.${leftover}`
      )
    )
  }
}
