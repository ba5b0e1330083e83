import { test } from 'node:test'
import assert from 'node:assert/strict'
import { compareTables, type SideFigures } from '../../../src/verification/compare.js'
import { appendRun, type History } from '../../../src/report/history.js'
import { checkRto, failureMessage, rtoWarning, type Report, type ReportTable } from '../../../src/report/report.js'
import { renderSummary } from '../../../src/report/summary.js'

const side = (name: string, rows: number, checksum = 'c', schema = 'public'): SideFigures => ({
  schema,
  name,
  figures: { rows, checksum }
})

function report(partial: Partial<Report> = {}): Report {
  const tables = compareTables(
    [side('customers', 1200), side('orders', 30_000), side('StockLevels', 7, 'c', 'Inventory')],
    [side('customers', 1200), side('orders', 30_000), side('StockLevels', 7, 'c', 'Inventory')]
  )
  return {
    result: 'verified',
    verify: 'checksums',
    production: { server: 'app@db:5432/shop', serverVersion: '13.23', database: 'shop' },
    cleanroom: { server: 'postgres@cr:5432/postgres', serverVersion: '13.23' },
    tools: {
      pg_dump: { path: '/usr/lib/postgresql/13/bin/pg_dump', version: '13.23' },
      psql: { path: '/usr/lib/postgresql/13/bin/psql', version: '13.23' }
    },
    dumpBytes: 5 * 1024 * 1024,
    sanitized: [{ parameter: 'transaction_timeout', lines: 2, rule: 'unknown-setting' }],
    tables,
    sabotage: [
      {
        operator: 'rogue-row',
        target: 'public.orders',
        applied: true,
        detected: true,
        detectedBy: 'counts',
        evidence: 'rogue row (id)=(30001): row count differs'
      }
    ],
    timings: { dump: 1.5, sanitize: 0.25, restore: 2.75, verify: 0.5, drill: 3, total: 8.5 },
    startedAt: '2026-01-05T03:00:00Z',
    ...partial
  }
}

/** The Mermaid blocks of a summary. */
function mermaidBlocks(markdown: string): string[] {
  return [...markdown.matchAll(/^```mermaid\n([\s\S]*?)\n```$/gm)].map(match => match[1])
}

