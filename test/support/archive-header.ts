/**
 * The header a newer pg_dump writes at the start of a custom archive and of a directory
 * archive's toc.dat, byte for byte as pg_backup_archiver.c WriteHead (REL_18_STABLE) writes it:
 * "PGDMP", the archive version (major, minor, revision), the sizes of an int and of a file
 * offset, the format, since 1.15 the compression algorithm as one byte (before: the level as an
 * int), the creation time as seven ints (struct tm), then the database name, the server's
 * version and pg_dump's own, as strings. An int is a sign byte and intSize bytes, least
 * significant first (WriteInt); a string is its length as an int, then its bytes (WriteStr).
 * Only pg_dump 15 is installed here: this is how a test gets an archive of pg_dump 17 or 18.
 */

/** pg_backup.h ArchiveFormat. */
const FORMAT_CODE = { custom: 1, tar: 3, directory: 5 } as const
const INT_SIZE = 4
const OFFSET_SIZE = 8

function writeInt(value: number): Buffer {
  const buffer = Buffer.alloc(1 + INT_SIZE)
  buffer[0] = value < 0 ? 1 : 0
  buffer.writeUInt32LE(Math.abs(value), 1)
  return buffer
}

function writeStr(value: string): Buffer {
  const bytes = Buffer.from(value, 'utf8')
  return Buffer.concat([writeInt(bytes.length), bytes])
}

export function newerArchiveHeader(opts: {
  format: keyof typeof FORMAT_CODE
  minor: number
  database: string
  serverVersion: string
  pgDumpVersion: string
}): Buffer {
  const created = new Date(Date.UTC(2026, 10, 30, 6, 0, 0))
  return Buffer.concat([
    Buffer.from('PGDMP'),
    Buffer.from([1, opts.minor, 0, INT_SIZE, OFFSET_SIZE, FORMAT_CODE[opts.format]]),
    // PG_COMPRESSION_NONE: the compression algorithm, one byte since archive version 1.15.
    Buffer.from([0]),
    ...[
      created.getUTCSeconds(),
      created.getUTCMinutes(),
      created.getUTCHours(),
      created.getUTCDate(),
      created.getUTCMonth(),
      created.getUTCFullYear() - 1900,
      0
    ].map(writeInt),
    writeStr(opts.database),
    writeStr(opts.serverVersion),
    writeStr(opts.pgDumpVersion)
  ])
}
