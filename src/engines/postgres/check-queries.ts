import type { CheckSide, CheckTally } from '../reads.js'
import type { ResultColumn } from './database.js'
import type { Queryable } from './queryable.js'

/**
 * The SQL half of the user's checks (verification/checks.ts compares what these read): the
 * user's query becomes a subquery whose rows are hashed by their text, so a result of any size
 * comes back as a few numbers.
 *
 * Three locks keep production unwritten, each enough on its own for what it covers: the
 * transaction is READ ONLY (writes, DDL, FOR UPDATE, nextval, writing functions); the query runs
 * as a subquery (no COPY, no utility statement, no second statement); and it goes through the
 * extended protocol, which refuses a string of several statements.
 */

/** What checks need of a session: plain queries, and the extended protocol for the user's SQL. */
export interface CheckSession extends Queryable {
  queryExtended(sql: string, params?: unknown[]): Promise<{ rows: Record<string, unknown>[]; columns: ResultColumn[] }>
}

/**
 * Where the user's unqualified names resolve (pg_catalog first, as always). The checksums' own
 * pinned search_path is pg_catalog alone; `public` is where a check's `FROM orders` points on
 * both servers alike, whatever each role's or database's search_path says.
 */
const CHECK_SEARCH_PATH = 'public'
const SAVEPOINT = 'lazarus_check'
const CURSOR = 'lazarus_check_rows'

/**
 * One session's side of the checks (engines/reads.ts CheckSide). The session must already have
 * the pinned settings; production's is inside the dump's snapshot.
 */
