import * as core from '@actions/core'
import type { Engine, SeamSession, StreamOutcome } from '../engines/types.js'
import type { Report } from '../report/report.js'
import { UserError } from '../util/errors.js'
import type { RunContext } from './run-context.js'

/** Records a stage on the report's timeline, in seconds since the run started. */
export function onTimeline(report: Report, stage: string, startedAt: number, endedAt: number): void {
  const runStart = Date.parse(report.startedAt) / 1000
  if (!Number.isFinite(runStart)) return
  const at = (epoch: number) => Math.max(0, Math.round((epoch - runStart) * 1000) / 1000)
  ;(report.timeline ??= []).push({ stage, start: at(startedAt), end: at(endedAt) })
}

/**
 * The streamed stages overlap, so each timing is from the start of the stream until that program
 * ended: restore-seconds is how long the backup took to restore while it was being dumped, an
 * upper bound of a restore from a finished file.
 */
export function recordStreamTimings(outcome: StreamOutcome, report: Report): void {
  const { dump, sanitize, restore } = outcome.seconds ?? {}
  if (dump !== undefined) report.timings.dump = dump
  if (sanitize !== undefined) report.timings.sanitize = sanitize
  if (restore !== undefined) report.timings.restore = restore
  const start = outcome.startedAt
  if (start === undefined) return
  if (dump !== undefined) onTimeline(report, 'Dump', start, start + dump)
  if (sanitize !== undefined) onTimeline(report, 'Sanitize', start, start + sanitize)
  // psql starts when its database exists (the gate), after pg_dump has started.
  if (restore !== undefined) onTimeline(report, 'Restore', outcome.restoreStartedAt ?? start, start + restore)
}

/**
 * Stops before the dump when production holds what the clean room's major rejects and no rewrite
 * restores (the engine's serverChecks); `privileges`: the owners' and privileges' constructs only, or the others.
 */
export async function refuseProductionSkew(
  engine: Engine,
  production: SeamSession,
  cleanroomMajor: number,
  privileges: boolean
): Promise<void> {
  const refusal = await engine.serverChecks?.productionSkew(production, cleanroomMajor, privileges)
  if (refusal) throw new UserError(refusal)
}

export function logSanitized(report: Report): void {
  if (report.sanitized.length === 0) core.info('Nothing sanitized: the clean room knows every directive in the dump.')
  for (const item of report.sanitized) {
    core.info(`Removed ${item.lines} line(s) of ${item.parameter} (rule ${item.rule}), which the clean room does not know.`)
  }
}

export function elapsed(since: number): number {
  return (performance.now() - since) / 1000
}

/**
 * What the stream tells the report: each program's time (the dump's own, which the summary's
 * headline gives; the stages overlap, so each is from the stream's start until that program
 * ended), the bytes, what the sanitizer changed, and the objects it restored unable to run.
 */
export function recordStream(run: RunContext, outcome: StreamOutcome, streamSeconds: number): void {
  const { report } = run
  const seconds = outcome.seconds ?? {}
  if (seconds.dump !== undefined) report.timings.dump = seconds.dump
  if (seconds.sanitize !== undefined) report.timings.sanitize = seconds.sanitize
  report.timings.restore = seconds.restore ?? streamSeconds
  report.dumpBytes = outcome.dumpBytes
  report.sanitized = outcome.sanitized ?? []
  for (const item of report.sanitized) core.info(`Sanitized ${item.lines} line(s): ${item.parameter} (rule ${item.rule}).`)
  run.restoredDisabled = outcome.restoredDisabled ?? []
  if (run.restoredDisabled.length > 0) {
    core.info(
      `Restored ${run.restoredDisabled.length} enabled ${run.restoredDisabled[0].kind}(s) disabled, so that none runs in the clean room ` +
        `(${run.restoredDisabled.map(object => object.name).join(', ')}); their status is compared as production has it.`
    )
  }
}

/**
 * The collations an engine's sanitizer rewrites for a clean room that knows `cleanroomCollations`
 * (MySQL 8's utf8mb4_0900_* on a MariaDB clean room), when the engine offers to say
 * (`collationEquivalents`, beside the seam's methods); undefined otherwise: then every collation
 * is compared as it is.
 */
export function collationsRewrittenBy(engine: Engine, cleanroomCollations: string[]): ReadonlyMap<string, string> | undefined {
  const offer: unknown = (engine as { collationEquivalents?: unknown }).collationEquivalents
  if (typeof offer !== 'function') return undefined
  const rewrites: unknown = offer.call(engine, cleanroomCollations)
  return rewrites instanceof Map ? (rewrites as ReadonlyMap<string, string>) : undefined
}
