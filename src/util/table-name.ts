/**
 * A table, or any object that lives in a schema (a sequence, a view, a function), by its schema
 * and name: the one shape every layer names such an object in. Richer descriptions (an engine's
 * table reference, a drill target) extend it.
 */
export interface TableName {
  schema: string
  name: string
}

/** A map key for a table: schema and name joined by a character no identifier holds. */
export function tableKey(table: TableName): string {
  return `${table.schema}\u0000${table.name}`
}

/** schema.name with quotes where a reader needs them to see the boundaries. */
export function displayName(table: TableName): string {
  return `${displayIdentifier(table.schema)}.${displayIdentifier(table.name)}`
}

/** An identifier for people: as it is when plain lower case, double-quoted otherwise. */
export function displayIdentifier(identifier: string): string {
  return /^[a-z_][a-z0-9_]*$/.test(identifier) ? identifier : `"${identifier.replace(/"/g, '""')}"`
}
