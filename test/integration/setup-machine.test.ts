// The real scripts/setup-machine.sh, asked about fake machines (LAZARUS_SETUP_ROOT: every probe
// looks under a directory the test builds) with --check and --dry-run, so nothing is installed:
// what is missing -> what it lists, and what it would run. And npm test's and npm run demo's
// decision (scripts/machine-setup.ts) on top of the real script's answers.
import { afterEach, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { ensureMachine, MachineSetupError, SETUP_SCRIPT } from '../../scripts/machine-setup.js'

const temporary: string[] = []
afterEach(() => {
  for (const dir of temporary.splice(0)) {
    fs.chmodSync(dir, 0o755)
    fs.rmSync(dir, { recursive: true, force: true })
  }
})

type Part =
  | 'debian-client'
  | 'path-client'
  | 'pg_dump-only'
  | 'pgbouncer'
  | 'openssl'
  | 'jq'
  | 'mariadb-server'
  | 'mariadb-client'
  | 'postgres-user'
const EVERYTHING: Part[] = ['debian-client', 'pgbouncer', 'openssl', 'jq', 'mariadb-server', 'mariadb-client', 'postgres-user']
/** The MariaDB test servers' and engine's packages, present unless a case is about them. */
const MARIADB: Part[] = ['mariadb-server', 'mariadb-client']

/** A fake machine with just these parts, and a checkout in it whose directories others may traverse. */
function machine(parts: Part[], opts: { closedDir?: boolean } = {}): { root: string; checkout: string; closed?: string } {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'lazarus-setup-test-'))
  temporary.push(root)
  fs.chmodSync(root, 0o755)
  const tool = (file: string, mode = 0o755) => {
    fs.mkdirSync(path.dirname(path.join(root, file)), { recursive: true })
    fs.writeFileSync(path.join(root, file), '#!/bin/sh\n', { mode })
  }
  if (parts.includes('debian-client')) for (const t of ['pg_dump', 'psql']) tool(`usr/lib/postgresql/15/bin/${t}`)
  if (parts.includes('path-client')) for (const t of ['pg_dump', 'psql']) tool(`usr/bin/${t}`)
  if (parts.includes('pg_dump-only')) tool('usr/lib/postgresql/15/bin/pg_dump')
  if (parts.includes('pgbouncer')) tool('usr/sbin/pgbouncer')
  if (parts.includes('openssl')) tool('usr/bin/openssl')
  if (parts.includes('jq')) tool('usr/bin/jq')
  if (parts.includes('mariadb-server')) for (const t of ['usr/sbin/mariadbd', 'usr/bin/mariadb-install-db']) tool(t)
  if (parts.includes('mariadb-client')) for (const t of ['usr/bin/mariadb', 'usr/bin/mariadb-dump']) tool(t)
  fs.mkdirSync(path.join(root, 'etc'))
  const users = [
    'root:x:0:0:root:/root:/bin/bash',
    ...(parts.includes('postgres-user') ? ['postgres:x:999:999::/:/usr/sbin/nologin'] : [])
  ]
  fs.writeFileSync(path.join(root, 'etc/passwd'), users.join('\n') + '\n')

  const home = path.join(root, 'home', 'dev')
  const checkout = path.join(home, 'lazarus')
  fs.mkdirSync(checkout, { recursive: true })
  for (const dir of [path.join(root, 'home'), home, checkout]) fs.chmodSync(dir, 0o755)
  if (opts.closedDir) fs.chmodSync(home, 0o750)
  return { root, checkout, closed: opts.closedDir ? home : undefined }
}

function script(m: { root: string; checkout: string }, ...args: string[]) {
  const r = spawnSync('bash', [SETUP_SCRIPT, ...args], {
    encoding: 'utf8',
    env: { ...process.env, LAZARUS_SETUP_ROOT: m.root, LAZARUS_SETUP_CHECKOUT: m.checkout }
  })
  return { status: r.status, stdout: r.stdout, stderr: r.stderr }
}

const needs = (stdout: string) =>
  stdout
    .split('\n')
    .filter(Boolean)
    .map(line => line.split('\t')[0])

