import { before, test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, rmSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { runAction } from '../support/run-action.js'
import { createShop, type Shop } from '../support/shop.js'

// Issues 10 and 11: production's content never runs in the clean room, a table whose name holds
// a newline verifies, and pg_dump 15's identity clause that PostgreSQL 13 cannot parse is
// rewritten, all through the bundled action against real PostgreSQL 13 servers and pg_dump 15.

const PWNED = `/tmp/lazarus-pwned-${randomBytes(6).toString('hex')}`
const PAYLOAD = '\nSET transaction_timeout = 0;\nSET my.x = 0$$;\n\\.\n    LOGGED\n-- /* $_$ \' "'

/**
 * The attack: a_f's body ends with the line `SET my.x = 0`, so pg_dump writes it as
 * `SET my.x = 0$$;`. A line-based sanitizer drops that line with the closing quote, and psql then
 * reads b_f's body, `COPY ... TO PROGRAM`, as a statement, as the clean room's superuser.
 */
const HOSTILE_SQL = `
SET check_function_bodies = off;
CREATE FUNCTION public.a_f() RETURNS void LANGUAGE sql AS E'select 1;\\nSET my.x = 0';
CREATE FUNCTION public.b_f() RETURNS void LANGUAGE sql AS E';\\nCOPY (SELECT 1) TO PROGRAM ''touch ${PWNED}'';\\n';
CREATE TABLE public."line
break" (id integer PRIMARY KEY, note text);
INSERT INTO public."line
break" VALUES (1, 'SET transaction_timeout = 0;'), (2, '\\.'), (3, 'SET my.x = 0$$;');
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

function sqlLiteral(text: string): string {
  return `'${text.replace(/'/g, "''")}'`
}

let inputs: Shop['inputs']

before(async () => {
  ;({ inputs } = await createShop('hostile', HOSTILE_SQL))
})

test('production content that reads like SQL never runs in the clean room; the backup verifies', async () => {
  rmSync(PWNED, { force: true })
  const run = await runAction(inputs())
  assert.ok(!existsSync(PWNED), `the clean room ran production's function body: ${PWNED} exists`)
  assert.equal(run.exitCode, 0, `${run.stdout.slice(-4000)}\n${run.stderr.slice(-2000)}`)
  assert.equal(run.outputs.result, 'verified')
  const lineBreak = run.report?.tables.find((table: { name: string }) => table.name === 'line\nbreak')
  assert.ok(lineBreak?.match, 'the table whose name holds a newline matches, all three rows')
  // pg_dump 15 writes `SEQUENCE NAME ... LOGGED` for the unlogged table's identity: rewritten for 13.
  assert.deepEqual(
    run.report?.sanitized.filter((item: { rule: string }) => item.rule === 'identity-sequence-logged'),
    [{ parameter: 'SEQUENCE NAME ... LOGGED', lines: 1, rule: 'identity-sequence-logged' }]
  )
})
