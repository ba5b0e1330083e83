import type { SchemaObject, SchemaObjectDifference } from '../types.js'

/**
 * The schema comparison of objects the sanitizer restored unable to run (sanitize-rules.ts,
 * rule event-status): an event production has ENABLED is restored DISABLE ON SLAVE, which the
 * server reports as SLAVESIDE_DISABLED (MySQL 8.0.22+ and 8.4: REPLICA_SIDE_DISABLED). For the
 * events the sanitizer rewrote, and only those, that restored status reads as the ENABLED the
 * dump wrote; production's status is then compared as it is. An event the dump held disabled (or
 * DISABLE ON SLAVE) was not rewritten and is compared as it is, so a backup that lost an event's
 * status still shows. Pure.
 */

/** A restored event's status as the dump wrote it, for the events the sanitizer disabled. */
export function restoredAsDumped(restored: SchemaObject[], disabled: readonly { kind: string; name: string }[]): SchemaObject[] {
  const names = new Set(disabled.map(object => `${object.kind}\u0000${object.name}`))
  if (names.size === 0) return restored
  const asDumped = (text: string) => text.replace(REPLICA_DISABLED, '$1status: ENABLED$3')
  return restored.map(object => {
    if (!names.has(`${object.kind}\u0000${object.name}`)) return object
    // Across flavours diffSchema compares the portable form (schema-queries.ts MysqlSchemaObject): it says ENABLED too.
    const portable = (object as { portable?: unknown }).portable
    return {
      ...object,
      definition: asDumped(object.definition),
      ...(typeof portable === 'string' ? { portable: asDumped(portable) } : {})
    }
  })
}

/** The status field of a definition (schema-queries.ts fields(): `key: value; key: value`), a replica's disabled status. */
const REPLICA_DISABLED = /(^|; )status: (SLAVESIDE_DISABLED|REPLICA_SIDE_DISABLED)(;|$)/

/**
 * Compares with `diff` (schema-queries.ts diffSchema) the restored objects as the dump wrote them,
 * and reports each difference with the restored copy's definition as it is.
 */
export function diffAsDumped(
  diff: (production: SchemaObject[], restored: SchemaObject[]) => SchemaObjectDifference[],
  production: SchemaObject[],
  restored: SchemaObject[],
  disabled: readonly { kind: string; name: string }[] = []
): SchemaObjectDifference[] {
  const actual = new Map(restored.map(object => [`${object.kind}\u0000${object.name}`, object.definition]))
  return diff(production, restoredAsDumped(restored, disabled)).map(difference =>
    difference.restored === null
      ? difference
      : { ...difference, restored: actual.get(`${difference.kind}\u0000${difference.name}`) ?? difference.restored }
  )
}
