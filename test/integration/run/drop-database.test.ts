import { after, test } from 'node:test'
import assert from 'node:assert/strict'
import pg from 'pg'
import { MaintenanceSession } from '../../../src/engines/postgres/maintenance.js'
import { parseConnectionUrl } from '../../../src/engines/postgres/connection.js'
import { dropIfLazarus } from '../../../src/run/cleanroom.js'
import { cleanroomCluster, uniqueName } from '../../support/shared-servers.js'

// A clean-room role with CREATEDB but not superuser may not end other roles' sessions, such as
// the autovacuum worker that often starts on a freshly restored database: dropping must still work.

const cleanups: (() => Promise<unknown>)[] = []
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined)
})

test('a CREATEDB role drops its scratch database even while another role is still connected for a moment', async () => {
  const cleanroom = await cleanroomCluster()
  const role = uniqueName('creator')
  const password = 'creator-password'
  await cleanroom.query(`CREATE ROLE ${role} LOGIN CREATEDB PASSWORD '${password}'`)
  cleanups.push(() => cleanroom.query(`DROP ROLE IF EXISTS ${role}`))
  const maintenance = await MaintenanceSession.openMaintenance(
    parseConnectionUrl('cleanroom-url', cleanroom.url('postgres', { user: role, password }))
  )
  cleanups.push(() => maintenance.close())
  const scratch = uniqueName('scratch')
  await maintenance.query(`CREATE DATABASE ${scratch}`)
  cleanups.push(() => cleanroom.query(`DROP DATABASE IF EXISTS ${scratch} WITH (FORCE)`))

  // The superuser's session stands in for autovacuum: a session of a role this one cannot end.
  const other = new pg.Client({ connectionString: cleanroom.url(scratch) })
  await other.connect()
  const leaving = new Promise(resolve => setTimeout(resolve, 1500)).then(() => other.end())
  await maintenance.dropDatabase(scratch)
  await leaving
  const [row] = await cleanroom.query<{ n: string }>(`SELECT count(*)::text AS n FROM pg_database WHERE datname = '${scratch}'`)
  assert.equal(row.n, '0')
})

test('a scratch database that holds a restored subscription is dropped, and nothing is asked of its publisher', async () => {
  const cleanroom = await cleanroomCluster()
  const maintenance = await MaintenanceSession.openMaintenance(parseConnectionUrl('cleanroom-url', cleanroom.url('postgres')))
  cleanups.push(() => maintenance.close())
  const scratch = uniqueName('scratch_sub')
  await maintenance.query(`CREATE DATABASE ${scratch}`)
  await maintenance.markScratchDatabase(scratch, 'Lazarus scratch database of run test')
  cleanups.push(() => cleanroom.query(`DROP DATABASE IF EXISTS ${scratch} WITH (FORCE)`))
  // As pg_dump writes it: never connected, but naming a slot on a publisher that is not there
  // (port 1): DROP SUBSCRIPTION with the slot still named would try to connect and fail.
  const subscription = `"${uniqueName('Sub')}\nline"`
  await cleanroom.query(
    `CREATE SUBSCRIPTION ${subscription} CONNECTION 'host=127.0.0.1 port=1 dbname=nowhere connect_timeout=2' ` +
      `PUBLICATION pub WITH (connect = false, slot_name = 'production_slot')`,
    scratch
  )
  await assert.rejects(
    maintenance.query(`DROP DATABASE ${scratch}`),
    /subscription/,
    'the subscription keeps a plain DROP DATABASE from running'
  )
  await dropIfLazarus(maintenance, scratch)
  const [row] = await cleanroom.query<{ n: string }>(`SELECT count(*)::text AS n FROM pg_database WHERE datname = '${scratch}'`)
  assert.equal(row.n, '0')
})
