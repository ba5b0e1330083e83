import { before, test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, rmSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { runAction, type ActionRun } from '../support/run-action.js'
import { createShop, type Shop } from '../support/shop.js'

// Issues 10 and 11: production's content never runs in the clean room, a table whose name holds
// a newline verifies, and pg_dump 15's identity clause that PostgreSQL 13 cannot parse is
// rewritten, all through the bundled action against real PostgreSQL 13 servers and pg_dump 15.

const PWNED = `/tmp/lazarus-pwned-${randomBytes(6).toString('hex')}`
const PAYLOAD = '\nSET transaction_timeout = 0;\nSET my.x = 0$$;\n\\.\n    LOGGED\n-- /* $_$ \' "'

/**
 * The issue's attack: zzz_attack_1's body ends with the line `SET my.x = 0`, so pg_dump writes it
 * as `SET my.x = 0$$;`. A line-based sanitizer drops that line with the closing quote, and psql
 * then reads zzz_attack_2's body, `COPY ... TO PROGRAM`, as a statement, as the clean room's
 * superuser. (The names sort after the shop's functions, so the two bodies are adjacent.)
 */
const ATTACK_SQL = `
SET check_function_bodies = off;
CREATE FUNCTION public.zzz_attack_1() RETURNS void LANGUAGE sql AS E'select 1;\\nSET my.x = 0';
CREATE FUNCTION public.zzz_attack_2() RETURNS void LANGUAGE sql AS E';\\nCOPY (SELECT 1) TO PROGRAM ''touch ${PWNED}'';\\n';
`

/** Rows and names that read like the sanitizer's targets, in every context pg_dump writes production's text. */
const HOSTILE_SQL = `
CREATE TABLE public."line
break" (note text PRIMARY KEY);
INSERT INTO public."line
break" VALUES ('x'), ('SET transaction_timeout = 0;'), ('SET transaction_timeout = 1;'), ('\\.'), ('SET my.x = 0$$;');
CREATE UNLOGGED TABLE public.queue (id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY, job text);
INSERT INTO public.queue (job) VALUES ('a'), ('b');
CREATE TABLE public.hostile (
  id integer PRIMARY KEY,
  body text DEFAULT E${sqlLiteral(PAYLOAD.replace(/\\/g, '\\\\'))} CHECK (body <> ${sqlLiteral(PAYLOAD)})
);
INSERT INTO public.hostile VALUES (1, 'x');
COMMENT ON TABLE public.hostile IS ${sqlLiteral(PAYLOAD)};
CREATE VIEW public.hostile_view AS SELECT ${sqlLiteral(PAYLOAD)}::text AS payload;
`

/**
 * Production's names and messages reach the log: Lazarus's own lines name tables, and psql prints
 * the warnings the restore raises (here a CHECK constraint's function, run for every restored row).
 * Each carries lines that GitHub's runner would run as workflow commands.
 */
const INJECTED = 'INJECTED'
// Under 63 bytes: the table's name holds all of it.
const COMMANDS = `\n  ::error::${INJECTED}\r::set-output name=result::${INJECTED}\n`
const COMMAND_TABLE = sqlIdentifier(`t${COMMANDS}`)
const COMMAND_SQL = `
CREATE FUNCTION public.noisy(t text) RETURNS boolean LANGUAGE plpgsql IMMUTABLE
  AS $f$ BEGIN RAISE WARNING '%', ${sqlLiteral(`note${COMMANDS}`)}; RETURN true; END $f$;
CREATE TABLE public.${COMMAND_TABLE} (id integer PRIMARY KEY CHECK (public.noisy(id::text)));
INSERT INTO public.${COMMAND_TABLE} VALUES (1), (2);
`

function sqlIdentifier(name: string): string {
  return `"${name.replace(/"/g, '""')}"`
}

function sqlLiteral(text: string): string {
  return `'${text.replace(/'/g, "''")}'`
}

let attack: Shop['inputs']
let hostile: Shop['inputs']
let commands: Shop['inputs']

before(async () => {
  ;[{ inputs: attack }, { inputs: hostile }, { inputs: commands }] = await Promise.all([
    createShop('attack', ATTACK_SQL),
    createShop('hostile', HOSTILE_SQL),
    createShop('commands', COMMAND_SQL)
  ])
})

function explain(run: ActionRun): string {
  return `${run.stdout.slice(-4000)}\n${run.stderr.slice(-2000)}`
}

test('a function body that ends like a SET line never runs the next body in the clean room', async () => {
  rmSync(PWNED, { force: true })
  const run = await runAction(attack())
  assert.ok(!existsSync(PWNED), `the clean room ran production's function body: ${PWNED} exists`)
  assert.equal(run.exitCode, 0, explain(run))
  assert.equal(run.outputs.result, 'verified')
})

test("a table named with a newline, rows that read like SQL, and pg_dump 15's identity clause verify on 13", async () => {
  const run = await runAction(hostile())
  assert.equal(run.exitCode, 0, explain(run))
  assert.equal(run.outputs.result, 'verified')
  const lineBreak = run.report?.tables.find((table: { name: string }) => table.name === 'line\nbreak')
  assert.ok(lineBreak?.match, 'the table whose name holds a newline matches, every row')
  // pg_dump 15 writes `SEQUENCE NAME ... LOGGED` for the unlogged table's identity: rewritten for 13.
  assert.deepEqual(
    run.report?.sanitized.filter((item: { rule: string }) => item.rule === 'identity-sequence-logged'),
    [{ parameter: 'SEQUENCE NAME ... LOGGED', lines: 1, rule: 'identity-sequence-logged' }]
  )
})

test("production's names and psql's warnings never reach the runner as workflow commands", async () => {
  const run = await runAction({ ...commands(), sabotage: 'all' })
  assert.equal(run.exitCode, 0, explain(run))
  assert.equal(run.outputs.result, 'verified')
  const output = `${run.stdout}\n${run.stderr}`
  // The hostile text did reach the log (so the test can fail), but never as a command line.
  assert.ok(output.includes(`::error::${INJECTED}`), 'the table name and the warning are in the log')
  const commandLines = output.split(/\r\n|\r|\n/).filter(line => line.trimStart().startsWith('::'))
  assert.deepEqual(
    commandLines.filter(line => line.includes(INJECTED)),
    []
  )
})
