import { tableKey } from '../../util/table-name.js'
import { dumpSpellings, NAME_BYTES_SQL } from './dump-encoding.js'
import { notInExtensionSql, userNamespaceSql, userRelationSql } from './figure-queries.js'
import type { Queryable } from './queryable.js'
import { readFilledLargeObject } from './drill-large-object.js'
import type { TableName } from '../../util/table-name.js'
import type { ConstraintType } from './drill-rewriters.js'
import type { PrivilegeCatalog } from './drill-privileges.js'
import { bySchemaAndName, compareText } from '../../util/text-order.js'

/** A column as the drill needs to know it to invent values the schema accepts. */
export interface ColumnInfo {
  name: string
  /** pg_type.typname of the column's type, e.g. int4, text, uuid. */
  type: string
  /** pg_type.typtype: `b` base, `d` domain, `e` enum, ... */
  typtype: string
  /** pg_attribute.atttypmod: for varchar(n), n + 4; -1 when unlimited. */
  typmod: number
  generated: boolean
  /** NOT NULL; undefined when not read, which the drill treats as "may not take a NULL's place". */
  notNull?: boolean
  /** pg_stats.null_frac when the table was analyzed: which columns are likely to hold a NULL at all. */
  nullFraction?: number
}

/** A production table's columns and constraints, from its catalog. */
export interface TableShape {
  schema: string
  name: string
  rows: number
  columns: ColumnInfo[]
  /**
   * Unique indexes. `columns` are the key columns and, where the catalog reader knows them, the
   * columns its expressions and predicate use (`partial`: it has a WHERE clause).
   */
  uniqueIndexes: { primary: boolean; expression: boolean; partial?: boolean; columns: string[] }[]
  /** Foreign-key (`f`), check (`c`) and exclusion (`x`) constraints with their columns. */
  constraints: { type: 'f' | 'c' | 'x'; columns: string[] }[]
  /** A partition: its rows must stay inside its bounds. */
  partition?: boolean
  /** Columns that route rows to partitions, in any partitioned ancestor (all columns for expression keys). */
  partitionKey?: string[]
  /** Foreign keys (`schema.table.constraint`) pointing at this table's rows, or at a partitioned ancestor's. */
  referencedBy?: string[]
  /** Columns a generated column's expression, or an expression or partial index, reads: the restore computes with them. */
  derivedFrom?: string[]
}

/** An index, with what else in the dump depends on it. */
export interface IndexInfo {
  schema: string
  table: string
  name: string
  unique: boolean
  /** Backs a primary key, unique or exclusion constraint, whose ALTER TABLE creates it. */
  backsConstraint: boolean
  /** A foreign key relies on it: without it, the foreign key cannot be created. */
  usedByForeignKey: boolean
  /** A partitioned index or a partition's index, which later ATTACH PARTITION statements name. */
  partitioned: boolean
  /** Named by a later statement of the dump: CLUSTER ON, REPLICA IDENTITY, COMMENT, statistics, extension. */
  namedElsewhere: boolean
}

/** A table constraint, with what decides whether the dump still restores without it. */
export interface ConstraintInfo {
  schema: string
  table: string
  name: string
  type: ConstraintType
  /** Defined on this table itself, not inherited or cloned from a parent (pg_dump writes only these). */
  local: boolean
  /** Written as an ALTER TABLE ... ADD CONSTRAINT of its own; validated checks sit inside CREATE TABLE. */
  separate: boolean
  /** The table is partitioned, a partition, or part of an inheritance tree. */
  inTree: boolean
  /** A foreign key relies on this key's index. */
  usedByForeignKey: boolean
  /** Named by a later statement of the dump: COMMENT ON CONSTRAINT, or its index's CLUSTER ON / REPLICA IDENTITY. */
  namedElsewhere: boolean
}

export interface SequenceInfo {
  schema: string
  name: string
  /** Its last value as text; null when it was never used (or may not be read), so the dump sets nothing back. */
  lastValue: string | null
  startValue: string
  /** The table whose column owns it (serial or identity). */
  ownedBy?: TableName
  /** Rows of the owning table; 0 when none, unknown, or not owned. */
  ownerRows: number
}

