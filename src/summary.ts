import { displayName } from './compare.js'
import { mismatchedTables, type Report } from './report.js'

/**
 * Renders the job summary as HTML. Pure: everything that came from a database (names, errors,
 * evidence) is escaped, since table names are user data and the summary is rendered as HTML.
 */
export function renderSummary(report: Report): string {
  const parts: string[] = []
  parts.push(`<h2>${verdictIcon(report)} Lazarus: ${escapeHtml(report.result)}</h2>`)
  parts.push(`<p>${escapeHtml(headline(report))}</p>`)
  if (report.error) parts.push(`<p><strong>Error:</strong> <code>${escapeHtml(report.error)}</code></p>`)

  if (report.tables.length > 0) {
    const ordered = [...mismatchedTables(report), ...report.tables.filter(table => table.match)]
    const rows = ordered.map(table =>
      row([
        `<code>${escapeHtml(displayName(table))}</code>`,
        escapeHtml(figure(table.production.rows)),
        escapeHtml(figure(table.restored.rows)),
        table.match ? '✅ match' : `❌ ${escapeHtml(table.difference ?? 'differs')}`
      ])
    )
    const tableHtml = htmlTable(['Table', 'Production rows', 'Restored rows', `Result (${report.verify})`], rows)
    parts.push(
      report.tables.length > 15 && mismatchedTables(report).length === 0
        ? details(`Tables (${report.tables.length}, all match)`, tableHtml)
        : `<h3>Tables</h3>\n${tableHtml}`
    )
  }

  if (report.sabotage.length > 0) {
    const caught = report.sabotage.filter(result => result.detected).length
    const run = report.sabotage.filter(result => result.applied).length
    parts.push(`<h3>Sabotage drill: caught ${caught} of ${run}</h3>`)
    parts.push(
      htmlTable(
        ['Operator', 'Target', 'Verdict', 'Caught by', 'Evidence'],
        report.sabotage.map(result =>
          row([
            escapeHtml(result.operator),
            result.target ? `<code>${escapeHtml(result.target)}</code>` : '—',
            !result.applied ? '⚠️ not applied' : result.detected ? '✅ caught' : '❌ missed',
            escapeHtml(result.detectedBy ?? '—'),
            escapeHtml(result.evidence)
          ])
        )
      )
    )
  }

  if (report.sanitized.length > 0) {
    parts.push(
      details(
        `Sanitized: ${report.sanitized.reduce((sum, item) => sum + item.lines, 0)} directive line(s) the clean room does not know`,
        htmlTable(['Directive', 'Lines removed'], report.sanitized.map(item => row([`<code>${escapeHtml(item.parameter)}</code>`, String(item.lines)])))
      )
    )
  }

  const t = report.timings
  parts.push(
    details(
      'Timings and versions',
      htmlTable(
        ['', ''],
        [
          row(['Dump', seconds(t.dump)]),
          row(['Sanitize', seconds(t.sanitize)]),
          row(['Restore', seconds(t.restore)]),
          row(['Verify', seconds(t.verify)]),
          row(['Total', seconds(t.total)]),
          row(['Production server', escapeHtml(`PostgreSQL ${report.production.serverVersion ?? '?'} (${report.production.server})`)]),
          row(['Clean-room server', escapeHtml(`PostgreSQL ${report.cleanroom.serverVersion ?? '?'} (${report.cleanroom.server})`)]),
          row(['pg_dump', escapeHtml(report.tools ? `${report.tools.pg_dump.version} (${report.tools.pg_dump.path})` : '—')]),
          row(['psql', escapeHtml(report.tools ? `${report.tools.psql.version} (${report.tools.psql.path})` : '—')])
        ]
      )
    )
  )
  return parts.join('\n') + '\n'
}

function headline(report: Report): string {
  const rows = report.tables.reduce((sum, table) => sum + (table.production.rows ?? 0), 0)
  const mismatched = mismatchedTables(report).length
  const size = report.dumpBytes === undefined ? '' : `, dump ${formatBytes(report.dumpBytes)}`
  const total = report.timings.total === undefined ? '' : ` in ${report.timings.total.toFixed(1)} s`
  return (
    `${report.tables.length - mismatched} of ${report.tables.length} tables match (${rows} production rows, ` +
    `verify: ${report.verify})${size}${total}.`
  )
}

function verdictIcon(report: Report): string {
  return report.result === 'verified' ? '✅' : '❌'
}

function figure(value: number | undefined): string {
  return value === undefined ? '—' : String(value)
}

function seconds(value: number | undefined): string {
  return value === undefined ? '—' : `${value.toFixed(2)} s`
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  let value = bytes
  let unit = 0
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024
    unit++
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`
}

function row(cells: string[]): string {
  return `<tr>${cells.map(cell => `<td>${cell}</td>`).join('')}</tr>`
}

function htmlTable(headers: string[], rows: string[]): string {
  return `<table>\n<tr>${headers.map(header => `<th>${escapeHtml(header)}</th>`).join('')}</tr>\n${rows.join('\n')}\n</table>`
}

function details(label: string, body: string): string {
  return `<details><summary>${escapeHtml(label)}</summary>\n\n${body}\n</details>`
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, char => `&#${char.charCodeAt(0)};`)
}
