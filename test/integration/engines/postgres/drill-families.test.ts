import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import pg from 'pg'
import { tableKey } from '../../../../src/util/table-name.js'
import { decodeDumpText } from '../../../../src/engines/postgres/dump-encoding.js'
import { rewriteDump } from '../../../../src/drill/rewrite.js'
import { LIST_TABLES_SQL, countSql, pinSettingsSql, type TableRef } from '../../../../src/engines/postgres/figure-queries.js'
import { DRILL_OPERATORS, planDrill, type DrillCatalog, type DrillPlan } from '../../../../src/engines/postgres/drill-plan.js'
import { readDrillCatalog } from '../../../../src/engines/postgres/drill-catalog.js'
import { cleanroomCluster, productionCluster, uniqueName, type Cluster } from '../../../support/shared-servers.js'

// The drill on real dumps of awkward schemas: names beyond ASCII in UTF8 and LATIN1 databases,
// columns the restore computes with, and a function's body.

let production: Cluster
let cleanroom: Cluster
let workDir: string
const clients: pg.Client[] = []

before(async () => {
  ;[production, cleanroom] = await Promise.all([productionCluster(), cleanroomCluster()])
  workDir = mkdtempSync(path.join(tmpdir(), 'lazarus-families-'))
})

after(async () => {
  for (const client of clients) await client.end().catch(() => undefined)
  rmSync(workDir, { recursive: true, force: true })
})

function run(
  command: string,
  args: string[],
  cluster: Cluster,
  input?: string
): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      env: { ...process.env, PGPASSWORD: cluster.password, PGCONNECT_TIMEOUT: '10' },
      stdio: ['pipe', 'ignore', 'pipe']
    })
    let stderr = ''
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
    child.on('error', reject)
    child.on('close', code => resolve({ code, stderr }))
    child.stdin.end(input ?? '')
  })
}

const connectionArgs = (cluster: Cluster, database: string) => [
  '-h',
  cluster.host,
  '-p',
  String(cluster.port),
  '-U',
  cluster.superuser,
  '-d',
  database
]

async function connect(cluster: Cluster, database: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: cluster.url(database) })
  client.on('error', () => undefined)
  await client.connect()
  clients.push(client)
  await client.query(pinSettingsSql())
  return client
}

/** A database in `encoding`, seeded from UTF-8 text, dumped by the real pg_dump; its drill catalog. */
async function dumped(
  prefix: string,
  encoding: string,
  sql: string
): Promise<{ database: string; dumpFile: string; catalog: DrillCatalog }> {
  const database = uniqueName(prefix)
  await production.query(`CREATE DATABASE ${database} TEMPLATE template0 ENCODING '${encoding}' LC_COLLATE 'C' LC_CTYPE 'C'`)
  const seeded = await run(
    'psql',
    ['-X', '-q', '-v', 'ON_ERROR_STOP=1', ...connectionArgs(production, database), '-f', '-'],
    production,
    `SET client_encoding = 'UTF8';\n${sql}\nANALYZE;`
  )
  assert.equal(seeded.code, 0, seeded.stderr)
  const dumpFile = path.join(workDir, `${database}.sql`)
  const dump = await run(
    'pg_dump',
    [...connectionArgs(production, database), '--no-owner', '--no-privileges', '-f', dumpFile],
    production
  )
  assert.equal(dump.code, 0, dump.stderr)
  const db = await connect(production, database)
  const rowCounts = new Map<string, number>()
  for (const table of (await db.query<TableRef>(LIST_TABLES_SQL)).rows) {
    const [row] = (await db.query<{ rows: string }>(countSql(table))).rows
    rowCounts.set(tableKey(table), Number(row.rows))
  }
  const catalog = await readDrillCatalog({ query: async (text, params) => (await db.query(text, params)).rows }, rowCounts)
  return { database, dumpFile, catalog }
}

