import { test } from 'node:test'
import assert from 'node:assert/strict'
import { compareTables } from '../../../src/verification/compare.js'
import {
  failureMessage,
  judgeBackupFiles,
  judgeDrill,
  judgeRestored,
  judgeRestoreFailed,
  judgeStopped,
  reportOutputs,
  type CopyVerification,
  type Report,
  type DrillResult
} from '../../../src/report/report.js'
import type { DrillPlan } from '../../../src/engines/postgres/drill-plan.js'
import { renderSummary } from '../../../src/report/summary.js'

const side = (name: string, rows?: number, checksum?: string, error?: string) => ({
  schema: 'public',
  name,
  figures: { rows, checksum, error }
})

test('compares by schema and name; missing, extra, unreadable and changed tables all mismatch', () => {
  const tables = compareTables(
    [
      side('same', 3, 'a'),
      side('rows', 3, 'a'),
      side('content', 3, 'a'),
      side('gone', 1, 'a'),
      side('unreadable', undefined, undefined, 'permission denied')
    ],
    [side('same', 3, 'a'), side('rows', 4, 'b'), side('content', 3, 'b'), side('unreadable', 1, 'a'), side('extra', 1, 'a')]
  )
  const byName = Object.fromEntries(tables.map(table => [table.name, table]))
  assert.equal(byName.same.match, true)
  assert.equal(byName.rows.difference, 'row count differs: production 3, restored 4')
  assert.equal(byName.content.difference, 'content checksum differs')
  assert.equal(byName.gone.difference, 'missing from the restored copy')
  assert.match(byName.unreadable.difference ?? '', /could not be read in production: permission denied/)
  assert.equal(byName.extra.difference, 'not in production')
  assert.equal(tables.filter(table => table.match).length, 1)
})

function report(partial: Partial<Report>): Report {
  return {
    result: 'verified',
    verify: 'checksums',
    production: { server: 'app@db:5432/shop', serverVersion: '13.23', database: 'shop' },
    cleanroom: { server: 'postgres@cr:5432/postgres', serverVersion: '13.23' },
    sanitized: [],
    tables: [],
    sabotage: [],
    timings: { dump: 1.5, restore: 2, verify: 0.25, total: 4 },
    startedAt: '2026-01-01T00:00:00Z',
    ...partial
  }
}

test('outputs follow action.yml and count caught and missed sabotage', () => {
  const tables = compareTables([side('a', 1, 'x'), side('b', 1, 'x')], [side('a', 1, 'x'), side('b', 2, 'y')])
  const outputs = reportOutputs(
    report({
      result: 'mismatch',
      tables,
      dumpBytes: 1234,
      sabotage: [
        { operator: 'rogue-row', target: 'public.a', applied: true, detected: true, detectedBy: 'counts', evidence: '' },
        { operator: 'rogue-row', target: 'public.b', applied: true, detected: false, detectedBy: null, evidence: '' },
        { operator: 'rogue-row', target: null, applied: false, detected: false, detectedBy: null, evidence: '' }
      ]
    }),
    '/tmp/r.json'
  )
  assert.deepEqual(outputs, {
    result: 'mismatch',
    tables: '2',
    'mismatched-tables': '1',
    'sabotage-caught': '1',
    'sabotage-missed': '1',
    'dump-seconds': '1.500',
    'restore-seconds': '2.000',
    'verify-seconds': '0.250',
    'dump-bytes': '1234',
    'report-path': '/tmp/r.json',
    'backup-path': '',
    'manifest-path': ''
  })
})

test('the step fails for a mismatch naming the table, and for a missed sabotage even when verified', () => {
  const tables = compareTables([side('orders', 1, 'x')], [side('orders', 2, 'y')])
  assert.match(
    failureMessage(report({ result: 'mismatch', tables })) ?? '',
    /public\.orders \(row count differs: production 1, restored 2\)/
  )
  const missed = report({
    sabotage: [{ operator: 'rogue-row', target: 'public.a', applied: true, detected: false, detectedBy: null, evidence: '' }]
  })
  assert.match(failureMessage(missed) ?? '', /missed 1 sabotage/)
  assert.equal(failureMessage(report({})), undefined)
})

