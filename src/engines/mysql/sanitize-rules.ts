/**
 * Pure rules for the sanitizing sed program of MySQL/MariaDB dumps: a lexer of the dump as the
 * restoring client reads it (dump-lexer.ts is the same lexer in TypeScript; a test holds the two
 * to the same answers), and the version-skew rules of skew-catalogue.ts, which may remove or
 * rewrite only what mysqldump itself wrote, in a place the lexer says is code: never anything
 * inside a string, an identifier, a comment, a routine's body or row data.
 *
 * Why a lexer: production decides the text of rows, comments, defaults, view and routine bodies.
 * A rule that matched lines wherever they are could be aimed: a row whose text reads like a
 * DEFINER clause, or a body line that reads like one of mysqldump's own, would be rewritten, and
 * a rewrite that moved a quote would let production's text run as statements in the clean room.
 * And the client itself runs commands from its input (`\! cmd` runs a shell command on the
 * runner, `source` reads a file, `tee` writes one): the lexer refuses any client command outside
 * strings and comments but mysqldump's own `DELIMITER` lines and sandbox line, wherever it is on
 * the line, before the client sees it (the client also runs in --binary-mode, which leaves it
 * only `\C` and `delimiter`: two locks on the same door).
 *
 * The lexer's state lives in sed's hold space between lines, as three characters (dump-lexer.ts,
 * stateName): the mode (T between statements, m statement code, s '...', q "...", b `...`,
 * c a comment in a statement, C one between statements), the statement's kind (`.`, V a view's
 * CREATE, K a CREATE TABLE: the rules that read inside a statement need it), and the delimiter
 * (1 for `;`, 2 for mysqldump's `;;`).
 */

import { NAMED_COMMAND_LINE, NAMED_COMMANDS, type ClientFlavour } from './dump-lexer.js'
import { OBJECT_LINE_PATTERN } from './restore-failure.js'
import { collationRewrites, MYSQL_0900_COLLATIONS, SKEW_RULES, type SkewRuleId } from './skew-catalogue.js'

/** Rules beyond the skew catalogue: what the sanitizer refuses because it cannot be read for sure. */
export type GuardRuleId = 'client-command' | 'optimizer-hint' | 'sql-mode' | 'multibyte-charset'
/**
 * Rules that keep what the dump holds from acting by itself from the clean room: `event-status`
 * restores every ENABLEd event DISABLE ON SLAVE (or ON REPLICA), so that the clean room's event
 * scheduler never runs production's SQL there (as the restoring account: the DEFINERs are gone);
 * `remote-engine` stops at a table whose rows live on another server (FEDERATED, CONNECT,
 * SPIDER; MariaDB's S3 in an object store), which the restore's INSERTs and Lazarus's reads would reach from the clean room, with
 * the credentials production's table names; `path-option` takes out the table and partition
 * options that name a place on the server's disk (DATA DIRECTORY, INDEX DIRECTORY, TABLESPACE), so
 * that production's text never decides where the clean room writes files.
 */
export type SafetyRuleId = 'event-status' | 'remote-engine' | 'path-option'
/** Rules that follow the restored copy's other database name (it is never production's). */
export type RenameRuleId = 'database-name'
export type SanitizeRuleId = SkewRuleId | GuardRuleId | SafetyRuleId | RenameRuleId

/** What the report calls the constructs of the safety rules. */
export const SAFETY_RULES: Record<SafetyRuleId, { construct: string }> = {
  'event-status': {
    construct: 'the ENABLE status of events (restored DISABLE ON SLAVE, so that they never run in the clean room)'
  },
  'remote-engine': { construct: 'a table whose rows live on another server (ENGINE=FEDERATED, CONNECT, SPIDER or S3)' },
  'path-option': {
    construct:
      "table and partition options naming production's files (DATA DIRECTORY, INDEX DIRECTORY, TABLESPACE), removed: the clean room keeps the files in its own data directory"
  }
}

/**
 * Storage engines whose rows live outside the server: FEDERATED, CONNECT and SPIDER on other
 * servers (with the credentials the table names), MariaDB's S3 in an object store. As an ERE group.
 */
const REMOTE_ENGINES = '(FEDERATED|CONNECT|SPIDER|S3)'

/** sed's exit code when it stops the stream. */
export const STOP_EXIT_CODE = 3

export interface SanitizeRuleOptions {
  /** The restoring client's flavour (MariaDB's reads `/*M!` as code, MySQL's as a comment). */
  clientFlavour: ClientFlavour
  /** Whether the restoring client knows the sandbox command `\-` (tools.ts, clientKnowsSandbox). */
  clientKnowsSandbox: boolean
  /** The clean room: its flavour, release ("10.11.19", "8.0.36") and collations (SHOW COLLATION). */
  /**
   * The clean room: its flavour, release ("10.11.19", "8.0.36") and collations, by their full
   * names (MariaDB 10.10+: information_schema.COLLATION_CHARACTER_SET_APPLICABILITY's
   * FULL_COLLATION_NAME, which has utf8mb4_uca1400_ai_ci where COLLATIONS says uca1400_ai_ci).
   */
  cleanroom: { flavour: ClientFlavour; version: string; collations: Iterable<string> }
  /**
   * Production's database: SHOW CREATE writes a sequence's name with it (`nextval(\`db\`.\`s\`)`)
   * in a column's DEFAULT and in a view, which the scratch database (another name) cannot resolve.
   */
  productionDatabase?: string
  /** Where sed writes each line a rule removed or rewrote (`<rule> <line>`), and the line that stopped it (`!<rule> <line>`). */
  removedLinesFile: string
  /**
   * Where sed writes the first of the lines a dump writes only after its own transaction began
   * (`-- Table structure for table`, `-- Dumping routines`, ..., `-- Dump completed`): the run
   * releases production's global read lock once this file is not empty (sed creates it empty).
   */
  markerFile: string
  /**
   * Where sed writes one line per line it prints: the line itself when it names an object
   * (restore-failure.ts, OBJECT_LINE_PATTERN) between statements, an empty line otherwise. Its
   * line numbers are the client's, so the line of a failed statement finds the object.
   */
  linesFile?: string
  /** Where sed also keeps a copy of the sanitized dump (for the drill), if anywhere. */
  copyFile?: string
  /** For tests: where sed writes its state after each line it prints. */
  stateFile?: string
}

