import type { CheckSide } from '../verification/check-answers.js'
import { formatBytes } from '../util/bytes.js'
import { displayName } from '../util/table-name.js'
import { describeTrend, historyCharts, type History } from './history.js'
import {
  failureMessage,
  formatSeconds,
  missedDrills,
  mismatchedChecks,
  mismatchedTables,
  type Report,
  type ReportTable,
  type SchemaDifference
} from './report.js'

/** Lists longer than this fold away behind a <details>. */
const LONG_LIST = 15

/**
 * Renders the job summary (GitHub-flavoured Markdown with HTML). Pure. Everything that came from
 * a database (names, errors, evidence, keys, definitions) is escaped, newlines included, so that
 * it can neither open HTML nor end the HTML block it sits in; the Mermaid charts hold only our
 * own labels and numbers. `history` is the run history including this run, when there is one.
 */
export function renderSummary(report: Report, history?: History): string {
  const parts: string[] = []
  parts.push(`<h2>${verdictIcon(report)} Lazarus: ${escapeHtml(report.result)}</h2>`)
  parts.push(`<p><strong>${escapeHtml(verdict(report))}</strong> ${escapeHtml(headline(report))}</p>`)
  if (report.error) parts.push(`<p><strong>Error:</strong></p>\n<pre>${escapeHtml(report.error)}</pre>`)
  const rto = rtoLine(report)
  if (rto) parts.push(rto)
  if (report.restoreTrend?.alarm)
    parts.push(`<p>⚠️ <strong>Restore time grew sharply.</strong> ${escapeHtml(describeTrend(report.restoreTrend))}</p>`)

  const stored = storedBackupLine(report)
  if (stored) parts.push(stored)
  const restorePoint = restorePointLine(report)
  if (restorePoint) parts.push(restorePoint)
  const rights = report.restoreRights
  if (rights)
    parts.push(`<p>${rights.superuser ? '⚠️ ' : ''}<strong>Restore rights:</strong> ${escapeHtml(rights.description)}.</p>`)
  const privileges = privilegesLine(report)
  if (privileges) parts.push(privileges)

  const stages = stageChart(report)
  if (stages) parts.push('<h3>Stages</h3>', stages)
  parts.push(...tableSections(report))
  if (report.schema) parts.push(schemaSection(report.schema))
  if (report.checks) parts.push(...checksSection(report))
  if (report.amcheck) parts.push(amcheckSection(report))
  if (report.sabotage.length > 0) parts.push(...drillSection(report))

  if (report.sanitized.length > 0) {
    parts.push(
      details(
        // Removed (PostgreSQL's settings, meta-commands) or rewritten (MySQL's DEFINERs, collations): the log's words.
        `Sanitized: ${report.sanitized.reduce((sum, item) => sum + item.lines, 0)} line(s) the clean room does not take as dumped`,
        htmlTable(
          ['Construct', 'Rule', 'Lines'],
          report.sanitized.map(item =>
            row([`<code>${escapeHtml(item.parameter)}</code>`, escapeHtml(item.rule), String(item.lines)])
          )
        )
      )
    )
  }
  if (history && history.runs.length > 0) parts.push(...historySection(history))
  parts.push(timingsAndVersions(report))
  // Blank lines between the parts: each HTML block ends there, and a Mermaid fence needs them.
  return parts.join('\n\n') + '\n'
}

