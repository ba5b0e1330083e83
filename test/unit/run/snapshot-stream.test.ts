import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { Engine, StreamOutcome } from '../../../src/engines/types.js'
import type { Report } from '../../../src/report/report.js'
import { RunContext, type ContextSettings } from '../../../src/run/run-context.js'
import { recordStream } from '../../../src/run/snapshot-stream.js'
import type { Workspace } from '../../../src/run/workspace.js'
import { capturingStdout } from '../../support/capture-stdout.js'
import { emptyReport } from '../../support/empty-report.js'

// What a stream tells the report, one recorder for every engine (run/snapshot-stream.ts
// recordStream): the programs' times, what the run's sanitizer changed (PostgreSQL's filter
// removes directives; MySQL's also rewrites constructs), and the objects restored unable to run.

function context(): RunContext<ContextSettings> {
  // Started ten seconds ago: the stream's stages land on the timeline after the run's start.
  const report: Report = { ...emptyReport('shop', 'counts'), startedAt: new Date(Date.now() - 10_000).toISOString() }
  // Only setLimits is called until a stage opens something; recordStream opens nothing.
  const engine = { setLimits: () => undefined } as unknown as Engine
  const settings = { cleanroom: {}, lockTimeoutSeconds: 1, serverTimeoutSeconds: 1 }
  return new RunContext(engine, settings, {} as Workspace, report)
}

const outcome = (extra: Partial<StreamOutcome>): StreamOutcome => ({ ok: true, stages: [], dumpBytes: 42, ...extra })

test("the run's sanitizer says what it changed, or that it changed nothing; the restore's own time is the restore's", async () => {
  const run = context()
  const removed = [{ parameter: 'SET transaction_timeout', rule: 'transaction_timeout', lines: 1 }]
  const started = Date.now() / 1000 - 5
  const { output } = await capturingStdout(async () =>
    recordStream(run, outcome({ seconds: { dump: 1, sanitize: 1.5, restore: 2 }, startedAt: started }), {
      sanitizer: { removed: () => removed },
      streamSeconds: 9
    })
  )
  assert.deepEqual(run.report.sanitized, removed)
  assert.deepEqual(run.report.timings, { dump: 1, sanitize: 1.5, restore: 2 }, "the restore's own time, not the stream's")
  assert.deepEqual(
    run.report.timeline?.map(entry => entry.stage),
    ['Dump', 'Sanitize', 'Restore']
  )
  assert.match(
    output,
    /Sanitized 1 line\(s\) of SET transaction_timeout \(rule transaction_timeout\), which the clean room does not take as dumped\./
  )
  assert.doesNotMatch(output, /Nothing sanitized/)
  const nothing = context()
  const { output: quiet } = await capturingStdout(async () =>
    recordStream(nothing, outcome({}), { sanitizer: { removed: () => [] } })
  )
  assert.match(quiet, /Nothing sanitized: the clean room knows every directive in the dump\./)
  assert.equal(nothing.report.timings.restore, undefined, 'no time is made up for a restore nobody timed')
})

test("what a sanitizer rewrote is said alike, and which objects it restored unable to run; without the restore's time, the stream's stands for it", async () => {
  const run = context()
  const sanitized = [{ parameter: 'DEFINER clauses', rule: 'definer', lines: 3 }]
  const disabled = [
    { kind: 'event', name: 'hourly_audit' },
    { kind: 'event', name: 'nightly' }
  ]
  const { output } = await capturingStdout(async () =>
    recordStream(run, outcome({ seconds: { dump: 1 }, restoredDisabled: disabled }), {
      sanitizer: { removed: () => sanitized },
      streamSeconds: 7
    })
  )
  assert.deepEqual(run.report.sanitized, sanitized)
  assert.deepEqual(run.report.timings, { dump: 1, restore: 7 }, "the stream's time stands for the restore's")
  assert.equal(run.report.timeline, undefined, 'no timeline without the stream start')
  assert.deepEqual(run.restoredDisabled, disabled)
  assert.match(
    output,
    /Sanitized 3 line\(s\) of DEFINER clauses \(rule definer\), which the clean room does not take as dumped\./
  )
  assert.match(output, /Restored 2 enabled event\(s\) disabled, so that none runs in the clean room \(hourly_audit, nightly\)/)
  assert.doesNotMatch(output, /Nothing sanitized/)
})