/** Applies the plan to a copy of the dump and restores it as Lazarus does, into a database in `encoding`. */
async function applyAndRestore(
  plan: DrillPlan,
  dumpFile: string,
  encoding: string
): Promise<{ database: string; code: number | null; stderr: string }> {
  const copy = path.join(workDir, `${path.basename(dumpFile)}-${plan.operator}.sql`)
  await rewriteDump(dumpFile, copy, plan.rewriter)
  const database = uniqueName(`families_${plan.operator}`)
  await cleanroom.query(`CREATE DATABASE ${database} TEMPLATE template0 ENCODING '${encoding}' LC_COLLATE 'C' LC_CTYPE 'C'`)
  const restore = await run(
    'psql',
    ['-X', '-q', '-v', 'ON_ERROR_STOP=1', ...connectionArgs(cleanroom, database), '-f', copy],
    cleanroom
  )
  return { database, ...restore }
}

/** Every kind of object the operators aim at, each named beyond ASCII. */
const NON_ASCII_SCHEMA = `
CREATE SCHEMA "café";
CREATE TABLE "café"."ü" ("clé" int PRIMARY KEY, "prénom" text, "Straße" int NOT NULL);
INSERT INTO "café"."ü" SELECT g, CASE WHEN g % 3 = 0 THEN NULL ELSE 'nom ' || g END, g * 7 FROM generate_series(1, 40) g;
CREATE INDEX "idx_prénom" ON "café"."ü" ("prénom");
CREATE TABLE "café"."journal_été" ("entrée" text, "n°" int);
INSERT INTO "café"."journal_été" SELECT 'ligne ' || g, g FROM generate_series(1, 25) g;
CREATE TABLE "café"."enfant" ("id" serial PRIMARY KEY, "parent_clé" int CONSTRAINT "fk_père" REFERENCES "café"."ü" ("clé"));
INSERT INTO "café"."enfant" ("parent_clé") SELECT g FROM generate_series(1, 10) g;
CREATE SEQUENCE "café"."séquence_ü";
SELECT nextval('"café"."séquence_ü"') FROM generate_series(1, 5);
CREATE FUNCTION "café"."calculé"("entrée" int) RETURNS int LANGUAGE sql AS $$ SELECT "entrée" * 2 $$;
`

for (const encoding of ['UTF8', 'LATIN1']) {
  test(`names beyond ASCII in a ${encoding} database: every operator finds its target and the copy restores`, async () => {
    const { dumpFile, catalog } = await dumped(`families_${encoding}`, encoding, NON_ASCII_SCHEMA)
    // In UTF-8, é is two bytes; in LATIN1, one, which reads as é itself.
    const spelled = catalog.dumpNames?.get('prénom') ?? 'prénom'
    assert.equal(spelled.length, encoding === 'UTF8' ? 7 : 6)
    // Named objects only: owners and privileges (which this catalog does not read) and large objects
    // (which have no names) have tests of their own.
    const named = DRILL_OPERATORS.filter(operator => !['drop-grant', 'change-owner', 'mutate-large-object'].includes(operator))
    for (const operator of named) {
      const plan = planDrill(operator, catalog)
      assert.ok(plan, `${operator}: a target in the schema`)
      const restored = await applyAndRestore(plan, dumpFile, encoding)
      const evidence = plan.rewriter.result()?.evidence
      assert.ok(evidence, `${operator} on ${plan.target}: found in the ${encoding} dump`)
      if (operator !== 'truncate') assert.equal(restored.code, 0, `${operator} on ${plan.target}: ${restored.stderr}`)
      // The evidence reads as text once decoded: no byte soup.
      const readable = decodeDumpText(evidence, encoding)
      assert.doesNotMatch(readable, /Ã|Â/, `${operator}: ${readable}`)
    }
    const mutate = planDrill('mutate-cell', catalog)!
    await applyAndRestore(mutate, dumpFile, encoding)
    assert.match(decodeDumpText(mutate.rewriter.result()!.evidence, encoding), /column (prénom|entrée) changed/)
  })
}

