import { spawn, type ChildProcess } from 'node:child_process'
import { chownSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { freePort } from './cluster.js'

/**
 * A real PgBouncer (Debian's `pgbouncer` package, installed by .ci/run) of its own: its own ini,
 * port and files in a temporary directory, run as the `postgres` user when we are root (it
 * refuses root), never the system service. It pools every database of the server at
 * 127.0.0.1:`serverPort` in `poolMode`, authenticating clients by SCRAM against `users` (name →
 * password), the same passwords it then logs in to the server with.
 */
export interface PgBouncer {
  port: number
  /** PgBouncer's log, for a failing test's message. */
  log(): string
  stop(): Promise<void>
}

const BINARY = '/usr/sbin/pgbouncer'

export async function startPgBouncer(
  serverPort: number,
  poolMode: 'session' | 'transaction',
  users: Record<string, string>
): Promise<PgBouncer> {
  if (!existsSync(BINARY))
    throw new Error(`${BINARY} not found: run \`sudo bash scripts/setup-machine.sh\` (npm test does as root)`)
  const dir = mkdtempSync(path.join(os.tmpdir(), `lazarus-pgbouncer-${poolMode}-`))
  const port = await freePort()
  const quote = (value: string) => `"${value.replace(/"/g, '""')}"`
  writeFileSync(
    path.join(dir, 'userlist.txt'),
    Object.entries(users)
      .map(([user, password]) => `${quote(user)} ${quote(password)}`)
      .join('\n') + '\n',
    { mode: 0o600 }
  )
  writeFileSync(
    path.join(dir, 'pgbouncer.ini'),
    [
      '[databases]',
      `* = host=127.0.0.1 port=${serverPort}`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      'unix_socket_dir =',
      'auth_type = scram-sha-256',
      `auth_file = ${path.join(dir, 'userlist.txt')}`,
      `pool_mode = ${poolMode}`,
      `logfile = ${path.join(dir, 'pgbouncer.log')}`,
      `pidfile = ${path.join(dir, 'pgbouncer.pid')}`,
      'default_pool_size = 20',
      'max_client_conn = 200',
      ''
    ].join('\n'),
    { mode: 0o600 }
  )
  const asRoot = process.getuid?.() === 0
  if (asRoot) {
    const [, , uid, gid] = (
      readFileSync('/etc/passwd', 'utf8')
        .split('\n')
        .find(line => line.startsWith('postgres:')) ?? ''
    ).split(':')
    for (const file of ['', 'userlist.txt', 'pgbouncer.ini']) chownSync(path.join(dir, file), Number(uid), Number(gid))
  }
  const [command, args] = asRoot
    ? ['runuser', ['-u', 'postgres', '--', BINARY, path.join(dir, 'pgbouncer.ini')]]
    : [BINARY, [path.join(dir, 'pgbouncer.ini')]]
  const child: ChildProcess = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr?.on('data', chunk => (stderr += chunk))
  const log = () =>
    [stderr, existsSync(path.join(dir, 'pgbouncer.log')) ? readFileSync(path.join(dir, 'pgbouncer.log'), 'utf8') : ''].join('\n')
  // SIGTERM is PgBouncer's immediate shutdown (SIGINT would wait for its server connections). It
  // goes to PgBouncer itself (its pid file), since runuser need not pass signals on.
  const pgbouncerPid = () => {
    try {
      return Number(readFileSync(path.join(dir, 'pgbouncer.pid'), 'utf8').trim()) || undefined
    } catch {
      return undefined
    }
  }
  const kill = (signal: NodeJS.Signals) => {
    const pid = pgbouncerPid()
    try {
      if (pid) process.kill(pid, signal)
    } catch {
      // already gone
    }
    child.kill(signal)
  }
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise(resolve => child.once('exit', resolve))
      kill('SIGTERM')
      await exited
    }
    rmSync(dir, { recursive: true, force: true })
  }
  process.on('exit', () => kill('SIGKILL'))
  for (let attempt = 0; ; attempt++) {
    if (await accepts(port)) break
    if (attempt > 100 || child.exitCode !== null) {
      await stop()
      throw new Error(`PgBouncer did not start:\n${log()}`)
    }
    await new Promise(resolve => setTimeout(resolve, 50))
  }
  return { port, log, stop }
}

function accepts(port: number): Promise<boolean> {
  return new Promise(resolve => {
    const socket = net.connect(port, '127.0.0.1')
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
  })
}
