import { test } from 'node:test'
import assert from 'node:assert/strict'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { spawnSync } from 'node:child_process'
import { buildSedProgram } from '../../../../src/engines/postgres/sanitize-rules.js'
import { splitPrivileged, writeReplayScript } from '../../../../src/engines/postgres/privileged-pass.js'
import { dumpLexer } from '../../../../src/engines/postgres/dump-lexer.js'
import {
  decodeRouted,
  parsePrivilegedStatement,
  touchesServerObjects,
  unquoteName,
  withStandIns,
  writeName
} from '../../../../src/engines/postgres/privileged-statements.js'

// Issue 11: pg_dump's own ownership and privilege statements leave the unprivileged restore for
// the clean-room role's replay, and nothing else does: a line leaves only when it starts and ends
// at the top level and is, whole, one of the grammar's forms. The sed program (the stream) and
// the TypeScript split (the drill's copies) route the same lines.

/** Lines pg_dump 13 to 18 writes, each one a form of the grammar. */
const PG_DUMP_LINES = [
  'ALTER SCHEMA public OWNER TO pg_database_owner;',
  'ALTER SCHEMA s OWNER TO app;',
  'ALTER TABLE s.t OWNER TO app;',
  'ALTER TABLE public.u_id_seq OWNER TO "Odd ""role""; x";',
  'ALTER SEQUENCE s.q OWNER TO app;',
  'ALTER VIEW s.tv OWNER TO reporting;',
  'ALTER MATERIALIZED VIEW s.mv OWNER TO reporting;',
  'ALTER FOREIGN TABLE s.ft OWNER TO app;',
  'ALTER TYPE s.mood OWNER TO app;',
  'ALTER DOMAIN s.d OWNER TO app;',
  'ALTER FUNCTION s.f(a integer, VARIADIC b text[]) OWNER TO app;',
  'ALTER FUNCTION public."weird; fn"() OWNER TO app;',
  'ALTER PROCEDURE s.p(IN x integer, OUT y timestamp with time zone) OWNER TO app;',
  'ALTER AGGREGATE s.agg(*) OWNER TO app;',
  'ALTER AGGREGATE s.pct(double precision ORDER BY numeric) OWNER TO app;',
  'ALTER OPERATOR public.=== (integer, integer) OWNER TO app;',
  'ALTER OPERATOR public.!! (NONE, bigint) OWNER TO app;',
  'ALTER OPERATOR CLASS public.opc USING btree OWNER TO app;',
  'ALTER OPERATOR FAMILY public.opf USING gist OWNER TO app;',
  'ALTER COLLATION public.c1 OWNER TO app;',
  'ALTER CONVERSION public.conv OWNER TO app;',
  'ALTER TEXT SEARCH CONFIGURATION public.cfg OWNER TO app;',
  'ALTER TEXT SEARCH DICTIONARY public.dict OWNER TO app;',
  'ALTER STATISTICS public.st OWNER TO app;',
  'ALTER PUBLICATION pub OWNER TO app;',
  'ALTER SERVER srv OWNER TO app;',
  'ALTER FOREIGN DATA WRAPPER w OWNER TO postgres;',
  'ALTER PROCEDURAL LANGUAGE plperl OWNER TO postgres;',
  'ALTER EVENT TRIGGER et OWNER TO postgres;',
  'ALTER LARGE OBJECT 434343 OWNER TO reporting;',
  'REVOKE ALL ON SCHEMA public FROM PUBLIC;',
  'REVOKE USAGE ON SCHEMA public FROM PUBLIC;',
  'GRANT ALL ON SCHEMA public TO PUBLIC;',
  'GRANT USAGE ON SCHEMA s TO "Odd ""role""; x";',
  'REVOKE ALL ON TYPE s.mood FROM PUBLIC;',
  'GRANT ALL ON TYPE s.mood TO app;',
  'GRANT ALL ON DOMAIN s.d TO app;',
  'REVOKE ALL ON FUNCTION s.f(a integer, VARIADIC b text[]) FROM PUBLIC;',
  'GRANT ALL ON FUNCTION s.f(a integer, VARIADIC b text[]) TO reporting;',
  'GRANT ALL ON PROCEDURE s.p(IN x integer) TO reporting;',
  'GRANT SELECT(w),UPDATE(w) ON TABLE public.u TO app;',
  'GRANT SELECT("Odd col"),REFERENCES("Odd col") ON TABLE public.u TO app;',
  'REVOKE ALL(w) ON TABLE public.u FROM app;',
  'GRANT SELECT,INSERT ON TABLE s.t TO reporting;',
  'GRANT INSERT ON TABLE s.t TO reporting WITH GRANT OPTION;',
  'REVOKE GRANT OPTION FOR SELECT ON TABLE s.t FROM reporting;',
  'GRANT SELECT,USAGE ON SEQUENCE s.q TO app;',
  'GRANT MAINTAIN ON TABLE s.t TO app;',
  'GRANT ALL ON LANGUAGE plpgsql TO app;',
  'GRANT ALL ON FOREIGN DATA WRAPPER w TO app;',
  'GRANT ALL ON FOREIGN SERVER srv TO app;',
  'GRANT SELECT ON LARGE OBJECT 434343 TO app;',
  'GRANT SELECT ON TABLE s.t TO GROUP app;',
  'SET SESSION AUTHORIZATION reporting;',
  'RESET SESSION AUTHORIZATION;',
  'ALTER DEFAULT PRIVILEGES FOR ROLE app IN SCHEMA s GRANT SELECT ON TABLES  TO reporting;',
  'ALTER DEFAULT PRIVILEGES FOR ROLE app IN SCHEMA s GRANT SELECT ON TABLES TO reporting;',
  'ALTER DEFAULT PRIVILEGES FOR ROLE app REVOKE ALL ON FUNCTIONS  FROM PUBLIC;',
  'ALTER DEFAULT PRIVILEGES FOR ROLE postgres GRANT USAGE ON TYPES  TO app WITH GRANT OPTION;',
  'ALTER DEFAULT PRIVILEGES FOR ROLE app GRANT ALL ON SCHEMAS  TO app;',
  'GRANT ALL ON FUNCTION pg_catalog.pg_ls_dir(text) TO monitor;'
]

