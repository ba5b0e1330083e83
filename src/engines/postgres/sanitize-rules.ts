/**
 * Pure rules for the sanitizing sed program: a lexer for plain pg_dump output, written in sed,
 * and the version-skew rules (see skew-catalogue.ts) that may remove or rewrite a whole
 * top-level statement pg_dump wrote, never anything inside a literal, an identifier, a comment
 * or row data.
 *
 * Why a lexer: production decides the text of function bodies, view definitions, comments,
 * defaults and rows. A rule that matched lines wherever they are would let a function body that
 * holds the line `SET my.x = 0$$;` lose its closing dollar quote, after which psql reads the next
 * function's body as SQL: production's content would run on the clean room. So sed tracks, from
 * line to line, where psql is in the dump, exactly as psql's own lexer (psqlscan.l) does, and a
 * rule applies only to a line that starts at the top level between statements (or, for the
 * identity clause, at the top level of a statement the rule recognised on its first line).
 * dump-lexer.ts is the same lexer in TypeScript, for the drill; a test holds the two to agree.
 *
 * The lexer's state lives in sed's hold space between lines, as one short word:
 *   T.            top level, between statements
 *   m<kind><depth> inside a top-level statement; kind `.` any, `C` COPY, `F` CREATE FUNCTION or
 *                 PROCEDURE (psql counts BEGIN ... END there), `I` an identity statement (its
 *                 first lines recognised by a rule: the kind holds to its end); depth is
 *                 `b` per open BEGIN, then `(` per open parenthesis: psql ends a statement at `;` only at depth 0
 *   s<top>        inside '...' (no escapes), returning to the state <top>
 *   e<top>        inside E'...' (backslash escapes)
 *   i<top>        inside "..." (a quoted identifier)
 *   d<top>#<tag>  inside a dollar-quoted body opened by <tag> (`$$`, `$body$`...)
 *   c<top>#<*..>  inside a /* comment *\/, one star per nesting level
 * Row data between `COPY ... FROM stdin;` and `\.` never reaches the lexer: a tight loop prints
 * it (the dump's bulk, so its path is three sed commands a line).
 */

import { TOC_COMMENT_PATTERN } from './restore-failure.js'
import { MAX_STATEMENT_LINES, PRIVILEGED_START, privilegedReadOnPattern, privilegedSedPatterns } from './privileged-statements.js'
import { SKEW_RULES, type SkewRuleId } from './skew-catalogue.js'

/** One kind of removed (or rewritten) construct and how many lines of it were removed. */
export interface SanitizedDirective {
  /** A setting name such as `transaction_timeout`, a meta-command such as `\restrict`, or a construct such as `SET COMPRESSION`. */
  parameter: string
  lines: number
  /** The rule that removed it: `unknown-setting`, `psql-meta-command`, or a skew catalogue entry (docs/version-skew.md, "Version-skew catalogue"). */
  rule: SanitizeRuleId
}

export type SanitizeRuleId = 'unknown-setting' | 'psql-meta-command' | SkewRuleId

export interface SanitizeRuleOptions {
  /** Every setting the clean-room server knows (pg_settings.name). */
  knownSettings: Iterable<string>
  /** Whether the restoring psql understands \restrict and \unrestrict. */
  psqlUnderstandsRestrict: boolean
  /** The clean room's major version: the skew rules for newer servers apply below it. */
  cleanroomMajor: number
  /**
   * Whether production's pg_dump session has standard_conforming_strings on (pg_dump writes the
   * same value in the dump's header): with it off, '...' strings take backslash escapes too.
   */
  standardConformingStrings: boolean
  /**
   * Where sed writes each line it removes (`<rule> <line>`), and, for a construct no rewrite can
   * restore faithfully, the line that stopped it (`!<rule> <line>`).
   */
  removedLinesFile: string
  /** Where sed also keeps a copy of the sanitized dump (for the drill or upload-dump), if anywhere. */
  copyFile?: string
  /**
   * Where sed writes one line for each line it prints (the line index): the line itself when it
   * is a TOC comment pg_dump wrote between statements (`-- Name: ...; Type: ...`), an empty line
   * otherwise. Its line numbers are psql's, so a failed restore's line finds the object psql was
   * restoring (restore-failure.ts). Row data costs one byte a row here, where a copy of the stream
   * for grep to number would cost two more passes over every byte of it.
   */
  linesFile?: string
  /** For tests: where sed writes its state after each line that is not row data. */
  stateFile?: string
  /**
   * Where sed routes pg_dump's own top-level ownership and privilege statements (see
   * privileged-statements.ts) instead of the restore, for the clean-room role to replay after it;
   * none: they stay in the stream. The copy of the dump keeps them.
   */
  privilegedFile?: string
  /**
   * Route only the statements that name one of these roles (as pg_dump writes them: bare words):
   * under restore-role: superuser the stream keeps owners and grants, and only those naming a
   * predefined role the clean room lacks (predefined-roles.ts) are replayed apart, with stand-ins.
   */
  privilegedRoles?: string[]
}