/** What production's catalog says about the objects the drill may corrupt. */
export interface DrillCatalog {
  tables: TableShape[]
  indexes: IndexInfo[]
  constraints: ConstraintInfo[]
  sequences: SequenceInfo[]
  /** Set when owners and privileges are restored and compared: what drop-grant and change-owner aim at. */
  privileges?: PrivilegeCatalog
  /** The lowest OID of a large object with data, when there is one. */
  largeObject?: string
  /** Functions and procedures whose body may change and the copy still restore. */
  functions?: FunctionInfo[]
  /**
   * Names beyond ASCII, by their bytes in the dump's encoding as latin1 strings (dump-encoding.ts);
   * a name not here is spelled in the dump as it reads.
   */
  dumpNames?: Map<string, string>
}

/** A function or procedure with a body given as a string, which nothing in the dump runs during a restore. */
export interface FunctionInfo {
  schema: string
  name: string
  /** Its arguments as pg_dump writes them after the name (pg_get_function_arguments). */
  arguments: string
  /** How the schema fingerprint names it: `schema.name(argument types)`. */
  signature: string
}

/**
 * What the drill reads from production's catalog to aim its operators where the corrupted copy
 * still restores. Run it inside the dump's snapshot, so it describes exactly the dumped schema.
 * Works on PostgreSQL 12 and later (generated columns, partition catalogs).
 */

// Same relations as the comparison reads: no system schemas, nothing an extension owns (pg_dump skips those).
const USER_RELATION = (alias: string) => `EXISTS (SELECT 1 FROM pg_catalog.pg_namespace n
  WHERE n.oid = ${alias}.relnamespace AND ${userRelationSql(alias, 'n')})`

/**
 * Every ordinary table and partition: columns (with NOT NULL and the statistics' NULL fraction),
 * unique indexes with every column they use (key, expression and predicate columns, the last
 * two from pg_depend), constraints, partition keys of all partitioned ancestors, the foreign
 * keys pointing at the table or an ancestor, and `derivedFrom`: the columns that a generated
 * column's expression or an expression or partial index reads (pg_depend), whose values the
 * restore computes with and may reject (a plain index takes any value its column holds). `partitionKeyExpression`: an ancestor partitions by
 * an expression, whose columns the catalog does not list.
 */
