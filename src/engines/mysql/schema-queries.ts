import type { SequenceBehindData, SequenceValue } from '../reads.js'
import type { SchemaObject, SchemaObjectDifference } from '../types.js'
import { qualified, quoteIdent } from './figure-queries.js'
import type { MysqlQueryable } from './queryable.js'
import {
  canonicalCharset,
  canonicalDefault,
  canonicalExtra,
  canonicalSqlMode,
  canonicalType,
  isJsonAliasCheck,
  portableExpression,
  portableType,
  presentationOf,
  type Flavour,
  type Presentation
} from './schema-presentation.js'
import { versionNumber } from './sanitize-rules.js'
import { collationCandidates } from './skew-catalogue.js'

/**
 * The schema fingerprint of one database, read from information_schema, as neutral objects
 * {kind, name, definition}; the comparison of two fingerprints; AUTO_INCREMENT counters; and each
 * table's key for the row diff. Names never include the database (the restored copy lives in a
 * scratch database of another name); a view's definition has the database's own name taken out.
 * DEFINERs are not compared: the sanitizer strips them, as the clean room lacks production's
 * accounts.
 */

export type { Flavour } from './schema-presentation.js'

/**
 * A schema object as this engine reads it: its definition, in canonical form
 * (schema-presentation.ts), and beside it what diffSchema compares when the other side is a
 * server of another presentation (`portable`), with that presentation's key, and for a
 * constraint its table.
 */
export interface MysqlSchemaObject extends SchemaObject {
  presentation: string
  portable: string
  table?: string
}

/** One field of a definition: key, value (null: absent), whether it is free text. */
type Field = [key: string, value: string | null | undefined, text?: 'text']

/** Shown in place of a routine body the account may not read (MySQL: SHOW_ROUTINE; MariaDB: SELECT on mysql.proc). */
export const UNREADABLE_BODY = '(not readable by this account)'

type Row = Record<string, string | null>

/** An identifier for people: as it is when plain, in backticks otherwise. */
export function displayIdentifier(identifier: string): string {
  return /^[A-Za-z_][A-Za-z0-9_$]*$/.test(identifier) ? identifier : quoteIdent(identifier)
}

/** `table.object` for people. */
function inTable(table: string | null, name: string | null): string {
  return `${displayIdentifier(table ?? '')}.${displayIdentifier(name ?? '')}`
}

/**
 * A definition as `key: value; key: value`, in the given order. Keyword values are written as
 * they are; free text (comments, defaults, expressions, bodies) JSON-quoted, so that a value
 * cannot pass for another field. A null value is left out: it is absent, which '' is not.
 */
export function fields(pairs: [string, string | null | undefined, 'text'?][]): string {
  return pairs
    .filter(([, value]) => value !== null && value !== undefined)
    .map(([key, value, text]) => `${key}: ${text ? JSON.stringify(value) : value}`)
    .join('; ')
}

/** Takes `database`.` out of a view's definition: MySQL qualifies every table and column there with it. */
export function withoutDatabaseName(definition: string, database: string): string {
  return definition.split(`${quoteIdent(database)}.`).join('')
}

/**
 * COLUMN_DEFAULT without the database's own name before a sequence (MariaDB writes
 * `nextval(\`db\`.\`s\`)`, and the restored copy's database has another name), in an expression
 * only: a quoted literal (MariaDB quotes every one) is read as it is, so that a string the
 * sanitizer's database-name rule changed still shows as a difference. MySQL has no sequences.
 */
const DEFAULT_WITHOUT_DATABASE = `IF(COLUMN_DEFAULT LIKE '''%', COLUMN_DEFAULT,
  REPLACE(COLUMN_DEFAULT, CONCAT('\`', REPLACE(DATABASE(), '\`', '\`\`'), '\`.'), ''))`

/** The tables' own SQL fragment: base tables, never the scratch database's marker. */
const USER_TABLE = `TABLE_SCHEMA = DATABASE() AND TABLE_NAME <> ?`

/**
 * The information_schema columns that only some servers have, each `TABLE.COLUMN`:
 * STATISTICS.IS_VISIBLE (MySQL 8.0+), STATISTICS.EXPRESSION (MySQL 8.0.13+, functional key
 * parts), STATISTICS.IGNORED (MariaDB 10.6+), COLUMNS.SRS_ID (MySQL 8.0.3+),
 * TABLE_CONSTRAINTS.ENFORCED and the CHECK_CONSTRAINTS table (MySQL 8.0.16+, MariaDB 10.2.22+),
 * CHECK_CONSTRAINTS.TABLE_NAME (MariaDB only). MySQL 5.7 has none of MySQL's: the reads leave
 * out what the server lacks instead of failing.
 */
const OPTIONAL_COLUMNS = [
  'STATISTICS.IS_VISIBLE',
  'STATISTICS.EXPRESSION',
  'STATISTICS.IGNORED',
  'COLUMNS.SRS_ID',
  'TABLE_CONSTRAINTS.ENFORCED',
  'CHECK_CONSTRAINTS.CHECK_CLAUSE',
  'CHECK_CONSTRAINTS.TABLE_NAME'
]

