import type { TableName } from '../../util/table-name.js'

/**
 * Pure SQL for a database's figures: which tables hold rows, and per table a row count and a
 * content checksum computed on the server, so rows never stream into the action. (The schema
 * fingerprint, the other half of what is compared, is schema-fingerprint.ts.)
 */

/** A relation that holds rows of its own. */
export interface TableRef extends TableName {
  /**
   * `r` table or leaf partition, `m` materialized view, `p` a partitioned table whose rows are
   * compared as a whole, not leaf by leaf (see LIST_TABLES_SQL).
   */
  kind: 'r' | 'm' | 'p'
  /** False for a materialized view created WITH NO DATA, which cannot be read. */
  populated: boolean
  /** Columns in a fixed order (by name) so that column order on disk does not matter. */
  columns: Column[]
  /** Size on disk, to checksum the largest tables first and keep parallel workers busy. */
  bytes: number
  /**
   * An extension's configuration table: the `WHERE ...` condition its extension registered
   * (pg_extension.extcondition), which selects the rows pg_dump dumps; '' for all rows.
   * Undefined (null) for every other table.
   */
  filter?: string | null
}

export interface Column {
  name: string
  hashing: ColumnHashing
}

/**
 * How checksumSql hashes a column's values. A type's own 64-bit hash function is used only where
 * two values it hashes alike are identical (so not numeric, where 1.0 = 1.00, nor float, where
 * -0 = 0, nor jsonb, interval or arrays). `char` is char(n): its values are always padded to n,
 * so the blank-insensitive bpchar hash still tells every two stored values apart.
 *
 * The others are hashed by their text output, as pg_dump writes them: `output` columns one by one
 * through `::text`, for built-in types whose cast to text is exactly their output function (json's
 * is its stored text); `text form` columns (domains, enums, extension and composite types, whose
 * casts to text a user may have redefined) together, through their row's text.
 */
export const COLUMN_HASHINGS = [
  'int2',
  'int4',
  'int8',
  'bool',
  'text',
  'char',
  'timestamp',
  'timestamptz',
  'time',
  'uuid',
  'output',
  'text form'
] as const
export type ColumnHashing = (typeof COLUMN_HASHINGS)[number]

/** pg_attribute's type and typmod (alias `a`) to a ColumnHashing; the exact types only, never a domain over them. */
const COLUMN_HASHING_SQL = `CASE
    WHEN a.atttypid = 'pg_catalog.int2'::pg_catalog.regtype THEN 'int2'
    WHEN a.atttypid = 'pg_catalog.int4'::pg_catalog.regtype THEN 'int4'
    WHEN a.atttypid = 'pg_catalog.int8'::pg_catalog.regtype THEN 'int8'
    WHEN a.atttypid = 'pg_catalog.bool'::pg_catalog.regtype THEN 'bool'
    WHEN a.atttypid IN ('pg_catalog.text'::pg_catalog.regtype, 'pg_catalog.varchar'::pg_catalog.regtype) THEN 'text'
    WHEN a.atttypid = 'pg_catalog.bpchar'::pg_catalog.regtype AND a.atttypmod >= 0 THEN 'char'
    WHEN a.atttypid = 'pg_catalog.timestamp'::pg_catalog.regtype THEN 'timestamp'
    WHEN a.atttypid = 'pg_catalog.timestamptz'::pg_catalog.regtype THEN 'timestamptz'
    WHEN a.atttypid = 'pg_catalog.time'::pg_catalog.regtype THEN 'time'
    WHEN a.atttypid = 'pg_catalog.uuid'::pg_catalog.regtype THEN 'uuid'
    WHEN a.atttypid IN ('pg_catalog.numeric'::pg_catalog.regtype, 'pg_catalog.float4'::pg_catalog.regtype,
                        'pg_catalog.float8'::pg_catalog.regtype, 'pg_catalog.date'::pg_catalog.regtype,
                        'pg_catalog.interval'::pg_catalog.regtype, 'pg_catalog.timetz'::pg_catalog.regtype,
                        'pg_catalog.money'::pg_catalog.regtype, 'pg_catalog.bytea'::pg_catalog.regtype,
                        'pg_catalog.jsonb'::pg_catalog.regtype, 'pg_catalog.json'::pg_catalog.regtype)
      -- Arrays of built-in types print through array_out, element by element.
      OR EXISTS (SELECT 1 FROM pg_catalog.pg_type ty WHERE ty.oid = a.atttypid AND ty.typcategory = 'A'
                 AND ty.typnamespace = 'pg_catalog'::pg_catalog.regnamespace) THEN 'output'
    ELSE 'text form'
  END`