export function checkSide(session: CheckSession): CheckSide {
  return {
    beginReadOnly: async () => void (await session.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY')),
    endReadOnly: async () => void (await session.query('COMMIT')),
    savepoint: async () => void (await session.query(`SAVEPOINT ${SAVEPOINT}`)),
    async limitCheck(timeoutSeconds) {
      await session.query(`SET LOCAL statement_timeout = ${Math.max(1, Math.round(timeoutSeconds * 1000))}`)
      await session.query(`SET LOCAL search_path = ${CHECK_SEARCH_PATH}`)
    },
    async rollbackToSavepoint() {
      await session.query(`ROLLBACK TO SAVEPOINT ${SAVEPOINT}`)
      await session.query(`RELEASE SAVEPOINT ${SAVEPOINT}`)
    },
    async describeColumns(query) {
      const described = await session.queryExtended(checkColumnsSql(query))
      return describeColumns(session, described.columns)
    },
    async answer(query, sampleRows, expected) {
      const { rows } = await session.queryExtended(checkAnswerSql(query), [sampleRows, expected])
      return rows[0] as unknown as CheckTally
    },
    openRows: async (query, ordered) => void (await session.query(checkRowsCursorSql(CURSOR, query, ordered))),
    async nextRows(count) {
      const rows = await session.query<{ t: string; h: string }>(`FETCH FORWARD ${count} FROM ${CURSOR}`)
      return rows.map(row => ({ text: row.t, hash: row.h }))
    }
  }
}

/** `name type` for each column, types as format_type prints them (schema-qualified outside the search_path). */
async function describeColumns(session: Queryable, columns: ResultColumn[]): Promise<string[]> {
  if (columns.length === 0) return []
  const rows = await session.query<{ type: string }>(
    `SELECT pg_catalog.format_type(c.oid, c.mod) AS type
     FROM ROWS FROM (pg_catalog.unnest($1::pg_catalog.oid[]), pg_catalog.unnest($2::pg_catalog.int4[])) WITH ORDINALITY AS c(oid, mod, i)
     ORDER BY c.i`,
    [columns.map(column => column.typeId), columns.map(column => column.typeModifier)]
  )
  return columns.map((column, index) => `${column.name} ${rows[index].type}`)
}

/** Longest row text kept for display; the hashes always cover the whole row. */
export const SHOWN_ROW_CHARS = 2000

/**
 * The user's query as a subquery, each row as its text (`r.t`, the record's output under the
 * pinned settings) with its position (`r.n`). A subquery with an ORDER BY is never flattened
 * into the query around it (prepjointree.c, is_simple_subquery), so the window numbers its rows
 * in the order the query returns them. The newline before `)` ends a trailing `--` comment.
 * `ROW(q.*)` is the whole row even when a column of the query is itself named `q`.
 */
function numberedRowsSql(query: string): string {
  return `SELECT ROW(q.*)::pg_catalog.text COLLATE "C" AS t, pg_catalog.row_number() OVER () AS n
FROM (
${query}
) AS q`
}

/** The query's columns, without running it: LIMIT 0 stops the executor before it reads a row. */
export function checkColumnsSql(query: string): string {
  return `SELECT * FROM (
${query}
) AS q LIMIT 0`
}

/**
 * The check's answer in one pass: the row count, a multiset hash (the sum of each row's 64-bit
 * hash: independent of order, and a duplicated row counts twice) and an ordered hash (each row
 * hashed with its position as the seed). `$1` is how many leading rows to return as text (0 for
 * none: values are production data); `$2` the expected value's text, or null for none or NULL.
 * A single-column row prints as `(value)`, quoted as record_out quotes that value's text, so the
 * expected value is compared with `ROW($2)`'s text, server-side and exactly.
 */
export function checkAnswerSql(query: string): string {
  return `SELECT pg_catalog.count(*)::pg_catalog.text AS rows,
  coalesce(pg_catalog.sum(pg_catalog.hashtextextended(r.t, 0)), 0)::pg_catalog.text AS multiset,
  coalesce(pg_catalog.sum(pg_catalog.hashtextextended(r.t, r.n)), 0)::pg_catalog.text AS ordered,
  pg_catalog.array_agg(pg_catalog.left(r.t, ${SHOWN_ROW_CHARS}) ORDER BY r.n) FILTER (WHERE r.n <= $1::pg_catalog.int8) AS sample,
  coalesce(pg_catalog.bool_and(r.t = ROW($2::pg_catalog.text)::pg_catalog.text COLLATE "C"), false) AS expected
FROM (${numberedRowsSql(query)}) AS r`
}

/**
 * A cursor over the rows' text in comparison order: by position for an ordered check, by the
 * text's bytes for a multiset, so that two sides' rows can be merged to find the first that differs.
 * `h` tells apart rows whose shown text is cut short.
 */
export function checkRowsCursorSql(cursor: string, query: string, ordered: boolean): string {
  const order = ordered ? 'r.n' : 'r.t COLLATE "C"'
  return `DECLARE ${cursor} NO SCROLL CURSOR FOR
SELECT pg_catalog.left(r.t, ${SHOWN_ROW_CHARS}) AS t, pg_catalog.hashtextextended(r.t, 0)::pg_catalog.text AS h FROM (${numberedRowsSql(query)}) AS r ORDER BY ${order}`
}

/**
 * Splits a record's text output, `(1,"a b",)`, into its fields: null for an empty unquoted field
 * (SQL NULL), the unquoted text otherwise. record_out doubles quotes and backslashes inside quotes.
 */
export function parseRecordText(text: string): (string | null)[] {
  if (!text.startsWith('(') || !text.endsWith(')')) return [text]
  const fields: (string | null)[] = []
  let i = 1
  const end = text.length - 1
  if (end === 1) return []
  for (;;) {
    let value = ''
    let quoted = false
    while (i < end && text[i] !== ',') {
      const c = text[i]
      if (c === '"') {
        quoted = true
        i++
        while (i < end) {
          if (text[i] === '\\' || (text[i] === '"' && text[i + 1] === '"')) {
            value += text[i + 1]
            i += 2
          } else if (text[i] === '"') {
            i++
            break
          } else value += text[i++]
        }
      } else {
        value += c
        i++
      }
    }
    fields.push(quoted || value !== '' ? value : null)
    if (i >= end) return fields
    i++
  }
}
