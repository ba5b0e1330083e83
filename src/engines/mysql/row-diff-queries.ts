import { ROW_HASH_BITS, type BucketAggregate, type KeyValues, type RowDiffSide, type RowHash } from '../reads.js'
import {
  BINARY_TYPES,
  STRING_TYPES,
  hashHalvesSql,
  qualified,
  quoteIdent,
  rowHashSql,
  type MysqlColumn,
  type MysqlTable
} from './figure-queries.js'
import type { MysqlQueryable } from './queryable.js'

/**
 * The SQL half of the row diff for MySQL and MariaDB (verification/row-diff.ts narrows buckets
 * and pairs rows with what these read). Each row is seen as `r`, the MD5 of the same text the
 * table's checksum hashes (figure-queries.ts); `h`, 32 bits of the MD5 of its key's values (of
 * `r` without a key), whose leading bits name its bucket; for keyed tables `k`, the key's values
 * as a JSON array (rows pair on it), and `kv0`, `kv1`... each key value's text. Every statement
 * only reads the columns production listed.
 */

/** Lower bound on a row's size on disk, to overestimate row counts from the data length. */
const MIN_ROW_BYTES = 32

const NUMERIC_TYPES = new Set([
  'tinyint',
  'smallint',
  'mediumint',
  'int',
  'integer',
  'bigint',
  'decimal',
  'float',
  'double',
  'year'
])

/** A value's text for a key: bytes as 0x..., anything else as its text. */
function valueText(column: MysqlColumn): string {
  const ref = quoteIdent(column.name)
  return BINARY_TYPES.has(column.dataType) ? `CONCAT('0x', HEX(${ref}))` : `CAST(${ref} AS CHAR)`
}

/** A value as a reader sees it in a row: numbers bare, text quoted, bytes as 0x..., NULL as NULL. */
function displayText(column: MysqlColumn): string {
  const ref = quoteIdent(column.name)
  if (BINARY_TYPES.has(column.dataType)) return `IF(${ref} IS NULL, 'NULL', CONCAT('0x', HEX(${ref})))`
  if (NUMERIC_TYPES.has(column.dataType)) return `IFNULL(CAST(${ref} AS CHAR), 'NULL')`
  return STRING_TYPES.has(column.dataType) ? `QUOTE(${ref})` : `QUOTE(CAST(${ref} AS CHAR))`
}

/** Decimal integers only: they are written into statements. */
function integers(values: string[]): string {
  for (const value of values) if (!/^\d+$/.test(value)) throw new Error(`Not a bucket prefix: ${value}`)
  return values.join(', ')
}

/**
 * One side's reads of `table`'s rows in `database`. `table.columns` are production's, so both
 * sides hash the same columns in the same order; `key` is production's (readPrimaryKeys).
 */
export function rowDiffSide(db: MysqlQueryable, database: string, table: MysqlTable, key: string[] | undefined): RowDiffSide {
  const keyColumns = (key ?? []).map(
    name => table.columns.find(column => column.name === name) ?? { name, dataType: 'varchar', hashing: 'bytes' as const }
  )
  const keyed = keyColumns.length > 0
  const { high, low } = hashHalvesSql('s.r')
  const keyValues = keyColumns.map((column, i) => `, ${valueText(column)} AS kv${i}`).join('')
  const keyJson = keyed ? `, JSON_ARRAY(${keyColumns.map(valueText).join(', ')}) AS k` : ''
  const row = `CONCAT('(', CONCAT_WS(', ', ${table.columns.map(displayText).join(', ')}), ')')`
  // Computed once per row in the inner query; the outer one derives h from r or k.
  const inner = `SELECT ${rowHashSql(table.columns)} AS r, ${row} AS rowtext${keyJson}${keyValues} FROM ${qualified(database, table.name)}`
  const source = `(SELECT CAST(CONV(SUBSTRING(${keyed ? 'MD5(i.k)' : 'i.r'}, 1, 8), 16, 10) AS UNSIGNED) AS h, i.* FROM (${inner}) AS i) AS s`
  const bucket = (depth: number) => `(s.h >> ${ROW_HASH_BITS - depth})`
  const within = (depth: number, prefixes: string[]) =>
    prefixes.length === 0 ? 'WHERE FALSE' : `WHERE ${bucket(depth)} IN (${integers(prefixes)})`

  return {
    async estimateRows() {
      const [row] = await db.query<{ n: string | null; bytes: string | null }>(
        `SELECT CAST(TABLE_ROWS AS CHAR) AS n, CAST(DATA_LENGTH AS CHAR) AS bytes FROM information_schema.TABLES
         WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?`,
        [database, table.name]
      )
      return Math.max(0, Number(row?.n ?? 0), Number(row?.bytes ?? 0) / MIN_ROW_BYTES)
    },
    async aggregates(depth, parent) {
      const rows = await db.query<{ bucket: string; n: string; high: string; low: string }>(
        `SELECT CAST(${bucket(depth)} AS CHAR) AS bucket, COUNT(*) AS n, CAST(SUM(${high}) AS CHAR) AS high,
                CAST(SUM(${low}) AS CHAR) AS low
         FROM ${source} ${parent ? within(parent.depth, parent.prefixes) : ''}
         GROUP BY ${bucket(depth)}`
      )
      return rows.map(
        row => ({ bucket: row.bucket, rows: Number(row.n), high: row.high, low: row.low }) satisfies BucketAggregate
      )
    },
    async hashes(depth, prefixes) {
      const rows = await db.query<{ hash: string; n: string; k?: string }>(
        `SELECT s.r AS hash, CAST(COUNT(*) AS CHAR) AS n${keyed ? ', s.k AS k' : ''}
         FROM ${source} ${within(depth, prefixes)}
         GROUP BY s.r${keyed ? ', s.k' : ''}`
      )
      return rows.map(row => {
        const hash: RowHash = { hash: row.hash, n: row.n }
        if (keyed) {
          hash.key = row.k!
          hash.values = JSON.parse(row.k!) as KeyValues
        }
        return hash
      })
    },
    async firstRows(depth, prefixes, limit) {
      // verification/row-diff.ts compareKeys' order: integers by value first, then text byte by byte, NULL last.
      const order = keyColumns.flatMap((_, i) => {
        const v = `s.kv${i}`
        return [
          `(${v} IS NULL)`,
          `(${v} NOT REGEXP '^-?[0-9]+$')`,
          `CASE WHEN ${v} REGEXP '^-?[0-9]+$' THEN CAST(${v} AS DECIMAL(65, 0)) END`,
          `CAST(${v} AS BINARY)`
        ]
      })
      const rows = await db.query<{ k: string; hash: string }>(
        `SELECT s.k AS k, s.r AS hash FROM ${source} ${within(depth, prefixes)}
         ORDER BY ${[...order, 'CAST(s.r AS BINARY)'].join(', ')}
         LIMIT ${Math.max(0, Math.floor(limit))}`
      )
      return rows.map(row => ({ values: JSON.parse(row.k) as KeyValues, hash: row.hash }))
    },
    async rowTexts(hashes) {
      for (const hash of hashes) if (!/^[0-9a-f]{32}$/.test(hash)) throw new Error(`Not a row hash: ${hash}`)
      if (hashes.length === 0) return new Map()
      const rows = await db.query<{ hash: string; row: string }>(
        `SELECT s.r AS hash, MIN(s.rowtext) AS \`row\` FROM ${source}
         WHERE s.r IN (${hashes.map(hash => `'${hash}'`).join(', ')}) GROUP BY s.r`
      )
      return new Map(rows.map(row => [row.hash, row.row]))
    }
  }
}
