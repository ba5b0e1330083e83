import { tableKey } from '../util/table-name.js'
import { quoteIdent, rowFilter, rowSourceSql, userRelationSql, type TableRef } from '../engines/postgres/fingerprint-queries.js'
import type { Queryable } from '../engines/postgres/queryable.js'
import { compareText } from '../util/text-order.js'

/**
 * Pins a table's mismatch to rows. Both sides hash every row's text form (md5), group the
 * hashes into buckets by a hash of the row's key and compare one aggregate per bucket; only the
 * buckets that differ are looked into, so what travels to the action grows with the number of
 * differing rows, not with the table. Nothing is written anywhere: production is read inside its
 * snapshot, and every statement sent there only reads the columns production itself listed.
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

/** What differs between one table's rows in production and in the restored copy. */
export interface RowDifferences {
  /** Rows in production, not in the restored copy. */
  missing: number
  /** Rows in the restored copy, not in production. */
  extra: number
  /** Same key, different content (tables with a key only). */
  changed: number
  /** Up to maxRows differing rows by key, ordered by key; row text only with showValues. */
  keys: { change: 'missing' | 'extra' | 'changed'; key: string; production?: string; restored?: string }[]
  /** How many differing rows are not listed because of maxRows (0 for a table without a key). */
  notListed: number
}

export interface RowDiffOptions {
  /** At most this many differing rows are listed (all are counted). */
  maxRows: number
  /** List each row's text (production data) with its key. */
  showValues: boolean
}

type Change = RowDifferences['keys'][number]['change']
/** A key's columns in their text form; null where the restored copy has a NULL the key forbids. */
type KeyValues = (string | null)[]

/** Buckets are sized for about this many rows each: small enough to fetch when one differs. */
export const ROWS_PER_BUCKET = 1000
/** A differing bucket of at most this many rows (on the larger side) is fetched, not split. */
export const FETCH_BUCKET_ROWS = 2000
/** At most 2^16 buckets per query, so one level's aggregates stay small whatever the table. */
const MAX_BITS_PER_LEVEL = 16
/** Buckets are prefixes of a 32-bit hash. */
const HASH_BITS = 32
/** One fetch covers buckets holding at most this many rows, so no answer grows without bound. */
const FETCH_BATCH_ROWS = 100_000
/** Lower bound on a row's size on disk (tuple header and line pointer), to overestimate row counts. */
const MIN_ROW_BYTES = 32
const INTEGER = /^-?[0-9]+$/

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

/**
 * Finds the rows that differ between `production` and `restored` for one table. `table.columns`
 * are production's (TableRef's, sorted by name), so that both sides hash the same columns in the
 * same order; `key` is production's (readPrimaryKeys), or undefined for a table without one,
 * which gets counts only. Throws when a side cannot be read.
 */
export async function pinDifferingRows(
  production: Queryable,
  restored: Queryable,
  table: RowDiffTable,
  key: string[] | undefined,
  options: RowDiffOptions
): Promise<RowDifferences> {
  const sql = new RowDiffSql(table, key && key.length > 0 ? key : undefined)
  const sides = [production, restored] as const
  const both: Both = <T>(ask: (db: Queryable) => Promise<T>) => Promise.all([ask(production), ask(restored)]) as Promise<[T, T]>
  const maxRows = Math.max(0, Math.floor(options.maxRows))
  const found = new Findings(maxRows)

  const estimates = await both(db => db.query<{ tuples: number; bytes: number }>(ESTIMATE_SQL, [table.schema, table.name]))
  const estimate = Math.max(0, ...estimates.flat().map(row => Math.max(row.tuples, row.bytes / MIN_ROW_BYTES)))
  const oneSided = await narrow(both, sql, bucketBits(estimate), found)

  // Rows of buckets only one side has were counted from the aggregates; list the first few.
  if (sql.keyed && maxRows > 0) {
    for (const [change, side, buckets] of [
      ['missing', production, oneSided.missing],
      ['extra', restored, oneSided.extra]
    ] as const) {
      for (const group of byDepth(buckets)) {
        const rows = await side.query<{ values: KeyValues; hash: string }>(sql.firstRows(group[0].depth, maxRows), [
          prefixes(group)
        ])
        for (const { values, hash } of rows) {
          found.list(change === 'missing' ? { change, values, production: hash } : { change, values, restored: hash })
        }
      }
    }
  }

  const listed = found.listed()
  const texts = options.showValues
    ? await Promise.all(
        (['production', 'restored'] as const).map((side, index) => {
          const hashes = [...new Set(listed.flatMap(entry => entry[side] ?? []))]
          return hashes.length === 0 ? new Map<string, string>() : readRowTexts(sides[index], sql, hashes)
        })
      )
    : undefined
  const keys = listed.map(entry => ({
    change: entry.change,
    key: formatKey(key ?? [], entry.values),
    ...(texts && entry.production !== undefined ? { production: texts[0].get(entry.production) } : {}),
    ...(texts && entry.restored !== undefined ? { restored: texts[1].get(entry.restored) } : {})
  }))
  // Rows of a table without a key are never listed: none is left out because of maxRows.
  const notListed = sql.keyed ? found.missing + found.extra + found.changed - keys.length : 0
  return { missing: found.missing, extra: found.extra, changed: found.changed, keys, notListed }
}

