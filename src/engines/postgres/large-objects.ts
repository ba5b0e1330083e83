import type { Queryable } from './queryable.js'
import type { SchemaObject } from './schema-fingerprint.js'

/**
 * Large objects are data that pg_dump writes outside any table (lo_create, lo_open, lowrite),
 * under the OIDs they have in production. Each is compared by its OID, its size and an md5
 * of its content, computed on the server a megabyte at a time: an object never travels to the
 * action, and the server never holds more than one chunk of it. Read inside production's
 * snapshot, lo_get sees the objects as the dump did. Their comments are compared with the other
 * comments (`comment large object 16401`).
 */

/** How much of an object the server reads at a time. */
const CHUNK_BYTES = 1024 * 1024

/**
 * One row per large object. The recursive query walks an object chunk by chunk until a short
 * chunk, keeping only each chunk's size and md5; the object's md5 is the md5 of those, in order.
 */
const LARGE_OBJECTS_SQL = `
SELECT 'large object' AS kind, m.oid::text AS name,
  (WITH RECURSIVE chunk(position, bytes, digest) AS (
     SELECT 0::int8, pg_catalog.length(c.data), pg_catalog.md5(c.data)
     FROM (SELECT pg_catalog.lo_get(m.oid, 0, ${CHUNK_BYTES}) AS data) AS c
     UNION ALL
     SELECT k.position + ${CHUNK_BYTES}, pg_catalog.length(c.data), pg_catalog.md5(c.data)
     FROM chunk k CROSS JOIN LATERAL (SELECT pg_catalog.lo_get(m.oid, k.position + ${CHUNK_BYTES}, ${CHUNK_BYTES}) AS data) AS c
     WHERE k.bytes = ${CHUNK_BYTES})
   SELECT sum(bytes) || ' bytes, md5 ' || pg_catalog.md5(string_agg(digest, '' ORDER BY position)) FROM chunk) AS definition
FROM pg_catalog.pg_largeobject_metadata m
ORDER BY m.oid`

/** Every large object of the connected database, as schema objects of kind `large object` named by OID. */
export async function readLargeObjects(db: Queryable): Promise<SchemaObject[]> {
  return db.query<SchemaObject>(LARGE_OBJECTS_SQL)
}
