import type { TableName } from '../../util/table-name.js'
import type { MysqlTable } from './figure-queries.js'
import type { MysqlQueryable } from './queryable.js'
import { readPrimaryKeys } from './schema-queries.js'

/**
 * What production's catalog offers the drill to corrupt, read inside its snapshot: the tables
 * with rows (and their keys), the secondary indexes, the constraints and the AUTO_INCREMENT
 * counters. Names as the dump writes them (the table's own name, no database), so that a
 * rewriter can find them in the dump's text, and as the schema fingerprint names them
 * (schema-queries.ts), so that the judge can find the difference they must cause.
 */
export interface MysqlDrillCatalog {
  /** `columns`: those the dump writes values for (not generated ones), in table order. */
  tables: { table: TableName; rows: number; key: string[] | undefined; columns: string[] }[]
  /** Secondary indexes (not PRIMARY), unique or not. */
  indexes: { table: string; name: string; unique: boolean }[]
  /** FOREIGN KEY, UNIQUE and CHECK constraints (PRIMARY KEY is the table's key, not the drill's). */
  constraints: { table: string; name: string; type: 'FOREIGN KEY' | 'UNIQUE' | 'CHECK' }[]
  /** Tables with an AUTO_INCREMENT column and their counter's next value. */
  counters: { table: string; column: string; next: string }[]
}

export async function readDrillCatalog(
  db: MysqlQueryable,
  tables: MysqlTable[],
  rowCounts: Map<string, number>,
  keyOf: (table: MysqlTable) => string
): Promise<MysqlDrillCatalog> {
  const keys = await readPrimaryKeys(db, '')
  const indexes = await db.query<{ t: string; i: string; non_unique: string }>(
    `SELECT DISTINCT TABLE_NAME AS t, INDEX_NAME AS i, CAST(NON_UNIQUE AS CHAR) AS non_unique
     FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND INDEX_NAME <> 'PRIMARY'
     ORDER BY TABLE_NAME, INDEX_NAME`
  )
  const constraints = await db.query<{ t: string; name: string; type: string }>(
    `SELECT TABLE_NAME AS t, CONSTRAINT_NAME AS name, CONSTRAINT_TYPE AS type FROM information_schema.TABLE_CONSTRAINTS
     WHERE TABLE_SCHEMA = DATABASE() AND CONSTRAINT_TYPE IN ('FOREIGN KEY', 'UNIQUE', 'CHECK')
     ORDER BY TABLE_NAME, CONSTRAINT_NAME`
  )
  const counters = await db.query<{ t: string; c: string; next: string }>(
    `SELECT t.TABLE_NAME AS t, c.COLUMN_NAME AS c, CAST(t.AUTO_INCREMENT AS CHAR) AS next
     FROM information_schema.TABLES t
     JOIN information_schema.COLUMNS c ON c.TABLE_SCHEMA = t.TABLE_SCHEMA AND c.TABLE_NAME = t.TABLE_NAME
       AND c.EXTRA LIKE '%auto_increment%'
     WHERE t.TABLE_SCHEMA = DATABASE() AND t.AUTO_INCREMENT IS NOT NULL
     ORDER BY t.TABLE_NAME`
  )
  // The columns the dump writes values for, in table order: generated ones are computed, never dumped.
  const written = new Map<string, string[]>()
  for (const row of await db.query<{ t: string; c: string }>(
    `SELECT TABLE_NAME AS t, COLUMN_NAME AS c FROM information_schema.COLUMNS
     WHERE TABLE_SCHEMA = DATABASE() AND COALESCE(GENERATION_EXPRESSION, '') = '' AND EXTRA NOT LIKE '%GENERATED%'
     ORDER BY TABLE_NAME, ORDINAL_POSITION`
  )) {
    written.set(row.t, [...(written.get(row.t) ?? []), row.c])
  }
  return {
    tables: tables.map(table => ({
      table: { schema: table.schema, name: table.name },
      rows: rowCounts.get(keyOf(table)) ?? 0,
      key: keys.get(table.name),
      columns: written.get(table.name) ?? []
    })),
    indexes: indexes.map(row => ({ table: row.t, name: row.i, unique: row.non_unique === '0' })),
    constraints: constraints.map(row => ({ table: row.t, name: row.name, type: row.type as 'FOREIGN KEY' | 'UNIQUE' | 'CHECK' })),
    counters: counters.map(row => ({ table: row.t, column: row.c, next: row.next }))
  }
}
