import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { buildSedProgram, parseRemovedLine } from '../../src/sanitize-rules.js'
import { psqlUnderstandsRestrict, resolveClientTools, type ClientTools } from '../../src/pg-tools.js'
import { sedFilter } from '../../src/sed.js'
import { cleanroomCluster, uniqueName, type Cluster } from '../support/shared-servers.js'

// A form only another pg_dump writes, restored for real: pg_dump 18's plain dump of a PostgreSQL
// 14 database (test/fixtures/skew/pg-dump-18-of-14.sql, laid out line for line as pg_dump.c's
// dumpTableSchema, dumpSequence, dumpTableData and dumpConstraint write it, names holding line
// breaks included) goes through the real sed program into the real PostgreSQL 13 clean room.

const FIXTURE = readFileSync(new URL('../fixtures/skew/pg-dump-18-of-14.sql', import.meta.url), 'latin1')

let cleanroom: Cluster
let tools: ClientTools
let dir: string

before(async () => {
  cleanroom = await cleanroomCluster()
  tools = await resolveClientTools(13)
  dir = mkdtempSync(path.join(os.tmpdir(), 'lazarus-skew-fixtures-'))
})

after(() => dir && rmSync(dir, { recursive: true, force: true }))

async function sanitize(text: string, cleanroomMajor: number): Promise<{ output: string; removed: string[] }> {
  const removedLinesFile = path.join(dir, `removed-${cleanroomMajor}`)
  const programFile = path.join(dir, `program-${cleanroomMajor}.sed`)
  const knownSettings = (await cleanroom.query<{ name: string }>('SELECT name FROM pg_settings')).map(row => row.name)
  writeFileSync(
    programFile,
    buildSedProgram({
      knownSettings,
      psqlUnderstandsRestrict: psqlUnderstandsRestrict(tools.psql),
      cleanroomMajor,
      standardConformingStrings: true,
      removedLinesFile
    })
  )
  const [program, ...args] = await sedFilter(programFile)
  const output = execFileSync(program, args, { input: Buffer.from(text, 'latin1') }).toString('latin1')
  return { output, removed: readFileSync(removedLinesFile, 'latin1').split('\n').slice(0, -1) }
}

test("pg_dump 18's dump of a PostgreSQL 14 database restores into PostgreSQL 13 once sanitized, minus exactly the skew statements", async () => {
  const { output, removed } = await sanitize(FIXTURE, 13)
  const statements = {
    transactionTimeout: 'SET transaction_timeout = 0;\n',
    compressionOverLines: 'ALTER TABLE ONLY public."order\nlines" ALTER COLUMN "note\n    LOGGED" SET COMPRESSION pglz;\n',
    compressionNameOverLines: 'ALTER TABLE ONLY public."order\nlines" ALTER COLUMN plain SET COMPRESSION pglz;\n',
    compression: 'ALTER TABLE ONLY public.plain ALTER COLUMN body SET COMPRESSION pglz;\n',
    loggedAfterNameOverLines: '    SEQUENCE NAME public."order\nlines_id_seq"\n    LOGGED\n',
    logged: '    SEQUENCE NAME public.plain_id_seq\n    LOGGED\n'
  }
  let expected = FIXTURE
  for (const [name, text] of Object.entries(statements)) {
    // Whole lines: a row holds the same text after a tab.
    assert.equal(expected.split(`\n${text}`).length, 2, `the fixture holds ${name} once as a statement`)
    expected = expected.replace(`\n${text}`, `\n${name.startsWith('logged') ? text.replace('    LOGGED\n', '') : ''}`)
  }
  const restrict = !psqlUnderstandsRestrict(tools.psql)
  if (restrict) expected = expected.replace(/^\\(un)?restrict [A-Za-z0-9]+\n/gm, '')
  assert.equal(output, expected)
  assert.deepEqual(
    removed.map(line => parseRemovedLine(line)!.rule),
    [
      ...(restrict ? ['psql-meta-command'] : []),
      'unknown-setting',
      'column-compression',
      'column-compression',
      'identity-sequence-logged',
      'column-compression',
      'identity-sequence-logged',
      ...(restrict ? ['psql-meta-command'] : [])
    ]
  )
  // One log line each, line breaks written as \n.
  assert.ok(
    removed.includes(
      'column-compression ALTER TABLE ONLY public."order\\nlines" ALTER COLUMN "note\\n    LOGGED" SET COMPRESSION pglz;'
    )
  )

  const scratch = uniqueName('skew_fixture')
  await cleanroom.createDatabase(scratch, output)
  try {
    const rows = await cleanroom.query<{ id: number; note: string; plain: string | null }>(
      `SELECT id, "note\n    LOGGED" AS note, plain FROM public."order\nlines" ORDER BY id`,
      scratch
    )
    assert.deepEqual(rows, [
      { id: 1, note: '    LOGGED', plain: 'ALTER TABLE ONLY public.plain ALTER COLUMN body SET COMPRESSION pglz;' },
      { id: 2, note: 'SET transaction_timeout = 0;', plain: null }
    ])
    // The identity columns work, their sequences where pg_dump set them, logged as in production 14.
    const [next] = await cleanroom.query<{ a: number; b: string }>(
      `INSERT INTO public."order\nlines" (plain) VALUES ('x') RETURNING id AS a, (SELECT nextval('public.plain_id_seq')::text) AS b`,
      scratch
    )
    assert.deepEqual(next, { a: 3, b: '8' })
    const persistence = await cleanroom.query<{ relname: string; relpersistence: string }>(
      "SELECT relname, relpersistence FROM pg_class WHERE relkind = 'S' ORDER BY 1",
      scratch
    )
    assert.deepEqual(persistence, [
      { relname: 'order\nlines_id_seq', relpersistence: 'p' },
      { relname: 'plain_id_seq', relpersistence: 'p' }
    ])
  } finally {
    await cleanroom.query(`DROP DATABASE "${scratch}"`)
  }
})

test('the unsanitized fixture is what PostgreSQL 13 rejects: each rule is needed', async () => {
  for (const [statement, error] of [
    ['SET transaction_timeout = 0;', /unrecognized configuration parameter "transaction_timeout"/],
    ['ALTER TABLE ONLY public.plain ALTER COLUMN body SET COMPRESSION pglz;', /syntax error at or near "COMPRESSION"/]
  ] as const) {
    const scratch = uniqueName('skew_rejects')
    await cleanroom.createDatabase(scratch, 'CREATE TABLE public.plain (id bigint, body text);')
    try {
      await assert.rejects(cleanroom.query(statement, scratch), error)
    } finally {
      await cleanroom.query(`DROP DATABASE "${scratch}"`)
    }
  }
  const scratch = uniqueName('skew_rejects')
  // pg_dump 18's named NOT NULL (production 18 only) is a named column constraint to any server.
  await cleanroom.createDatabase(scratch, 'CREATE UNLOGGED TABLE public.plain (id bigint CONSTRAINT plain_id_set NOT NULL);')
  try {
    await assert.rejects(
      cleanroom.query(
        'ALTER TABLE public.plain ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY (SEQUENCE NAME public.plain_id_seq LOGGED START WITH 1)',
        scratch
      ),
      /syntax error at or near "LOGGED"/
    )
  } finally {
    await cleanroom.query(`DROP DATABASE "${scratch}"`)
  }
})