/** Lines that look like the family but are not exactly pg_dump's forms: none may leave the restore. */
const NOT_PG_DUMP = [
  'ALTER ROLE app SUPERUSER;',
  'ALTER USER app WITH SUPERUSER;',
  'GRANT pg_execute_server_program TO app;',
  'GRANT postgres TO app;',
  'GRANT SELECT ON TABLE s.t TO app; ALTER ROLE app SUPERUSER;',
  'GRANT SELECT ON TABLE s.t TO app;ALTER ROLE app SUPERUSER;',
  'ALTER TABLE s.t OWNER TO app; ALTER ROLE app SUPERUSER;',
  'ALTER DATABASE scratch OWNER TO app;',
  'ALTER SYSTEM SET archive_command = $$touch /tmp/x$$;',
  'ALTER TABLE s.t OWNER TO app -- ;',
  'ALTER TABLE s.t OWNER TO CURRENT_USER;',
  'GRANT ALL ON ALL TABLES IN SCHEMA s TO app;',
  'GRANT SELECT ON TABLE s.t TO app GRANTED BY postgres;',
  'GRANT SET ON PARAMETER log_statement TO app;',
  'GRANT CREATE ON TABLESPACE pg_default TO app;',
  'SET SESSION AUTHORIZATION DEFAULT;',
  "SET SESSION AUTHORIZATION 'app';",
  'SET ROLE postgres;',
  'ALTER TABLE s.t OWNER TO "a"b";',
  'ALTER TABLE s.t ALTER COLUMN c SET DEFAULT 1;',
  'ALTER FUNCTION s.f() SECURITY DEFINER;',
  'ALTER FUNCTION s.f(integer DEFAULT 1) OWNER TO app;',
  'ALTER FUNCTION s.f(pg_catalog.int4) RESET ALL;',
  'grant select on table s.t to app;',
  ' GRANT SELECT ON TABLE s.t TO app;',
  'GRANT SELECT ON TABLE s.t TO app',
  'COPY (SELECT 1) TO PROGRAM $$touch /tmp/x$$;'
]