async function optionalColumns(db: MysqlQueryable, presentation: Presentation): Promise<Set<string>> {
  const rows = await db.query<Row>(
    `SELECT UPPER(TABLE_NAME) AS \`t\`, UPPER(COLUMN_NAME) AS \`c\` FROM information_schema.COLUMNS
     WHERE TABLE_SCHEMA = 'information_schema'
       AND UPPER(TABLE_NAME) IN ('STATISTICS', 'COLUMNS', 'TABLE_CONSTRAINTS', 'CHECK_CONSTRAINTS')`
  )
  const present = new Set(rows.map(row => `${row.t}.${row.c}`))
  if (present.size === 0) return new Set(knownColumns(presentation))
  return new Set(OPTIONAL_COLUMNS.filter(column => present.has(column)))
}

/** OPTIONAL_COLUMNS by the release notes, should information_schema not list its own columns. */
function knownColumns(presentation: Presentation): string[] {
  const release = versionNumber(presentation.version)
  if (presentation.flavour === 'mariadb') {
    return [
      ...(release >= 100600 ? ['STATISTICS.IGNORED'] : []),
      'CHECK_CONSTRAINTS.CHECK_CLAUSE',
      'CHECK_CONSTRAINTS.TABLE_NAME'
    ]
  }
  return [
    ...(release >= 80000 ? ['STATISTICS.IS_VISIBLE'] : []),
    ...(release >= 80013 ? ['STATISTICS.EXPRESSION'] : []),
    ...(release >= 80003 ? ['COLUMNS.SRS_ID'] : []),
    ...(release >= 80016 ? ['TABLE_CONSTRAINTS.ENFORCED', 'CHECK_CONSTRAINTS.CHECK_CLAUSE'] : [])
  ]
}

