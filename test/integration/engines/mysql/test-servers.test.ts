import assert from 'node:assert/strict'
import { test } from 'node:test'
import { mariadbCleanroom, mariadbProduction } from '../../../support/mariadb.js'

// The MySQL/MariaDB engine's tests need two separate MariaDB servers: this proves the harness gives them.
test('the MariaDB test servers are two separate servers, reachable as root over TCP', async () => {
  const [production, cleanroom] = await Promise.all([mariadbProduction(), mariadbCleanroom()])
  assert.notEqual(production.port, cleanroom.port)
  const [a, b] = await Promise.all([production.sql('SELECT @@datadir'), cleanroom.sql('SELECT @@datadir')])
  assert.match(a, /MariaDB|data/)
  assert.notEqual(a, b)
  assert.match(await production.sql("SELECT 'ok 🙂'"), /ok 🙂/)
})