/**
 * The psql meta-commands a dump may hold: pg_dump (13.22, 14.19, 15.14, 16.10, 17.6 and later)
 * opens and closes a plain dump with `\restrict KEY` / `\unrestrict KEY`, which make psql refuse
 * every other meta-command in between. Any other backslash command outside strings, bodies and
 * comments (\! runs a shell command, \o and \copy write files, \connect changes database,
 * \i reads one) would run on the runner or outside the scratch database, with the runner's
 * secrets in reach: a dump pg_dump wrote never holds one, so the sanitizer stops the stream
 * before psql sees it, wherever it sits on the line, whatever psql's version.
 */
const PG_DUMP_META_COMMAND = '\\\\(restrict|unrestrict) [A-Za-z0-9]+'

/**
 * A privileged statement naming one of `roles` where its forms put a role (after `TO`, `FROM`,
 * `GROUP`, `FOR ROLE`, `OWNER TO`, `SESSION AUTHORIZATION`, followed by `;` or a space), bare
 * as pg_dump writes a predefined role's name: an object or column that happens to carry the
 * name is never there (an extended regular expression for sed and JavaScript alike). The names
 * are predefined roles' (letters and _), so they need no escaping; `roles` is never empty.
 */
export function namingRolesPattern(roles: string[]): string {
  return ` (TO|FROM|GROUP|ROLE|AUTHORIZATION) (${roles.join('|')})(;| )`
}

/** sed's exit code when it stops at a construct the clean room cannot restore faithfully. */
export const SKEW_STOP_EXIT_CODE = 3

const SETTING_NAME = /^[A-Za-z_][A-Za-z0-9_.]*$/

// Character classes, as GNU sed reads them in the C locale (the program runs with LC_ALL=C, so
// every byte is one character and bytes 0x80-0xff are identifier letters, as in psqlscan.l).
const IDENT_START = 'A-Za-z_\\x80-\\xff'
const IDENT_CONT = 'A-Za-z0-9_\\x80-\\xff'
/** A top-level state the lexer works in (kind I is the identity statement's, kept through it). */
const TOP = 'm[.CFI][b(]*'
/** A name as pg_dump writes it with fmtId: bare, or quoted on one line with "" for a quote. */
const NAME = '([a-z_][a-z0-9_$]*|"([^"\\n]|"")*")'
const QUALIFIED = `${NAME}\\.${NAME}`
/**
 * The same name as it reaches a rule that read on across lines: a quoted name may hold line
 * breaks (a newline is only ever inside one in these statements), and "" is a quote.
 */
const NAME_ML = '([a-z_][a-z0-9_$]*|"([^"]|"")*")'
const QUALIFIED_ML = `${NAME_ML}\\.${NAME_ML}`
/** A quoted name still open at the end of what was read: a line break inside it ended the line. */
const OPEN_NAME = '"([^"]|"")*'
/** A setting's value as pg_dump writes it: a literal without escapes, a quoted name, a word or a number. */
const SETTING_VALUE = `('[^'\\\\\\n]*'|"([^"\\n]|"")*"|-?[A-Za-z0-9_.]+)`

/**
 * Builds the GNU sed program (for `LC_ALL=C sed -n -E -f`): it prints every line of the dump
 * (and copies it to `copyFile`) except the lines the rules remove, which go to `removedLinesFile`.
 */
