import { Buffer } from 'node:buffer'
import {
  compareCheck,
  displayRow,
  hashText,
  wholeAnswer,
  type CheckAnswer,
  type CheckResult,
  type CompareOptions,
  type FirstDifference
} from './check-answers.js'
import { checkAnswerSql, checkColumnsSql, checkRowsCursorSql } from '../engines/postgres/check-queries.js'
import type { CheckDefinition } from './checks-file.js'
import type { ResultColumn } from '../engines/postgres/database.js'
import { messageOf } from '../util/errors.js'
import type { Queryable } from '../engines/postgres/queryable.js'

/**
 * Runs the user's checks on one side. The session must already be inside a read-only
 * transaction with the pinned settings (production: the dump's snapshot). Each check runs under
 * a savepoint that is always rolled back: whatever it tried (a set_config, a failed write) is
 * undone before the next, and an error leaves the snapshot usable.
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
const BATCH_ROWS = 500

/** Opens the read-only transaction checks run in on a restored copy (production has its snapshot). */
export async function beginCheckTransaction(session: Queryable): Promise<void> {
  await session.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY')
}

/** How many leading rows each answer brings back as text: none unless values may be shown. */
export function sampleRowsFor(options: CompareOptions): number {
  return options.showValues ? options.maxRows : 0
}

/**
 * Answers the checks on a restored copy (in a read-only transaction of its own) and compares
 * them with production's answers. A difference too large to show whole is pinned to its first
 * differing row when values may be shown, asking production again inside its snapshot.
 */
export async function verifyChecks(
  restored: CheckSession,
  /** Production's answers; its session, when there is one, finds the first differing row (show-values). */
  production: { session?: CheckSession; answers: CheckAnswer[] },
  checks: CheckDefinition[],
  options: CompareOptions
): Promise<CheckResult[]> {
  await beginCheckTransaction(restored)
  try {
    const answers = await answerChecks(restored, checks, sampleRowsFor(options))
    const results: CheckResult[] = []
    for (const [index, check] of checks.entries()) {
      const productionAnswer = production.answers[index]
      const result = compareCheck(check, productionAnswer, answers[index], options)
      const shownWhole = wholeAnswer(productionAnswer, options) && wholeAnswer(answers[index], options)
      if (!result.match && !result.error && options.showValues && !shownWhole && production.session) {
        const first = await findFirstDifference(production.session, restored, check)
        if (first) {
          result.firstDifference = first
          const show = (row: string | null) => (row === null ? '(none)' : displayRow(row, productionAnswer.columns?.length))
          result.difference += `; first differing row (${check.ordered ? "in the query's order" : 'in sorted order'}) #${first.row}: production ${show(first.production)}, restored ${show(first.restored)}`
        }
      }
      results.push(result)
    }
    return results
  } finally {
    await restored.query('COMMIT').catch(() => undefined)
  }
}

/** Answers every check in turn. `sampleRows` leading rows come back as text (0 when values may not be shown). */
export async function answerChecks(session: CheckSession, checks: CheckDefinition[], sampleRows: number): Promise<CheckAnswer[]> {
  const answers: CheckAnswer[] = []
  for (const check of checks) answers.push(await answerCheck(session, check, sampleRows))
  return answers
}

export async function answerCheck(session: CheckSession, check: CheckDefinition, sampleRows: number): Promise<CheckAnswer> {
  try {
    return await insideSavepoint(session, check, async () => {
      const described = await session.queryExtended(checkColumnsSql(check.sql))
      const columns = await describeColumns(session, described.columns)
      const expected = check.expect === undefined ? null : check.expect
      const { rows } = await session.queryExtended(checkAnswerSql(check.sql), [sampleRows, expected])
      const row = rows[0] as { rows: string; multiset: string; ordered: string; sample: string[] | null; expected: boolean }
      const answer: CheckAnswer = {
        rows: Number(row.rows),
        columns,
        multisetHash: hashText(row.multiset),
        orderedHash: hashText(row.ordered),
        asExpected: row.expected
      }
      if (sampleRows > 0) answer.sample = row.sample ?? []
      return answer
    })
  } catch (error) {
    if (error instanceof SavepointLost) throw error.cause
    return { error: messageOf(error) }
  }
}

/**
 * The first row where the two sides' results part, read through a cursor on each side in
 * comparison order, a batch at a time: a result of any size is never held whole. Undefined
 * when no row differs (a difference in columns only) or a side fails.
 */
export async function findFirstDifference(
  production: CheckSession,
  restored: CheckSession,
  check: CheckDefinition
): Promise<FirstDifference | undefined> {
  const cursor = 'lazarus_check_rows'
  const open = (session: CheckSession) => session.query(checkRowsCursorSql(cursor, check.sql, check.ordered))
  try {
    return await insideSavepoint(production, check, () =>
      insideSavepoint(restored, check, async () => {
        await open(production)
        await open(restored)
        const fetch = async (session: CheckSession) =>
          await session.query<{ t: string; h: string }>(`FETCH FORWARD ${BATCH_ROWS} FROM ${cursor}`)
        let position = 0
        for (;;) {
          const [left, right] = await Promise.all([fetch(production), fetch(restored)])
          for (let i = 0; i < Math.max(left.length, right.length); i++) {
            const a = left[i]
            const b = right[i]
            if (!a || !b || a.h !== b.h || Buffer.compare(Buffer.from(a.t), Buffer.from(b.t)) !== 0) {
              return { row: position + i + 1, production: a?.t ?? null, restored: b?.t ?? null }
            }
          }
          if (left.length < BATCH_ROWS && right.length < BATCH_ROWS) return undefined
          position += BATCH_ROWS
        }
      })
    )
  } catch (error) {
    if (error instanceof SavepointLost) throw error.cause
    return undefined
  }
}

/** The session itself failed (connection lost): no check's error, the run's. */
class SavepointLost extends Error {}

/**
 * Runs `work` under a savepoint with the check's timeout and search_path (SET LOCAL ends with
 * the savepoint), and rolls back to it whatever happens.
 */
async function insideSavepoint<T>(session: CheckSession, check: CheckDefinition, work: () => Promise<T>): Promise<T> {
  const savepoint = 'lazarus_check'
  try {
    await session.query(`SAVEPOINT ${savepoint}`)
  } catch (error) {
    throw new SavepointLost(messageOf(error), { cause: error })
  }
  try {
    await session.query(`SET LOCAL statement_timeout = ${Math.max(1, Math.round(check.timeoutSeconds * 1000))}`)
    await session.query(`SET LOCAL search_path = ${CHECK_SEARCH_PATH}`)
    return await work()
  } finally {
    try {
      await session.query(`ROLLBACK TO SAVEPOINT ${savepoint}`)
      await session.query(`RELEASE SAVEPOINT ${savepoint}`)
    } catch (error) {
      // eslint-disable-next-line no-unsafe-finally
      throw new SavepointLost(messageOf(error), { cause: error })
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