type Both = <T>(ask: (db: Queryable) => Promise<T>) => Promise<[T, T]>
/** Buckets only production (missing) or only the restored copy (extra) has rows in. */
type OneSided = { missing: Bucket[]; extra: Bucket[] }

/**
 * Compares bucket aggregates level by level from `depth` bits on. Buckets both sides have but
 * that differ are fetched when small and split further when not; their rows are counted (and
 * listed) into `found`. Buckets only one side has are counted from their aggregates and returned.
 */
async function narrow(both: Both, sql: RowDiffSql, depth: number, found: Findings): Promise<OneSided> {
  const oneSided: OneSided = { missing: [], extra: [] }
  let parents: { bucket: Bucket; production: number; restored: number }[] = []
  for (;;) {
    const parentDepth = parents.length > 0 ? parents[0].bucket.depth : 0
    const parentRows = new Map(parents.map(parent => [parent.bucket.prefix, parent]))
    const aggregates = await both(db =>
      readAggregates(
        db,
        sql,
        depth,
        parentDepth,
        parents.map(parent => parent.bucket)
      )
    )
    const toFetch: { bucket: Bucket; rows: number }[] = []
    const toSplit: typeof parents = []
    for (const prefix of new Set([...aggregates[0].keys(), ...aggregates[1].keys()])) {
      const [inProduction, inRestored] = aggregates.map(side => side.get(prefix))
      if (inProduction && inRestored && sameAggregate(inProduction, inRestored)) continue
      const bucket = { depth, prefix }
      if (!inRestored) {
        found.missing += inProduction!.rows
        oneSided.missing.push(bucket)
      } else if (!inProduction) {
        found.extra += inRestored.rows
        oneSided.extra.push(bucket)
      } else {
        const rows = Math.max(inProduction.rows, inRestored.rows)
        // A bucket a split did not shrink holds copies of a few rows (or keys): fetching groups them.
        const parent = parentRows.get(String(Math.floor(Number(prefix) / 2 ** (depth - parentDepth))))
        const unsplittable = parent?.production === inProduction.rows && parent.restored === inRestored.rows
        if (rows <= FETCH_BUCKET_ROWS || depth >= HASH_BITS || unsplittable) toFetch.push({ bucket, rows })
        else toSplit.push({ bucket, production: inProduction.rows, restored: inRestored.rows })
      }
    }
    for (const batch of batches(toFetch)) {
      const [fromProduction, fromRestored] = await both(db => readHashes(db, sql, batch))
      found.add(fromProduction, fromRestored, sql.keyed)
    }
    if (toSplit.length === 0) return oneSided
    parents = toSplit
    const largest = Math.max(...toSplit.map(item => Math.max(item.production, item.restored)))
    depth = Math.min(HASH_BITS, depth + Math.max(1, bucketBits(largest)))
  }
}

/** A bucket: the rows whose 32-bit hash starts with `prefix`, `depth` bits long. */
interface Bucket {
  depth: number
  prefix: string
}

interface Aggregate {
  rows: number
  high: string
  low: string
}

/** One differing row as found, by the hashes of its versions. */
interface Entry {
  change: Change
  values: KeyValues
  production?: string
  restored?: string
}

/** Counts every difference and keeps only the first maxRows entries by key, so memory stays bounded. */
class Findings {
  missing = 0
  extra = 0
  changed = 0
  private entries: Entry[] = []

  constructor(private readonly maxRows: number) {}