test('a verified run: one-line verdict with the headline numbers, stages charted, drill scored', () => {
  const html = renderSummary(report())
  const lines = html.split('\n')
  assert.match(lines[0], /^<h2>✅ Lazarus: verified<\/h2>$/)
  assert.match(
    html,
    /<p><strong>The backup restores and holds exactly what production held\.<\/strong> 3 of 3 tables match \(31,207 production rows, verify: checksums\), dump 5\.0 MiB in 1\.50 s, restored in 2\.75 s\.<\/p>/
  )

  const [stages] = mermaidBlocks(html)
  assert.ok(stages, 'a Mermaid chart of the stages')
  const chart = stages.split('\n').map(line => line.trim())
  assert.equal(chart[0], 'xychart-beta horizontal')
  assert.deepEqual(chart.slice(2), [
    'x-axis ["Dump", "Sanitize", "Restore", "Verify", "Drill", "Other"]',
    'y-axis "seconds"',
    'bar [1.5, 0.25, 2.75, 0.5, 3, 0.5]'
  ])
  // The fence must stand on its own lines, apart from HTML, for GitHub to render it.
  assert.match(html, /\n\n```mermaid\n[\s\S]*?\n```\n\n/)

  assert.match(html, /<h3>✅ Sabotage drill: caught 1 of 1 \(score 100%\)<\/h3>/)
  assert.match(
    html,
    /<td>rogue-row<\/td><td><code>public\.orders<\/code><\/td><td>✅ caught<\/td><td>counts<\/td><td>rogue row \(id\)=\(30001\): row count differs<\/td>/
  )
  assert.match(
    html,
    /<details><summary>Sanitized: 2 line\(s\) the clean room does not take as dumped<\/summary>[\s\S]*transaction_timeout/
  )
  assert.match(html, /<tr><td>pg_dump<\/td><td>13\.23 \(\/usr\/lib\/postgresql\/13\/bin\/pg_dump\)<\/td><\/tr>/)
  assert.match(html, /<td><code>&#34;Inventory&#34;\.&#34;StockLevels&#34;<\/code><\/td><td>7<\/td><td>7<\/td><td>✅ match<\/td>/)
})

test('a mismatch: the verdict says so, the differing table comes first with its rows and the schema differences fold away', () => {
  const tables: ReportTable[] = compareTables(
    [side('a_fine', 5), side('z_orders', 3)],
    [side('a_fine', 5), side('z_orders', 4, 'd')]
  )
  tables[1] = {
    ...tables[1],
    differences: {
      missing: 0,
      extra: 1,
      changed: 1,
      keys: [
        { change: 'extra', key: '(id)=(4)' },
        { change: 'changed', key: '(id)=(2)' }
      ],
      notListed: 0
    }
  }
  const html = renderSummary(
    report({
      result: 'mismatch',
      tables,
      schema: [
        {
          kind: 'index',
          name: 'public.orders_pkey',
          production: 'CREATE UNIQUE INDEX orders_pkey ON public.orders (id)',
          restored: null
        }
      ]
    })
  )
  assert.match(html, /^<h2>❌ Lazarus: mismatch<\/h2>/)
  assert.match(html, /The backup restores, but differs from production in 1 table\(s\)\./)
  assert.match(html, /1 of 2 tables match/)
  assert.ok(html.indexOf('z_orders</code>') < html.indexOf('a_fine</code>'), 'the mismatch is listed first')
  assert.match(
    html,
    /<td><code>public\.z_orders<\/code><\/td><td>3<\/td><td>4<\/td><td>❌ row count differs: production 3, restored 4<\/td>/
  )
  assert.match(
    html,
    /<details><summary>Rows of public\.z_orders: 1 extra, 1 changed<\/summary>[\s\S]*?<th>Change<\/th><th>Key<\/th><\/tr>\n<tr><td>extra<\/td><td><code>\(id\)=\(4\)<\/code><\/td><\/tr>/
  )
  assert.doesNotMatch(html, /<th>Key<\/th><th>Production<\/th>/, 'no value columns when no values were reported')
  assert.match(
    html,
    /<details><summary>Schema: 1 difference\(s\)<\/summary>[\s\S]*?<td>index<\/td><td><code>public\.orders_pkey<\/code><\/td><td><code>CREATE UNIQUE INDEX orders_pkey ON public\.orders \(id\)<\/code><\/td><td><em>absent<\/em><\/td>/
  )
})

test('a long list of matching tables folds away, while mismatches stay in view', () => {
  const names = Array.from({ length: 20 }, (_, index) => `t${String(index).padStart(2, '0')}`)
  const production = names.map(name => side(name, 1))
  const allMatch = renderSummary(report({ tables: compareTables(production, production) }))
  assert.match(allMatch, /<details><summary>Tables \(20, all match\)<\/summary>/)

  const restored = production.map(figures => (figures.name === 't13' ? side('t13', 2) : figures))
  const oneDiffers = renderSummary(report({ result: 'mismatch', tables: compareTables(production, restored) }))
  assert.match(
    oneDiffers,
    /<h3>Tables: 1 of 20 differ<\/h3>\n\n<table>\n<tr><th>Table<\/th>[^\n]*\n<tr><td><code>public\.t13<\/code>/
  )
  assert.match(oneDiffers, /<details><summary>Matching tables \(19\)<\/summary>/)
  const folded = oneDiffers.slice(oneDiffers.indexOf('Matching tables'))
  assert.doesNotMatch(folded, /t13/)
})

test('everything from the database is escaped, line breaks included, and kept out of the charts', () => {
  const evil = '<img src=x onerror=alert(1)>\n\n# heading'
  const tables: ReportTable[] = compareTables([side(evil, 1)], [side(evil, 2)])
  tables[0] = {
    ...tables[0],
    differences: {
      missing: 1,
      extra: 0,
      changed: 0,
      keys: [{ change: 'missing', key: `(k)=(${evil})`, production: evil }],
      notListed: 3
    }
  }
  const html = renderSummary(
    report({
      result: 'mismatch',
      error: `psql: ERROR: relation "<b>x</b>" does not exist\n\nLINE 1`,
      tables,
      schema: [{ kind: 'table', name: evil, production: evil, restored: evil }],
      sanitized: [{ parameter: '<script>', lines: 1, rule: 'unknown-setting' }],
      sabotage: [{ operator: 'rogue-row', target: evil, applied: true, detected: false, detectedBy: null, evidence: evil }]
    })
  )
  assert.doesNotMatch(html, /<img|<b>|<script>/)
  assert.doesNotMatch(html, /\n# heading/, 'a blank line from the database cannot end the HTML block')
  assert.match(html, /&#60;img src=x onerror=alert\(1\)&#62;&#10;&#10;# heading/)
  assert.match(html, /<pre>psql: ERROR: relation &#34;&#60;b&#62;x&#60;\/b&#62;&#34; does not exist&#10;&#10;LINE 1<\/pre>/)
  assert.match(
    html,
    /<th>Change<\/th><th>Key<\/th><th>Production<\/th><th>Restored<\/th>/,
    'values, where reported, get their columns'
  )
  assert.match(html, /… and 3 more row\(s\) not listed/)
  assert.match(html, /<h3>❌ Sabotage drill: caught 0 of 1 \(score 0%\)<\/h3>/)
  assert.match(html, /the verifier missed 1 sabotage\(s\)/i)
  for (const block of mermaidBlocks(html)) assert.doesNotMatch(block, /img|heading/)
})

test('the RTO gate fails a restore over budget, warns above the warning threshold, and says so in the summary', () => {
  const settings = { rtoSeconds: 2, rtoWarnSeconds: 1 }
  const slow = report({ timings: { restore: 2.5, total: 5 } })
  slow.rto = checkRto(slow, settings)
  assert.deepEqual(slow.rto, { budgetSeconds: 2, warnSeconds: 1, restoreSeconds: 2.5, exceeded: true, warned: false })
  assert.equal(failureMessage(slow), 'The backup restores, but not fast enough: restore took 2.50 s, budget 2 s (rto-seconds).')
  assert.equal(rtoWarning(slow), undefined, 'over budget fails, it does not also warn')
  const html = renderSummary(slow)
  assert.match(html, /^<h2>❌ Lazarus: verified<\/h2>/)
  assert.match(html, /holds exactly what production held, but it does not restore fast enough\./)
  assert.match(html, /❌ <strong>Recovery time:<\/strong> restore took 2\.50 s \(budget 2 s, warning above 1 s\): over budget\./)
  const tiny = report({ timings: { restore: 0.7, total: 1 } })
  tiny.rto = checkRto(tiny, { rtoSeconds: 0.001 })
  assert.equal(
    failureMessage(tiny),
    'The backup restores, but not fast enough: restore took 0.70 s, budget 0.001 s (rto-seconds).'
  )

  const sluggish = report({ timings: { restore: 1.5, total: 5 } })
  sluggish.rto = checkRto(sluggish, settings)
  assert.equal(failureMessage(sluggish), undefined)
  assert.match(
    rtoWarning(sluggish) ?? '',
    /^The restore took 1\.50 s, more than the 1 s of rto-warn-seconds \(the budget, rto-seconds, is 2 s\)\.$/
  )
  assert.match(renderSummary(sluggish), /^<h2>⚠️ Lazarus: verified<\/h2>/)

  const quick = report({ timings: { restore: 0.5, total: 5 } })
  quick.rto = checkRto(quick, settings)
  assert.equal(quick.rto?.exceeded, false)
  assert.equal(rtoWarning(quick), undefined)
  assert.match(renderSummary(quick), /✅ <strong>Recovery time:<\/strong> restore took 0\.50 s .*: within the objective\./)

  assert.equal(checkRto(report(), {}), undefined, 'no budget, no check')
  assert.equal(
    checkRto(report({ result: 'restore-failed', timings: { restore: 99 } }), settings),
    undefined,
    'a failed restore is no recovery time'
  )
})

test('with a run history, the summary charts it and shows a sharp growth of the restore time', () => {
  let history: History | undefined
  for (const [day, restore, bytes] of [
    [1, 2, 1_000_000],
    [2, 2.2, 1_100_000],
    [3, 6, 1_200_000]
  ] as const) {
    history = appendRun(
      history,
      {
        startedAt: `2026-01-0${day}T03:00:00Z`,
        result: 'verified',
        restoreSeconds: restore,
        totalSeconds: restore + 3,
        dumpBytes: bytes,
        tables: 3
      },
      'abc'
    )
  }
  const html = renderSummary(
    report({ restoreTrend: { runs: 3, medianSeconds: 2.2, restoreSeconds: 6, ratio: 2.727, alarm: true } }),
    history
  )
  assert.match(html, /^<h2>⚠️ Lazarus: verified<\/h2>/)
  assert.match(
    html,
    /⚠️ <strong>Restore time grew sharply\.<\/strong> The restore took 6\.00 s, 2\.7× the median 2\.20 s of the last 3 runs\./
  )
  assert.match(html, /<h3>Run history \(3 runs\)<\/h3>/)
  const [, times, sizes] = mermaidBlocks(html)
  assert.match(times, /line \[2, 2\.2, 6\]/)
  assert.match(times, /bar \[5, 5\.2, 9\]/)
  assert.match(sizes, /title "Dump size in MiB, runs 1 to 3, 2026-01-01 to 2026-01-03"/)
  assert.match(sizes, /line \[0\.95, 1\.05, 1\.14\]/)
  assert.match(
    html,
    /<tr><td>3<\/td><td>2026-01-03T03:00:00Z<\/td><td>verified<\/td><td>6\.00 s<\/td><td>9\.00 s<\/td><td>1\.1 MiB<\/td><td>3<\/td><\/tr>/
  )
})

test("the headline gives the dump's own time, never the run's total with the drill", () => {
  const html = renderSummary(report({ timings: { dump: 1.25, restore: 2, verify: 0.5, drill: 40, total: 45 } }))
  const headline = /<p><strong>.*<\/p>/.exec(html)![0]
  assert.match(headline, /dump 5\.0 MiB in 1\.25 s, restored in 2 s\./)
  assert.doesNotMatch(headline, /45|40/)
})

test('the stage chart is a timeline: overlapping stages with their start and end, not durations that add up', () => {
  const timeline = [
    { stage: 'Dump', start: 0.2, end: 1.5 },
    { stage: 'Sanitize', start: 0.2, end: 1.5 },
    { stage: 'Restore', start: 0.4, end: 2.75 },
    { stage: 'Production figures', start: 1.5, end: 2.9 },
    { stage: 'Verify', start: 2.75, end: 3.25 },
    { stage: 'Drill', start: 3.25, end: 8.25 }
  ]
  const html = renderSummary(report({ timeline }))
  const [chart] = mermaidBlocks(html)
  const lines = chart.split('\n').map(line => line.trim())
  assert.equal(lines[0], 'gantt')
  assert.ok(lines.includes('dateFormat x'))
  assert.deepEqual(
    lines.filter(line => / :s\d+, /.test(line)),
    [
      'Dump :s0, 200, 1500',
      'Sanitize :s1, 200, 1500',
      'Restore :s2, 400, 2750',
      'Production figures :s3, 1500, 2900',
      'Verify :s4, 2750, 3250',
      'Drill :s5, 3250, 8250'
    ]
  )
  // The same as a table of start and end times.
  assert.match(html, /<tr><td>Restore<\/td><td>0\.40 s<\/td><td>2\.75 s<\/td><td>2\.35 s<\/td><\/tr>/)
  assert.doesNotMatch(html, /xychart-beta/)
})

test('a failed restore says where it stopped, not "0 of 0 tables match"', () => {
  const failed = report({
    result: 'restore-failed',
    tables: [],
    sabotage: [],
    error: 'psql:<stdin>:120: ERROR:  relation "public.missing" does not exist',
    restoreFailedAt: 'while restoring FK CONSTRAINT public.orders orders_customer_fkey',
    timings: { dump: 1, sanitize: 1, restore: 0.5 }
  })
  const html = renderSummary(failed)
  assert.doesNotMatch(html, /0 of 0/)
  assert.match(
    html,
    /The restore stopped while restoring FK CONSTRAINT public\.orders orders_customer_fkey; no table was compared/
  )
  assert.match(
    failureMessage(failed)!,
    /^The backup does not restore \(it stopped while restoring FK CONSTRAINT public\.orders orders_customer_fkey\): psql:/
  )
})

test('a table without a key that differs shows how many rows are missing and extra, never an empty table of keys', () => {
  const [table] = compareTables([side('events', 10)], [side('events', 9)])
  const keyless: ReportTable = { ...table, differences: { missing: 2, extra: 1, changed: 0, keys: [], notListed: 0 } }
  const html = renderSummary(report({ result: 'mismatch', tables: [keyless] }))
  assert.match(html, /Rows of <code>public\.events<\/code>: 2 missing, 1 extra \(the table has no primary key/)
  assert.doesNotMatch(html, /<th>Change<\/th><th>Key<\/th>/)
})

test('a kept restore point is named in the summary, escaped', () => {
  const restorePoint = {
    backupPath: '/backups/<shop>-20261130T050000Z/shop.dump',
    manifestPath: '/backups/<shop>-20261130T050000Z/lazarus-manifest.json',
    directory: '/backups/<shop>-20261130T050000Z',
    format: 'custom' as const,
    bytes: 3 * 1024 * 1024,
    files: 1,
    signed: true,
    kept: true
  }
  const html = renderSummary(report({ restorePoint }))
  assert.match(
    html,
    /<strong>Restore point<\/strong> \(custom format, 3\.0 MiB, manifest signed\): kept at <code>\/backups\/&#60;shop&#62;-20261130T050000Z\/shop\.dump<\/code>, manifest <code>[^<]*lazarus-manifest\.json<\/code>\./
  )
  assert.doesNotMatch(renderSummary(report()), /Restore point/)
  assert.match(
    renderSummary(report({ restorePoint: { ...restorePoint, kept: false, signed: false } })),
    /kept for upload-dump only/
  )
})