/** Reads the schema fingerprint of the connected database. `marker`: the marker table to leave out ('' for none). */
export async function readSchema(
  db: MysqlQueryable,
  flavour: Flavour,
  database: string,
  marker: string
): Promise<MysqlSchemaObject[]> {
  const [server] = await db.query<Row>('SELECT VERSION() AS `version`')
  const presentation = presentationOf(flavour, String(server?.version ?? ''))
  const has = await optionalColumns(db, presentation)
  const objects: MysqlSchemaObject[] = []
  const add = (kind: string, name: string, pairs: Field[], portable: Record<string, string | null> = {}, table?: string) =>
    objects.push({
      kind,
      name,
      definition: fields(pairs),
      portable: fields(
        pairs.map(([key, value, text]): Field => [key, key in portable ? portable[key] : portableValue(key, value), text])
      ),
      presentation: presentation.key,
      ...(table === undefined ? {} : { table })
    })

  const partitions = new Map<string, Field[][]>()
  for (const p of await db.query<Row>(
    `SELECT TABLE_NAME AS \`t\`, PARTITION_NAME AS \`p\`, SUBPARTITION_NAME AS \`sp\`, PARTITION_METHOD AS \`method\`,
            SUBPARTITION_METHOD AS \`submethod\`, PARTITION_EXPRESSION AS \`expr\`, SUBPARTITION_EXPRESSION AS \`subexpr\`,
            PARTITION_DESCRIPTION AS \`description\`, PARTITION_COMMENT AS \`comment\`
     FROM information_schema.PARTITIONS WHERE ${USER_TABLE} AND PARTITION_NAME IS NOT NULL
     ORDER BY TABLE_NAME, PARTITION_ORDINAL_POSITION, SUBPARTITION_ORDINAL_POSITION`,
    [marker]
  )) {
    const list = partitions.get(p.t!) ?? []
    if (list.length === 0) {
      list.push([
        ['by', p.method],
        ['expression', p.expr, 'text'],
        ['subpartitions by', p.submethod],
        ['subexpression', p.subexpr, 'text']
      ])
    }
    list.push([
      ['partition', p.p],
      ['subpartition', p.sp],
      ['values', p.description, 'text'],
      ['comment', p.comment || null, 'text']
    ])
    partitions.set(p.t!, list)
  }
  // The partitioning as one text field, in both forms (its expressions compared portably too).
  const partitioning = (table: string, portable: boolean): string | null => {
    const list = partitions.get(table)
    if (!list) return null
    const form = (pairs: Field[]) =>
      fields(portable ? pairs.map(([key, value, text]): Field => [key, portableValue(key, value), text]) : pairs)
    return list.map(form).join(' | ')
  }

  for (const t of await db.query<Row>(
    `SELECT TABLE_NAME AS \`t\`, TABLE_TYPE AS \`type\`, ENGINE AS \`engine\`, TABLE_COLLATION AS \`collation\`,
            TABLE_COMMENT AS \`comment\`, CREATE_OPTIONS AS \`options\`
     FROM information_schema.TABLES WHERE ${USER_TABLE} AND TABLE_TYPE IN ('BASE TABLE', 'SYSTEM VERSIONED')`,
    [marker]
  )) {
    add(
      'table',
      displayIdentifier(t.t!),
      [
        ['type', t.type],
        ['engine', t.engine],
        ['collation', canonicalCharset(t.collation)],
        ['options', normalOptions(t.options), 'text'],
        ['comment', t.comment, 'text'],
        ['partitioning', partitioning(t.t!, false), 'text']
      ],
      { partitioning: partitioning(t.t!, true) }
    )
  }

  const constraints = await db.query<Row>(
    `SELECT tc.TABLE_NAME AS \`t\`, tc.CONSTRAINT_NAME AS \`name\`, tc.CONSTRAINT_TYPE AS \`type\`,
            ${has.has('CHECK_CONSTRAINTS.CHECK_CLAUSE') ? 'cc.CHECK_CLAUSE' : 'NULL'} AS \`clause\`,
            rc.UPDATE_RULE AS \`on_update\`, rc.DELETE_RULE AS \`on_delete\`, rc.MATCH_OPTION AS \`match_option\`
            ${has.has('TABLE_CONSTRAINTS.ENFORCED') ? ', tc.ENFORCED AS `enforced`' : ''},
            (SELECT GROUP_CONCAT(CONCAT(k.COLUMN_NAME, ' -> ', COALESCE(k.REFERENCED_TABLE_SCHEMA, ''), '|',
                      COALESCE(k.REFERENCED_TABLE_NAME, ''), '|', COALESCE(k.REFERENCED_COLUMN_NAME, ''))
                    ORDER BY k.ORDINAL_POSITION SEPARATOR '\n')
             FROM information_schema.KEY_COLUMN_USAGE k
             WHERE k.CONSTRAINT_SCHEMA = tc.TABLE_SCHEMA AND k.TABLE_NAME = tc.TABLE_NAME
               AND k.CONSTRAINT_NAME = tc.CONSTRAINT_NAME) AS \`columns\`
     FROM information_schema.TABLE_CONSTRAINTS tc
     ${
       has.has('CHECK_CONSTRAINTS.CHECK_CLAUSE')
         ? `LEFT JOIN information_schema.CHECK_CONSTRAINTS cc ON cc.CONSTRAINT_SCHEMA = tc.TABLE_SCHEMA
           AND cc.CONSTRAINT_NAME = tc.CONSTRAINT_NAME AND tc.CONSTRAINT_TYPE = 'CHECK'
           ${has.has('CHECK_CONSTRAINTS.TABLE_NAME') ? 'AND cc.TABLE_NAME = tc.TABLE_NAME' : ''}`
         : ''
     }
     LEFT JOIN information_schema.REFERENTIAL_CONSTRAINTS rc ON rc.CONSTRAINT_SCHEMA = tc.TABLE_SCHEMA
       AND rc.TABLE_NAME = tc.TABLE_NAME AND rc.CONSTRAINT_NAME = tc.CONSTRAINT_NAME
     WHERE tc.TABLE_SCHEMA = DATABASE() AND tc.TABLE_NAME <> ?`,
    [marker]
  )
  // MariaDB's JSON: a LONGTEXT with the CHECK its alias adds; read as the JSON column it was declared.
  const jsonAliasChecks = new Set(
    flavour === 'mariadb'
      ? constraints
          .filter(k => k.type === 'CHECK' && isJsonAliasCheck(k.name!, k.name!, k.clause))
          .map(k => `${k.t}\u0000${k.name}`)
      : []
  )

  const srids = flavour === 'mariadb' ? await mariadbSrids(db) : new Map<string, string>()
  const jsonColumns = new Set<string>()
  for (const c of await db.query<Row>(
    `SELECT TABLE_NAME AS \`t\`, COLUMN_NAME AS \`c\`, ORDINAL_POSITION AS \`position\`, COLUMN_TYPE AS \`type\`, IS_NULLABLE AS \`nullable\`,
            ${flavour === 'mariadb' ? DEFAULT_WITHOUT_DATABASE : 'COLUMN_DEFAULT'} AS \`default\`, EXTRA AS \`extra\`, GENERATION_EXPRESSION AS \`generated\`,
            CHARACTER_SET_NAME AS \`charset\`, COLLATION_NAME AS \`collation\`, COLUMN_COMMENT AS \`comment\`
            ${has.has('COLUMNS.SRS_ID') ? ', SRS_ID AS `srid`' : ''}
     FROM information_schema.COLUMNS
     WHERE ${USER_TABLE} AND TABLE_NAME IN (SELECT TABLE_NAME FROM information_schema.TABLES
       WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE IN ('BASE TABLE', 'SYSTEM VERSIONED'))`,
    [marker]
  )) {
    const json = /^longtext$/i.test(c.type ?? '') && jsonAliasChecks.has(`${c.t}\u0000${c.c}`)
    if (json) jsonColumns.add(`${c.t}\u0000${c.c}`)
    const type = json ? 'json' : canonicalType(c.type)
    const charset = canonicalCharset(c.charset)
    const collation = canonicalCharset(c.collation)
    // JSON's own character set and collation (MariaDB's alias) are what MySQL's JSON has no name for.
    const jsonDefaults = json && charset === 'utf8mb4' && collation === 'utf8mb4_bin'
    const value = canonicalDefault(flavour, c.default, c.extra, c.type)
    const generated = c.generated || null
    add('column', inTable(c.t, c.c), [
      ['type', type],
      ['not null', c.nullable === 'NO' ? 'yes' : null],
      ['default', value?.literal, 'text'],
      ['default expression', value?.expression, 'text'],
      ['extra', canonicalExtra(c.extra)],
      ['generated', generated, 'text'],
      ['charset', jsonDefaults ? null : charset],
      ['collation', jsonDefaults ? null : collation],
      ['srid', c.srid ?? srids.get(`${c.t}\u0000${c.c}`) ?? null],
      ['comment', c.comment || null, 'text'],
      ['position', c.position]
    ])
  }

  const visibility = [
    has.has('STATISTICS.IS_VISIBLE') ? ', IS_VISIBLE AS `visible`' : '',
    has.has('STATISTICS.EXPRESSION') ? ', EXPRESSION AS `expression`' : '',
    has.has('STATISTICS.IGNORED') ? ', IGNORED AS `ignored`' : ''
  ].join('')
  const indexes = new Map<string, { table: string; name: string; head: Field[]; parts: string[] }>()
  for (const s of await db.query<Row>(
    `SELECT TABLE_NAME AS \`t\`, INDEX_NAME AS \`i\`, NON_UNIQUE AS \`non_unique\`, INDEX_TYPE AS \`type\`, INDEX_COMMENT AS \`comment\`,
            COLUMN_NAME AS \`c\`, COLLATION AS \`ord\`, SUB_PART AS \`sub\` ${visibility}
     FROM information_schema.STATISTICS WHERE ${USER_TABLE}
     ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX`,
    [marker]
  )) {
    const key = `${s.t}\u0000${s.i}`
    let index = indexes.get(key)
    if (!index) {
      // MySQL's invisible index (IS_VISIBLE = NO) is MariaDB's ignored one (IGNORED = YES): the optimizer skips both.
      const head: Field[] = [
        ['unique', s.non_unique === '0' ? 'yes' : null],
        ['type', s.type],
        ['invisible', s.visible === 'NO' || s.ignored === 'YES' ? 'yes' : null],
        ['comment', s.comment || null, 'text']
      ]
      indexes.set(key, (index = { table: s.t!, name: s.i!, head, parts: [] }))
    }
    const column = s.c !== null ? quoteIdent(s.c!) : `(${s.expression})`
    index.parts.push(`${column}${s.sub ? `(${s.sub})` : ''}${s.ord === 'D' ? ' DESC' : ''}`)
  }
  for (const index of indexes.values()) {
    add('index', inTable(index.table, index.name), [...index.head, ['columns', index.parts.join(', ')]])
  }

  for (const k of constraints) {
    if (jsonAliasChecks.has(`${k.t}\u0000${k.name}`) && jsonColumns.has(`${k.t}\u0000${k.name}`)) continue
    const columns = (k.columns ?? '')
      .split('\n')
      .filter(line => line !== '')
      .map(line => {
        const [column, target] = line.split(' -> ')
        const [schema, table, referenced] = target.split('|')
        if (!table) return quoteIdent(column)
        // A reference into the same database is written without its name, which differs on the restored copy.
        const where = schema && schema !== database ? `${quoteIdent(schema)}.` : ''
        return `${quoteIdent(column)} -> ${where}${quoteIdent(table)}.${quoteIdent(referenced)}`
      })
    add(
      'constraint',
      inTable(k.t, k.name),
      [
        ['type', k.type],
        ['columns', columns.length > 0 ? columns.join(', ') : null],
        ['check', k.clause, 'text'],
        ['on update', k.on_update],
        ['on delete', k.on_delete],
        ['match', k.match_option],
        // MySQL 8.0.16+ says ENFORCED for every constraint; only NOT ENFORCED (NO) is a property: MariaDB enforces them all.
        ['enforced', k.enforced === 'NO' ? 'NO' : null]
      ],
      {},
      k.t!
    )
  }

  for (const v of await db.query<Row>(
    `SELECT TABLE_NAME AS \`v\`, VIEW_DEFINITION AS \`definition\`, CHECK_OPTION AS \`check_option\`, IS_UPDATABLE AS \`updatable\`,
            SECURITY_TYPE AS \`security\`, CHARACTER_SET_CLIENT AS \`charset\`, COLLATION_CONNECTION AS \`collation\`
            ${flavour === 'mariadb' ? ', ALGORITHM AS `algorithm`' : ''}
     FROM information_schema.VIEWS WHERE ${USER_TABLE}`,
    [marker]
  )) {
    add('view', displayIdentifier(v.v!), [
      ['definition', v.definition === null ? null : withoutDatabaseName(v.definition, database), 'text'],
      ['check option', v.check_option],
      // Not IS_UPDATABLE: the definition and the tables decide it (both compared), and MariaDB leaves it
      // empty in a read-only transaction for a view it cannot open there (one that calls nextval).
      ['security', v.security],
      ['algorithm', v.algorithm ?? null],
      ['charset', canonicalCharset(v.charset)],
      ['collation', canonicalCharset(v.collation)]
    ])
  }

  const parameters = new Map<string, { mine: string[]; portable: string[] }>()
  for (const p of await db.query<Row>(
    `SELECT SPECIFIC_NAME AS \`r\`, ROUTINE_TYPE AS \`type\`, ORDINAL_POSITION AS \`position\`, PARAMETER_MODE AS \`mode\`,
            PARAMETER_NAME AS \`name\`, DTD_IDENTIFIER AS \`dtd\`
     FROM information_schema.PARAMETERS WHERE SPECIFIC_SCHEMA = DATABASE() AND ORDINAL_POSITION > 0
     ORDER BY SPECIFIC_NAME, ROUTINE_TYPE, ORDINAL_POSITION`
  )) {
    const key = `${p.type}\u0000${p.r}`
    const list = parameters.get(key) ?? { mine: [], portable: [] }
    const dtd = canonicalType(p.dtd)
    list.mine.push([p.mode, quoteIdent(p.name ?? ''), dtd].filter(Boolean).join(' '))
    list.portable.push([p.mode, quoteIdent(p.name ?? ''), dtd && portableType(dtd)].filter(Boolean).join(' '))
    parameters.set(key, list)
  }
  for (const r of await db.query<Row>(
    `SELECT ROUTINE_NAME AS \`r\`, ROUTINE_TYPE AS \`type\`, DTD_IDENTIFIER AS \`returns\`, ROUTINE_DEFINITION AS \`body\`,
            IS_DETERMINISTIC AS \`deterministic\`, SQL_DATA_ACCESS AS \`access\`, SECURITY_TYPE AS \`security\`,
            SQL_MODE AS \`sql_mode\`, ROUTINE_COMMENT AS \`comment\`, CHARACTER_SET_CLIENT AS \`charset\`,
            COLLATION_CONNECTION AS \`collation\`
     FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = DATABASE()`
  )) {
    const kind = (r.type ?? 'routine').toLowerCase()
    const list = parameters.get(`${r.type}\u0000${r.r}`) ?? { mine: [], portable: [] }
    add(
      kind,
      displayIdentifier(r.r!),
      [
        ['parameters', list.mine.join(', ')],
        ['returns', canonicalType(r.returns)],
        ['body', r.body ?? UNREADABLE_BODY, 'text'],
        ['deterministic', r.deterministic],
        ['data access', r.access],
        ['security', r.security],
        ['sql mode', canonicalSqlMode(r.sql_mode)],
        ['charset', canonicalCharset(r.charset)],
        ['collation', canonicalCharset(r.collation)],
        ['comment', r.comment || null, 'text']
      ],
      { parameters: list.portable.join(', ') }
    )
  }

  for (const t of await db.query<Row>(
    `SELECT TRIGGER_NAME AS \`name\`, EVENT_OBJECT_TABLE AS \`t\`, ACTION_TIMING AS \`timing\`, EVENT_MANIPULATION AS \`event\`,
            ACTION_ORDER AS \`ord\`, ACTION_STATEMENT AS \`statement\`, SQL_MODE AS \`sql_mode\`,
            CHARACTER_SET_CLIENT AS \`charset\`, COLLATION_CONNECTION AS \`collation\`
     FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = DATABASE()`
  )) {
    add('trigger', displayIdentifier(t.name!), [
      ['table', displayIdentifier(t.t!)],
      ['timing', t.timing],
      ['event', t.event],
      ['order', t.ord],
      ['statement', t.statement, 'text'],
      ['sql mode', canonicalSqlMode(t.sql_mode)],
      ['charset', canonicalCharset(t.charset)],
      ['collation', canonicalCharset(t.collation)]
    ])
  }

  for (const e of await db.query<Row>(
    `SELECT EVENT_NAME AS \`name\`, EVENT_DEFINITION AS \`body\`, EVENT_TYPE AS \`type\`, EXECUTE_AT AS \`at\`,
            INTERVAL_VALUE AS \`every\`, INTERVAL_FIELD AS \`unit\`, STARTS AS \`starts\`, ENDS AS \`ends\`, STATUS AS \`status\`,
            ON_COMPLETION AS \`completion\`, SQL_MODE AS \`sql_mode\`, TIME_ZONE AS \`zone\`, EVENT_COMMENT AS \`comment\`
     FROM information_schema.EVENTS WHERE EVENT_SCHEMA = DATABASE()`
  )) {
    add('event', displayIdentifier(e.name!), [
      ['type', e.type],
      ['at', e.at],
      ['every', e.every === null ? null : `${e.every} ${e.unit}`],
      ['starts', e.starts],
      ['ends', e.ends],
      // MySQL 8.0.22+ says REPLICA_SIDE_DISABLED for what MySQL 5.7 and MariaDB call SLAVESIDE_DISABLED.
      ['status', e.status === 'REPLICA_SIDE_DISABLED' ? 'SLAVESIDE_DISABLED' : e.status],
      ['on completion', e.completion],
      ['time zone', e.zone],
      ['sql mode', canonicalSqlMode(e.sql_mode)],
      ['body', e.body, 'text'],
      ['comment', e.comment || null, 'text']
    ])
  }
  return objects
}