test('a machine with nothing: --check lists every need; --for-root adds the postgres user and the closed directory', () => {
  const m = machine([], { closedDir: true })
  const plain = script(m, '--check')
  assert.equal(plain.status, 0, plain.stderr)
  assert.deepEqual(needs(plain.stdout), [
    'apt:postgresql-client',
    'apt:pgbouncer',
    'apt:openssl',
    'apt:jq',
    'apt:mariadb-server',
    'apt:mariadb-client'
  ])
  const forRoot = script(m, '--check', '--for-root')
  assert.deepEqual(needs(forRoot.stdout), [
    'apt:postgresql-client',
    'apt:pgbouncer',
    'apt:openssl',
    'apt:jq',
    'apt:mariadb-server',
    'apt:mariadb-client',
    'user:postgres',
    `traverse:${m.closed}`
  ])
  for (const line of forRoot.stdout.trim().split('\n')) assert.match(line, /^[a-z]+:[^\t]+\t\S.*$/, 'need<TAB>what')
})

test('a machine with nothing: --dry-run prints one apt-get for all packages, the user, the chmod, and runs none', () => {
  const m = machine([], { closedDir: true })
  const r = script(m, '--dry-run', '--for-root')
  assert.equal(r.status, 0, r.stderr)
  assert.deepEqual(r.stdout.trim().split('\n'), [
    '+ apt-get update',
    '+ env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postgresql-client pgbouncer openssl jq mariadb-server mariadb-client',
    '+ useradd --system --no-create-home --shell /usr/sbin/nologin postgres',
    `+ chmod o+x ${m.closed}`
  ])
  assert.equal(fs.statSync(m.closed!).mode & 0o777, 0o750, 'a dry run changes nothing')
})

test('a complete machine: nothing listed, and a run says there is nothing to do and runs nothing', () => {
  const m = machine(EVERYTHING)
  assert.equal(script(m, '--check', '--for-root').stdout, '')
  const r = script(m, '--dry-run', '--for-root')
  assert.equal(r.status, 0, r.stderr)
  assert.equal(r.stdout.trim(), "setup-machine: nothing to do: this machine has all that Lazarus's tests and demo need.")
})

test('each part missing alone is the only thing set up', () => {
  const cases: Array<[Part[], string[], string]> = [
    [
      ['pgbouncer', 'openssl', 'jq', 'postgres-user', ...MARIADB],
      ['apt:postgresql-client'],
      'no-install-recommends postgresql-client'
    ],
    [['debian-client', 'openssl', 'jq', 'postgres-user', ...MARIADB], ['apt:pgbouncer'], 'no-install-recommends pgbouncer'],
    [['debian-client', 'pgbouncer', 'jq', 'postgres-user', ...MARIADB], ['apt:openssl'], 'no-install-recommends openssl'],
    [['debian-client', 'pgbouncer', 'openssl', 'postgres-user', ...MARIADB], ['apt:jq'], 'no-install-recommends jq'],
    [
      ['debian-client', 'pgbouncer', 'openssl', 'jq', 'postgres-user', 'mariadb-client'],
      ['apt:mariadb-server'],
      'no-install-recommends mariadb-server'
    ],
    [
      ['debian-client', 'pgbouncer', 'openssl', 'jq', 'postgres-user', 'mariadb-server'],
      ['apt:mariadb-client'],
      'no-install-recommends mariadb-client'
    ],
    [['debian-client', 'pgbouncer', 'openssl', 'jq', ...MARIADB], ['user:postgres'], 'useradd']
  ]
  for (const [parts, expected, command] of cases) {
    const m = machine(parts)
    assert.deepEqual(needs(script(m, '--check', '--for-root').stdout), expected, parts.join(' '))
    const dry = script(m, '--dry-run', '--for-root').stdout.trim().split('\n')
    assert.equal(dry.filter(line => line.includes(command)).length, 1, dry.join('\n'))
    assert.equal(dry.filter(line => line.startsWith('+ ')).length, expected[0].startsWith('apt:') ? 2 : 1, dry.join('\n'))
  }
})

test('client tools count on PATH as well as in /usr/lib/postgresql, but only pg_dump and psql together, and only executable', () => {
  assert.deepEqual(needs(script(machine(['path-client', 'pgbouncer', 'openssl', 'jq', ...MARIADB]), '--check').stdout), [])
  assert.deepEqual(needs(script(machine(['pg_dump-only', 'pgbouncer', 'openssl', 'jq', ...MARIADB]), '--check').stdout), [
    'apt:postgresql-client'
  ])
  const m = machine(['pgbouncer', 'openssl', 'jq', 'debian-client', ...MARIADB])
  fs.chmodSync(path.join(m.root, 'usr/sbin/pgbouncer'), 0o644)
  assert.deepEqual(needs(script(m, '--check').stdout), ['apt:pgbouncer'])
})