test('every ownership and privilege statement pg_dump writes is one of the forms; look-alikes are not', () => {
  for (const line of PG_DUMP_LINES) assert.ok(parsePrivilegedStatement(line), line)
  for (const line of NOT_PG_DUMP) assert.equal(parsePrivilegedStatement(line), undefined, line)
})

test('stand-ins replace role names only where the grammar has a role, never a schema or an object of that name', () => {
  const standIns = new Map([
    ['postgres', 'lazarus_as_1'],
    ['Odd "role"; x', 'lazarus_as_2']
  ])
  const swap = (line: string) => withStandIns(parsePrivilegedStatement(line)!, standIns)
  assert.equal(
    swap('GRANT SELECT ON TABLE postgres.postgres TO postgres;'),
    'GRANT SELECT ON TABLE postgres.postgres TO lazarus_as_1;'
  )
  assert.equal(swap('ALTER SCHEMA postgres OWNER TO "Odd ""role""; x";'), 'ALTER SCHEMA postgres OWNER TO lazarus_as_2;')
  assert.equal(
    swap('ALTER DEFAULT PRIVILEGES FOR ROLE postgres IN SCHEMA postgres GRANT SELECT ON TABLES  TO "Odd ""role""; x";'),
    'ALTER DEFAULT PRIVILEGES FOR ROLE lazarus_as_1 IN SCHEMA postgres GRANT SELECT ON TABLES  TO lazarus_as_2;'
  )
  assert.equal(swap('SET SESSION AUTHORIZATION postgres;'), 'SET SESSION AUTHORIZATION lazarus_as_1;')
  assert.equal(swap('GRANT SELECT ON TABLE s.t TO GROUP postgres;'), 'GRANT SELECT ON TABLE s.t TO GROUP lazarus_as_1;')
  assert.equal(swap('GRANT SELECT ON TABLE s.t TO PUBLIC;'), 'GRANT SELECT ON TABLE s.t TO PUBLIC;')
  assert.equal(swap('GRANT SELECT ON TABLE s.t TO app;'), 'GRANT SELECT ON TABLE s.t TO app;')
})

test('names round-trip through the grammar, whatever they hold (generated)', () => {
  const alphabet = ['a', 'Z', '_', ' ', '"', "'", ';', '-', '/', '*', '$', '(', ')', ',', '.', '\\', 'é', 'ü']
  let seed = 11
  const next = () => (seed = (seed * 1103515245 + 12345) % 2147483648)
  for (let i = 0; i < 500; i++) {
    const name = Array.from({ length: 1 + (next() % 12) }, () => alphabet[next() % alphabet.length]).join('')
    const written = writeName(Buffer.from(name, 'utf8').toString('latin1'))
    const statement = parsePrivilegedStatement(`GRANT SELECT ON TABLE ${written}.${written} TO ${written};`)
    assert.ok(statement, name)
    assert.deepEqual(
      statement.roles.map(role => unquoteName(role.written)),
      [Buffer.from(name, 'utf8').toString('latin1')]
    )
    assert.equal(statement.schemas[0], Buffer.from(name, 'utf8').toString('latin1'))
  }
})

test("grants on the clean-room server's own objects are told apart", () => {
  assert.equal(touchesServerObjects(parsePrivilegedStatement('GRANT ALL ON FUNCTION pg_catalog.pg_ls_dir(text) TO m;')!), true)
  assert.equal(touchesServerObjects(parsePrivilegedStatement('GRANT CREATE ON SCHEMA pg_catalog TO m;')!), true)
  assert.equal(touchesServerObjects(parsePrivilegedStatement('GRANT SELECT ON TABLE information_schema.x TO m;')!), true)
  assert.equal(touchesServerObjects(parsePrivilegedStatement('GRANT SELECT ON TABLE "pg_catalog".t TO m;')!), true)
  assert.equal(touchesServerObjects(parsePrivilegedStatement('GRANT SELECT ON TABLE s.pg_catalog TO m;')!), false)
})