/** The fields whose text the servers print each their own way: compared as portableExpression. */
const EXPRESSION_FIELDS = new Set(['generated', 'check', 'default expression', 'definition', 'expression', 'subexpression'])

/**
 * A field's value as compared with a server of another presentation (schema-presentation.ts):
 * integer widths left out, expressions in one form, MariaDB's view ALGORITHM (MySQL's
 * information_schema has no such column) left out, table options in one letter case.
 */
function portableValue(key: string, value: string | null | undefined): string | null | undefined {
  if (value === null || value === undefined) return value
  if (key === 'type' || key === 'returns') return portableType(value)
  if (EXPRESSION_FIELDS.has(key)) return portableExpression(value)
  if (key === 'algorithm') return null
  if (key === 'options') return value.toLowerCase()
  return value
}

/**
 * MariaDB's spatial columns' SRID (REF_SYSTEM_ID, the sanitizer's rewrite of MySQL 8's
 * `/*!80003 SRID n *\/`), by table and column: information_schema.GEOMETRY_COLUMNS (MariaDB KB
 * "Information Schema GEOMETRY_COLUMNS Table"), 0 for none, as MySQL's SRS_ID is NULL for none.
 */
async function mariadbSrids(db: MysqlQueryable): Promise<Map<string, string>> {
  const rows = await db.query<Row>(
    `SELECT G_TABLE_NAME AS \`t\`, G_GEOMETRY_COLUMN AS \`c\`, CAST(SRID AS CHAR) AS \`srid\`
     FROM information_schema.GEOMETRY_COLUMNS WHERE G_TABLE_SCHEMA = DATABASE() AND SRID <> 0`
  )
  return new Map(rows.map(row => [`${row.t}\u0000${row.c}`, row.srid!]))
}