test("only other users' search permission counts: o+x alone is enough, o+r without o+x is not", () => {
  const searchOnly = machine(EVERYTHING, { closedDir: true })
  fs.chmodSync(searchOnly.closed!, 0o701)
  assert.equal(script(searchOnly, '--check', '--for-root').stdout, '')
  const readOnly = machine(EVERYTHING, { closedDir: true })
  fs.chmodSync(readOnly.closed!, 0o754)
  assert.deepEqual(needs(script(readOnly, '--check', '--for-root').stdout), [`traverse:${readOnly.closed}`])
})

test('without --for-root the postgres user and the directories are left alone (a developer running the tests as themselves)', () => {
  const m = machine(['debian-client', 'pgbouncer', 'openssl', 'jq', ...MARIADB], { closedDir: true })
  assert.equal(script(m, '--check').stdout, '')
  assert.match(script(m, '--dry-run').stdout, /^setup-machine: nothing to do/)
})

test('run for real by another user with something to do, the script refuses in one line naming the sudo command', () => {
  // A real run (no fake machine): the only thing missing is a directory closed to others, which
  // only root may open. As root, run it as the postgres user.
  const m = machine(EVERYTHING, { closedDir: true })
  const asUser = process.getuid?.() === 0 ? ['runuser', ['-u', 'postgres', '--', 'bash']] : ['bash', []]
  const [command, prefix] = asUser as [string, string[]]
  const r = spawnSync(command, [...prefix, SETUP_SCRIPT, '--for-root'], {
    encoding: 'utf8',
    env: { ...process.env, LAZARUS_SETUP_CHECKOUT: m.checkout }
  })
  assert.equal(r.status, 1, r.stdout + r.stderr)
  assert.equal(
    r.stderr,
    `setup-machine: needs root to let other users traverse ${m.closed} (chmod o+x): run sudo bash ${SETUP_SCRIPT} --for-root\n`
  )
  assert.equal(r.stdout, '', 'nothing was run')
  assert.equal(fs.statSync(m.closed!).mode & 0o777, 0o750)
})

test('the fake-machine setting is refused outside --check and --dry-run, and an unknown option is an error', () => {
  const m = machine([])
  const real = script(m, '--for-root')
  assert.equal(real.status, 2)
  assert.match(real.stderr, /^setup-machine: LAZARUS_SETUP_ROOT is for tests: use it with --check or --dry-run\n$/)
  const bad = script(m, '--yes')
  assert.equal(bad.status, 2)
  assert.match(bad.stderr, /^setup-machine: unknown option '--yes'/)
})

test('npm test as another user on a bare machine stops with one line and the sudo command; the demo only for client tools', () => {
  const m = machine(['openssl'])
  const env = { ...process.env, LAZARUS_SETUP_ROOT: m.root, LAZARUS_SETUP_CHECKOUT: m.checkout }
  assert.throws(
    () => ensureMachine({ purpose: 'test', command: 'npm test', root: false, env }),
    (error: Error) =>
      error instanceof MachineSetupError &&
      error.message ===
        `this machine lacks postgresql-client, pgbouncer, jq, mariadb-server, mariadb-client: run \`sudo bash ${SETUP_SCRIPT}\` once, then \`npm test\` again.`
  )
  assert.throws(
    () => ensureMachine({ purpose: 'demo', command: 'npm run demo', root: false, env }),
    /lacks postgresql-client: run/
  )

  const demoReady = machine(['debian-client'])
  const demoEnv = { ...process.env, LAZARUS_SETUP_ROOT: demoReady.root, LAZARUS_SETUP_CHECKOUT: demoReady.checkout }
  assert.equal(ensureMachine({ purpose: 'demo', command: 'npm run demo', root: false, env: demoEnv }), '', 'nothing to do')
})

test('npm test as root runs the setup script for root, which would set up exactly what is missing', () => {
  const m = machine(['debian-client', 'openssl', ...MARIADB])
  const env = { ...process.env, LAZARUS_SETUP_ROOT: m.root, LAZARUS_SETUP_CHECKOUT: m.checkout }
  const said = ensureMachine({ purpose: 'test', command: 'npm test', root: true, env, dryRun: true })
  assert.deepEqual(said.trim().split('\n'), [
    '+ apt-get update',
    '+ env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends pgbouncer jq',
    '+ useradd --system --no-create-home --shell /usr/sbin/nologin postgres'
  ])
  assert.equal(ensureMachine({ purpose: 'test', command: 'npm test', root: true, env: { ...env, ...complete(env) } }), '')
})

/** The same fake machine's environment pointed at a complete machine instead. */
function complete(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const m = machine(EVERYTHING)
  return { ...env, LAZARUS_SETUP_ROOT: m.root, LAZARUS_SETUP_CHECKOUT: m.checkout }
}