/** Hostile text shaped like the forms in every lexical context, and the forms at the top level. */
function hostileDump(): string {
  const forms = ['GRANT SELECT ON TABLE s.t TO victim;', 'ALTER TABLE s.t OWNER TO victim;', 'ALTER ROLE victim SUPERUSER;']
  const block = forms.join('\n')
  return [
    "SET client_encoding = 'UTF8';",
    'SET standard_conforming_strings = on;',
    `CREATE FUNCTION s.f() RETURNS void LANGUAGE plpgsql AS $$\nBEGIN\n${block}\nEND\n$$;`,
    `CREATE FUNCTION s.g() RETURNS void LANGUAGE plpgsql AS $body$\n${block}\n$body$;`,
    `CREATE FUNCTION s.h() RETURNS int LANGUAGE sql\n    BEGIN ATOMIC\n SELECT 1;\n${forms[0]}\nEND;`,
    `DO $do$\n${block}\n$do$;`,
    `CREATE VIEW s.v AS\n SELECT '\n${block}\n'::text AS x;`,
    `COMMENT ON TABLE s.t IS '\n${block}\n';`,
    `COMMENT ON TABLE s.t IS E'\\'\n${block}\n';`,
    `ALTER TABLE ONLY s.t ALTER COLUMN c SET DEFAULT 'it''s\n${block}\n';`,
    `CREATE TABLE s."x\n${block.replace(/"/g, '""')}\ny" (id integer);`,
    `/* a comment\n${block}\n/* nested\n${block}\n*/ still\n${block}\n*/`,
    `CREATE TABLE s.w (c text CHECK (c <> '\n${block}\n'));`,
    `COPY s.t (id, v) FROM stdin;\n1\t${forms[0]}\n2\t${forms[1]}\n${block}\n\\.`,
    // pg_dump's own, at the top level.
    'ALTER TABLE s.t OWNER TO app;',
    'GRANT SELECT ON TABLE s.t TO reporting;',
    'SET SESSION AUTHORIZATION reporting;',
    'GRANT INSERT ON TABLE s.t TO "x"";\nALTER ROLE victim SUPERUSER;";',
    'GRANT INSERT ON TABLE s.t TO "odd ;-- name";',
    'RESET SESSION AUTHORIZATION;',
    'ALTER DEFAULT PRIVILEGES FOR ROLE app IN SCHEMA s GRANT SELECT ON TABLES  TO reporting;',
    // Names holding line breaks: pg_dump writes the statement across lines (\r stays on its line).
    'ALTER TABLE s."order\nlines" OWNER TO "multi\nline\\role";',
    'GRANT SELECT("c\nd"),UPDATE("c\nd") ON TABLE s."order\nlines" TO "carriage\rreturn";',
    'ALTER DEFAULT PRIVILEGES FOR ROLE "multi\nline\\role" IN SCHEMA "s\n2" GRANT SELECT ON TABLES  TO reporting;',
    // Not a form: read on through the name, then left to the restore whole.
    `ALTER TABLE ONLY s.t ALTER COLUMN "x\n${forms[0]}\ny" SET STATISTICS 5;`,
    `ALTER TABLE s.t OWNER TO "a\n${forms[1]}\nb"; ALTER ROLE victim SUPERUSER;`,
    ''
  ].join('\n')
}

const ROUTED_BY_PG_DUMP = [
  'ALTER TABLE s.t OWNER TO app;',
  'GRANT SELECT ON TABLE s.t TO reporting;',
  'SET SESSION AUTHORIZATION reporting;',
  'GRANT INSERT ON TABLE s.t TO "x"";\nALTER ROLE victim SUPERUSER;";',
  'GRANT INSERT ON TABLE s.t TO "odd ;-- name";',
  'RESET SESSION AUTHORIZATION;',
  'ALTER DEFAULT PRIVILEGES FOR ROLE app IN SCHEMA s GRANT SELECT ON TABLES  TO reporting;',
  'ALTER TABLE s."order\nlines" OWNER TO "multi\nline\\role";',
  'GRANT SELECT("c\nd"),UPDATE("c\nd") ON TABLE s."order\nlines" TO "carriage\rreturn";',
  'ALTER DEFAULT PRIVILEGES FOR ROLE "multi\nline\\role" IN SCHEMA "s\n2" GRANT SELECT ON TABLES  TO reporting;'
]

