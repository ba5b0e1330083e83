import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { Engine, StreamOutcome } from '../../../src/engines/types.js'
import type { Report } from '../../../src/report/report.js'
import { RunContext } from '../../../src/run/run-context.js'
import { recordStream } from '../../../src/run/snapshot-stream.js'
import type { Workspace } from '../../../src/run/workspace.js'
import { capturingStdout } from '../../support/capture-stdout.js'

// What a stream tells the report, one recorder for every engine (run/snapshot-stream.ts
// recordStream): the programs' times, the sanitizer's changes in the words of the sanitizer that
// made them (PostgreSQL's filter removes directives; MySQL's rewrites constructs), and the
// objects restored unable to run.

function context(): RunContext {
  const report: Report = {
    result: 'error',
    verify: 'counts',
    production: { server: 'production', database: 'shop' },
    cleanroom: { server: 'cleanroom' },
    sanitized: [],
    tables: [],
    sabotage: [],
    timings: {},
    startedAt: new Date(Date.now() - 10_000).toISOString()
  }
  // Only setLimits is called until a stage opens something; recordStream opens nothing.
  const engine = { setLimits: () => undefined } as unknown as Engine
  const settings = { cleanroom: {}, lockTimeoutSeconds: 1, serverTimeoutSeconds: 1 }
  return new RunContext(engine, settings, {} as Workspace, report)
}

const outcome = (extra: Partial<StreamOutcome>): StreamOutcome => ({ ok: true, stages: [], dumpBytes: 42, ...extra })

test("a run's own sanitizer (PostgreSQL's filter) says what it removed, or that it removed nothing", async () => {
  const run = context()
  const removed = [{ parameter: 'SET transaction_timeout', rule: 'transaction_timeout', lines: 1 }]
  const started = Date.now() / 1000 - 5
  const { output } = await capturingStdout(async () =>
    recordStream(run, outcome({ seconds: { dump: 1, sanitize: 1.5, restore: 2 }, startedAt: started, sanitized: [] }), {
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
    /Removed 1 line\(s\) of SET transaction_timeout \(rule transaction_timeout\), which the clean room does not know\./
  )
  assert.doesNotMatch(output, /Sanitized /)
  const nothing = context()
  const { output: quiet } = await capturingStdout(async () =>
    recordStream(nothing, outcome({}), { sanitizer: { removed: () => [] } })
  )
  assert.match(quiet, /Nothing sanitized: the clean room knows every directive in the dump\./)
  assert.equal(nothing.report.timings.restore, undefined, 'no time is made up for a restore nobody timed')
})

test("without one, the stream's outcome says what its sanitizer rewrote, and which objects it restored unable to run", async () => {
  const run = context()
  const sanitized = [{ parameter: 'DEFINER clauses', rule: 'definer', lines: 3 }]
  const disabled = [
    { kind: 'event', name: 'hourly_audit' },
    { kind: 'event', name: 'nightly' }
  ]
  const { output } = await capturingStdout(async () =>
    recordStream(run, outcome({ seconds: { dump: 1 }, sanitized, restoredDisabled: disabled }), { streamSeconds: 7 })
  )
  assert.deepEqual(run.report.sanitized, sanitized)
  assert.deepEqual(run.report.timings, { dump: 1, restore: 7 }, "the stream's time stands for the restore's")
  assert.equal(run.report.timeline, undefined, 'no timeline without the stream start')
  assert.deepEqual(run.restoredDisabled, disabled)
  assert.match(output, /Sanitized 3 line\(s\): DEFINER clauses \(rule definer\)\./)
  assert.match(output, /Restored 2 enabled event\(s\) disabled, so that none runs in the clean room \(hourly_audit, nightly\)/)
  assert.doesNotMatch(output, /Nothing sanitized|Removed /)
})
