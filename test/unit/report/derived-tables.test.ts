import { test } from 'node:test'
import assert from 'node:assert/strict'
import { compareTables, type SideFigures } from '../../../src/verification/compare.js'
import { renderSummary } from '../../../src/report/summary.js'
import type { Report } from '../../../src/report/report.js'

// Materialized views: their rows are derived (REFRESH at restore), so they are never compared.

const table = (name: string, rows: number, checksum: string): SideFigures => ({
  schema: 'public',
  name,
  figures: { rows, checksum }
})
const view = (name: string): SideFigures => ({ schema: 'public', name, figures: {}, derived: true })

test('a materialized view on both sides matches whatever its rows, and says it is derived', () => {
  const [compared] = compareTables([view('totals')], [view('totals')])
  assert.equal(compared.match, true)
  assert.equal(compared.derived, true)
  assert.equal(compared.difference, undefined)
})

test('a materialized view still has to exist, and be one, on both sides', () => {
  const differences = compareTables(
    [view('gone'), view('now_a_table'), table('now_a_view', 1, 'c')],
    [table('now_a_table', 1, 'c'), view('now_a_view'), view('extra')]
  ).map(comparison => [comparison.name, comparison.match, comparison.difference])
  assert.deepEqual(differences, [
    ['gone', false, 'missing from the restored copy'],
    ['now_a_table', false, 'a materialized view in production, a table in the restored copy'],
    ['now_a_view', false, 'a table in production, a materialized view in the restored copy'],
    ['extra', false, 'not in production']
  ])
})

test('ordinary tables are still compared by their figures', () => {
  const [compared] = compareTables([table('orders', 2, 'a')], [table('orders', 2, 'b')])
  assert.equal(compared.match, false)
  assert.equal(compared.derived, undefined)
})

test('the summary says a materialized view was not compared by rows, rather than that its rows match', () => {
  const report: Report = {
    result: 'verified',
    verify: 'checksums',
    production: { server: 'p', database: 'd' },
    cleanroom: { server: 'c' },
    sanitized: [],
    tables: compareTables([view('totals'), table('orders', 2, 'a')], [view('totals'), table('orders', 2, 'a')]),
    sabotage: [],
    timings: {},
    startedAt: new Date(0).toISOString()
  }
  const summary = renderSummary(report)
  assert.match(
    summary,
    /<code>public\.totals<\/code><\/td><td>—<\/td><td>—<\/td><td>✅ materialized view: rows derived, not compared/
  )
  assert.match(summary, /<code>public\.orders<\/code><\/td><td>2<\/td><td>2<\/td><td>✅ match/)
})