test("the sanitizer (sed) and the drill (TypeScript) route exactly pg_dump's top-level statements, and nothing in a body, literal, name, comment or row", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lazarus-routed-'))
  try {
    const dump = hostileDump()
    const input = path.join(dir, 'dump.sql')
    fs.writeFileSync(input, dump)
    const program = path.join(dir, 'program.sed')
    const routedBySed = path.join(dir, 'routed-sed.sql')
    fs.writeFileSync(
      program,
      buildSedProgram({
        knownSettings: ['client_encoding', 'standard_conforming_strings'],
        psqlUnderstandsRestrict: true,
        cleanroomMajor: 18,
        standardConformingStrings: true,
        removedLinesFile: path.join(dir, 'removed'),
        privilegedFile: routedBySed
      })
    )
    const sed = spawnSync('sed', ['-n', '-E', '-f', program, input], { env: { ...process.env, LC_ALL: 'C' }, encoding: 'latin1' })
    assert.equal(sed.status, 0, sed.stderr)
    const routedByTs = path.join(dir, 'routed-ts.sql')
    const keptByTs = path.join(dir, 'kept-ts.sql')
    await splitPrivileged(input, keptByTs, routedByTs)
    const sedRouted = fs.readFileSync(routedBySed, 'latin1')
    // One statement a line: a statement spanning lines is routed with its line breaks encoded.
    assert.deepEqual(sedRouted.split('\n').filter(Boolean).map(decodeRouted), ROUTED_BY_PG_DUMP)
    assert.equal(fs.readFileSync(routedByTs, 'latin1'), sedRouted, 'both split alike')
    assert.equal(fs.readFileSync(keptByTs, 'latin1'), sed.stdout, 'both keep alike')
    // Nothing else changed: the kept lines and the routed ones are the dump, in order.
    const kept = sed.stdout.split('\n')
    const routed = new Set(ROUTED_BY_PG_DUMP.flatMap(statement => statement.split('\n')))
    assert.deepEqual(
      kept,
      dump.split('\n').filter(line => !routed.has(line))
    )
    // The replay script holds the routed statements only, after Lazarus's own preamble, each whole.
    const script = path.join(dir, 'replay.sql')
    const standIns = new Map([
      ['app', 'lazarus_as_1'],
      ['multi\nline\\role', 'lazarus_as_2']
    ])
    const written = await writeReplayScript(routedBySed, script, standIns, 'UTF8', 'lazarus_restore_x')
    assert.equal(written.statements, ROUTED_BY_PG_DUMP.length)
    const replayed = fs.readFileSync(script, 'latin1')
    assert.match(replayed, /^ALTER TABLE s\.t OWNER TO lazarus_as_1;$/m)
    assert.match(replayed, /^ALTER TABLE s\."order\nlines" OWNER TO lazarus_as_2;$/m)
    assert.ok(replayed.includes('GRANT INSERT ON TABLE s.t TO "x"";\nALTER ROLE victim SUPERUSER;";\n'))
    // Hostile text only ever inside that quoted name: read as psql reads it, no statement starts there.
    const lexer = dumpLexer()
    for (const line of replayed.split('\n')) {
      const facts = lexer(line)
      if (facts.startsStatement) assert.doesNotMatch(line, /victim/, line)
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
})

test('a routed line the grammar does not take stops the replay (the two would disagree: a bug, never a silent pass)', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lazarus-routed-'))
  try {
    const routed = path.join(dir, 'routed.sql')
    fs.writeFileSync(routed, 'GRANT SELECT ON TABLE s.t TO app;\nALTER ROLE app SUPERUSER;\n')
    await assert.rejects(writeReplayScript(routed, path.join(dir, 'replay.sql'), new Map(), 'UTF8'), /does not take/)
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
})
