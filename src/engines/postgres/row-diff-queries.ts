import { tableKey } from '../../util/table-name.js'
import { ROW_HASH_BITS, type BucketAggregate, type KeyValues, type RowDiffSide, type RowHash } from '../reads.js'
import { quoteIdent, rowFilter, rowSourceSql, userRelationSql, type TableRef } from './figure-queries.js'
import type { Queryable } from './queryable.js'

/**
 * The SQL half of the row diff (verification/row-diff.ts narrows buckets and pairs rows with
 * what these read): each table's key, and one side's statements over a table's rows, which only
 * read the columns production itself listed.
 */

/** The table whose rows are compared: production's columns, in TableRef's order. */
export interface RowDiffTable {
  schema: string
  name: string
  /** `p`: a partitioned table compared as a whole, whose rows are its partitions'. */
  kind?: TableRef['kind']
  columns: ReadonlyArray<{ name: string }>
  /** An extension configuration table's condition (see TableRef). */
  filter?: string | null
}

/** Lower bound on a row's size on disk (tuple header and line pointer), to overestimate row counts. */
const MIN_ROW_BYTES = 32

/**
 * Each table's key: its primary key or, failing that, the unique index over the fewest NOT NULL
 * plain columns (no expressions, no WHERE), by table (compare.ts's tableKey), in index order.
 */
export async function readPrimaryKeys(db: Queryable): Promise<Map<string, string[]>> {
  const rows = await db.query<{ schema: string; name: string; columns: string[] }>(PRIMARY_KEYS_SQL)
  const keys = new Map<string, string[]>()
  // Rows come best index first: the first one per table wins.
  for (const row of rows) if (!keys.has(tableKey(row))) keys.set(tableKey(row), row.columns)
  return keys
}

// indnkeyatts (PostgreSQL 11+) leaves out INCLUDE columns; read through to_jsonb so that older
// servers, which have no such column (nor INCLUDE), still answer.
const PRIMARY_KEYS_SQL = `
SELECT n.nspname AS schema, c.relname AS name,
       (SELECT json_agg(a.attname::text ORDER BY k.position)
        FROM unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, position)
        JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum
        WHERE k.position <= coalesce((to_jsonb(i) ->> 'indnkeyatts')::int, i.indnatts)) AS columns
FROM pg_catalog.pg_index i
JOIN pg_catalog.pg_class c ON c.oid = i.indrelid
JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'm', 'p') AND i.indisunique AND i.indisvalid AND i.indexprs IS NULL AND i.indpred IS NULL
  AND ${userRelationSql('c', 'n')}
  AND (i.indisprimary OR NOT EXISTS (
        SELECT 1 FROM unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, position)
        JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum
        WHERE k.position <= coalesce((to_jsonb(i) ->> 'indnkeyatts')::int, i.indnatts) AND NOT a.attnotnull))
ORDER BY n.nspname, c.relname, i.indisprimary DESC,
         coalesce((to_jsonb(i) ->> 'indnkeyatts')::int, i.indnatts), ic.relname
`

// A partitioned table (compared as a whole) is estimated by its partitions, which hold its rows.
const ESTIMATE_SQL = `
SELECT sum(greatest(p.reltuples, 0))::float8 AS tuples, sum(pg_catalog.pg_relation_size(p.oid))::float8 AS bytes
FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
JOIN pg_catalog.pg_class p
  ON p.oid = c.oid OR (c.relkind = 'p' AND p.oid IN (SELECT tree.relid FROM pg_catalog.pg_partition_tree(c.oid) AS tree))
WHERE n.nspname = $1 AND c.relname = $2`

/**
 * One side's reads of `table`'s rows for the row diff. `table.columns` are production's
 * (TableRef's, sorted by name), so that both sides hash the same columns in the same order; `key`
 * is production's (readPrimaryKeys), or undefined (or empty) for a table without one.
 */
export function rowDiffSide(db: Queryable, table: RowDiffTable, key: string[] | undefined): RowDiffSide {
  const sql = new RowDiffSql(table, key && key.length > 0 ? key : undefined)
  return {
    async estimateRows() {
      const rows = await db.query<{ tuples: number; bytes: number }>(ESTIMATE_SQL, [table.schema, table.name])
      return Math.max(0, ...rows.map(row => Math.max(row.tuples, row.bytes / MIN_ROW_BYTES)))
    },
    async aggregates(depth, within) {
      const rows = await db.query<{ bucket: string; rows: string; high: string; low: string }>(
        sql.aggregates(depth, within?.depth),
        within ? [within.prefixes] : []
      )
      return rows.map(
        row => ({ bucket: row.bucket, rows: Number(row.rows), high: row.high, low: row.low }) satisfies BucketAggregate
      )
    },
    hashes: (depth, prefixes) => db.query<RowHash>(sql.hashes(depth), [prefixes]),
    firstRows: (depth, prefixes, limit) => db.query<{ values: KeyValues; hash: string }>(sql.firstRows(depth, limit), [prefixes]),
    async rowTexts(hashes) {
      const rows = await db.query<{ hash: string; row: string }>(sql.rowTexts(), [hashes])
      return new Map(rows.map(row => [row.hash, row.row]))
    }
  }
}

