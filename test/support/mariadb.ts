/**
 * Throw-away MariaDB servers for the MySQL/MariaDB engine's tests and demo: Debian's
 * `mariadb-server` binaries, each server in its own temp dir, on its own port and socket, never
 * the system service. mariadbd refuses to run as root without a user: when we are root it runs as
 * the `mysql` system user the package creates.
 *
 * Layout of one server (everything under one temp dir, removed by stop()):
 *   <tmp>/data         the data directory (mariadb-install-db)
 *   <tmp>/server.log   the server's error log
 *   <tmp>/mysqld.sock  the unix socket
 *
 * Shared servers: test/run-tests.ts starts a production and a clean-room server once per run and
 * passes their root URLs through LAZARUS_TEST_MARIADB_{PRODUCTION,CLEANROOM}_URL; a test file run
 * on its own starts private ones. Tests create their own databases with uniqueName().
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'

export const MARIADB_PRODUCTION_URL_ENV = 'LAZARUS_TEST_MARIADB_PRODUCTION_URL'
export const MARIADB_CLEANROOM_URL_ENV = 'LAZARUS_TEST_MARIADB_CLEANROOM_URL'

export interface MariadbServer {
  name: string
  host: '127.0.0.1'
  port: number
  /** root's password (root may log in over TCP from 127.0.0.1 only). */
  password: string
  /** mariadb:// URL; the password included unless opts.password === null. */
  url(database?: string, opts?: { user?: string; password?: string | null }): string
  /**
   * Runs SQL through the `mariadb` client as root (in `database` when given) and returns its
   * tab-separated output. Many statements may be given at once; the client stops at the first error.
   */
  sql(sql: string, database?: string): Promise<string>
  /** Stops the server and removes its temp dir (a no-op on a shared server). Idempotent. */
  stop(): Promise<void>
}

const HOST = '127.0.0.1' as const
const asRoot = process.getuid?.() === 0

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer()
    server.unref()
    server.on('error', reject)
    server.listen(0, HOST, () => {
      const address = server.address()
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))))
    })
  })
}

/** Runs the mariadb client with the password in its environment (never on the command line). */
function runClient(port: number, password: string, sql: string, database?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const args = [
      '--no-defaults',
      '--protocol=TCP',
      `--host=${HOST}`,
      `--port=${port}`,
      '--user=root',
      '--batch',
      '--default-character-set=utf8mb4'
    ]
    if (database) args.push(database)
    const child = spawn('mariadb', args, { env: { ...process.env, MYSQL_PWD: password }, stdio: ['pipe', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d))
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
    child.on('error', reject)
    child.on('close', code => (code === 0 ? resolve(stdout) : reject(new Error(`mariadb exited ${code}: ${stderr.trim()}`))))
    child.stdin.on('error', () => {})
    child.stdin.end(sql)
  })
}

function makeServer(name: string, port: number, password: string, stop: () => Promise<void>): MariadbServer {
  return {
    name,
    host: HOST,
    port,
    password,
    url(database = '', opts = {}) {
      const user = encodeURIComponent(opts.user ?? 'root')
      const pass = opts.password === null ? '' : `:${encodeURIComponent(opts.password ?? password)}`
      return `mariadb://${user}${pass}@${HOST}:${port}/${encodeURIComponent(database)}`
    },
    sql: (sql, database) => runClient(port, password, sql, database),
    stop
  }
}

/**
 * Starts a private MariaDB server: about two seconds. Settings trade durability for speed (the
 * data is thrown away), never behaviour a backup could depend on.
 */
