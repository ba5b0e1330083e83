import type { Queryable } from './queryable.js'

/**
 * The `mutate-large-object` drill: changes one byte of a large object's data in a copy of the
 * dump. A plain dump writes each object's data as `lo_open('OID', ...)` followed by `lowrite`
 * calls of hex-encoded bytea; the operator flips the last hex digit of the first lowrite of its
 * target, which still restores and leaves every table as it was. Pure, but for the catalog read.
 */

/** A large object the drill can corrupt: one holding at least one byte (an empty one has no lowrite). */
const FILLED_LARGE_OBJECT_SQL = `
SELECT m.oid::text AS oid FROM pg_catalog.pg_largeobject_metadata m
WHERE pg_catalog.length(pg_catalog.lo_get(m.oid, 0, 1)) > 0
ORDER BY m.oid LIMIT 1`

/** The lowest OID of a non-empty large object in the snapshot, or undefined when there is none. */
export async function readFilledLargeObject(db: Queryable): Promise<string | undefined> {
  const [row] = await db.query<{ oid: string }>(FILLED_LARGE_OBJECT_SQL)
  return row?.oid
}

/** The DumpRewriter contract (drill-rewriters.ts), restated to keep this module free of imports. */
interface LineRewriter {
  push(line: string): string[]
  result(): { evidence: string } | undefined
}

const LO_OPEN = /^SELECT pg_catalog\.lo_open\('(\d+)', \d+\);$/
const LOWRITE = /^(SELECT pg_catalog\.lowrite\(\d+, '\\x[0-9a-f]*)([0-9a-f])('\);)$/

/** Flips the last hex digit of the first lowrite after `lo_open('oid', ...)`. */
export function largeObjectRewriter(oid: string): LineRewriter {
  let open = false
  let evidence: string | undefined
  return {
    push(line) {
      if (evidence !== undefined) return [line]
      const opened = LO_OPEN.exec(line)
      if (opened) {
        open = opened[1] === oid
        return [line]
      }
      const write = open ? LOWRITE.exec(line) : null
      if (!write) return [line]
      const digit = write[2]
      const flipped = digit === 'f' ? 'e' : (parseInt(digit, 16) + 1).toString(16)
      evidence = `large object ${oid}: a byte of its data changed (hex digit ${digit} to ${flipped})`
      return [`${write[1]}${flipped}${write[3]}`]
    },
    result: () => (evidence === undefined ? undefined : { evidence })
  }
}
