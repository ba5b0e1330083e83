import * as core from '@actions/core'
import type { Engine, Sanitizer, SeamSession, StreamOutcome } from '../engines/types.js'
import type { Report } from '../report/report.js'
import { UserError } from '../util/errors.js'
import { displayName, type TableName } from '../util/table-name.js'
import type { SequenceValue } from '../verification/sequence-check.js'
import type { ContextSettings, RunContext } from './run-context.js'
import { INPUT, type ProductionSettings } from './settings.js'

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
function recordStreamTimings(outcome: StreamOutcome, report: Report): void {
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

/** Says what the sanitizer removed or rewrote (the report's `sanitized`), or that it changed nothing. */
export function logSanitized(report: Report): void {
  if (report.sanitized.length === 0) core.info('Nothing sanitized: the clean room knows every directive in the dump.')
  for (const item of report.sanitized) {
    core.info(
      `Sanitized ${item.lines} line(s) of ${item.parameter} (rule ${item.rule}), which the clean room does not take as dumped.`
    )
  }
}

export function elapsed(since: number): number {
  return (performance.now() - since) / 1000
}

/**
 * What the stream tells the report, for every engine: each program's time (the dump's own, which
 * the summary's headline gives; the stages overlap, so each is from the stream's start until that
 * program ended) and the timeline, what the run's sanitizer removed or rewrote (or that it changed
 * nothing), and the objects it restored unable to run. `streamSeconds`: the stream's time, for the
 * restore's when the outcome does not say it.
 */
export function recordStream(
  run: RunContext<ContextSettings>,
  outcome: StreamOutcome,
  how: { sanitizer: Pick<Sanitizer, 'removed'>; streamSeconds?: number }
): void {
  const { report } = run
  recordStreamTimings(outcome, report)
  if (outcome.seconds?.restore === undefined && how.streamSeconds !== undefined) report.timings.restore = how.streamSeconds
  report.sanitized = how.sanitizer.removed()
  logSanitized(report)
  run.restoredDisabled = outcome.restoredDisabled ?? []
  if (run.restoredDisabled.length > 0) {
    core.info(
      `Restored ${run.restoredDisabled.length} enabled ${run.restoredDisabled[0].kind}(s) disabled, so that none runs in the clean room ` +
        `(${run.restoredDisabled.map(object => object.name).join(', ')}); their status is compared as production has it.`
    )
  }
}

/** Production's snapshot as every engine's run begins it (beginSnapshot). */
export interface BegunSnapshot<Table extends TableName = TableName> {
  /** What the dump joins: PostgreSQL's exported snapshot, MySQL's lock. */
  id: string
  tables: Table[]
  /** Counters are not transactional: read before the snapshot, and again once the dump is over. */
  countersBefore: SequenceValue[]
  /** Tables no snapshot isolates (SeamSession.outsideSnapshot): only the snapshot's lock holds them still. */
  unisolated: Table[]
}

/**
 * Begins production's snapshot for every engine, by the seam's protocol (engines/types.ts
 * SeamSession): production's first session pins its settings and reads the counters; the figure
 * sessions connect and pin theirs before the snapshot, so that production's writers (MySQL: behind
 * the brief global lock) wait only while the snapshots start, not while sessions log in; the
 * first session begins the snapshot and every figure session joins it at once. Then the tables:
 * none is a user's error; tables no snapshot isolates are warned of (the lock is held through the
 * dump). On any failure the lock, where there is one, is released before the error goes on;
 * otherwise the caller releases it (releaseSnapshotLock) once the dump's snapshot has begun.
 */
export async function beginProductionSnapshot<Table extends TableName>(
  context: RunContext<ProductionSettings>,
  production: SeamSession<Table>
): Promise<BegunSnapshot<Table>> {
  const { settings } = context
  await production.pinSettings()
  const countersBefore = await production.readCounters()
  // The dump takes one connection; the figure sessions share the rest of `jobs`.
  const joining: SeamSession[] = []
  for (let i = 1; i < Math.max(1, settings.jobs - 1); i++) {
    const session = await context.open(settings.production, 'production')
    await session.pinSettings()
    joining.push(session)
  }
  try {
    const id = await production.beginSnapshot()
    // The figure sessions join while the lock holds every writer: after it, their snapshot would be later than the dump's.
    await Promise.all(joining.map(session => session.joinSnapshot(id)))
    context.productionSessions.push(...joining)
    const tables = await production.listTables()
    if (tables.length === 0) {
      throw new UserError(
        `Production database '${settings.productionAddress.database}' has no tables, so there is nothing to verify: ` +
          `check that '${INPUT.productionUrl}' names the right database.`
      )
    }
    // A table no snapshot isolates (MyISAM...) holds still only under the lock: keep it through
    // the dump and production's figures, and say so (production's writers wait that long).
    const unisolated = production.outsideSnapshot(tables)
    if (unisolated.length > 0) {
      core.warning(
        `${unisolated.length} table(s) use a storage engine no consistent snapshot isolates (${unisolated
          .slice(0, 5)
          .map(displayName)
          .join(', ')}${unisolated.length > 5 ? ', ...' : ''}): production's snapshot lock is held through the whole dump ` +
          "and production's figures, so writers wait until then. Convert them to InnoDB to keep the lock brief.",
        { title: 'Lazarus: production writes held during the dump' }
      )
    }
    return { id, tables, countersBefore, unisolated }
  } catch (error) {
    await production.releaseSnapshotLock().catch(() => undefined)
    throw error
  }
}
