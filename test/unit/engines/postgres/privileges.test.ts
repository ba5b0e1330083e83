import { test } from 'node:test'
import assert from 'node:assert/strict'
import { planRoles, type CleanRoomRoleFacts } from '../../../../src/engines/postgres/cleanroom-roles.js'
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

test('a built-in pg_ role the clean room lacks cannot be created: not verified, with the reason', () => {
  const plan = planRoles(['app', 'pg_database_owner'], superuser)
  assert.equal(plan.restore, false)
  assert.match(plan.reason!, /built-in role\(s\) "pg_database_owner"/)
  // When the clean room has it, it is an existing role like any other.
  const newer = planRoles(['pg_database_owner'], { ...superuser, roles: [{ name: 'pg_database_owner', comment: null }] })
  assert.deepEqual(newer, { restore: true, provided: [], existing: ['pg_database_owner'] })
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