/** The verdict in words: what a reader needs from the first line. */
function verdict(report: Report): string {
  const sentences: string[] = []
  switch (report.result) {
    case 'verified':
      sentences.push(
        report.rto?.exceeded
          ? 'The backup restores and holds exactly what production held, but it does not restore fast enough.'
          : 'The backup restores and holds exactly what production held.'
      )
      break
    case 'restored':
      sentences.push(
        "The stored backup restores and its schema matches production's as it is now; its content was not proven " +
          '(no manifest holds figures from when it was taken: the row counts below are only set beside production’s current ones).'
      )
      if (report.rto?.exceeded) sentences.push('But it does not restore fast enough.')
      break
    case 'mismatch':
      if ((report.backup?.fileProblems ?? []).length > 0) {
        sentences.push(
          "The stored backup is not the one its manifest describes: its files' sha256 differ, so it was not restored."
        )
        break
      }
      sentences.push(`The backup restores, but differs from production${differsIn(report)}.`)
      if (report.rto?.exceeded) sentences.push('Nor does it restore fast enough.')
      break
    case 'restore-failed':
      sentences.push('The backup does not restore.')
      break
    case 'error':
      sentences.push('Lazarus could not finish the check.')
      break
  }
  const missed = missedDrills(report).length
  if (missed > 0) sentences.push(`The verifier missed ${missed} sabotage(s), so its verdict cannot be trusted.`)
  return sentences.join(' ')
}

/** " in 2 table(s) and 1 check(s)": what differs, counted; the schema only when nothing else does (it has its own section). */
function differsIn(report: Report): string {
  const counted = [
    [mismatchedTables(report).length, 'table(s)'],
    [mismatchedChecks(report).length, 'check(s)']
  ] as const
  const parts = counted.filter(([n]) => n > 0).map(([n, what]) => `${n} ${what}`)
  const schema = (report.schema ?? []).length
  if (parts.length === 0 && schema > 0) parts.push(`${schema} schema object(s)`)
  const corrupt = (report.amcheck?.findings ?? []).length > 0 ? ', and amcheck found corruption in the restored copy' : ''
  return (parts.length > 0 ? ` in ${parts.join(' and ')}` : '') + corrupt
}

/**
 * The figures under the verdict. The time is the dump's own (and the restore's, which streamed
 * along), not the run's total, which the drill and the checks add to. A restore that failed
 * compared no table: it says where the restore stopped instead of "0 of 0 tables match".
 */
function headline(report: Report): string {
  const dump = dumpFigures(report)
  if (report.result === 'restore-failed') {
    const where = report.restoreFailedAt ? `The restore stopped ${report.restoreFailedAt}` : 'The restore stopped'
    return `${where}; no table was compared (verify: ${report.verify})${dump ? `; ${dump}` : ''}.`
  }
  if (report.tables.length === 0) return dump ? `${capitalize(dump)}.` : ''
  if (report.result === 'restored') {
    const restoredRows = report.tables.reduce((sum, table) => sum + (table.restored.rows ?? 0), 0)
    const now = report.tables.reduce((sum, table) => sum + (table.production.rows ?? 0), 0)
    return `${report.tables.length} tables restored (${count(restoredRows)} rows; production holds ${count(now)} now)${dump ? `, ${dump}` : ''}.`
  }
  const rows = report.tables.reduce((sum, table) => sum + (table.production.rows ?? 0), 0)
  const mismatched = mismatchedTables(report).length
  return (
    `${report.tables.length - mismatched} of ${report.tables.length} tables match (${count(rows)} production rows, ` +
    `verify: ${report.verify})${dump ? `, ${dump}` : ''}.`
  )
}

/** Which stored backup was verified, and against what. */
/** Where the verified backup was kept (backup-dir), or that upload-dump uploaded it. */
function restorePointLine(report: Report): string | undefined {
  const point = report.restorePoint
  if (!point) return undefined
  const what = `${point.format} format, ${formatBytes(point.bytes)}${point.files > 1 ? ` in ${point.files} files` : ''}${point.signed ? ', manifest signed' : ''}`
  const where = point.kept
    ? `kept at <code>${escapeHtml(point.backupPath)}</code>, manifest <code>${escapeHtml(point.manifestPath)}</code>`
    : 'kept for upload-dump only (not in backup-dir)'
  return `<p><strong>Restore point</strong> (${escapeHtml(what)}): ${where}.</p>`
}