/** An account as mysqldump writes a DEFINER: `user`@`host`, or a MariaDB role `role`. */
const ACCOUNT = '`([^`]|``)*`(@`([^`]|``)*`)?'
/** A backquoted name on one line, `` doubling a backquote. */
const NAME = '`([^`]|``)*`'
/** A string literal as SHOW CREATE writes one: on one line, '' or \\ escaping. */
const STRING = "'([^'\\\\]|''|\\\\.)*'"
/** A column type as SHOW CREATE TABLE writes it before a CHARACTER SET or COLLATE clause. */
const COLUMN_TYPE = `([a-z]+(\\([0-9]+(,[0-9]+)?\\))?( unsigned| zerofill| binary)*|(enum|set)\\(${STRING}(,${STRING})*\\))`
const WORD_CHAR = 'A-Za-z0-9_$\\x80-\\xff'
const SPATIAL_TYPES =
  'geometry|point|linestring|polygon|multipoint|multilinestring|multipolygon|geomcollection|geometrycollection'

/** `name` quoted as SHOW CREATE quotes it. */
function quoteIdentifier(name: string): string {
  return '`' + name.replace(/`/g, '``') + '`'
}

/** `text` as an ERE (sed -E, `/` as the delimiter) matching exactly it. */
export function ereLiteral(text: string): string {
  return text.replace(/[\\^$.*+?()[\]{}|\/]/g, '\\$&').replace(/\n/g, '\\n')
}

/**
 * An ERE for the numbers of exactly `width` digits above `n` (the versioned comments a server
 * skips: MySQL and MariaDB run `/*!NNNNN ... *\/` only from release NNNNN on).
 */
export function numbersAbove(n: number, width: number): string {
  const digits = String(n).padStart(width, '0')
  if (digits.length > width) return 'X^'
  const alternatives: string[] = []
  for (let i = 0; i < width; i++) {
    const d = Number(digits[i])
    if (d === 9) continue
    const rest = width - i - 1
    alternatives.push(`${digits.slice(0, i)}[${d + 1}-9]${rest > 0 ? `[0-9]{${rest}}` : ''}`)
  }
  return alternatives.length > 0 ? `(${alternatives.join('|')})` : 'X^'
}

/** A release as the version number of a versioned comment: 10.11.19 → 101119, 8.0.36 → 80036. */
export function versionNumber(version: string): number {
  const [major, minor, patch] = (/^(\d+)\.(\d+)\.(\d+)/.exec(version) ?? ['', '0', '0', '0']).slice(1).map(Number)
  return major * 10000 + minor * 100 + patch
}

/**
 * A schedule as SHOW CREATE EVENT writes it (MySQL's and MariaDB's Event_timed::get_create_event):
 * `AT '<datetime>'`, or `EVERY <n> <unit>` (a compound interval quoted, `'1:30' HOUR_MINUTE`) with
 * optional `STARTS '<datetime>'` and `ENDS '<datetime>'`. Its strings hold only digits, spaces
 * and `:.-`, so no quote or backslash inside can move where the clause after it is.
 */
const EVENT_SCHEDULE = "(AT '[0-9: .-]*'|EVERY ('[0-9: .-]*'|[0-9]+) [A-Z_]+( STARTS '[0-9: .-]*')?( ENDS '[0-9: .-]*')?)"

/**
 * The status clause of an event, where mysqldump writes it: the event's CREATE is one statement
 * between statements, `/*!50106 CREATE*\/ [/*!50117 DEFINER=...*\/ ]/*!50106 EVENT `name` ON
 * SCHEDULE <schedule> ON COMPLETION [NOT] PRESERVE <status>[ COMMENT '...'] DO <body>`, the status
 * ENABLE, DISABLE or DISABLE ON SLAVE (MySQL 8.2+: ON REPLICA) (client/mysqldump.cc
 * dump_events_for_db, sql/event_data_objects.cc Event_timed::get_create_event). Anchored at the
 * statement's start and read through the name (backquoted) and the schedule (strings of digits),
 * the clause is the status, never text of a name, a comment or the body.
 *
 * ENABLE becomes DISABLE ON SLAVE: the event scheduler runs no such event (a replica's copy of an
 * enabled event), whatever the clean room's event_scheduler says, and the restored status still
 * tells production's ENABLE apart from a plain DISABLE. Any other CREATE or ALTER of an event
 * between statements stops the stream: a status the rule cannot find could be ENABLE.
 */
function eventStatusRules(
  cleanroom: SanitizeRuleOptions['cleanroom'],
  rewrite: (rule: SanitizeRuleId, edits: string[]) => string[],
  stop: (rule: SanitizeRuleId) => string[]
): string[] {
  const head = `(T..\\n\\/\\*!50106 CREATE\\*\\/ (\\/\\*!50117 DEFINER=${ACCOUNT}\\*\\/ )?\\/\\*!50106 EVENT ${NAME} ON SCHEDULE ${EVENT_SCHEDULE} ON COMPLETION (NOT )?PRESERVE )`
  const disabled = eventDisableClause(cleanroom)
  return [
    '# Events: restored unable to run (ENABLE becomes DISABLE ON SLAVE); an event whose status the rule cannot find stops the stream.',
    '/^T..\\n\\/\\*!50106 CREATE\\*\\/ /{',
    `/^${head}ENABLE( COMMENT | DO )/{`,
    ...rewrite('event-status', [`s/^${head}ENABLE /\\1\\n/`, `s/\\n/${disabled} /2`]),
    '}',
    `/^${head}DISABLE( ON (SLAVE|REPLICA))?( COMMENT | DO )/!{`,
    ...stop('event-status'),
    '}',
    '}',
    // mysqldump writes events only as above: a CREATE or ALTER of an event in any other form is not its own.
    '/^T..\\n\\/\\*!50106 CREATE\\*\\/ /!{',
    '/^T..\\n(\\/\\*![0-9]* ?)?(CREATE|ALTER)[^\'"`]* EVENT /I{',
    ...stop('event-status'),
    '}',
    '}'
  ]
}

/**
 * Code characters on a CREATE TABLE's line read one at a time by the path-option rule: none that
 * starts a string, a name, a comment or a client command.
 */
const PLAIN = `[^'"\`#/\\\\-]`
/** The same, but for a star: after a slash it would open a comment. */
const PLAIN_NOT_STAR = `[^'"\`#/\\\\*-]`
/**
 * One token of a CREATE TABLE's line as SHOW CREATE TABLE writes it, read from the line's start in
 * code: a plain character, a name, a string (`'a''b'` read as two strings covers the same text as
 * the one the client reads), a versioned comment's opening (code to the clean room: the lexer
 * stops any it would skip), or a / or - that opens no comment.
 */
const TOKEN = `(${PLAIN}|${NAME}|${STRING}|\\/\\*M?![0-9]{5,6}|\\/${PLAIN_NOT_STAR}|-${PLAIN})`
/** Tokens up to a space: where an option starts. */
const BEFORE_OPTION = `(${TOKEN}* )`
/**
 * The options that name a place on the server's disk, as mysqldump copies them from SHOW CREATE
 * TABLE (MariaDB's and MySQL's sql_show.cc store_create_info: ` DATA DIRECTORY='...'`, ` INDEX
 * DIRECTORY='...'`, MySQL's ` /*!50100 TABLESPACE `ts` *\/`; sql_partition.cc
 * add_partition_options: ` DATA DIRECTORY = '...'`, ` TABLESPACE = `ts``), and a space after.
 */
const PATH_OPTION = `((DATA|INDEX) DIRECTORY ?= ?${STRING}|TABLESPACE( ?= ?| )(${NAME}|[A-Za-z0-9_]+)|\\/\\*!50100 TABLESPACE ${NAME}( STORAGE (DISK|MEMORY))? \\*\\/) ?`
/** The words of a path option in any spelling, for the lines the rule cannot read for sure. */
const PATH_WORDS = '(DATA|INDEX)[ \\t]+DIRECTORY|TABLESPACE'

/**
 * Table and partition options that name a file or directory on the server (DATA DIRECTORY, INDEX
 * DIRECTORY, MySQL's TABLESPACE) are taken out of every CREATE TABLE line, where the line read
 * token by token from its start in code says they are options: restored as they are, the clean
 * room would write files where production's text says (or refuse the table, and the run would
 * call a faithful backup unrestorable). The clean room keeps the table in its own data directory
 * and file-per-table space instead: the rows, columns and indexes are the same. A CREATE TABLE
 * line that holds such words where the rule cannot tell for sure that they are text (a line that
 * starts inside a string, or holds what SHOW CREATE TABLE never writes) stops the stream.
 */
function pathOptionRules(
  rewrite: (rule: SanitizeRuleId, edits: string[]) => string[],
  stop: (rule: SanitizeRuleId) => string[]
): string[] {
  return [
    "# Table and partition options naming production's files (DATA/INDEX DIRECTORY, TABLESPACE): removed where the line's tokens say they are options.",
    `/^mK.\\n${BEFORE_OPTION}${PATH_OPTION}/{`,
    ...rewrite('path-option', [':path_option', `s/^(mK.\\n${BEFORE_OPTION})${PATH_OPTION}/\\1/`, 't path_option']),
    '}',
    '/^.K.\\n/{',
    `/${PATH_WORDS}/I{`,
    `/^mK.\\n${TOKEN}*(\\/|-)?$/!{`,
    ...stop('path-option'),
    '}',
    `/^mK.\\n${BEFORE_OPTION}(${PATH_WORDS})/I{`,
    ...stop('path-option'),
    '}',
    '}',
    '}'
  ]
}

/** How the clean room spells a replica's disabled status: DISABLE ON REPLICA from MySQL 8.2 (ON SLAVE deprecated), ON SLAVE elsewhere. */
export function eventDisableClause(cleanroom: { flavour: ClientFlavour; version: string }): string {
  return cleanroom.flavour === 'mysql' && versionNumber(cleanroom.version) >= 80200 ? 'DISABLE ON REPLICA' : 'DISABLE ON SLAVE'
}

/**
 * The events the sanitizer restored disabled (rule event-status), by name as the dump wrote them
 * (backquotes undone), from its removed-lines records. Pure.
 */
export function disabledEvents(removedLines: Iterable<string>): string[] {
  const names: string[] = []
  for (const text of removedLines) {
    const removed = parseRemovedLine(text)
    if (!removed || removed.stopped || removed.rule !== 'event-status') continue
    const name = /\/\*!50106 EVENT `((?:[^`]|``)*)` ON SCHEDULE /.exec(removed.line)?.[1]
    if (name !== undefined) names.push(name.replace(/``/g, '`'))
  }
  return names
}

