import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { FIGURE_METHODS } from '../../../src/report/manifest.js'
import { checkAnswerSql, checkColumnsSql, checkRowsCursorSql } from '../../../src/engines/postgres/check-queries.js'
import {
  LIST_TABLES_SQL,
  checksumSql,
  countSql,
  pinSettingsSql,
  COLUMN_HASHINGS,
  type TableRef
} from '../../../src/engines/postgres/figure-queries.js'
import { readLargeObjects } from '../../../src/engines/postgres/large-objects.js'
import { readPrivileges } from '../../../src/engines/postgres/privileges.js'
import { liftForceSql } from '../../../src/engines/postgres/row-security.js'
import { readSchemaFingerprint } from '../../../src/engines/postgres/schema-fingerprint.js'
import { readSequenceValues } from '../../../src/engines/postgres/sequence-queries.js'
import type { Queryable } from '../../../src/engines/postgres/queryable.js'

// A manifest's figures are compared only with figures computed by the same method version
// (manifest.ts FIGURE_METHODS, stored-evidence.ts notComparable). A version that stays the same
// while its SQL changes would compare a manifest of the older SQL with figures of the newer as
// if they were alike: a false "differs" or, worse, a false match. This test pins, per method,
// the version and a sha256 of every SQL text (and parameter) that computes its figures, so that
// a change to that SQL fails here until the method's version is bumped.

/**
 * The versions and SQL hashes as last pinned. When this test fails for a method, its SQL changed:
 * bump FIGURE_METHODS.<method> in src/manifest.ts (manifests of the older SQL are then told apart
 * and their figures named as not comparable), and pin the new version and hash here. Only a
 * change that provably leaves every figure the same (a reformatted query) may keep the version.
 */
const PINNED: Record<keyof typeof FIGURE_METHODS, { version: number; sha256: string }> = {
  rowChecksum: { version: 2, sha256: 'ee619bbe143ce7139d6c13a6f418a17e135a8ea44589ce4e04dfa39db5f7a088' },
  schemaFingerprint: { version: 2, sha256: 'd9e89d59786364cc8848f20b10ca8e60a1d1ed52189e78f94d74ca4b9ccff1cf' },
  largeObjects: { version: 1, sha256: 'cd6b228e913d605a09c994080af4305a6f796caa26fafcfba77d07e9d10b2c8d' },
  sequences: { version: 1, sha256: '715274fec7ec7b0b8e08358bf87a1aad98539683b9053eda1ed15c321b1e8ca0' },
  checkAnswers: { version: 2, sha256: 'b2910d723a0dfaf5a4996aa28b2376da4adf247c126c8f0b2bc71333f9151647' }
}

/**
 * A Queryable that records every statement (with its parameters) and answers with what the
 * readers need to go on: no rows, except the saved settings, the server version and the
 * subscription columns' readability they ask for first.
 */
function recorder(serverVersionNum: number): { db: Queryable; statements: string[] } {
  const statements: string[] = []
  const db: Queryable = {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    async query<T extends Record<string, any>>(sql: string, params: unknown[] = []): Promise<T[]> {
      statements.push(`${sql}\u0000${JSON.stringify(params)}`)
      if (sql.includes('array_agg(pg_catalog.current_setting(name)')) return [{ values: [] }] as unknown as T[]
      if (sql.includes("current_setting('server_version_num')")) return [{ num: String(serverVersionNum) }] as unknown as T[]
      if (sql.includes('has_column_privilege')) return [{ readable: true }] as unknown as T[]
      return []
    }
  }
  return { db, statements }
}

/** The statements `read` issues, on each major the test suite runs (some queries depend on it). */
async function issued(read: (db: Queryable) => Promise<unknown>): Promise<string[]> {
  const all: string[] = []
  for (const version of [130000, 180000]) {
    const { db, statements } = recorder(version)
    await read(db)
    all.push(...statements)
  }
  return all
}

/** A table with a column of every hashing kind, as a plain table, a partitioned one and an extension's configuration table. */
function sampleTables(): TableRef[] {
  const columns = COLUMN_HASHINGS.map(hashing => ({ name: `c ${hashing}`, hashing }))
  const base = { schema: 'public', name: 't', populated: true, columns, bytes: 0 }
  return [
    { ...base, kind: 'r' },
    { ...base, kind: 'p' },
    { ...base, kind: 'm', filter: 'WHERE id > 0' }
  ]
}

const CHECK_QUERY = 'SELECT 1 AS one'

/** Every SQL text that computes each method's figures. */
async function figureSql(): Promise<Record<keyof typeof FIGURE_METHODS, string[]>> {
  const tables = sampleTables()
  return {
    rowChecksum: [
      pinSettingsSql(),
      LIST_TABLES_SQL,
      ...tables.flatMap(table => [countSql(table), checksumSql(table)]),
      // The restored copy's tables that force row-level security are read with FORCE lifted.
      liftForceSql(tables)
    ],
    // Owners and privileges are schema objects too (schema-fingerprint.ts PRIVILEGE_KINDS).
    schemaFingerprint: [...(await issued(readSchemaFingerprint)), ...(await issued(readPrivileges))],
    largeObjects: await issued(readLargeObjects),
    sequences: await issued(readSequenceValues),
    checkAnswers: [
      pinSettingsSql(),
      checkColumnsSql(CHECK_QUERY),
      checkAnswerSql(CHECK_QUERY),
      checkRowsCursorSql('c', CHECK_QUERY, true),
      checkRowsCursorSql('c', CHECK_QUERY, false)
    ]
  }
}

function sha256(texts: string[]): string {
  const hash = createHash('sha256')
  for (const text of texts) hash.update(text).update('\u0001')
  return hash.digest('hex')
}

test("each figure method's SQL is pinned with its version: changing the SQL without bumping FIGURE_METHODS fails", async () => {
  const sql = await figureSql()
  // The catalog readers' statements are recorded, not skipped: the schema fingerprint reads dozens of catalogs.
  assert.ok(sql.schemaFingerprint.length > 40, `${sql.schemaFingerprint.length} schema statements recorded`)
  const problems: string[] = []
  for (const method of Object.keys(FIGURE_METHODS) as (keyof typeof FIGURE_METHODS)[]) {
    assert.ok(sql[method].length > 0, `no SQL recorded for ${method}`)
    const now = sha256(sql[method])
    const pinned = PINNED[method]
    if (!pinned) {
      problems.push(`${method} is a new figure method: pin it here as { version: ${FIGURE_METHODS[method]}, sha256: '${now}' }`)
    } else if (FIGURE_METHODS[method] === pinned.version && now !== pinned.sha256) {
      problems.push(
        `The SQL that computes ${method} changed (sha256 ${now}, pinned ${pinned.sha256}) but FIGURE_METHODS.${method} is still ` +
          `${pinned.version}: bump it to ${pinned.version + 1} in src/manifest.ts, so that a manifest made by the older SQL is told ` +
          `apart, then pin { version: ${pinned.version + 1}, sha256: '${now}' } here`
      )
    } else if (FIGURE_METHODS[method] !== pinned.version) {
      problems.push(
        `FIGURE_METHODS.${method} is ${FIGURE_METHODS[method]}, pinned here as ${pinned.version}: ` +
          `pin { version: ${FIGURE_METHODS[method]}, sha256: '${now}' }`
      )
    }
  }
  assert.deepEqual(problems, [])
})