test('the summary escapes names from the database and lists mismatches first', () => {
  const tables = compareTables(
    [side('fine', 1, 'x'), { schema: 'public', name: '<img src=x onerror=alert(1)>', figures: { rows: 1, checksum: 'x' } }],
    [side('fine', 1, 'x'), { schema: 'public', name: '<img src=x onerror=alert(1)>', figures: { rows: 1, checksum: 'y' } }]
  )
  const html = renderSummary(report({ result: 'mismatch', tables }))
  assert.doesNotMatch(html, /<img/)
  assert.match(html, /&#60;img src=x onerror=alert\(1\)&#62;/)
  assert.ok(html.indexOf('onerror') < html.indexOf('fine'), 'mismatched table comes first')
  assert.match(html, /1 of 2 tables match/)
})

test('a schema-only mismatch names the objects, not "0 tables"', () => {
  const message = failureMessage(
    report({
      result: 'mismatch',
      tables: compareTables([side('a', 1, 'x')], [side('a', 1, 'x')]),
      schema: [{ kind: 'index', name: 'public.orders_customer_idx', production: 'CREATE INDEX ...', restored: null }]
    })
  )
  assert.equal(message, 'The restored backup differs from production in 1 schema object(s): index public.orders_customer_idx.')
})

test('a corruption verify: counts cannot see is listed as such, not as a miss', () => {
  const invisible: DrillResult = {
    operator: 'mutate-cell',
    target: 'public.a',
    applied: true,
    detected: false,
    detectedBy: null,
    evidence: 'y',
    expectedMiss: 'same row count'
  }
  const html = renderSummary(
    report({
      verify: 'counts',
      sabotage: [
        { operator: 'rogue-row', target: 'public.a', applied: true, detected: true, detectedBy: 'counts', evidence: 'x' },
        invisible
      ]
    })
  )
  assert.match(html, /Sabotage drill: caught 1 of 1 \(score 100%\)/)
  assert.match(html, /invisible to counts/)
  assert.doesNotMatch(html, /❌ missed/)
  assert.equal(
    failureMessage(
      report({
        sabotage: [invisible]
      })
    ),
    undefined
  )
})

test('a kept restore point fills outputs backup-path and manifest-path', () => {
  const restorePoint = {
    backupPath: '/backups/shop-20261130T050000Z/shop.dump',
    manifestPath: '/backups/shop-20261130T050000Z/lazarus-manifest.json',
    directory: '/backups/shop-20261130T050000Z',
    format: 'custom' as const,
    bytes: 10,
    files: 1,
    signed: false,
    kept: true
  }
  const outputs = reportOutputs(report({ restorePoint }), '/tmp/r.json')
  assert.equal(outputs['backup-path'], restorePoint.backupPath)
  assert.equal(outputs['manifest-path'], restorePoint.manifestPath)
})

test('a stored backup without a manifest is restored, unless its tables, its schema or amcheck differ', () => {
  const same = compareTables([side('a', 1, 'x')], [side('a', 1, 'x')])
  const changed = compareTables([side('a', 1, 'x')], [side('a', 2, 'y')])
  const finding = { kind: 'index', name: 'public.a_pkey', detail: 'lost an entry' }
  const schema = [{ kind: 'index', name: 'public.a_pkey', production: 'CREATE INDEX', restored: null }]
  assert.deepEqual(judgeRestored(report({ tables: same })), { result: 'restored' })
  assert.deepEqual(judgeRestored(report({ tables: changed })), { result: 'mismatch' })
  assert.deepEqual(judgeRestored(report({ tables: same, schema } as Partial<Report>)), { result: 'mismatch' })
  assert.deepEqual(judgeRestored(report({ tables: same, amcheck: { findings: [finding] } } as unknown as Partial<Report>)), {
    result: 'mismatch'
  })
})

test("a backup that does not restore, files that are not the manifest's, a run that stops: each verdict decided in report.ts", () => {
  assert.deepEqual(judgeRestoreFailed('ERROR: relation "x" does not exist', 'while restoring TABLE DATA public.orders'), {
    result: 'restore-failed',
    error: 'ERROR: relation "x" does not exist',
    restoreFailedAt: 'while restoring TABLE DATA public.orders'
  })
  assert.deepEqual(judgeRestoreFailed("the dump's owners and privileges did not replay: boom"), {
    result: 'restore-failed',
    error: "the dump's owners and privileges did not replay: boom"
  })
  assert.deepEqual(judgeBackupFiles(['toc.dat: sha256 differs']), { result: 'mismatch' })
  assert.equal(judgeBackupFiles([]), undefined)
  assert.deepEqual(judgeStopped("Input 'jobs' must be a whole number"), {
    result: 'error',
    error: "Input 'jobs' must be a whole number"
  })
})

test('a drill copy is judged caught by the restore, the table, the privileges, the schema or a check, or missed', () => {
  const plan = (more: Partial<DrillPlan>): DrillPlan =>
    ({ operator: 'delete-row', target: 'public.orders', caughtBy: ['counts'], ...more }) as DrillPlan
  const nothing: CopyVerification = { tables: [], schema: [], checks: [] }
  const restoreFailed = judgeDrill(plan({}), 'row 7 removed', { ...nothing, restoreError: 'ERROR: boom' }, 'checksums')
  assert.deepEqual(
    [restoreFailed.detected, restoreFailed.detectedBy, restoreFailed.evidence],
    [true, 'restore', 'row 7 removed; restore failed: ERROR: boom']
  )
  const orders = {
    schema: 'public',
    name: 'orders',
    production: { rows: 3 },
    restored: { rows: 2 },
    match: false,
    difference: 'row count differs: production 3, restored 2',
    differences: { missing: 1, extra: 0, changed: 0, keys: [{ change: 'missing' as const, key: '(id)=(7)' }], notListed: 0 }
  }
  const table = judgeDrill(
    plan({ targetTable: { schema: 'public', name: 'orders' } }),
    'row 7 removed',
    { ...nothing, tables: [orders] },
    'checksums'
  )
  assert.deepEqual(
    [table.detectedBy, table.evidence],
    ['counts', 'row 7 removed; row count differs: production 3, restored 2 (missing (id)=(7))']
  )
  const index = { kind: 'index' as const, schema: 'public', table: 'orders', name: 'orders_customer_idx' }
  const schema = judgeDrill(
    plan({ operator: 'drop-index', targetObject: index }),
    'index dropped',
    {
      ...nothing,
      schema: [{ kind: 'index', name: 'public.orders_customer_idx', production: 'CREATE INDEX ...', restored: null }]
    },
    'checksums'
  )
  assert.deepEqual([schema.detected, schema.detectedBy], [true, 'schema'])
  // Another object whose name merely ends alike is not the target.
  const elsewhere = judgeDrill(
    plan({ operator: 'drop-index', targetObject: index }),
    'index dropped',
    {
      ...nothing,
      schema: [{ kind: 'index', name: 'public.x_orders_customer_idx', production: 'CREATE INDEX ...', restored: null }]
    },
    'checksums'
  )
  assert.equal(elsewhere.detected, false)
  const owner = judgeDrill(
    plan({ operator: 'change-owner', targetDifference: { kind: 'owner', name: 'table public.orders' } }),
    'owner changed',
    {
      ...nothing,
      schema: [{ kind: 'owner', name: 'table public.orders', production: 'app', restored: 'drill' }]
    },
    'checksums'
  )
  assert.deepEqual(
    [owner.detectedBy, owner.evidence],
    ['privileges', 'owner changed; owner of table public.orders: production app, restored drill']
  )
  const check = judgeDrill(
    plan({}),
    'row 7 removed',
    {
      ...nothing,
      checks: [{ name: 'count', match: false, difference: 'answers differ' } as CopyVerification['checks'][number]]
    },
    'checksums'
  )
  assert.deepEqual([check.detectedBy, check.evidence], ['checks', "row 7 removed; check 'count': answers differ"])
  const missed = judgeDrill(plan({ invisibleToCounts: 'a changed value keeps the count' }), 'value changed', nothing, 'counts')
  assert.deepEqual([missed.detected, missed.expectedMiss], [false, 'a changed value keeps the count'])
  assert.equal(judgeDrill(plan({ invisibleToCounts: 'x' }), 'value changed', nothing, 'checksums').expectedMiss, undefined)
})