/**
 * Builds the GNU sed program (for `LC_ALL=C sed -n -E -f`): it prints every line of the dump
 * (and copies it to `copyFile`) but those the rules remove, rewrites those the rules rewrite, and
 * stops (exit STOP_EXIT_CODE) at a line it must not pass.
 */
export function buildSedProgram(options: SanitizeRuleOptions): string {
  const removed = options.removedLinesFile
  const copy = options.copyFile ? [`w ${options.copyFile}`] : []
  const trace = options.stateFile ? [`w ${options.stateFile}`] : []
  const mariadbCleanroom = options.cleanroom.flavour === 'mariadb'
  const cleanroomNumber = versionNumber(options.cleanroom.version)
  const collations = [...options.cleanroom.collations].map(name => name.toLowerCase())
  const rewrites = collationRewrites(collations)
  const known0900 = collations.filter(name => /^utf8mb4_[a-z0-9_]*0900_[a-z_]+$/.test(name))
  // A line a rule removes: log it with its rule, and go on in `state` (the line is not printed).
  const drop = (rule: SanitizeRuleId, state: string) => [
    `s/^[^\\n]*\\n/${rule} /`,
    's/\\n/\\\\n/g',
    `w ${removed}`,
    `s/.*/${state}/`,
    ...trace,
    'h',
    'd'
  ]
  // A line the stream must not pass: log it, and stop before the client reads it.
  const stop = (rule: SanitizeRuleId) => [`s/^[^\\n]*\\n/!${rule} /`, 's/\\n/\\\\n/g', `w ${removed}`, `Q ${STOP_EXIT_CODE}`]
  // A line a rule rewrites (`edits`, sed commands on `state\nline`): log the line as it was, then keep the rewritten one to print.
  const rewrite = (rule: SanitizeRuleId, edits: string[]) => [
    'h',
    `s/^[^\\n]*\\n/${rule} /`,
    `w ${removed}`,
    'g',
    ...edits,
    'h',
    'x',
    's/^[^\\n]*\\n//',
    'x'
  ]

  const lines: string[] = [
    '# The state starts between statements, delimiter ;.',
    '1{',
    'x',
    's/^/T.1/',
    'x',
    '}',
    '# Pattern space: the state, a newline, then the line; the hold space keeps the line to print.',
    'x',
    'G',
    '# (Clears the substitution flag the first line set, for the t commands below.)',
    't rules',
    ':rules',
    '',
    "# ---- Rules. mariadb-dump's sandbox line, the dump's first.",
    '1{',
    '/^T\\.1\\n\\/\\*M?!999999\\\\- enable the sandbox mode \\*\\/ ?$/{',
    ...(options.clientKnowsSandbox ? ['s/\\n.*/\\n/', 'b lexed'] : drop('sandbox-line', 'T.1')),
    '}',
    '}',
    "# mysqldump's own delimiter lines, the only ones the client may read.",
    's/^T..\\nDELIMITER ;;$/T.2\\n/',
    't lexed',
    's/^T..\\nDELIMITER ;$/T.1\\n/',
    't lexed',
    "# The client's named commands (source, system, tee, connect, use...), which it runs when a line between statements starts with one.",
    `/^T..\\n[ \\t]*(${NAMED_COMMANDS.map(name => name.replace('?', '\\?')).join('|')})([ \\t;]|$)/I{`,
    ...stop('client-command'),
    '}',
    '# GTID state: replication settings of production, which need SUPER on the clean room.',
    '/^T..\\nSET @MYSQLDUMP_TEMP_LOG_BIN = @@SESSION\\.SQL_LOG_BIN;$/{',
    ...drop('gtid-state', 'T.1'),
    '}',
    '/^T..\\nSET @@SESSION\\.SQL_LOG_BIN ?= ?(0|@MYSQLDUMP_TEMP_LOG_BIN);$/{',
    ...drop('gtid-state', 'T.1'),
    '}',
    "/^T..\\nSET GLOBAL gtid_slave_pos ?= ?'[0-9,-]*';$/{",
    ...drop('gtid-state', 'T.1'),
    '}',
    // The GTID set may span lines (MySQL writes a line break after each comma); only its characters are read on.
    '/^T..\\nSET @@GLOBAL\\.GTID_PURGED ?= ?/{',
    ':gtid',
    "/^T..\\nSET @@GLOBAL\\.GTID_PURGED ?= ?(\\/\\*!80000 '\\+'\\*\\/ )?'[0-9A-Fa-f:,\\n -]*';$/{",
    ...drop('gtid-state', 'T.1'),
    '}',
    "/^T..\\nSET @@GLOBAL\\.GTID_PURGED ?= ?(\\/\\*!80000 '\\+'\\*\\/ )?'[0-9A-Fa-f:,\\n -]*$/{",
    '$b gtid_stop',
    'N',
    'b gtid',
    '}',
    ':gtid_stop',
    ...stop('gtid-state'),
    '}',
    "# DEFINER clauses, where mysqldump writes them: routines, triggers, events (between statements), views (a CREATE's second line).",
    `/^T..\\nCREATE DEFINER=${ACCOUNT} /{`,
    ...rewrite('definer', [`s/^(T..\\nCREATE )DEFINER=${ACCOUNT} /\\1/`]),
    '}',
    `/^T..\\n\\/\\*!50003 CREATE\\*\\/ \\/\\*!50017 DEFINER=${ACCOUNT}\\*\\/ \\/\\*!50003 TRIGGER /{`,
    ...rewrite('definer', [`s/^(T..\\n\\/\\*!50003 CREATE\\*\\/ )\\/\\*!50017 DEFINER=${ACCOUNT}\\*\\/ /\\1/`]),
    '}',
    `/^T..\\n\\/\\*!50106 CREATE\\*\\/ \\/\\*!50117 DEFINER=${ACCOUNT}\\*\\/ \\/\\*!50106 EVENT /{`,
    ...rewrite('definer', [`s/^(T..\\n\\/\\*!50106 CREATE\\*\\/ )\\/\\*!50117 DEFINER=${ACCOUNT}\\*\\/ /\\1/`]),
    '}',
    `/^mV.\\n\\/\\*!50013 DEFINER=${ACCOUNT} SQL SECURITY (DEFINER|INVOKER) \\*\\/$/{`,
    ...rewrite('definer', [`s/^(mV.\\n\\/\\*!50013 )DEFINER=${ACCOUNT} /\\1/`]),
    '}',
    ...eventStatusRules(options.cleanroom, rewrite, stop),
    ...pathOptionRules(rewrite, stop),
    "# A table whose rows live elsewhere: restored, its INSERTs and Lazarus's reads would reach that server from the clean room.",
    // Anywhere on the table's options line, not only first: the servers write a DATA DIRECTORY path
    // unescaped, so a path holding a quote could carry a second ENGINE= after it (the last one wins).
    `/^mK.\\n\\) .*ENGINE *= *${REMOTE_ENGINES}([^A-Za-z0-9_]|$)/I{`,
    ...stop('remote-engine'),
    '}'
  ]

  if (options.productionDatabase !== undefined) {
    // MariaDB's SHOW CREATE TABLE and SHOW CREATE VIEW name a sequence with its database, always
    // (`DEFAULT nextval(\`shop\`.\`s\`)`, `select nextval(\`shop\`.\`s\`)`), and the scratch database
    // has another name: the restore fails on "Table 'shop.s' doesn't exist". The qualifier of
    // production's own database is taken out, on a CREATE TABLE's column lines and a view's lines
    // (never rows, routine or trigger bodies, which keep what production's author wrote). What is
    // removed is a whole backquoted name and its dot, right after `nextval(`: it cannot change where a
    // string or another name ends (inside a name every backquote is doubled, so it never matches
    // there); a string that happens to hold the same text is changed, which the schema comparison shows.
    const sequenceOf = `((next|last|set)val\\()${ereLiteral(quoteIdentifier(options.productionDatabase))}\\.(\`)`
    lines.push(
      "# A sequence named with production's database (column DEFAULTs, views): the scratch database has another name.",
      `/^m[KV].\\n.*${sequenceOf}/{`,
      ...rewrite('database-name', [`s/${sequenceOf}/\\1\\3/g`]),
      '}'
    )
  }

  if (rewrites.size > 0) {
    // The collation is marked by a second newline before it, then renamed by an exact match.
    const rename = [
      ...[...rewrites].map(([from, to]) => `s/\\n${from}([^A-Za-z0-9_]|$)/\\n${to}\\1/`),
      's/^([^\\n]*\\n[^\\n]*)\\n/\\1/'
    ]
    const lacking = `(${[...rewrites.keys()].join('|')})([^A-Za-z0-9_]|$)`
    const column = `^(mK.\\n  ${NAME} ${COLUMN_TYPE}( CHARACTER SET [a-z0-9_]+)? COLLATE )`
    const table = '^(mK.\\n\\) ENGINE=[A-Za-z0-9_]+( AUTO_INCREMENT=[0-9]+)? DEFAULT CHARSET=[a-z0-9_]+ COLLATE=)'
    const connection = '^(T..\\n\\/\\*!5000[13] SET collation_connection *= )'
    lines.push("# utf8mb4_0900_* collations the clean room lacks, where mysqldump writes them: to the clean room's equivalent.")
    for (const context of [column, table, connection]) {
      lines.push(
        `/${context}${lacking}/{`,
        ...rewrite('collation-0900', [`s/${context}utf8mb4_/\\1\\nutf8mb4_/`, ...rename]),
        '}'
      )
    }
  }

  if (mariadbCleanroom) {
    lines.push(
      "# MySQL 8 clauses in versioned comments MariaDB would skip: MariaDB's own syntax where it has one.",
      `/^mK.\\n  ${NAME} .* \\/\\*!80023 INVISIBLE \\*\\/,?$/{`,
      ...rewrite('mysql-versioned-comment', ['s/ \\/\\*!80023 INVISIBLE \\*\\/(,?)$/ INVISIBLE\\1/']),
      '}',
      // MySQL writes the SRID after the column's NULL or NOT NULL (sql_show.cc store_create_info:
      // `pos` point NOT NULL /*!80003 SRID 4326 */); MariaDB takes REF_SYSTEM_ID only right after the type.
      `/^mK.\\n  ${NAME} (${SPATIAL_TYPES})( NOT NULL| NULL)? \\/\\*!80003 SRID [0-9]+ \\*\\//{`,
      ...rewrite('mysql-versioned-comment', [
        `s/^(mK.\\n  ${NAME} (${SPATIAL_TYPES}))( NOT NULL| NULL)? \\/\\*!80003 SRID ([0-9]+) \\*\\//\\1 REF_SYSTEM_ID=\\5\\4/`
      ]),
      '}'
    )
    // IGNORED indexes came with MariaDB 10.6: before it, the clause stops the stream (below).
    if (cleanroomNumber >= 100600) {
      lines.push(
        '/^mK.\\n  ((UNIQUE|FULLTEXT|SPATIAL) )?KEY .* \\/\\*!80000 INVISIBLE \\*\\/,?$/{',
        ...rewrite('mysql-versioned-comment', ['s/ \\/\\*!80000 INVISIBLE \\*\\/(,?)$/ IGNORED\\1/']),
        '}'
      )
    }
  } else {
    lines.push(
      "# MariaDB's own objects and options, which MySQL cannot restore.",
      '/^T..\\n(CREATE SEQUENCE |DO SETVAL\\(|SELECT SETVAL\\()/{',
      ...stop('mariadb-only-syntax'),
      '}',
      '/^mK.\\n\\) ENGINE=.*( PAGE_CHECKSUM=| TRANSACTIONAL=| WITH SYSTEM VERSIONING)/{',
      ...stop('mariadb-only-syntax'),
      '}',
      `/^mK.\\n  ${NAME} .* (VIRTUAL|STORED|PERSISTENT)( [A-Z].*)?,?$/{`,
      ...stop('mariadb-only-syntax'),
      '}'
    )
  }

  lines.push(
    "# Statements that change how the client and server read strings: only mysqldump's own, with modes that keep backslash escapes.",
    '/^T..\\n(\\/\\*![0-9]* ?)?[Ss][Ee][Tt] /{',
    '/[Ss][Qq][Ll]_[Mm][Oo][Dd][Ee]/{',
    "/^T..\\n\\/\\*!(40101|50003) SET (@OLD_SQL_MODE=@@SQL_MODE, SQL_MODE|sql_mode +)= *'[A-Z_,]*' \\*\\/ ?;;?$/{",
    "/'[A-Z_,]*(NO_BACKSLASH_ESCAPES|ANSI|DB2|MAXDB|MSSQL|ORACLE|POSTGRESQL)/{",
    ...stop('sql-mode'),
    '}',
    'b rules_done',
    '}',
    '/^T..\\n\\/\\*!(40101|50003) SET (SQL_MODE=@OLD_SQL_MODE|sql_mode += @saved_sql_mode|@saved_sql_mode += @@sql_mode) \\*\\/ ?;;?$/b rules_done',
    ...stop('sql-mode'),
    '}',
    '/([Cc][Hh][Aa][Rr][Aa][Cc][Tt][Ee][Rr]_[Ss][Ee][Tt]_[Cc][Ll][Ii][Ee][Nn][Tt]|[Nn][Aa][Mm][Ee][Ss])[ =]/{',
    '/[ =](sjis|cp932|gbk|big5|gb18030)([^A-Za-z0-9_]|$)/I{',
    ...stop('multibyte-charset'),
    '}',
    '}',
    '}',
    ':rules_done',
    '',
    '# The snapshot marker: the dump writes these only once its own transaction began.',
    '/^T..\\n-- (Table structure for table|Temporary (table|view) structure for view|Sequence structure for|Dumping routines for database|Dumping events for database|Dump completed)/{',
    'x',
    `w ${options.markerFile}`,
    'x',
    '}'
  )
  if (options.linesFile) {
    lines.push(
      '# An object line between statements goes into the line index whole; the line to print is marked by a leading newline.',
      `/^T..\\n${OBJECT_LINE_PATTERN.slice(1)}/{`,
      'x',
      `w ${options.linesFile}`,
      's/^/\\n/',
      'x',
      '}'
    )
  }

  // Versioned comments the clean room would skip. MariaDB: MySQL 5.7 and 8.0 numbers (it skips them
  // all) and MariaDB releases above its own, in /*! and in /*M! (code to a MariaDB client; a MySQL
  // client drops /*M! as a comment, and a MySQL server reads it as one). MySQL: numbers above its own.
  const versioned = mariadbCleanroom
    ? [`\\/\\*M?!${numbersAbove(50699, 5)}([^0-9]|$)`, `\\/\\*M?!${numbersAbove(Math.min(cleanroomNumber, 999998), 6)}([^0-9]|$)`]
    : [`\\/\\*!${numbersAbove(Math.min(cleanroomNumber, 99999), 5)}([^0-9]|$)`, '\\/\\*![0-9]{6}']
  lines.push(
    '',
    "# ---- The lexer: consume the line token by token, changing state. A statement's kind is set on its first line.",
    's/^T.(.)\\n(\\/\\*!50001 CREATE ALGORITHM=)/mV\\1\\n\\2/',
    's/^T.(.)\\n(CREATE TABLE `)/mK\\1\\n\\2/',
    't lex',
    ':lex',
    '/^[^\\n]*\\n$/b lexed',
    '/^[Tm]/{',
    's/^([Tm]..\\n)[ \\t\\r\\f\\v]+/\\1/',
    '/^[Tm]..\\n$/b lexed',
    '/^[Tm]..\\n(#|--([ \\t\\r\\f\\v]|$))/b rest_of_line',
    '/^[Tm]..\\n\\\\/{',
    ...stop('client-command'),
    '}',
    '/^[Tm]..\\n\\/\\*\\+/{',
    ...stop('optimizer-hint'),
    '}',
    ...versioned.flatMap(comment => [`/^[Tm]..\\n${comment}/{`, ...stop('mysql-versioned-comment'), '}']),
    's/^[Tm](..\\n)\\/\\*!/m\\1/',
    't lex',
    ...(options.clientFlavour === 'mariadb' ? ['s/^[Tm](..\\n)\\/\\*M!/m\\1/', 't lex'] : []),
    's/^T(..\\n)\\/\\*/C\\1/',
    't lex',
    's/^m(..\\n)\\/\\*/c\\1/',
    't lex',
    's/^[Tm].1\\n;/T.1\\n/',
    't lex',
    's/^[Tm].2\\n;;/T.2\\n/',
    't lex',
    "s/^[Tm](..\\n)'/s\\1/",
    't lex',
    's/^[Tm](..\\n)"/q\\1/',
    't lex',
    's/^[Tm](..\\n)`/b\\1/',
    't lex',
    '# The client reads `delimiter ` wherever it starts in code, even inside a word.',
    `/^[Tm]..\\n[${WORD_CHAR}]*[Dd][Ee][Ll][Ii][Mm][Ii][Tt][Ee][Rr] /{`,
    ...stop('client-command'),
    '}',
    ...(known0900.length < MYSQL_0900_COLLATIONS.length
      ? [
          '# A _0900_ collation the clean room lacks, anywhere the rules above did not rename it.',
          `/^[Tm]..\\nutf8mb4_[${WORD_CHAR}]*0900_/{`,
          ...(known0900.length > 0 ? [`/^[Tm]..\\n(${known0900.join('|')})([^${WORD_CHAR}]|$)/!{`] : ['{']),
          ...stop('collation-0900'),
          '}',
          '}'
        ]
      : []),
    `s/^[Tm](..\\n)[${WORD_CHAR}]+/m\\1/`,
    't lex',
    `s/^[Tm](..\\n)[^${WORD_CHAR} \\t\\r\\f\\v#\\\\\\/;'"\`-]+/m\\1/`,
    't lex',
    's/^[Tm](..\\n)[^\\n]/m\\1/',
    't lex',
    '}',
    '# Inside \'...\' and "...": a backslash escapes the next character, a doubled quote is a quote.',
    '/^s/{',
    "s/^(s..\\n)[^'\\\\]+/\\1/",
    "s/^(s..\\n)(\\\\.|\\\\$|'')/\\1/",
    't lex',
    "s/^s(..\\n)'/m\\1/",
    't lex',
    '}',
    '/^q/{',
    's/^(q..\\n)[^"\\\\]+/\\1/',
    's/^(q..\\n)(\\\\.|\\\\$|"")/\\1/',
    't lex',
    's/^q(..\\n)"/m\\1/',
    't lex',
    '}',
    '# Inside `...`: no escapes, a doubled backquote is a backquote.',
    '/^b/{',
    's/^(b..\\n)[^`]+/\\1/',
    's/^(b..\\n)``/\\1/',
    't lex',
    's/^b(..\\n)`/m\\1/',
    't lex',
    '}',
    '# Inside a comment, to its first */ (comments do not nest).',
    '/^[cC]/{',
    's/^c(..\\n)([^*]|\\*+[^*\\/])*\\*+\\//m\\1/',
    't lex',
    's/^C(..\\n)([^*]|\\*+[^*\\/])*\\*+\\//T\\1/',
    't lex',
    's/^([cC]..\\n).*/\\1/',
    'b lexed',
    '}',
    'b lex',
    '',
    ':rest_of_line',
    's/\\n.*/\\n/',
    '',
    '# ---- The line is lexed: keep its end state, print it (and index it).',
    ':lexed',
    's/\\n.*//',
    ...trace,
    'x',
    '/^\\n/{',
    's/^\\n//',
    'p',
    ...copy,
    'd',
    '}',
    'p',
    ...copy,
    ...(options.linesFile ? ['s/.*//', `w ${options.linesFile}`] : []),
    'd'
  )
  return lines.join('\n') + '\n'
}

