/**
 * Pure SQL for fingerprinting a database: which tables hold rows, and per table a row count and
 * a content checksum computed on the server, so rows never stream into the action.
 */

/** A relation that holds rows of its own. */
export interface TableRef {
  schema: string
  name: string
  /** `r` table or leaf partition, `m` materialized view. */
  kind: 'r' | 'm'
  /** False for a materialized view created WITH NO DATA, which cannot be read. */
  populated: boolean
  /** Column names, in a fixed order (by name) so that column order on disk does not matter. */
  columns: string[]
  /** Size on disk, to checksum the largest tables first and keep parallel workers busy. */
  bytes: number
}

/**
 * Session settings that make every type's text output identical on both servers, whatever their
 * configuration: dates, time zones, floats, bytea, intervals, money.
 */
export const PINNED_SETTINGS: ReadonlyArray<[string, string]> = [
  ['DateStyle', 'ISO, MDY'],
  ['TimeZone', 'UTC'],
  ['IntervalStyle', 'postgres'],
  ['extra_float_digits', '3'],
  ['bytea_output', 'hex'],
  ['lc_monetary', 'C'],
  ['search_path', 'pg_catalog']
]

export function pinSettingsSql(): string {
  return PINNED_SETTINGS.map(([name, value]) => `SET ${name} = ${quoteLiteral(value)};`).join('\n')
}

/** Namespaces that hold user objects (`alias` is a pg_namespace row). */
export function userNamespaceSql(alias: string): string {
  return `${alias}.nspname NOT IN ('pg_catalog', 'information_schema')
    AND ${alias}.nspname NOT LIKE 'pg\\_toast%' AND ${alias}.nspname NOT LIKE 'pg\\_temp\\_%'`
}

/** Whether an object is not part of an extension: pg_dump recreates those with CREATE EXTENSION, not one by one. */
export function notInExtensionSql(catalog: string, oid: string): string {
  return `NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend e WHERE e.classid = '${catalog}'::pg_catalog.regclass
                      AND e.objid = ${oid} AND e.deptype = 'e')`
}

/** A user relation (`relation` a pg_class row, `namespace` its pg_namespace row): what pg_dump dumps and Lazarus compares. */
export function userRelationSql(relation: string, namespace: string): string {
  return `${userNamespaceSql(namespace)} AND ${notInExtensionSql('pg_catalog.pg_class', `${relation}.oid`)}`
}

/**
 * Every ordinary table, leaf partition and materialized view outside the system schemas and
 * outside extensions (whose data pg_dump does not dump). Partitioned parents hold no rows of
 * their own: their partitions are compared one by one.
 */
export const LIST_TABLES_SQL = `
SELECT n.nspname AS schema, c.relname AS name, c.relkind AS kind, c.relispopulated AS populated,
       pg_catalog.pg_relation_size(c.oid)::float8 AS bytes,
       coalesce((SELECT json_agg(a.attname::text) FROM pg_catalog.pg_attribute a
                 WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped), '[]') AS columns
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'm') AND ${userRelationSql('c', 'n')}
`

export function quoteIdent(identifier: string): string {
  return '"' + identifier.replace(/"/g, '""') + '"'
}

export function quoteLiteral(value: string): string {
  return "'" + value.replace(/'/g, "''") + "'"
}

export function qualifiedName(table: { schema: string; name: string }): string {
  return `${quoteIdent(table.schema)}.${quoteIdent(table.name)}`
}

/** Row count only. ONLY: an inheritance parent's children are counted as their own tables. */
export function countSql(table: TableRef): string {
  return `SELECT count(*)::text AS rows FROM ONLY ${qualifiedName(table)}`
}

/**
 * Row count plus the sum of a 64-bit hash of each row's text form. A sum is independent of row
 * order yet, unlike XOR, counts a duplicated row twice. The row's text form quotes empty strings
 * and leaves NULL empty, so NULL and '' differ; one changed character changes the hash.
 * hashtextextended (PostgreSQL 11+) is several times cheaper than md5 plus the casts needed to
 * sum its digits, and a corruption that leaves a 64-bit sum unchanged is a 1 in 2^64 chance.
 */
export function checksumSql(table: TableRef): string {
  const row = `ROW(${table.columns.map(quoteIdent).join(', ')})::text`
  return `SELECT count(*)::text AS rows, coalesce(sum(pg_catalog.hashtextextended(${row}, 0)), 0)::text AS sum
FROM ONLY ${qualifiedName(table)} AS t`
}
