import type { TableName } from '../../util/table-name.js'

/**
 * The SQL of a table's figures: its row count and a content checksum the server computes, so no
 * row travels to the action. Pure: strings in, strings out.
 *
 * The checksum (docs/mysql.md): each row is the MD5 of its columns joined by '|', each column
 * `N` for NULL and `V` followed by the hex of its value otherwise, so that NULL, '' and 'N' stay
 * apart and no value can hold the separator. The value is the stored bytes for strings, binaries,
 * BLOBs, BIT and spatial columns, and the text form (under the pinned time_zone '+00:00') for
 * numbers, decimals, temporals, JSON, ENUM and SET. The table's checksum adds both 64-bit halves
 * of every row's MD5 as exact integers (SUM of BIGINT UNSIGNED is DECIMAL in MySQL and MariaDB:
 * no float rounding): independent of row order, and a duplicated row counts twice.
 */

/** How a column enters the checksum: its stored bytes, or its text form. */
export type ColumnHashing = 'bytes' | 'text'

export interface MysqlColumn {
  name: string
  /** information_schema.COLUMNS.DATA_TYPE, lower case: int, varchar, json, point... */
  dataType: string
  hashing: ColumnHashing
}

/**
 * A table of the connected database. `schema` is the name it is reported under (production's
 * database name, also for a restored copy), so that both sides pair by name; statements always
 * read the session's own database.
 */
export interface MysqlTable extends TableName {
  /** InnoDB, MyISAM, Aria...: only transactional engines are inside the consistent snapshot. */
  engine: string
  /** The columns the checksum covers, sorted by name (byte order): the same order on both sides. */
  columns: MysqlColumn[]
}

/** Character string types: their stored bytes are in the column's character set. */
export const STRING_TYPES = new Set(['char', 'varchar', 'tinytext', 'text', 'mediumtext', 'longtext'])

/** Types whose values are bytes rather than text: binaries, BLOBs, BIT and spatial types. */
export const BINARY_TYPES = new Set([
  'binary',
  'varbinary',
  'tinyblob',
  'blob',
  'mediumblob',
  'longblob',
  'bit',
  'geometry',
  'point',
  'linestring',
  'polygon',
  'multipoint',
  'multilinestring',
  'multipolygon',
  'geometrycollection',
  'geomcollection'
])

/** Types whose stored bytes are the value the checksum takes: strings and the byte types above. */
const BYTE_TYPES = new Set([...STRING_TYPES, ...BINARY_TYPES])

/** Storage engines whose reads a consistent snapshot isolates from concurrent writes (MVCC). */
const SNAPSHOT_ENGINES = new Set(['innodb', 'rocksdb', 'tokudb'])

/** The tables a consistent snapshot does not isolate: every engine but the MVCC ones above. */
export function outsideSnapshot<T extends MysqlTable>(tables: T[]): T[] {
  return tables.filter(table => !SNAPSHOT_ENGINES.has(table.engine.toLowerCase()))
}

export function columnHashing(dataType: string): ColumnHashing {
  return BYTE_TYPES.has(dataType.toLowerCase()) ? 'bytes' : 'text'
}

/** An identifier in backticks, as MySQL and MariaDB quote them (a backtick doubled). */
export function quoteIdent(identifier: string): string {
  return `\`${identifier.replace(/`/g, '``')}\``
}

/** A string literal under the pinned sql_mode (backslash escapes on, as database.ts pins it). */
export function quoteLiteral(text: string): string {
  return `'${text.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`
}

/** `database`.`table` */
export function qualified(database: string, table: string): string {
  return `${quoteIdent(database)}.${quoteIdent(table)}`
}

/** One column's part of a row's text: N for NULL, V and the hex of its value otherwise. */
export function columnText(column: MysqlColumn, alias = ''): string {
  const ref = `${alias}${quoteIdent(column.name)}`
  const value = column.hashing === 'bytes' ? `HEX(${ref})` : `HEX(CAST(${ref} AS CHAR))`
  return `IF(${ref} IS NULL, 'N', CONCAT('V', ${value}))`
}