/** One line of the removed-lines file, parsed. */
export interface RemovedLine {
  rule: SanitizeRuleId
  /** True for the line that stopped the stream. */
  stopped: boolean
  line: string
}

export function parseRemovedLine(text: string): RemovedLine | undefined {
  const match = /^(!?)([a-z0-9-]+) (.*)$/s.exec(text)
  if (!match) return undefined
  return { rule: match[2] as SanitizeRuleId, stopped: match[1] === '!', line: match[3] }
}

/** One rule that changed the dump, and how many lines it changed. */
export interface SanitizedConstruct {
  rule: SanitizeRuleId
  construct: string
  lines: number
}

/** Counts the lines each rule removed or rewrote, in order of first appearance. */
export function summarizeRemovedLines(removedLines: Iterable<string>): SanitizedConstruct[] {
  const counts = new Map<string, SanitizedConstruct>()
  for (const text of removedLines) {
    const removed = parseRemovedLine(text)
    if (!removed || removed.stopped) continue
    const entry = counts.get(removed.rule) ?? { rule: removed.rule, construct: constructOf(removed.rule), lines: 0 }
    entry.lines++
    counts.set(removed.rule, entry)
  }
  return [...counts.values()]
}

/** The line that stopped the stream, if one did. */
export function stoppedConstruct(removedLines: Iterable<string>): RemovedLine | undefined {
  for (const text of removedLines) {
    const removed = parseRemovedLine(text)
    if (removed?.stopped) return removed
  }
  return undefined
}

