/** What the benchmark measures: the database sizes, the runs (variants), the servers' settings, the targets; and its options. */

// What is measured

export interface SizeSpec {
  name: string
  /** pgbench scale factor (100 000 pgbench_accounts rows per unit). */
  scale: number
  /** Rows of the 30-column wide table. */
  wideRows: number
  target: string
}

/** Scales chosen so that pg_database_size lands near the target (about 60 % pgbench, 40 % wide table). */
export const SIZES: SizeSpec[] = [
  { name: 'small', scale: 2, wideRows: 18_000, target: '~50 MB' },
  { name: 'medium', scale: 10, wideRows: 145_000, target: '~250 MB' },
  { name: 'large', scale: 44, wideRows: 700_000, target: '≥ 1 GiB' }
]

export type Variant =
  | 'naive-file'
  | 'naive-pipe'
  | 'counts'
  | 'checksums'
  | 'keep-custom'
  | 'keep-custom-none'
  | 'keep-custom-gzip1'
  | 'keep-directory'
  | 'keep-plain'
  | 'verify-directory'
/** The Lazarus runs, each paired with a naive pipe run right before it. */
export type LazarusVariant = Exclude<Variant, 'naive-file' | 'naive-pipe'>
export const LAZARUS_VARIANTS: LazarusVariant[] = [
  'counts',
  'checksums',
  'keep-custom',
  'keep-custom-none',
  'keep-custom-gzip1',
  'keep-directory',
  'keep-plain'
]
export const VARIANTS: Variant[] = ['naive-file', 'naive-pipe', ...LAZARUS_VARIANTS, 'verify-directory']
export const VARIANT_LABEL: Record<Variant, string> = {
  'naive-file': 'naive, file',
  'naive-pipe': 'naive, pipe',
  counts: 'Lazarus counts',
  checksums: 'Lazarus checksums',
  'keep-custom': 'keep custom (default)',
  'keep-custom-none': 'keep custom, none',
  'keep-custom-gzip1': 'keep custom, gzip:1',
  'keep-directory': 'keep directory',
  'keep-plain': 'keep plain',
  'verify-directory': 'verify kept dir'
}
/** The inputs of each Lazarus run beyond the connection ones; backup-dir is added for the keep-* runs. */
export const LAZARUS_INPUTS: Record<LazarusVariant, Record<string, string>> = {
  counts: { verify: 'counts' },
  checksums: { verify: 'checksums' },
  'keep-custom': { verify: 'checksums', 'backup-format': 'custom' },
  // The same with each backup-compression this machine's pg_dump (15) writes that matters to the
  // choice of the default: none (no gzip in pg_dump, no inflating in pg_restore) and gzip level 1.
  'keep-custom-none': { verify: 'checksums', 'backup-format': 'custom', 'backup-compression': 'none' },
  'keep-custom-gzip1': { verify: 'checksums', 'backup-format': 'custom', 'backup-compression': 'gzip:1' },
  'keep-directory': { verify: 'checksums', 'backup-format': 'directory' },
  'keep-plain': { verify: 'checksums', 'backup-format': 'plain' },
  // The verification of a stored restore point (issue 12, input backup-path): it verifies the
  // directory-format restore point keep-directory kept in the same round, from its manifest alone
  // (production-url is given but not connected to), with jobs: 2.
  'verify-directory': { verify: 'checksums', jobs: '2' }
}
/** Variants measured unless --variants says otherwise: the compression variants only when asked for. */
export const DEFAULT_VARIANTS: Variant[] = VARIANTS.filter(v => v !== 'keep-custom-none' && v !== 'keep-custom-gzip1')

/** Benchmark settings, identical on both servers (cluster.ts already sets fsync, synchronous_commit, full_page_writes off). */
export const SERVER_SETTINGS: Record<string, string> = {
  shared_buffers: '512MB',
  maintenance_work_mem: '256MB',
  max_wal_size: '4GB',
  checkpoint_timeout: '30min',
  autovacuum: 'off'
}

/** Issue 6's targets. */
export const TARGET_RATIO_AT_1GB = 1.25
export const TARGET_RATIO_EVERY_SIZE = 1.5
export const TARGET_PEAK_MIB = 150
/** A log-log slope of time over size above this between the two largest sizes is not linear. */
export const LINEAR_EXPONENT_LIMIT = 1.2
export const GIB = 1024 ** 3
export const MIB = 1024 ** 2

export interface Measurement {
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
  /** For a keep-* run: the kept backup's size on disk (the report's restorePoint.bytes), and its compression. */
  keptBytes?: number
  keptCompression?: string
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

export interface BuiltDatabase {
  spec: SizeSpec
  database: string
  bytes: number
  pgbenchBytes: number
  wideBytes: number
  buildSeconds: number
}

// Options

export interface Options {
  sizes: SizeSpec[]
  variants: Variant[]
  repeat: number
  keep: boolean
  /** Measure dist/index.js as committed at this git revision instead of the working tree's. */
  bundleRevision?: string
}

export function parseOptions(argv: string[]): Options {
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