  list(entry: Entry): void {
    if (this.maxRows === 0) return
    this.entries.push(entry)
    if (this.entries.length >= 4 * this.maxRows + 1000) this.entries = this.listed()
  }

  listed(): Entry[] {
    return this.entries.sort(compareEntries).slice(0, this.maxRows)
  }

  /** Pairs up one batch's rows by key and counts (and lists) what differs. */
  add(production: HashRow[], restored: HashRow[], keyed: boolean): void {
    const byKey = new Map<string, { values: KeyValues; production: Map<string, number>; restored: Map<string, number> }>()
    const add = (rows: HashRow[], side: 'production' | 'restored') => {
      for (const row of rows) {
        const keyText = row.key ?? ''
        let group = byKey.get(keyText)
        if (!group) byKey.set(keyText, (group = { values: row.values ?? [], production: new Map(), restored: new Map() }))
        group[side].set(row.hash, (group[side].get(row.hash) ?? 0) + Number(row.n))
      }
    }
    add(production, 'production')
    add(restored, 'restored')
    for (const group of byKey.values()) {
      const { missing, extra } = diffMultisets(group.production, group.restored)
      const missingRows = total(missing)
      const extraRows = total(extra)
      // Without a key, rows cannot be paired: a changed row is one missing and one extra.
      const changed = keyed ? Math.min(missingRows, extraRows) : 0
      this.changed += changed
      this.missing += missingRows - changed
      this.extra += extraRows - changed
      if (!keyed || this.maxRows === 0) continue
      // Entries past maxRows for one key could never be listed.
      const productionHashes = expand(missing, this.maxRows + changed)
      const restoredHashes = expand(extra, this.maxRows + changed)
      for (let i = 0; i < Math.min(changed, this.maxRows); i++) {
        this.list({ change: 'changed', values: group.values, production: productionHashes[i], restored: restoredHashes[i] })
      }
      for (const hash of productionHashes.slice(changed)) this.list({ change: 'missing', values: group.values, production: hash })
      for (const hash of restoredHashes.slice(changed)) this.list({ change: 'extra', values: group.values, restored: hash })
    }
  }
}

interface HashRow {
  hash: string
  n: string
  key?: string
  values?: KeyValues
}

/**
 * The multiset difference of two bags of row hashes (hash -> how many times): what production has
 * more of (missing) and what the restored copy has more of (extra).
 */
export function diffMultisets(
  production: Map<string, number>,
  restored: Map<string, number>
): { missing: Map<string, number>; extra: Map<string, number> } {
  const missing = new Map<string, number>()
  const extra = new Map<string, number>()
  for (const [hash, count] of production) {
    const surplus = count - (restored.get(hash) ?? 0)
    if (surplus > 0) missing.set(hash, surplus)
  }
  for (const [hash, count] of restored) {
    const surplus = count - (production.get(hash) ?? 0)
    if (surplus > 0) extra.set(hash, surplus)
  }
  return { missing, extra }
}

function total(bag: Map<string, number>): number {
  let sum = 0
  for (const count of bag.values()) sum += count
  return sum
}

/** A bag's hashes in order, each as often as it occurs, at most `limit` of them. */
function expand(bag: Map<string, number>, limit: number): string[] {
  const hashes: string[] = []
  for (const hash of [...bag.keys()].sort()) {
    for (let i = 0; i < bag.get(hash)! && hashes.length < limit; i++) hashes.push(hash)
  }
  return hashes
}

/**
 * How many bits of hash prefix make buckets of about ROWS_PER_BUCKET rows for `rows` rows: 0 (one
 * bucket) for small tables, at most 16 (65,536 buckets) per level.
 */
export function bucketBits(rows: number): number {
  if (!(rows > ROWS_PER_BUCKET)) return 0
  return Math.min(MAX_BITS_PER_LEVEL, Math.ceil(Math.log2(rows / ROWS_PER_BUCKET)))
}

/**
 * A key as PostgreSQL's own messages show it: `(id)=(42)`, `(order_id, line_no)=(7, 2)`. Names
 * are quoted where needed to see where they end; values are their text form, as PostgreSQL prints
 * them (a NULL, which a key forbids but a damaged copy may hold, as `null`).
 */
export function formatKey(columns: string[], values: KeyValues): string {
  const name = (column: string) => (/^[a-z_][a-z0-9_$]*$/.test(column) ? column : quoteIdent(column))
  return `(${columns.map(name).join(', ')})=(${values.map(value => value ?? 'null').join(', ')})`
}