function storedBackupLine(report: Report): string | undefined {
  const backup = report.backup
  if (!backup) return undefined
  const format = backup.format === 'plain' ? (backup.gzip ? 'plain SQL, gzip' : 'plain SQL') : `${backup.format} archive`
  const from = backup.dumpedFrom ? `, dumped from PostgreSQL ${backup.dumpedFrom}` : ''
  const against = backup.manifest
    ? `verified against its manifest <code>${escapeHtml(backup.manifest)}</code>`
    : 'no manifest: restore-tested, its schema compared with production as it is now, its content not proven'
  const lines = [
    `<p><strong>Stored backup</strong> <code>${escapeHtml(backup.path)}</code> (${escapeHtml(format)}, ${escapeHtml(formatBytes(backup.bytes))}${escapeHtml(from)}): ${against}.</p>`
  ]
  if (backup.fileProblems && backup.fileProblems.length > 0) {
    lines.push(
      `<p>❌ <strong>Files that differ from the manifest:</strong></p>\n<ul>${backup.fileProblems.map(item => `<li><code>${escapeHtml(item)}</code></li>`).join('')}</ul>`
    )
  }
  if (backup.notCompared && backup.notCompared.length > 0) {
    lines.push(
      `<p>⚠️ <strong>Not compared with the manifest:</strong> ${backup.notCompared.map(item => `${escapeHtml(item.figure)} (${escapeHtml(item.reason)})`).join('; ')}.</p>`
    )
  }
  return lines.join('\n')
}

/** Owners and privileges: compared, or never a silent pass when they were not. */
function privilegesLine(report: Report): string | undefined {
  const check = report.privileges
  if (!check) return undefined
  if (!check.compared) {
    return `<p>⚠️ <strong>Owners and privileges not verified:</strong> ${escapeHtml(check.reason ?? 'not restored')}.</p>`
  }
  const roles = [
    check.rolesCreated.length > 0 ? `${check.rolesCreated.length} role(s) created for the restore and dropped after it` : '',
    check.rolesExisting.length > 0 ? `${check.rolesExisting.length} existing role(s) used as they are` : ''
  ].filter(Boolean)
  return `<p><strong>Owners and privileges</strong> restored and compared${roles.length > 0 ? ` (${escapeHtml(roles.join('; '))})` : ''}.</p>`
}

/** "dump 1.2 MiB in 0.8 s, restored in 1.1 s", as far as known. */
function dumpFigures(report: Report): string {
  const t = report.timings
  const size = report.dumpBytes === undefined ? '' : ` ${formatBytes(report.dumpBytes)}`
  const dumpTime = t.dump === undefined ? '' : ` in ${formatSeconds(t.dump)} s`
  const restored =
    t.restore === undefined || report.result === 'restore-failed' ? '' : `, restored in ${formatSeconds(t.restore)} s`
  return size || dumpTime ? `dump${size}${dumpTime}${restored}` : ''
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1)
}

function verdictIcon(report: Report): string {
  if (failureMessage(report)) return '❌'
  if (report.result === 'restored') return 'ℹ️'
  if ((report.backup?.notCompared ?? []).length > 0) return '⚠️'
  return report.rto?.warned || report.restoreTrend?.alarm || report.privileges?.compared === false ? '⚠️' : '✅'
}

function rtoLine(report: Report): string | undefined {
  const rto = report.rto
  if (!rto) return undefined
  const limits = [
    rto.budgetSeconds === undefined ? undefined : `budget ${formatSeconds(rto.budgetSeconds)} s`,
    rto.warnSeconds === undefined ? undefined : `warning above ${formatSeconds(rto.warnSeconds)} s`
  ].filter(Boolean)
  const icon = rto.exceeded ? '❌' : rto.warned ? '⚠️' : '✅'
  const words = rto.exceeded ? 'over budget' : rto.warned ? 'slower than the warning threshold' : 'within the objective'
  return `<p>${icon} <strong>Recovery time:</strong> restore took ${formatSeconds(rto.restoreSeconds)} s (${limits.join(', ')}): ${words}.</p>`
}

