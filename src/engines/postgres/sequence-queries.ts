import type { SequenceBehindData, SequenceValue } from '../reads.js'
import { compareText } from '../../util/text-order.js'
import { notInExtensionSql, quoteLiteral, userNamespaceSql } from './figure-queries.js'
import type { Queryable } from './queryable.js'
import { withPinnedCatalogSettings } from './schema-fingerprint.js'

/**
 * The SQL half of the sequence check (verification/sequence-check.ts judges what these read):
 * where each user sequence stands, and which restored sequences are behind their column's data.
 */

/** A user sequence (`c` pg_class, `n` its pg_namespace) outside extensions, whose values pg_dump does not dump. */
const USER_SEQUENCE = `c.relkind = 'S' AND ${userNamespaceSql('n')} AND ${notInExtensionSql('pg_catalog.pg_class', 'c.oid')}`

const LIST_SEQUENCES_SQL = `
SELECT pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(c.relname) AS name,
       pg_catalog.format('%I.%I', n.nspname, c.relname) AS ref, s.seqincrement::text AS increment
FROM pg_catalog.pg_sequence s
JOIN pg_catalog.pg_class c ON c.oid = s.seqrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE ${USER_SEQUENCE}
ORDER BY 1`

/**
 * Sequences owned by an integer column of a table (OWNED BY, which serial sets up, deptype
 * `a`; identity columns, deptype `i`), with what it takes to find the column's extreme value.
 * The column is read without ONLY: partitions and inheritance children draw from the same sequence.
 */
const OWNED_SEQUENCES_SQL = `
SELECT pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(c.relname) AS name,
       pg_catalog.format('%I.%I', n.nspname, c.relname) AS ref, s.seqincrement::text AS increment,
       pg_catalog.quote_ident(tn.nspname) || '.' || pg_catalog.quote_ident(t.relname)
         || '.' || pg_catalog.quote_ident(a.attname) AS "column",
       pg_catalog.format('%I.%I', tn.nspname, t.relname) AS "tableRef", pg_catalog.format('%I', a.attname) AS "columnRef"
FROM pg_catalog.pg_sequence s
JOIN pg_catalog.pg_class c ON c.oid = s.seqrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.objid = c.oid
  AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.refobjsubid > 0 AND d.deptype IN ('a', 'i')
JOIN pg_catalog.pg_class t ON t.oid = d.refobjid
JOIN pg_catalog.pg_namespace tn ON tn.oid = t.relnamespace
JOIN pg_catalog.pg_attribute a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid
JOIN pg_catalog.pg_type ty ON ty.oid = a.atttypid
WHERE ${USER_SEQUENCE} AND t.relkind IN ('r', 'p')
  AND (CASE WHEN ty.typtype = 'd' THEN ty.typbasetype ELSE ty.oid END)
      IN ('pg_catalog.int2'::pg_catalog.regtype, 'pg_catalog.int4'::pg_catalog.regtype,
          'pg_catalog.int8'::pg_catalog.regtype, 'pg_catalog.numeric'::pg_catalog.regtype)
ORDER BY 1`

/** Sequences per statement: one UNION ALL reads a batch in one round trip. */
const BATCH = 200

/**
 * Where every user sequence stands now, sorted by name. Sequence values live outside MVCC: read
 * inside a snapshot transaction they are still today's values, which is why production is read
 * before and after the dump rather than in its snapshot. Needs SELECT on every sequence, as
 * pg_dump does.
 */
export async function readSequenceValues(db: Queryable): Promise<SequenceValue[]> {
  return withPinnedCatalogSettings(db, async () => {
    const sequences = await db.query<{ name: string; ref: string; increment: string }>(LIST_SEQUENCES_SQL)
    const values: SequenceValue[] = []
    for (let start = 0; start < sequences.length; start += BATCH) {
      const batch = sequences.slice(start, start + BATCH)
      const sql = batch
        .map(
          (sequence, index) => `SELECT ${index} AS index, last_value::text AS "lastValue", is_called AS "isCalled"
                                   FROM ${sequence.ref}`
        )
        .join('\nUNION ALL\n')
      for (const row of await db.query<{ index: number; lastValue: string; isCalled: boolean }>(sql)) {
        const { name, increment } = batch[row.index]
        values.push({ name, lastValue: row.lastValue, isCalled: row.isCalled, increment })
      }
    }
    return values.sort((a, b) => compareText(a.name, b.name))
  })
}

/**
 * Restored sequences whose owning column already holds a value at or past the sequence's next
 * value (the first insert after a restore would fail), sorted by name. Sequences whose table is
 * empty are skipped, as are owning columns that are not integers.
 */
export async function findSequencesBehindData(db: Queryable): Promise<SequenceBehindData[]> {
  return withPinnedCatalogSettings(db, async () => {
    const owned = await db.query<{
      name: string
      ref: string
      increment: string
      column: string
      tableRef: string
      columnRef: string
    }>(OWNED_SEQUENCES_SQL)
    const behind: SequenceBehindData[] = []
    for (let start = 0; start < owned.length; start += BATCH) {
      const batch = owned.slice(start, start + BATCH)
      const sql = batch
        .map((sequence, index) => {
          const ascending = !sequence.increment.startsWith('-')
          const extreme = `(SELECT ${ascending ? 'max' : 'min'}(t.${sequence.columnRef})::numeric FROM ${sequence.tableRef} AS t)`
          return `SELECT ${index} AS index, next::text AS "nextValue", extreme::text AS "maxInColumn",
  extreme ${ascending ? '>=' : '<='} next AS behind
FROM (SELECT CASE WHEN s.is_called THEN s.last_value::numeric + ${quoteLiteral(sequence.increment)}::numeric
                  ELSE s.last_value::numeric END AS next,
             ${extreme} AS extreme
      FROM ${sequence.ref} AS s) AS q`
        })
        .join('\nUNION ALL\n')
      for (const row of await db.query<{ index: number; nextValue: string; maxInColumn: string | null; behind: boolean | null }>(
        sql
      )) {
        // An empty table has no extreme, so nothing to collide with.
        if (row.maxInColumn === null || !row.behind) continue
        const { name, column } = batch[row.index]
        behind.push({ name, column, nextValue: row.nextValue, maxInColumn: row.maxInColumn })
      }
    }
    return behind.sort((a, b) => compareText(a.name, b.name))
  })
}