/**
 * CREATE_OPTIONS without what is not part of a table's definition; words sorted, so their order
 * does not matter. MariaDB lists DATA DIRECTORY='...' and INDEX DIRECTORY='...' there: where the
 * server keeps the table's files, which the sanitizer takes out of the dump (rule path-option) so
 * that the clean room keeps them in its own data directory; the rows and definition are the same.
 */
export function normalOptions(options: string | null): string | null {
  if (!options) return null
  // SHOW CREATE TABLE (so the dump) writes PAGE_CHECKSUM=1 for every Aria table that has page
  // checksums, the default: the restored copy has explicit what production had implicit.
  const words = options
    .replace(/(^|\s)(DATA|INDEX) DIRECTORY='[^']*'/gi, ' ')
    .split(/\s+/)
    .filter(word => word !== '' && word !== 'page_checksum=1')
  return words.length > 0 ? words.sort().join(' ') : null
}

/**
 * Every AUTO_INCREMENT counter, as a sequence whose next value is `lastValue` (not called yet),
 * named `table.column`.
 */
export async function readCounters(db: MysqlQueryable, marker: string): Promise<SequenceValue[]> {
  const rows = await db.query<Row>(
    `SELECT t.TABLE_NAME AS \`t\`, c.COLUMN_NAME AS \`c\`, CAST(t.AUTO_INCREMENT AS CHAR) AS \`next\`,
            CAST(@@auto_increment_increment AS CHAR) AS \`increment\`
     FROM information_schema.TABLES t
     JOIN information_schema.COLUMNS c ON c.TABLE_SCHEMA = t.TABLE_SCHEMA AND c.TABLE_NAME = t.TABLE_NAME
       AND c.EXTRA LIKE '%auto_increment%'
     WHERE t.TABLE_SCHEMA = DATABASE() AND t.TABLE_NAME <> ? AND t.TABLE_TYPE IN ('BASE TABLE', 'SYSTEM VERSIONED')
       AND t.AUTO_INCREMENT IS NOT NULL
     ORDER BY t.TABLE_NAME`,
    [marker]
  )
  return rows.map(row => ({
    name: inTable(row.t, row.c),
    lastValue: row.next!,
    isCalled: false,
    increment: row.increment ?? '1'
  }))
}

