import type { TableName } from '../../util/table-name.js'
import type { MysqlTable } from './figure-queries.js'
import type { MysqlQueryable } from './queryable.js'
import { readPrimaryKeys, type Flavour } from './schema-queries.js'

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
  keyOf: (table: MysqlTable) => string,
  flavour: Flavour
): Promise<MysqlDrillCatalog> {
  const keys = await readPrimaryKeys(db, '')
  const indexes = await db.query<{ t: string; i: string; non_unique: string }>(
    `SELECT DISTINCT TABLE_NAME AS t, INDEX_NAME AS i, CAST(NON_UNIQUE AS CHAR) AS non_unique
     FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND INDEX_NAME <> 'PRIMARY'
     ORDER BY TABLE_NAME, INDEX_NAME`
  )
  // MariaDB's column-level CHECKs (a JSON column's json_valid among them) are written inside their
  // column's definition, not as a CONSTRAINT line a rewriter could drop: left out.
  const constraints = await db.query<{ t: string; name: string; type: string }>(
    `SELECT tc.TABLE_NAME AS t, tc.CONSTRAINT_NAME AS name, tc.CONSTRAINT_TYPE AS type
     FROM information_schema.TABLE_CONSTRAINTS tc
     WHERE tc.TABLE_SCHEMA = DATABASE() AND tc.CONSTRAINT_TYPE IN ('FOREIGN KEY', 'UNIQUE', 'CHECK')
     ${
       flavour === 'mariadb'
         ? `AND NOT EXISTS (SELECT 1 FROM information_schema.CHECK_CONSTRAINTS cc WHERE cc.CONSTRAINT_SCHEMA = tc.TABLE_SCHEMA
              AND cc.TABLE_NAME = tc.TABLE_NAME AND cc.CONSTRAINT_NAME = tc.CONSTRAINT_NAME AND cc.LEVEL = 'Column')`
         : ''
     }
     ORDER BY tc.TABLE_NAME, tc.CONSTRAINT_NAME`
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
     WHERE TABLE_SCHEMA = DATABASE() AND EXTRA NOT LIKE '%VIRTUAL GENERATED%' AND EXTRA NOT LIKE '%STORED GENERATED%'
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