export const DRILL_TABLES_SQL = `
WITH RECURSIVE ancestry(relid, ancestor) AS (
  SELECT inhrelid, inhparent FROM pg_catalog.pg_inherits
  UNION
  SELECT a.relid, i.inhparent FROM ancestry a JOIN pg_catalog.pg_inherits i ON i.inhrelid = a.ancestor
)
SELECT n.nspname AS schema, c.relname AS name, c.relispartition AS partition,
  coalesce((SELECT json_agg(json_build_object('name', a.attname, 'type', t.typname, 'typtype', t.typtype,
                                              'typmod', a.atttypmod, 'generated', a.attgenerated <> '',
                                              'notNull', a.attnotnull,
                                              'nullFraction', (SELECT s.null_frac FROM pg_catalog.pg_stats s
                                                               WHERE s.schemaname = n.nspname AND s.tablename = c.relname
                                                                 AND s.attname = a.attname AND NOT s.inherited))
                            ORDER BY a.attnum)
            FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
            WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped), '[]') AS columns,
  coalesce((SELECT json_agg(json_build_object('primary', i.indisprimary, 'expression', i.indexprs IS NOT NULL,
              'partial', i.indpred IS NOT NULL,
              'columns', coalesce((SELECT json_agg(a.attname ORDER BY a.attnum) FROM pg_catalog.pg_attribute a
                                   WHERE a.attrelid = c.oid AND a.attnum > 0
                                     AND (a.attnum = ANY (i.indkey)
                                          OR EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                                                     WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = i.indexrelid
                                                       AND d.refclassid = 'pg_catalog.pg_class'::regclass
                                                       AND d.refobjid = c.oid AND d.refobjsubid = a.attnum))), '[]')))
            FROM pg_catalog.pg_index i WHERE i.indrelid = c.oid AND i.indisunique), '[]') AS "uniqueIndexes",
  coalesce((SELECT json_agg(json_build_object('type', co.contype,
              'columns', coalesce((SELECT json_agg(a.attname) FROM pg_catalog.pg_attribute a
                                   WHERE a.attrelid = c.oid AND a.attnum = ANY (co.conkey)), '[]')))
            FROM pg_catalog.pg_constraint co WHERE co.conrelid = c.oid AND co.contype IN ('f', 'c', 'x')), '[]') AS constraints,
  coalesce((SELECT json_agg(DISTINCT pa.attname)
            FROM ancestry an
            JOIN pg_catalog.pg_partitioned_table pt ON pt.partrelid = an.ancestor
            CROSS JOIN LATERAL unnest(pt.partattrs::int2[]) AS key(attnum)
            JOIN pg_catalog.pg_attribute pa ON pa.attrelid = pt.partrelid AND pa.attnum = key.attnum
            WHERE an.relid = c.oid), '[]') AS "partitionKey",
  coalesce((SELECT json_agg(DISTINCT a.attname)
            FROM pg_catalog.pg_depend d
            JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum = d.refobjsubid
            WHERE d.refclassid = 'pg_catalog.pg_class'::regclass AND d.refobjid = c.oid AND d.refobjsubid > 0
              -- A generated column depends on the columns it reads (its own, objsubid), or through its default.
              AND ((d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = c.oid AND d.objsubid > 0
                    AND EXISTS (SELECT 1 FROM pg_catalog.pg_attribute g
                                WHERE g.attrelid = c.oid AND g.attnum = d.objsubid AND g.attgenerated <> ''))
                   OR (d.classid = 'pg_catalog.pg_attrdef'::regclass
                    AND EXISTS (SELECT 1 FROM pg_catalog.pg_attrdef ad
                                JOIN pg_catalog.pg_attribute g ON g.attrelid = ad.adrelid AND g.attnum = ad.adnum
                                WHERE ad.oid = d.objid AND g.attgenerated <> '' AND g.attnum <> a.attnum))
                   OR (d.classid = 'pg_catalog.pg_class'::regclass
                       AND d.objid IN (SELECT i.indexrelid FROM pg_catalog.pg_index i WHERE i.indrelid = c.oid
                                         AND (i.indexprs IS NOT NULL OR i.indpred IS NOT NULL))))), '[]')
    AS "derivedFrom",
  EXISTS (SELECT 1 FROM ancestry an JOIN pg_catalog.pg_partitioned_table pt ON pt.partrelid = an.ancestor
          WHERE an.relid = c.oid AND (pt.partexprs IS NOT NULL OR 0 = ANY (pt.partattrs::int2[]))) AS "partitionKeyExpression",
  coalesce((SELECT json_agg(DISTINCT format('%I.%I.%I', fn.nspname, fc.relname, f.conname))
            FROM pg_catalog.pg_constraint f
            JOIN pg_catalog.pg_class fc ON fc.oid = f.conrelid
            JOIN pg_catalog.pg_namespace fn ON fn.oid = fc.relnamespace
            WHERE f.contype = 'f'
              AND (f.confrelid = c.oid OR f.confrelid IN (SELECT an.ancestor FROM ancestry an WHERE an.relid = c.oid))), '[]')
    AS "referencedBy"
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'r' AND ${USER_RELATION('c')}
`

/**
 * Every valid index of a table, partitioned table or materialized view, with what else the dump
 * says about it: the constraint it backs, a foreign key that needs it, partition attachments,
 * CLUSTER ON, REPLICA IDENTITY, a comment, per-column statistics targets, extension dependencies.
 */
export const DRILL_INDEXES_SQL = `
SELECT n.nspname AS schema, t.relname AS table, ic.relname AS name, i.indisunique AS unique,
  EXISTS (SELECT 1 FROM pg_catalog.pg_constraint co
          WHERE co.conindid = i.indexrelid AND co.conrelid = i.indrelid AND co.contype IN ('p', 'u', 'x')) AS "backsConstraint",
  EXISTS (SELECT 1 FROM pg_catalog.pg_constraint co WHERE co.conindid = i.indexrelid AND co.contype = 'f') AS "usedByForeignKey",
  (ic.relkind = 'I' OR ic.relispartition) AS partitioned,
  (i.indisclustered OR i.indisreplident
   OR EXISTS (SELECT 1 FROM pg_catalog.pg_description d
              WHERE d.classoid = 'pg_catalog.pg_class'::regclass AND d.objoid = i.indexrelid)
   OR EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a WHERE a.attrelid = i.indexrelid AND coalesce(a.attstattarget, -1) >= 0)
   OR EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
              WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = i.indexrelid AND d.deptype IN ('e', 'x')))
    AS "namedElsewhere"
FROM pg_catalog.pg_index i
JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
JOIN pg_catalog.pg_class t ON t.oid = i.indrelid
JOIN pg_catalog.pg_namespace n ON n.oid = t.relnamespace
WHERE t.relkind IN ('r', 'p', 'm') AND i.indisvalid AND ${USER_RELATION('t')}
`