/** Counters whose next value their own column already holds: the first insert would fail on a duplicate key. */
export async function readCountersBehindData(
  db: MysqlQueryable,
  database: string,
  marker: string
): Promise<SequenceBehindData[]> {
  const counters = await db.query<Row>(
    `SELECT t.TABLE_NAME AS \`t\`, c.COLUMN_NAME AS \`c\`, CAST(t.AUTO_INCREMENT AS CHAR) AS \`next\`
     FROM information_schema.TABLES t
     JOIN information_schema.COLUMNS c ON c.TABLE_SCHEMA = t.TABLE_SCHEMA AND c.TABLE_NAME = t.TABLE_NAME
       AND c.EXTRA LIKE '%auto_increment%'
     WHERE t.TABLE_SCHEMA = DATABASE() AND t.TABLE_NAME <> ? AND t.TABLE_TYPE IN ('BASE TABLE', 'SYSTEM VERSIONED')
       AND t.AUTO_INCREMENT IS NOT NULL
     ORDER BY t.TABLE_NAME`,
    [marker]
  )
  const behind: SequenceBehindData[] = []
  for (const counter of counters) {
    const [row] = await db.query<Row>(
      `SELECT CAST(MAX(${quoteIdent(counter.c!)}) AS CHAR) AS \`max\` FROM ${qualified(database, counter.t!)}`
    )
    const max = row?.max
    if (max === null || max === undefined || !/^-?\d+$/.test(max) || !/^\d+$/.test(counter.next ?? '')) continue
    if (BigInt(max) >= BigInt(counter.next!)) {
      behind.push({
        name: inTable(counter.t, counter.c),
        column: inTable(counter.t, counter.c),
        nextValue: counter.next!,
        maxInColumn: max
      })
    }
  }
  return behind
}