/**
 * When each stage ran, as a Mermaid Gantt chart: dump, sanitize and restore are one stream and
 * overlap, production's figures are read while the restore ends, so bars of durations would add up
 * to more than the run. Under it, the same as a table of start and end times. Reports without a
 * timeline (from before it existed) get the bar chart of durations.
 */
function stageChart(report: Report): string | undefined {
  const timeline = report.timeline
  if (timeline && timeline.length > 0) {
    const stages = [...timeline].sort((a, b) => a.start - b.start || a.end - b.end)
    const total = report.timings.total === undefined ? '' : ` (run total ${formatSeconds(report.timings.total)} s)`
    const chart = mermaid([
      'gantt',
      `  title Stages over time in seconds${total}`,
      '  dateFormat x',
      '  axisFormat %M:%S',
      // Milliseconds since the run started, as the chart's dates; a bar shorter than 1 ms still shows.
      ...stages.map(
        (stage, index) =>
          `  ${stage.stage} :s${index}, ${Math.round(stage.start * 1000)}, ${Math.max(Math.round(stage.end * 1000), Math.round(stage.start * 1000) + 1)}`
      )
    ])
    const table = htmlTable(
      ['Stage', 'Start', 'End', 'Duration'],
      stages.map(stage =>
        row([escapeHtml(stage.stage), seconds(stage.start), seconds(stage.end), seconds(stage.end - stage.start)])
      )
    )
    return `${chart}\n\n${details('Stage start and end times (seconds since the run started)', table)}`
  }
  const t = report.timings
  const stages: [string, number | undefined][] = [
    ['Dump', t.dump],
    ['Sanitize', t.sanitize],
    ['Restore', t.restore],
    ['Verify', t.verify],
    ['amcheck', t.amcheck],
    ['Drill', t.drill]
  ]
  const known = stages.filter((stage): stage is [string, number] => stage[1] !== undefined)
  if (known.length === 0) return undefined
  if (t.total !== undefined) {
    const other = t.total - known.reduce((sum, [, value]) => sum + value, 0)
    // Without a drill timing of its own, the drill is part of the rest.
    const label = t.drill === undefined && report.sabotage.length > 0 ? 'Drill and other' : 'Other'
    if (other >= 0.01) known.push([label, other])
  }
  const title = t.total === undefined ? 'Time per stage in seconds' : `Time per stage in seconds (total ${t.total.toFixed(1)} s)`
  return mermaid([
    'xychart-beta horizontal',
    `  title "${title}"`,
    `  x-axis [${known.map(([name]) => `"${name}"`).join(', ')}]`,
    '  y-axis "seconds"',
    `  bar [${known.map(([, value]) => chartNumber(value)).join(', ')}]`
  ])
}

/** One row per table, mismatches first and always in view; a long list of matches folds away. */
function tableSections(report: Report): string[] {
  if (report.tables.length === 0) return []
  const mismatched = mismatchedTables(report)
  const matching = report.tables.filter(table => table.match)
  const unproven = report.result === 'restored' || report.tables.some(table => table.unproven)
  const headers = unproven
    ? ['Table', 'Production rows (now)', 'Restored rows', 'Result (content not proven)']
    : ['Table', 'Production rows', 'Restored rows', `Result (${report.verify})`]
  const tableRows = (tables: ReportTable[]) => tables.map(tableRow)
  if (report.tables.length <= LONG_LIST) {
    return ['<h3>Tables</h3>', htmlTable(headers, tableRows([...mismatched, ...matching])), ...rowDifferences(mismatched)]
  }
  const parts: string[] = []
  if (mismatched.length > 0) {
    parts.push(
      `<h3>Tables: ${mismatched.length} of ${report.tables.length} differ</h3>`,
      htmlTable(headers, tableRows(mismatched))
    )
    parts.push(...rowDifferences(mismatched))
  }
  if (matching.length > 0) {
    const label = mismatched.length === 0 ? `Tables (${report.tables.length}, all match)` : `Matching tables (${matching.length})`
    parts.push(details(label, htmlTable(headers, tableRows(matching))))
  }
  return parts
}