export function buildSedProgram(options: SanitizeRuleOptions): string {
  const known = [...new Set([...options.knownSettings].map(name => name.toLowerCase()))]
    .filter(name => SETTING_NAME.test(name))
    .sort()
  const removed = options.removedLinesFile
  const copy = options.copyFile ? [`w ${options.copyFile}`] : []
  const trace = options.stateFile ? [`w ${options.stateFile}`] : []
  // After printed lines (in the pattern space, about to be replaced): an empty line in the index for
  // each (a statement read across lines prints them together).
  const indexed = options.linesFile ? ['s/[^\\n]+//g', `w ${options.linesFile}`] : []
  // After a printed row of data (the hold space is empty in the row loop): its empty line in the index.
  const indexedRow = options.linesFile ? ['x', `w ${options.linesFile}`, 'x'] : []
  const skew = (id: SkewRuleId) => options.cleanroomMajor < SKEW_RULES[id].rejectedBelow
  // A removed statement: log it with its rule, and continue in `state` (the line is not printed).
  // A statement read across lines is logged on one line, its line breaks written as \n.
  const drop = (rule: SanitizeRuleId, state: string) => [
    `s/^[^\\n]*\\n/${rule} /`,
    's/\\n/\\\\n/g',
    `w ${removed}`,
    `s/.*/${state}/`,
    ...trace,
    'h',
    'd'
  ]
  // A construct no rewrite restores faithfully: log it, and stop the stream before psql runs it.
  const stop = (rule: SkewRuleId | 'psql-meta-command') => [
    `s/^[^\\n]*\\n/!${rule} /`,
    's/\\n/\\\\n/g',
    `w ${removed}`,
    `Q ${SKEW_STOP_EXIT_CODE}`
  ]
  const quote = options.standardConformingStrings ? 's' : 'e'

  const lines: string[] = [
    '# The state starts at the top level.',
    '1{',
    'x',
    's/^/T./',
    'x',
    '}',
    '# Pattern space: the state, a newline, then the line; the hold space keeps the line to print.',
    'x',
    'G',
    '',
    '# ---- Rules: each matches a whole line that starts at the top level.'
  ]

  if (options.linesFile) {
    lines.push(
      '# A TOC comment pg_dump wrote between statements goes into the line index whole.',
      `/^T\\.\\n${TOC_COMMENT_PATTERN.slice(1)}/b toc_comment`
    )
  }
  // The dump says how it quotes strings; the lexer was built for production's setting.
  if (options.privilegedFile) {
    // A whole top-level statement that is exactly one of pg_dump's ownership or privilege
    // statements, on one line or, when a quoted name holds a line break, across lines. The copy of
    // the dump keeps it as it is; the routed file gets it on one line (encodeRouted).
    const route = [
      's/^[^\\n]*\\n//',
      ...copy,
      's/\\\\/\\\\\\\\/g',
      's/\\n/\\\\n/g',
      `w ${options.privilegedFile}`,
      's/.*/T./',
      ...trace,
      'h',
      'd'
    ]
    const forms = privilegedSedPatterns().flatMap(pattern => [`/^T\\.\\+*\\n${pattern}$/{`, ...route, '}'])
    // Only those naming one of the roles as a role.
    const naming = options.privilegedRoles && namingRolesPattern(options.privilegedRoles)
    lines.push(
      "# pg_dump's ownership and privilege statements: replayed by the clean-room role after the restore.",
      `/^T\\.\\n${PRIVILEGED_START}/{`,
      '# Read on while every line break so far is inside a quoted name (a name holding a line break).',
      ':privileged_more',
      `/^T\\.\\+*\\n${privilegedReadOnPattern('sed').replace(/\//g, '\\/')}/{`,
      '$b privileged_read',
      `/^T\\.\\+{${MAX_STATEMENT_LINES}}/b privileged_read`,
      's/^T\\.(\\+*)/T.\\1+/',
      // For tests: the lexer's state after each line read on (inside a quoted name of a statement).
      ...(options.stateFile ? ['x', 's/.*/im./', `w ${options.stateFile}`, 'x'] : []),
      'N',
      'b privileged_more',
      '}',
      ':privileged_read',
      ...(naming ? [`/${naming}/{`, ...forms, '}'] : forms),
      "# Any other: the hold space keeps the lines to print, and the lexer reads them (a line break is a name's).",
      's/^T\\.\\+*/T./',
      'h',
      'x',
      's/^[^\\n]*\\n//',
      'x',
      '}'
    )
  }
  lines.push(
    `/^T\\.\\nSET standard_conforming_strings = ${options.standardConformingStrings ? 'off' : 'on'};$/{`,
    ...stop('standard-conforming-strings'),
    '}'
  )
  if (known.length > 0) {
    const alternation = known.map(escapeRegex).join('|')
    lines.push(
      '# Settings the clean room knows stay.',
      `/^T\\.\\nSET (${alternation}) = ${SETTING_VALUE};$/b keep_top`,
      `/^T\\.\\nSELECT pg_catalog\\.set_config\\('(${alternation})', '[^'\\\\\\n]*', false\\);$/b keep_top`
    )
  }
  lines.push(
    '# Any other session setting is one the clean room would reject: it only configures the restoring session.',
    `/^T\\.\\nSET [A-Za-z_][A-Za-z0-9_.]* = ${SETTING_VALUE};$/{`,
    ...drop('unknown-setting', 'T.'),
    '}',
    "/^T\\.\\nSELECT pg_catalog\\.set_config\\('[A-Za-z_][A-Za-z0-9_.]*', '[^'\\\\\\n]*', false\\);$/{",
    ...drop('unknown-setting', 'T.'),
    '}'
  )
  if (!options.psqlUnderstandsRestrict) {
    lines.push(
      '# This psql predates \\restrict: the meta-command and its \\unrestrict go.',
      '/^T\\.\\n\\\\(restrict|unrestrict)( [A-Za-z0-9]*)?$/{',
      ...drop('psql-meta-command', 'T.'),
      '}'
    )
  }
  lines.push(
    '# \\restrict and \\unrestrict, as pg_dump writes them around a dump, are the only meta-commands psql runs.',
    `/^T\\.\\n${PG_DUMP_META_COMMAND}$/b keep_top`
  )
  const identity = skew('identity-sequence-logged') || skew('identity-sequence-unlogged')
  const compression = skew('column-compression')
  if (identity || compression) {
    // pg_dump writes a name holding a line break as a quoted name across lines, so these two
    // statements may span lines before the part a rule reads. Their first line starts at the
    // top level; sed reads on (N) only while the text so far is pg_dump's own prefix ending
    // inside an open quoted name (at most 63 bytes each), so every line break read is a name's.
    const table = `ALTER (FOREIGN )?TABLE (ONLY )?`
    lines.push(
      '# ALTER TABLE statements a skew rule reads: first read on through names that hold line breaks.',
      `/^T\\.\\n${table}/{`,
      ':alter_more',
      `/^T\\.\\+*\\n${table}(${OPEN_NAME}|${NAME_ML}\\.${OPEN_NAME}|${QUALIFIED_ML} ALTER COLUMN ${OPEN_NAME})$/{`,
      '$b alter_read',
      // A name is at most 63 bytes, so pg_dump's three hold at most 189 line breaks: a dump that is
      // not pg_dump's never makes sed hold more. The count is kept as `+`s after the state.
      '/^T\\.\\+{190}/b alter_read',
      's/^T\\.(\\+*)/T.\\1+/',
      // For tests: the lexer's state after each line read on (inside a quoted name of a statement).
      ...(options.stateFile ? ['x', 's/.*/im./', `w ${options.stateFile}`, 'x'] : []),
      'N',
      'b alter_more',
      '}',
      ':alter_read'
    )
    if (compression) {
      lines.push(
        '# ALTER TABLE ONLY ... ALTER COLUMN ... SET COMPRESSION ...; (pg_dump 14+): how a value is stored, not what it is.',
        `/^T\\.\\+*\\n${table}${QUALIFIED_ML} ALTER COLUMN ${NAME_ML} SET COMPRESSION [a-z0-9]+;$/{`,
        ...drop('column-compression', 'T.'),
        '}'
      )
    }
    if (identity) {
      lines.push(
        '# ALTER TABLE ... ADD GENERATED ... AS IDENTITY (: the statement keeps kind I to its end, so the',
        "# sequence's persistence line (pg_dump 15+, when it differs from its table's) is found after any name.",
        `/^T\\.\\+*\\n${table}${QUALIFIED_ML} ALTER COLUMN ${NAME_ML} ADD GENERATED (ALWAYS|BY DEFAULT) AS IDENTITY \\($/{`,
        's/^T\\.\\+*/mI(/',
        'b keep_lines',
        '}'
      )
    }
    lines.push(
      "# Any other: the hold space keeps the lines to print, and the lexer reads them (a line break is a name's).",
      's/^T\\.\\+*/T./',
      'h',
      'x',
      's/^[^\\n]*\\n//',
      'x',
      '}'
    )
  }
  if (identity) {
    lines.push(
      '# Inside the identity statement, at its top level (depth one), a line written by pg_dump alone:',
      '# SEQUENCE NAME, then the persistence clause, then the options; a name holding a line break ends',
      '# its lines inside the name, where no rule looks.',
      '/^mI\\(\\n    LOGGED$/{',
      ...drop('identity-sequence-logged', 'mI('),
      '}',
      '/^mI\\(\\n    UNLOGGED$/{',
      ...stop('identity-sequence-unlogged'),
      '}'
    )
  }
  if (skew('unlogged-sequence')) {
    // The first line is enough: at the top level only pg_dump writes it, whatever the name holds.
    lines.push('/^T\\.\\nCREATE UNLOGGED SEQUENCE /{', ...stop('unlogged-sequence'), '}')
  }
  if (skew('nulls-not-distinct')) {
    // The first line of a unique constraint or index, written by pg_dump 15+ only for such a key.
    lines.push(
      `/^T\\.\\nCREATE UNIQUE INDEX ${NAME} ON (ONLY )?${QUALIFIED} USING [a-z0-9_]+ \\([^'"\\n]*\\) NULLS NOT DISTINCT( |;$)/{`,
      ...stop('nulls-not-distinct'),
      '}',
      `/^m\\.\\n    ADD CONSTRAINT ${NAME} UNIQUE NULLS NOT DISTINCT /{`,
      ...stop('nulls-not-distinct'),
      '}'
    )
  }

  lines.push(
    '',
    '# ---- The lexer: consume the line token by token, changing state.',
    't lex',
    ':lex',
    `/^mC\\n FROM stdin;$/{`,
    's/.*/C/',
    'b lexed',
    '}',
    `s/^(T\\.|${TOP})\\n[ \\t\\r\\f\\v]+/\\1\\n/`,
    '/^[^\\n]*\\n$/b lexed',
    '# Top level, between statements: comments, psql meta-commands, or the start of a statement.',
    '/^T\\.\\n/{',
    '/^T\\.\\n--/b rest_of_line',
    '/^T\\.\\n\\\\/{',
    ...stop('psql-meta-command'),
    '}',
    's/^T\\.\\n\\/\\*/cT.#*\\n/',
    't lex',
    's/^T\\.\\nCOPY /mC\\nCOPY /',
    't lex',
    's/^T\\.\\n(CREATE (OR REPLACE )?(FUNCTION|PROCEDURE) )/mF\\n\\1/',
    't lex',
    's/^T\\./m./',
    '}',
    '# Inside a statement, at the top level.',
    '/^m/{',
    `/^${TOP}\\n--/b rest_of_line`,
    `/^${TOP}\\n\\\\/{`,
    ...stop('psql-meta-command'),
    '}',
    `s/^(${TOP})\\n\\/\\*/c\\1#*\\n/`,
    't lex',
    // B'' and X'' never take escapes; E'' always does.
    `s/^(${TOP})\\n[BbXx]'/s\\1\\n/`,
    't lex',
    `s/^(${TOP})\\n[Ee]'/e\\1\\n/`,
    't lex',
    `s/^(${TOP})\\n[Uu]&'/s\\1\\n/`,
    't lex',
    `s/^(${TOP})\\n'/${quote}\\1\\n/`,
    't lex',
    `s/^(${TOP})\\n[Uu]&"/i\\1\\n/`,
    't lex',
    `s/^(${TOP})\\n"/i\\1\\n/`,
    't lex',
    `s/^(${TOP})\\n(\\$([${IDENT_START}][${IDENT_CONT}]*)?\\$)/d\\1#\\2\\n/`,
    't lex',
    `s/^(${TOP}\\n)\\$[0-9]+/\\1/`,
    't lex',
    '# psql counts BEGIN ... END (and CASE ... END inside them) in a function body at depth 0.',
    `s/^(mFb*)\\n[Bb][Ee][Gg][Ii][Nn]($|[^${IDENT_CONT}$])/\\1b\\n\\2/`,
    't lex',
    `s/^(mFb+)\\n[Cc][Aa][Ss][Ee]($|[^${IDENT_CONT}$])/\\1b\\n\\2/`,
    't lex',
    `s/^(mFb*)b\\n[Ee][Nn][Dd]($|[^${IDENT_CONT}$])/\\1\\n\\2/`,
    't lex',
    `s/^(${TOP}\\n)[${IDENT_START}][${IDENT_CONT}$]*/\\1/`,
    't lex',
    `s/^(${TOP}\\n)([0-9]+(\\.[0-9]*)?|\\.[0-9]+)([Ee][-+]?[0-9]+)?/\\1/`,
    't lex',
    `s/^(${TOP})\\n\\(/\\1(\\n/`,
    't lex',
    `s/^(${TOP})\\(\\n\\)/\\1\\n/`,
    't lex',
    's/^m([.CFI])\\n;/T.\\n/',
    't lex',
    `s/^(${TOP}\\n)[^${IDENT_CONT}'"$;()\\\\ \\t\\r\\f\\v/-]+/\\1/`,
    't lex',
    `s/^(${TOP}\\n)[^\\n]/\\1/`,
    't lex',
    '}',
    "# Inside '...': '' is a quote.",
    '/^s/{',
    "s/^(s[^\\n]*\\n)[^']+/\\1/",
    "s/^(s[^\\n]*\\n)''/\\1/",
    't lex',
    "s/^s([^\\n]*)\\n'/\\1\\n/",
    't lex',
    '}',
    "# Inside E'...': a backslash escapes the next character (a newline too).",
    '/^e/{',
    "s/^(e[^\\n]*\\n)[^'\\\\]+/\\1/",
    "s/^(e[^\\n]*\\n)(\\\\.|\\\\$|'')/\\1/",
    't lex',
    "s/^e([^\\n]*)\\n'/\\1\\n/",
    't lex',
    '}',
    '# Inside "...": "" is a quote.',
    '/^i/{',
    's/^(i[^\\n]*\\n)[^"]+/\\1/',
    's/^(i[^\\n]*\\n)""/\\1/',
    't lex',
    's/^i([^\\n]*)\\n"/\\1\\n/',
    't lex',
    '}',
    '# Inside a dollar-quoted body: only its own tag ends it.',
    '/^d/{',
    's/^(d[^\\n]*\\n)[^$]+/\\1/',
    's/^d([^#\\n]*)#([^\\n]*)\\n\\2/\\1\\n/',
    't lex',
    's/^(d[^\\n]*\\n)\\$/\\1/',
    't lex',
    '}',
    '# Inside a comment: /* nests, */ closes one level.',
    '/^c/{',
    's/^(c[^\\n]*\\n)[^*/]+/\\1/',
    's/^(c[^\\n]*)\\n\\/\\*/\\1*\\n/',
    't lex',
    's/^c([^#\\n]*)#\\*\\n\\*\\//\\1\\n/',
    't lex',
    's/^(c[^\\n]*)\\*\\n\\*\\//\\1\\n/',
    't lex',
    's/^(c[^\\n]*\\n)[*/]/\\1/',
    't lex',
    '}',
    'b lex',
    '',
    ':rest_of_line',
    's/\\n.*/\\n/',
    '',
    '# ---- The line is lexed: keep its end state, print it.',
    ':lexed',
    's/\\n.*//',
    ...trace,
    '/^C$/{',
    'x',
    'p',
    ...copy,
    // The hold space stays empty through the rows (the index's line of each).
    ...(options.linesFile ? [...indexed, 'h'] : []),
    'b copy',
    '}',
    'x',
    'p',
    ...copy,
    ...indexed,
    'd',
    '',
    '# A rule matched a complete statement: the line ends at the top level.',
    ':keep_top',
    's/.*/T./',
    ...trace,
    'x',
    'p',
    ...copy,
    ...indexed,
    'd',
    '',
    "# A rule read a statement's first lines (pattern: the new state, then the lines): print them all.",
    ':keep_lines',
    'h',
    's/^[^\\n]*\\n//',
    'p',
    ...copy,
    ...indexed,
    'x',
    's/\\n.*//',
    ...trace,
    'h',
    'd',
    '',
    '# ---- Row data: printed as it is until the line \\. alone.',
    ':copy',
    'n',
    '/^\\\\\\.$/!{',
    'p',
    ...copy,
    ...indexedRow,
    'b copy',
    '}',
    'p',
    ...copy,
    ...indexed,
    's/.*/T./',
    ...trace,
    'h',
    'd'
  )
  if (options.linesFile) {
    lines.push(
      '',
      '# A TOC comment between statements: the line index keeps it whole; the state stays at the top level.',
      ':toc_comment',
      's/.*/T./',
      ...trace,
      'x',
      'p',
      ...copy,
      `w ${options.linesFile}`,
      'd'
    )
  }
  return lines.join('\n') + '\n'
}

