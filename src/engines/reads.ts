/**
 * What the verification algorithms ask of an engine, in engine-neutral terms (types and the one
 * constant both halves must agree on). The algorithms live in src/verification/ and write no SQL
 * (row-diff.ts pairs buckets and rows, sequence-check.ts judges sequences against the dump's
 * window, checks.ts compares the user's checks); each engine answers these reads in its own
 * dialect (postgres/row-diff-queries.ts, postgres/sequence-queries.ts, postgres/check-queries.ts).
 * Beside types.ts, the seam the run calls, and like it free of any engine's shapes.
 */

/** Where one sequence (or counter) stands. Numbers are bigint, kept as strings. */
export interface SequenceValue {
  /** `schema.sequence`, quoted as the engine quotes identifiers in its schema reads. */
  name: string
  lastValue: string
  /** False until the first nextval after creation or `setval(..., false)`: the next value is lastValue itself. */
  isCalled: boolean
  /** Negative for a descending sequence. */
  increment: string
}

/** A restored sequence whose next value its owning column already holds. */
export interface SequenceBehindData {
  name: string
  /** `schema.table.column` that owns the sequence (OWNED BY, serial or identity). */
  column: string
  /** What nextval would return. */
  nextValue: string
  /** The column's largest value; its smallest for a descending sequence. */
  maxInColumn: string
}

/** Row diff buckets are prefixes of a hash of this many bits (of each row's key, of the row without a key). */
export const ROW_HASH_BITS = 32

/** A key's columns in their text form; null where the restored copy has a NULL the key forbids. */
export type KeyValues = (string | null)[]

/** One bucket's aggregate: its rows, and two 64-bit sums of the rows' content hashes (both halves of it). */
export interface BucketAggregate {
  /** The bucket's prefix, as a decimal integer. */
  bucket: string
  rows: number
  high: string
  low: string
}

/** One distinct (key, row content hash) of a bucket, with how many rows have it. */
export interface RowHash {
  hash: string
  /** How many rows, as a decimal integer. */
  n: string
  /** The key's text (keyed tables only): rows with equal keys are paired. */
  key?: string
  values?: KeyValues
}

/**
 * One side's reads for pinning a table's differing rows (verification/row-diff.ts). Each row is
 * seen through a hash of its whole content and a ROW_HASH_BITS hash of its key whose leading bits
 * name its bucket. Bound to one table and its key, the same on both sides; nothing is written.
 */
export interface RowDiffSide {
  /** An overestimate of the table's rows, from the catalog's statistics (no scan). */
  estimateRows(): Promise<number>
  /** The aggregates of the buckets `depth` bits long, within the given buckets of a shorter depth when asked. */
  aggregates(depth: number, within?: { depth: number; prefixes: string[] }): Promise<BucketAggregate[]>
  /** Each distinct (key, row hash) of the listed buckets, `depth` bits long. */
  hashes(depth: number, prefixes: string[]): Promise<RowHash[]>
  /**
   * The first `limit` rows of the listed buckets by key, in verification/row-diff.ts compareKeys'
   * order (integers by value, then text byte by byte, NULL last), so that a LIMIT still gives the
   * first rows of the whole list.
   */
  firstRows(depth: number, prefixes: string[], limit: number): Promise<{ values: KeyValues; hash: string }[]>
  /** The text of one row for each row hash given. */
  rowTexts(hashes: string[]): Promise<Map<string, string>>
}

/** A check's answer as one side computed it, in one pass over the user's query's rows. */
export interface CheckTally {
  /** How many rows, as a decimal integer. */
  rows: string
  /** The sum of each row's 64-bit hash: independent of order, a duplicated row counts twice. */
  multiset: string
  /** Each row hashed with its position as the seed, summed. */
  ordered: string
  /** The leading rows' text, as many as asked; null when none were asked or there are no rows. */
  sample: string[] | null
  /** Whether every row's text equals the expected value's. */
  expected: boolean
}

/**
 * One side's reads for the user's checks (verification/checks.ts). Production's side is already
 * inside its snapshot; a restored copy's opens a read-only transaction of its own. Each check runs
 * inside a savepoint that is always rolled back, so nothing it tried outlives it.
 */
export interface CheckSide {
  /** Opens the read-only transaction checks run in on a restored copy. */
  beginReadOnly(): Promise<void>
  /** Ends it (nothing was written). */
  endReadOnly(): Promise<void>
  /** Marks the point every check is rolled back to. */
  savepoint(): Promise<void>
  /** Limits what follows until the rollback: the check's timeout, and where its unqualified names resolve. */
  limitCheck(timeoutSeconds: number): Promise<void>
  /** Rolls back to the savepoint, undoing whatever the check did, and releases it. */
  rollbackToSavepoint(): Promise<void>
  /** The query's columns as `name type`, without reading a row. */
  describeColumns(query: string): Promise<string[]>
  /** The query's answer; `sampleRows` leading rows as text; `expected` the expected value's text, or null. */
  answer(query: string, sampleRows: number, expected: string | null): Promise<CheckTally>
  /** Opens a cursor over the query's rows in comparison order: by position when `ordered`, else by their text's bytes. */
  openRows(query: string, ordered: boolean): Promise<void>
  /** The cursor's next rows: each row's text (cut short for display) and a hash of the whole row. */
  nextRows(count: number): Promise<{ text: string; hash: string }[]>
}
