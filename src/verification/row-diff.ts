import { ROW_HASH_BITS, type BucketAggregate, type KeyValues, type RowDiffSide, type RowHash } from '../engines/reads.js'
import { compareText } from '../util/text-order.js'
import { displayIdentifier } from '../util/table-name.js'

/**
 * Pins a table's mismatch to rows. Both sides hash every row's text form (md5), group the
 * hashes into buckets by a hash of the row's key and compare one aggregate per bucket; only the
 * buckets that differ are looked into, so what travels to the action grows with the number of
 * differing rows, not with the table. Nothing is written anywhere: production is read inside its
 * snapshot. This module narrows and pairs; each side's reads are the engine's (engines/reads.ts
 * RowDiffSide, engines/postgres/row-diff-queries.ts for PostgreSQL).
 */

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

/** Buckets are sized for about this many rows each: small enough to fetch when one differs. */
export const ROWS_PER_BUCKET = 1000
/** A differing bucket of at most this many rows (on the larger side) is fetched, not split. */
export const FETCH_BUCKET_ROWS = 2000
/** At most 2^16 buckets per query, so one level's aggregates stay small whatever the table. */
const MAX_BITS_PER_LEVEL = 16
/** Buckets are prefixes of a hash of this many bits. */
const HASH_BITS = ROW_HASH_BITS
/** One fetch covers buckets holding at most this many rows, so no answer grows without bound. */
const FETCH_BATCH_ROWS = 100_000
const INTEGER = /^-?[0-9]+$/

/**
 * Finds the rows that differ between `production` and `restored` for one table, each side's
 * reads bound to the same table and key (the engine's rowDiffSide). `key` is production's
 * (readPrimaryKeys), or undefined for a table without one, which gets counts only. Throws when a
 * side cannot be read.
 */
export async function pinDifferingRows(
  production: RowDiffSide,
  restored: RowDiffSide,
  key: string[] | undefined,
  options: RowDiffOptions
): Promise<RowDifferences> {
  const keyed = key !== undefined && key.length > 0
  const sides = [production, restored] as const
  const both: Both = <T>(ask: (side: RowDiffSide) => Promise<T>) =>
    Promise.all([ask(production), ask(restored)]) as Promise<[T, T]>
  const maxRows = Math.max(0, Math.floor(options.maxRows))
  const found = new Findings(maxRows)

  const estimate = Math.max(...(await both(side => side.estimateRows())))
  const oneSided = await narrow(both, keyed, bucketBits(estimate), found)

  // Rows of buckets only one side has were counted from the aggregates; list the first few.
  if (keyed && maxRows > 0) {
    for (const [change, side, buckets] of [
      ['missing', production, oneSided.missing],
      ['extra', restored, oneSided.extra]
    ] as const) {
      for (const group of byDepth(buckets)) {
        const rows = await side.firstRows(group[0].depth, prefixes(group), maxRows)
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
          return hashes.length === 0 ? new Map<string, string>() : sides[index].rowTexts(hashes)
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
  const notListed = keyed ? found.missing + found.extra + found.changed - keys.length : 0
  return { missing: found.missing, extra: found.extra, changed: found.changed, keys, notListed }
}

type Both = <T>(ask: (side: RowDiffSide) => Promise<T>) => Promise<[T, T]>
/** Buckets only production (missing) or only the restored copy (extra) has rows in. */
type OneSided = { missing: Bucket[]; extra: Bucket[] }

/**
 * Compares bucket aggregates level by level from `depth` bits on. Buckets both sides have but
 * that differ are fetched when small and split further when not; their rows are counted (and
 * listed) into `found`. Buckets only one side has are counted from their aggregates and returned.
 */
async function narrow(both: Both, keyed: boolean, depth: number, found: Findings): Promise<OneSided> {
  const oneSided: OneSided = { missing: [], extra: [] }
  let parents: { bucket: Bucket; production: number; restored: number }[] = []
  for (;;) {
    const parentDepth = parents.length > 0 ? parents[0].bucket.depth : 0
    const parentRows = new Map(parents.map(parent => [parent.bucket.prefix, parent]))
    const aggregates = await both(side =>
      readAggregates(
        side,
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
      const [fromProduction, fromRestored] = await both(side => side.hashes(batch[0].depth, prefixes(batch)))
      found.add(fromProduction, fromRestored, keyed)
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
  add(production: RowHash[], restored: RowHash[], keyed: boolean): void {
    const byKey = new Map<string, { values: KeyValues; production: Map<string, number>; restored: Map<string, number> }>()
    const add = (rows: RowHash[], side: 'production' | 'restored') => {
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
  // displayIdentifier quotes what this leaves bare but a `$` (PostgreSQL's own messages leave it bare too).
  const name = (column: string) => (/^[a-z_][a-z0-9_$]*$/.test(column) ? column : displayIdentifier(column))
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

function sameAggregate(a: BucketAggregate, b: BucketAggregate): boolean {
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

/** Each bucket's aggregate on one side, by prefix (within the parent buckets, when there are any). */
async function readAggregates(
  side: RowDiffSide,
  depth: number,
  parentDepth: number,
  parents: Bucket[]
): Promise<Map<string, BucketAggregate>> {
  const aggregates = await side.aggregates(
    depth,
    parents.length > 0 ? { depth: parentDepth, prefixes: prefixes(parents) } : undefined
  )
  return new Map(aggregates.map(aggregate => [aggregate.bucket, aggregate]))
}
