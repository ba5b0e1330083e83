/**
 * `npm test` entry point.
 *
 *   npm test                          # every test/**\/*.test.ts
 *   npm test -- test/foo.test.ts      # only these files
 *   npm test -- --test-name-pattern=x # options (anything starting with -) go to `node --test`
 *
 * First makes sure the machine has what the tests need (scripts/setup-machine.sh: as root it
 * sets up what is missing, as another user it stops with the one command to run). Then starts
 * the two shared PostgreSQL 13 servers (production and clean room) and a MariaDB pair for the
 * MySQL/MariaDB engine (support/mariadb.ts) once, hands their
 * superuser URIs to the test processes via LAZARUS_TEST_* env vars (see
 * support/shared-servers.ts), runs `node --import tsx --test` and stops both servers when it
 * finishes (or on SIGINT/SIGTERM). Exits with the test runner's exit code.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs'
import os, { constants } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { ensureMachine, MachineSetupError } from '../scripts/machine-setup.js'
import { startCluster, type Cluster } from './support/cluster.js'
import {
  CLEANROOM_DATADIR_ENV,
  CLEANROOM_URL_ENV,
  PRODUCTION_DATADIR_ENV,
  PRODUCTION_URL_ENV,
  SERVER_SETTINGS
} from './support/shared-servers.js'
import { MARIADB_CLEANROOM_URL_ENV, MARIADB_PRODUCTION_URL_ENV, startMariadb, type MariadbServer } from './support/mariadb.js'

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')

/** All *.test.ts files under dir, recursively, sorted (node_modules and dot-dirs skipped). */
function findTests(dir: string): string[] {
  const out: string[] = []
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.name.startsWith('.') || e.name === 'node_modules') continue
    const p = path.join(dir, e.name)
    if (e.isDirectory()) out.push(...findTests(p))
    else if (e.isFile() && e.name.endsWith('.test.ts')) out.push(p)
  }
  return out.sort()
}

const args = process.argv.slice(2)
const nodeOptions = args.filter(a => a.startsWith('-'))
const fileArgs = args.filter(a => !a.startsWith('-'))
const files = fileArgs.length ? fileArgs.map(f => path.resolve(f)) : findTests(path.join(repoRoot, 'test'))

for (const f of files) {
  if (!existsSync(f)) {
    console.error(`run-tests: no such test file: ${f}`)
    process.exit(2)
  }
}
if (files.length === 0) {
  console.error('run-tests: no test files found')
  process.exit(2)
}

try {
  ensureMachine({ purpose: 'test', command: 'npm test', output: 'inherit' })
} catch (err) {
  if (!(err instanceof MachineSetupError)) throw err
  console.error(`run-tests: ${err.message}`)
  process.exit(1)
}

/**
 * The tests' temporary files (os.tmpdir() in the test processes) go to a directory of this run's
 * own, removed when the run ends: a test that forgets its own, or is killed before its cleanup
 * runs, leaves nothing behind in /tmp. What a test left is named, so that it can be fixed.
 */
const testTmp = mkdtempSync(path.join(os.tmpdir(), 'lazarus-tests-'))
// As /tmp is: the private test servers (run as the postgres user) keep their directories in it.
chmodSync(testTmp, 0o1777)
// tsx keeps its compile cache in <tmpdir>/tsx-<uid>: shared across runs, as without this directory.
const tsxCache = `tsx-${os.userInfo().uid}`
mkdirSync(path.join(os.tmpdir(), tsxCache), { recursive: true })
symlinkSync(path.join(os.tmpdir(), tsxCache), path.join(testTmp, tsxCache))

function removeTestTmp(): void {
  let left: string[] = []
  try {
    left = readdirSync(testTmp).filter(name => name !== tsxCache)
  } catch {
    return
  }
  if (process.env.LAZARUS_TEST_KEEP_TEMP) {
    console.error(`run-tests: the tests' temporary files are kept in ${testTmp} (LAZARUS_TEST_KEEP_TEMP)`)
    return
  }
  if (left.length > 0) {
    console.error(`run-tests: the tests left ${left.length} temporary file(s) behind (removed now): ${left.sort().join(', ')}`)
  }
  rmSync(testTmp, { recursive: true, force: true })
}