/**
 * Orders keys column by column: integers first, by value, then other text byte by byte (as
 * COLLATE "C" does), NULL last. RowDiffSql.firstRows orders the same way, so that the first rows of
 * each part can be fetched with a LIMIT and still be the first of the whole list.
 */
export function compareKeys(a: KeyValues, b: KeyValues): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i] ?? null
    const y = b[i] ?? null
    if (x === y) continue
    if (x === null) return 1
    if (y === null) return -1
    const xInteger = INTEGER.test(x)
    const yInteger = INTEGER.test(y)
    if (xInteger !== yInteger) return xInteger ? -1 : 1
    if (xInteger) {
      const difference = BigInt(x) - BigInt(y)
      if (difference !== 0n) return difference < 0n ? -1 : 1
    }
    const bytes = Buffer.compare(Buffer.from(x), Buffer.from(y))
    if (bytes !== 0) return bytes
  }
  return 0
}

const CHANGE_ORDER: Record<Change, number> = { changed: 0, missing: 1, extra: 2 }

function compareEntries(a: Entry, b: Entry): number {
  return (
    compareKeys(a.values, b.values) ||
    CHANGE_ORDER[a.change] - CHANGE_ORDER[b.change] ||
    compareText(a.production ?? a.restored ?? '', b.production ?? b.restored ?? '')
  )
}

function sameAggregate(a: Aggregate, b: Aggregate): boolean {
  return a.rows === b.rows && a.high === b.high && a.low === b.low
}

/** Groups buckets to fetch so that each fetch returns at most about FETCH_BATCH_ROWS rows. */
function batches(items: { bucket: Bucket; rows: number }[]): Bucket[][] {
  const result: Bucket[][] = []
  let current: Bucket[] = []
  let rows = 0
  for (const item of items) {
    if (current.length > 0 && (rows + item.rows > FETCH_BATCH_ROWS || current[0].depth !== item.bucket.depth)) {
      result.push(current)
      current = []
      rows = 0
    }
    current.push(item.bucket)
    rows += item.rows
  }
  if (current.length > 0) result.push(current)
  return result
}

function byDepth(buckets: Bucket[]): Bucket[][] {
  const groups = new Map<number, Bucket[]>()
  for (const bucket of buckets) groups.set(bucket.depth, [...(groups.get(bucket.depth) ?? []), bucket])
  return [...groups.values()]
}

function prefixes(buckets: Bucket[]): string[] {
  return buckets.map(bucket => bucket.prefix)
}

// A partitioned table (compared as a whole) is estimated by its partitions, which hold its rows.
const ESTIMATE_SQL = `
SELECT sum(greatest(p.reltuples, 0))::float8 AS tuples, sum(pg_catalog.pg_relation_size(p.oid))::float8 AS bytes
FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
JOIN pg_catalog.pg_class p
  ON p.oid = c.oid OR (c.relkind = 'p' AND p.oid IN (SELECT tree.relid FROM pg_catalog.pg_partition_tree(c.oid) AS tree))
WHERE n.nspname = $1 AND c.relname = $2`

async function readAggregates(
  db: Queryable,
  sql: RowDiffSql,
  depth: number,
  parentDepth: number,
  parents: Bucket[]
): Promise<Map<string, Aggregate>> {
  const rows = await db.query<{ bucket: string; rows: string; high: string; low: string }>(
    sql.aggregates(depth, parents.length > 0 ? parentDepth : undefined),
    parents.length > 0 ? [prefixes(parents)] : []
  )
  return new Map(rows.map(row => [row.bucket, { rows: Number(row.rows), high: row.high, low: row.low }]))
}

function readHashes(db: Queryable, sql: RowDiffSql, buckets: Bucket[]): Promise<HashRow[]> {
  return db.query<HashRow>(sql.hashes(buckets[0].depth), [prefixes(buckets)])
}

async function readRowTexts(db: Queryable, sql: RowDiffSql, hashes: string[]): Promise<Map<string, string>> {
  const rows = await db.query<{ hash: string; row: string }>(sql.rowTexts(), [hashes])
  return new Map(rows.map(row => [row.hash, row.row]))
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
    return `(s.h >> ${HASH_BITS - depth})`
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

  /** The first `limit` rows of the buckets in $1, in compareKeys' order. */
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