/**
 * Every primary key, unique, foreign-key, check and exclusion constraint of a table. `separate`:
 * pg_dump writes it as an ALTER TABLE of its own (validated checks go inside CREATE TABLE).
 */
export const DRILL_CONSTRAINTS_SQL = `
SELECT n.nspname AS schema, t.relname AS table, co.conname AS name, co.contype AS type,
  co.conislocal AS local,
  (co.contype <> 'c' OR NOT co.convalidated) AS separate,
  (t.relkind = 'p' OR t.relispartition
   OR EXISTS (SELECT 1 FROM pg_catalog.pg_inherits h WHERE h.inhrelid = t.oid OR h.inhparent = t.oid)) AS "inTree",
  (co.contype IN ('p', 'u') AND EXISTS (SELECT 1 FROM pg_catalog.pg_constraint f
                                        WHERE f.contype = 'f' AND f.conindid = co.conindid)) AS "usedByForeignKey",
  (EXISTS (SELECT 1 FROM pg_catalog.pg_description d
           WHERE d.classoid = 'pg_catalog.pg_constraint'::regclass AND d.objoid = co.oid)
   OR (co.contype IN ('p', 'u', 'x') AND EXISTS (SELECT 1 FROM pg_catalog.pg_index i
                                                 WHERE i.indexrelid = co.conindid AND (i.indisclustered OR i.indisreplident))))
    AS "namedElsewhere"
FROM pg_catalog.pg_constraint co
JOIN pg_catalog.pg_class t ON t.oid = co.conrelid
JOIN pg_catalog.pg_namespace n ON n.oid = t.relnamespace
WHERE co.contype IN ('c', 'f', 'p', 'u', 'x') AND t.relkind IN ('r', 'p') AND ${USER_RELATION('t')}
`

/**
 * Every sequence with its start and last value (NULL when never used, or when this role may not
 * read it) and the table whose serial or identity column owns it. Sequences ignore snapshots, so
 * the last value is today's, not the dump's: the drill only uses it to tell used from unused, and
 * sequence-reset reports the value it finds in the dump.
 */
export const DRILL_SEQUENCES_SQL = `
SELECT n.nspname AS schema, c.relname AS name, s.seqstart::text AS "startValue",
  CASE WHEN pg_catalog.has_sequence_privilege(c.oid, 'SELECT,USAGE')
       THEN pg_catalog.pg_sequence_last_value(c.oid)::text END AS "lastValue",
  owner.schema AS "ownerSchema", owner.name AS "ownerName"
FROM pg_catalog.pg_sequence s
JOIN pg_catalog.pg_class c ON c.oid = s.seqrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN LATERAL (
  SELECT tn.nspname AS schema, tc.relname AS name
  FROM pg_catalog.pg_depend d
  JOIN pg_catalog.pg_class tc ON tc.oid = d.refobjid
  JOIN pg_catalog.pg_namespace tn ON tn.oid = tc.relnamespace
  WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = c.oid
    AND d.refclassid = 'pg_catalog.pg_class'::regclass AND d.refobjsubid > 0 AND d.deptype IN ('a', 'i')
  LIMIT 1
) AS owner ON true
WHERE ${USER_RELATION('c')}
`

/**
 * Functions and procedures whose body the drill may change and the copy still restore: SQL and
 * PL/pgSQL bodies given as a string (pg_dump turns check_function_bodies off, so any string
 * restores; a PostgreSQL 14+ SQL-standard body is parsed at creation and is left alone), that no
 * other object depends on: a check, default, generated column, index or view could run the
 * function during the restore. A trigger's function only runs after the data is in. `signature`
 * names it as the schema fingerprint does; `arguments` as pg_dump writes them after the name.
 */
