import type { TableName } from './table-name.js'

/**
 * Orders strings by their UTF-16 code units: the same order on every machine, unlike
 * localeCompare, so reports, drill targets and checksummed column lists never depend on a locale.
 */
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

/** Orders catalog objects by schema, then name. */
export function bySchemaAndName(a: TableName, b: TableName): number {
  return compareText(a.schema, b.schema) || compareText(a.name, b.name)
}

/** Kind, then name, by code point: the same order on every machine, whatever its locale. */
export function byKindAndName(a: { kind: string; name: string }, b: { kind: string; name: string }): number {
  return compareText(a.kind, b.kind) || compareText(a.name, b.name)
}