export async function startMariadb(name: string): Promise<MariadbServer> {
  const dir = mkdtempSync(path.join(os.tmpdir(), `lazarus-mariadb-${name}-`))
  chmodSync(dir, 0o755)
  const dataDir = path.join(dir, 'data')
  mkdirSync(dataDir)
  // Temporary tables in a directory of this server's own: in the shared /tmp, servers installed at
  // the same moment (parallel test runs) name theirs alike and trip over each other's.
  const tmpDir = path.join(dir, 'tmp')
  mkdirSync(tmpDir)
  if (asRoot) {
    for (const owned of [dir, dataDir, tmpDir]) chownSync(owned, uidOf('mysql'), gidOf('mysql'))
  }
  const user = asRoot ? ['--user=mysql'] : []
  await new Promise<void>((resolve, reject) => {
    const install = spawn(
      'mariadb-install-db',
      [
        '--no-defaults',
        ...user,
        `--datadir=${dataDir}`,
        `--tmpdir=${tmpDir}`,
        '--auth-root-authentication-method=normal',
        '--skip-test-db'
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] }
    )
    let output = ''
    install.stdout.setEncoding('utf8').on('data', (d: string) => (output += d))
    install.stderr.setEncoding('utf8').on('data', (d: string) => (output += d))
    install.on('error', reject)
    install.on('close', code => (code === 0 ? resolve() : reject(new Error(`mariadb-install-db failed: ${output.trim()}`))))
  })
  const port = await freePort()
  const log = path.join(dir, 'server.log')
  const server: ChildProcess = spawn(
    '/usr/sbin/mariadbd',
    [
      '--no-defaults',
      ...user,
      `--datadir=${dataDir}`,
      `--tmpdir=${tmpDir}`,
      `--port=${port}`,
      `--socket=${path.join(dir, 'mysqld.sock')}`,
      `--pid-file=${path.join(dir, 'mysqld.pid')}`,
      `--log-error=${log}`,
      `--bind-address=${HOST}`,
      '--character-set-server=utf8mb4',
      '--collation-server=utf8mb4_general_ci',
      '--innodb-flush-log-at-trx-commit=0',
      '--innodb-doublewrite=0',
      '--innodb-buffer-pool-size=64M',
      '--skip-name-resolve'
    ],
    { stdio: 'ignore', detached: false }
  )
  let exited = false
  server.on('exit', () => (exited = true))
  const password = randomBytes(12).toString('hex')
  // A fresh root may log in without a password over the socket or TCP; give it one at once.
  const started = Date.now()
  for (;;) {
    try {
      await runClient(
        port,
        '',
        `CREATE USER IF NOT EXISTS root@'127.0.0.1'; GRANT ALL ON *.* TO root@'127.0.0.1' WITH GRANT OPTION; ` +
          `ALTER USER root@'127.0.0.1' IDENTIFIED BY '${password}'; ALTER USER root@localhost IDENTIFIED BY '${password}';`
      )
      break
    } catch (err) {
      if (exited || Date.now() - started > 60_000) {
        let tail = ''
        try {
          tail = readFileSync(log, 'utf8').split('\n').slice(-15).join('\n')
        } catch {}
        server.kill('SIGKILL')
        rmSync(dir, { recursive: true, force: true })
        throw new Error(`MariaDB server ${name} did not start: ${(err as Error).message}\n${tail}`)
      }
      await new Promise(r => setTimeout(r, 200))
    }
  }
  let stopping: Promise<void> | undefined
  const stop = () =>
    (stopping ??= new Promise<void>(resolve => {
      if (exited) return resolve()
      server.once('exit', () => resolve())
      server.kill('SIGTERM')
      setTimeout(() => server.kill('SIGKILL'), 20_000).unref()
    }).then(() => rmSync(dir, { recursive: true, force: true })))
  process.once('exit', () => {
    if (!exited) server.kill('SIGKILL')
    rmSync(dir, { recursive: true, force: true })
  })
  return makeServer(name, port, password, stop)
}

function idOf(flag: '-u' | '-g', user: string): number {
  const out = spawnSync('id', [flag, user], { encoding: 'utf8' })
  if (out.status !== 0) throw new Error(`no ${user} user: install mariadb-server (it creates it)`)
  return Number(out.stdout.trim())
}
const uidOf = (user: string) => idOf('-u', user)
const gidOf = (user: string) => idOf('-g', user)

const cache = new Map<string, Promise<MariadbServer>>()

function shared(name: string, urlVar: string): Promise<MariadbServer> {
  let p = cache.get(name)
  if (!p) {
    const raw = process.env[urlVar]
    if (raw) {
      const u = new URL(raw)
      p = Promise.resolve(makeServer(name, Number(u.port), decodeURIComponent(u.password), async () => {}))
    } else {
      p = startMariadb(name)
    }
    p.catch(() => cache.delete(name))
    cache.set(name, p)
  }
  return p
}

/** The shared MariaDB "production" server (root over TCP). stop() is a no-op when shared. */
export function mariadbProduction(): Promise<MariadbServer> {
  return shared('production', MARIADB_PRODUCTION_URL_ENV)
}

/** The shared MariaDB clean-room server. */
export function mariadbCleanroom(): Promise<MariadbServer> {
  return shared('cleanroom', MARIADB_CLEANROOM_URL_ENV)
}