function tableRow(table: ReportTable): string {
  return row([
    `<code>${escapeHtml(displayName(table))}</code>`,
    escapeHtml(figure(table.production.rows)),
    escapeHtml(figure(table.restored.rows)),
    table.match && table.unproven
      ? `ℹ️ ${escapeHtml(table.unproven)}`
      : table.match
        ? table.derived
          ? '✅ materialized view: rows derived, not compared (definition, populated state and indexes are)'
          : '✅ match'
        : `❌ ${escapeHtml(table.difference ?? 'differs')}`
  ])
}

/** The differing rows of each table that has them, by key, folded. */
function rowDifferences(tables: ReportTable[]): string[] {
  return tables.flatMap(table => {
    const differences = table.differences
    if (!differences) return []
    const counts = [
      differences.missing > 0 ? `${count(differences.missing)} missing` : '',
      differences.extra > 0 ? `${count(differences.extra)} extra` : '',
      differences.changed > 0 ? `${count(differences.changed)} changed` : ''
    ].filter(Boolean)
    const withValues = differences.keys.some(key => key.production !== undefined || key.restored !== undefined)
    const headers = withValues ? ['Change', 'Key', 'Production', 'Restored'] : ['Change', 'Key']
    const rows = differences.keys.map(key =>
      row([
        escapeHtml(key.change),
        `<code>${escapeHtml(key.key)}</code>`,
        ...(withValues ? [optionalCode(key.production), optionalCode(key.restored)] : [])
      ])
    )
    const label = `Rows of ${displayName(table)}: ${counts.join(', ') || 'none listed'}`
    if (differences.keys.length === 0) {
      // No row to name: the counts say it all, where an empty table of keys would say nothing.
      const what = counts.length > 0 ? counts.join(', ') : 'no differing row was found'
      const why =
        differences.notListed > 0
          ? 'none listed: max-rows-reported is 0'
          : 'the table has no primary key or unique index of NOT NULL columns, so its rows are counted, not listed by key'
      return [`<p>Rows of <code>${escapeHtml(displayName(table))}</code>: ${escapeHtml(what)} (${escapeHtml(why)}).</p>`]
    }
    const more = differences.notListed > 0 ? `\n<p>… and ${count(differences.notListed)} more row(s) not listed.</p>` : ''
    return [details(label, htmlTable(headers, rows) + more)]
  })
}

function schemaSection(schema: SchemaDifference[]): string {
  if (schema.length === 0) return '<p>✅ The schema matches production.</p>'
  return details(
    `Schema: ${schema.length} difference(s)`,
    htmlTable(
      ['Kind', 'Name', 'Production', 'Restored'],
      schema.map(item =>
        row([
          escapeHtml(item.kind),
          `<code>${escapeHtml(item.name)}</code>`,
          definition(item.production),
          definition(item.restored)
        ])
      )
    )
  )
}

/** The user's checks: one row each, differences first, with the answers the report may show. */
function checksSection(report: Report): string[] {
  const checks = report.checks ?? []
  if (checks.length === 0) return []
  const differing = checks.filter(check => !check.match)
  const answer = (side: CheckSide) => {
    if (side.error !== undefined) return `⚠️ ${escapeHtml(side.error)}`
    const values = side.values ? `: <code>${escapeHtml(side.values.join(' | ') || '(no rows)')}</code>` : ''
    return `${escapeHtml(figure(side.rows))} row(s)${values}`
  }
  const rows = [...differing, ...checks.filter(check => check.match)].map(check =>
    row([
      escapeHtml(check.name),
      answer(check.production),
      answer(check.restored),
      check.match ? '✅ same answer' : `${check.error ? '⚠️' : '❌'} ${escapeHtml(check.difference ?? 'differs')}`
    ])
  )
  const icon = differing.length === 0 ? '✅' : '❌'
  const heading = `<h3>${icon} Checks: ${checks.length - differing.length} of ${checks.length} answered alike</h3>`
  const table = htmlTable(['Check', 'Production', 'Restored', 'Result'], rows)
  return [heading, checks.length > LONG_LIST && differing.length === 0 ? details('Checks', table) : table]
}

