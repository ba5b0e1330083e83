import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { verifyBackup } from '../../../src/run/pipeline.js'
import { failureMessage, type Report } from '../../../src/report/report.js'
import { readSettings } from '../../../src/run/settings.js'
import { postgres } from '../../../src/engines/postgres/index.js'
import type { ConnectionTarget } from '../../../src/engines/postgres/connection.js'
import { Workspace } from '../../../src/run/workspace.js'
import { createShop } from '../../support/shop.js'
import { emptyReport } from '../../support/empty-report.js'

// A whole run in this process, so the test can act between the restore and amcheck: as the
// clean room's superuser it leaves an index of the restored copy without some of its entries,
// the way a failed index build or a lost write would, and amcheck must report it.

test('an index of the restored copy corrupted before amcheck makes the run a mismatch naming it', async t => {
  const shop = await createShop('amcheck_run')
  const inputs = shop.inputs({ amcheck: 'true' })
  const runnerTemp = mkdtempSync(path.join(os.tmpdir(), 'lazarus-amcheck-run-'))
  // The run's report directory outlives the run, as on a runner: the test removes it.
  t.after(() => rmSync(runnerTemp, { recursive: true, force: true }))
  const settings = readSettings(postgres, name => inputs[name] ?? '', { RUNNER_TEMP: runnerTemp })
  const report: Report = emptyReport(shop.database, settings.verify)
  let corrupted = ''
  await verifyBackup(settings, new Workspace(runnerTemp), report, {
    // PostgreSQL's engine hands the run its own connection targets.
    beforeAmcheck: async target => {
      const restored = target as ConnectionTarget
      corrupted = restored.database
      await shop.cleanroom.query(
        `UPDATE pg_catalog.pg_index SET indisready = false WHERE indexrelid = 'sales.order_items_pkey'::regclass;
         INSERT INTO sales.order_items (order_id, ordered_at, line_no, product_id, quantity, unit_price)
           SELECT order_id, ordered_at, 99, product_id, 1, 1 FROM sales.order_items WHERE line_no = 1 LIMIT 3;
         UPDATE pg_catalog.pg_index SET indisready = true WHERE indexrelid = 'sales.order_items_pkey'::regclass;`,
        restored.database
      )
    }
  })
  assert.ok(corrupted, 'the hook ran')
  assert.equal(report.result, 'mismatch')
  assert.ok(
    report.tables.every(table => table.match),
    'the tables were compared before the corruption'
  )
  const findings = report.amcheck?.findings ?? []
  assert.deepEqual(
    findings.map(finding => `${finding.kind} ${finding.name}`),
    ['index sales.order_items_pkey']
  )
  assert.match(findings[0].message, /lacks matching index tuple within index "order_items_pkey"/)
  assert.equal(typeof report.timings.amcheck, 'number')
  assert.match(failureMessage(report)!, /index sales\.order_items_pkey \(amcheck: heap tuple .* lacks matching index tuple/)
  const [{ n }] = await shop.cleanroom.query<{ n: string }>(
    `SELECT count(*)::text AS n FROM pg_database WHERE datname = '${corrupted}'`
  )
  assert.equal(n, '0', 'the scratch database is dropped')
})
