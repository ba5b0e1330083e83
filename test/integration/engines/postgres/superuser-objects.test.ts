import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { parseConnectionUrl } from '../../../../src/engines/postgres/connection.js'
import { DatabaseSession } from '../../../../src/engines/postgres/database.js'
import { quoteIdent } from '../../../../src/engines/postgres/figure-queries.js'
import { readCreatableExtensions, readSuperuserObjects } from '../../../../src/engines/postgres/superuser-objects.js'
import { installFixtureExtension } from '../../../support/fixture-extension.js'
import { cleanroomCluster, productionCluster, uniqueName, type Cluster } from '../../../support/shared-servers.js'

// Before the dump, Lazarus asks production's catalog what only a superuser could restore
// (restore-role: unprivileged restores without superuser rights). On the real servers: every
// such kind is named, and an ordinary schema (plpgsql, SQL functions, operators and casts on
// its own types, a trusted extension) names nothing.

let production: Cluster
let cleanroom: Cluster
const databases: string[] = []

before(async () => {
  ;[production, cleanroom] = await Promise.all([productionCluster(), cleanroomCluster()])
  installFixtureExtension()
})

after(async () => {
  for (const database of databases)
    await production.query(`DROP DATABASE IF EXISTS ${quoteIdent(database)}`).catch(() => undefined)
})

async function superuserObjects(sql: string): Promise<string[]> {
  const database = uniqueName('superuser_objects')
  databases.push(database)
  await production.createDatabase(database, sql)
  const [session, clean] = await Promise.all([
    DatabaseSession.open(parseConnectionUrl('production-url', production.url(database)), 'production'),
    DatabaseSession.open(parseConnectionUrl('cleanroom-url', cleanroom.url('postgres')), 'cleanroom')
  ])
  try {
    const creatable = await readCreatableExtensions(clean, (await clean.serverFacts()).major)
    assert.ok(creatable.includes('citext') && !creatable.includes('lazarus_fixture') && !creatable.includes('file_fdw'))
    const found = await readSuperuserObjects(session, (await session.serverFacts()).major, creatable)
    return found.map(object => `${object.kind} ${object.name}`)
  } finally {
    await session.close()
    await clean.close()
  }
}

test('an ordinary schema, with a trusted extension, needs no superuser to restore', async () => {
  const found = await superuserObjects(`
    CREATE EXTENSION citext;
    CREATE SCHEMA app;
    CREATE TYPE app.money2 AS (units bigint, cents int);
    CREATE DOMAIN app.positive AS int CHECK (VALUE > 0);
    CREATE FUNCTION app.to_text(app.money2) RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT ($1).units::text $$;
    CREATE CAST (app.money2 AS text) WITH FUNCTION app.to_text(app.money2);
    CREATE FUNCTION app.plus(app.money2, app.money2) RETURNS app.money2 LANGUAGE sql AS $$ SELECT ROW(($1).units + ($2).units, 0)::app.money2 $$;
    CREATE OPERATOR app.+ (LEFTARG = app.money2, RIGHTARG = app.money2, FUNCTION = app.plus);
    CREATE FUNCTION app.trg() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
    CREATE TABLE app.t (id app.positive PRIMARY KEY, name citext, m app.money2);
    CREATE TRIGGER t_trg BEFORE INSERT ON app.t FOR EACH ROW EXECUTE FUNCTION app.trg();
    CREATE MATERIALIZED VIEW app.mv AS SELECT count(*) FROM app.t;
    CREATE TEXT SEARCH CONFIGURATION app.cfg (COPY = pg_catalog.english);
    CREATE PUBLICATION some_tables FOR TABLE app.t;
    CREATE COLLATION app.c2 FROM "C";
  `)
  assert.deepEqual(found, [])
})

test('what only a superuser can create is named, kind by kind', async () => {
  const found = await superuserObjects(`
    CREATE EXTENSION lazarus_fixture;
    CREATE EXTENSION file_fdw;
    CREATE SCHEMA k;
    CREATE FUNCTION k.on_ddl() RETURNS event_trigger LANGUAGE plpgsql AS 'BEGIN END';
    CREATE EVENT TRIGGER k_ddl ON ddl_command_end EXECUTE FUNCTION k.on_ddl();
    CREATE FUNCTION k.handler() RETURNS language_handler LANGUAGE c AS '$libdir/plpgsql', 'plpgsql_call_handler';
    CREATE LANGUAGE k_lang HANDLER k.handler;
    CREATE OPERATOR FAMILY k.fam USING btree;
    CREATE OPERATOR CLASS k.cls FOR TYPE integer USING btree FAMILY k.fam AS OPERATOR 1 <, FUNCTION 1 btint4cmp(integer, integer);
    CREATE CAST (integer AS text) WITH INOUT AS ASSIGNMENT;
    CREATE FOREIGN DATA WRAPPER k_wrapper;
    CREATE SERVER k_server FOREIGN DATA WRAPPER k_wrapper;
    CREATE ACCESS METHOD k_am TYPE INDEX HANDLER bthandler;
    CREATE TEXT SEARCH TEMPLATE k.tmpl (LEXIZE = dsimple_lexize);
    CREATE TEXT SEARCH PARSER k.prs (START = prsd_start, GETTOKEN = prsd_nexttoken, END = prsd_end, LEXTYPES = prsd_lextype);
    CREATE PUBLICATION k_all FOR ALL TABLES;
    COMMENT ON SCHEMA public IS 'ours';
  `)
  const expected = [
    'access method k_am',
    'cast (integer AS text)',
    'comment on schema public',
    'event trigger k_ddl',
    'extension file_fdw',
    'extension lazarus_fixture',
    'foreign server k_server',
    'foreign-data wrapper k_wrapper',
    'function in language c k.handler()',
    'language k_lang',
    'operator class k.cls',
    'operator family k.fam',
    'publication FOR ALL TABLES k_all',
    'text search parser k.prs',
    'text search template k.tmpl'
  ]
  for (const item of expected) assert.ok(found.includes(item), `${item} is named (found: ${found.join('; ')})`)
  assert.ok(
    found.some(item => item.startsWith('extension configuration table ')),
    `the fixture's configuration table is named (found: ${found.join('; ')})`
  )
})
