import { UserError } from '../../util/errors.js'
import type { KeptFormat } from './backup-format.js'
import type { ClientTool } from './pg-tools.js'

/**
 * How pg_dump compresses a kept archive (input backup-compression), in pg_dump's own terms.
 * pg_dump 16 takes `--compress=METHOD[:DETAIL]` (src/common/compression.c: a bare integer is a
 * gzip level, 0 none; DETAIL is a level or `level=N`); pg_dump 15 and older take only a gzip
 * level 0 to 9 and write gzip alone. Lazarus passes gzip and none as that bare integer, which every
 * pg_dump reads alike, and lz4 and zstd by name, which only pg_dump 16 or later writes. Pure.
 */

export type CompressionMethod = 'none' | 'gzip' | 'lz4' | 'zstd'

export interface DumpCompression {
  method: CompressionMethod
  /** The method's level; undefined for none, and for lz4 and zstd at pg_dump's own default. */
  level?: number
}

/**
 * Levels pg_dump 16 accepts (validate_compress_specification): gzip 1 to 9, lz4 1 to 12 (its
 * default is the fast mode), zstd up to ZSTD_maxCLevel() (22; zstd's negative "fast" levels are
 * left out: below 1 they trade ratio for speed that lz4 already offers).
 */
const LEVELS: Record<Exclude<CompressionMethod, 'none'>, { min: number; max: number }> = {
  gzip: { min: 1, max: 9 },
  lz4: { min: 1, max: 12 },
  zstd: { min: 1, max: 22 }
}

/**
 * The archive formats' compression when backup-compression is empty. Measured
 * (docs/performance.md, bench/RESULTS.md): at 1.1 GiB, gzip level 1 cost the same CPU as none
 * (what it spends deflating, none spends writing and hashing a file 5.4 times larger), half
 * the client CPU of pg_dump's default level 6 (an earlier measurement), and kept a custom restore
 * point within 1.26x the streamed run, for a file a fifth of none's.
 */
export const DEFAULT_KEEP_COMPRESSION: DumpCompression = { method: 'gzip', level: 1 }

/** gzip without a level: zlib's default (Z_DEFAULT_COMPRESSION), what pg_dump writes when not told. */
export const GZIP_DEFAULT_LEVEL = 6

/** The first pg_dump major that writes each method. */
const WRITTEN_SINCE: Record<CompressionMethod, number> = { none: 0, gzip: 0, lz4: 16, zstd: 16 }

/** What the input accepts, for messages. */
export const COMPRESSION_CHOICES = 'none, gzip, gzip:1 to gzip:9, lz4 or lz4:1 to lz4:12, zstd or zstd:1 to zstd:22'

/**
 * Reads a compression as `METHOD[:LEVEL]` (`LEVEL` also as `level=N`, as pg_dump takes it), or
 * pg_dump's bare `0` to `9` (0 none, else a gzip level). Case and blanks around it do not matter.
 * A bad value is one UserError naming `input` and what it takes.
 */
export function parseDumpCompression(raw: string, input: string): DumpCompression {
  const value = raw.trim().toLowerCase()
  const bad = (why: string) => new UserError(`Input '${input}' is '${raw}': ${why}.`)
  if (/^\d$/.test(value)) return value === '0' ? { method: 'none' } : { method: 'gzip', level: Number(value) }
  const match = /^(none|gzip|lz4|zstd)(?::(?:level=)?(-?\d+))?$/.exec(value)
  if (!match) {
    throw bad(`use ${COMPRESSION_CHOICES} (lz4 and zstd need pg_dump 16 or later)`)
  }
  const method = match[1] as CompressionMethod
  if (method === 'none') {
    if (match[2] !== undefined) throw bad('none takes no level: write none')
    return { method }
  }
  if (match[2] === undefined) return method === 'gzip' ? { method, level: GZIP_DEFAULT_LEVEL } : { method }
  const level = Number(match[2])
  const { min, max } = LEVELS[method]
  if (level < min || level > max) throw bad(`${method} takes a level from ${min} to ${max} (e.g. ${method}:${min})`)
  return { method, level }
}

/**
 * Why a restore point is not kept in `format` with `compression` (the end of backup-compression's
 * one-line error), or undefined: a plain backup is kept as pg_dump's SQL, uncompressed, so that
 * no one believes compressed a backup that is not.
 */
export function refusedKeepCompression(format: KeptFormat, compression: DumpCompression): string | undefined {
  if (format === 'plain' && compression.method !== 'none')
    return (
      `but 'backup-format' is plain, which Lazarus keeps uncompressed (pg_dump's SQL as it was restored): ` +
      `use backup-format custom or directory for a compressed backup, or remove backup-compression`
    )
  return undefined
}

/** pg_dump's --compress value: a bare gzip level (0 for none), which every pg_dump takes; lz4 and zstd by name. */
export function compressArgument(compression: DumpCompression): string {
  switch (compression.method) {
    case 'none':
      return '0'
    case 'gzip':
      return String(compression.level ?? GZIP_DEFAULT_LEVEL)
    case 'lz4':
    case 'zstd':
      return compression.level === undefined ? compression.method : `${compression.method}:${compression.level}`
  }
}

/** The compression as a manifest records it, from pg_dump's --compress value: `none`, `gzip:N`, `lz4`, `zstd:N`... */
export function describeCompressArgument(compress: string): string {
  if (compress === '0') return 'none'
  if (/^\d+$/.test(compress)) return `gzip:${compress}`
  return compress
}

/**
 * Refuses, before anything is dumped, a compression the pg_dump that will run cannot write: one
 * line naming its version and what to do. Without this, pg_dump 15 would fail on `--compress=zstd`
 * only once the run had connected, and say only "invalid compression level".
 */
export function requireCompressionSupport(compression: DumpCompression, pgDump: ClientTool, input: string): void {
  const since = WRITTEN_SINCE[compression.method]
  if (pgDump.major >= since) return
  throw new UserError(
    `Input '${input}' is '${compressArgument(compression)}', which pg_dump writes from PostgreSQL ${since} on; the pg_dump this run ` +
      `uses is ${pgDump.version} (${pgDump.path}), which writes only gzip: choose none or gzip (e.g. gzip:1), or install ` +
      `postgresql-client-${since} or newer and point postgres-bin-dir at its bin directory (/usr/lib/postgresql/${since}/bin on Debian and Ubuntu).`
  )
}