/**
 * Session settings that make every type's text output identical on both servers, whatever their
 * configuration: dates, time zones, floats, bytea, intervals, money; and reads that see every row.
 */
export const PINNED_SETTINGS: ReadonlyArray<[string, string]> = [
  ['DateStyle', 'ISO, MDY'],
  ['TimeZone', 'UTC'],
  ['IntervalStyle', 'postgres'],
  ['extra_float_digits', '3'],
  ['bytea_output', 'hex'],
  ['lc_monetary', 'C'],
  ['search_path', 'pg_catalog'],
  // A read that a row-level security policy would filter fails instead of counting fewer rows,
  // as pg_dump's does (see row-security.ts).
  ['row_security', 'off']
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

/** The configuration condition of a table its extension marked with pg_extension_config_dump (`c` a pg_class row). */
const EXTENSION_CONFIG_FILTER_SQL = `(SELECT coalesce(x.extcondition[pg_catalog.array_position(x.extconfig, c.oid)], '')
   FROM pg_catalog.pg_extension x WHERE c.oid = ANY (x.extconfig) LIMIT 1)`

/**
 * Partitioned tables whose rows a restore routes to partitions afresh (pg_dump loads their data
 * through the partition root): those hash-partitioned by an enum. An enum hashes by its values'
 * OIDs, which a restore assigns anew, so a row may land in another partition than in production
 * though no row is lost or changed. This is pg_dump's own test (getPartitioningInfo, 11+ and
 * every minor release since May 2023). `p` is a pg_class row.
 */
const REROUTED_PARTITIONS_SQL = (p: string) => `EXISTS (SELECT 1 FROM pg_catalog.pg_partitioned_table pt
  WHERE pt.partrelid = ${p}.oid
    AND (SELECT oc.oid FROM pg_catalog.pg_opclass oc JOIN pg_catalog.pg_am am ON am.oid = oc.opcmethod
         WHERE oc.opcname = 'enum_ops' AND oc.opcnamespace = 'pg_catalog'::pg_catalog.regnamespace AND am.amname = 'hash')
        = ANY (pt.partclass))`

/** Whether a relation (`c`) is a partition somewhere under a partitioned table REROUTED_PARTITIONS_SQL names. */
const UNDER_REROUTED_SQL = `EXISTS (
  WITH RECURSIVE ancestors(relid) AS (
    SELECT i.inhparent FROM pg_catalog.pg_inherits i WHERE i.inhrelid = c.oid AND c.relispartition
    UNION
    SELECT i.inhparent FROM ancestors an JOIN pg_catalog.pg_inherits i ON i.inhrelid = an.relid)
  SELECT 1 FROM ancestors an JOIN pg_catalog.pg_class ap ON ap.oid = an.relid WHERE ${REROUTED_PARTITIONS_SQL('ap')})`

/**
 * Every ordinary table, leaf partition and materialized view outside the system schemas and
 * outside extensions (whose data pg_dump does not dump), plus the extensions' configuration
 * tables, whose rows pg_dump does dump (those its extension's condition selects). Partitioned
 * parents hold no rows of their own: their partitions are compared one by one, except under a
 * partitioned table whose rows the restore routes afresh (REROUTED_PARTITIONS_SQL): the highest
 * such table is compared as a whole (kind `p`) and its partitions are not listed.
 */
export const LIST_TABLES_SQL = `
SELECT n.nspname AS schema, c.relname AS name, c.relkind AS kind, c.relispopulated AS populated,
       (CASE WHEN c.relkind = 'p'
             THEN (SELECT sum(pg_catalog.pg_relation_size(tree.relid)) FROM pg_catalog.pg_partition_tree(c.oid) AS tree)
             ELSE pg_catalog.pg_relation_size(c.oid) END)::float8 AS bytes, ${EXTENSION_CONFIG_FILTER_SQL} AS filter,
       coalesce((SELECT json_agg(json_build_object('name', a.attname, 'hashing', ${COLUMN_HASHING_SQL}))
                 FROM pg_catalog.pg_attribute a
                 WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped), '[]') AS columns
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE (c.relkind IN ('r', 'm') OR (c.relkind = 'p' AND ${REROUTED_PARTITIONS_SQL('c')}))
  AND NOT ${UNDER_REROUTED_SQL} AND ${userNamespaceSql('n')}
  AND (${notInExtensionSql('pg_catalog.pg_class', 'c.oid')} OR ${EXTENSION_CONFIG_FILTER_SQL} IS NOT NULL)
`

export function quoteIdent(identifier: string): string {
  return '"' + identifier.replace(/"/g, '""') + '"'
}

export function quoteLiteral(value: string): string {
  return "'" + value.replace(/'/g, "''") + "'"
}

export function qualifiedName(table: TableName): string {
  return `${quoteIdent(table.schema)}.${quoteIdent(table.name)}`
}

/**
 * The rows a table holds itself: ONLY, since an inheritance parent's children are compared as
 * tables of their own; a partitioned table compared as a whole (kind `p`) holds its partitions' rows.
 */
export function rowSourceSql(table: { schema: string; name: string; kind?: TableRef['kind'] }): string {
  return `${table.kind === 'p' ? '' : 'ONLY '}${qualifiedName(table)}`
}

/** Row count only. */
export function countSql(table: TableRef): string {
  return `SELECT count(*)::text AS rows FROM ${rowSourceSql(table)} AS t ${rowFilter(table)}`
}

/**
 * Row count plus the sum of a 64-bit hash of each row. A sum is independent of row order yet,
 * unlike XOR, counts a duplicated row twice; a corruption that leaves a 64-bit sum unchanged is
 * a 1 in 2^64 chance.
 */
export function checksumSql(table: TableRef): string {
  return `SELECT count(*)::text AS rows, coalesce(sum(${rowHashSql(table.columns)}), 0)::text AS sum
FROM ${rowSourceSql(table)} AS t ${rowFilter(table)}`
}

/**
 * The rows of a table that a dump holds: all of them, or for an extension's configuration table
 * those its condition selects, a `WHERE` clause the extension wrote, which pg_dump appends to
 * its own query the same way.
 */
export function rowFilter(table: { filter?: string | null }): string {
  return table.filter ?? ''
}

/**
 * A 64-bit hash of a row (alias `t`) that changes when any one value does, NULL and '' included.
 * Each column but the `text form` ones is hashed with its own seed (its place among the columns),
 * so equal values in two columns, or swapped between them, hash differently; a NULL gets a
 * constant of its own. The `text form` columns are hashed together by their row's text form.
 * The parts are XORed, then hashed once more: an XOR alone would let a value swapped between two
 * rows of one column leave the sum unchanged far more often than 1 in 2^64.
 *
 * This is about three times cheaper than hashing the whole row's text (int and char(n) columns
 * need no text output at all, and one text per column skips the row's quoting), and the text
 * output is what a checksum spends its time on.
 */
export function rowHashSql(columns: Column[]): string {
  const parts: string[] = []
  columns.forEach((column, index) => {
    if (column.hashing === 'text form') return
    const seed = index + 1
    parts.push(`coalesce(${columnHashSql(quoteIdent(column.name), column.hashing, seed)}, ${-seed})`)
  })
  const textForm = columns.filter(column => column.hashing === 'text form').map(column => quoteIdent(column.name))
  if (textForm.length > 0) parts.push(`pg_catalog.hashtextextended(ROW(${textForm.join(', ')})::text, 0)`)
  return `pg_catalog.hashint8extended(${parts.length > 0 ? parts.join(' # ') : '0'}, 0)`
}

function columnHashSql(value: string, hashing: Exclude<ColumnHashing, 'text form'>, seed: number): string {
  switch (hashing) {
    case 'int2':
      return `pg_catalog.hashint2extended(${value}, ${seed})`
    case 'int4':
      return `pg_catalog.hashint4extended(${value}, ${seed})`
    case 'int8':
      return `pg_catalog.hashint8extended(${value}, ${seed})`
    case 'bool':
      return `pg_catalog.hashint4extended(${value}::pg_catalog.int4, ${seed})`
    // Under COLLATE "C" the bytes are hashed: a nondeterministic (say case-insensitive) collation would hash 'A' like 'a'.
    case 'text':
      return `pg_catalog.hashtextextended(${value}::pg_catalog.text COLLATE "C", ${seed})`
    case 'char':
      return `pg_catalog.hashbpcharextended(${value} COLLATE "C", ${seed})`
    case 'timestamp':
      return `pg_catalog.timestamp_hash_extended(${value}, ${seed})`
    // The instant, as the timestamp it is in UTC: PINNED_SETTINGS sets TimeZone to UTC, where that is one-to-one.
    case 'timestamptz':
      return `pg_catalog.timestamp_hash_extended(${value}::pg_catalog.timestamp, ${seed})`
    case 'time':
      return `pg_catalog.time_hash_extended(${value}, ${seed})`
    case 'uuid':
      return `pg_catalog.uuid_hash_extended(${value}, ${seed})`
    case 'output':
      return `pg_catalog.hashtextextended(${value}::pg_catalog.text, ${seed})`
  }
}
