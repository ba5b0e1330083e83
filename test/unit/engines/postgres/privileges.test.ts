import { test } from 'node:test'
import assert from 'node:assert/strict'
import { planRoles, playablePredefinedRoles, type CleanRoomRoleFacts } from '../../../../src/engines/postgres/cleanroom-roles.js'
import { predefinedRolesNewerThan } from '../../../../src/engines/postgres/predefined-roles.js'
import { namingRolesPattern } from '../../../../src/engines/postgres/sanitize-rules.js'
import { listNames, type PrivilegeTarget } from '../../../../src/engines/postgres/privileges.js'
import {
  changeOwnerRewriter,
  dropGrantRewriter,
  planChangeOwner,
  planDropGrant,
  type PrivilegeCatalog
} from '../../../../src/engines/postgres/drill-privileges.js'
import type { DumpRewriter } from '../../../../src/engines/postgres/drill-rewriters.js'

const superuser: CleanRoomRoleFacts = { user: 'lazarus', superuser: true, createRole: true, major: 13, roles: [] }

test('a superuser clean room restores owners and privileges: missing roles are provided, existing ones used as they are', () => {
  const plan = planRoles(['app', 'postgres', 'reporting', 'left_behind'], {
    ...superuser,
    roles: [
      { name: 'postgres', comment: null },
      { name: 'reporting', comment: 'the DBA made this one' },
      { name: 'left_behind', comment: 'Lazarus role of run 20200101000000_dead00' }
    ]
  })
  assert.deepEqual(plan, { restore: true, provided: ['app', 'left_behind'], existing: ['postgres', 'reporting'] })
})

test('a clean room role that is not a superuser, with or without CREATEROLE, verifies no owners and says how to enable it', () => {
  for (const createRole of [true, false]) {
    const plan = planRoles(['app'], { ...superuser, user: 'ci "bot"', superuser: false, createRole })
    assert.equal(plan.restore, false)
    assert.deepEqual(plan.provided, [], 'no role is created')
    assert.match(
      plan.reason!,
      createRole ? /"ci ""bot""" has CREATEROLE but is not a superuser/ : /"ci ""bot""" is not a superuser/
    )
    assert.match(plan.reason!, /ALTER ROLE "ci ""bot""" SUPERUSER/)
  }
})

test('a predefined pg_ role the clean room lacks is played by a stand-in; one this Lazarus cannot route is not verified', () => {
  const plan = planRoles(['app', 'pg_database_owner', 'pg_read_all_data'], superuser)
  assert.deepEqual(plan, {
    restore: true,
    provided: ['app'],
    existing: [],
    predefined: ['pg_database_owner', 'pg_read_all_data']
  })
  // With the statements in the stream (restore-role: superuser) only the known roles are routed apart.
  const known = playablePredefinedRoles(false, 13)
  assert.equal(known('pg_maintain'), true)
  assert.equal(known('pg_monitor'), false, 'PostgreSQL 13 has pg_monitor')
  const future = planRoles(['app', 'pg_role_of_postgresql_99'], superuser, known)
  assert.equal(future.restore, false)
  assert.match(future.reason!, /built-in role\(s\) "pg_role_of_postgresql_99"/)
  // Replayed apart, every statement goes through the replay: any pg_ name can be played.
  assert.equal(planRoles(['pg_role_of_postgresql_99'], superuser, playablePredefinedRoles(true, 13)).restore, true)
  // When the clean room has it, it is an existing role like any other.
  const newer = planRoles(['pg_database_owner'], { ...superuser, roles: [{ name: 'pg_database_owner', comment: null }] })
  assert.deepEqual(newer, { restore: true, provided: [], existing: ['pg_database_owner'] })
})