export const DRILL_FUNCTIONS_SQL = `
SELECT n.nspname AS schema, p.proname AS name, pg_catalog.pg_get_function_arguments(p.oid) AS arguments,
  pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(p.proname)
    || '(' || pg_catalog.oidvectortypes(p.proargtypes) || ')' AS signature
FROM pg_catalog.pg_proc p
JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
JOIN pg_catalog.pg_language l ON l.oid = p.prolang
WHERE ${userNamespaceSql('n')} AND ${notInExtensionSql('pg_catalog.pg_proc', 'p.oid')}
  AND p.prokind IN ('f', 'p') AND l.lanname IN ('sql', 'plpgsql')
  AND (pg_catalog.to_jsonb(p) ->> 'prosqlbody') IS NULL
  AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                  WHERE d.refclassid = 'pg_catalog.pg_proc'::regclass AND d.refobjid = p.oid
                    AND d.classid <> 'pg_catalog.pg_trigger'::regclass)
`

type TableRow = Omit<TableShape, 'rows'> & { partitionKeyExpression: boolean }
type SequenceRow = Omit<SequenceInfo, 'ownedBy' | 'ownerRows'> & { ownerSchema: string | null; ownerName: string | null }

/**
 * Reads what the drill needs from production's catalog. `rowCounts` are production's row counts
 * keyed by compare.ts `tableKey`; tables missing from it count as empty.
 */
export async function readDrillCatalog(db: Queryable, rowCounts: Map<string, number>): Promise<DrillCatalog> {
  const tableRows = await db.query<TableRow>(DRILL_TABLES_SQL)
  const indexes = await db.query<IndexInfo>(DRILL_INDEXES_SQL)
  const constraints = await db.query<ConstraintInfo>(DRILL_CONSTRAINTS_SQL)
  const sequenceRows = await db.query<SequenceRow>(DRILL_SEQUENCES_SQL)
  const largeObject = await readFilledLargeObject(db)
  const functions = await db.query<FunctionInfo>(DRILL_FUNCTIONS_SQL)

  const tables: TableShape[] = tableRows.map(({ partitionKeyExpression, ...table }) => ({
    ...table,
    rows: rowCounts.get(tableKey(table)) ?? 0,
    // An expression key may read any column: none may change.
    partitionKey: partitionKeyExpression ? table.columns.map(column => column.name) : table.partitionKey,
    columns: table.columns.map(column => ({ ...column, nullFraction: column.nullFraction ?? undefined }))
  }))
  const sequences: SequenceInfo[] = sequenceRows.map(({ ownerSchema, ownerName, ...sequence }) => {
    const ownedBy = ownerSchema !== null && ownerName !== null ? { schema: ownerSchema, name: ownerName } : undefined
    return { ...sequence, ...(ownedBy ? { ownedBy } : {}), ownerRows: ownedBy ? (rowCounts.get(tableKey(ownedBy)) ?? 0) : 0 }
  })
  const names = new Set<string>()
  for (const table of tables) {
    names.add(table.schema).add(table.name)
    for (const column of table.columns) names.add(column.name)
  }
  for (const object of [...indexes, ...constraints]) names.add(object.schema).add(object.table).add(object.name)
  for (const object of [...sequences, ...functions]) names.add(object.schema).add(object.name)
  for (const fn of functions) names.add(fn.arguments)
  // Only names beyond ASCII are spelled differently in bytes; most schemas have none and skip the query.
  const wide = [...names].filter(name => /[^\x00-\x7f]/.test(name))
  const dumpNames =
    wide.length > 0 ? dumpSpellings(await db.query<{ name: string; bytes: Buffer }>(NAME_BYTES_SQL, [wide])) : new Map()
  return {
    dumpNames,
    functions: functions.sort((a, b) => bySchemaAndName(a, b) || compareText(a.arguments, b.arguments)),
    tables: tables.sort(bySchemaAndName),
    indexes: indexes.sort((a, b) => bySchemaAndName(a, b) || compareText(a.table, b.table)),
    constraints: constraints.sort(
      (a, b) => compareText(a.schema, b.schema) || compareText(a.table, b.table) || compareText(a.name, b.name)
    ),
    sequences: sequences.sort(bySchemaAndName),
    ...(largeObject !== undefined ? { largeObject } : {})
  }
}
