import type { SequenceBehindData, SequenceValue } from '../engines/reads.js'
import { compareText } from '../util/text-order.js'

/**
 * Sequence values cannot be compared like rows. Sequences are not transactional: pg_dump reads
 * each one's current value while it runs, not as of its snapshot, and production keeps
 * advancing them under live writes. So production is read just before and just after the dump,
 * and a restored sequence is right when it stands somewhere in between. Independently, a
 * restored sequence must not be behind the data in its own column, or the first insert after a
 * restore fails on a duplicate key. This module judges; the engine reads the values
 * (engines/postgres/sequence-queries.ts).
 */

export type { SequenceBehindData, SequenceValue } from '../engines/reads.js'

export interface SequenceDifference {
  kind: 'sequence'
  name: string
  production: string | null
  restored: string | null
}

/**
 * Compares restored sequences with production's, one difference per sequence at most, sorted by
 * name. `before` and `after` are production's values read just before and just after pg_dump
 * ran. A restored sequence is right when it stands within that window: pg_dump read it at some
 * moment in between. Where production moved backwards during the dump (a cycle or a setval
 * reset), anything at or past `before` or at or before `after` is accepted.
 *
 * A sequence in production throughout the dump must be restored; one that appeared or went
 * during the dump need not be. One in the restored copy only is a difference. `behind` (the engine's
 * findSequencesBehindData on the restored copy) is always a difference, unless
 * `productionBehind` shows production was behind its data the same way: then the copy is faithful.
 */
export function compareSequences(
  before: SequenceValue[],
  after: SequenceValue[],
  restored: SequenceValue[],
  behind: SequenceBehindData[],
  productionBehind: SequenceBehindData[] = []
): SequenceDifference[] {
  const beforeByName = byName(before)
  const afterByName = byName(after)
  const restoredByName = byName(restored)
  const behindByName = byName(behind)
  const excused = new Set(productionBehind.map(sequence => sequence.name))
  const names = [...new Set([...beforeByName.keys(), ...afterByName.keys(), ...restoredByName.keys(), ...behindByName.keys()])]

  const differences: SequenceDifference[] = []
  for (const name of names.sort(compareText)) {
    const first = beforeByName.get(name)
    const last = afterByName.get(name)
    const copy = restoredByName.get(name)
    const lagging = excused.has(name) ? undefined : behindByName.get(name)
    const production = describeWindow(first, last)
    let wrong: boolean
    if (!copy) wrong = first !== undefined && last !== undefined
    else if (!first && !last) wrong = true
    else wrong = !withinWindow(copy, first, last)
    if (lagging) wrong = true
    if (!wrong) continue
    let restoredText = copy ? describeValue(copy) : null
    if (lagging) {
      const { nextValue, column, maxInColumn } = lagging
      restoredText = `${restoredText ?? 'sequence'}: next value ${nextValue}, but ${column} already holds ${maxInColumn}`
    }
    differences.push({ kind: 'sequence', name, production, restored: restoredText })
  }
  return differences
}

/** "last_value 120 (called)". */
export function describeValue(value: SequenceValue): string {
  return `last_value ${value.lastValue} (${value.isCalled ? 'called' : 'not called'})`
}

function describeWindow(first: SequenceValue | undefined, last: SequenceValue | undefined): string | null {
  if (first && last) {
    if (position(first, first) === position(last, first)) return describeValue(first)
    return `${describeValue(first)} before the dump, ${describeValue(last)} after`
  }
  if (first) return `${describeValue(first)} before the dump, gone after`
  if (last) return `created during the dump, ${describeValue(last)} after`
  return null
}

function withinWindow(copy: SequenceValue, first: SequenceValue | undefined, last: SequenceValue | undefined): boolean {
  const direction = (first ?? last ?? copy) as SequenceValue
  const at = position(copy, direction)
  const low = first ? position(first, direction) : undefined
  const high = last ? position(last, direction) : undefined
  if (low === undefined) return at <= (high as bigint)
  if (high === undefined) return at >= low
  if (low <= high) return at >= low && at <= high
  return at >= low || at <= high
}

/**
 * A sequence's states in the order nextval walks through them: for an ascending sequence,
 * "5 not called" (next is 5) comes just before "5 called" (next is 5 + increment), and both
 * after "4 called". Descending sequences walk the other way. Mapped to one bigint as
 * 2 × value (negated when descending) + called; `direction` supplies the increment's sign.
 */
function position(value: SequenceValue, direction: SequenceValue): bigint {
  const signed = direction.increment.startsWith('-') ? -BigInt(value.lastValue) : BigInt(value.lastValue)
  return 2n * signed + (value.isCalled ? 1n : 0n)
}

function byName<T extends { name: string }>(items: T[]): Map<string, T> {
  return new Map(items.map(item => [item.name, item]))
}