/**
 * Each table's key (by table name): its primary key or, failing that, the unique index over the
 * fewest NOT NULL whole columns (no prefix, no expression), in index order.
 */
export async function readPrimaryKeys(db: MysqlQueryable, marker: string): Promise<Map<string, string[]>> {
  const rows = await db.query<Row>(
    `SELECT s.TABLE_NAME AS \`t\`, s.INDEX_NAME AS \`i\`, s.COLUMN_NAME AS \`c\`, s.SUB_PART AS \`sub\`, c.IS_NULLABLE AS \`nullable\`
     FROM information_schema.STATISTICS s
     LEFT JOIN information_schema.COLUMNS c ON c.TABLE_SCHEMA = s.TABLE_SCHEMA AND c.TABLE_NAME = s.TABLE_NAME
       AND c.COLUMN_NAME = s.COLUMN_NAME
     WHERE s.TABLE_SCHEMA = DATABASE() AND s.TABLE_NAME <> ? AND s.NON_UNIQUE = 0
     ORDER BY s.TABLE_NAME, s.INDEX_NAME, s.SEQ_IN_INDEX`,
    [marker]
  )
  const candidates = new Map<string, { table: string; name: string; columns: string[]; usable: boolean }>()
  for (const row of rows) {
    const key = `${row.t}\u0000${row.i}`
    let index = candidates.get(key)
    if (!index) candidates.set(key, (index = { table: row.t!, name: row.i!, columns: [], usable: true }))
    if (row.c === null || row.sub !== null || row.nullable !== 'NO') index.usable = false
    else index.columns.push(row.c)
  }
  const best = new Map<string, { name: string; columns: string[] }>()
  for (const index of candidates.values()) {
    if (!index.usable) continue
    const current = best.get(index.table)
    if (!current || keyRank(index) < keyRank(current)) best.set(index.table, index)
  }
  return new Map([...best].map(([table, index]) => [table, index.columns]))
}

/** PRIMARY first, then the fewest columns, then the name. */
function keyRank(index: { name: string; columns: string[] }): string {
  return `${index.name === 'PRIMARY' ? 0 : 1}${String(index.columns.length).padStart(4, '0')}${index.name}`
}

/**
 * The objects that differ, restored against production, sorted by kind and name. A collation the
 * sanitizer rewrote (production's name to the clean room's) counts as the same. A routine body
 * one side could not read is not compared (the rest of its definition is).
 *
 * Two servers of the same presentation (schema-presentation.ts presentationOf: flavour, and for
 * MySQL whether it shows integer display widths) are compared on their canonical definitions,
 * exactly. Across presentations (MySQL 8 production, MariaDB clean room...) the portable ones are
 * compared: what one server cannot show is left out and expressions are compared in one form;
 * and a CHECK constraint named by the server (MySQL `<table>_chk_<n>`, MariaDB: after its column)
 * pairs with the other side's one of the same table and definition. The report shows both
 * definitions as the servers gave them.
 */