let clusters: Cluster[] = []
let mariadbServers: MariadbServer[] = []
let child: ChildProcess | undefined
let stopping: Promise<void> | undefined

function stopClusters(): Promise<void> {
  return (stopping ??= Promise.allSettled([...clusters, ...mariadbServers].map(c => c.stop())).then(results => {
    for (const r of results) {
      if (r.status === 'rejected') console.error('run-tests: failed to stop a cluster:', r.reason)
    }
  }))
}

async function finish(code: number): Promise<never> {
  await stopClusters()
  removeTestTmp()
  process.exit(code)
}

let signalled = false
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(sig, () => {
    const code = 128 + (constants.signals[sig] ?? 1)
    if (signalled) return // second Ctrl-C: keep waiting for cleanup (it is quick)
    signalled = true
    if (child && child.exitCode === null && child.signalCode === null) {
      // Forward (a terminal's Ctrl-C already reached the child's process group; harmless twice),
      // then give the test runner a moment to tear its own children down.
      child.kill(sig)
      const force = setTimeout(() => child?.kill('SIGKILL'), 10_000)
      force.unref()
      // the child's 'exit' handler below stops the clusters and exits
    } else {
      void finish(code)
    }
  })
}

try {
  const t0 = Date.now()
  // The MySQL/MariaDB engine's tests get a pair of MariaDB servers, started beside PostgreSQL's.
  const [results, mariadbResults] = await Promise.all([
    Promise.allSettled([
      startCluster('production', { settings: SERVER_SETTINGS.production }),
      startCluster('cleanroom', { settings: SERVER_SETTINGS.cleanroom })
    ]),
    Promise.allSettled([startMariadb('production'), startMariadb('cleanroom')])
  ])
  clusters = results.flatMap(r => (r.status === 'fulfilled' ? [r.value] : []))
  mariadbServers = mariadbResults.flatMap(r => (r.status === 'fulfilled' ? [r.value] : []))
  const failed = [...results, ...mariadbResults].find((r): r is PromiseRejectedResult => r.status === 'rejected')
  if (failed) throw failed.reason
  if (signalled) await finish(130)
  const [production, cleanroom] = clusters as [Cluster, Cluster]
  const [mariadbProduction, mariadbCleanroom] = mariadbServers as [MariadbServer, MariadbServer]
  console.error(
    `run-tests: servers up in ${Date.now() - t0} ms (PostgreSQL production :${production.port}, ` +
      `cleanroom :${cleanroom.port}; MariaDB production :${mariadbProduction.port}, cleanroom :${mariadbCleanroom.port}); ` +
      `${files.length} test file(s)`
  )

  const env: NodeJS.ProcessEnv = {
    ...process.env,
    [PRODUCTION_URL_ENV]: production.url('postgres'),
    [CLEANROOM_URL_ENV]: cleanroom.url('postgres'),
    [PRODUCTION_DATADIR_ENV]: production.dataDir,
    [CLEANROOM_DATADIR_ENV]: cleanroom.dataDir,
    [MARIADB_PRODUCTION_URL_ENV]: mariadbProduction.url(),
    [MARIADB_CLEANROOM_URL_ENV]: mariadbCleanroom.url(),
    TMPDIR: testTmp
  }

  const nodeArgs = [
    '--import',
    'tsx',
    '--test',
    '--test-concurrency=2',
    ...nodeOptions,
    ...files.map(f => path.relative(repoRoot, f))
  ]
  child = spawn(process.execPath, nodeArgs, { cwd: repoRoot, env, stdio: 'inherit' })
  child.on('error', err => {
    console.error('run-tests: could not start node --test:', err)
    void finish(1)
  })
  child.on('exit', (code, signal) => {
    void finish(code ?? (signal ? 128 + (constants.signals[signal] ?? 1) : 1))
  })
} catch (err) {
  console.error('run-tests: could not start the test servers:')
  console.error(err)
  await finish(1)
}
