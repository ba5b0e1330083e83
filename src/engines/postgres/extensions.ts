import { describe, type ConnectionTarget } from './connection.js'
import { UserError } from '../../util/errors.js'
import type { Queryable } from './queryable.js'
import { compareText } from '../../util/text-order.js'
import type { EnvironmentDifference } from '../types.js'

/**
 * Whether the clean room can hold what production uses, checked before anything is dumped: the
 * extensions installed in production's database against those the clean-room server ships. An
 * extension the clean room lacks would stop the restore on CREATE EXTENSION ("could not open
 * extension control file"), which says nothing about the backup; a version it installs
 * differently is a difference of the two servers, not of the backup.
 */

export interface InstalledExtension {
  name: string
  version: string
}

export interface AvailableExtension {
  name: string
  /** What CREATE EXTENSION without VERSION installs: what the dump's CREATE EXTENSION gets. */
  defaultVersion: string
  /** Every version the clean room can install. */
  versions: string[]
}

export interface ExtensionCheck {
  missing: InstalledExtension[]
  differences: EnvironmentDifference[]
}

/** Images that ship the extensions most often missing from a plain postgres image. */
const IMAGE_HINTS: Record<string, string> = {
  postgis: 'postgis/postgis',
  postgis_topology: 'postgis/postgis',
  postgis_raster: 'postgis/postgis',
  postgis_tiger_geocoder: 'postgis/postgis',
  address_standardizer: 'postgis/postgis',
  timescaledb: 'timescale/timescaledb',
  vector: 'pgvector/pgvector',
  pgrouting: 'pgrouting/pgrouting',
  citus: 'citusdata/citus'
}

export async function readInstalledExtensions(production: Queryable): Promise<InstalledExtension[]> {
  const rows = await production.query<InstalledExtension>(
    'SELECT extname AS name, extversion AS version FROM pg_catalog.pg_extension'
  )
  return rows.sort((a, b) => compareText(a.name, b.name))
}

export async function readAvailableExtensions(cleanroom: Queryable): Promise<AvailableExtension[]> {
  const rows = await cleanroom.query<{ name: string; default_version: string | null; versions: string[] | null }>(
    `SELECT a.name, a.default_version,
       (SELECT pg_catalog.array_agg(v.version ORDER BY v.version) FROM pg_catalog.pg_available_extension_versions v
        WHERE v.name = a.name) AS versions
     FROM pg_catalog.pg_available_extensions a`
  )
  return rows.map(row => ({ name: row.name, defaultVersion: row.default_version ?? '', versions: row.versions ?? [] }))
}

/** Production's extensions against the clean room's: which are missing, which would restore at another version. */
export function compareExtensions(installed: InstalledExtension[], available: AvailableExtension[]): ExtensionCheck {
  const offered = new Map(available.map(extension => [extension.name, extension]))
  const missing: InstalledExtension[] = []
  const differences: EnvironmentDifference[] = []
  for (const extension of installed) {
    const there = offered.get(extension.name)
    if (!there || there.versions.length === 0) {
      missing.push(extension)
      continue
    }
    if (there.defaultVersion === extension.version) continue
    const installable = there.versions.includes(extension.version)
    differences.push({
      kind: 'extension',
      name: extension.name,
      production: extension.version,
      cleanroom: there.defaultVersion,
      detail: installable
        ? `the dump's CREATE EXTENSION installs the clean room's default version ${there.defaultVersion}, not production's ${extension.version}`
        : `the clean room cannot install production's version ${extension.version} (it offers ${there.versions.join(', ')}) ` +
          `and installs ${there.defaultVersion}`
    })
  }
  return { missing, differences }
}

/** The error for extensions the clean room lacks: each with production's version, what the clean room offers, and where to get it. */
export function missingExtensionsError(missing: InstalledExtension[], cleanroom: ConnectionTarget): UserError {
  const listed = missing.map(extension => `${extension.name} ${extension.version}`).join(', ')
  const images = [...new Set(missing.map(extension => IMAGE_HINTS[extension.name]).filter(Boolean))]
  const image =
    images.length > 0
      ? ` (for ${missing
          .filter(extension => IMAGE_HINTS[extension.name])
          .map(extension => extension.name)
          .join(', ')}: an image such as ${images.join(', ')})`
      : ''
  return new UserError(
    `The clean room (${describe(cleanroom)}, '${cleanroom.inputName}') lacks extension(s) that production uses: ${listed}; ` +
      `it offers no version of ${missing.length === 1 ? 'it' : 'them'}, so the restore would fail on CREATE EXTENSION, ` +
      `whatever the backup holds. Run the clean room on a server or image that ships ${missing.length === 1 ? 'it' : 'them'}` +
      `${image}, with production's major version.`
  )
}
