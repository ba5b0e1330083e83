import type { SeamEngine, SeamSession, ServerRole } from '../engines/types.js'
import { endChildProcesses } from '../util/cancellation.js'
import { UserError, messageOf } from '../util/errors.js'
import { probeIntervalMs } from './watchdog.js'

interface Watched {
  role: ServerRole
  target: unknown
  session: SeamSession
}

/**
 * The watchdog of a run over the seam, as watchdog.ts is PostgreSQL's: a probe session per server
 * pings every few seconds; a server that answers no probe within `server-timeout-seconds` (its
 * processes frozen, the network to it cut) ends the run with an error naming it and the stage.
 * A busy server still answers a ping, so long checksums and restores never trip it.
 */
export class SeamWatch {
  /** The server that stopped answering, once one has. */
  unresponsive?: ServerRole
  private stage = 'starting'
  private stopped = false
  private readonly timers = new Set<NodeJS.Timeout>()
  private reject!: (error: UserError) => void
  private readonly failed: Promise<never>

  private constructor(
    private readonly engine: SeamEngine,
    private readonly watched: Watched[],
    private readonly timeoutSeconds: number
  ) {
    this.failed = new Promise<never>((_, reject) => (this.reject = reject))
    this.failed.catch(() => undefined)
    for (const server of watched) this.schedule(server, 0)
  }

  /** Opens one probe session per server and starts probing. */
  static async start(
    engine: SeamEngine,
    settings: { production: unknown; cleanroom: unknown; serverTimeoutSeconds: number }
  ): Promise<SeamWatch> {
    const servers = [
      { role: 'production' as const, target: settings.production },
      { role: 'cleanroom' as const, target: settings.cleanroom }
    ]
    const opened = await Promise.allSettled(servers.map(server => engine.openRead(server.target, server.role)))
    const failure = opened.find(result => result.status === 'rejected')
    if (failure) {
      for (const result of opened) if (result.status === 'fulfilled') result.value.abandon()
      throw failure.reason
    }
    const watched = servers.map((server, index) => ({
      ...server,
      session: (opened[index] as PromiseFulfilledResult<SeamSession>).value
    }))
    return new SeamWatch(engine, watched, settings.serverTimeoutSeconds)
  }

  /** Runs one stage: settles as `work` does, or rejects with the watch's error as soon as a server stops answering. */
  guard<T>(stage: string, work: () => Promise<T>): Promise<T> {
    if (this.unresponsive) return this.failed
    this.stage = stage
    return Promise.race([work(), this.failed])
  }

  /** Stops probing and drops the probe sessions. */
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
    const answer = await Promise.race([
      server.session.ping().then(
        () => 'answered' as const,
        (error: unknown) => error
      ),
      timedOut
    ])
    clearTimeout(deadline)
    if (this.stopped) return
    if (answer === 'answered') return this.schedule(server, probeIntervalMs(this.timeoutSeconds))
    const why =
      answer === 'timeout'
        ? `stopped answering: a probe got no reply within ${this.timeoutSeconds} s ('server-timeout-seconds')`
        : `dropped Lazarus's connection (${messageOf(answer)})`
    this.fail(server, why)
  }

  private fail(server: Watched, why: string): void {
    if (this.unresponsive) return
    this.unresponsive = server.role
    this.stop()
    // The client programs wait on the silent server as long as it stays silent: they end too.
    endChildProcesses()
    const name = server.role === 'production' ? 'Production' : 'The clean room'
    const input = server.role === 'production' ? 'production-url' : 'cleanroom-url'
    const leftover =
      server.role === 'cleanroom' ? ' Scratch databases that could not be dropped there are dropped by the post step.' : ''
    this.reject(
      new UserError(
        `${name} (${this.engine.describe(server.target)}, '${input}') ${why} during "${this.stage}": ` +
          `its processes may be frozen, or the network to it cut. Check the server and the network, then run again.${leftover}`
      )
    )
  }
}