/** The MD5 of a row (hex, 32 characters), over the given columns in their order. */
export function rowHashSql(columns: MysqlColumn[], alias = ''): string {
  // CONCAT_WS with a single argument is that argument; a table always has a column.
  return `MD5(CONCAT_WS('|', ${columns.map(column => columnText(column, alias)).join(', ')}))`
}

/** The two 64-bit halves of a 32-hex-digit hash `h`, as exact unsigned integers. */
export function hashHalvesSql(h: string): { high: string; low: string } {
  return {
    high: `CAST(CONV(SUBSTRING(${h}, 1, 16), 16, 10) AS UNSIGNED)`,
    low: `CAST(CONV(SUBSTRING(${h}, 17, 16), 16, 10) AS UNSIGNED)`
  }
}

/** Row count only. */
export function countSql(database: string, table: MysqlTable): string {
  return `SELECT COUNT(*) AS n FROM ${qualified(database, table.name)}`
}

/** Row count and the sums of both halves of every row's MD5. */
export function checksumSql(database: string, table: MysqlTable): string {
  const { high, low } = hashHalvesSql('q.h')
  return `SELECT COUNT(*) AS n, COALESCE(SUM(${high}), 0) AS high, COALESCE(SUM(${low}), 0) AS low
FROM (SELECT ${rowHashSql(table.columns)} AS h FROM ${qualified(database, table.name)}) AS q`
}

/** One short string: the row count and both sums modulo 2^64, in hex. */
export function combineChecksum(rows: string, high: string, low: string): string {
  const hex = (value: string) => BigInt.asUintN(64, BigInt(value)).toString(16)
  return `${BigInt(rows).toString(16)}-${hex(high)}-${hex(low)}`
}

/**
 * The tables of the connected database that hold rows (base tables, MariaDB's system-versioned
 * ones), with their columns in ORDINAL_POSITION order. `exclude` names a table that is not the
 * user's (the scratch database's marker). The columns that hold restore-time values are left
 * out of the checksum: a system-versioned table's ROW START/ROW END (MariaDB writes the restore's
 * time into them unless history is dumped), whether implicit or declared (MariaDB 10.11 shows a
 * declared one as EXTRA 'STORED GENERATED', GENERATION_EXPRESSION 'ROW START').
 */
export const LIST_TABLES_SQL = `
SELECT t.TABLE_NAME AS name, COALESCE(t.ENGINE, '') AS engine,
       c.COLUMN_NAME AS column_name, LOWER(c.DATA_TYPE) AS data_type
FROM information_schema.TABLES t
JOIN information_schema.COLUMNS c ON c.TABLE_SCHEMA = t.TABLE_SCHEMA AND c.TABLE_NAME = t.TABLE_NAME
WHERE t.TABLE_SCHEMA = DATABASE() AND t.TABLE_TYPE IN ('BASE TABLE', 'SYSTEM VERSIONED')
  AND t.TABLE_NAME <> ?
  AND c.EXTRA NOT LIKE '%ROW START%' AND c.EXTRA NOT LIKE '%ROW END%'
  AND COALESCE(c.GENERATION_EXPRESSION, '') NOT IN ('ROW START', 'ROW END')
ORDER BY t.TABLE_NAME, c.ORDINAL_POSITION`

/** Groups LIST_TABLES_SQL's rows into tables, columns sorted by name (byte order), tables by name. */
export function tablesFromRows(
  rows: { name: string; engine: string; column_name: string; data_type: string }[],
  reportAs: string
): MysqlTable[] {
  const tables = new Map<string, MysqlTable>()
  for (const row of rows) {
    let table = tables.get(row.name)
    if (!table) tables.set(row.name, (table = { schema: reportAs, name: row.name, engine: row.engine, columns: [] }))
    table.columns.push({ name: row.column_name, dataType: row.data_type, hashing: columnHashing(row.data_type) })
  }
  const byBytes = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b))
  for (const table of tables.values()) table.columns.sort((a, b) => byBytes(a.name, b.name))
  return [...tables.values()].sort((a, b) => byBytes(a.name, b.name))
}