export function diffSchema(
  production: SchemaObject[],
  restored: SchemaObject[],
  collationsRewritten: ReadonlyMap<string, string> = new Map()
): SchemaObjectDifference[] {
  const rewrite = (definition: string) => {
    let text = definition
    for (const [from, to] of collationsRewritten) text = text.replace(new RegExp(`\\b${escapeRegExp(from)}\\b`, 'g'), to)
    return text
  }
  const key = (object: SchemaObject) => `${object.kind}\u0000${object.name}`
  const restoredByKey = new Map(restored.map(object => [key(object), object]))
  const unmatched: SchemaObject[] = []
  const differences: SchemaObjectDifference[] = []
  for (const object of production) {
    const copy = restoredByKey.get(key(object))
    restoredByKey.delete(key(object))
    if (!copy) {
      unmatched.push(object)
      continue
    }
    if (!sameDefinition(object, copy, rewrite)) {
      differences.push({ kind: object.kind, name: object.name, production: object.definition, restored: copy.definition })
    }
  }
  // Across presentations, a server-named CHECK pairs with the other side's of the same table and definition.
  const extras = [...restoredByKey.values()]
  for (const object of unmatched) {
    const partner = extras.findIndex(
      copy =>
        crossPresentation(object, copy) &&
        serverNamedCheck(object) &&
        serverNamedCheck(copy) &&
        (object as MysqlSchemaObject).table === (copy as MysqlSchemaObject).table &&
        sameDefinition(object, copy, rewrite)
    )
    if (partner >= 0) extras.splice(partner, 1)
    else differences.push({ kind: object.kind, name: object.name, production: object.definition, restored: null })
  }
  for (const extra of extras) {
    differences.push({ kind: extra.kind, name: extra.name, production: null, restored: extra.definition })
  }
  const bytes = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b))
  return differences.sort((a, b) => bytes(a.kind, b.kind) || bytes(a.name, b.name))
}

/** Whether the two sides were read from servers of different presentations (both must say theirs). */
function crossPresentation(a: SchemaObject, b: SchemaObject): boolean {
  const [x, y] = [a as Partial<MysqlSchemaObject>, b as Partial<MysqlSchemaObject>]
  return x.presentation !== undefined && y.presentation !== undefined && x.presentation !== y.presentation
}

/** Production's object and the copy's say the same: canonically, or portably across presentations. */
function sameDefinition(object: SchemaObject, copy: SchemaObject, rewrite: (text: string) => string): boolean {
  const portable = crossPresentation(object, copy)
  let mine = rewrite(portable ? (object as MysqlSchemaObject).portable : object.definition)
  let theirs = portable ? (copy as MysqlSchemaObject).portable : copy.definition
  // Across flavours, a `_0900_` collation the sanitizer left (the clean room knows it: MariaDB
  // 11.4.5+, where it is an alias) is the MariaDB collation it names there.
  if (portable) [mine, theirs] = [mariadbAliasOf0900(mine), mariadbAliasOf0900(theirs)]
  const unreadable = `body: ${JSON.stringify(UNREADABLE_BODY)}`
  if (mine.includes(unreadable) || theirs.includes(unreadable)) [mine, theirs] = [withoutBody(mine), withoutBody(theirs)]
  return mine === theirs
}

/**
 * A CHECK whose name the server chose: MySQL names an unnamed one `<table>_chk_<n>` (MySQL 8.0
 * Reference Manual 13.1.20.6, "CHECK Constraints"), MariaDB a column's after the column, a
 * table's `CONSTRAINT_<n>` (MariaDB KB "CONSTRAINT"). A dump of one flavour restored into the
 * other gets the other's names for them.
 */
function serverNamedCheck(object: SchemaObject): boolean {
  const table = (object as Partial<MysqlSchemaObject>).table
  if (object.kind !== 'constraint' || table === undefined || !object.definition.startsWith('type: CHECK')) return false
  const name = object.name.slice(displayIdentifier(table).length + 1)
  const plain = name.startsWith('`') ? name.slice(1, -1).replace(/``/g, '`') : name
  return (
    plain.startsWith(`${table}_chk_`) ||
    /^CONSTRAINT_\d+$/.test(plain) ||
    new RegExp(`\\(?\`${escapeRegExp(plain.replace(/`/g, '``'))}\``).test(object.definition)
  )
}

/**
 * MySQL's `_0900_` collations by the MariaDB names they are aliases of (MariaDB 11.4.5 release
 * notes: utf8mb4_0900_* are aliases of utf8mb4_uca1400_nopad_*; skew-catalogue.ts
 * collationCandidates, best first).
 */
function mariadbAliasOf0900(text: string): string {
  return text.replace(
    /\butf8mb4_(?:[a-z_]+?_)?0900_(?:ai_ci|as_ci|as_cs_ks|as_cs|bin)\b/g,
    name => collationCandidates(name)?.[0] ?? name
  )
}

/** A definition without its `body: "..."` field (JSON-quoted, so it ends at its closing quote). */
function withoutBody(definition: string): string {
  return definition.replace(/(^|; )body: "(?:[^"\\]|\\.)*"/, '$1body: ?')
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}
