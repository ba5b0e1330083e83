// What npm test and npm run demo do about what the machine lacks (scripts/machine-setup.ts): the
// decision alone. test/integration/setup-machine.test.ts runs the real script behind it.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { needName, neededFor, parseNeeds, planSetup, SETUP_SCRIPT, type Need } from '../../scripts/machine-setup.js'

const client: Need = { id: 'apt:postgresql-client', what: 'install postgresql-client (pg_dump, psql)' }
const pgbouncer: Need = { id: 'apt:pgbouncer', what: 'install pgbouncer' }
const openssl: Need = { id: 'apt:openssl', what: 'install openssl' }
const user: Need = { id: 'user:postgres', what: 'create the postgres system user' }
const home: Need = { id: 'traverse:/home/dev', what: 'let other users traverse /home/dev (chmod o+x)' }

test("the script's --check lines parse into needs; a line of another form is an error, not a silent skip", () => {
  assert.deepEqual(parseNeeds(''), [])
  assert.deepEqual(parseNeeds('apt:pgbouncer\tinstall pgbouncer\ntraverse:/a b\tlet other users traverse /a b (chmod o+x)\n'), [
    pgbouncer,
    { id: 'traverse:/a b', what: 'let other users traverse /a b (chmod o+x)' }
  ])
  assert.throws(() => parseNeeds('apt:pgbouncer install pgbouncer\n'), /not "<need><TAB><what>"/)
})

test('nothing missing: nothing to do, as root or not', () => {
  for (const root of [true, false]) {
    for (const purpose of ['test', 'demo'] as const) {
      assert.deepEqual(planSetup([], { purpose, root, command: 'npm test' }), { action: 'none' })
    }
  }
})

test('as root, anything missing runs the setup script for root (postgres user, reachable checkout)', () => {
  const plan = planSetup([client, pgbouncer, user, home], { purpose: 'test', root: true, command: 'npm test' })
  assert.deepEqual(plan, { action: 'run', argv: [SETUP_SCRIPT, '--for-root'], needs: [client, pgbouncer, user, home] })
})

test('as another user, the run stops with one line naming what is missing and the one sudo command to run', () => {
  const plan = planSetup([client, pgbouncer, openssl], { purpose: 'test', root: false, command: 'npm test' })
  assert.equal(plan.action, 'stop')
  const message = plan.action === 'stop' ? plan.message : ''
  assert.equal(
    message,
    `this machine lacks postgresql-client, pgbouncer, openssl: run \`sudo bash ${SETUP_SCRIPT}\` once, then \`npm test\` again.`
  )
  assert.doesNotMatch(message, /\n/)
})

test('a script path with spaces or quotes is quoted for the shell in the command to run', () => {
  const plan = planSetup([client], { purpose: 'demo', root: false, command: 'npm run demo', script: "/home/o'neil/my repo/s.sh" })
  assert.equal(plan.action === 'stop' && plan.message.match(/`sudo bash (.*)` once/)?.[1], `'/home/o'\\''neil/my repo/s.sh'`)
})

test('the demo needs only the client tools (and, as root, the postgres user): no PgBouncer or openssl', () => {
  assert.equal(neededFor(client, 'demo'), true)
  assert.equal(neededFor(pgbouncer, 'demo'), false)
  assert.equal(neededFor(openssl, 'demo'), false)
  assert.equal(neededFor(user, 'demo'), true)
  assert.equal(neededFor(home, 'demo'), true)
  for (const need of [client, pgbouncer, openssl, user, home]) assert.equal(neededFor(need, 'test'), true)

  assert.deepEqual(planSetup([pgbouncer, openssl], { purpose: 'demo', root: false, command: 'npm run demo' }), { action: 'none' })
  const plan = planSetup([pgbouncer, client], { purpose: 'demo', root: false, command: 'npm run demo' })
  assert.match(
    plan.action === 'stop' ? plan.message : '',
    /^this machine lacks postgresql-client: run .* then `npm run demo` again\.$/
  )
  // As root the script sets up everything it finds missing, the test tools too: one setup for both commands.
  assert.equal(planSetup([pgbouncer, user], { purpose: 'demo', root: true, command: 'npm run demo' }).action, 'run')
})

test('needs read as what they are in a message', () => {
  assert.deepEqual([client, user, home].map(needName), ['postgresql-client', 'the postgres OS user', 'a reachable /home/dev'])
})

test("the MariaDB demo needs MariaDB's server and client only: no PostgreSQL client, no postgres user", () => {
  const server: Need = { id: 'apt:mariadb-server', what: 'install mariadb-server' }
  const mariadbClient: Need = { id: 'apt:mariadb-client', what: 'install mariadb-client' }
  assert.equal(neededFor(server, 'demo-mariadb'), true)
  assert.equal(neededFor(mariadbClient, 'demo-mariadb'), true)
  for (const need of [client, pgbouncer, openssl, user, home]) assert.equal(neededFor(need, 'demo-mariadb'), false, need.id)
  const plan = planSetup([client, server], { purpose: 'demo-mariadb', root: false, command: 'npm run demo -- --engine mariadb' })
  assert.equal(plan.action, 'stop')
  assert.match(plan.action === 'stop' ? plan.message : '', /lacks mariadb-server: run/)
})