test('the predefined roles a clean room lacks, by major, and the statements that name them as roles', () => {
  assert.deepEqual(predefinedRolesNewerThan(17), ['pg_signal_autovacuum_worker'])
  assert.deepEqual(predefinedRolesNewerThan(13), [
    'pg_checkpoint',
    'pg_create_subscription',
    'pg_database_owner',
    'pg_maintain',
    'pg_read_all_data',
    'pg_signal_autovacuum_worker',
    'pg_use_reserved_connections',
    'pg_write_all_data'
  ])
  const naming = new RegExp(namingRolesPattern(['pg_read_all_data', 'pg_database_owner']))
  for (const line of [
    'GRANT SELECT ON TABLE public.t TO pg_read_all_data;',
    'GRANT SELECT ON TABLE public.t TO pg_read_all_data WITH GRANT OPTION;',
    'REVOKE SELECT ON TABLE public.t FROM pg_read_all_data;',
    'ALTER SCHEMA public OWNER TO pg_database_owner;',
    'ALTER DEFAULT PRIVILEGES FOR ROLE pg_database_owner IN SCHEMA s GRANT ALL ON FUNCTIONS TO app;',
    'SET SESSION AUTHORIZATION pg_database_owner;'
  ]) {
    assert.ok(naming.test(line), line)
  }
  for (const line of [
    'GRANT SELECT ON TABLE public.pg_read_all_data TO app;',
    'GRANT SELECT(pg_read_all_data) ON TABLE public.t TO app;',
    'GRANT SELECT ON TABLE public.t TO pg_read_all_data_too;',
    'GRANT SELECT ON TABLE public.t TO "pg_read_all_data ";'
  ]) {
    assert.ok(!naming.test(line), line)
  }
})

test('role names in messages cannot break a log line', () => {
  assert.equal(listNames(['app', 'x"; DROP ROLE y; --', 'a\nb\r']), '"app", "x""; DROP ROLE y; --", "a\\nb\\r"')
})

function rewrite(rewriter: DumpRewriter, lines: string[]): string[] {
  return lines.flatMap(line => rewriter.push(line))
}

const target = (partial: Partial<PrivilegeTarget>): PrivilegeTarget => ({
  keyword: 'TABLE',
  schema: 'public',
  name: 't',
  identity: 'table public.t',
  owner: 'app',
  table: true,
  grantsToOthers: true,
  ownedSequences: [],
  ...partial
})

const DUMP = [
  'CREATE TABLE "we""ird".t (id integer);',
  'ALTER TABLE "we""ird".t OWNER TO app;',
  'COPY "we""ird".t (id) FROM stdin;',
  'GRANT SELECT ON TABLE "we""ird".t TO reporting;',
  '\\.',
  'GRANT SELECT ON TABLE public.t TO reporting;',
  'GRANT SELECT(w) ON TABLE "we""ird".t TO "multi',
  'line";',
  'GRANT INSERT ON TABLE "we""ird".t TO "x""; DROP TABLE t; --" WITH GRANT OPTION;',
  'GRANT USAGE ON SCHEMA "we""ird" TO reporting;',
  'GRANT SELECT ON TABLE "we""ird".t TO reporting;'
]