function escapeRegex(text: string): string {
  return text.replace(/[.[\]{}()*+?^$|\\]/g, '\\$&')
}

/** One line of the removed-lines file, parsed. */
export interface RemovedLine {
  rule: SanitizeRuleId
  /** True for a construct that stopped the stream (no faithful rewrite exists). */
  stopped: boolean
  line: string
}

export function parseRemovedLine(text: string): RemovedLine | undefined {
  const match = /^(!?)([a-z-]+) (.*)$/s.exec(text)
  if (!match) return undefined
  return { rule: match[2] as SanitizeRuleId, stopped: match[1] === '!', line: match[3] }
}

/** Counts removed lines per rule and setting or construct, in order of first appearance. */
export function summarizeRemovedLines(removedLines: Iterable<string>): SanitizedDirective[] {
  const counts = new Map<string, SanitizedDirective>()
  for (const text of removedLines) {
    const removed = parseRemovedLine(text)
    if (!removed || removed.stopped) continue
    const parameter = removedParameter(removed)
    const key = `${removed.rule} ${parameter}`
    const entry = counts.get(key) ?? { parameter, lines: 0, rule: removed.rule }
    entry.lines++
    counts.set(key, entry)
  }
  return [...counts.values()]
}

/**
 * The error for a dump that holds a psql meta-command pg_dump never writes (`line` is the rest of
 * its line from the backslash on). Names the command only: the rest is the dump's content. Pure.
 */
