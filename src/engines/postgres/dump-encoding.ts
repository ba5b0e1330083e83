/**
 * The drill reads a dump as bytes: every byte becomes one latin1 character and back, so a dump in
 * any server encoding passes through a rewriter unchanged (drill/rewrite.ts). Names from the
 * catalog are text, so they are matched in the dump by their bytes in the dump's encoding
 * (production's database encoding: pg_dump writes in it), which the server spells out
 * (readDrillCatalog); what a rewriter reports is decoded back here, once, for people. Pure.
 */

/**
 * PostgreSQL's server encodings by the WHATWG label of Node's TextDecoder. LATIN1 and SQL_ASCII
 * are left out: LATIN1 bytes already read right as latin1 characters, and SQL_ASCII declares no
 * encoding at all (UTF-8 is tried, else the bytes stay as they are).
 */
const DECODER_LABELS: Record<string, string> = {
  UTF8: 'utf-8',
  LATIN2: 'iso-8859-2',
  LATIN3: 'iso-8859-3',
  LATIN4: 'iso-8859-4',
  LATIN5: 'iso-8859-9',
  LATIN6: 'iso-8859-10',
  LATIN7: 'iso-8859-13',
  LATIN8: 'iso-8859-14',
  LATIN9: 'iso-8859-15',
  LATIN10: 'iso-8859-16',
  ISO_8859_5: 'iso-8859-5',
  ISO_8859_6: 'iso-8859-6',
  ISO_8859_7: 'iso-8859-7',
  ISO_8859_8: 'iso-8859-8',
  WIN866: 'ibm866',
  WIN874: 'windows-874',
  WIN1250: 'windows-1250',
  WIN1251: 'windows-1251',
  WIN1252: 'windows-1252',
  WIN1253: 'windows-1253',
  WIN1254: 'windows-1254',
  WIN1255: 'windows-1255',
  WIN1256: 'windows-1256',
  WIN1257: 'windows-1257',
  WIN1258: 'windows-1258',
  KOI8R: 'koi8-r',
  KOI8U: 'koi8-u',
  EUC_JP: 'euc-jp',
  EUC_JIS_2004: 'euc-jp',
  EUC_KR: 'euc-kr',
  EUC_CN: 'gbk'
}

/**
 * Text read from the dump as bytes (one latin1 character per byte), decoded as the dump's
 * `encoding` (a PostgreSQL encoding name). Bytes that do not decode stay as they are.
 */
export function decodeDumpText(bytes: string, encoding: string): string {
  // Nothing but ASCII, or characters that are not bytes: nothing to decode.
  if (!/[\x80-\xff]/.test(bytes) || /[^\x00-\xff]/.test(bytes)) return bytes
  const normalized = encoding.toUpperCase().replace(/-/g, '_')
  if (normalized === 'LATIN1') return bytes
  const label = DECODER_LABELS[normalized] ?? (normalized === 'SQL_ASCII' ? 'utf-8' : undefined)
  if (!label) return bytes
  try {
    return new TextDecoder(label, { fatal: true }).decode(Buffer.from(bytes, 'latin1'))
  } catch {
    return bytes
  }
}

/**
 * SQL that spells each name of `$1` (text[]) as bytes in the database encoding, which is the
 * dump's: `name` and `bytes` (bytea) per row. convert_to with the database's own encoding (or
 * SQL_ASCII) converts nothing: the bytes are the ones the catalog stores.
 */
export const NAME_BYTES_SQL = `
SELECT n AS name, pg_catalog.convert_to(n, pg_catalog.current_setting('server_encoding')) AS bytes
FROM pg_catalog.unnest($1::pg_catalog.text[]) AS n`

/** Names whose bytes differ from their characters (anything but ASCII), as latin1 strings of their bytes. */
export function dumpSpellings(rows: { name: string; bytes: Buffer }[]): Map<string, string> {
  const spellings = new Map<string, string>()
  for (const row of rows) {
    const bytes = row.bytes.toString('latin1')
    if (bytes !== row.name) spellings.set(row.name, bytes)
  }
  return spellings
}
