import * as fs from 'node:fs'
import * as path from 'node:path'
import * as zlib from 'node:zlib'
import { UserError, messageOf } from '../../util/errors.js'

/**
 * What a stored backup is, told by its content, never by its name: a file called backup.sql may
 * well be a custom archive, and a renamed file must not fool the verifier into the wrong tool.
 * pg_dump's formats announce themselves: custom archives and a directory archive's toc.dat start
 * with the magic string PGDMP, tar archives carry "ustar" at offset 257, gzip starts with 1f 8b,
 * and a plain dump is text that opens with pg_dump's "PostgreSQL database dump" banner.
 */

export type BackupFormat = 'plain' | 'custom' | 'directory' | 'tar'

/** The formats Lazarus writes a backup it keeps in (backup-format): pg_dump's, less tar, which pg_dump cannot stream. */
export const KEPT_FORMATS = ['custom', 'directory', 'plain'] as const
export type KeptFormat = (typeof KEPT_FORMATS)[number]

export interface StoredBackup {
  /** As given (backup-path), for messages. */
  path: string
  format: BackupFormat
  /** A plain dump compressed with gzip (pg_dump -Fp -Z, or gzip afterwards). */
  gzip: boolean
  /** Bytes on disk, every file of a directory archive together. */
  bytes: number
}

/** How much of the start of a file is read to recognise it. */
export const HEAD_BYTES = 64 * 1024

const ARCHIVE_MAGIC = Buffer.from('PGDMP')
const GZIP_MAGIC = Buffer.from([0x1f, 0x8b])
const ZSTD_MAGIC = Buffer.from([0x28, 0xb5, 0x2f, 0xfd])
const LZ4_MAGIC = Buffer.from([0x04, 0x22, 0x4d, 0x18])
const TAR_MAGIC = Buffer.from('ustar')
const TAR_MAGIC_OFFSET = 257
/** pg_dump's plain output opens with this banner; pg_dumpall's with the cluster one. */
const PLAIN_BANNER = '-- PostgreSQL database dump'
const CLUSTER_BANNER = '-- PostgreSQL database cluster dump'
/** And ends with this line, unless it was cut short. */
export const PLAIN_FOOTER = '-- PostgreSQL database dump complete'

export type HeadKind = { kind: 'custom' | 'tar' | 'plain' | 'gzip' } | { problem: string }

/** Recognises the first bytes of a backup file (at most HEAD_BYTES). Pure. */
export function classifyHead(head: Buffer): HeadKind {
  if (head.length === 0) return { problem: 'it is empty' }
  if (startsWith(head, ARCHIVE_MAGIC)) return { kind: 'custom' }
  if (startsWith(head, GZIP_MAGIC)) return { kind: 'gzip' }
  if (startsWith(head, ZSTD_MAGIC) || startsWith(head, LZ4_MAGIC)) {
    const tool = startsWith(head, ZSTD_MAGIC) ? 'zstd' : 'lz4'
    return {
      problem: `it is ${tool}-compressed, which Lazarus does not read: decompress it (${tool} -d) first, or keep backups in pg_dump's custom or directory format`
    }
  }
  if (head.length >= TAR_MAGIC_OFFSET + TAR_MAGIC.length && startsWith(head.subarray(TAR_MAGIC_OFFSET), TAR_MAGIC)) {
    return { kind: 'tar' }
  }
  // Text only: the banner sits in the first lines (after \restrict in recent dumps), never after a NUL byte.
  if (head.includes(0)) return { problem: notABackup }
  const text = head.toString('latin1')
  if (text.includes(CLUSTER_BANNER)) {
    return {
      problem:
        "it is pg_dumpall's dump of a whole cluster, not one database's backup: verify each database's pg_dump backup instead"
    }
  }
  if (text.includes(PLAIN_BANNER)) return { kind: 'plain' }
  return { problem: notABackup }
}

const notABackup =
  "it is not a PostgreSQL backup (neither pg_dump's plain SQL, optionally gzip-compressed, nor a custom, directory or tar archive)"

/**
 * Reads what `file` is. Throws one UserError naming the file and the cause for anything that is
 * not a backup Lazarus can restore: missing, empty, a wrong file, a corrupt gzip header, a
 * compressed archive, a plain dump cut short before pg_dump's closing line.
 */