function amcheckSection(report: Report): string {
  const amcheck = report.amcheck!
  const scope = `${amcheck.indexes} B-tree index(es)${amcheck.heapChecked ? ` and ${amcheck.tables} table(s)` : ''}`
  if (amcheck.findings.length === 0)
    return `<p>✅ <strong>amcheck:</strong> no corruption in ${escapeHtml(scope)} of the restored copy.</p>`
  return [
    `<h3>❌ amcheck: ${amcheck.findings.length} finding(s) in ${escapeHtml(scope)} of the restored copy</h3>`,
    htmlTable(
      ['Kind', 'Name', 'amcheck says'],
      amcheck.findings.map(finding =>
        row([escapeHtml(finding.kind), `<code>${escapeHtml(finding.name)}</code>`, escapeHtml(finding.message)])
      )
    )
  ].join('\n\n')
}

/**
 * The drill as a score: caught of those expected to be caught, and one row per operator with its
 * evidence. Corruptions `verify: counts` cannot see by design are listed apart, with the reason.
 */
function drillSection(report: Report): string[] {
  const expected = report.sabotage.filter(result => result.applied && !result.expectedMiss)
  const caught = expected.filter(result => result.detected).length
  const score = expected.length === 0 ? '' : ` (score ${Math.round((caught / expected.length) * 100)}%)`
  const icon = expected.length === 0 ? '⚠️' : caught === expected.length ? '✅' : '❌'
  const verdict = (result: Report['sabotage'][number]) =>
    !result.applied
      ? '⚠️ not applied'
      : result.detected
        ? '✅ caught'
        : result.expectedMiss
          ? 'ℹ️ invisible to counts'
          : '❌ missed'
  const table = htmlTable(
    ['Operator', 'Target', 'Verdict', 'Caught by', 'Evidence'],
    report.sabotage.map(result =>
      row([
        escapeHtml(result.operator),
        result.target ? `<code>${escapeHtml(result.target)}</code>` : '—',
        verdict(result),
        escapeHtml(result.detectedBy ?? '—'),
        escapeHtml(result.expectedMiss ? `${result.evidence} (${result.expectedMiss})` : result.evidence)
      ])
    )
  )
  const heading = `<h3>${icon} Sabotage drill: caught ${caught} of ${expected.length}${score}</h3>`
  const parts = [heading]
  const invisible = report.sabotage.filter(result => result.applied && result.expectedMiss && !result.detected)
  if (invisible.length > 0) {
    parts.push(
      `<p>With <code>verify: counts</code>, ${invisible.map(result => escapeHtml(result.operator)).join(', ')} ` +
        `cannot be seen by design (the row count does not change); use <code>verify: checksums</code> to catch them.</p>`
    )
  }
  parts.push(report.sabotage.length > LONG_LIST && caught === expected.length ? details('Operators', table) : table)
  return parts
}

function historySection(history: History): string[] {
  const runs = history.runs
  const parts = [`<h3>Run history (${runs.length} run${runs.length === 1 ? '' : 's'})</h3>`]
  const charts = historyCharts(history)
  if (charts) parts.push(charts)
  else parts.push('<p>The first run on record for this database: charts start with the next one.</p>')
  parts.push(
    details(
      'Runs',
      htmlTable(
        ['#', 'Started', 'Result', 'Restore', 'Total', 'Dump size', 'Tables'],
        runs.map((run, index) =>
          row([
            String(index + 1),
            escapeHtml(run.startedAt),
            escapeHtml(run.result),
            seconds(run.restoreSeconds),
            seconds(run.totalSeconds),
            run.dumpBytes === undefined ? '—' : formatBytes(run.dumpBytes),
            String(run.tables)
          ])
        )
      )
    )
  )
  return parts
}