/**
 * The statements, the same on both sides. Each row is seen as `r`, the md5 of its text form;
 * `h`, 32 bits of the md5 of its key's text (of `r` without a key), whose leading bits name its
 * bucket; and for keyed tables `k`, the key's row text, and `kv`, its values.
 */
class RowDiffSql {
  readonly keyed: boolean
  private readonly keyLength: number
  private readonly source: string

  constructor(table: RowDiffTable, key: string[] | undefined) {
    this.keyed = key !== undefined
    this.keyLength = key?.length ?? 0
    const row = `ROW(${table.columns.map(column => quoteIdent(column.name)).join(', ')})::text`
    const keyText = key && `ROW(${key.map(quoteIdent).join(', ')})::text`
    const keyValues = key && `ARRAY[${key.map(column => `${quoteIdent(column)}::text`).join(', ')}]::text[]`
    const keyColumns = key ? `, ${keyText} AS k, ${keyValues} AS kv` : ''
    // OFFSET 0 keeps each subquery from being merged into the query, which would compute md5
    // once per use of r or h instead of once per row; columns a query does not use are skipped.
    this.source = `(SELECT ('x' || substr(${key ? 'md5(s0.k)' : 's0.r'}, 1, 8))::bit(32)::bigint AS h, s0.*
  FROM (SELECT md5(${row}) AS r, ${row} AS row${keyColumns} FROM ${rowSourceSql(table)} AS t ${rowFilter(table)} OFFSET 0) AS s0
  OFFSET 0) AS s`
  }

  /** The leading `depth` bits of the row's hash. */
  private bucket(depth: number): string {
    return `(s.h >> ${ROW_HASH_BITS - depth})`
  }

  /** Restricts the rows to the buckets of depth `depth` listed in $1. */
  private within(depth: number): string {
    return `JOIN unnest($1::bigint[]) AS p(prefix) ON ${this.bucket(depth)} = p.prefix`
  }

  /** Count and the sums of both halves of `r` per bucket, within the parent buckets in $1 if given. */
  aggregates(depth: number, parentDepth: number | undefined): string {
    return `SELECT ${this.bucket(depth)}::text AS bucket, count(*)::text AS rows,
  sum(('x' || substr(s.r, 1, 16))::bit(64)::bigint)::text AS high,
  sum(('x' || substr(s.r, 17, 16))::bit(64)::bigint)::text AS low
FROM ${this.source}
${parentDepth === undefined ? '' : this.within(parentDepth)}
GROUP BY 1`
  }

  /** Each distinct (key, row hash) of the buckets in $1, with how many rows have it. */
  hashes(depth: number): string {
    const key = this.keyed ? ', s.k AS key, s.kv AS "values"' : ''
    return `SELECT s.r AS hash, count(*)::text AS n${key}
FROM ${this.source}
${this.within(depth)}
GROUP BY s.r${this.keyed ? ', s.k, s.kv' : ''}`
  }

  /** The first `limit` rows of the buckets in $1, in verification/row-diff.ts compareKeys' order. */
  firstRows(depth: number, limit: number): string {
    const order: string[] = []
    for (let i = 1; i <= this.keyLength; i++) {
      const value = `s.kv[${i}]`
      order.push(
        `(${value} IS NULL)`,
        `(${value} !~ '^-?[0-9]+$')`,
        `CASE WHEN ${value} ~ '^-?[0-9]+$' THEN ${value}::numeric END`,
        `${value} COLLATE "C"`
      )
    }
    return `SELECT s.kv AS "values", s.r AS hash
FROM ${this.source}
${this.within(depth)}
ORDER BY ${[...order, 's.r COLLATE "C"'].join(', ')}
LIMIT ${limit}`
  }

  /** The text of one row for each row hash in $1. */
  rowTexts(): string {
    return `SELECT DISTINCT ON (s.r) s.r AS hash, s.row AS row
FROM ${this.source}
JOIN unnest($1::text[]) AS w(hash) ON s.r = w.hash`
  }
}