export function metaCommandStopMessage(line: string): string {
  const command = /^\\[A-Za-z!?.;]*/.exec(line)?.[0] || '\\'
  return (
    `The dump holds the psql meta-command ${command} outside any string, body or comment, which psql would run on ` +
    `this runner rather than as SQL in the clean room: a dump pg_dump wrote holds none but \\restrict and ` +
    `\\unrestrict, so Lazarus refuses to restore it. Check where this backup came from` +
    (command === '\\connect' || command === '\\c'
      ? ' (a plain backup taken with pg_dump --create: take it without --create).'
      : '.')
  )
}

/** The construct that stopped the stream, if one did. */
export function stoppedConstruct(removedLines: Iterable<string>): RemovedLine | undefined {
  for (const text of removedLines) {
    const removed = parseRemovedLine(text)
    if (removed?.stopped) return removed
  }
  return undefined
}

function removedParameter(removed: RemovedLine): string {
  const { rule, line } = removed
  if (rule === 'unknown-setting') {
    const set = /^SET ([A-Za-z0-9_.]+) = /.exec(line)
    if (set) return set[1].toLowerCase()
    const setConfig = /^SELECT pg_catalog\.set_config\('([^']+)'/.exec(line)
    if (setConfig) return setConfig[1].toLowerCase()
  }
  if (rule === 'psql-meta-command') {
    const meta = /^(\\[a-z]+)/.exec(line)
    if (meta) return meta[1]
  }
  return rule in SKEW_RULES ? SKEW_RULES[rule as SkewRuleId].construct : line.slice(0, 40)
}