export function detectBackup(file: string, inputName = 'backup-path'): StoredBackup {
  const fail = (cause: string) => new UserError(`Input '${inputName}' is '${file}': ${cause}.`)
  let stat: fs.Stats
  try {
    stat = fs.statSync(file)
  } catch (error) {
    throw fail(`it cannot be read (${messageOf(error)}): point it at a pg_dump backup file or directory`)
  }
  if (stat.isDirectory()) {
    const toc = path.join(file, 'toc.dat')
    if (!fs.existsSync(toc)) {
      throw fail("it is a directory without pg_dump's toc.dat, so not a directory-format archive: point it at the backup itself")
    }
    if (!fs.statSync(toc).isFile())
      throw fail('its toc.dat is not a file (a pipe, socket, device or directory): the archive is damaged')
    const head = readHead(toc, fail)
    if (!startsWith(head, ARCHIVE_MAGIC)) throw fail("its toc.dat is not pg_dump's (no PGDMP header): the archive is damaged")
    return { path: file, format: 'directory', gzip: false, bytes: directoryBytes(file) }
  }
  // A named pipe or a device would block the read below, or never end: a backup is a file.
  if (!stat.isFile()) throw fail('it is neither a file nor a directory (a pipe, socket or device): point it at the backup itself')
  const head = readHead(file, fail)
  const kind = classifyHead(head)
  if ('problem' in kind) throw fail(kind.problem)
  if (kind.kind !== 'gzip') {
    if (kind.kind === 'plain') assertPlainComplete(file, stat.size, fail)
    return { path: file, format: kind.kind, gzip: false, bytes: stat.size }
  }
  const inner = classifyHead(gunzipHead(head, fail))
  if ('problem' in inner) throw fail(`it is gzip-compressed, and inside ${inner.problem.replace(/^it is /, 'is ')}`)
  if (inner.kind !== 'plain') {
    throw fail(
      `it is a gzip-compressed ${inner.kind === 'tar' ? 'tar' : 'custom'} archive, which pg_restore cannot read: decompress it (gunzip) first`
    )
  }
  return { path: file, format: 'plain', gzip: true, bytes: stat.size }
}

function startsWith(buffer: Buffer, prefix: Buffer): boolean {
  return buffer.length >= prefix.length && buffer.subarray(0, prefix.length).equals(prefix)
}

function readHead(file: string, fail: (cause: string) => UserError): Buffer {
  let fd: number | undefined
  try {
    fd = fs.openSync(file, 'r')
    const buffer = Buffer.alloc(HEAD_BYTES)
    const read = fs.readSync(fd, buffer, 0, HEAD_BYTES, 0)
    return buffer.subarray(0, read)
  } catch (error) {
    throw fail(`it cannot be read (${messageOf(error)})`)
  } finally {
    if (fd !== undefined) fs.closeSync(fd)
  }
}

/** The decompressed start of a gzip stream; a damaged header is a gzip error. */
function gunzipHead(head: Buffer, fail: (cause: string) => UserError): Buffer {
  try {
    // A prefix of the stream: flush what decompresses instead of demanding its end.
    return zlib.gunzipSync(head, { finishFlush: zlib.constants.Z_SYNC_FLUSH }).subarray(0, HEAD_BYTES)
  } catch (error) {
    throw fail(`it starts like gzip but does not decompress (gzip error: ${messageOf(error)})`)
  }
}

/** A plain dump cut short still restores what it holds: only its missing closing line tells. */
function assertPlainComplete(file: string, size: number, fail: (cause: string) => UserError): void {
  const tailBytes = Math.min(size, 4096)
  const fd = fs.openSync(file, 'r')
  try {
    const tail = Buffer.alloc(tailBytes)
    fs.readSync(fd, tail, 0, tailBytes, size - tailBytes)
    if (!hasPlainFooter(tail.toString('latin1'))) {
      throw fail(`it is truncated: the plain dump ends before pg_dump's closing line ('${PLAIN_FOOTER}')`)
    }
  } finally {
    fs.closeSync(fd)
  }
}

/** Whether the end of a plain dump holds pg_dump's closing line (followed only by its comment frame and \unrestrict). Pure. */
export function hasPlainFooter(tail: string): boolean {
  const at = tail.lastIndexOf(PLAIN_FOOTER)
  if (at < 0) return false
  const after = tail.slice(at + PLAIN_FOOTER.length)
  return /^\s*(--\s*)?(\\unrestrict [A-Za-z0-9]+\s*)?$/.test(after)
}

function directoryBytes(dir: string): number {
  let total = 0
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (entry.isFile()) total += fs.statSync(path.join(dir, entry.name)).size
  }
  return total
}