function constructOf(rule: SanitizeRuleId): string {
  if (rule === 'database-name')
    return "sequences named with production's database (nextval(`db`.`s`) in column defaults and views)"
  if (rule in SKEW_RULES) return SKEW_RULES[rule as SkewRuleId].construct
  return rule in SAFETY_RULES ? SAFETY_RULES[rule as SafetyRuleId].construct : rule
}

/**
 * The error for a stream the sanitizer stopped: what the dump holds and why it was not passed on,
 * naming the construct (a client command, a clause), never quoting production's text around it;
 * `object` is the dump's object being restored there (restore-failure.ts, describeDumpObject).
 */
export function stopMessage(stopped: RemovedLine, object?: string): string {
  switch (stopped.rule) {
    case 'client-command': {
      const named = NAMED_COMMAND_LINE.exec(stopped.line)?.[1]
      const found = named ?? /\\[^\s]?|delimiter /i.exec(stopped.line)?.[0]
      const command =
        found === undefined ? 'a client command' : named ? named.toLowerCase() : found.startsWith('\\') ? found : 'delimiter'
      return (
        `The dump holds the client command ${command} outside any string or comment, which the mysql ` +
        `client would run on this runner rather than send to the clean room: mysqldump writes none but its own DELIMITER ` +
        `lines, so Lazarus refuses to restore it. Check where this backup came from.`
      )
    }
    case 'optimizer-hint':
      return 'The dump holds an optimizer hint (/*+ ... */) outside any string, which MySQL and MariaDB clients read differently: Lazarus cannot tell for sure where its statements end, so it refuses to restore it.'
    case 'sql-mode':
      return (
        'The dump sets an sql_mode with NO_BACKSLASH_ESCAPES or ANSI_QUOTES (or a mode that includes them), or sets it in a way mysqldump does not: ' +
        'strings are then read differently, and Lazarus does not yet sanitize such a dump. A routine, trigger or event created under such a mode causes it.'
      )
    case 'event-status':
      return (
        'The dump creates or alters an event in a form mysqldump does not write (Lazarus could not find its status clause): ' +
        "restored as it is, the event could run production's SQL in the clean room on its schedule, so Lazarus refuses to restore it. Check where this backup came from."
      )
    case 'remote-engine': {
      const engine = new RegExp(`ENGINE *= *${REMOTE_ENGINES}`, 'i').exec(stopped.line)?.[1]?.toUpperCase() ?? 'FEDERATED'
      return (
        `The dump holds a table with ENGINE=${engine}, whose rows live on another server: restored in the clean room, ` +
        "its INSERTs and Lazarus's reads would reach that server (with the credentials the table names), so Lazarus refuses to restore it. " +
        'Verify the server that holds those rows instead.'
      )
    }
    case 'path-option': {
      const option =
        /(DATA|INDEX)[ \t]+DIRECTORY|TABLESPACE/i
          .exec(stopped.line)?.[0]
          .replace(/[ \t]+/, ' ')
          .toUpperCase() ?? 'DATA DIRECTORY'
      return (
        `The dump's CREATE TABLE${object ? ` (${object})` : ''} holds ${option} in a form Lazarus cannot read for sure, ` +
        "so it cannot take the option out: restored as it is, production's text would decide where the clean room writes files. " +
        'Check where this backup came from.'
      )
    }
    case 'multibyte-charset':
      return 'The dump switches the client character set to one (sjis, cp932, gbk, big5, gb18030) whose characters may hold the byte of a backslash or quote: Lazarus cannot read it for sure, so it refuses to restore it.'
    default: {
      const rule = SKEW_RULES[stopped.rule as SkewRuleId]
      const clause =
        /\/\*M?![0-9]+[^*]*\*\/|utf8mb4_[a-z0-9_]*0900_[a-z_]+|CREATE SEQUENCE|SETVAL|PAGE_CHECKSUM|TRANSACTIONAL|WITH SYSTEM VERSIONING|VIRTUAL|STORED|PERSISTENT/.exec(
          stopped.line
        )?.[0]
      return (
        `The dump holds ${clause ? `'${clause.slice(0, 60)}'` : (rule?.construct ?? stopped.rule)}, which the clean room cannot restore faithfully ` +
        `(${rule?.problem ?? 'version skew'}): use a clean room of production's flavour and release.`
      )
    }
  }
}
