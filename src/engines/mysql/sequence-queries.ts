import type { SequenceValue } from '../reads.js'
import type { SchemaObject } from '../types.js'
import { qualified } from './figure-queries.js'
import type { MysqlQueryable } from './queryable.js'
import { displayIdentifier } from './schema-queries.js'

/**
 * MariaDB's sequences (CREATE SEQUENCE, 10.3+): a table of one row that information_schema lists
 * as TABLE_TYPE 'SEQUENCE', which neither the figures (base tables) nor the schema's table reads
 * see. Their definition is schema (a `sequence` object: bounds, start, increment, cache, cycling,
 * engine), and their next value is a counter like AUTO_INCREMENT: it moves outside transactions,
 * so it is judged as PostgreSQL's sequences are (a window read before the snapshot and after the
 * dump). `cycle_count` is left out: mariadb-dump's `SETVAL(s, next, 0)` does not restore it.
 * MySQL has no sequences: the list is empty there.
 */
export interface MysqlSequence {
  name: string
  engine: string
  next: string
  minimum: string
  maximum: string
  start: string
  increment: string
  cache: string
  cycle: string
}

type Row = Record<string, string | null>

export async function readSequences(db: MysqlQueryable, database: string, marker: string): Promise<MysqlSequence[]> {
  const names = await db.query<Row>(
    `SELECT TABLE_NAME AS \`s\`, COALESCE(ENGINE, '') AS \`engine\` FROM information_schema.TABLES
     WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE = 'SEQUENCE' AND TABLE_NAME <> ? ORDER BY TABLE_NAME`,
    [marker]
  )
  const sequences: MysqlSequence[] = []
  for (const { s, engine } of names) {
    const [row] = await db.query<Row>(
      `SELECT CAST(next_not_cached_value AS CHAR) AS \`next\`, CAST(minimum_value AS CHAR) AS \`minimum\`,
              CAST(maximum_value AS CHAR) AS \`maximum\`, CAST(start_value AS CHAR) AS \`start\`,
              CAST(increment AS CHAR) AS \`increment\`, CAST(cache_size AS CHAR) AS \`cache\`,
              CAST(cycle_option AS CHAR) AS \`cycle\`
       FROM ${qualified(database, s!)}`
    )
    if (!row) continue
    sequences.push({
      name: s!,
      engine: engine ?? '',
      next: row.next!,
      minimum: row.minimum!,
      maximum: row.maximum!,
      start: row.start!,
      increment: row.increment!,
      cache: row.cache!,
      cycle: row.cycle!
    })
  }
  return sequences
}

/** A sequence's definition, as a schema object (its next value is a counter, not schema). */
export function sequenceSchemaObject(sequence: MysqlSequence): SchemaObject {
  const definition = [
    `engine: ${sequence.engine}`,
    `minimum: ${sequence.minimum}`,
    `maximum: ${sequence.maximum}`,
    `start: ${sequence.start}`,
    `increment: ${sequence.increment}`,
    `cache: ${sequence.cache}`,
    `cycle: ${sequence.cycle === '1' ? 'yes' : 'no'}`
  ].join('; ')
  return { kind: 'sequence', name: displayIdentifier(sequence.name), definition }
}

/** A sequence's next value, as a counter: next_not_cached_value is what nextval returns next after a restart. */
export function sequenceCounter(sequence: MysqlSequence): SequenceValue {
  return { name: displayIdentifier(sequence.name), lastValue: sequence.next, isCalled: false, increment: sequence.increment }
}
