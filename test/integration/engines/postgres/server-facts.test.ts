import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { postgres } from '../../../../src/engines/postgres/index.js'
import type { SeamSession } from '../../../../src/engines/types.js'
import type { TableRef } from '../../../../src/engines/postgres/figure-queries.js'
import { productionCluster, uniqueName, type Cluster } from '../../../support/shared-servers.js'

// A server's facts (the seam's `facts()`) are asked of production's session inside its snapshot
// too (the schema comparison asks both servers' majors): where the role may not read
// pg_control_system() (a managed service revokes it), asking must leave the snapshot usable,
// since a failed statement aborts the transaction that holds it.

let production: Cluster
const database = uniqueName('pg_facts')
const reader = uniqueName('facts_reader')
const opened: SeamSession<TableRef>[] = []

before(async () => {
  production = await productionCluster()
  await production.createDatabase(
    database,
    `CREATE TABLE public.items (id int PRIMARY KEY);
     INSERT INTO public.items SELECT g FROM generate_series(1, 5) g;`
  )
  await production.query(`CREATE ROLE ${reader} LOGIN PASSWORD 'reader-pass'`)
  // pg_proc is each database's own: this revokes it in the test's database only.
  await production.query(
    `REVOKE EXECUTE ON FUNCTION pg_catalog.pg_control_system() FROM PUBLIC;
     GRANT SELECT ON public.items TO ${reader};`,
    database
  )
})

after(async () => {
  for (const session of opened) await session.close().catch(() => undefined)
  await production.query(`DROP OWNED BY ${reader}`, database)
  await production.query(`DROP ROLE ${reader}`)
})

async function open(opts?: { user: string; password: string }): Promise<SeamSession<TableRef>> {
  const session = await postgres.openRead(postgres.parseUrl('production-url', production.url(database, opts)), 'production')
  opened.push(session)
  return session
}

test("a role that may not read pg_control_system() gets the server's facts, and its snapshot stays usable", async () => {
  const session = await open({ user: reader, password: 'reader-pass' })
  const outside = await session.facts()
  assert.equal(outside.instance.systemIdentifier, undefined, 'no system identifier without the right')
  await session.beginSnapshot()
  const inside = await session.facts()
  assert.deepEqual(inside, outside)
  // The snapshot's transaction was not aborted by the refused call: it still reads.
  const [table] = await session.listTables()
  assert.deepEqual(await session.tablesFigures([table], true, true).then(figures => figures[0].rows), 5)
})

test('a role that may read it gets the system identifier, inside the snapshot as well', async () => {
  const session = await open()
  await session.beginSnapshot()
  const facts = await session.facts()
  assert.match(facts.instance.systemIdentifier ?? '', /^\d+$/)
  assert.equal((await session.listTables()).length, 1)
})