function timingsAndVersions(report: Report): string {
  const t = report.timings
  const timing = (label: string, value: number | undefined) => (value === undefined ? [] : [row([label, seconds(value)])])
  return details(
    'Timings and versions',
    htmlTable(
      ['', ''],
      [
        ...timing('Dump', t.dump),
        ...timing('Sanitize', t.sanitize),
        ...timing('Restore', t.restore),
        ...timing('Verify', t.verify),
        ...timing('amcheck', t.amcheck),
        ...timing('Drill', t.drill),
        ...timing('Total', t.total),
        row([
          'Production server',
          escapeHtml(`${report.engine ?? 'PostgreSQL'} ${report.production.serverVersion ?? '?'} (${report.production.server})`)
        ]),
        row([
          'Clean-room server',
          escapeHtml(`${report.engine ?? 'PostgreSQL'} ${report.cleanroom.serverVersion ?? '?'} (${report.cleanroom.server})`)
        ]),
        ...(report.programs
          ? [report.programs.dump, report.programs.restore].map(tool =>
              row([escapeHtml(tool.name), escapeHtml(`${tool.version} (${tool.path})`)])
            )
          : clientRows(report))
      ]
    )
  )
}

/** PostgreSQL's client programs: pg_dump (or pg_restore for a stored archive) and psql. */
function clientRows(report: Report): string[] {
  return [
    ...(report.tools?.pg_restore
      ? [row(['pg_restore', escapeHtml(`${report.tools.pg_restore.version} (${report.tools.pg_restore.path})`)])]
      : [
          row([
            'pg_dump',
            escapeHtml(report.tools?.pg_dump ? `${report.tools.pg_dump.version} (${report.tools.pg_dump.path})` : '—')
          ])
        ]),
    row(['psql', escapeHtml(report.tools?.psql ? `${report.tools.psql.version} (${report.tools.psql.path})` : '—')])
  ]
}

function figure(value: number | undefined): string {
  return value === undefined ? '—' : String(value)
}

function count(value: number): string {
  return value.toLocaleString('en-US')
}

function seconds(value: number | undefined): string {
  return value === undefined ? '—' : `${value.toFixed(2)} s`
}

function optionalCode(value: string | undefined): string {
  return value === undefined ? '—' : `<code>${escapeHtml(value)}</code>`
}

function definition(value: string | null): string {
  return value === null ? '<em>absent</em>' : `<code>${escapeHtml(value)}</code>`
}

/** Mermaid wants plain numbers: two decimals are plenty for seconds. */
function chartNumber(value: number): string {
  return String(Math.round(Math.max(0, value) * 100) / 100)
}

function mermaid(lines: string[]): string {
  return ['```mermaid', ...lines, '```'].join('\n')
}

function row(cells: string[]): string {
  return `<tr>${cells.map(cell => `<td>${cell}</td>`).join('')}</tr>`
}

function htmlTable(headers: string[], rows: string[]): string {
  return `<table>\n<tr>${headers.map(header => `<th>${escapeHtml(header)}</th>`).join('')}</tr>\n${rows.join('\n')}\n</table>`
}

function details(label: string, body: string): string {
  return `<details><summary>${escapeHtml(label)}</summary>\n\n${body}\n\n</details>`
}

/**
 * Escapes text for HTML, and line breaks too: a blank line from the database would end the HTML
 * block and let the rest be read as Markdown.
 */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"'\r\n]/g, char => `&#${char.charCodeAt(0)};`)
}
