/**
 * Pure rules for removing version-skew directives from a plain pg_dump file with sed.
 *
 * A dump made by a newer pg_dump carries session settings an older clean-room server rejects
 * (pg_dump 17 writes `SET transaction_timeout = 0;`, unknown to PostgreSQL 13) and psql
 * meta-commands an older psql does not know. Those lines only configure the restoring session,
 * so dropping them changes no data. Row data inside COPY blocks is never looked at.
 */

/** One kind of removed directive and how many lines of it were removed. */
export interface SanitizedDirective {
  /** A setting name such as `transaction_timeout`, or a meta-command such as `\restrict`. */
  parameter: string
  lines: number
}

export interface SanitizeRuleOptions {
  /** Every setting the clean-room server knows (pg_settings.name). */
  knownSettings: Iterable<string>
  /** Whether the restoring psql understands \restrict and \unrestrict. */
  psqlUnderstandsRestrict: boolean
  /** Where sed writes the lines it removes, so they can be reported. */
  removedLinesFile: string
  /** Where sed also keeps a copy of the sanitized dump (for the drill or upload-dump), if anywhere. */
  copyFile?: string
}

const SETTING_NAME = /^[A-Za-z_][A-Za-z0-9_.]*$/

/**
 * Builds a GNU/POSIX-ERE sed program (for `sed -n -E -f`) that prints every line (and copies it
 * to `copyFile`) except directives the clean room cannot run, which go to `removedLinesFile`.
 * Lines between `COPY ... FROM stdin;` and `\.` are row data and always kept: a data line can
 * never read `\.` on its own, since COPY escapes backslashes.
 */
export function buildSedProgram(options: SanitizeRuleOptions): string {
  const known = [...new Set([...options.knownSettings].map(name => name.toLowerCase()))]
    .filter(name => SETTING_NAME.test(name))
    .sort()
  const knownAlternation = known.map(escapeRegex).join('|')
  const removeTo = (file: string) => [`w ${file}`, 'd', '}']
  const lines = ['# Row data: COPY blocks pass through untouched.', '/^COPY .+ FROM stdin;$/,/^\\\\\\.$/b keep']
  if (known.length > 0) {
    lines.push(
      '# Settings the clean room knows stay.',
      `/^SET (${knownAlternation}) = /b keep`,
      `/^SELECT pg_catalog\\.set_config\\('(${knownAlternation})', /b keep`
    )
  }
  lines.push(
    '# Any other session setting is one the clean room would reject.',
    '/^SET [A-Za-z_][A-Za-z0-9_.]* = .*;$/{',
    ...removeTo(options.removedLinesFile),
    "/^SELECT pg_catalog\\.set_config\\('[A-Za-z_][A-Za-z0-9_.]*', .*\\);$/{",
    ...removeTo(options.removedLinesFile)
  )
  if (!options.psqlUnderstandsRestrict) {
    lines.push('# This psql predates \\restrict.', '/^\\\\(restrict|unrestrict)( |$)/{', ...removeTo(options.removedLinesFile))
  }
  lines.push(':keep')
  if (options.copyFile) lines.push(`w ${options.copyFile}`)
  lines.push('p')
  return lines.join('\n') + '\n'
}

function escapeRegex(text: string): string {
  return text.replace(/[.[\]{}()*+?^$|\\]/g, '\\$&')
}

/** Counts removed lines per setting or meta-command, in order of first appearance. */
export function summarizeRemovedLines(removedLines: Iterable<string>): SanitizedDirective[] {
  const counts = new Map<string, number>()
  for (const line of removedLines) {
    if (!line) continue
    const parameter = directiveName(line)
    counts.set(parameter, (counts.get(parameter) ?? 0) + 1)
  }
  return [...counts].map(([parameter, lines]) => ({ parameter, lines }))
}

function directiveName(line: string): string {
  const set = /^SET ([A-Za-z0-9_.]+) = /.exec(line)
  if (set) return set[1].toLowerCase()
  const setConfig = /^SELECT pg_catalog\.set_config\('([^']+)'/.exec(line)
  if (setConfig) return setConfig[1].toLowerCase()
  const meta = /^(\\[a-z]+)/.exec(line)
  if (meta) return meta[1]
  return line.slice(0, 40)
}
