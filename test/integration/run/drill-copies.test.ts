import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { verifyBackup } from '../../../src/run/pipeline.js'
import type { Report } from '../../../src/report/report.js'
import { readSettings } from '../../../src/run/settings.js'
import { postgres } from '../../../src/engines/postgres/index.js'
import { Workspace } from '../../../src/run/workspace.js'
import { createShop } from '../../support/shop.js'
import { emptyReport } from '../../support/empty-report.js'
import { capturingStdout } from '../../support/capture-stdout.js'

// The drill's change-owner on a production whose tables all have one owner and that names no
// other role: the copy's table is given to a role of the drill's own (the plan's extraRole),
// which the clean room does not have. run/drill-copies.ts adds it to the run's roles before the
// copy's restore, so the copy restores and only the owners comparison can catch it; without that
// the copy's ALTER TABLE ... OWNER TO fails and the drill reads as a restore failure. The role is
// the run's, and goes with the run's other roles.

test("change-owner gives a table to the drill's own role, created for the copy's restore and dropped afterwards", async t => {
  const shop = await createShop('drill_owner')
  const inputs = shop.inputs({ sabotage: 'change-owner' })
  const runnerTemp = mkdtempSync(path.join(os.tmpdir(), 'lazarus-drill-owner-'))
  t.after(() => rmSync(runnerTemp, { recursive: true, force: true }))
  const settings = readSettings(postgres, name => inputs[name] ?? '', { RUNNER_TEMP: runnerTemp })
  const report: Report = emptyReport(shop.database, settings.verify)
  const { output } = await capturingStdout(() => verifyBackup(settings, new Workspace(runnerTemp), report))
  assert.equal(report.result, 'verified', `${report.error ?? ''}\n${output.slice(-4000)}`)
  const [drill] = report.sabotage
  assert.equal(drill?.operator, 'change-owner')
  assert.equal(drill.applied, true, drill.evidence)
  // The new owner is the drill's role: no other role was there to take the table.
  const drillRole = /owner changed from .* to "?(lazarus_drill_\d{14}_[0-9a-f]{6})"?/.exec(drill.evidence)?.[1]
  assert.ok(drillRole, `the drill's own role took the table: ${drill.evidence}`)
  // Caught by the owners comparison: the copy restored (not a restore failure, not missed).
  assert.equal(drill.detected, true, drill.evidence)
  assert.equal(drill.detectedBy, 'privileges', drill.evidence)
  assert.match(drill.evidence, new RegExp(`owner of table .*: production .* restored ${drillRole}`))
  const left = await shop.cleanroom.query<{ rolname: string }>(
    `SELECT rolname FROM pg_catalog.pg_roles WHERE rolname = '${drillRole}'`
  )
  assert.deepEqual(left, [], "the drill's role is dropped with the run's roles")
})