test('mutate-cell, swap-values and null-to-empty keep off what generated columns and expression or partial indexes compute from', async () => {
  // Changing price or quantity changes total, which is unique; code feeds an index expression
  // that fails on any value but 'a'; note feeds a partial unique index. Only `free` may change.
  const { dumpFile, catalog, database } = await dumped(
    'families_derived',
    'UTF8',
    `CREATE TABLE public.priced (
       id int PRIMARY KEY, price int NOT NULL, quantity int NOT NULL,
       total int GENERATED ALWAYS AS (price * quantity) STORED UNIQUE,
       code text, note text, free text);
     INSERT INTO public.priced (id, price, quantity, code, note, free)
       VALUES (1, 1, 1, 'a', NULL, 'one'), (2, 2, 1, 'a', 'x', 'two'), (3, 3, 1, 'a', NULL, 'three');
     CREATE INDEX priced_code_idx ON public.priced ((1 / CASE WHEN code = 'a' THEN 1 ELSE 0 END));
     CREATE UNIQUE INDEX priced_note_idx ON public.priced (id) WHERE note IS NOT NULL;`
  )
  const priced = catalog.tables.find(table => table.name === 'priced')!
  // id too: the partial index is on it.
  assert.deepEqual([...(priced.derivedFrom ?? [])].sort(), ['code', 'id', 'note', 'price', 'quantity'])
  for (const operator of ['mutate-cell', 'swap-values', 'null-to-empty'] as const) {
    const plan = planDrill(operator, catalog)
    assert.ok(plan, operator)
    const restored = await applyAndRestore(plan, dumpFile, 'UTF8')
    if (operator === 'null-to-empty') {
      // note holds the NULLs, but a partial index reads it; free, the one it may change, holds none.
      assert.equal(plan.rewriter.result(), undefined)
      continue
    }
    assert.equal(restored.code, 0, `${operator}: ${restored.stderr}`)
    assert.match(plan.rewriter.result()!.evidence, /column free /, `${operator} changed only the free column`)
    const copy = await connect(cleanroom, restored.database)
    const original = await connect(production, database)
    const read = async (db: pg.Client) =>
      (await db.query('SELECT id, price, quantity, total, code, note FROM public.priced ORDER BY id')).rows
    assert.deepEqual(await read(copy), await read(original))
  }
})

test('mutate-function changes the body of a function nothing runs during the restore, and the copy restores', async () => {
  const { dumpFile, catalog, database } = await dumped(
    'families_function',
    'UTF8',
    `CREATE FUNCTION public.positive(v int) RETURNS boolean LANGUAGE sql IMMUTABLE AS 'SELECT v > 0';
     CREATE TABLE public.t (id int PRIMARY KEY, n int CHECK (public.positive(n)));
     INSERT INTO public.t VALUES (1, 5);
     CREATE FUNCTION public.discount(price numeric, rate numeric DEFAULT 0.15) RETURNS numeric
       LANGUAGE plpgsql AS $$ BEGIN RETURN price * (1 - rate); END $$;
     CREATE FUNCTION public.discount(price int) RETURNS int LANGUAGE sql AS $$ SELECT price - 10 $$;`
  )
  // positive() is run by a check while the rows load: never the target.
  assert.deepEqual(
    catalog.functions?.map(fn => fn.signature),
    ['public.discount(integer)', 'public.discount(numeric, numeric)']
  )
  const plan = planDrill('mutate-function', catalog)!
  assert.equal(plan.target, 'function public.discount(price integer)')
  const restored = await applyAndRestore(plan, dumpFile, 'UTF8')
  assert.equal(restored.code, 0, restored.stderr)
  assert.match(
    plan.rewriter.result()!.evidence,
    /^one character of the body of function public\.discount\(price integer\) changed/
  )
  const definitions = async (db: pg.Client) =>
    (
      await db.query<{ signature: string; body: string }>(
        `SELECT p.oid::regprocedure::text AS signature, p.prosrc AS body FROM pg_proc p
         WHERE p.pronamespace = 'public'::regnamespace ORDER BY 1`
      )
    ).rows
  const before = await definitions(await connect(production, database))
  const afterwards = await definitions(await connect(cleanroom, restored.database))
  assert.deepEqual(
    afterwards.filter((fn, i) => fn.body !== before[i].body).map(fn => fn.signature),
    ['public.discount(integer)'],
    'exactly the target changed'
  )
})
