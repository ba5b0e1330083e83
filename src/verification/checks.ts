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
import type { CheckDefinition } from './checks-file.js'
import type { CheckSide } from '../engines/reads.js'
import { messageOf } from '../util/errors.js'

/**
 * Runs the user's checks on one side. The session must already be inside a read-only
 * transaction with the pinned settings (production: the dump's snapshot). Each check runs under
 * a savepoint that is always rolled back: whatever it tried (a set_config, a failed write) is
 * undone before the next, and an error leaves the snapshot usable. This module answers and
 * compares; each side's reads are the engine's (engines/reads.ts CheckSide,
 * engines/postgres/check-queries.ts for PostgreSQL, which says what keeps production unwritten).
 */

const BATCH_ROWS = 500

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
  restored: CheckSide,
  /** Production's answers; its session, when there is one, finds the first differing row (show-values). */
  production: { session?: CheckSide; answers: CheckAnswer[] },
  checks: CheckDefinition[],
  options: CompareOptions
): Promise<CheckResult[]> {
  await restored.beginReadOnly()
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
          const show = (row: string | null) =>
            row === null ? '(none)' : displayRow(row, productionAnswer.columns?.length, options.rowValues)
          result.difference += `; first differing row (${check.ordered ? "in the query's order" : 'in sorted order'}) #${first.row}: production ${show(first.production)}, restored ${show(first.restored)}`
        }
      }
      results.push(result)
    }
    return results
  } finally {
    await restored.endReadOnly().catch(() => undefined)
  }
}

/** Answers every check in turn. `sampleRows` leading rows come back as text (0 when values may not be shown). */
export async function answerChecks(session: CheckSide, checks: CheckDefinition[], sampleRows: number): Promise<CheckAnswer[]> {
  const answers: CheckAnswer[] = []
  for (const check of checks) answers.push(await answerCheck(session, check, sampleRows))
  return answers
}

export async function answerCheck(session: CheckSide, check: CheckDefinition, sampleRows: number): Promise<CheckAnswer> {
  try {
    return await insideSavepoint(session, check, async () => {
      const columns = await session.describeColumns(check.sql)
      const expected = check.expect === undefined ? null : check.expect
      const row = await session.answer(check.sql, sampleRows, expected)
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
  production: CheckSide,
  restored: CheckSide,
  check: CheckDefinition
): Promise<FirstDifference | undefined> {
  const open = (session: CheckSide) => session.openRows(check.sql, check.ordered)
  try {
    return await insideSavepoint(production, check, () =>
      insideSavepoint(restored, check, async () => {
        await open(production)
        await open(restored)
        const fetch = (session: CheckSide) => session.nextRows(BATCH_ROWS)
        let position = 0
        for (;;) {
          const [left, right] = await Promise.all([fetch(production), fetch(restored)])
          for (let i = 0; i < Math.max(left.length, right.length); i++) {
            const a = left[i]
            const b = right[i]
            if (!a || !b || a.hash !== b.hash || Buffer.compare(Buffer.from(a.text), Buffer.from(b.text)) !== 0) {
              return { row: position + i + 1, production: a?.text ?? null, restored: b?.text ?? null }
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
 * Runs `work` under a savepoint with the check's limits (its timeout and where its names resolve,
 * which end with the savepoint), and rolls back to it whatever happens.
 */
async function insideSavepoint<T>(session: CheckSide, check: CheckDefinition, work: () => Promise<T>): Promise<T> {
  try {
    await session.savepoint()
  } catch (error) {
    throw new SavepointLost(messageOf(error), { cause: error })
  }
  try {
    await session.limitCheck(check.timeoutSeconds)
    return await work()
  } finally {
    try {
      await session.rollbackToSavepoint()
    } catch (error) {
      // eslint-disable-next-line no-unsafe-finally
      throw new SavepointLost(messageOf(error), { cause: error })
    }
  }
}