test('drop-grant removes the first whole GRANT on its object, never row data, also one a line break splits', () => {
  const rewriter = dropGrantRewriter({ keyword: 'TABLE', schema: 'we"ird', name: 't' })
  const out = rewrite(rewriter, DUMP)
  // Not the grant inside COPY data (line 4): the column grant to a role whose name holds a line break (lines 7-8).
  assert.deepEqual(
    out,
    DUMP.filter((_, index) => index !== 6 && index !== 7)
  )
  assert.equal(
    rewriter.result()!.evidence,
    'GRANT SELECT(w) ON TABLE "we""ird".t TO "multi\\nline" removed from the dump (line 7)'
  )

  // The next one, once the first is gone; and a split grant of another object passes whole.
  const next = dropGrantRewriter({ keyword: 'TABLE', schema: 'we"ird', name: 't' })
  assert.deepEqual(rewrite(next, DUMP.slice(8)), DUMP.slice(9))
  const other = dropGrantRewriter({ keyword: 'TABLE', schema: 'public', name: 't' })
  assert.deepEqual(rewrite(other, ['GRANT SELECT ON TABLE public."a', 'b" TO "x', 'y";', ...DUMP.slice(5)]), [
    'GRANT SELECT ON TABLE public."a',
    'b" TO "x',
    'y";',
    ...DUMP.slice(5).filter((_, index) => index !== 0)
  ])

  const schema = dropGrantRewriter({ keyword: 'SCHEMA', schema: null, name: 'we"ird' })
  assert.deepEqual(
    rewrite(schema, DUMP),
    DUMP.filter((_, index) => index !== 9),
    'a schema grant is found by its own name'
  )
  assert.match(schema.result()!.evidence, /^GRANT USAGE ON SCHEMA/)

  const absent = dropGrantRewriter({ keyword: 'TABLE', schema: 'public', name: 'nothing' })
  assert.deepEqual(rewrite(absent, DUMP), DUMP)
  assert.equal(absent.result(), undefined)
})

test('change-owner rewrites the table owner and those of its serial sequences, and nothing else', () => {
  const dump = [
    'ALTER TABLE public.other OWNER TO app;',
    'ALTER TABLE public.t OWNER TO app;',
    'ALTER TABLE public.t_id_seq OWNER TO app;',
    'ALTER TABLE public.t_other_seq OWNER TO app;'
  ]
  const rewriter = changeOwnerRewriter(target({ ownedSequences: [{ schema: 'public', name: 't_id_seq' }] }), 'new\nowner')
  assert.deepEqual(rewrite(rewriter, dump), [
    'ALTER TABLE public.other OWNER TO app;',
    'ALTER TABLE public.t OWNER TO "new\nowner";',
    'ALTER TABLE public.t_id_seq OWNER TO "new\nowner";',
    'ALTER TABLE public.t_other_seq OWNER TO app;'
  ])
  assert.equal(rewriter.result()!.evidence, 'owner changed from app to "new\\nowner" (line 2)')
})

test('the privilege operators aim at tables first, and change-owner brings its own role when production has one role', () => {
  const objects = [
    target({ keyword: 'SCHEMA', schema: null, name: 'public', identity: 'schema public', table: false }),
    target({ name: 'b', identity: 'table public.b', grantsToOthers: false }),
    target({ name: 'a', identity: 'table public.a', ownedSequences: [{ schema: 'public', name: 'a_id_seq' }] }),
    target({ keyword: 'SEQUENCE', name: 's', identity: 'sequence public.s', table: false })
  ]
  const catalog: PrivilegeCatalog = { objects, roles: ['app'], drillRole: 'lazarus_drill_1' }
  const grant = planDropGrant(catalog)!
  assert.equal(grant.target, 'privileges on table public.a')
  assert.deepEqual(grant.difference, { kind: 'privileges', name: 'table public.a' })
  assert.equal(
    planDropGrant({ ...catalog, objects: objects.filter(o => o.keyword === 'SCHEMA') })!.target,
    'privileges on schema public'
  )
  assert.equal(planDropGrant({ ...catalog, objects: objects.map(o => ({ ...o, grantsToOthers: false })) }), undefined)

  const owner = planChangeOwner(catalog)!
  assert.equal(owner.target, 'owner of table public.b', 'a table without serial sequences first')
  assert.equal(owner.extraRole, 'lazarus_drill_1')
  const other = planChangeOwner({ ...catalog, roles: ['app', 'a\nb', 'reporting'] })!
  assert.equal(other.extraRole, undefined, "another of production's roles needs nothing extra")
  assert.equal(rewrite(other.rewriter, ['ALTER TABLE public.b OWNER TO app;'])[0], 'ALTER TABLE public.b OWNER TO "reporting";')
  assert.equal(planChangeOwner({ ...catalog, objects: objects.filter(o => !o.table) }), undefined)
})
