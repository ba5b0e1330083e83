export const id = 39;
export const ids = [39];
export const modules = {

/***/ 96039:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

// ESM COMPAT FLAG
__webpack_require__.r(__webpack_exports__);

// EXPORTS
__webpack_require__.d(__webpack_exports__, {
  postgres: () => (/* binding */ postgres)
});

// EXTERNAL MODULE: ./src/util/errors.ts
var errors = __webpack_require__(70017);
;// CONCATENATED MODULE: ./src/engines/postgres/figure-queries.ts
/**
 * How checksumSql hashes a column's values. A type's own 64-bit hash function is used only where
 * two values it hashes alike are identical (so not numeric, where 1.0 = 1.00, nor float, where
 * -0 = 0, nor jsonb, interval or arrays). `char` is char(n): its values are always padded to n,
 * so the blank-insensitive bpchar hash still tells every two stored values apart.
 *
 * The others are hashed by their text output, as pg_dump writes them: `output` columns one by one
 * through `::text`, for built-in types whose cast to text is exactly their output function (json's
 * is its stored text); `text form` columns (domains, enums, extension and composite types, whose
 * casts to text a user may have redefined) together, through their row's text.
 */
const COLUMN_HASHINGS = [
    'int2',
    'int4',
    'int8',
    'bool',
    'text',
    'char',
    'timestamp',
    'timestamptz',
    'time',
    'uuid',
    'output',
    'text form'
];
/** pg_attribute's type and typmod (alias `a`) to a ColumnHashing; the exact types only, never a domain over them. */
const COLUMN_HASHING_SQL = `CASE
    WHEN a.atttypid = 'pg_catalog.int2'::pg_catalog.regtype THEN 'int2'
    WHEN a.atttypid = 'pg_catalog.int4'::pg_catalog.regtype THEN 'int4'
    WHEN a.atttypid = 'pg_catalog.int8'::pg_catalog.regtype THEN 'int8'
    WHEN a.atttypid = 'pg_catalog.bool'::pg_catalog.regtype THEN 'bool'
    WHEN a.atttypid IN ('pg_catalog.text'::pg_catalog.regtype, 'pg_catalog.varchar'::pg_catalog.regtype) THEN 'text'
    WHEN a.atttypid = 'pg_catalog.bpchar'::pg_catalog.regtype AND a.atttypmod >= 0 THEN 'char'
    WHEN a.atttypid = 'pg_catalog.timestamp'::pg_catalog.regtype THEN 'timestamp'
    WHEN a.atttypid = 'pg_catalog.timestamptz'::pg_catalog.regtype THEN 'timestamptz'
    WHEN a.atttypid = 'pg_catalog.time'::pg_catalog.regtype THEN 'time'
    WHEN a.atttypid = 'pg_catalog.uuid'::pg_catalog.regtype THEN 'uuid'
    WHEN a.atttypid IN ('pg_catalog.numeric'::pg_catalog.regtype, 'pg_catalog.float4'::pg_catalog.regtype,
                        'pg_catalog.float8'::pg_catalog.regtype, 'pg_catalog.date'::pg_catalog.regtype,
                        'pg_catalog.interval'::pg_catalog.regtype, 'pg_catalog.timetz'::pg_catalog.regtype,
                        'pg_catalog.money'::pg_catalog.regtype, 'pg_catalog.bytea'::pg_catalog.regtype,
                        'pg_catalog.jsonb'::pg_catalog.regtype, 'pg_catalog.json'::pg_catalog.regtype)
      -- Arrays of built-in types print through array_out, element by element.
      OR EXISTS (SELECT 1 FROM pg_catalog.pg_type ty WHERE ty.oid = a.atttypid AND ty.typcategory = 'A'
                 AND ty.typnamespace = 'pg_catalog'::pg_catalog.regnamespace) THEN 'output'
    ELSE 'text form'
  END`;
/**
 * Session settings that make every type's text output identical on both servers, whatever their
 * configuration: dates, time zones, floats, bytea, intervals, money; and reads that see every row.
 */
const PINNED_SETTINGS = [
    ['DateStyle', 'ISO, MDY'],
    ['TimeZone', 'UTC'],
    ['IntervalStyle', 'postgres'],
    ['extra_float_digits', '3'],
    ['bytea_output', 'hex'],
    ['lc_monetary', 'C'],
    ['search_path', 'pg_catalog'],
    // A read that a row-level security policy would filter fails instead of counting fewer rows,
    // as pg_dump's does (see row-security.ts).
    ['row_security', 'off']
];
function pinSettingsSql() {
    return PINNED_SETTINGS.map(([name, value]) => `SET ${name} = ${quoteLiteral(value)};`).join('\n');
}
/** Namespaces that hold user objects (`alias` is a pg_namespace row). */
function userNamespaceSql(alias) {
    return `${alias}.nspname NOT IN ('pg_catalog', 'information_schema')
    AND ${alias}.nspname NOT LIKE 'pg\\_toast%' AND ${alias}.nspname NOT LIKE 'pg\\_temp\\_%'`;
}
/** Whether an object is not part of an extension: pg_dump recreates those with CREATE EXTENSION, not one by one. */
function notInExtensionSql(catalog, oid) {
    return `NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend e WHERE e.classid = '${catalog}'::pg_catalog.regclass
                      AND e.objid = ${oid} AND e.deptype = 'e')`;
}
/** A user relation (`relation` a pg_class row, `namespace` its pg_namespace row): what pg_dump dumps and Lazarus compares. */
function userRelationSql(relation, namespace) {
    return `${userNamespaceSql(namespace)} AND ${notInExtensionSql('pg_catalog.pg_class', `${relation}.oid`)}`;
}
/** The configuration condition of a table its extension marked with pg_extension_config_dump (`c` a pg_class row). */
const EXTENSION_CONFIG_FILTER_SQL = `(SELECT coalesce(x.extcondition[pg_catalog.array_position(x.extconfig, c.oid)], '')
   FROM pg_catalog.pg_extension x WHERE c.oid = ANY (x.extconfig) LIMIT 1)`;
/**
 * Partitioned tables whose rows a restore routes to partitions afresh (pg_dump loads their data
 * through the partition root): those hash-partitioned by an enum. An enum hashes by its values'
 * OIDs, which a restore assigns anew, so a row may land in another partition than in production
 * though no row is lost or changed. This is pg_dump's own test (getPartitioningInfo, 11+ and
 * every minor release since May 2023). `p` is a pg_class row.
 */
const REROUTED_PARTITIONS_SQL = (p) => `EXISTS (SELECT 1 FROM pg_catalog.pg_partitioned_table pt
  WHERE pt.partrelid = ${p}.oid
    AND (SELECT oc.oid FROM pg_catalog.pg_opclass oc JOIN pg_catalog.pg_am am ON am.oid = oc.opcmethod
         WHERE oc.opcname = 'enum_ops' AND oc.opcnamespace = 'pg_catalog'::pg_catalog.regnamespace AND am.amname = 'hash')
        = ANY (pt.partclass))`;
/** Whether a relation (`c`) is a partition somewhere under a partitioned table REROUTED_PARTITIONS_SQL names. */
const UNDER_REROUTED_SQL = `EXISTS (
  WITH RECURSIVE ancestors(relid) AS (
    SELECT i.inhparent FROM pg_catalog.pg_inherits i WHERE i.inhrelid = c.oid AND c.relispartition
    UNION
    SELECT i.inhparent FROM ancestors an JOIN pg_catalog.pg_inherits i ON i.inhrelid = an.relid)
  SELECT 1 FROM ancestors an JOIN pg_catalog.pg_class ap ON ap.oid = an.relid WHERE ${REROUTED_PARTITIONS_SQL('ap')})`;
/**
 * Every ordinary table, leaf partition and materialized view outside the system schemas and
 * outside extensions (whose data pg_dump does not dump), plus the extensions' configuration
 * tables, whose rows pg_dump does dump (those its extension's condition selects). Partitioned
 * parents hold no rows of their own: their partitions are compared one by one, except under a
 * partitioned table whose rows the restore routes afresh (REROUTED_PARTITIONS_SQL): the highest
 * such table is compared as a whole (kind `p`) and its partitions are not listed.
 */
const LIST_TABLES_SQL = `
SELECT n.nspname AS schema, c.relname AS name, c.relkind AS kind, c.relispopulated AS populated,
       (CASE WHEN c.relkind = 'p'
             THEN (SELECT sum(pg_catalog.pg_relation_size(tree.relid)) FROM pg_catalog.pg_partition_tree(c.oid) AS tree)
             ELSE pg_catalog.pg_relation_size(c.oid) END)::float8 AS bytes, ${EXTENSION_CONFIG_FILTER_SQL} AS filter,
       coalesce((SELECT json_agg(json_build_object('name', a.attname, 'hashing', ${COLUMN_HASHING_SQL}))
                 FROM pg_catalog.pg_attribute a
                 WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped), '[]') AS columns
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE (c.relkind IN ('r', 'm') OR (c.relkind = 'p' AND ${REROUTED_PARTITIONS_SQL('c')}))
  AND NOT ${UNDER_REROUTED_SQL} AND ${userNamespaceSql('n')}
  AND (${notInExtensionSql('pg_catalog.pg_class', 'c.oid')} OR ${EXTENSION_CONFIG_FILTER_SQL} IS NOT NULL)
`;
function quoteIdent(identifier) {
    return '"' + identifier.replace(/"/g, '""') + '"';
}
function quoteLiteral(value) {
    return "'" + value.replace(/'/g, "''") + "'";
}
function qualifiedName(table) {
    return `${quoteIdent(table.schema)}.${quoteIdent(table.name)}`;
}
/**
 * The rows a table holds itself: ONLY, since an inheritance parent's children are compared as
 * tables of their own; a partitioned table compared as a whole (kind `p`) holds its partitions' rows.
 */
function rowSourceSql(table) {
    return `${table.kind === 'p' ? '' : 'ONLY '}${qualifiedName(table)}`;
}
/** Row count only. */
function countSql(table) {
    return `SELECT count(*)::text AS rows FROM ${rowSourceSql(table)} AS t ${rowFilter(table)}`;
}
/**
 * Row count plus the sum of a 64-bit hash of each row. A sum is independent of row order yet,
 * unlike XOR, counts a duplicated row twice; a corruption that leaves a 64-bit sum unchanged is
 * a 1 in 2^64 chance.
 */
function checksumSql(table) {
    return `SELECT count(*)::text AS rows, coalesce(sum(${rowHashSql(table.columns)}), 0)::text AS sum
FROM ${rowSourceSql(table)} AS t ${rowFilter(table)}`;
}
/**
 * The rows of a table that a dump holds: all of them, or for an extension's configuration table
 * those its condition selects, a `WHERE` clause the extension wrote, which pg_dump appends to
 * its own query the same way.
 */
function rowFilter(table) {
    return table.filter ?? '';
}
/**
 * A 64-bit hash of a row (alias `t`) that changes when any one value does, NULL and '' included.
 * Each column but the `text form` ones is hashed with its own seed (its place among the columns),
 * so equal values in two columns, or swapped between them, hash differently; a NULL gets a
 * constant of its own. The `text form` columns are hashed together by their row's text form.
 * The parts are XORed, then hashed once more: an XOR alone would let a value swapped between two
 * rows of one column leave the sum unchanged far more often than 1 in 2^64.
 *
 * This is about three times cheaper than hashing the whole row's text (int and char(n) columns
 * need no text output at all, and one text per column skips the row's quoting), and the text
 * output is what a checksum spends its time on.
 */
function rowHashSql(columns) {
    const parts = [];
    columns.forEach((column, index) => {
        if (column.hashing === 'text form')
            return;
        const seed = index + 1;
        parts.push(`coalesce(${columnHashSql(quoteIdent(column.name), column.hashing, seed)}, ${-seed})`);
    });
    const textForm = columns.filter(column => column.hashing === 'text form').map(column => quoteIdent(column.name));
    if (textForm.length > 0)
        parts.push(`pg_catalog.hashtextextended(ROW(${textForm.join(', ')})::text, 0)`);
    return `pg_catalog.hashint8extended(${parts.length > 0 ? parts.join(' # ') : '0'}, 0)`;
}
function columnHashSql(value, hashing, seed) {
    switch (hashing) {
        case 'int2':
            return `pg_catalog.hashint2extended(${value}, ${seed})`;
        case 'int4':
            return `pg_catalog.hashint4extended(${value}, ${seed})`;
        case 'int8':
            return `pg_catalog.hashint8extended(${value}, ${seed})`;
        case 'bool':
            return `pg_catalog.hashint4extended(${value}::pg_catalog.int4, ${seed})`;
        // Under COLLATE "C" the bytes are hashed: a nondeterministic (say case-insensitive) collation would hash 'A' like 'a'.
        case 'text':
            return `pg_catalog.hashtextextended(${value}::pg_catalog.text COLLATE "C", ${seed})`;
        case 'char':
            return `pg_catalog.hashbpcharextended(${value} COLLATE "C", ${seed})`;
        case 'timestamp':
            return `pg_catalog.timestamp_hash_extended(${value}, ${seed})`;
        // The instant, as the timestamp it is in UTC: PINNED_SETTINGS sets TimeZone to UTC, where that is one-to-one.
        case 'timestamptz':
            return `pg_catalog.timestamp_hash_extended(${value}::pg_catalog.timestamp, ${seed})`;
        case 'time':
            return `pg_catalog.time_hash_extended(${value}, ${seed})`;
        case 'uuid':
            return `pg_catalog.uuid_hash_extended(${value}, ${seed})`;
        case 'output':
            return `pg_catalog.hashtextextended(${value}::pg_catalog.text, ${seed})`;
    }
}

// EXTERNAL MODULE: ./src/util/pool.ts
var pool = __webpack_require__(40704);
;// CONCATENATED MODULE: ./src/engines/postgres/amcheck.ts



/**
 * amcheck on the restored copy: every B-tree index with bt_index_check(heapallindexed), and on
 * PostgreSQL 14 or later every table with verify_heapam. Restored pages are written by the clean
 * room itself, so this proves its storage and the restore's index builds, which no comparison
 * with production can: a copy whose index lost entries answers some queries wrongly and still
 * has matching checksums (those read the heap). Production is never checked.
 */
/** SQLSTATEs amcheck (and the buffer manager, for a page that fails its checksum) raise for corruption. */
const CORRUPTION_CODES = new Set(['XX001', 'XX002']);
const INSUFFICIENT_PRIVILEGE = '42501';
/** Findings kept per table: the first few say where, the count says how much. */
const FINDINGS_PER_TABLE = 5;
/**
 * Creates amcheck in the scratch database (in a schema of its own, unless the restored copy
 * already has it) and returns the schema its functions live in. Throws a UserError saying what
 * to fix when the clean room lacks the extension or the role may not create it.
 */
async function installAmcheck(session) {
    const available = await session.query("SELECT 1 FROM pg_catalog.pg_available_extensions WHERE name = 'amcheck'");
    if (available.length === 0) {
        throw new errors/* UserError */.yo("The clean room does not have the amcheck extension (input 'amcheck' is true): install PostgreSQL's contrib " +
            'modules on the clean-room server (Debian: postgresql-contrib; the official postgres images have them), or set amcheck to false.');
    }
    const existing = await extensionSchema(session);
    if (existing)
        return existing;
    try {
        await session.query('CREATE SCHEMA IF NOT EXISTS lazarus_amcheck');
        await session.query('CREATE EXTENSION amcheck SCHEMA lazarus_amcheck');
    }
    catch (error) {
        if (error.code === INSUFFICIENT_PRIVILEGE) {
            throw new errors/* UserError */.yo(`Could not create the amcheck extension in the scratch database: ${(0,errors/* messageOf */.bD)(error)}. ` +
                "amcheck needs a superuser on the clean room: connect 'cleanroom-url' as one, or set amcheck to false.");
        }
        throw error;
    }
    return (await extensionSchema(session));
}
async function extensionSchema(session) {
    const rows = await session.query(`SELECT n.nspname AS schema FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace
     WHERE e.extname = 'amcheck'`);
    return rows[0]?.schema;
}
/**
 * The copy's own tables and materialized views, and every valid B-tree index on them or on their
 * toast tables (the catalogs' own toast tables are the clean room's business, not the backup's).
 */
const RELATIONS_SQL = `
WITH tables AS (
  SELECT c.oid, c.relkind, c.reltoastrelid FROM pg_catalog.pg_class c
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind IN ('r', 'm') AND c.relpersistence <> 't' AND ${userNamespaceSql('n')}
)
SELECT c.oid::pg_catalog.regclass::pg_catalog.text AS name, c.oid::pg_catalog.text AS oid,
       CASE WHEN c.relkind = 'i' THEN 'index' ELSE 'table' END AS kind
FROM pg_catalog.pg_class c
LEFT JOIN pg_catalog.pg_index i ON i.indexrelid = c.oid
WHERE c.oid IN (SELECT oid FROM tables)
   OR (c.relkind = 'i' AND c.relam = (SELECT oid FROM pg_catalog.pg_am WHERE amname = 'btree')
       AND i.indisvalid AND i.indisready
       AND i.indrelid IN (SELECT oid FROM tables UNION ALL SELECT reltoastrelid FROM tables))
ORDER BY pg_catalog.pg_relation_size(c.oid) DESC`;
/**
 * Checks every index (and, on PostgreSQL 14+, table) of the connected database, on as many
 * sessions as given, all in the database amcheck was installed in.
 */
async function runAmcheck(sessions, schema, major) {
    const relations = await sessions[0].query(RELATIONS_SQL);
    const heapChecked = major >= 14;
    const targets = relations.filter(relation => relation.kind === 'index' || heapChecked);
    const fn = (name) => `${quoteIdent(schema)}.${quoteIdent(name)}`;
    const perRelation = await (0,pool/* mapPool */.P)(sessions, targets, async (session, relation) => {
        if (relation.kind === 'index') {
            try {
                await session.query(`SELECT ${fn('bt_index_check')}(index => $1::pg_catalog.oid::pg_catalog.regclass, heapallindexed => true)`, [relation.oid]);
                return [];
            }
            catch (error) {
                return [corruption(relation, error)];
            }
        }
        try {
            const rows = await session.query(`SELECT blkno::pg_catalog.text AS blkno, offnum, attnum, msg, pg_catalog.count(*) OVER ()::pg_catalog.text AS total
         FROM ${fn('verify_heapam')}(relation => $1::pg_catalog.oid::pg_catalog.regclass, check_toast => true)
         LIMIT ${FINDINGS_PER_TABLE}`, [relation.oid]);
            return rows.map((row, index) => {
                const where = [
                    `block ${row.blkno}`,
                    row.offnum === null ? '' : `offset ${row.offnum}`,
                    row.attnum === null ? '' : `attribute ${row.attnum}`
                ];
                const more = index === rows.length - 1 && Number(row.total) > rows.length ? ` (${Number(row.total) - rows.length} more)` : '';
                return { kind: 'table', name: relation.name, message: `${where.filter(Boolean).join(', ')}: ${row.msg}${more}` };
            });
        }
        catch (error) {
            return [corruption(relation, error)];
        }
    });
    return {
        indexes: targets.filter(relation => relation.kind === 'index').length,
        tables: targets.filter(relation => relation.kind === 'table').length,
        heapChecked,
        findings: perRelation.flat()
    };
}
/** An error amcheck raised for corruption is a finding; any other error ends the run. */
function corruption(relation, error) {
    if (!CORRUPTION_CODES.has(error.code ?? ''))
        throw error;
    return { kind: relation.kind, name: relation.name, message: (0,errors/* messageOf */.bD)(error) };
}

;// CONCATENATED MODULE: ./src/engines/postgres/check-queries.ts
/**
 * Where the user's unqualified names resolve (pg_catalog first, as always). The checksums' own
 * pinned search_path is pg_catalog alone; `public` is where a check's `FROM orders` points on
 * both servers alike, whatever each role's or database's search_path says.
 */
const CHECK_SEARCH_PATH = 'public';
const SAVEPOINT = 'lazarus_check';
const CURSOR = 'lazarus_check_rows';
/**
 * One session's side of the checks (engines/reads.ts CheckSide). The session must already have
 * the pinned settings; production's is inside the dump's snapshot.
 */
function checkSide(session) {
    return {
        beginReadOnly: async () => void (await session.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY')),
        endReadOnly: async () => void (await session.query('COMMIT')),
        savepoint: async () => void (await session.query(`SAVEPOINT ${SAVEPOINT}`)),
        async limitCheck(timeoutSeconds) {
            await session.query(`SET LOCAL statement_timeout = ${Math.max(1, Math.round(timeoutSeconds * 1000))}`);
            await session.query(`SET LOCAL search_path = ${CHECK_SEARCH_PATH}`);
        },
        async rollbackToSavepoint() {
            await session.query(`ROLLBACK TO SAVEPOINT ${SAVEPOINT}`);
            await session.query(`RELEASE SAVEPOINT ${SAVEPOINT}`);
        },
        async describeColumns(query) {
            const described = await session.queryExtended(checkColumnsSql(query));
            return describeColumns(session, described.columns);
        },
        async answer(query, sampleRows, expected) {
            const { rows } = await session.queryExtended(checkAnswerSql(query), [sampleRows, expected]);
            return rows[0];
        },
        openRows: async (query, ordered) => void (await session.query(checkRowsCursorSql(CURSOR, query, ordered))),
        async nextRows(count) {
            const rows = await session.query(`FETCH FORWARD ${count} FROM ${CURSOR}`);
            return rows.map(row => ({ text: row.t, hash: row.h }));
        }
    };
}
/** `name type` for each column, types as format_type prints them (schema-qualified outside the search_path). */
async function describeColumns(session, columns) {
    if (columns.length === 0)
        return [];
    const rows = await session.query(`SELECT pg_catalog.format_type(c.oid, c.mod) AS type
     FROM ROWS FROM (pg_catalog.unnest($1::pg_catalog.oid[]), pg_catalog.unnest($2::pg_catalog.int4[])) WITH ORDINALITY AS c(oid, mod, i)
     ORDER BY c.i`, [columns.map(column => column.typeId), columns.map(column => column.typeModifier)]);
    return columns.map((column, index) => `${column.name} ${rows[index].type}`);
}
/** Longest row text kept for display; the hashes always cover the whole row. */
const SHOWN_ROW_CHARS = 2000;
/**
 * The user's query as a subquery, each row as its text (`r.t`, the record's output under the
 * pinned settings) with its position (`r.n`). A subquery with an ORDER BY is never flattened
 * into the query around it (prepjointree.c, is_simple_subquery), so the window numbers its rows
 * in the order the query returns them. The newline before `)` ends a trailing `--` comment.
 * `ROW(q.*)` is the whole row even when a column of the query is itself named `q`.
 */
function numberedRowsSql(query) {
    return `SELECT ROW(q.*)::pg_catalog.text COLLATE "C" AS t, pg_catalog.row_number() OVER () AS n
FROM (
${query}
) AS q`;
}
/** The query's columns, without running it: LIMIT 0 stops the executor before it reads a row. */
function checkColumnsSql(query) {
    return `SELECT * FROM (
${query}
) AS q LIMIT 0`;
}
/**
 * The check's answer in one pass: the row count, a multiset hash (the sum of each row's 64-bit
 * hash: independent of order, and a duplicated row counts twice) and an ordered hash (each row
 * hashed with its position as the seed). `$1` is how many leading rows to return as text (0 for
 * none: values are production data); `$2` the expected value's text, or null for none or NULL.
 * A single-column row prints as `(value)`, quoted as record_out quotes that value's text, so the
 * expected value is compared with `ROW($2)`'s text, server-side and exactly.
 */
function checkAnswerSql(query) {
    return `SELECT pg_catalog.count(*)::pg_catalog.text AS rows,
  coalesce(pg_catalog.sum(pg_catalog.hashtextextended(r.t, 0)), 0)::pg_catalog.text AS multiset,
  coalesce(pg_catalog.sum(pg_catalog.hashtextextended(r.t, r.n)), 0)::pg_catalog.text AS ordered,
  pg_catalog.array_agg(pg_catalog.left(r.t, ${SHOWN_ROW_CHARS}) ORDER BY r.n) FILTER (WHERE r.n <= $1::pg_catalog.int8) AS sample,
  coalesce(pg_catalog.bool_and(r.t = ROW($2::pg_catalog.text)::pg_catalog.text COLLATE "C"), false) AS expected
FROM (${numberedRowsSql(query)}) AS r`;
}
/**
 * A cursor over the rows' text in comparison order: by position for an ordered check, by the
 * text's bytes for a multiset, so that two sides' rows can be merged to find the first that differs.
 * `h` tells apart rows whose shown text is cut short.
 */
function checkRowsCursorSql(cursor, query, ordered) {
    const order = ordered ? 'r.n' : 'r.t COLLATE "C"';
    return `DECLARE ${cursor} NO SCROLL CURSOR FOR
SELECT pg_catalog.left(r.t, ${SHOWN_ROW_CHARS}) AS t, pg_catalog.hashtextextended(r.t, 0)::pg_catalog.text AS h FROM (${numberedRowsSql(query)}) AS r ORDER BY ${order}`;
}
/**
 * Splits a record's text output, `(1,"a b",)`, into its fields: null for an empty unquoted field
 * (SQL NULL), the unquoted text otherwise. record_out doubles quotes and backslashes inside quotes.
 */
function parseRecordText(text) {
    if (!text.startsWith('(') || !text.endsWith(')'))
        return [text];
    const fields = [];
    let i = 1;
    const end = text.length - 1;
    if (end === 1)
        return [];
    for (;;) {
        let value = '';
        let quoted = false;
        while (i < end && text[i] !== ',') {
            const c = text[i];
            if (c === '"') {
                quoted = true;
                i++;
                while (i < end) {
                    if (text[i] === '\\' || (text[i] === '"' && text[i + 1] === '"')) {
                        value += text[i + 1];
                        i += 2;
                    }
                    else if (text[i] === '"') {
                        i++;
                        break;
                    }
                    else
                        value += text[i++];
                }
            }
            else {
                value += c;
                i++;
            }
        }
        fields.push(quoted || value !== '' ? value : null);
        if (i >= end)
            return fields;
        i++;
    }
}

;// CONCATENATED MODULE: ./src/engines/postgres/sql-scan.ts
/**
 * A lexer for PostgreSQL's SQL, just enough to know where statements, comments and parentheses
 * are: it reads strings (standard, E'' with backslash escapes, U&''), quoted identifiers,
 * dollar quotes and nested block comments the way the server's own scanner (scan.l) does, so
 * that a `;`, `ORDER BY` or `-- check:` inside any of them is never taken for the real thing.
 * Pure.
 */
/** Thrown when the text ends inside a string, quoted identifier, dollar quote or block comment. */
class UnterminatedError extends Error {
    what;
    start;
    constructor(what, start) {
        super(`unterminated ${what}`);
        this.what = what;
        this.start = start;
    }
}
// scan.l: ident_start [A-Za-z\200-\377_], ident_cont adds digits and $. Bytes above 127 are
// letters to PostgreSQL; in a JavaScript string every non-ASCII code unit is one of them.
const IDENT_START = /[A-Za-z_\u0080-\uffff]/;
const IDENT_CONT = /[A-Za-z_0-9$\u0080-\uffff]/;
// A dollar quote's tag: $$ or $tag$, where the tag looks like an identifier without `$`.
const DOLLAR_TAG = /^\$(?:[A-Za-z_\u0080-\uffff][A-Za-z_0-9\u0080-\uffff]*)?\$/;
/** Splits `sql` into tokens; their texts concatenated give `sql` back. */
function scanSql(sql) {
    const tokens = [];
    let i = 0;
    const push = (kind, end) => {
        tokens.push({ kind, text: sql.slice(i, end), start: i });
        i = end;
    };
    while (i < sql.length) {
        const c = sql[i];
        const next = sql[i + 1] ?? '';
        if (/\s/.test(c)) {
            let end = i + 1;
            while (end < sql.length && /\s/.test(sql[end]))
                end++;
            push('space', end);
        }
        else if (c === '-' && next === '-') {
            const newline = sql.indexOf('\n', i);
            push('line-comment', newline < 0 ? sql.length : newline);
        }
        else if (c === '/' && next === '*') {
            push('block-comment', blockCommentEnd(sql, i));
        }
        else if (c === "'") {
            push('string', quotedEnd(sql, i, "'", false));
        }
        else if ((c === 'e' || c === 'E') && next === "'") {
            push('string', quotedEnd(sql, i + 1, "'", true));
        }
        else if ((c === 'u' || c === 'U') && next === '&' && (sql[i + 2] === "'" || sql[i + 2] === '"')) {
            const quote = sql[i + 2];
            push(quote === "'" ? 'string' : 'quoted-ident', quotedEnd(sql, i + 2, quote, false));
        }
        else if (/[bBxXnN]/.test(c) && next === "'") {
            push('string', quotedEnd(sql, i + 1, "'", false));
        }
        else if (c === '"') {
            push('quoted-ident', quotedEnd(sql, i, '"', false));
        }
        else if (c === '$' && DOLLAR_TAG.test(sql.slice(i, i + 64)) && !/\d/.test(next)) {
            const tag = DOLLAR_TAG.exec(sql.slice(i))[0];
            const close = sql.indexOf(tag, i + tag.length);
            if (close < 0)
                throw new UnterminatedError('dollar-quoted string', i);
            push('string', close + tag.length);
        }
        else if (IDENT_START.test(c)) {
            let end = i + 1;
            while (end < sql.length && IDENT_CONT.test(sql[end]))
                end++;
            push('word', end);
        }
        else if (/\d/.test(c)) {
            // A number, or a parameter's digits after `$`: either way nothing this lexer looks at.
            let end = i + 1;
            while (end < sql.length && /[0-9A-Za-z_.]/.test(sql[end]))
                end++;
            push('word', end);
        }
        else {
            push('symbol', i + 1);
        }
    }
    return tokens;
}
/** Block comments nest in PostgreSQL: `/* a /* b *\/ still comment *\/`. */
function blockCommentEnd(sql, start) {
    let depth = 0;
    let i = start;
    while (i < sql.length) {
        if (sql.startsWith('/*', i)) {
            depth++;
            i += 2;
        }
        else if (sql.startsWith('*/', i)) {
            depth--;
            i += 2;
            if (depth === 0)
                return i;
        }
        else
            i++;
    }
    throw new UnterminatedError('block comment', start);
}
/** The end of a quoted string or identifier opening at `start`; a doubled quote is a quote. */
function quotedEnd(sql, start, quote, backslashEscapes) {
    let i = start + 1;
    while (i < sql.length) {
        const c = sql[i];
        if (backslashEscapes && c === '\\') {
            i += 2;
        }
        else if (c === quote) {
            if (sql[i + 1] === quote)
                i += 2;
            else
                return i + 1;
        }
        else
            i++;
    }
    throw new UnterminatedError(quote === '"' ? 'quoted identifier' : 'string', start);
}
/**
 * Reads the shape of one query. ORDER BY inside parentheses belongs to a subquery, a window, an
 * aggregate or WITHIN GROUP and orders nothing the query returns; outside them it can only be the
 * query's own ORDER BY, which then applies to the whole result, set operations included.
 */
function queryShape(sql) {
    let depth = 0;
    let statements = 0;
    let statementHasCode = false;
    let topLevelOrderBy = false;
    let previousWord;
    for (const token of scanSql(sql)) {
        if (token.kind === 'space' || token.kind === 'line-comment' || token.kind === 'block-comment')
            continue;
        if (token.kind === 'symbol' && token.text === ';') {
            if (statementHasCode)
                statements++;
            statementHasCode = false;
            previousWord = undefined;
            continue;
        }
        statementHasCode = true;
        if (token.kind === 'symbol' && (token.text === '(' || token.text === '['))
            depth++;
        if (token.kind === 'symbol' && (token.text === ')' || token.text === ']'))
            depth = Math.max(0, depth - 1);
        const word = token.kind === 'word' ? token.text.toLowerCase() : undefined;
        if (depth === 0 && previousWord === 'order' && word === 'by')
            topLevelOrderBy = true;
        previousWord = word;
    }
    if (statementHasCode)
        statements++;
    return { statements, topLevelOrderBy };
}

;// CONCATENATED MODULE: ./src/engines/postgres/check-dialect.ts


/**
 * PostgreSQL's SQL for the user's checks (the `userChecks` capability's dialect): its lexer
 * (sql-scan.ts) splits a checks file and reads a query's shape, and record_out's text
 * (check-queries.ts parseRecordText) gives a row's values back for display.
 */
const checkDialect = {
    scan(text) {
        try {
            return { tokens: scanSql(text) };
        }
        catch (error) {
            if (error instanceof UnterminatedError)
                return { unterminated: { message: error.message, start: error.start } };
            throw error;
        }
    },
    shape: queryShape,
    rowValues: parseRecordText
};

// EXTERNAL MODULE: external "node:crypto"
var external_node_crypto_ = __webpack_require__(77598);
;// CONCATENATED MODULE: ./src/engines/postgres/catalog-kinds.ts


/**
 * The catalog kinds pg_dump writes beyond tables, columns, constraints, indexes, views, functions,
 * triggers, rules, policies, sequences, types and comments (schema-fingerprint.ts): operators and
 * their classes and families, casts, collations, conversions, text search objects, languages,
 * transforms, access methods, foreign data wrappers, servers and user mappings, event triggers,
 * publications and subscriptions, security labels, a partitioned index's attachments, view
 * column defaults, per-column and per-table storage settings, statistics targets, base types.
 * Each object is one `kind`, `name`, `definition` like the rest of the fingerprint: same text
 * for the same object in any database, no OIDs, no owners or ACLs. Needs PostgreSQL 12 or later.
 */
const CATALOG_KINDS = [
    'access method',
    'base type',
    'cast',
    'collation',
    'column settings',
    'conversion',
    'event trigger',
    'foreign data wrapper',
    'language',
    'operator',
    'operator class',
    'operator family',
    'partitioned index',
    'publication',
    'publication member',
    'security label',
    'server',
    'statistics target',
    'subscription',
    'table settings',
    'text search configuration',
    'text search dictionary',
    'text search parser',
    'text search template',
    'transform',
    'user mapping'
];
/**
 * The definition of a user mapping whose options the reading role may not see (pg_user_mappings
 * shows them only to superusers, the mapped role, and the server's owners): its existence is
 * compared, its options are not.
 */
const UNREADABLE_MAPPING_OPTIONS = 'options not readable by this role: existence only';
/**
 * Built-in objects without a schema (casts, languages, access methods...) have OIDs below
 * FirstNormalObjectId; pg_dump skips them the same way.
 */
const FIRST_NORMAL_OID = 16384;
/** `schema.name` of an object (`alias` has a namespace column `nspColumn` and a name column). */
const qualified = (namespaceAlias, name) => `pg_catalog.quote_ident(${namespaceAlias}.nspname) || '.' || pg_catalog.quote_ident(${name})`;
/** A regproc or regprocedure column printed as its signature, or null when unset (0). */
const procedure = (column) => `CASE WHEN ${column}::pg_catalog.oid <> 0 THEN ${column}::pg_catalog.oid::pg_catalog.regprocedure::pg_catalog.text END`;
/** A type printed by format_type, NONE for 0 (a prefix operator's missing left side). */
const typeName = (column) => `CASE WHEN ${column} = 0 THEN 'NONE' ELSE pg_catalog.format_type(${column}, NULL) END`;
/** A user object not in a system schema and not an extension member (`n` its namespace). */
const inUserSchema = (catalog, oid) => `${userNamespaceSql('n')} AND ${notInExtensionSql(catalog, oid)}`;
/** A user object without a schema: not built in and not an extension member. */
const userGlobal = (catalog, oid) => `${oid} >= ${FIRST_NORMAL_OID} AND ${notInExtensionSql(catalog, oid)}`;
/** Options arrays sorted: pg_dump writes them back sorted by name, whatever their stored order. */
const options = (column) => `'OPTIONS (' || (SELECT string_agg(o, ', ' ORDER BY o COLLATE "C") FROM unnest(${column}) AS o) || ')'`;
const OPERATORS_SQL = `
SELECT 'operator' AS kind,
  ${qualified('n', 'o.oprname')} || '(' || ${typeName('o.oprleft')} || ', ' || ${typeName('o.oprright')} || ')' AS name,
  concat_ws(' ', 'FUNCTION = ' || ${procedure('o.oprcode')}, 'RESULT ' || pg_catalog.format_type(o.oprresult, NULL),
    CASE WHEN o.oprcom <> 0 THEN 'COMMUTATOR = ' || o.oprcom::pg_catalog.regoperator::pg_catalog.text END,
    CASE WHEN o.oprnegate <> 0 THEN 'NEGATOR = ' || o.oprnegate::pg_catalog.regoperator::pg_catalog.text END,
    'RESTRICT = ' || ${procedure('o.oprrest')}, 'JOIN = ' || ${procedure('o.oprjoin')},
    CASE WHEN o.oprcanhash THEN 'HASHES' END, CASE WHEN o.oprcanmerge THEN 'MERGES' END) AS definition
FROM pg_catalog.pg_operator o JOIN pg_catalog.pg_namespace n ON n.oid = o.oprnamespace
WHERE ${inUserSchema('pg_catalog.pg_operator', 'o.oid')}`;
/** `schema.family USING am` of a pg_opfamily row `f` (with `fn` its namespace, `fa` its access method). */
const FAMILY_NAME = `${qualified('fn', 'f.opfname')} || ' USING ' || pg_catalog.quote_ident(fa.amname)`;
/**
 * Operator families with every member, whichever statement added it (CREATE OPERATOR CLASS or
 * ALTER OPERATOR FAMILY): operators by strategy, support functions by number, sorted as text
 * so that type OIDs play no part.
 */
const OPERATOR_FAMILIES_SQL = `
SELECT 'operator family' AS kind, ${FAMILY_NAME} AS name,
  concat_ws(' ', 'MEMBERS',
    (SELECT string_agg(member, ', ' ORDER BY member COLLATE "C") FROM (
       SELECT 'OPERATOR ' || ao.amopstrategy || ' ' || ao.amopopr::pg_catalog.regoperator::pg_catalog.text
              || CASE WHEN ao.amoppurpose = 'o' THEN ' FOR ORDER BY '
                      || (SELECT ${qualified('sn', 'sf.opfname')} FROM pg_catalog.pg_opfamily sf
                          JOIN pg_catalog.pg_namespace sn ON sn.oid = sf.opfnamespace WHERE sf.oid = ao.amopsortfamily)
                      ELSE '' END AS member
       FROM pg_catalog.pg_amop ao WHERE ao.amopfamily = f.oid
       UNION ALL
       SELECT 'FUNCTION ' || ap.amprocnum || ' (' || pg_catalog.format_type(ap.amproclefttype, NULL) || ', '
              || pg_catalog.format_type(ap.amprocrighttype, NULL) || ') ' || ap.amproc::pg_catalog.regprocedure::pg_catalog.text
       FROM pg_catalog.pg_amproc ap WHERE ap.amprocfamily = f.oid) AS members)) AS definition
FROM pg_catalog.pg_opfamily f
JOIN pg_catalog.pg_namespace fn ON fn.oid = f.opfnamespace
JOIN pg_catalog.pg_am fa ON fa.oid = f.opfmethod
WHERE ${userNamespaceSql('fn')} AND ${notInExtensionSql('pg_catalog.pg_opfamily', 'f.oid')}`;
const OPERATOR_CLASSES_SQL = `
SELECT 'operator class' AS kind, ${qualified('n', 'c.opcname')} || ' USING ' || pg_catalog.quote_ident(a.amname) AS name,
  concat_ws(' ', CASE WHEN c.opcdefault THEN 'DEFAULT' END, 'FOR TYPE ' || pg_catalog.format_type(c.opcintype, NULL),
    'FAMILY ' || (SELECT ${FAMILY_NAME} FROM pg_catalog.pg_opfamily f
                  JOIN pg_catalog.pg_namespace fn ON fn.oid = f.opfnamespace
                  JOIN pg_catalog.pg_am fa ON fa.oid = f.opfmethod WHERE f.oid = c.opcfamily),
    CASE WHEN c.opckeytype <> 0 THEN 'STORAGE ' || pg_catalog.format_type(c.opckeytype, NULL) END) AS definition
FROM pg_catalog.pg_opclass c
JOIN pg_catalog.pg_namespace n ON n.oid = c.opcnamespace
JOIN pg_catalog.pg_am a ON a.oid = c.opcmethod
WHERE ${inUserSchema('pg_catalog.pg_opclass', 'c.oid')}`;
const CASTS_SQL = `
SELECT 'cast' AS kind,
  '(' || pg_catalog.format_type(c.castsource, NULL) || ' AS ' || pg_catalog.format_type(c.casttarget, NULL) || ')' AS name,
  concat_ws(' ',
    CASE c.castmethod WHEN 'f' THEN 'WITH FUNCTION ' || c.castfunc::pg_catalog.regprocedure::pg_catalog.text
                      WHEN 'i' THEN 'WITH INOUT' ELSE 'WITHOUT FUNCTION' END,
    CASE c.castcontext WHEN 'a' THEN 'AS ASSIGNMENT' WHEN 'i' THEN 'AS IMPLICIT' END) AS definition
FROM pg_catalog.pg_cast c
WHERE ${userGlobal('pg_catalog.pg_cast', 'c.oid')}
  -- Casts a type made for itself (a range's multirange constructor, PostgreSQL 14 on) come and go with it.
  AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend i WHERE i.classid = 'pg_catalog.pg_cast'::pg_catalog.regclass
                  AND i.objid = c.oid AND i.deptype = 'i')`;
/**
 * The locale columns moved between majors: 15 added an ICU locale (colliculocale), 17 renamed it
 * (colllocale), 16 added ICU rules. A libc collation is its LC_COLLATE and LC_CTYPE; any other
 * provider's is its locale, which PostgreSQL 14 and older kept in collcollate.
 */
const collationsSql = (version) => {
    const locale = version >= 170000 ? 'c.colllocale' : version >= 150000 ? 'c.colliculocale' : 'NULL::text';
    return `
SELECT 'collation' AS kind, ${qualified('n', 'c.collname')} AS name,
  concat_ws(' ', 'PROVIDER ' || CASE c.collprovider WHEN 'i' THEN 'icu' WHEN 'c' THEN 'libc' WHEN 'b' THEN 'builtin' ELSE 'default' END,
    CASE WHEN c.collprovider = 'c'
         THEN 'LC_COLLATE ' || pg_catalog.quote_literal(c.collcollate) || ' LC_CTYPE ' || pg_catalog.quote_literal(c.collctype)
         ELSE 'LOCALE ' || pg_catalog.quote_literal(coalesce(${locale}, c.collcollate)) END,
    ${version >= 160000 ? "'RULES ' || pg_catalog.quote_literal(c.collicurules)," : ''}
    CASE WHEN NOT c.collisdeterministic THEN 'NONDETERMINISTIC' END,
    'ENCODING ' || CASE WHEN c.collencoding = -1 THEN 'any' ELSE pg_catalog.pg_encoding_to_char(c.collencoding) END) AS definition
FROM pg_catalog.pg_collation c JOIN pg_catalog.pg_namespace n ON n.oid = c.collnamespace
WHERE ${inUserSchema('pg_catalog.pg_collation', 'c.oid')}`;
};
const CONVERSIONS_SQL = `
SELECT 'conversion' AS kind, ${qualified('n', 'c.conname')} AS name,
  concat_ws(' ', CASE WHEN c.condefault THEN 'DEFAULT' END,
    'FOR ' || pg_catalog.quote_literal(pg_catalog.pg_encoding_to_char(c.conforencoding)),
    'TO ' || pg_catalog.quote_literal(pg_catalog.pg_encoding_to_char(c.contoencoding)),
    -- By name: the conversion functions' signature changed in PostgreSQL 14.
    'FROM ' || c.conproc::pg_catalog.regproc::pg_catalog.text) AS definition
FROM pg_catalog.pg_conversion c JOIN pg_catalog.pg_namespace n ON n.oid = c.connamespace
WHERE ${inUserSchema('pg_catalog.pg_conversion', 'c.oid')}`;
/** A configuration's mappings by token type, each with its dictionaries in the order they are tried. */
const TS_CONFIGURATIONS_SQL = `
SELECT 'text search configuration' AS kind, ${qualified('n', 'c.cfgname')} AS name,
  concat_ws(' ', 'PARSER = ' || (SELECT ${qualified('pn', 'p.prsname')} FROM pg_catalog.pg_ts_parser p
                                 JOIN pg_catalog.pg_namespace pn ON pn.oid = p.prsnamespace WHERE p.oid = c.cfgparser),
    (SELECT string_agg(mapping, '; ' ORDER BY mapping COLLATE "C") FROM (
       SELECT t.alias || ' WITH ' || string_agg(m.mapdict::pg_catalog.regdictionary::pg_catalog.text, ', ' ORDER BY m.mapseqno) AS mapping
       FROM pg_catalog.pg_ts_config_map m
       JOIN pg_catalog.ts_token_type(c.cfgparser) AS t ON t.tokid = m.maptokentype
       WHERE m.mapcfg = c.oid GROUP BY t.alias) AS mappings)) AS definition
FROM pg_catalog.pg_ts_config c JOIN pg_catalog.pg_namespace n ON n.oid = c.cfgnamespace
WHERE ${inUserSchema('pg_catalog.pg_ts_config', 'c.oid')}`;
const TS_DICTIONARIES_SQL = `
SELECT 'text search dictionary' AS kind, ${qualified('n', 'd.dictname')} AS name,
  concat_ws(' ', 'TEMPLATE = ' || (SELECT ${qualified('tn', 't.tmplname')} FROM pg_catalog.pg_ts_template t
                                   JOIN pg_catalog.pg_namespace tn ON tn.oid = t.tmplnamespace WHERE t.oid = d.dicttemplate),
    '(' || d.dictinitoption || ')') AS definition
FROM pg_catalog.pg_ts_dict d JOIN pg_catalog.pg_namespace n ON n.oid = d.dictnamespace
WHERE ${inUserSchema('pg_catalog.pg_ts_dict', 'd.oid')}`;
const TS_PARSERS_SQL = `
SELECT 'text search parser' AS kind, ${qualified('n', 'p.prsname')} AS name,
  concat_ws(' ', 'START = ' || ${procedure('p.prsstart')}, 'GETTOKEN = ' || ${procedure('p.prstoken')},
    'END = ' || ${procedure('p.prsend')}, 'HEADLINE = ' || ${procedure('p.prsheadline')},
    'LEXTYPES = ' || ${procedure('p.prslextype')}) AS definition
FROM pg_catalog.pg_ts_parser p JOIN pg_catalog.pg_namespace n ON n.oid = p.prsnamespace
WHERE ${inUserSchema('pg_catalog.pg_ts_parser', 'p.oid')}`;
const TS_TEMPLATES_SQL = `
SELECT 'text search template' AS kind, ${qualified('n', 't.tmplname')} AS name,
  concat_ws(' ', 'INIT = ' || ${procedure('t.tmplinit')}, 'LEXIZE = ' || ${procedure('t.tmpllexize')}) AS definition
FROM pg_catalog.pg_ts_template t JOIN pg_catalog.pg_namespace n ON n.oid = t.tmplnamespace
WHERE ${inUserSchema('pg_catalog.pg_ts_template', 't.oid')}`;
const LANGUAGES_SQL = `
SELECT 'language' AS kind, pg_catalog.quote_ident(l.lanname) AS name,
  concat_ws(' ', CASE WHEN l.lanpltrusted THEN 'TRUSTED' END, 'HANDLER ' || ${procedure('l.lanplcallfoid')},
    'INLINE ' || ${procedure('l.laninline')}, 'VALIDATOR ' || ${procedure('l.lanvalidator')}) AS definition
FROM pg_catalog.pg_language l
WHERE ${userGlobal('pg_catalog.pg_language', 'l.oid')}`;
const TRANSFORMS_SQL = `
SELECT 'transform' AS kind,
  'FOR ' || pg_catalog.format_type(t.trftype, NULL) || ' LANGUAGE ' || pg_catalog.quote_ident(l.lanname) AS name,
  concat_ws(' ', 'FROM SQL WITH FUNCTION ' || ${procedure('t.trffromsql')},
    'TO SQL WITH FUNCTION ' || ${procedure('t.trftosql')}) AS definition
FROM pg_catalog.pg_transform t JOIN pg_catalog.pg_language l ON l.oid = t.trflang
WHERE ${userGlobal('pg_catalog.pg_transform', 't.oid')}`;
const ACCESS_METHODS_SQL = `
SELECT 'access method' AS kind, pg_catalog.quote_ident(a.amname) AS name,
  concat_ws(' ', 'TYPE ' || CASE a.amtype WHEN 'i' THEN 'INDEX' WHEN 't' THEN 'TABLE' ELSE a.amtype::text END,
    'HANDLER ' || ${procedure('a.amhandler')}) AS definition
FROM pg_catalog.pg_am a
WHERE ${userGlobal('pg_catalog.pg_am', 'a.oid')}`;
const FOREIGN_DATA_WRAPPERS_SQL = `
SELECT 'foreign data wrapper' AS kind, pg_catalog.quote_ident(w.fdwname) AS name,
  concat_ws(' ', coalesce('HANDLER ' || ${procedure('w.fdwhandler')}, 'NO HANDLER'),
    coalesce('VALIDATOR ' || ${procedure('w.fdwvalidator')}, 'NO VALIDATOR'), ${options('w.fdwoptions')}) AS definition
FROM pg_catalog.pg_foreign_data_wrapper w
WHERE ${notInExtensionSql('pg_catalog.pg_foreign_data_wrapper', 'w.oid')}`;
const SERVERS_SQL = `
SELECT 'server' AS kind, pg_catalog.quote_ident(s.srvname) AS name,
  concat_ws(' ', 'TYPE ' || pg_catalog.quote_literal(s.srvtype), 'VERSION ' || pg_catalog.quote_literal(s.srvversion),
    'FOREIGN DATA WRAPPER ' || pg_catalog.quote_ident(w.fdwname), ${options('s.srvoptions')}) AS definition
FROM pg_catalog.pg_foreign_server s JOIN pg_catalog.pg_foreign_data_wrapper w ON w.oid = s.srvfdw
WHERE ${notInExtensionSql('pg_catalog.pg_foreign_server', 's.oid')}`;
/**
 * User mappings through pg_user_mappings, the view any role may read: its options are NULL
 * where the role may not see them (the rule below is the view's own), which is told apart from
 * a mapping without options. The options come back as an array: they can hold passwords, so
 * they are digested (readUserMappings), never printed.
 */
const USER_MAPPINGS_SQL = `
SELECT pg_catalog.quote_ident(m.usename) AS role, pg_catalog.quote_ident(m.srvname) AS server, m.umoptions AS options,
  (m.umuser <> 0 AND m.usename = current_user
     AND (pg_catalog.pg_has_role(s.srvowner, 'USAGE') OR pg_catalog.has_server_privilege(s.oid, 'USAGE')))
  OR (m.umuser = 0 AND pg_catalog.pg_has_role(s.srvowner, 'USAGE'))
  OR coalesce((SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname = current_user), false) AS readable
FROM pg_catalog.pg_user_mappings m JOIN pg_catalog.pg_foreign_server s ON s.oid = m.srvid
WHERE ${notInExtensionSql('pg_catalog.pg_foreign_server', 's.oid')}`;
const EVENT_TRIGGERS_SQL = `
SELECT 'event trigger' AS kind, pg_catalog.quote_ident(et.evtname) AS name,
  concat_ws(' ', 'ON ' || et.evtevent,
    'WHEN TAG IN (' || (SELECT string_agg(pg_catalog.quote_literal(tag), ', ' ORDER BY tag COLLATE "C") FROM unnest(et.evttags) AS tag) || ')',
    'EXECUTE FUNCTION ' || et.evtfoid::pg_catalog.regprocedure::pg_catalog.text,
    CASE et.evtenabled WHEN 'D' THEN '(DISABLED)' WHEN 'R' THEN '(ENABLE REPLICA)' WHEN 'A' THEN '(ENABLE ALWAYS)' END) AS definition
FROM pg_catalog.pg_event_trigger et
WHERE ${notInExtensionSql('pg_catalog.pg_event_trigger', 'et.oid')}`;
const publicationsSql = (version) => `
SELECT 'publication' AS kind, pg_catalog.quote_ident(p.pubname) AS name,
  concat_ws(' ', CASE WHEN p.puballtables THEN 'FOR ALL TABLES' END,
    'PUBLISH ' || concat_ws(', ', CASE WHEN p.pubinsert THEN 'insert' END, CASE WHEN p.pubupdate THEN 'update' END,
                                  CASE WHEN p.pubdelete THEN 'delete' END, CASE WHEN p.pubtruncate THEN 'truncate' END)
    ${version >= 130000 ? ", CASE WHEN p.pubviaroot THEN 'VIA PARTITION ROOT' END" : ''}) AS definition
FROM pg_catalog.pg_publication p
WHERE ${notInExtensionSql('pg_catalog.pg_publication', 'p.oid')}`;
/** A publication's tables (with their row filters and column lists, PostgreSQL 15 on) and schemas. */
const publicationMembersSql = (version) => `
SELECT 'publication member' AS kind,
  pg_catalog.quote_ident(p.pubname) || ' TABLE ' || ${qualified('n', 'c.relname')} AS name,
  concat_ws(' ', 'TABLE'
    ${version >= 150000
    ? `, '(' || (SELECT string_agg(pg_catalog.quote_ident(a.attname), ', ' ORDER BY a.attname COLLATE "C")
                     FROM pg_catalog.pg_attribute a WHERE a.attrelid = r.prrelid AND a.attnum = ANY (r.prattrs)) || ')',
           'WHERE (' || pg_catalog.pg_get_expr(r.prqual, r.prrelid) || ')'`
    : ''}) AS definition
FROM pg_catalog.pg_publication_rel r
JOIN pg_catalog.pg_publication p ON p.oid = r.prpubid
JOIN pg_catalog.pg_class c ON c.oid = r.prrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
${version >= 150000
    ? `UNION ALL
SELECT 'publication member', pg_catalog.quote_ident(p.pubname) || ' TABLES IN SCHEMA ' || pg_catalog.quote_ident(n.nspname), 'SCHEMA'
FROM pg_catalog.pg_publication_namespace pn
JOIN pg_catalog.pg_publication p ON p.oid = pn.pnpubid
JOIN pg_catalog.pg_namespace n ON n.oid = pn.pnnspid`
    : ''}`;
/**
 * Subscriptions of this database, by the columns any role may read (never the connection
 * string, which holds a password). pg_dump writes them disabled and unconnected, so whether one
 * is enabled is not compared.
 */
const SUBSCRIPTIONS_SQL = `
SELECT 'subscription' AS kind, pg_catalog.quote_ident(s.subname) AS name,
  concat_ws(' ', 'PUBLICATION ' || (SELECT string_agg(pg_catalog.quote_ident(p), ', ' ORDER BY p COLLATE "C") FROM unnest(s.subpublications) AS p),
    coalesce('SLOT ' || pg_catalog.quote_ident(s.subslotname), 'NO SLOT')) AS definition
FROM pg_catalog.pg_subscription s
WHERE s.subdbid = (SELECT d.oid FROM pg_catalog.pg_database d WHERE d.datname = pg_catalog.current_database())`;
/**
 * Security labels on user objects, named like comments, one per provider. Labels on shared
 * objects (roles, databases) are not written by pg_dump without --create.
 */
const SECURITY_LABELS_SQL = `
SELECT 'security label' AS kind, o.type || ' ' || o.identity || ' FOR ' || pg_catalog.quote_ident(l.provider) AS name,
  l.label AS definition
FROM pg_catalog.pg_seclabel l
CROSS JOIN LATERAL pg_catalog.pg_identify_object(l.classoid, l.objoid, l.objsubid) AS o
LEFT JOIN pg_catalog.pg_namespace n
  ON CASE WHEN l.classoid = 'pg_catalog.pg_namespace'::pg_catalog.regclass THEN n.oid = l.objoid ELSE n.nspname = o.schema END
WHERE (l.objoid >= ${FIRST_NORMAL_OID} OR l.classoid = 'pg_catalog.pg_namespace'::pg_catalog.regclass)
  AND o.identity IS NOT NULL
  AND (CASE WHEN n.oid IS NULL THEN o.schema IS NULL ELSE ${userNamespaceSql('n')} END)
  AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend e WHERE e.classid = l.classoid AND e.objid = l.objoid AND e.deptype = 'e')`;
/** A user relation `c` with its namespace `n`, not an extension member. */
const USER_RELATION = `${userNamespaceSql('n')} AND ${notInExtensionSql('pg_catalog.pg_class', 'c.oid')}`;
/**
 * A partitioned index: whether it is valid (it is once every partition has an attached index)
 * and which partitions' indexes are attached to it (ALTER INDEX ... ATTACH PARTITION), whether
 * it backs a constraint or not.
 */
const PARTITIONED_INDEXES_SQL = `
SELECT 'partitioned index' AS kind, ${qualified('n', 'c.relname')} AS name,
  concat_ws(' ', CASE WHEN i.indisvalid THEN 'VALID' ELSE 'INVALID' END,
    'ATTACHED ' || (SELECT string_agg(${qualified('pn', 'p.relname')}, ', ' ORDER BY pn.nspname COLLATE "C", p.relname COLLATE "C")
                    FROM pg_catalog.pg_inherits h
                    JOIN pg_catalog.pg_class p ON p.oid = h.inhrelid
                    JOIN pg_catalog.pg_namespace pn ON pn.oid = p.relnamespace
                    WHERE h.inhparent = c.oid)) AS definition
FROM pg_catalog.pg_index i
JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'I' AND ${USER_RELATION}`;
/**
 * What ALTER TABLE ... ALTER COLUMN sets beside type and default: the statistics target, the
 * storage where it is not the type's, attribute options (n_distinct...), the compression method
 * (PostgreSQL 14 on) and a foreign table column's options; for index columns, the statistics
 * target. A view column's default (ALTER VIEW ... ALTER COLUMN SET DEFAULT) is here too, since
 * the column kind leaves views out. Only columns with something set are listed.
 */
const columnSettingsSql = (version) => `
SELECT 'column settings' AS kind, ${qualified('n', 'c.relname')} || '.' || pg_catalog.quote_ident(a.attname) AS name, s.definition
FROM pg_catalog.pg_attribute a
JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
CROSS JOIN LATERAL (SELECT concat_ws(' ',
    CASE WHEN a.attstattarget >= 0 THEN 'STATISTICS ' || a.attstattarget END,
    CASE WHEN c.relkind NOT IN ('i', 'I') AND a.attstorage <> t.typstorage THEN 'STORAGE ' ||
      CASE a.attstorage WHEN 'p' THEN 'PLAIN' WHEN 'e' THEN 'EXTERNAL' WHEN 'm' THEN 'MAIN' WHEN 'x' THEN 'EXTENDED' END END,
    'SET (' || pg_catalog.array_to_string(a.attoptions, ', ') || ')',
    ${version >= 140000 ? "CASE WHEN a.attcompression <> '' THEN 'COMPRESSION ' || a.attcompression::text END," : ''}
    ${options('a.attfdwoptions')},
    CASE WHEN c.relkind = 'v' THEN (SELECT 'DEFAULT ' || pg_catalog.pg_get_expr(d.adbin, d.adrelid)
                                   FROM pg_catalog.pg_attrdef d WHERE d.adrelid = a.attrelid AND d.adnum = a.attnum) END
  ) AS definition) AS s
WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p', 'f', 'm', 'v', 'i', 'I') AND s.definition <> ''
  AND ${USER_RELATION}`;
/**
 * Per-table settings the table kind does not print: a typed table's type (OF), a table access
 * method other than heap, and the TOAST table's storage parameters (WITH (toast.*)).
 */
const TABLE_SETTINGS_SQL = `
SELECT 'table settings' AS kind, ${qualified('n', 'c.relname')} AS name, s.definition
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
CROSS JOIN LATERAL (SELECT concat_ws(' ',
    CASE WHEN c.reloftype <> 0 THEN 'OF ' || pg_catalog.format_type(c.reloftype, NULL) END,
    (SELECT 'USING ' || pg_catalog.quote_ident(am.amname) FROM pg_catalog.pg_am am WHERE am.oid = c.relam AND am.amname <> 'heap'),
    (SELECT 'TOAST WITH (' || pg_catalog.array_to_string(tc.reloptions, ', ') || ')'
     FROM pg_catalog.pg_class tc WHERE tc.oid = c.reltoastrelid)
  ) AS definition) AS s
WHERE c.relkind IN ('r', 'p', 'm') AND s.definition <> '' AND ${USER_RELATION}`;
/** ALTER STATISTICS ... SET STATISTICS (PostgreSQL 13 on; NULL rather than -1 for the default from 17). */
const STATISTICS_TARGETS_SQL = `
SELECT 'statistics target' AS kind, ${qualified('n', 's.stxname')} AS name, s.stxstattarget::text AS definition
FROM pg_catalog.pg_statistic_ext s JOIN pg_catalog.pg_namespace n ON n.oid = s.stxnamespace
WHERE s.stxstattarget >= 0 AND ${inUserSchema('pg_catalog.pg_statistic_ext', 's.oid')}`;
/**
 * Base types made with CREATE TYPE (input, output and the rest); composite, range, enum and
 * domain types are kinds of their own. Array types follow from their element type.
 */
const baseTypesSql = (version) => `
SELECT 'base type' AS kind, ${qualified('n', 't.typname')} AS name,
  concat_ws(' ', 'INPUT = ' || ${procedure('t.typinput')}, 'OUTPUT = ' || ${procedure('t.typoutput')},
    'RECEIVE = ' || ${procedure('t.typreceive')}, 'SEND = ' || ${procedure('t.typsend')},
    'TYPMOD_IN = ' || ${procedure('t.typmodin')}, 'TYPMOD_OUT = ' || ${procedure('t.typmodout')},
    'ANALYZE = ' || ${procedure('t.typanalyze')},
    ${version >= 140000 ? "'SUBSCRIPT = ' || " + procedure('t.typsubscript') + ',' : ''}
    'INTERNALLENGTH = ' || t.typlen, CASE WHEN t.typbyval THEN 'PASSEDBYVALUE' END,
    'ALIGNMENT = ' || t.typalign::text, 'STORAGE = ' || t.typstorage::text, 'CATEGORY = ' || pg_catalog.quote_literal(t.typcategory::text),
    CASE WHEN t.typispreferred THEN 'PREFERRED' END, 'DEFAULT = ' || pg_catalog.quote_literal(t.typdefault),
    CASE WHEN t.typelem <> 0 THEN 'ELEMENT = ' || pg_catalog.format_type(t.typelem, NULL) END,
    'DELIMITER = ' || pg_catalog.quote_literal(t.typdelim::text), CASE WHEN t.typcollation <> 0 THEN 'COLLATABLE' END) AS definition
FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
WHERE t.typtype = 'b' AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_type e WHERE e.typarray = t.oid)
  AND ${inUserSchema('pg_catalog.pg_type', 't.oid')}`;
/**
 * Every attribute of an aggregate (CREATE AGGREGATE's parameters), for FUNCTIONS_SQL's
 * aggregate branch: `p` is the pg_proc row. Parallel safety is the function's own.
 */
const AGGREGATE_DEFINITION_SQL = `
(SELECT concat_ws(' ', 'AGGREGATE', 'SFUNC = ' || g.aggtransfn::pg_catalog.regprocedure::text,
   'STYPE = ' || pg_catalog.format_type(g.aggtranstype, NULL),
   CASE WHEN g.aggtransspace <> 0 THEN 'SSPACE = ' || g.aggtransspace END,
   CASE WHEN g.aggfinalfn <> 0 THEN 'FINALFUNC = ' || g.aggfinalfn::pg_catalog.regprocedure::text END,
   CASE WHEN g.aggfinalextra THEN 'FINALFUNC_EXTRA' END, 'FINALFUNC_MODIFY = ' || g.aggfinalmodify::text,
   CASE WHEN g.aggcombinefn <> 0 THEN 'COMBINEFUNC = ' || g.aggcombinefn::pg_catalog.regprocedure::text END,
   CASE WHEN g.aggserialfn <> 0 THEN 'SERIALFUNC = ' || g.aggserialfn::pg_catalog.regprocedure::text END,
   CASE WHEN g.aggdeserialfn <> 0 THEN 'DESERIALFUNC = ' || g.aggdeserialfn::pg_catalog.regprocedure::text END,
   'INITCOND = ' || pg_catalog.quote_literal(g.agginitval),
   CASE WHEN g.aggmtransfn <> 0 THEN 'MSFUNC = ' || g.aggmtransfn::pg_catalog.regprocedure::text END,
   CASE WHEN g.aggminvtransfn <> 0 THEN 'MINVFUNC = ' || g.aggminvtransfn::pg_catalog.regprocedure::text END,
   CASE WHEN g.aggmtranstype <> 0 THEN 'MSTYPE = ' || pg_catalog.format_type(g.aggmtranstype, NULL) END,
   CASE WHEN g.aggmtransspace <> 0 THEN 'MSSPACE = ' || g.aggmtransspace END,
   CASE WHEN g.aggmfinalfn <> 0 THEN 'MFINALFUNC = ' || g.aggmfinalfn::pg_catalog.regprocedure::text END,
   CASE WHEN g.aggmfinalextra THEN 'MFINALFUNC_EXTRA' END,
   CASE WHEN g.aggmtransfn <> 0 THEN 'MFINALFUNC_MODIFY = ' || g.aggmfinalmodify::text END,
   'MINITCOND = ' || pg_catalog.quote_literal(g.aggminitval),
   CASE WHEN g.aggsortop <> 0 THEN 'SORTOP = ' || g.aggsortop::pg_catalog.regoperator::text END,
   'KIND = ' || g.aggkind::text, CASE WHEN g.aggnumdirectargs <> 0 THEN 'DIRECTARGS = ' || g.aggnumdirectargs END,
   'PARALLEL = ' || CASE p.proparallel WHEN 's' THEN 'SAFE' WHEN 'r' THEN 'RESTRICTED' ELSE 'UNSAFE' END,
   CASE WHEN p.proisstrict THEN 'STRICT' END,
   'RETURNS ' || pg_catalog.format_type(p.prorettype, NULL))
 FROM pg_catalog.pg_aggregate g WHERE g.aggfnoid = p.oid)`;
/** A secret for this process: user mapping options are compared by a keyed digest, never by value. */
const DIGEST_KEY = (0,external_node_crypto_.randomBytes)(32);
/**
 * Reads every object of CATALOG_KINDS in the connected database, with the catalog settings
 * already pinned by the caller (withPinnedCatalogSettings). `serverVersionNum` picks the
 * columns the server has.
 */
async function readCatalogKinds(db, serverVersionNum) {
    const version = serverVersionNum;
    const queries = [
        OPERATORS_SQL,
        OPERATOR_FAMILIES_SQL,
        OPERATOR_CLASSES_SQL,
        CASTS_SQL,
        collationsSql(version),
        CONVERSIONS_SQL,
        TS_CONFIGURATIONS_SQL,
        TS_DICTIONARIES_SQL,
        TS_PARSERS_SQL,
        TS_TEMPLATES_SQL,
        LANGUAGES_SQL,
        TRANSFORMS_SQL,
        ACCESS_METHODS_SQL,
        FOREIGN_DATA_WRAPPERS_SQL,
        SERVERS_SQL,
        EVENT_TRIGGERS_SQL,
        publicationsSql(version),
        publicationMembersSql(version),
        SECURITY_LABELS_SQL,
        PARTITIONED_INDEXES_SQL,
        columnSettingsSql(version),
        TABLE_SETTINGS_SQL,
        baseTypesSql(version)
    ];
    if (version >= 130000)
        queries.push(STATISTICS_TARGETS_SQL);
    if (await subscriptionsReadable(db))
        queries.push(SUBSCRIPTIONS_SQL);
    const rows = [];
    for (const sql of queries)
        rows.push(...(await db.query(sql)));
    rows.push(...(await readUserMappings(db)));
    return rows;
}
/** The subscription columns this query reads are granted to every role on 12 and later; checked all the same. */
async function subscriptionsReadable(db) {
    const [row] = await db.query(`SELECT bool_and(pg_catalog.has_column_privilege('pg_catalog.pg_subscription', c, 'SELECT')) AS readable
     FROM unnest(ARRAY['subname', 'subdbid', 'subpublications', 'subslotname']) AS c`);
    return row.readable;
}
/**
 * User mappings, each with its options as a keyed digest (they can hold passwords) and the
 * option names in clear, or UNREADABLE_MAPPING_OPTIONS where the role may not see them.
 */
async function readUserMappings(db) {
    const rows = await db.query(USER_MAPPINGS_SQL);
    return rows.map(row => ({
        kind: 'user mapping',
        name: `FOR ${row.role} SERVER ${row.server}`,
        definition: describeMappingOptions(row)
    }));
}
/** Pure: `OPTIONS (password, user) digest 1a2b...`, the same for the same options within one process. */
function describeMappingOptions(mapping) {
    if (!mapping.readable)
        return UNREADABLE_MAPPING_OPTIONS;
    if (!mapping.options || mapping.options.length === 0)
        return 'no options';
    // pg_dump writes options sorted by name, whatever their stored order.
    const sorted = [...mapping.options].sort();
    const names = sorted.map(option => option.slice(0, Math.max(0, option.indexOf('='))) || option);
    const digest = (0,external_node_crypto_.createHmac)('sha256', DIGEST_KEY).update(JSON.stringify(sorted)).digest('hex').slice(0, 16);
    return `OPTIONS (${names.join(', ')}) digest ${digest}`;
}

// EXTERNAL MODULE: ./src/util/text-order.ts
var text_order = __webpack_require__(25244);
;// CONCATENATED MODULE: ./src/engines/postgres/privileges.ts


/**
 * Owners and privileges of everything pg_dump sets them on, as schema objects of three kinds:
 * `owner` (the owning role), `privileges` (the ACL, as psql's \dp prints aclitems, sorted) and
 * `default privileges` (ALTER DEFAULT PRIVILEGES). Compared only when the restore kept owners
 * and privileges (see cleanroom-roles.ts); pure SQL, run through any Queryable.
 */
/**
 * Every object pg_dump writes an owner or an ACL for: relations, columns with column privileges,
 * schemas, functions (aggregates and procedures too), types, procedural languages, large
 * objects, foreign-data wrappers and servers, and the owner-only kinds (collations, conversions,
 * operators, operator classes and families, text search configurations and dictionaries,
 * statistics objects, event triggers, publications). `acltype` is acldefault's letter; NULL
 * where the kind has no ACL. Built-in objects (OID below 16384) and extension members are left
 * out, as pg_dump leaves them out; `public` is the one built-in schema whose owner and ACL
 * pg_dump writes.
 */
const OBJECTS_SQL = `
SELECT 'pg_catalog.pg_class'::pg_catalog.regclass AS classid, c.oid AS objid, 0 AS objsubid, c.relowner AS owner,
  c.relacl AS acl, CASE c.relkind WHEN 'S' THEN 's' ELSE 'r' END::"char" AS acltype
FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S') AND ${userRelationSql('c', 'n')}
UNION ALL
SELECT 'pg_catalog.pg_class'::pg_catalog.regclass, c.oid, a.attnum, NULL, a.attacl, 'c'
FROM pg_catalog.pg_attribute a
JOIN pg_catalog.pg_class c ON c.oid = a.attrelid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE a.attacl IS NOT NULL AND a.attnum > 0 AND NOT a.attisdropped
  AND c.relkind IN ('r', 'p', 'v', 'm', 'f') AND ${userRelationSql('c', 'n')}
UNION ALL
SELECT 'pg_catalog.pg_namespace'::pg_catalog.regclass, n.oid, 0, n.nspowner, n.nspacl, 'n'
FROM pg_catalog.pg_namespace n
WHERE ${userNamespaceSql('n')} AND ${notInExtensionSql('pg_catalog.pg_namespace', 'n.oid')}
UNION ALL
SELECT 'pg_catalog.pg_proc'::pg_catalog.regclass, p.oid, 0, p.proowner, p.proacl, 'f'
FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
WHERE ${userNamespaceSql('n')} AND ${notInExtensionSql('pg_catalog.pg_proc', 'p.oid')}
  AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend i WHERE i.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass
                  AND i.objid = p.oid AND i.deptype = 'i')
UNION ALL
SELECT 'pg_catalog.pg_type'::pg_catalog.regclass, t.oid, 0, t.typowner, t.typacl, 'T'
FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
WHERE t.typtype IN ('b', 'c', 'd', 'e', 'r') AND ${userNamespaceSql('n')}
  AND ${notInExtensionSql('pg_catalog.pg_type', 't.oid')}
  AND (t.typrelid = 0 OR (SELECT c.relkind FROM pg_catalog.pg_class c WHERE c.oid = t.typrelid) = 'c')
  AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_type e WHERE e.typarray = t.oid)
UNION ALL
SELECT 'pg_catalog.pg_language'::pg_catalog.regclass, l.oid, 0, l.lanowner, l.lanacl, 'l'
FROM pg_catalog.pg_language l
WHERE l.oid >= 16384 AND ${notInExtensionSql('pg_catalog.pg_language', 'l.oid')}
UNION ALL
SELECT 'pg_catalog.pg_largeobject'::pg_catalog.regclass, m.oid, 0, m.lomowner, m.lomacl, 'L'
FROM pg_catalog.pg_largeobject_metadata m
UNION ALL
SELECT 'pg_catalog.pg_foreign_data_wrapper'::pg_catalog.regclass, w.oid, 0, w.fdwowner, w.fdwacl, 'F'
FROM pg_catalog.pg_foreign_data_wrapper w
WHERE ${notInExtensionSql('pg_catalog.pg_foreign_data_wrapper', 'w.oid')}
UNION ALL
SELECT 'pg_catalog.pg_foreign_server'::pg_catalog.regclass, s.oid, 0, s.srvowner, s.srvacl, 'S'
FROM pg_catalog.pg_foreign_server s
WHERE ${notInExtensionSql('pg_catalog.pg_foreign_server', 's.oid')}
${ownerOnly('pg_collation', 'collowner', 'collnamespace')}
${ownerOnly('pg_conversion', 'conowner', 'connamespace')}
${ownerOnly('pg_operator', 'oprowner', 'oprnamespace')}
${ownerOnly('pg_opclass', 'opcowner', 'opcnamespace')}
${ownerOnly('pg_opfamily', 'opfowner', 'opfnamespace')}
${ownerOnly('pg_ts_config', 'cfgowner', 'cfgnamespace')}
${ownerOnly('pg_ts_dict', 'dictowner', 'dictnamespace')}
${ownerOnly('pg_statistic_ext', 'stxowner', 'stxnamespace')}
${ownerOnly('pg_event_trigger', 'evtowner')}
${ownerOnly('pg_publication', 'pubowner')}`;
/** A kind that has an owner but no ACL; in a user schema when it lives in one, never an extension's. */
function ownerOnly(catalog, ownerColumn, namespaceColumn) {
    const inUserSchema = namespaceColumn
        ? `AND EXISTS (SELECT 1 FROM pg_catalog.pg_namespace n WHERE n.oid = x.${namespaceColumn} AND ${userNamespaceSql('n')})`
        : 'AND x.oid >= 16384';
    return `UNION ALL
SELECT 'pg_catalog.${catalog}'::pg_catalog.regclass, x.oid, 0, x.${ownerColumn}, NULL, NULL
FROM pg_catalog.${catalog} x
WHERE ${notInExtensionSql(`pg_catalog.${catalog}`, 'x.oid')} ${inUserSchema}`;
}
/** Default privileges: per role, in one schema or everywhere. */
const DEFAULT_ACLS_SQL = `
SELECT d.oid AS objid, d.defaclrole AS owner, d.defaclacl AS acl
FROM pg_catalog.pg_default_acl d
WHERE d.defaclnamespace = 0
   OR EXISTS (SELECT 1 FROM pg_catalog.pg_namespace n WHERE n.oid = d.defaclnamespace AND ${userNamespaceSql('n')})`;
/**
 * A role name as the restored copy spells it, mapped back to production's when it is a stand-in
 * (see cleanroom-roles.ts): `standins` is a relation (standin, original, acl_name) of the query.
 */
const roleText = (oid) => `coalesce((SELECT m.original FROM standins m WHERE m.standin = pg_catalog.pg_get_userbyid(${oid})),
  pg_catalog.pg_get_userbyid(${oid}))`;
/** An aclitem's text with a stand-in grantee (`standin=`) or grantor (`/standin`) spelled as its original. */
const aclItemText = (item) => `(SELECT coalesce((SELECT pg_catalog.left(g, pg_catalog.length(g) - pg_catalog.length(m.standin)) || m.acl_name
    FROM standins m WHERE pg_catalog.right(g, pg_catalog.length(m.standin) + 1) = '/' || m.standin), g)
  FROM (SELECT coalesce((SELECT m.acl_name || pg_catalog.substr(${item}, pg_catalog.length(m.standin) + 1)
    FROM standins m WHERE pg_catalog.starts_with(${item}, m.standin || '=')), ${item}) AS g) AS grantee)`;
/** An ACL as sorted aclitems; a NULL ACL means the kind's default for this owner, which is what pg_dump restores. */
const aclText = (acl) => `(SELECT pg_catalog.string_agg(t, ' ' ORDER BY t COLLATE "C")
    FROM unnest(${acl}) AS item CROSS JOIN LATERAL (SELECT ${aclItemText('item::text')} AS t) AS mapped)`;
/**
 * Stand-ins ($1) and the roles they play ($2): the clean room's pre-existing roles never own the
 * dump's objects (cleanroom-roles.ts), Lazarus roles play them, and this names them back. An
 * aclitem spells a name its own way (quoted when it holds anything but letters, digits and _):
 * makeaclitem on the original, when it exists in the clean room, says how; a predefined role the
 * clean room lacks (predefined-roles.ts, letters and _ only) is spelled as putid() in acl.c would.
 */
const standInsSql = (standIns, originals) => `standins(standin, original, acl_name) AS (
  SELECT m.standin, m.original,
    coalesce((SELECT pg_catalog.left(t, (pg_catalog.length(t) - 3) / 2)
     FROM (SELECT pg_catalog.makeaclitem(r.oid, r.oid, 'SELECT', false)::text AS t
           FROM pg_catalog.pg_roles r WHERE r.rolname = m.original) AS a),
     CASE WHEN m.original ~ '^[A-Za-z0-9_]+$' THEN m.original
          ELSE '"' || pg_catalog.replace(m.original, '"', '""') || '"' END)
  FROM unnest(${standIns}::pg_catalog.text[], ${originals}::pg_catalog.text[]) AS m(standin, original))`;
/** A default ACL's identity (`for role r ...`) with a stand-in role named as the one it plays. */
const defaultAclName = (identity) => `coalesce((SELECT 'for role ' || pg_catalog.quote_ident(m.original) || pg_catalog.substr(${identity}, pg_catalog.length('for role ' || m.standin) + 1)
            FROM standins m WHERE pg_catalog.starts_with(${identity}, 'for role ' || m.standin || ' ')), ${identity})`;
/** PRIVILEGES_SQL with stand-ins named as the roles they play ($1 stand-ins, $2 their roles). */
const MAPPED_PRIVILEGES_SQL = `
WITH objects AS (${OBJECTS_SQL}), ${standInsSql('$1', '$2')}
SELECT 'owner' AS kind, o.type || ' ' || o.identity AS name, pg_catalog.quote_ident(${roleText('x.owner')}) AS definition
FROM objects x CROSS JOIN LATERAL pg_catalog.pg_identify_object(x.classid, x.objid, x.objsubid) AS o
WHERE x.owner IS NOT NULL
UNION ALL
SELECT 'privileges', o.type || ' ' || o.identity,
  coalesce(${aclText('coalesce(x.acl, pg_catalog.acldefault(x.acltype, coalesce(x.owner, 0)))')}, '(none)')
FROM objects x CROSS JOIN LATERAL pg_catalog.pg_identify_object(x.classid, x.objid, x.objsubid) AS o
WHERE x.acltype IS NOT NULL
UNION ALL
SELECT 'default privileges', ${defaultAclName('o.identity')},
  coalesce(${aclText('d.acl')}, '(none)')
FROM (${DEFAULT_ACLS_SQL}) AS d
CROSS JOIN LATERAL pg_catalog.pg_identify_object('pg_catalog.pg_default_acl'::pg_catalog.regclass, d.objid, 0) AS o`;
/** An ACL as sorted aclitems, as the server spells them (no stand-ins: production's side and manifests). */
const plainAclText = (acl) => `(SELECT pg_catalog.string_agg(item::text, ' ' ORDER BY item::text COLLATE "C") FROM unnest(${acl}) AS item)`;
const PRIVILEGES_SQL = `
WITH objects AS (${OBJECTS_SQL})
SELECT 'owner' AS kind, o.type || ' ' || o.identity AS name, pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(x.owner)) AS definition
FROM objects x CROSS JOIN LATERAL pg_catalog.pg_identify_object(x.classid, x.objid, x.objsubid) AS o
WHERE x.owner IS NOT NULL
UNION ALL
SELECT 'privileges', o.type || ' ' || o.identity,
  coalesce(${plainAclText('coalesce(x.acl, pg_catalog.acldefault(x.acltype, coalesce(x.owner, 0)))')}, '(none)')
FROM objects x CROSS JOIN LATERAL pg_catalog.pg_identify_object(x.classid, x.objid, x.objsubid) AS o
WHERE x.acltype IS NOT NULL
UNION ALL
SELECT 'default privileges', o.identity, coalesce(${plainAclText('d.acl')}, '(none)')
FROM (${DEFAULT_ACLS_SQL}) AS d
CROSS JOIN LATERAL pg_catalog.pg_identify_object('pg_catalog.pg_default_acl'::pg_catalog.regclass, d.objid, 0) AS o`;
/**
 * What an ACL takes from and adds to its server's default, as pg_dump restores it: `-grantee/grantor`
 * for each default item the ACL lacks (pg_dump revokes it), then each item the default lacks (pg_dump
 * grants it), sorted; `default` for none. `acl` and `base` are aclitem[] expressions.
 */
const aclDelta = (acl, base) => `coalesce((SELECT pg_catalog.string_agg(item, ' ' ORDER BY item COLLATE "C") FROM (
    SELECT '-' || (SELECT pg_catalog.string_agg(DISTINCT CASE WHEN e.grantee = 0 THEN 'PUBLIC' ELSE pg_catalog.quote_ident(${roleText('e.grantee')}) END
                     || '/' || pg_catalog.quote_ident(${roleText('e.grantor')}), ' ')
                   FROM pg_catalog.aclexplode(ARRAY[base_item]) AS e) AS item
    FROM unnest(${base}) AS base_item WHERE NOT (base_item = ANY (coalesce(${acl}, ${base})))
    UNION ALL
    SELECT ${aclItemText('acl_item::text')} FROM unnest(coalesce(${acl}, ${base})) AS acl_item WHERE NOT (acl_item = ANY (coalesce(${base}, '{}')))) AS items), 'default')`;
/**
 * An object's ACL as its server made it: initdb's (pg_init_privs) for the one built-in object
 * pg_dump writes the ACL of, the `public` schema, as pg_dump takes it (PostgreSQL 15 made it
 * `pg_database_owner=UC, =U` where 14 and older gave PUBLIC CREATE too); the kind's default otherwise.
 */
const INITIAL_ACL = `coalesce((SELECT i.initprivs FROM pg_catalog.pg_init_privs i
    WHERE i.objoid = x.objid AND i.classoid = x.classid AND i.objsubid = x.objsubid AND i.privtype = 'i'),
  pg_catalog.acldefault(x.acltype, coalesce(x.owner, 0)))`;
/**
 * The privileges and default privileges kinds as changes to the reading server's default ACLs
 * (aclDelta), for comparing across majors whose defaults differ (PostgreSQL 17 gives an owner
 * MAINTAIN): `kind`, `name` as PRIVILEGES_SQL names them, `delta`. A schema's default privileges
 * start empty; global ones start from the kind's default for their role, as pg_dump assumes.
 */
function privilegeDeltasSql(standIns = '$3', originals = '$4') {
    return `
WITH objects AS (${OBJECTS_SQL}), ${standInsSql(standIns, originals)}
SELECT 'privileges' AS kind, o.type || ' ' || o.identity AS name,
  ${aclDelta('x.acl', INITIAL_ACL)} AS delta
FROM objects x CROSS JOIN LATERAL pg_catalog.pg_identify_object(x.classid, x.objid, x.objsubid) AS o
WHERE x.acltype IS NOT NULL
UNION ALL
SELECT 'default privileges', ${defaultAclName('o.identity')},
  ${aclDelta('d.defaclacl', `CASE WHEN d.defaclnamespace = 0
          THEN pg_catalog.acldefault(CASE d.defaclobjtype WHEN 'S' THEN 's' ELSE d.defaclobjtype END, d.defaclrole)
          ELSE '{}'::pg_catalog.aclitem[] END`)}
FROM pg_catalog.pg_default_acl d
CROSS JOIN LATERAL pg_catalog.pg_identify_object('pg_catalog.pg_default_acl'::pg_catalog.regclass, d.oid, 0) AS o
WHERE d.defaclnamespace = 0
   OR EXISTS (SELECT 1 FROM pg_catalog.pg_namespace n WHERE n.oid = d.defaclnamespace AND ${userNamespaceSql('n')})`;
}
/**
 * Every role the dump names, as production spells it: owners of the objects above; grantors and
 * grantees of every ACL in the database (PUBLIC is no role), the system's and extensions' objects
 * included, since pg_dump also writes the grants made on those since their creation; default
 * privileges' roles; the roles of row-level security policies and of user mappings. A restore
 * with owners and privileges needs each of them in the clean room. `superuser`: the role is one
 * in production, as the owner of a foreign-data wrapper or an event trigger must be.
 */
const NAMED_ROLES_SQL = `
WITH objects AS (${OBJECTS_SQL}),
acls(acl) AS (
  SELECT relacl FROM pg_catalog.pg_class WHERE relacl IS NOT NULL
  UNION ALL SELECT attacl FROM pg_catalog.pg_attribute WHERE attacl IS NOT NULL
  UNION ALL SELECT nspacl FROM pg_catalog.pg_namespace WHERE nspacl IS NOT NULL
  UNION ALL SELECT proacl FROM pg_catalog.pg_proc WHERE proacl IS NOT NULL
  UNION ALL SELECT typacl FROM pg_catalog.pg_type WHERE typacl IS NOT NULL
  UNION ALL SELECT lanacl FROM pg_catalog.pg_language WHERE lanacl IS NOT NULL
  UNION ALL SELECT lomacl FROM pg_catalog.pg_largeobject_metadata WHERE lomacl IS NOT NULL
  UNION ALL SELECT fdwacl FROM pg_catalog.pg_foreign_data_wrapper WHERE fdwacl IS NOT NULL
  UNION ALL SELECT srvacl FROM pg_catalog.pg_foreign_server WHERE srvacl IS NOT NULL
  UNION ALL SELECT defaclacl FROM pg_catalog.pg_default_acl
),
named(role) AS (
  SELECT owner FROM objects WHERE owner IS NOT NULL
  UNION SELECT (pg_catalog.aclexplode(acl)).grantee FROM acls
  UNION SELECT (pg_catalog.aclexplode(acl)).grantor FROM acls
  UNION SELECT defaclrole FROM pg_catalog.pg_default_acl
  UNION SELECT unnest(polroles) FROM pg_catalog.pg_policy
  UNION SELECT umuser FROM pg_catalog.pg_user_mappings
)
SELECT r.rolname AS name, r.rolsuper AS superuser FROM named JOIN pg_catalog.pg_roles r ON r.oid = named.role
ORDER BY r.rolname COLLATE "C"`;
/**
 * Owners, privileges and default privileges of the connected database, sorted by kind and name;
 * `standIns` (stand-in to the role it plays) names stand-ins as the roles they play.
 */
async function readPrivileges(db, standIns = new Map()) {
    // Without stand-ins, the statement manifests record (FIGURE_METHODS.schemaFingerprint) stays as it was.
    const rows = standIns.size === 0
        ? await db.query(PRIVILEGES_SQL)
        : await db.query(MAPPED_PRIVILEGES_SQL, [[...standIns.keys()], [...standIns.values()]]);
    return rows.sort((a, b) => (0,text_order/* compareText */.n6)(a.kind, b.kind) || (0,text_order/* compareText */.n6)(a.name, b.name));
}
/** The roles production's dump names (see NAMED_ROLES_SQL). */
async function readNamedRoles(db) {
    return db.query(NAMED_ROLES_SQL);
}
const PRIVILEGE_TARGETS_SQL = `
SELECT CASE WHEN c.relkind = 'S' THEN 'SEQUENCE' ELSE 'TABLE' END AS keyword, n.nspname AS schema, c.relname AS name,
  o.type || ' ' || o.identity AS identity, pg_catalog.pg_get_userbyid(c.relowner) AS owner, c.relkind IN ('r', 'p') AS "table",
  EXISTS (SELECT 1 FROM pg_catalog.aclexplode(c.relacl) a WHERE a.grantee <> c.relowner) AS "grantsToOthers",
  coalesce((SELECT json_agg(json_build_object('schema', sn.nspname, 'name', s.relname))
            FROM pg_catalog.pg_depend d
            JOIN pg_catalog.pg_class s ON s.oid = d.objid AND s.relkind = 'S'
            JOIN pg_catalog.pg_namespace sn ON sn.oid = s.relnamespace
            WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass
              AND d.refobjid = c.oid AND d.deptype IN ('a', 'i')), '[]') AS "ownedSequences"
FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
CROSS JOIN LATERAL pg_catalog.pg_identify_object('pg_catalog.pg_class'::pg_catalog.regclass, c.oid, 0) AS o
WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S') AND ${userRelationSql('c', 'n')}
UNION ALL
SELECT 'SCHEMA', NULL, n.nspname, 'schema ' || pg_catalog.quote_ident(n.nspname), pg_catalog.pg_get_userbyid(n.nspowner), false,
  EXISTS (SELECT 1 FROM pg_catalog.aclexplode(n.nspacl) a WHERE a.grantee <> n.nspowner), '[]'::json
FROM pg_catalog.pg_namespace n
WHERE ${userNamespaceSql('n')} AND ${notInExtensionSql('pg_catalog.pg_namespace', 'n.oid')}`;
async function readPrivilegeTargets(db) {
    const rows = await db.query(PRIVILEGE_TARGETS_SQL);
    return rows.sort((a, b) => (0,text_order/* compareText */.n6)(a.identity, b.identity));
}
/** Role names for a message: quoted as SQL quotes them, line breaks spelled out so a name cannot start a log line. */
function listNames(names) {
    return names.map(name => quoteIdent(name).replace(/[\r\n]/g, char => (char === '\n' ? '\\n' : '\\r'))).join(', ');
}

;// CONCATENATED MODULE: ./src/engines/postgres/schema-fingerprint.ts



/**
 * The schema fingerprint: everything a restore must recreate besides the rows: one text
 * definition per object, built so that the same schema gives the same text in any database on
 * any server of the same major version. Hence no OIDs and no database names, while the names
 * pg_dump does keep (constraints, indexes, sequences) are part of the fingerprint. Owners and
 * ACLs are read apart (privileges.ts): they are only restored when the clean room has the roles.
 */
const SCHEMA_KINDS = [
    'schema',
    'table',
    'column',
    'column order',
    'constraint',
    'index',
    'view',
    'materialized view',
    'function',
    'trigger',
    'rule',
    'policy',
    'sequence',
    'type',
    'enum',
    'domain',
    'statistics',
    'extension',
    'comment',
    ...CATALOG_KINDS,
    'large object'
];
/** Read by privileges.ts, and compared only when the restore kept owners and privileges. */
const PRIVILEGE_KINDS = (/* unused pure expression or super */ null && (['owner', 'privileges', 'default privileges']));
/**
 * Settings that change how the server prints expressions, types and names: pg_get_expr and
 * friends qualify names not on the search_path, constants print in DateStyle and TimeZone, and
 * quote_all_identifiers quotes everything. Pinned so both sides print the same text.
 */
const CATALOG_SETTINGS = [
    ...PINNED_SETTINGS,
    ['quote_all_identifiers', 'off'],
    ['standard_conforming_strings', 'on']
];
/**
 * Runs `read` with the catalog-printing settings pinned, then puts the session's own values
 * back: the caller's session (production's snapshot transaction, say) keeps its configuration.
 * set_config is allowed in a read-only transaction.
 */
async function withPinnedCatalogSettings(db, read) {
    const names = CATALOG_SETTINGS.map(([name]) => name);
    const [saved] = await db.query('SELECT array_agg(pg_catalog.current_setting(name) ORDER BY ordinality) AS values FROM unnest($1::text[]) WITH ORDINALITY AS s(name)', [names]);
    await setAll(db, names, CATALOG_SETTINGS.map(([, value]) => value));
    try {
        return await read();
    }
    finally {
        // After an error the caller's transaction may be aborted; it has a bigger problem then.
        await setAll(db, names, saved.values).catch(() => undefined);
    }
}
async function setAll(db, names, values) {
    await db.query('SELECT pg_catalog.set_config(name, value, false) FROM unnest($1::text[], $2::text[]) AS s(name, value)', [
        names,
        values
    ]);
}
/** `schema.relation` as PostgreSQL quotes it, from a pg_namespace and a pg_class alias. */
const schema_fingerprint_qualified = (namespace, relation) => `pg_catalog.quote_ident(${namespace}.nspname) || '.' || pg_catalog.quote_ident(${relation}.relname)`;
/** A user relation that is not part of an extension (`c` pg_class, `n` its pg_namespace). */
const schema_fingerprint_USER_RELATION = userRelationSql('c', 'n');
const SCHEMAS_SQL = `
SELECT 'schema' AS kind, pg_catalog.quote_ident(n.nspname) AS name, 'CREATE SCHEMA ' || pg_catalog.quote_ident(n.nspname) AS definition
FROM pg_catalog.pg_namespace n
WHERE ${userNamespaceSql('n')} AND ${notInExtensionSql('pg_catalog.pg_namespace', 'n.oid')}`;
/** What columns, constraints and indexes do not say about a table: partitioning, inheritance, storage, RLS. */
const TABLES_SQL = `
SELECT 'table' AS kind, ${schema_fingerprint_qualified('n', 'c')} AS name,
  concat_ws(' ',
    CASE c.relkind WHEN 'p' THEN 'partitioned table' WHEN 'f' THEN 'foreign table' ELSE 'table' END,
    CASE WHEN c.relpersistence = 'u' THEN 'UNLOGGED' END,
    CASE WHEN c.relkind = 'p' THEN 'PARTITION BY ' || pg_catalog.pg_get_partkeydef(c.oid) END,
    (SELECT CASE WHEN c.relispartition THEN 'PARTITION OF ' ELSE 'INHERITS ' END
            || string_agg(i.inhparent::pg_catalog.regclass::text, ', ' ORDER BY i.inhseqno)
     FROM pg_catalog.pg_inherits i WHERE i.inhrelid = c.oid),
    CASE WHEN c.relispartition THEN pg_catalog.pg_get_expr(c.relpartbound, c.oid) END,
    (SELECT 'SERVER ' || pg_catalog.quote_ident(s.srvname) || coalesce(' OPTIONS (' || (SELECT string_agg(o, ', ' ORDER BY o COLLATE "C") FROM unnest(f.ftoptions) AS o) || ')', '')
     FROM pg_catalog.pg_foreign_table f JOIN pg_catalog.pg_foreign_server s ON s.oid = f.ftserver WHERE f.ftrelid = c.oid),
    'WITH (' || array_to_string(c.reloptions, ', ') || ')',
    CASE WHEN c.relrowsecurity THEN 'ROW LEVEL SECURITY' END,
    CASE WHEN c.relforcerowsecurity THEN 'FORCE ROW LEVEL SECURITY' END,
    CASE c.relreplident WHEN 'n' THEN 'REPLICA IDENTITY NOTHING' WHEN 'f' THEN 'REPLICA IDENTITY FULL'
                        WHEN 'i' THEN 'REPLICA IDENTITY USING INDEX ' || coalesce(
                          (SELECT pg_catalog.quote_ident(ri.relname) FROM pg_catalog.pg_index i
                           JOIN pg_catalog.pg_class ri ON ri.oid = i.indexrelid
                           WHERE i.indrelid = c.oid AND i.indisreplident), '') END) AS definition
FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'f') AND ${schema_fingerprint_USER_RELATION}`;
/**
 * Columns of tables, foreign tables and composite types. A view's columns follow from its
 * definition. Keyed by name, not position: columns dropped in production leave holes in attnum
 * that a restore closes.
 */
const COLUMNS_SQL = `
SELECT 'column' AS kind, ${schema_fingerprint_qualified('n', 'c')} || '.' || pg_catalog.quote_ident(a.attname) AS name,
  concat_ws(' ',
    pg_catalog.format_type(a.atttypid, a.atttypmod),
    CASE WHEN a.attcollation <> t.typcollation
         THEN 'COLLATE ' || pg_catalog.quote_ident(cn.nspname) || '.' || pg_catalog.quote_ident(co.collname) END,
    CASE WHEN a.attnotnull THEN 'NOT NULL' END,
    CASE WHEN a.attgenerated = 's' THEN 'GENERATED ALWAYS AS (' || pg_catalog.pg_get_expr(d.adbin, d.adrelid) || ') STORED'
         ELSE 'DEFAULT ' || pg_catalog.pg_get_expr(d.adbin, d.adrelid) END,
    CASE a.attidentity WHEN 'a' THEN 'GENERATED ALWAYS AS IDENTITY' WHEN 'd' THEN 'GENERATED BY DEFAULT AS IDENTITY' END
  ) AS definition
FROM pg_catalog.pg_attribute a
JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
LEFT JOIN pg_catalog.pg_collation co ON co.oid = a.attcollation
LEFT JOIN pg_catalog.pg_namespace cn ON cn.oid = co.collnamespace
WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p', 'f', 'c') AND ${schema_fingerprint_USER_RELATION}
  AND ${notInExtensionSql('pg_catalog.pg_type', 'c.reltype')}`;
/**
 * The order of a table's (or composite type's) columns, which `SELECT *`, `INSERT ... VALUES`
 * without a column list, `COPY` without one and row constructors depend on. Columns are compared
 * by name above; pg_dump keeps their order (dropped columns aside, whose holes a restore closes),
 * but for an inheritance child, which it restores with `INHERITS`: that puts the inherited columns
 * first, in the parents' order, so only the child's own columns (not inherited) are compared, in
 * their order. A partition is restored as a table of its own (pg_dump 12 and later) and then
 * attached, so all its columns keep their order, which may differ from its parent's.
 */
const COLUMN_ORDER_SQL = `
SELECT 'column order' AS kind, ${schema_fingerprint_qualified('n', 'c')} AS name,
  coalesce((SELECT string_agg(pg_catalog.quote_ident(a.attname), ', ' ORDER BY a.attnum)
            FROM pg_catalog.pg_attribute a
            WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped AND (a.attinhcount = 0 OR c.relispartition)), '')
    AS definition
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'f', 'c') AND ${schema_fingerprint_USER_RELATION}
  AND ${notInExtensionSql('pg_catalog.pg_type', 'c.reltype')}`;
/**
 * Table constraints (domain constraints belong to their domain). NOT NULL is compared with its
 * column (and a domain's with the domain): PostgreSQL 18 (17 for domains) also catalogs it as a
 * constraint of kind `n`, older servers do not, and a restore into a newer clean room must still
 * compare. A foreign key on or to a
 * partitioned table is cloned per partition under the same name; the clones (conparentid set)
 * follow from their parent, which is what pg_dump dumps, and would collide on name.
 */
const CONSTRAINTS_SQL = `
SELECT 'constraint' AS kind, ${schema_fingerprint_qualified('n', 'c')} || '.' || pg_catalog.quote_ident(co.conname) AS name,
  pg_catalog.pg_get_constraintdef(co.oid) AS definition
FROM pg_catalog.pg_constraint co
JOIN pg_catalog.pg_class c ON c.oid = co.conrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE NOT (co.contype = 'f' AND co.conparentid <> 0) AND co.contype <> 'n' AND ${schema_fingerprint_USER_RELATION}`;
/**
 * Indexes other than those behind a primary key, unique or exclusion constraint (the constraint
 * says it all, and one missing object should be one difference). Invalid indexes, left by a
 * failed CREATE INDEX CONCURRENTLY, are not dumped by pg_dump; a partitioned index is invalid
 * until every partition has its own, so it stays.
 */
const INDEXES_SQL = `
SELECT 'index' AS kind, pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(ic.relname) AS name,
  pg_catalog.pg_get_indexdef(i.indexrelid) || CASE WHEN i.indisclustered THEN ' (CLUSTER)' ELSE '' END AS definition
FROM pg_catalog.pg_index i
JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
JOIN pg_catalog.pg_class c ON c.oid = i.indrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE (i.indisvalid OR ic.relkind = 'I') AND ${schema_fingerprint_USER_RELATION}
  AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint co
                  WHERE co.conindid = i.indexrelid AND co.conrelid = i.indrelid AND co.contype IN ('p', 'u', 'x'))`;
const VIEWS_SQL = `
SELECT CASE c.relkind WHEN 'v' THEN 'view' ELSE 'materialized view' END AS kind, ${schema_fingerprint_qualified('n', 'c')} AS name,
  concat_ws(' ',
    'WITH (' || array_to_string(c.reloptions, ', ') || ')',
    ltrim(pg_catalog.pg_get_viewdef(c.oid)),
    CASE WHEN c.relkind = 'm' AND NOT c.relispopulated THEN 'WITH NO DATA' END) AS definition
FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('v', 'm') AND ${schema_fingerprint_USER_RELATION}`;
/**
 * Functions and procedures by name and argument types (overloads are separate objects);
 * pg_get_functiondef gives body, language, volatility, strictness, security and SET options.
 * It refuses aggregates, which are described from pg_aggregate instead; every "char" column is cast
 * to text before || (PostgreSQL 18 finds text || "char" ambiguous). Functions a type made
 * for itself (a range type's constructors, deptype `i`) come and go with their type.
 */
const FUNCTIONS_SQL = `
SELECT 'function' AS kind,
  pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(p.proname)
    || '(' || pg_catalog.oidvectortypes(p.proargtypes) || ')' AS name,
  CASE WHEN p.prokind = 'a' THEN ${AGGREGATE_DEFINITION_SQL}
  ELSE pg_catalog.pg_get_functiondef(p.oid) END AS definition
FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
WHERE ${userNamespaceSql('n')} AND ${notInExtensionSql('pg_catalog.pg_proc', 'p.oid')}
  AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend i WHERE i.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass
                  AND i.objid = p.oid AND i.deptype = 'i')`;
/** User triggers; internal ones (foreign keys) belong to their constraint, clones on partitions to their parent. */
const triggersSql = (serverVersionNum) => `
SELECT 'trigger' AS kind, ${schema_fingerprint_qualified('n', 'c')} || '.' || pg_catalog.quote_ident(t.tgname) AS name,
  pg_catalog.pg_get_triggerdef(t.oid)
    || CASE t.tgenabled WHEN 'D' THEN ' (DISABLED)' WHEN 'R' THEN ' (ENABLE REPLICA)'
                        WHEN 'A' THEN ' (ENABLE ALWAYS)' ELSE '' END AS definition
FROM pg_catalog.pg_trigger t
JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE NOT t.tgisinternal ${serverVersionNum >= 130000 ? 'AND t.tgparentid = 0' : ''} AND ${schema_fingerprint_USER_RELATION}`;
const RULES_SQL = `
SELECT 'rule' AS kind, ${schema_fingerprint_qualified('n', 'c')} || '.' || pg_catalog.quote_ident(r.rulename) AS name,
  pg_catalog.pg_get_ruledef(r.oid) || CASE r.ev_enabled WHEN 'D' THEN ' (DISABLED)' WHEN 'R' THEN ' (ENABLE REPLICA)'
                                                        WHEN 'A' THEN ' (ENABLE ALWAYS)' ELSE '' END AS definition
FROM pg_catalog.pg_rewrite r
JOIN pg_catalog.pg_class c ON c.oid = r.ev_class
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE r.rulename <> '_RETURN' AND ${schema_fingerprint_USER_RELATION}`;
/** Row-level security policies. Roles named in a policy must exist for the restore to succeed, so they are kept. */
const POLICIES_SQL = `
SELECT 'policy' AS kind, ${schema_fingerprint_qualified('n', 'c')} || '.' || pg_catalog.quote_ident(p.polname) AS name,
  concat_ws(' ',
    CASE WHEN p.polpermissive THEN 'AS PERMISSIVE' ELSE 'AS RESTRICTIVE' END,
    'FOR ' || CASE p.polcmd WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT' WHEN 'w' THEN 'UPDATE' WHEN 'd' THEN 'DELETE' ELSE 'ALL' END,
    'TO ' || (SELECT string_agg(role, ', ' ORDER BY role)
              FROM (SELECT CASE WHEN r = 0 THEN 'PUBLIC' ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(r)) END AS role
                    FROM unnest(p.polroles) AS r) AS roles),
    'USING (' || pg_catalog.pg_get_expr(p.polqual, p.polrelid) || ')',
    'WITH CHECK (' || pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid) || ')') AS definition
FROM pg_catalog.pg_policy p
JOIN pg_catalog.pg_class c ON c.oid = p.polrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE ${schema_fingerprint_USER_RELATION}`;
/** How a sequence is defined, not where it stands: values move under live writes (see sequence-check.ts). */
const SEQUENCES_SQL = `
SELECT 'sequence' AS kind, ${schema_fingerprint_qualified('n', 'c')} AS name,
  concat_ws(' ',
    'AS ' || pg_catalog.format_type(s.seqtypid, NULL),
    'START ' || s.seqstart, 'INCREMENT ' || s.seqincrement, 'MINVALUE ' || s.seqmin, 'MAXVALUE ' || s.seqmax,
    'CACHE ' || s.seqcache, CASE WHEN s.seqcycle THEN 'CYCLE' ELSE 'NO CYCLE' END,
    CASE WHEN c.relpersistence = 'u' THEN 'UNLOGGED' END,
    (SELECT 'OWNED BY ' || ${schema_fingerprint_qualified('tn', 'tc')} || '.' || pg_catalog.quote_ident(ta.attname)
            || CASE d.deptype WHEN 'i' THEN ' (identity)' ELSE '' END
     FROM pg_catalog.pg_depend d
     JOIN pg_catalog.pg_class tc ON tc.oid = d.refobjid
     JOIN pg_catalog.pg_namespace tn ON tn.oid = tc.relnamespace
     JOIN pg_catalog.pg_attribute ta ON ta.attrelid = d.refobjid AND ta.attnum = d.refobjsubid
     WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.objid = c.oid
       AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.refobjsubid > 0 AND d.deptype IN ('a', 'i')
     LIMIT 1)) AS definition
FROM pg_catalog.pg_sequence s
JOIN pg_catalog.pg_class c ON c.oid = s.seqrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE ${schema_fingerprint_USER_RELATION}`;
/** A user type's name (`t` pg_type, `n` its pg_namespace). */
const TYPE_NAME = `pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(t.typname)`;
const USER_TYPE = `${userNamespaceSql('n')} AND ${notInExtensionSql('pg_catalog.pg_type', 't.oid')}`;
/** Composite types (their attributes are columns) and range types. */
const TYPES_SQL = `
SELECT 'type' AS kind, ${TYPE_NAME} AS name,
  CASE t.typtype WHEN 'c' THEN 'composite'
  ELSE (SELECT concat_ws(' ', 'range of ' || pg_catalog.format_type(r.rngsubtype, NULL),
                         'COLLATE ' || (SELECT pg_catalog.quote_ident(cn.nspname) || '.' || pg_catalog.quote_ident(co.collname)
                                        FROM pg_catalog.pg_collation co JOIN pg_catalog.pg_namespace cn ON cn.oid = co.collnamespace
                                        WHERE co.oid = r.rngcollation),
                         'SUBTYPE_OPCLASS = ' || (SELECT pg_catalog.quote_ident(on_.nspname) || '.' || pg_catalog.quote_ident(oc.opcname)
                                                  FROM pg_catalog.pg_opclass oc JOIN pg_catalog.pg_namespace on_ ON on_.oid = oc.opcnamespace
                                                  WHERE oc.oid = r.rngsubopc),
                         CASE WHEN r.rngcanonical <> 0 THEN 'CANONICAL = ' || r.rngcanonical::pg_catalog.regprocedure::text END,
                         CASE WHEN r.rngsubdiff <> 0 THEN 'SUBTYPE_DIFF = ' || r.rngsubdiff::pg_catalog.regprocedure::text END)
        FROM pg_catalog.pg_range r WHERE r.rngtypid = t.oid) END AS definition
FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
WHERE (t.typtype = 'r' OR (t.typtype = 'c' AND (SELECT c.relkind FROM pg_catalog.pg_class c WHERE c.oid = t.typrelid) = 'c'))
  AND ${USER_TYPE}`;
/** Enum labels in their sort order, which is the order comparisons use. */
const ENUMS_SQL = `
SELECT 'enum' AS kind, ${TYPE_NAME} AS name,
  coalesce((SELECT string_agg(pg_catalog.quote_literal(e.enumlabel), ', ' ORDER BY e.enumsortorder)
            FROM pg_catalog.pg_enum e WHERE e.enumtypid = t.oid), '') AS definition
FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
WHERE t.typtype = 'e' AND ${USER_TYPE}`;
/** Domains with base type, collation, nullability, default (deparsed, not as typed) and named constraints. */
const DOMAINS_SQL = `
SELECT 'domain' AS kind, ${TYPE_NAME} AS name,
  concat_ws(' ',
    pg_catalog.format_type(t.typbasetype, t.typtypmod),
    CASE WHEN t.typcollation <> b.typcollation
         THEN 'COLLATE ' || pg_catalog.quote_ident(cn.nspname) || '.' || pg_catalog.quote_ident(co.collname) END,
    CASE WHEN t.typnotnull THEN 'NOT NULL' END,
    'DEFAULT ' || pg_catalog.pg_get_expr(t.typdefaultbin, 0),
    (SELECT string_agg('CONSTRAINT ' || pg_catalog.quote_ident(dc.conname) || ' ' || pg_catalog.pg_get_constraintdef(dc.oid), ' '
                       ORDER BY dc.conname)
     FROM pg_catalog.pg_constraint dc WHERE dc.contypid = t.oid AND dc.contype <> 'n')) AS definition
FROM pg_catalog.pg_type t
JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
JOIN pg_catalog.pg_type b ON b.oid = t.typbasetype
LEFT JOIN pg_catalog.pg_collation co ON co.oid = t.typcollation
LEFT JOIN pg_catalog.pg_namespace cn ON cn.oid = co.collnamespace
WHERE t.typtype = 'd' AND ${USER_TYPE}`;
/** Extended statistics (CREATE STATISTICS). */
const STATISTICS_SQL = `
SELECT 'statistics' AS kind, pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(s.stxname) AS name,
  pg_catalog.pg_get_statisticsobjdef(s.oid) AS definition
FROM pg_catalog.pg_statistic_ext s
JOIN pg_catalog.pg_namespace n ON n.oid = s.stxnamespace
WHERE ${userNamespaceSql('n')} AND ${notInExtensionSql('pg_catalog.pg_statistic_ext', 's.oid')}`;
/** Extensions wherever they live: their members are left out of everything else, so the version stands for them. */
const EXTENSIONS_SQL = `
SELECT 'extension' AS kind, pg_catalog.quote_ident(x.extname) AS name,
  'version ' || x.extversion || ' in schema ' || pg_catalog.quote_ident(n.nspname) AS definition
FROM pg_catalog.pg_extension x JOIN pg_catalog.pg_namespace n ON n.oid = x.extnamespace`;
/**
 * Comments on any user object, named the way pg_identify_object names it ("table column
 * public.customers.email"). Built-in objects have OIDs below 16384 (FirstNormalObjectId) and
 * their comments come with the server; schemas are the exception, since `public` is built in
 * yet its comment can be changed.
 */
const COMMENTS_SQL = `
SELECT 'comment' AS kind, o.type || ' ' || o.identity AS name, d.description AS definition
FROM pg_catalog.pg_description d
CROSS JOIN LATERAL pg_catalog.pg_identify_object(d.classoid, d.objoid, d.objsubid) AS o
LEFT JOIN pg_catalog.pg_namespace n
  ON CASE WHEN d.classoid = 'pg_catalog.pg_namespace'::pg_catalog.regclass THEN n.oid = d.objoid ELSE n.nspname = o.schema END
WHERE (d.objoid >= 16384 OR d.classoid = 'pg_catalog.pg_namespace'::pg_catalog.regclass)
  AND o.identity IS NOT NULL
  AND (CASE WHEN n.oid IS NULL THEN o.schema IS NULL ELSE ${userNamespaceSql('n')} END)
  AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend e
                  WHERE e.classid = d.classoid AND e.objid = d.objoid AND e.deptype = 'e')`;
/**
 * Reads the schema fingerprint of the connected database: every object of every kind in
 * SCHEMA_KINDS outside the system schemas and outside extensions, sorted by kind then name.
 * Run it inside production's snapshot transaction to describe the schema pg_dump saw (the
 * pg_get_*def functions read the latest catalog, so DDL racing the dump can still show).
 * Needs PostgreSQL 12 or later.
 */
async function readSchemaFingerprint(db) {
    return withPinnedCatalogSettings(db, async () => {
        const [{ num }] = await db.query("SELECT pg_catalog.current_setting('server_version_num') AS num");
        const queries = [
            SCHEMAS_SQL,
            TABLES_SQL,
            COLUMNS_SQL,
            COLUMN_ORDER_SQL,
            CONSTRAINTS_SQL,
            INDEXES_SQL,
            VIEWS_SQL,
            FUNCTIONS_SQL,
            triggersSql(Number(num)),
            RULES_SQL,
            POLICIES_SQL,
            SEQUENCES_SQL,
            TYPES_SQL,
            ENUMS_SQL,
            DOMAINS_SQL,
            STATISTICS_SQL,
            EXTENSIONS_SQL,
            COMMENTS_SQL
        ];
        const objects = [];
        for (const sql of queries)
            objects.push(...(await db.query(sql)));
        objects.push(...(await readCatalogKinds(db, Number(num))));
        return objects.sort(text_order/* byKindAndName */.Er);
    });
}
/**
 * The objects whose definitions differ, or that one side lacks, sorted by kind then name.
 * Pure. Objects that share kind and name (which the catalog queries avoid) are compared as the
 * sorted set of their definitions, so none is silently dropped.
 */
function diffSchema(production, restored) {
    const productionByKey = definitionsByKey(production);
    const restoredByKey = definitionsByKey(restored);
    const differences = [];
    for (const [key, { kind, name, definition }] of productionByKey) {
        const copy = restoredByKey.get(key);
        // Options the role may not read on one side are compared by the mapping's existence alone.
        const unreadable = copy && [definition, copy.definition].includes(UNREADABLE_MAPPING_OPTIONS);
        if (copy?.definition !== definition && !unreadable)
            differences.push({ kind, name, production: definition, restored: copy?.definition ?? null });
    }
    for (const [key, { kind, name, definition }] of restoredByKey) {
        if (!productionByKey.has(key))
            differences.push({ kind, name, production: null, restored: definition });
    }
    return differences.sort(text_order/* byKindAndName */.Er);
}
function definitionsByKey(objects) {
    const grouped = new Map();
    for (const object of objects) {
        const key = `${object.kind}\u0000${object.name}`;
        const entry = grouped.get(key);
        if (entry)
            entry.definitions.push(object.definition);
        else
            grouped.set(key, { ...object, definitions: [object.definition] });
    }
    return new Map([...grouped].map(([key, { kind, name, definitions }]) => {
        return [key, { kind, name, definition: definitions.sort(text_order/* compareText */.n6).join('\n') }];
    }));
}

;// CONCATENATED MODULE: ./src/engines/postgres/cross-major.ts




/**
 * Across server majors, the same object reads differently: its fingerprint is text that the
 * server's own deparser prints (pg_get_viewdef, pg_get_functiondef, regprocedure...) or that
 * follows from the server's catalog defaults (acldefault), and those change between majors.
 * PostgreSQL 16 prints a single-table view's columns without the table's name, 14 prints a
 * procedure's arguments with IN, 14 made array_append anycompatible, 17 gives every owner
 * MAINTAIN. A difference between production and a clean room of another major is therefore
 * settled by the clean room itself, never by rewriting text: production's definition is
 * recreated inside the restored scratch database (in a transaction that is always rolled
 * back, in a schema of Lazarus's own, so nothing stays) and read back through the clean room's
 * deparser, and so is the restored copy's; the difference goes only when both read the same.
 * A corruption survives this: what production's text means in the clean room is compared with
 * what the restored copy means there. Privileges are compared as pg_dump restores them: what
 * each side adds to or takes from its own server's default ACL. Only used when the majors differ.
 */
/** The kinds whose text a server's deparser prints, and which the clean room can recreate. */
const RECREATED_KINDS = new Set(['view', 'materialized view', 'function']);
/** Kinds compared as changes to the server's default ACL. */
const ACL_KINDS = new Set(['privileges', 'default privileges']);
/** Lazarus's own schema inside the scratch database, for the length of one rolled-back savepoint. */
const SCRATCH_SCHEMA = 'lazarus_deparse';
/**
 * Removes the differences that only the two servers' majors make: each one whose production
 * and restored definitions, recreated in the clean room, read the same there. The others stay
 * as they were, with the texts each server printed.
 */
async function settleAcrossMajors(sides, differences) {
    const [{ num }] = await sides.restored.query("SELECT pg_catalog.current_setting('server_version_num') AS num");
    differences = withoutSanitizedClauses(differences, Math.floor(Number(num) / 10000));
    const recreated = differences.filter(d => d.production !== null && d.restored !== null && RECREATED_KINDS.has(d.kind));
    const acls = differences.filter(d => d.production !== null && d.restored !== null && ACL_KINDS.has(d.kind));
    const settled = new Set();
    if (recreated.length > 0) {
        for (const difference of await sameInCleanRoom(sides, recreated))
            settled.add(difference);
    }
    if (acls.length > 0) {
        for (const difference of await sameAclChanges(sides, acls))
            settled.add(difference);
    }
    const owners = differences.filter(d => d.kind === 'owner' && d.name === 'schema public');
    if (owners.length > 0) {
        for (const difference of await sameInitialOwner(sides, owners))
            settled.add(difference);
    }
    return differences.filter(difference => !settled.has(difference));
}
/**
 * The sanitizer's faithful rewrites (skew-catalogue.ts), applied to production's side of a
 * difference: a column's compression method (PostgreSQL 14+) is removed for a clean room before
 * 14, where every value is stored with pglz, so it is not compared there. The report lists the
 * rule (`column-compression`) among what was sanitized. Pure.
 */
function withoutSanitizedClauses(differences, cleanroomMajor) {
    if (cleanroomMajor >= 14)
        return differences;
    return differences.filter(difference => {
        if (difference.kind !== 'column settings' || difference.production === null)
            return true;
        const production = difference.production.replace(/(^| )COMPRESSION [a-z0-9]+(?= |$)/, '').trim();
        return production !== (difference.restored ?? '');
    });
}
/** The differences whose two definitions the clean room recreates alike. */
async function sameInCleanRoom(sides, differences) {
    // Aggregates are recreated from each side's catalog (pg_dump's CREATE AGGREGATE, by name).
    const aggregates = differences.filter(d => d.kind === 'function' && d.production?.startsWith('AGGREGATE'));
    const aggregateNames = aggregates.map(d => d.name);
    const productionAggregates = aggregateNames.length
        ? await sides.production.withSavepoint(() => readAggregateStatements(sides.production, aggregateNames))
        : new Map();
    const restoredAggregates = aggregateNames.length ? await readAggregateStatements(sides.restored, aggregateNames) : new Map();
    const same = [];
    const db = sides.restored;
    await withPinnedCatalogSettings(db, async () => {
        await db.query('BEGIN');
        try {
            // Bodies are not checked when recreated, as pg_dump's restore does not check them.
            await db.query("SELECT pg_catalog.set_config('check_function_bodies', 'off', true)");
            for (const difference of differences) {
                const recreate = (definition, aggregate) => recreateInCleanRoom(db, difference.kind, difference.name, definition, aggregate);
                const production = await recreate(difference.production, productionAggregates.get(difference.name));
                const restored = await recreate(difference.restored, restoredAggregates.get(difference.name));
                if (production !== undefined && production === restored)
                    same.push(difference);
            }
        }
        finally {
            await db.query('ROLLBACK');
        }
    });
    return same;
}
/**
 * Recreates one object in Lazarus's scratch schema from its definition and reads it back as the
 * fingerprint prints it there; undefined when the clean room cannot recreate it (the difference
 * then stands). Runs under a savepoint that is always rolled back.
 */
async function recreateInCleanRoom(db, kind, name, definition, aggregate) {
    await db.query('SAVEPOINT lazarus_deparse');
    try {
        await db.query(`CREATE SCHEMA ${SCRATCH_SCHEMA}`);
        if (kind === 'view' || kind === 'materialized view')
            return await recreateView(db, definition);
        if (definition.startsWith('AGGREGATE'))
            return aggregate === undefined ? undefined : await recreateAggregate(db, aggregate);
        return await recreateFunction(db, name, definition);
    }
    catch {
        return undefined;
    }
    finally {
        await db.query('ROLLBACK TO SAVEPOINT lazarus_deparse');
    }
}
/** A statement built from a side's own text, run as one statement only (the extended protocol refuses more). */
async function runOne(db, sql) {
    const extended = db;
    if (!extended.queryExtended)
        throw new Error('a session that runs one statement at a time is needed');
    await extended.queryExtended(sql);
}
/**
 * A view's or materialized view's definition: `[WITH (options) ]query;[ WITH NO DATA]` (see
 * VIEWS_SQL). The query is recreated as a view and printed by the clean room; the options and
 * the populated state are compared as they are.
 */
function splitViewDefinition(definition) {
    const match = /^(WITH \([^()]*\) )?([\s\S]*;)( WITH NO DATA)?$/.exec(definition);
    if (!match)
        return undefined;
    return { before: match[1] ?? '', query: match[2], after: match[3] ?? '' };
}
async function recreateView(db, definition) {
    const parts = splitViewDefinition(definition);
    if (!parts)
        return undefined;
    await runOne(db, `CREATE VIEW ${SCRATCH_SCHEMA}.recreated AS ${parts.query.replace(/;$/, '')}`);
    const [row] = await db.query(`SELECT ltrim(pg_catalog.pg_get_viewdef('${SCRATCH_SCHEMA}.recreated'::pg_catalog.regclass)) AS query`);
    return parts.before + row.query + parts.after;
}
/**
 * A function or procedure: pg_get_functiondef's statement, `CREATE OR REPLACE FUNCTION
 * schema.name(`..., recreated under the same name in the scratch schema and printed back with
 * the original schema's name where the scratch schema's stands.
 */
async function recreateFunction(db, name, definition) {
    const qualified = name.slice(0, functionNameEnd(name));
    const header = /^CREATE OR REPLACE (FUNCTION|PROCEDURE) /.exec(definition);
    if (!header || !definition.startsWith(`${header[0]}${qualified}(`))
        return undefined;
    const proname = qualified.slice(qualifiedSchemaEnd(qualified) + 1);
    const scratchHeader = `${header[0]}${SCRATCH_SCHEMA}.${proname}(`;
    await runOne(db, scratchHeader + definition.slice(header[0].length + qualified.length + 1));
    const [row] = await db.query(`SELECT pg_catalog.pg_get_functiondef(p.oid) AS definition FROM pg_catalog.pg_proc p
     WHERE p.pronamespace = '${SCRATCH_SCHEMA}'::pg_catalog.regnamespace`);
    if (!row?.definition.startsWith(scratchHeader))
        return undefined;
    return `${header[0]}${qualified}(` + row.definition.slice(scratchHeader.length);
}
/** Where `schema.name` ends in a function's fingerprint name `schema.name(argument types)`. */
function functionNameEnd(name) {
    let quoted = false;
    for (let i = 0; i < name.length; i++) {
        if (name[i] === '"')
            quoted = !quoted;
        else if (name[i] === '(' && !quoted)
            return i;
    }
    return name.length;
}
/** Where the schema ends in `schema.name`, each part bare or double-quoted. */
function qualifiedSchemaEnd(qualified) {
    let quoted = false;
    for (let i = 0; i < qualified.length; i++) {
        if (qualified[i] === '"')
            quoted = !quoted;
        else if (qualified[i] === '.' && !quoted)
            return i;
    }
    return -1;
}
/**
 * CREATE AGGREGATE statements as pg_dump writes them (functions by name, resolved by the server
 * that runs the statement, as a restore resolves them), for aggregates named as the fingerprint
 * names functions. Built in SQL on the side the aggregate lives on, with the catalog settings
 * pinned (search_path pg_catalog: names outside it are qualified).
 */
const AGGREGATE_STATEMENTS_SQL = `
SELECT pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(p.proname)
    || '(' || pg_catalog.oidvectortypes(p.proargtypes) || ')' AS name,
  'CREATE AGGREGATE ${SCRATCH_SCHEMA}.recreated(' || CASE WHEN p.pronargs = 0 THEN '*' ELSE pg_catalog.pg_get_function_arguments(p.oid) END
  || ') (' || concat_ws(', ', 'SFUNC = ' || g.aggtransfn::pg_catalog.regproc::text,
    'STYPE = ' || pg_catalog.format_type(g.aggtranstype, NULL),
    CASE WHEN g.aggtransspace <> 0 THEN 'SSPACE = ' || g.aggtransspace END,
    CASE WHEN g.aggfinalfn <> 0 THEN 'FINALFUNC = ' || g.aggfinalfn::pg_catalog.regproc::text END,
    CASE WHEN g.aggfinalextra THEN 'FINALFUNC_EXTRA' END,
    'FINALFUNC_MODIFY = ' || CASE g.aggfinalmodify WHEN 'r' THEN 'READ_ONLY' WHEN 's' THEN 'SHAREABLE' ELSE 'READ_WRITE' END,
    CASE WHEN g.aggcombinefn <> 0 THEN 'COMBINEFUNC = ' || g.aggcombinefn::pg_catalog.regproc::text END,
    CASE WHEN g.aggserialfn <> 0 THEN 'SERIALFUNC = ' || g.aggserialfn::pg_catalog.regproc::text END,
    CASE WHEN g.aggdeserialfn <> 0 THEN 'DESERIALFUNC = ' || g.aggdeserialfn::pg_catalog.regproc::text END,
    'INITCOND = ' || pg_catalog.quote_literal(g.agginitval),
    CASE WHEN g.aggmtransfn <> 0 THEN 'MSFUNC = ' || g.aggmtransfn::pg_catalog.regproc::text END,
    CASE WHEN g.aggminvtransfn <> 0 THEN 'MINVFUNC = ' || g.aggminvtransfn::pg_catalog.regproc::text END,
    CASE WHEN g.aggmtranstype <> 0 THEN 'MSTYPE = ' || pg_catalog.format_type(g.aggmtranstype, NULL) END,
    CASE WHEN g.aggmtransspace <> 0 THEN 'MSSPACE = ' || g.aggmtransspace END,
    CASE WHEN g.aggmfinalfn <> 0 THEN 'MFINALFUNC = ' || g.aggmfinalfn::pg_catalog.regproc::text END,
    CASE WHEN g.aggmfinalextra THEN 'MFINALFUNC_EXTRA' END,
    CASE WHEN g.aggmtransfn <> 0 THEN 'MFINALFUNC_MODIFY = '
      || CASE g.aggmfinalmodify WHEN 'r' THEN 'READ_ONLY' WHEN 's' THEN 'SHAREABLE' ELSE 'READ_WRITE' END END,
    'MINITCOND = ' || pg_catalog.quote_literal(g.aggminitval),
    CASE WHEN g.aggsortop <> 0 THEN 'SORTOP = ' || (SELECT 'OPERATOR(' || pg_catalog.quote_ident(opn.nspname) || '.' || o.oprname || ')'
                                                    FROM pg_catalog.pg_operator o JOIN pg_catalog.pg_namespace opn ON opn.oid = o.oprnamespace
                                                    WHERE o.oid = g.aggsortop) END,
    CASE WHEN g.aggkind = 'h' THEN 'HYPOTHETICAL' END,
    'PARALLEL = ' || CASE p.proparallel WHEN 's' THEN 'SAFE' WHEN 'r' THEN 'RESTRICTED' ELSE 'UNSAFE' END) || ')' AS statement
FROM pg_catalog.pg_proc p
JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
JOIN pg_catalog.pg_aggregate g ON g.aggfnoid = p.oid`;
async function readAggregateStatements(db, names) {
    const rows = await withPinnedCatalogSettings(db, () => db.query(`SELECT * FROM (${AGGREGATE_STATEMENTS_SQL}) a WHERE a.name = ANY ($1)`, [
        names
    ]));
    return new Map(rows.map(row => [row.name, row.statement]));
}
async function recreateAggregate(db, statement) {
    await runOne(db, statement);
    const [row] = await db.query(`SELECT ${AGGREGATE_DEFINITION_SQL} AS definition FROM pg_catalog.pg_proc p
     WHERE p.pronamespace = '${SCRATCH_SCHEMA}'::pg_catalog.regnamespace`);
    return row?.definition;
}
/**
 * ACLs compared as pg_dump restores them: pg_dump writes, per object, the REVOKEs and GRANTs that
 * turn the dumping server's default ACL into the object's, and the restoring server applies them
 * to its own default (PostgreSQL 17's includes MAINTAIN). Each side's ACL is read as what it
 * takes from and adds to its own server's default (privilegeDeltasSql); equal changes are the
 * same privileges restored.
 */
async function sameAclChanges(sides, differences) {
    const read = async (db, standIns = new Map()) => {
        const rows = await db.query(`SELECT * FROM (${privilegeDeltasSql()}) d WHERE (d.kind, d.name) IN (SELECT * FROM unnest($1::text[], $2::text[]))`, [differences.map(d => d.kind), differences.map(d => d.name), [...standIns.keys()], [...standIns.values()]]);
        return new Map(rows.map(row => [`${row.kind}\u0000${row.name}`, row.delta]));
    };
    const production = await sides.production.withSavepoint(() => read(sides.production));
    const restored = await read(sides.restored, sides.standIns);
    return differences.filter(d => {
        const key = `${d.kind}\u0000${d.name}`;
        return production.has(key) && production.get(key) === restored.get(key);
    });
}
/**
 * The `public` schema's owner as each server's initdb made it: pg_dump writes no owner for it
 * while it has that owner (pg_database_owner from PostgreSQL 15, so a restore into 14 or older
 * leaves it with that server's own, the bootstrap superuser's). Settled only when each side's
 * owner is its own server's initial one; any owner pg_dump wrote must match by name.
 */
const INITIAL_PUBLIC_OWNER_SQL = `SELECT pg_catalog.quote_ident(CASE WHEN pg_catalog.current_setting('server_version_num')::int >= 150000
  THEN 'pg_database_owner' ELSE pg_catalog.pg_get_userbyid(10) END) AS owner`;
async function sameInitialOwner(sides, differences) {
    const [production] = await sides.production.withSavepoint(() => sides.production.query(INITIAL_PUBLIC_OWNER_SQL));
    const [restored] = await sides.restored.query(INITIAL_PUBLIC_OWNER_SQL);
    return differences.filter(d => d.production === production.owner && d.restored === restored.owner);
}
/** For messages and tests: an identifier as the fingerprint quotes it. */
const scratchSchema = quoteIdent(SCRATCH_SCHEMA);

;// CONCATENATED MODULE: ./src/engines/postgres/large-objects.ts
/**
 * Large objects are data that pg_dump writes outside any table (lo_create, lo_open, lowrite),
 * under the OIDs they have in production. Each is compared by its OID, its size and an md5
 * of its content, computed on the server a megabyte at a time: an object never travels to the
 * action, and the server never holds more than one chunk of it. Read inside production's
 * snapshot, lo_get sees the objects as the dump did. Their comments are compared with the other
 * comments (`comment large object 16401`).
 */
/** How much of an object the server reads at a time. */
const CHUNK_BYTES = 1024 * 1024;
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
ORDER BY m.oid`;
/** Every large object of the connected database, as schema objects of kind `large object` named by OID. */
async function readLargeObjects(db) {
    return db.query(LARGE_OBJECTS_SQL);
}

// EXTERNAL MODULE: external "node:fs"
var external_node_fs_ = __webpack_require__(73024);
// EXTERNAL MODULE: external "node:os"
var external_node_os_ = __webpack_require__(48161);
// EXTERNAL MODULE: external "node:path"
var external_node_path_ = __webpack_require__(76760);
;// CONCATENATED MODULE: ./src/engines/postgres/connection.ts




const SSL_MODES = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'];
const TARGET_SESSION_ATTRS = ['any', 'read-write', 'read-only', 'primary', 'standby', 'prefer-standby'];
/** What libpq writes when a URI names no host: Debian's libpq looks in /var/run/postgresql. */
const DEFAULT_PORT = 5432;
/** How long a client waits for a server to answer before giving up, in seconds, unless connect_timeout says otherwise. */
const CONNECT_TIMEOUT_SECONDS = 10;
/** libpq's default application_name for Lazarus's connections, so a DBA sees who is connected. */
const APPLICATION_NAME = 'lazarus';
const TLS_PROTOCOLS = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'];
/**
 * Every libpq connection parameter (PostgreSQL 18's list, plus `ssl`, which libpq's URI parser
 * reads as sslmode=require), and what Lazarus does with it. docs/security.md's table lists the same.
 */
const PARAMETERS = {
    host: { accept: true },
    port: { accept: true },
    user: { accept: true },
    password: { accept: true },
    sslmode: { accept: true },
    ssl: { accept: true },
    sslrootcert: { accept: true },
    sslcert: { accept: true },
    sslkey: { accept: true },
    sslpassword: {
        accept: false,
        why: 'pg_dump and psql could only get it on their command line, which the log shows; use a key file without a passphrase (mode 0600)'
    },
    sslcrl: { accept: true },
    ssl_min_protocol_version: { accept: true },
    ssl_max_protocol_version: { accept: true },
    sslsni: { accept: true },
    sslcompression: { accept: true },
    options: { accept: true },
    application_name: { accept: true },
    fallback_application_name: { accept: true },
    connect_timeout: { accept: true },
    keepalives: { accept: true },
    keepalives_idle: { accept: true },
    keepalives_interval: { accept: true },
    keepalives_count: { accept: true },
    tcp_user_timeout: { accept: true },
    target_session_attrs: { accept: true },
    gssencmode: { accept: true },
    channel_binding: { accept: true },
    hostaddr: {
        accept: false,
        why: 'it would make pg_dump and psql connect to that address while the host name is what Lazarus checked; ' +
            'put the address in the host instead (postgresql://user@10.0.0.5:5432/db)'
    },
    dbname: {
        accept: false,
        why: 'it would override the database in the URI path for some programs; name the database in the path only (…:5432/<database>)'
    },
    service: {
        accept: false,
        why: 'a service file can name another host and database than the URI; write the host, port and database into the URI'
    },
    passfile: {
        accept: false,
        why: 'give the password in the URI, in the matching -password input, or in PGPASSWORD (a secret)'
    },
    replication: { accept: false, why: 'Lazarus needs ordinary connections, not replication connections; remove it' },
    requirepeer: {
        accept: false,
        why: "Lazarus's own sessions cannot check a Unix socket's peer; remove it"
    },
    client_encoding: {
        accept: false,
        why: 'Lazarus reads and dumps in the encoding it chooses; remove it'
    },
    krbsrvname: { accept: false, why: 'GSSAPI/Kerberos authentication is not supported; use a password or a client certificate' },
    gsslib: { accept: false, why: 'GSSAPI/Kerberos authentication is not supported; use a password or a client certificate' },
    gssdelegation: {
        accept: false,
        why: 'GSSAPI/Kerberos authentication is not supported; use a password or a client certificate'
    },
    sslcrldir: { accept: false, why: 'give the revocation list as one file with sslcrl instead' },
    sslcertmode: { accept: false, why: 'not every client Lazarus runs (libpq before 16) knows it; remove it' },
    sslnegotiation: { accept: false, why: 'not every client Lazarus runs (libpq before 17) knows it; remove it' },
    require_auth: { accept: false, why: 'not every client Lazarus runs (libpq before 16) knows it; remove it' },
    load_balance_hosts: { accept: false, why: 'Lazarus connects to exactly one host; remove it' },
    sslkeylogfile: { accept: false, why: 'it would write TLS secrets to a file; remove it' },
    oauth_issuer: { accept: false, why: 'OAuth authentication is not supported; use a password or a client certificate' },
    oauth_client_id: { accept: false, why: 'OAuth authentication is not supported; use a password or a client certificate' },
    oauth_client_secret: { accept: false, why: 'OAuth authentication is not supported; use a password or a client certificate' },
    oauth_scope: { accept: false, why: 'OAuth authentication is not supported; use a password or a client certificate' },
    scram_client_key: { accept: false, why: 'give the password instead; remove it' },
    scram_server_key: { accept: false, why: 'give the password instead; remove it' },
    min_protocol_version: { accept: false, why: 'not every client Lazarus runs (libpq before 18) knows it; remove it' },
    max_protocol_version: { accept: false, why: 'not every client Lazarus runs (libpq before 18) knows it; remove it' }
};
/** Parameters passed to libpq as given: each is checked below for a value libpq accepts. */
const TUNING = [
    'fallback_application_name',
    'keepalives',
    'keepalives_idle',
    'keepalives_interval',
    'keepalives_count',
    'tcp_user_timeout',
    'sslsni',
    'sslcompression',
    'gssencmode',
    'channel_binding'
];
/**
 * Parses a libpq URI (postgresql://user:password@host:port/database?param=value&...) exactly as
 * libpq does (percent-decoding every part, `+` staying a plus), vets every parameter, and builds
 * the description every program connects with. A password from the URI wins over
 * `fallbackPassword` (the `*-password` input or PGPASSWORD). Throws a one-line UserError naming
 * the input, the parameter and the fix for anything Lazarus cannot honour alike everywhere.
 */
function parseConnectionUrl(inputName, raw, fallbackPassword) {
    const text = raw.trim();
    const uri = splitUri(inputName, text);
    const params = new Map();
    const fail = (why) => new errors/* UserError */.yo(`Input '${inputName}' ${why}`);
    for (const [key, value] of uri.params) {
        const decision = Object.hasOwn(PARAMETERS, key) ? PARAMETERS[key] : undefined;
        if (!decision) {
            throw fail(`has parameter '${key}', which libpq does not know: remove it (accepted: ${Object.keys(PARAMETERS)
                .filter(name => PARAMETERS[name].accept)
                .join(', ')}).`);
        }
        if (!decision.accept)
            throw fail(`has parameter '${key}', which Lazarus refuses: ${decision.why}.`);
        if (key === 'ssl') {
            // libpq's URI parser reads ssl=true (JDBC's spelling) as sslmode=require, and nothing else.
            if (value !== 'true')
                throw fail(`has ssl=${value}: libpq accepts only ssl=true (or use sslmode=...).`);
            params.set('sslmode', 'require');
            continue;
        }
        params.set(key, value);
    }
    const host = params.get('host') ?? uri.host;
    const portText = params.get('port') ?? uri.port;
    if (host.includes(',') || portText.includes(',')) {
        throw fail(`names several hosts ('${host}'${portText ? `, ports '${portText}'` : ''}): Lazarus connects to exactly one server, ` +
            `checked before anything is dumped or restored; give one host and port.`);
    }
    const port = portText === '' ? DEFAULT_PORT : Number(portText);
    if (!/^\d+$/.test(portText || '0') || !Number.isInteger(port) || port < 1 || port > 65535) {
        throw fail(`has an invalid port '${portText}'.`);
    }
    if (!uri.database || uri.database.includes('/')) {
        throw fail(`names no database: end the URI with /<database>, e.g. postgresql://host:5432/postgres.`);
    }
    const uriPassword = uri.password ?? params.get('password');
    const password = uriPassword || fallbackPassword || undefined;
    const user = params.get('user') || uri.user || external_node_os_.userInfo().username;
    const tls = tlsSettings(inputName, params, host === '' || host.startsWith('/'));
    const tuning = {};
    for (const key of TUNING) {
        const value = params.get(key);
        if (value === undefined)
            continue;
        checkTuning(inputName, key, value);
        tuning[key] = value;
    }
    const secrets = new Set();
    if (uriPassword) {
        secrets.add(text);
        for (const form of uri.passwordForms)
            secrets.add(form);
    }
    if (password) {
        secrets.add(password);
        secrets.add(encodeURIComponent(password));
    }
    return {
        inputName,
        host: host || defaultSocketDirectory(),
        port,
        database: uri.database,
        user,
        password,
        tls,
        options: params.get('options') || undefined,
        applicationName: params.get('application_name') || APPLICATION_NAME,
        connectTimeoutSeconds: connectTimeout(inputName, params.get('connect_timeout')),
        targetSessionAttrs: oneOf(inputName, 'target_session_attrs', params.get('target_session_attrs'), TARGET_SESSION_ATTRS),
        tuning,
        secrets: [...secrets].filter(secret => secret.length > 0)
    };
}
/**
 * libpq's URI grammar (fe-connect.c, conninfo_uri_parse_options): userinfo up to the first '@'
 * before any '/', host specs (IPv6 in brackets) separated by commas, /dbname, then ?key=value&...
 * Every part is percent-decoded; '+' is a plus everywhere.
 */
function splitUri(inputName, text) {
    const invalid = () => new errors/* UserError */.yo(`Input '${inputName}' is not a valid URI: use postgresql://user@host:port/database ` +
        `(percent-encode special characters, or give the password in the matching -password input).`);
    const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(text);
    const prefix = /^postgres(?:ql)?:\/\//.exec(text);
    if (!prefix) {
        if (/^[A-Za-z_]+\s*=/.test(text)) {
            throw new errors/* UserError */.yo(`Input '${inputName}' is a key=value connection string: write it as a URI, postgresql://user@host:port/database?param=value.`);
        }
        if (!scheme)
            throw invalid();
        throw new errors/* UserError */.yo(`Input '${inputName}' must start with postgresql:// (got '${scheme[1]}://').`);
    }
    const decode = (part) => {
        if (/%(?![0-9A-Fa-f]{2})|%00/.test(part))
            throw invalid();
        try {
            return decodeURIComponent(part);
        }
        catch {
            throw invalid();
        }
    };
    let rest = text.slice(prefix[0].length);
    const passwordForms = [];
    let user;
    let password;
    const userinfoEnd = rest.search(/[@/]/);
    if (userinfoEnd >= 0 && rest[userinfoEnd] === '@') {
        const userinfo = rest.slice(0, userinfoEnd);
        const colon = userinfo.indexOf(':');
        user = decode(colon >= 0 ? userinfo.slice(0, colon) : userinfo) || undefined;
        if (colon >= 0) {
            passwordForms.push(userinfo.slice(colon + 1));
            password = decode(userinfo.slice(colon + 1)) || undefined;
        }
        rest = rest.slice(userinfoEnd + 1);
    }
    const hostsEnd = rest.search(/[/?]/);
    const hostspec = hostsEnd >= 0 ? rest.slice(0, hostsEnd) : rest;
    rest = hostsEnd >= 0 ? rest.slice(hostsEnd) : '';
    const hosts = [];
    const ports = [];
    for (const spec of hostspec === '' ? [''] : hostspec.split(',')) {
        const match = /^(\[[^\]]*\]|[^[\]:]*)(?::([^:]*))?$/.exec(spec);
        if (!match)
            throw invalid();
        hosts.push(decode(match[1].replace(/^\[(.*)\]$/, '$1')));
        ports.push(decode(match[2] ?? ''));
    }
    const queryStart = rest.indexOf('?');
    const pathPart = queryStart >= 0 ? rest.slice(0, queryStart) : rest;
    const query = queryStart >= 0 ? rest.slice(queryStart + 1) : '';
    const database = decode(pathPart.replace(/^\//, ''));
    const params = [];
    for (const pair of query === '' ? [] : query.split('&')) {
        const equals = pair.indexOf('=');
        if (equals < 0 || pair.indexOf('=', equals + 1) >= 0) {
            throw new errors/* UserError */.yo(`Input '${inputName}' has a malformed parameter '${pair}': write each as name=value, joined by &.`);
        }
        const key = decode(pair.slice(0, equals));
        if (key === 'password')
            passwordForms.push(pair.slice(equals + 1));
        params.push([key, decode(pair.slice(equals + 1))]);
    }
    return {
        user,
        password,
        passwordForms,
        host: hosts.join(','),
        port: ports.every(port => port === '') ? '' : ports.join(','),
        database,
        params
    };
}
/** The TLS settings, with libpq's defaults under ~/.postgresql made explicit (so every program uses the same files). */
function tlsSettings(inputName, params, unixSocket) {
    const mode = oneOf(inputName, 'sslmode', params.get('sslmode'), SSL_MODES) ?? 'prefer';
    const file = (key, defaultName) => {
        const given = params.get(key);
        if (given === undefined || given === '') {
            // libpq reads these files from ~/.postgresql when present and not named otherwise.
            const fallback = external_node_path_.join(external_node_os_.homedir(), '.postgresql', defaultName);
            return external_node_fs_.existsSync(fallback) ? fallback : undefined;
        }
        if (key === 'sslrootcert' && given === 'system') {
            throw new errors/* UserError */.yo(`Input '${inputName}' has sslrootcert=system, which not every client Lazarus runs knows: ` +
                `give the CA bundle's path instead (e.g. sslrootcert=/etc/ssl/certs/ca-certificates.crt).`);
        }
        const absolute = external_node_path_.resolve(given);
        if (!external_node_fs_.existsSync(absolute) || !external_node_fs_.statSync(absolute).isFile()) {
            throw new errors/* UserError */.yo(`Input '${inputName}' has ${key}=${given}, which is not a file: fix the path.`);
        }
        return absolute;
    };
    const tls = {
        mode: unixSocket ? 'disable' : mode,
        rootCert: file('sslrootcert', 'root.crt'),
        cert: file('sslcert', 'postgresql.crt'),
        key: file('sslkey', 'postgresql.key'),
        crl: file('sslcrl', 'root.crl'),
        minProtocol: oneOf(inputName, 'ssl_min_protocol_version', params.get('ssl_min_protocol_version'), TLS_PROTOCOLS),
        maxProtocol: oneOf(inputName, 'ssl_max_protocol_version', params.get('ssl_max_protocol_version'), TLS_PROTOCOLS)
    };
    if ((tls.mode === 'verify-ca' || tls.mode === 'verify-full') && !tls.rootCert) {
        throw new errors/* UserError */.yo(`Input '${inputName}' has sslmode=${tls.mode} but no CA certificate to verify the server with: ` +
            `add sslrootcert=<path to the CA certificate> (or put it in ~/.postgresql/root.crt).`);
    }
    if (tls.cert && !tls.key) {
        throw new errors/* UserError */.yo(`Input '${inputName}' has a client certificate (${tls.cert}) but no key: add sslkey=<path to its private key>.`);
    }
    if (tls.key)
        checkKeyPermissions(inputName, tls.key);
    return tls;
}
/**
 * libpq refuses a private key that others may read (so pg_dump and psql would fail where a Node
 * session would not): the same rule, checked up front with the fix.
 */
function checkKeyPermissions(inputName, key) {
    const stats = external_node_fs_.statSync(key);
    const ownedByRoot = stats.uid === 0;
    const tooOpen = ownedByRoot ? (stats.mode & 0o037) !== 0 : (stats.mode & 0o077) !== 0;
    if (tooOpen) {
        throw new errors/* UserError */.yo(`Input '${inputName}' has sslkey=${key}, which others may read (mode ${(stats.mode & 0o777).toString(8)}): ` +
            `libpq refuses such a key; run chmod 600 on it.`);
    }
}
function oneOf(inputName, key, value, choices) {
    if (value === undefined || value === '')
        return undefined;
    if (!choices.includes(value)) {
        throw new errors/* UserError */.yo(`Input '${inputName}' has ${key}=${value}: use one of ${choices.join(', ')}.`);
    }
    return value;
}
function connectTimeout(inputName, value) {
    if (value === undefined || value === '')
        return CONNECT_TIMEOUT_SECONDS;
    if (!/^\d+$/.test(value) || Number(value) < 1) {
        throw new errors/* UserError */.yo(`Input '${inputName}' has connect_timeout=${value}: use a whole number of seconds, at least 1 (Lazarus never waits forever).`);
    }
    // libpq waits at least 2 seconds whatever it is told.
    return Math.max(2, Number(value));
}
/** Values libpq itself would reject fail here, with the input named, rather than inside pg_dump. */
function checkTuning(inputName, key, value) {
    const choices = {
        gssencmode: ['disable', 'prefer'],
        channel_binding: ['disable', 'prefer'],
        sslsni: ['0', '1'],
        sslcompression: ['0', '1'],
        keepalives: ['0', '1']
    };
    if (key === 'fallback_application_name')
        return;
    if (choices[key]) {
        if (!choices[key].includes(value)) {
            const why = key === 'gssencmode' || key === 'channel_binding'
                ? ` (Lazarus's own sessions cannot ${key === 'gssencmode' ? 'use GSSAPI encryption' : 'require channel binding'})`
                : '';
            throw new errors/* UserError */.yo(`Input '${inputName}' has ${key}=${value}: use one of ${choices[key].join(', ')}${why}.`);
        }
        return;
    }
    if (!/^\d+$/.test(value))
        throw new errors/* UserError */.yo(`Input '${inputName}' has ${key}=${value}: use a whole number.`);
}
/**
 * Where libpq looks when a URI names no host: the Unix socket directory it was built with
 * (/var/run/postgresql on Debian and Ubuntu, /tmp elsewhere). Lazarus's own sessions must look there too.
 */
function defaultSocketDirectory() {
    return external_node_fs_.existsSync('/var/run/postgresql') ? '/var/run/postgresql' : '/tmp';
}
/** The same server and database, with another database (used for scratch databases). */
function withDatabase(target, database) {
    return { ...target, database };
}
/**
 * The description as a libpq connection string (key='value' ...), for pg_dump's and psql's
 * --dbname: every parameter explicit, the password never in it. `extraOptions` are appended to
 * the user's `options` (later settings win), so a setting Lazarus needs cannot be undone by them.
 */
function conninfo(target, extraOptions) {
    const { tls } = target;
    const options = [target.options, extraOptions].filter(Boolean).join(' ');
    const pairs = [
        ['host', target.host],
        ['port', target.port],
        ['dbname', target.database],
        ['user', target.user],
        ['sslmode', tls.mode],
        ['sslrootcert', tls.rootCert],
        ['sslcert', tls.cert],
        ['sslkey', tls.key],
        ['sslcrl', tls.crl],
        ['ssl_min_protocol_version', tls.minProtocol],
        ['ssl_max_protocol_version', tls.maxProtocol],
        ['application_name', target.applicationName],
        ['connect_timeout', target.connectTimeoutSeconds],
        ['options', options || undefined],
        ['target_session_attrs', target.targetSessionAttrs],
        ...Object.entries(target.tuning)
    ];
    return pairs
        .filter((pair) => pair[1] !== undefined)
        .map(([key, value]) => `${key}=${quoteConninfoValue(String(value))}`)
        .join(' ');
}
/** libpq's quoting: single quotes, with backslash and quote escaped by a backslash. */
function quoteConninfoValue(value) {
    return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}
/**
 * Environment variables libpq reads as defaults: scrubbed from the environment of pg_dump and
 * psql (and of Lazarus's own process) so that nothing but the description decides where and how
 * they connect. PGPASSWORD is handed on deliberately where needed.
 */
function isLibpqEnvironmentVariable(name) {
    return /^PG[A-Z_]+$/.test(name);
}
/**
 * Removes libpq's environment variables from this process once the inputs are read: `pg` reads
 * some of them (PGOPTIONS, PGSSLNEGOTIATION, PGCLIENT_ENCODING, ...) for whatever the description
 * leaves unset, and pg_dump and psql never see them either.
 */
function forgetLibpqEnvironment(env = process.env) {
    for (const name of Object.keys(env))
        if (isLibpqEnvironmentVariable(name))
            delete env[name];
}
/** A URI-free description for logs: user@host:port/database. */
function describe(target) {
    return `${target.user ? target.user + '@' : ''}${target.host}:${target.port}/${target.database}`;
}

// EXTERNAL MODULE: ./node_modules/pg/esm/index.mjs
var esm = __webpack_require__(83849);
// EXTERNAL MODULE: external "node:tls"
var external_node_tls_ = __webpack_require__(41692);
;// CONCATENATED MODULE: ./src/engines/postgres/tls.ts


function connectAttempts(target) {
    switch (target.tls.mode) {
        case 'disable':
            return [false];
        case 'allow':
            return [false, tlsOptions(target)];
        case 'prefer':
            return [tlsOptions(target), false];
        default:
            return [tlsOptions(target)];
    }
}
/** node's TLS options for the description: files read now, so a changed file is read afresh per session. */
function tlsOptions(target) {
    const settings = target.tls;
    const verifyChain = settings.mode === 'verify-ca' || settings.mode === 'verify-full' || settings.rootCert !== undefined;
    const read = (file) => (file === undefined ? undefined : external_node_fs_.readFileSync(file));
    return {
        rejectUnauthorized: verifyChain,
        ca: verifyChain ? read(settings.rootCert) : undefined,
        crl: verifyChain ? read(settings.crl) : undefined,
        cert: read(settings.cert),
        key: read(settings.key),
        minVersion: settings.minProtocol,
        maxVersion: settings.maxProtocol,
        // Only verify-full checks the name, and always against the host Lazarus was given (not
        // whatever name the TLS layer would fall back to for an IP address).
        checkServerIdentity: settings.mode === 'verify-full'
            ? (_name, certificate) => external_node_tls_.checkServerIdentity(target.host, certificate)
            : () => undefined
    };
}

;// CONCATENATED MODULE: ./src/engines/postgres/guards.ts



/** The server's start time, written the same whatever the session's DateStyle and TimeZone. */
const CLUSTER_STARTED_AT_SQL = `pg_catalog.to_char(pg_catalog.pg_postmaster_start_time() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
/**
 * Refuses a clean room that is the production cluster: Lazarus creates and restores databases
 * in the clean room, and nothing may ever be created or restored on production. Checked on the
 * URIs first (same host and port), then on what the servers say about themselves, which also
 * catches one cluster reached under two names.
 */
function assertSeparateClusters(production, cleanroom, identities) {
    const refuse = (why) => new errors/* UserError */.yo(`The clean room (${describe(cleanroom)}) is the production cluster (${describe(production)}): ${why}. ` +
        `Point cleanroom-url at a separate, disposable server.`);
    if (sameHost(production.host, cleanroom.host) && production.port === cleanroom.port)
        throw refuse('same host and port');
    if (!identities)
        return;
    const { production: p, cleanroom: c } = identities;
    if (p.systemIdentifier && p.systemIdentifier === c.systemIdentifier) {
        throw refuse(`both report system identifier ${p.systemIdentifier}`);
    }
    if (p.startedAt === c.startedAt && p.port === c.port)
        throw refuse(`both servers started at ${p.startedAt}`);
}
function sameHost(a, b) {
    const normal = (host) => host === 'localhost' || host === '::1' || host.startsWith('127.') ? 'loopback' : host.toLowerCase();
    return normal(a) === normal(b);
}
/**
 * SQL that psql runs before the first statement of a dump, in the restore's transaction: it
 * fails, and with ON_ERROR_STOP ends psql before anything of the dump runs, unless psql is in
 * `database` on the cluster whose identity the separate-clusters guard recorded for the clean
 * room. Defence in depth: psql connects with the same vetted description as Lazarus's own
 * sessions, and this proves it landed where they checked. Plain SQL, so it needs nothing
 * installed in whatever database psql reached.
 */
function restoreLocationCheckSql(database, identity) {
    const checks = [
        ['pg_catalog.current_database()', database],
        [CLUSTER_STARTED_AT_SQL, identity.startedAt],
        ["pg_catalog.current_setting('port')", identity.port]
    ];
    if (identity.systemIdentifier) {
        checks.push(['(SELECT system_identifier::text FROM pg_catalog.pg_control_system())', identity.systemIdentifier]);
    }
    const differs = checks.map(([actual, expected]) => `${actual} IS DISTINCT FROM ${quoteLiteral(expected)}`).join('\n     OR ');
    const expected = `database ${database} on the clean room (started ${identity.startedAt}, port ${identity.port})`;
    // A failing cast carries the message: psql prints it with this file's name, and stops.
    return `SELECT CASE WHEN ${differs}
  THEN pg_catalog.format('Lazarus location check failed: psql reached database %s on a server started %s, port %s, not ${expected.replace(/'/g, "''").replace(/%/g, '%%')}',
         pg_catalog.current_database(), ${CLUSTER_STARTED_AT_SQL}, pg_catalog.current_setting('port'))::integer
  END AS lazarus_location_check;
`;
}

// EXTERNAL MODULE: ./node_modules/@actions/exec/lib/exec.js + 2 modules
var exec = __webpack_require__(46647);
// EXTERNAL MODULE: ./node_modules/@actions/io/lib/io.js
var io = __webpack_require__(88701);
// EXTERNAL MODULE: ./src/util/cancellation.ts
var cancellation = __webpack_require__(76601);
// EXTERNAL MODULE: ./src/util/command-guard.ts
var command_guard = __webpack_require__(16285);
;// CONCATENATED MODULE: ./src/engines/postgres/fault-classes.ts
/**
 * Which server errors describe the server rather than the data: a restore that stops on one of
 * them says nothing about the backup, and a table that cannot be read because of one has not
 * been shown to differ. Pure: SQLSTATEs and messages in, verdicts and hints out.
 */
/**
 * SQLSTATE classes of the environment: 08 connection exception, 53 insufficient resources (disk
 * full, out of memory, too many connections), 57 operator intervention (shutdown, cancelled by a
 * timeout, database dropped), 58 system error (an I/O error, a file such as an extension's control
 * file that is not there), XX internal error (the server's own failure, data corruption).
 */
const ENVIRONMENT_CLASSES = new Set(['08', '53', '57', '58', 'XX']);
/** 55P03 lock_not_available: another session holds a lock longer than Lazarus waits. */
const LOCK_NOT_AVAILABLE = '55P03';
/** 42501 insufficient_privilege: the role restoring lacks a right the dump's statements need. */
const fault_classes_INSUFFICIENT_PRIVILEGE = '42501';
/** True for a SQLSTATE that blames the server or its setup (or another session's lock), not the data. */
function isEnvironmentSqlState(code) {
    if (!code || !/^[0-9A-Z]{5}$/.test(code))
        return false;
    return ENVIRONMENT_CLASSES.has(code.slice(0, 2)) || code === LOCK_NOT_AVAILABLE;
}
/**
 * True when a restore that stopped on this SQLSTATE failed because of the clean room: its
 * environment, or a clean-room role without a privilege the dump's statements need (restored by
 * the right role, the same dump would load).
 */
function blamesCleanroom(code) {
    return isEnvironmentSqlState(code) || code === fault_classes_INSUFFICIENT_PRIVILEGE;
}
/** What to do about an environment error the clean room raised during a restore. */
function cleanroomHint(code, message) {
    if (/extension control file|could not access file "\$libdir/i.test(message)) {
        return 'the clean room lacks an extension or library that production uses: use a clean-room server (image) that ships it';
    }
    if (code === fault_classes_INSUFFICIENT_PRIVILEGE) {
        return 'the clean-room role lacks a privilege the restore needs: use a role that has it (a superuser restores any dump)';
    }
    if (code === '53100' || /No space left on device/i.test(message))
        return 'free disk space on the clean-room server';
    if (code.startsWith('53'))
        return 'give the clean-room server more resources (memory, max_connections)';
    if (code === '57014')
        return 'a timeout on the clean room cancelled the statement: raise statement_timeout for the clean-room role';
    if (code.startsWith('57') || code.startsWith('08'))
        return 'check that the clean-room server stays up: its log says why it ended the session';
    return "check the clean-room server's log";
}
/** Splits "ERROR:  53100: could not extend file" (psql's verbose form) into code and message. */
function parseVerboseError(line) {
    const match = /\b(?:ERROR|FATAL|PANIC):\s+([0-9A-Z]{5}):\s+(.*)$/.exec(line);
    return match ? { code: match[1], message: match[2] } : undefined;
}
/**
 * psql's verbose error output as a person reads it: without the SQLSTATE after the severity and
 * without the LOCATION lines (the server's source file), which verbose mode adds.
 */
function withoutVerboseDetail(stderr) {
    return stderr
        .split('\n')
        .filter(line => !/^LOCATION:\s/.test(line))
        .map(line => line.replace(/\b(ERROR|FATAL|PANIC|WARNING|NOTICE|DETAIL|HINT):(\s+)[0-9A-Z]{5}:\s+/, '$1:$2'))
        .join('\n');
}

// EXTERNAL MODULE: ./src/util/executables.ts
var executables = __webpack_require__(75737);
;// CONCATENATED MODULE: ./src/engines/postgres/stdbuf.ts


/**
 * The only module that knows coreutils' stdbuf, which sets a program's stdio buffers. A program
 * reading or writing a pipe gets 4 KiB buffers, so in the dump-to-restore stream each 4 KiB of
 * the dump would cost a read or write and wake the program at the other end: measured on a 1 GiB
 * database, sed and psql with 1 MiB buffers spend about half the CPU they spent on the pipes (and
 * that CPU is the restore's on a runner that hosts the servers too). Reads return what the pipe
 * holds, so nothing waits for a buffer to fill; what a program writes, and in which order, stays
 * the same. Where stdbuf is missing (or the program is linked statically), the pipe's buffers stay.
 */
const STREAM_BUFFER = '1M';
/**
 * The argv prefix that runs a program with STREAM_BUFFER stdio buffers: `stdbuf -i1M [-o1M]`, or
 * nothing. Synchronous: the stream's setup must not wait between taking a promise and handling it.
 */
function streamBuffers(streams, searchPath = process.env.PATH ?? '') {
    const stdbuf = searchPath
        .split(external_node_path_.delimiter)
        .filter(dir => external_node_path_.isAbsolute(dir))
        .map(dir => external_node_path_.join(dir, 'stdbuf'))
        .find(executables/* isExecutable */.T);
    if (!stdbuf)
        return [];
    return [stdbuf, ...(streams.input ? [`-i${STREAM_BUFFER}`] : []), ...(streams.output ? [`-o${STREAM_BUFFER}`] : [])];
}

// EXTERNAL MODULE: ./src/util/work-files.ts
var work_files = __webpack_require__(40605);
;// CONCATENATED MODULE: ./src/engines/postgres/pg-tools.ts












// Lazarus's own work files and a full disk's error, shared by every engine (util/work-files.ts).

/** Debian and Ubuntu keep every installed client major here; /usr/bin/pg_dump runs the newest. */
const DEBIAN_CLIENT_ROOT = '/usr/lib/postgresql';

/** pg_dump's session is read-only from its first statement, on top of its own read-only transaction. */
const READ_ONLY_OPTION = '-c default_transaction_read_only=on';
/** psql's exit code when a statement of its script failed under ON_ERROR_STOP: the only failure that can be the backup's. */
const PSQL_SCRIPT_ERROR = 3;
/** psql's exit code when it could not open its connection, or lost it. */
const PSQL_CONNECTION_ERROR = 2;
/** Lines of stderr kept for an error message; the full stream is already in the log. */
const STDERR_TAIL_BYTES = 4000;
/** How often the stream's status file is read for pg_dump's end. */
const DUMP_END_POLL_MS = 100;
/**
 * Picks the pg_dump/psql pair for a production server of `serverMajor`. A dump loads into servers
 * of its pg_dump's version or newer, so the oldest client that can still dump production is the
 * one most likely to produce SQL the clean room accepts.
 */
async function resolveClientTools(serverMajor, binDir) {
    if (binDir) {
        const tools = await toolsIn(binDir);
        if (!tools) {
            const missing = ['pg_dump', 'psql'].filter(program => !(0,executables/* isExecutable */.T)(external_node_path_.join(binDir, program)));
            const what = external_node_fs_.existsSync(binDir) ? `which has no executable ${missing.join(' or ')}` : 'which does not exist';
            throw new errors/* UserError */.yo(`Input 'postgres-bin-dir' is '${binDir}', ${what}: point it at the bin directory of PostgreSQL ${serverMajor} ` +
                `client tools or newer (e.g. ${DEBIAN_CLIENT_ROOT}/${serverMajor}/bin after installing postgresql-client-${serverMajor}), ` +
                `or leave it empty to let Lazarus pick an installed client.`);
        }
        if (tools.pgDump.major < serverMajor) {
            throw new errors/* UserError */.yo(`pg_dump ${tools.pgDump.version} in '${binDir}' is older than production (PostgreSQL ${serverMajor}) and cannot dump it: ` +
                `install postgresql-client-${serverMajor} or newer and point postgres-bin-dir at its bin directory ` +
                `(e.g. ${DEBIAN_CLIENT_ROOT}/${serverMajor}/bin), or leave postgres-bin-dir empty.`);
        }
        return tools;
    }
    const seen = [];
    for (const dir of debianClientDirs()) {
        const tools = await toolsIn(dir);
        if (!tools)
            continue;
        seen.push(`${tools.pgDump.version} (${dir})`);
        if (tools.pgDump.major >= serverMajor)
            return tools;
    }
    const onPath = await io/* which */.K7('pg_dump', false);
    if (onPath) {
        const tools = await toolsIn(external_node_path_.dirname(onPath));
        if (tools) {
            seen.push(`${tools.pgDump.version} (${external_node_path_.dirname(onPath)})`);
            if (tools.pgDump.major >= serverMajor)
                return tools;
        }
    }
    const found = seen.length > 0 ? `found only pg_dump ${seen.join(', ')}` : 'found no pg_dump';
    throw new errors/* UserError */.yo(`No PostgreSQL client can dump production (PostgreSQL ${serverMajor}); ${found}. ` +
        `Install postgresql-client-${serverMajor} or newer, or set postgres-bin-dir.`);
}
function debianClientDirs() {
    let entries;
    try {
        entries = external_node_fs_.readdirSync(DEBIAN_CLIENT_ROOT);
    }
    catch {
        return [];
    }
    return entries
        .filter(entry => /^\d+(\.\d+)?$/.test(entry))
        .sort((a, b) => Number(a) - Number(b))
        .map(entry => external_node_path_.join(DEBIAN_CLIENT_ROOT, entry, 'bin'));
}
async function toolsIn(dir) {
    const pgDumpPath = external_node_path_.join(dir, 'pg_dump');
    const psqlPath = external_node_path_.join(dir, 'psql');
    if (!(0,executables/* isExecutable */.T)(pgDumpPath) || !(0,executables/* isExecutable */.T)(psqlPath))
        return undefined;
    const pgRestorePath = external_node_path_.join(dir, 'pg_restore');
    return {
        pgDump: await toolVersion(pgDumpPath),
        psql: await toolVersion(psqlPath),
        ...((0,executables/* isExecutable */.T)(pgRestorePath) ? { pgRestore: await toolVersion(pgRestorePath) } : {})
    };
}
/** pg_restore beside pg_dump, or a UserError saying what to install: `why` says what needs it. */
function requirePgRestore(tools, why) {
    if (tools.pgRestore)
        return tools.pgRestore;
    const dir = external_node_path_.dirname(tools.pgDump.path);
    throw new errors/* UserError */.yo(`${why} needs pg_restore, and there is none beside pg_dump in ${dir}: install the full PostgreSQL client ` +
        `(postgresql-client-${tools.pgDump.major}), or point postgres-bin-dir at a bin directory that has pg_restore.`);
}
async function toolVersion(program) {
    const { stdout } = await exec/* getExecOutput */.H(program, ['--version'], { silent: true });
    const version = parseClientVersion(stdout);
    if (!version)
        throw new errors/* UserError */.yo(`Could not read the version of ${program} (it printed '${stdout.trim()}').`);
    return { path: program, ...version };
}
/** "pg_dump (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)" → 15.18, major 15 (9.6 → major 9). */
function parseClientVersion(output) {
    const match = /\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?/.exec(output);
    if (!match)
        return undefined;
    const version = match[2] === undefined ? match[1] : `${match[1]}.${match[2]}`;
    return { version, major: Number(match[1]) };
}
/**
 * True when this psql knows \restrict, which pg_dump writes since the August 2025 minor releases
 * to stop a hostile dump from running meta-commands.
 */
function psqlUnderstandsRestrict(psql) {
    const [major, minor = 0] = psql.version.split('.').map(Number);
    const firstMinorWithRestrict = { 13: 22, 14: 19, 15: 14, 16: 10, 17: 6 };
    if (major >= 18)
        return true;
    const needed = firstMinorWithRestrict[major];
    return needed !== undefined && minor >= needed;
}
/**
 * The environment of a client program: without any variable libpq would read as a default
 * (PGHOST, PGHOSTADDR, PGSERVICE, PGSSLMODE, PGOPTIONS, ...), so that only the description in
 * its connection string decides where and how it connects; the password alone comes from here.
 */
function clientEnv(target, extra = {}) {
    const env = {};
    // Without PGCLIENTENCODING, pg_dump writes in production's database encoding, which the drill
    // relies on to find names beyond ASCII in the dump (dump-encoding.ts); the dump sets psql's itself.
    for (const [key, value] of Object.entries(process.env)) {
        if (value !== undefined && !isLibpqEnvironmentVariable(key))
            env[key] = value;
    }
    if (target.password)
        env.PGPASSWORD = target.password;
    return { ...env, ...extra };
}
/** The defaults of lock-timeout-seconds and server-timeout-seconds. */
const DEFAULT_FAULT_LIMITS = { lockTimeoutSeconds: 60, serverTimeoutSeconds: 60 };
/**
 * The description with libpq's TCP safeguards derived from the server timeout (libpq ignores
 * them on Unix sockets); any the user's URI set stay as given. They go into the conninfo that
 * pg_dump and psql connect with, never into the URI the user wrote.
 */
function withTcpSafeguards(target, limits) {
    const timeout = Math.max(1, Math.round(limits.serverTimeoutSeconds));
    const safeguards = {
        keepalives: '1',
        keepalives_idle: String(Math.max(1, Math.floor(timeout / 3))),
        keepalives_interval: String(Math.max(1, Math.floor(timeout / 9))),
        keepalives_count: '3',
        tcp_user_timeout: String(timeout * 1000)
    };
    return { ...target, tuning: { ...safeguards, ...target.tuning } };
}
/**
 * The error for a restore that the location check stopped (psql names the file of a failed
 * statement): not the backup's failure, but psql connected somewhere other than checked.
 */
function locationCheckError(stderr, checkFile) {
    const line = stderr.split('\n').find(text => text.includes(`psql:${checkFile}:`));
    if (!line)
        return undefined;
    const reason = /Lazarus location check failed: ([^"]*)/.exec(line)?.[1] ?? line.replace(/^.*?ERROR:\s*/, '');
    return new errors/* UserError */.yo(`The restore stopped before its first statement: ${reason}. psql was not where Lazarus checked ` +
        `(the scratch database on the clean room it verified); nothing of the dump ran there.`);
}
/**
 * Runs a client program, keeping the tail of its stderr for the error message. A program that
 * ends because the run is being cancelled never returns: the cancellation handler owns the rest
 * of the run, and a "restore failed" from the program it stopped would only be a second, false
 * error.
 */
async function runClient(program, args, env) {
    let stderr = '';
    // What the program prints may quote production's content: no line of it may act as a workflow command.
    const output = (0,command_guard/* untrustedOutput */.a)(process.stdout);
    const exitCode = await exec/* exec */.m(program, args, {
        env,
        ignoreReturnCode: true,
        outStream: output,
        errStream: output,
        listeners: {
            stderr: (data) => {
                stderr = (stderr + data.toString('utf8')).slice(-STDERR_TAIL_BYTES);
            }
        }
    })
        .finally(() => output.end());
    if ((0,cancellation/* isCancelling */.$6)() || (0,cancellation/* childProcessesEnded */.cm)())
        await new Promise(() => undefined);
    return { exitCode, stderr: stderr.trim() };
}
const STREAM_STAGE_NAMES = ['dump', 'keep', 'convert', 'sanitize', 'restore'];
/**
 * The pipeline, in bash so the three programs run at once and the dump never lands anywhere it
 * does not have to: pg_dump | sed | psql. Each password reaches only its own program, through
 * PGPASSWORD set inside the pipeline from variables that are unset before anything runs; the
 * script itself (visible in the process list and echoed by @actions/exec) holds no secret.
 * Each program records its exit code and end time, since a pipeline has only one exit code;
 * dd counts the bytes pg_dump wrote as they pass. psql waits at the gate until the action says
 * its database exists, and gives up should the action itself be gone (killed), so that no
 * orphaned pipeline waits forever. Nothing else copies the stream: every program in it passes
 * every byte through a pipe once more, and on a machine that hosts the servers too that CPU is
 * the restore's (the sanitizing sed writes the line index a failed restore is named from).
 * psql runs with RESTORE_PSQL_OPTIONS.
 */
const STREAM_SCRIPT_HEAD = `
pw_production=\${LAZARUS_PRODUCTION_PASSWORD-}
pw_cleanroom=\${LAZARUS_CLEANROOM_PASSWORD-}
unset LAZARUS_PRODUCTION_PASSWORD LAZARUS_CLEANROOM_PASSWORD PGPASSWORD
ended() { echo "$1 $2 $(date +%s.%N)" >> "$LAZARUS_STATUS_FILE"; }
gate_open() {
  while [ ! -s "$LAZARUS_GATE_FILE" ]; do kill -0 "$PPID" 2> /dev/null || return 1; sleep 0.01; done
  [ "$(cat "$LAZARUS_GATE_FILE")" = go ]
}
`;
/**
 * The first programs of the stream, which hand plain SQL to sed: pg_dump alone; or, keeping a
 * restore point, pg_dump with tee writing its output to the kept file (plain, custom) and
 * pg_restore turning a custom archive back into SQL as it arrives. Each program records its own
 * end, so the first to fail is known. The kept file and the restored stream are the same pg_dump
 * run's output, from the same snapshot. (A directory-format backup is not streamed: dumpDirectory.)
 * pg_dump writes a custom archive to stdout through stdio, and pg_restore reads it from stdin so:
 * with 1 MiB buffers (stdbuf.ts) each moves the archive in large pieces rather than 4 KiB ones.
 */
const STREAM_SOURCES = {
    stream: `{ if [ -n "$pw_production" ]; then export PGPASSWORD="$pw_production"; fi
  "$LAZARUS_PG_DUMP" "$@" | dd bs=1M 2> "$LAZARUS_BYTES_FILE"
  ended dump \${PIPESTATUS[0]}; } |`,
    plain: `{ if [ -n "$pw_production" ]; then export PGPASSWORD="$pw_production"; fi
  "$LAZARUS_PG_DUMP" "$@"; ended dump $?; } |
{ tee "$LAZARUS_KEEP_PATH" | dd bs=1M 2> "$LAZARUS_BYTES_FILE"; ended keep \${PIPESTATUS[0]}; } |`,
    custom: `{ if [ -n "$pw_production" ]; then export PGPASSWORD="$pw_production"; fi
  "\${LAZARUS_ARCHIVE_OUT[@]}" "$LAZARUS_PG_DUMP" "$@"; ended dump $?; } |
{ tee "$LAZARUS_KEEP_PATH"; ended keep $?; } |
{ "\${LAZARUS_ARCHIVE_IN[@]}" "$LAZARUS_PG_RESTORE" "\${LAZARUS_CONVERT[@]}" | dd bs=1M 2> "$LAZARUS_BYTES_FILE"; ended convert \${PIPESTATUS[0]}; } |`
};
/**
 * pg_dump alone, writing a directory-format backup: in parallel (--jobs), every worker in the one
 * exported snapshot. A directory archive is whole only when pg_dump ends (toc.dat is written
 * last), so nothing can restore it before: the run restores it afterwards, in sections and in
 * parallel (directory-stream.ts).
 */
const DIRECTORY_DUMP = `if [ -n "$pw_production" ]; then export PGPASSWORD="$pw_production"; fi
"$LAZARUS_PG_DUMP" "$@"; ended dump $?
`;
const STREAM_SCRIPT_TAIL = `
{ "\${LAZARUS_FILTER[@]}" ; ended sanitize $?; } |
{ gate_open || exit 1
  if [ -n "$pw_cleanroom" ]; then export PGPASSWORD="$pw_cleanroom"; fi
  "\${LAZARUS_PSQL_BUFFERS[@]}" "$LAZARUS_PSQL" -X -q -v ON_ERROR_STOP=1 -v VERBOSITY=verbose -o /dev/null -f "$LAZARUS_CHECK_FILE" -f - \\
    --dbname="$LAZARUS_RESTORE_CONNINFO"; ended restore $?; }
`;
/**
 * pg_dump's arguments for a stream, without the connection string and the snapshot (so they can
 * go into a manifest): plain SQL without owners and privileges unless the clean room takes them;
 * an archive (custom, directory) always whole, since pg_restore leaves out what the clean room
 * cannot take and the kept restore point should hold everything.
 */
function dumpArguments(keep, withOwnersAndPrivileges, lockTimeoutSeconds = DEFAULT_FAULT_LIMITS.lockTimeoutSeconds) {
    const strip = withOwnersAndPrivileges ? [] : ['--no-owner', '--no-privileges'];
    const common = [`--lock-wait-timeout=${lockTimeoutSeconds}s`];
    switch (keep?.format) {
        case undefined:
        case 'plain':
            return ['--format=plain', ...strip, ...common];
        case 'custom':
            return ['--format=custom', `--compress=${keep.compress}`, ...common];
        case 'directory':
            return ['--format=directory', `--compress=${keep.compress}`, `--jobs=${keep.jobs}`, ...common];
    }
}
/** pg_restore's arguments that turn a kept custom archive, read from stdin, back into the SQL the clean room restores. */
function convertArguments(withOwnersAndPrivileges) {
    return ['--file=-', ...(withOwnersAndPrivileges ? [] : ['--no-owner', '--no-privileges'])];
}
/** pg_dump's whole argv after the script: its options, where a directory goes, the snapshot and production. */
function dumpCommandArguments(keep, production, options, limits) {
    return [
        ...dumpArguments(keep, options.withOwnersAndPrivileges ?? false, limits.lockTimeoutSeconds),
        ...(keep?.format === 'directory' ? [`--file=${keep.path}`] : []),
        `--snapshot=${options.snapshot}`,
        `--dbname=${conninfo(withTcpSafeguards(production, limits), options.productionTakesOptions ? READ_ONLY_OPTION : undefined)}`
    ];
}
/** Why pg_dump failed, when it is production's or the runner's fault rather than the backup's (see StreamOutcome). */
async function dumpEnvironmentError(stderr, production, limits, options) {
    return productionDumpError(stderr, production, limits, dumpLockTimedOut(stderr) ? await options.exclusiveLocks?.().catch(() => []) : undefined);
}
/**
 * Dumps production (plain SQL, from the snapshot), sanitizes and restores it in one stream:
 * the restore takes about as long as the slower of dump and restore, not their sum. A
 * directory-format backup is not streamed (dumpDirectory).
 */
async function streamDumpIntoRestore(tools, production, restoreTarget, options) {
    const limits = options.limits ?? DEFAULT_FAULT_LIMITS;
    const keep = options.keep;
    if (keep?.format === 'directory')
        throw new Error('a directory-format backup is dumped by dumpDirectory, then restored');
    const withOwners = options.withOwnersAndPrivileges ?? false;
    if (keep && keep.format !== 'plain')
        requirePgRestore(tools, `backup-format '${keep.format}'`);
    const dumpArgs = dumpCommandArguments(keep, production, options, limits);
    const env = clientEnv({ ...production, password: undefined }, {
        LAZARUS_PG_DUMP: tools.pgDump.path,
        LAZARUS_PSQL: tools.psql.path,
        LAZARUS_PG_RESTORE: tools.pgRestore?.path ?? '',
        LAZARUS_KEEP_PATH: keep?.path ?? '',
        LAZARUS_RESTORE_CONNINFO: conninfo(withTcpSafeguards(restoreTarget, limits)),
        LAZARUS_CHECK_FILE: options.checkFile,
        LAZARUS_STATUS_FILE: options.statusFile,
        LAZARUS_BYTES_FILE: options.bytesFile,
        LAZARUS_GATE_FILE: options.gateFile,
        LAZARUS_PRODUCTION_PASSWORD: production.password ?? '',
        LAZARUS_CLEANROOM_PASSWORD: restoreTarget.password ?? ''
    });
    // bash cannot take an array from the environment: the filter's and pg_restore's argv become declared arrays.
    const arrays = [
        `LAZARUS_FILTER=(${options.filter.map(shellQuote).join(' ')})`,
        `LAZARUS_CONVERT=(${(keep ? convertArguments(withOwners) : []).map(shellQuote).join(' ')})`,
        // psql reads the stream in large pieces (stdbuf.ts); so do pg_dump and pg_restore move a custom archive.
        `LAZARUS_PSQL_BUFFERS=(${streamBuffers({ input: true, output: false }).map(shellQuote).join(' ')})`,
        `LAZARUS_ARCHIVE_OUT=(${streamBuffers({ input: false, output: true }).map(shellQuote).join(' ')})`,
        `LAZARUS_ARCHIVE_IN=(${streamBuffers({ input: true, output: false }).map(shellQuote).join(' ')})`
    ];
    const script = [...arrays, STREAM_SCRIPT_HEAD, STREAM_SOURCES[keep?.format ?? 'stream'], STREAM_SCRIPT_TAIL].join('\n');
    (0,work_files/* writeWorkFile */.VT)(options.scriptFile, script, "the stream's script");
    (0,work_files/* writeWorkFile */.VT)(options.statusFile, '', "the stream's status file");
    external_node_fs_.rmSync(options.gateFile, { force: true });
    // Written whole, then renamed into place: the script never reads half a word.
    const openGate = (word) => {
        try {
            (0,work_files/* writeWorkFile */.VT)(`${options.gateFile}.new`, word, "the stream's gate file");
            external_node_fs_.renameSync(`${options.gateFile}.new`, options.gateFile);
        }
        catch {
            // psql then never starts: the pipeline ends with the action (its gate watches the parent).
        }
    };
    let restoreStartedAt;
    const gate = options.restoreTargetReady.then(() => {
        restoreStartedAt = Date.now() / 1000;
        openGate('go');
    }, () => openGate('stop'));
    const startedAt = Date.now() / 1000;
    const watching = watchDumpEnd(options);
    const { stderr } = await runClient('bash', [options.scriptFile, ...dumpArgs], env).finally(watching.stop);
    await gate;
    // The stream cannot have restored anything without its target: that failure is the one to report.
    await options.restoreTargetReady;
    const stages = readStreamStatus(options.statusFile, startedAt);
    const outcome = judgeStream(stages, stderr, streamStages(keep));
    if (!outcome.ok) {
        if (outcome.stage === 'restore') {
            const misplaced = locationCheckError(stderr, options.checkFile);
            if (misplaced)
                throw misplaced;
        }
        const small = (what) => ({ what, dumpSized: false });
        const workFiles = {
            ...options.workFiles,
            [options.bytesFile]: small("the dump's byte count"),
            // The script itself writes only its status file (bash names the script in its error).
            [options.scriptFile]: small("the stream's status file")
        };
        outcome.environmentError =
            streamDiskFullError(stderr, workFiles) ??
                (outcome.stage === 'restore'
                    ? cleanroomRestoreError(outcome.restore?.exitCode, stderr, restoreTarget)
                    : outcome.stage === 'dump'
                        ? await dumpEnvironmentError(stderr, production, limits, options)
                        : undefined);
    }
    return { ...outcome, dumpBytes: readDumpBytes(options.bytesFile), startedAt, restoreStartedAt };
}
/**
 * Dumps production into a directory-format backup (pg_dump --format=directory --jobs, every
 * worker importing the one exported snapshot), with the password reaching pg_dump alone as in
 * the stream. The run restores the directory once it is whole (directory-stream.ts).
 */
async function dumpDirectory(tools, production, options) {
    const limits = options.limits ?? DEFAULT_FAULT_LIMITS;
    requirePgRestore(tools, "backup-format 'directory'");
    const dumpArgs = dumpCommandArguments(options.keep, production, options, limits);
    const env = clientEnv({ ...production, password: undefined }, {
        LAZARUS_PG_DUMP: tools.pgDump.path,
        LAZARUS_STATUS_FILE: options.statusFile,
        // Read by the script's head, which the stream shares; nothing here waits at a gate.
        LAZARUS_GATE_FILE: '',
        LAZARUS_PRODUCTION_PASSWORD: production.password ?? ''
    });
    (0,work_files/* writeWorkFile */.VT)(options.scriptFile, [STREAM_SCRIPT_HEAD, DIRECTORY_DUMP].join('\n'), "the dump's script");
    (0,work_files/* writeWorkFile */.VT)(options.statusFile, '', "the dump's status file");
    const startedAt = Date.now() / 1000;
    const watching = watchDumpEnd(options);
    const { stderr } = await runClient('bash', [options.scriptFile, ...dumpArgs], env).finally(watching.stop);
    const stages = readStreamStatus(options.statusFile, startedAt);
    const dump = stages.dump;
    if (dump?.exitCode === 0)
        return { ok: true, dump, startedAt };
    return {
        ok: false,
        stage: 'dump',
        error: programFailure('pg_dump failed', stderr, /^pg_dump/),
        ...(dump ? { dump } : {}),
        environmentError: await dumpEnvironmentError(stderr, production, limits, options),
        startedAt
    };
}
/**
 * Polls the status file for pg_dump's end, to tell options.onDumpEnded; stop() (the pipeline is
 * over) tells it at the latest, as failed if pg_dump never recorded its end.
 */
function watchDumpEnd(options) {
    const onDumpEnded = options.onDumpEnded;
    if (!onDumpEnded)
        return { stop: () => undefined };
    let told = false;
    const tell = (pipelineOver) => {
        if (told)
            return;
        const dump = readStreamStatus(options.statusFile, 0).dump;
        if (!dump && !pipelineOver)
            return;
        told = true;
        clearInterval(timer);
        onDumpEnded(dump?.exitCode === 0);
    };
    const timer = setInterval(() => tell(false), DUMP_END_POLL_MS);
    timer.unref();
    return { stop: () => tell(true) };
}
/** dd ends with "N bytes (...) copied"; undefined when it never got there. */
function readDumpBytes(bytesFile) {
    const match = /^(\d+) bytes/m.exec(external_node_fs_.existsSync(bytesFile) ? external_node_fs_.readFileSync(bytesFile, 'utf8') : '');
    return match ? Number(match[1]) : undefined;
}
function shellQuote(word) {
    return `'${word.replace(/'/g, `'\\''`)}'`;
}
/** The programs of a stream that record their end: tee keeps the backup, pg_restore converts a custom archive. */
function streamStages(keep) {
    const keeping = !keep ? [] : keep.format === 'plain' ? ['keep'] : ['keep', 'convert'];
    return ['dump', ...keeping, 'sanitize', 'restore'];
}
function readStreamStatus(statusFile, startedAt) {
    const stages = {};
    // Gone when the run already ended (a stopped run removes its work files while the stream winds down).
    const text = external_node_fs_.existsSync(statusFile) ? external_node_fs_.readFileSync(statusFile, 'utf8') : '';
    for (const line of text.split('\n')) {
        const [name, code, time] = line.split(' ');
        if (STREAM_STAGE_NAMES.includes(name)) {
            stages[name] = { exitCode: Number(code), seconds: Math.max(0, Number(time) - startedAt) };
        }
    }
    return stages;
}
/**
 * The program that failed first decides the verdict, by the end times they recorded: psql failing
 * first is a backup that does not restore (pg_dump and sed then die of the broken pipe); pg_dump
 * or sed failing first is an error, whatever psql made of the partial stream it was fed. A program
 * that never recorded its end (killed) failed last.
 */
function judgeStream(stages, stderr, expected = ['dump', 'sanitize', 'restore']) {
    const recorded = Object.fromEntries(expected.filter(name => stages[name]).map(name => [name, stages[name]]));
    if (expected.every(name => stages[name]?.exitCode === 0)) {
        return { ok: true, ...recorded };
    }
    const failures = expected
        .filter(name => stages[name]?.exitCode !== 0)
        .sort((a, b) => (stages[a]?.seconds ?? Infinity) - (stages[b]?.seconds ?? Infinity));
    const first = failures[0];
    const error = {
        dump: () => programFailure('pg_dump failed', stderr, /^pg_dump/),
        keep: () => programFailure('Writing the kept backup failed', stderr, /^tee/),
        convert: () => programFailure('pg_restore failed reading the archive', stderr, /^pg_restore/),
        sanitize: () => programFailure('sed failed', stderr, /^sed/),
        restore: () => psqlFailure(stderr)
    }[first]();
    return { ok: false, stage: first, error, ...recorded };
}
/**
 * The disk-full error of the streamed pipeline, whichever of its writers hit it (sed's copy of the
 * dump or its removed lines, dd's byte count, the status file): `files` names what each file is.
 */
function streamDiskFullError(stderr, files) {
    // A server's own full disk ("ERROR:  could not extend file ...") is the server's, not the runner's.
    const line = stderr.split('\n').find(text => /No space left on device/i.test(text) && !/\b(ERROR|FATAL|PANIC):/.test(text));
    if (!line)
        return undefined;
    const program = /^(?:\S*\/)?(sed|dd|tee|grep|pg_dump|pg_restore|psql)\b/.exec(line)?.[1] ?? 'the stream';
    const known = Object.entries(files).find(([file]) => line.includes(file));
    if (known)
        return (0,work_files/* diskFullError */.vB)(line, program, known[1].what, known[0], (0,work_files/* workDirFix */.uB)(known[1].dumpSized));
    const anyFile = Object.keys(files)[0];
    return anyFile ? (0,work_files/* diskFullError */.vB)(line, program, 'a work file', anyFile, (0,work_files/* workDirFix */.uB)(false)) : undefined;
}
/**
 * psql as every restore runs it: stop at the first error (a backup that needs a statement skipped
 * is a backup that does not restore), each statement in its own transaction. Not
 * --single-transaction: one transaction holds a lock on every table and index it creates until
 * the end, and a schema of many thousand tables runs past the clean room's lock table ("out of
 * shared memory", max_locks_per_transaction) while a plain `pg_dump | psql` restores it. All or
 * nothing buys nothing here: a failed restore's scratch database is dropped anyway.
 */
const RESTORE_PSQL_OPTIONS = ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-v', 'VERBOSITY=verbose', '-o', '/dev/null'];
/**
 * Restores a plain dump with psql (RESTORE_PSQL_OPTIONS). `checkFile` runs first and stops psql
 * unless it is where Lazarus checked. A failure that is not the backup's (see
 * cleanroomRestoreError) is thrown, not returned.
 */
async function restoreDump(tools, target, file, checkFile, limits = DEFAULT_FAULT_LIMITS) {
    const args = [...RESTORE_PSQL_OPTIONS, '-f', checkFile, '-f', file, `--dbname=${conninfo(withTcpSafeguards(target, limits))}`];
    const { exitCode, stderr } = await runClient(tools.psql.path, args, clientEnv(target));
    if (exitCode === 0)
        return { ok: true };
    const misplaced = locationCheckError(stderr, checkFile);
    if (misplaced)
        throw misplaced;
    const environment = cleanroomRestoreError(exitCode, stderr, target);
    if (environment)
        throw environment;
    return { ok: false, error: lastLines(withoutVerboseDetail(stderr)) || `psql exited with code ${exitCode}` };
}
/**
 * Why a failed restore is not the backup's failure, or undefined when it is. Only a statement of
 * the dump that failed under ON_ERROR_STOP (psql's exit code 3) can be the backup's, and then only
 * when the error is not one of the clean room's own (a full disk, a missing extension's files, a
 * shutdown, a role without a privilege): "the backup does not restore" describes only the backup.
 */
function cleanroomRestoreError(exitCode, stderr, target) {
    const where = `the clean room (${describe(target)}, '${target.inputName}')`;
    const psqlLines = stderr
        .split('\n')
        .filter(line => /^psql/.test(line))
        .join('\n');
    const said = lastLines(withoutVerboseDetail(psqlLines || stderr)) || 'no error output';
    if (exitCode === PSQL_SCRIPT_ERROR) {
        const failed = psqlLines
            .split('\n')
            .map(parseVerboseError)
            .filter(error => error !== undefined)
            .pop();
        if (!failed || !blamesCleanroom(failed.code))
            return undefined;
        return new errors/* UserError */.yo(`The restore stopped on an error of ${where}, not of the backup: ${said} (SQLSTATE ${failed.code}). ` +
            `To verify the backup, ${cleanroomHint(failed.code, failed.message)}.`);
    }
    if (exitCode === PSQL_CONNECTION_ERROR) {
        if (/connection to server .* failed|invalid (URI|connection option)|could not translate host name|missing "="/i.test(said)) {
            return new errors/* UserError */.yo(`psql could not connect to ${where}, so the backup was not tried: ${said}. Fix '${target.inputName}' or the clean-room server.`);
        }
        return new errors/* UserError */.yo(`psql lost its connection to ${where} during the restore, so the backup was not fully tried: ${said}. ` +
            `Check that the clean-room server stays up (its log says why the session ended).`);
    }
    // Killed (no exit code), a signal, or psql's own failure (exit 1): nothing the backup did.
    return new errors/* UserError */.yo(`psql failed on ${where} for a reason of its own (exit code ${exitCode ?? 'none: it was killed'}): ${said}.`);
}
/**
 * Why pg_dump failed, as a user error naming production and what to change, when the failure is
 * a connection or a lock; undefined otherwise (the generic "pg_dump failed" then stands).
 */
function productionDumpError(stderr, production, limits, held = []) {
    const where = `production (${describe(production)}, '${production.inputName}')`;
    const dumpLines = pgDumpLines(stderr);
    const said = lastLines(dumpLines || stderr) || 'no error output';
    const locked = dumpLockTimedOut(stderr);
    if (locked) {
        return new errors/* UserError */.yo(`pg_dump waited ${limits.lockTimeoutSeconds} s for a lock on ${lockedTables(locked, held)} on ${where}: another session holds ` +
            `a lock that blocks reading it (an ACCESS EXCLUSIVE lock: ALTER TABLE, TRUNCATE, VACUUM FULL, LOCK TABLE). ` +
            `Run Lazarus when no such lock is held, or raise 'lock-timeout-seconds' to wait longer.`);
    }
    if (/error: connection to server .* failed|error: invalid (URI|connection option)|could not translate host name|missing "="/i.test(dumpLines)) {
        return new errors/* UserError */.yo(`pg_dump could not connect to ${where}: ${said}. Fix '${production.inputName}' or the server.`);
    }
    if (/server closed the connection unexpectedly|terminating connection|connection to server was lost|SSL SYSCALL error/i.test(dumpLines)) {
        return new errors/* UserError */.yo(`pg_dump lost its connection to ${where} during the dump: ${said}. Check that production stays up and reachable.`);
    }
    return undefined;
}
function pgDumpLines(stderr) {
    return stderr
        .split('\n')
        .filter(line => /^pg_dump/.test(line))
        .join('\n');
}
/**
 * The tables of the LOCK TABLE statement pg_dump gave up on (its --lock-wait-timeout), as it
 * wrote them (schema.name, quoted where needed), or undefined when pg_dump did not fail so. A
 * long batch may have lost its start to the stderr tail kept: the names that are left count.
 */
function dumpLockTimedOut(stderr) {
    if (!/canceling statement due to (statement|lock) timeout/.test(pgDumpLines(stderr)))
        return undefined;
    const line = /^.* IN ACCESS SHARE MODE/m.exec(stderr)?.[0];
    if (line === undefined)
        return undefined;
    const list = line.replace(/^.*?LOCK TABLE /, '').replace(/ IN ACCESS SHARE MODE$/, '');
    const identifier = '(?:"(?:[^"]|"")*"|[^\\s,."]+)';
    return [...list.matchAll(new RegExp(`${identifier}\\.${identifier}`, 'g'))].map(match => match[0]);
}
/**
 * "table public.orders": the tables of pg_dump's LOCK TABLE that another session holds
 * exclusively (`held`), or, when that cannot be told, the statement's tables (the first few of
 * a batch).
 */
function lockedTables(tables, held) {
    const blocking = held.filter(lock => tables.includes(lock.name));
    if (blocking.length > 0)
        return blocking.map(lock => `${lock.kind} ${lock.name}`).join(', ');
    return tables.length === 1
        ? `table ${tables[0]}`
        : `one of the tables ${tables.slice(0, 5).join(', ')}${tables.length > 5 ? ', ...' : ''}`;
}
/**
 * What one program of a stream said: the last lines of stderr that it wrote (each starts with its
 * name), else stderr's last lines. Shared by the fresh stream and the stored backup's (pg-restore.ts).
 */
function programLines(stderr, program) {
    return (lastLines(stderr
        .split('\n')
        .filter(line => program.test(line))
        .join('\n')) || lastLines(stderr));
}
/** "<what>: <what the program said>", or "no error output" when it said nothing. */
function programFailure(what, stderr, program) {
    return `${what}: ${programLines(stderr, program) || 'no error output'}`;
}
/** psql's own message, as a person reads it (psql runs verbose: RESTORE_PSQL_OPTIONS). */
function psqlFailure(stderr) {
    return withoutVerboseDetail(programLines(stderr, /^psql/)) || 'psql failed';
}
function lastLines(text, count = 5) {
    return text.split('\n').filter(Boolean).slice(-count).join(' | ');
}

;// CONCATENATED MODULE: ./src/engines/postgres/row-security.ts

/**
 * Reading every row of a restored table whose row-level security is forced.
 *
 * Every session pins `row_security = off` (PINNED_SETTINGS), so a read that a policy would filter
 * fails instead of silently counting fewer rows. That is what pg_dump does too, so production's
 * side never needs more: a role pg_dump could dump with bypasses the policies. The restored copy
 * is another matter. A clean-room role that is not a superuser owns what it restored (the dump
 * is restored without owners), and `ALTER TABLE ... FORCE ROW LEVEL SECURITY` subjects even the
 * owner to the policies: a faithful backup of a multi-tenant table would count as short. Such a
 * table is read in a transaction that lifts FORCE from it (the owner may) and is rolled back:
 * the scratch database is Lazarus's own, and it is left exactly as restored, for the schema
 * comparison to see FORCE. A superuser or BYPASSRLS role is not subject to policies at all, and
 * only a superuser could have restored event triggers, which an ALTER TABLE would fire.
 */
/** Forced-RLS tables of the connected database that the connected role is subject to and may alter. */
const FORCED_TABLES_SQL = `
SELECT n.nspname AS schema, c.relname AS name
FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relrowsecurity AND c.relforcerowsecurity AND c.relkind IN ('r', 'p')
  AND pg_catalog.pg_has_role(c.relowner, 'USAGE')
  AND NOT (SELECT r.rolsuper OR r.rolbypassrls FROM pg_catalog.pg_roles r WHERE r.rolname = current_user)`;
const forcedTables = new WeakMap();
function key(table) {
    return `${table.schema}\u0000${table.name}`;
}
/** The restored copy does not change while it is verified: its forced tables are read once per session. */
function forcedTablesOf(db) {
    let found = forcedTables.get(db);
    if (!found) {
        found = db.query(FORCED_TABLES_SQL).then(rows => new Set(rows.map(key)));
        forcedTables.set(db, found);
    }
    return found;
}
/** The statements that lift FORCE from the given tables, for the length of a transaction. */
function liftForceSql(tables) {
    return tables.map(table => `ALTER TABLE ONLY ${qualifiedName(table)} NO FORCE ROW LEVEL SECURITY;`).join('\n');
}
/**
 * Runs `read` (queries on `db`, outside any transaction) so that it sees every row of `tables`:
 * as it is when none of them forces row-level security on the connected role, and otherwise in a
 * transaction that lifts FORCE from those that do and is then rolled back.
 */
async function readingEveryRow(db, tables, read) {
    const forced = await forcedTablesOf(db);
    const lift = tables.filter(table => forced.has(key(table)));
    if (lift.length === 0)
        return read();
    await db.query('BEGIN');
    try {
        await db.query(liftForceSql(lift));
        return await read();
    }
    finally {
        await db.query('ROLLBACK');
    }
}

// EXTERNAL MODULE: ./src/util/table-name.ts
var table_name = __webpack_require__(50410);
// EXTERNAL MODULE: ./src/engines/reads.ts
var reads = __webpack_require__(85002);
;// CONCATENATED MODULE: ./src/engines/postgres/row-diff-queries.ts



/** Lower bound on a row's size on disk (tuple header and line pointer), to overestimate row counts. */
const MIN_ROW_BYTES = 32;
/**
 * Each table's key: its primary key or, failing that, the unique index over the fewest NOT NULL
 * plain columns (no expressions, no WHERE), by table (compare.ts's tableKey), in index order.
 */
async function readPrimaryKeys(db) {
    const rows = await db.query(PRIMARY_KEYS_SQL);
    const keys = new Map();
    // Rows come best index first: the first one per table wins.
    for (const row of rows)
        if (!keys.has((0,table_name/* tableKey */.ih)(row)))
            keys.set((0,table_name/* tableKey */.ih)(row), row.columns);
    return keys;
}
// indnkeyatts (PostgreSQL 11+) leaves out INCLUDE columns; read through to_jsonb so that older
// servers, which have no such column (nor INCLUDE), still answer.
const PRIMARY_KEYS_SQL = `
SELECT n.nspname AS schema, c.relname AS name,
       (SELECT json_agg(a.attname::text ORDER BY k.position)
        FROM unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, position)
        JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum
        WHERE k.position <= coalesce((to_jsonb(i) ->> 'indnkeyatts')::int, i.indnatts)) AS columns
FROM pg_catalog.pg_index i
JOIN pg_catalog.pg_class c ON c.oid = i.indrelid
JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'm', 'p') AND i.indisunique AND i.indisvalid AND i.indexprs IS NULL AND i.indpred IS NULL
  AND ${userRelationSql('c', 'n')}
  AND (i.indisprimary OR NOT EXISTS (
        SELECT 1 FROM unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, position)
        JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum
        WHERE k.position <= coalesce((to_jsonb(i) ->> 'indnkeyatts')::int, i.indnatts) AND NOT a.attnotnull))
ORDER BY n.nspname, c.relname, i.indisprimary DESC,
         coalesce((to_jsonb(i) ->> 'indnkeyatts')::int, i.indnatts), ic.relname
`;
// A partitioned table (compared as a whole) is estimated by its partitions, which hold its rows.
const ESTIMATE_SQL = `
SELECT sum(greatest(p.reltuples, 0))::float8 AS tuples, sum(pg_catalog.pg_relation_size(p.oid))::float8 AS bytes
FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
JOIN pg_catalog.pg_class p
  ON p.oid = c.oid OR (c.relkind = 'p' AND p.oid IN (SELECT tree.relid FROM pg_catalog.pg_partition_tree(c.oid) AS tree))
WHERE n.nspname = $1 AND c.relname = $2`;
/**
 * One side's reads of `table`'s rows for the row diff. `table.columns` are production's
 * (TableRef's, sorted by name), so that both sides hash the same columns in the same order; `key`
 * is production's (readPrimaryKeys), or undefined (or empty) for a table without one.
 */
function rowDiffSide(db, table, key) {
    const sql = new RowDiffSql(table, key && key.length > 0 ? key : undefined);
    return {
        async estimateRows() {
            const rows = await db.query(ESTIMATE_SQL, [table.schema, table.name]);
            return Math.max(0, ...rows.map(row => Math.max(row.tuples, row.bytes / MIN_ROW_BYTES)));
        },
        async aggregates(depth, within) {
            const rows = await db.query(sql.aggregates(depth, within?.depth), within ? [within.prefixes] : []);
            return rows.map(row => ({ bucket: row.bucket, rows: Number(row.rows), high: row.high, low: row.low }));
        },
        hashes: (depth, prefixes) => db.query(sql.hashes(depth), [prefixes]),
        firstRows: (depth, prefixes, limit) => db.query(sql.firstRows(depth, limit), [prefixes]),
        async rowTexts(hashes) {
            const rows = await db.query(sql.rowTexts(), [hashes]);
            return new Map(rows.map(row => [row.hash, row.row]));
        }
    };
}
/**
 * The statements, the same on both sides. Each row is seen as `r`, the md5 of its text form;
 * `h`, 32 bits of the md5 of its key's text (of `r` without a key), whose leading bits name its
 * bucket; and for keyed tables `k`, the key's row text, and `kv`, its values.
 */
class RowDiffSql {
    keyed;
    keyLength;
    source;
    constructor(table, key) {
        this.keyed = key !== undefined;
        this.keyLength = key?.length ?? 0;
        const row = `ROW(${table.columns.map(column => quoteIdent(column.name)).join(', ')})::text`;
        const keyText = key && `ROW(${key.map(quoteIdent).join(', ')})::text`;
        const keyValues = key && `ARRAY[${key.map(column => `${quoteIdent(column)}::text`).join(', ')}]::text[]`;
        const keyColumns = key ? `, ${keyText} AS k, ${keyValues} AS kv` : '';
        // OFFSET 0 keeps each subquery from being merged into the query, which would compute md5
        // once per use of r or h instead of once per row; columns a query does not use are skipped.
        this.source = `(SELECT ('x' || substr(${key ? 'md5(s0.k)' : 's0.r'}, 1, 8))::bit(32)::bigint AS h, s0.*
  FROM (SELECT md5(${row}) AS r, ${row} AS row${keyColumns} FROM ${rowSourceSql(table)} AS t ${rowFilter(table)} OFFSET 0) AS s0
  OFFSET 0) AS s`;
    }
    /** The leading `depth` bits of the row's hash. */
    bucket(depth) {
        return `(s.h >> ${reads/* ROW_HASH_BITS */.r - depth})`;
    }
    /** Restricts the rows to the buckets of depth `depth` listed in $1. */
    within(depth) {
        return `JOIN unnest($1::bigint[]) AS p(prefix) ON ${this.bucket(depth)} = p.prefix`;
    }
    /** Count and the sums of both halves of `r` per bucket, within the parent buckets in $1 if given. */
    aggregates(depth, parentDepth) {
        return `SELECT ${this.bucket(depth)}::text AS bucket, count(*)::text AS rows,
  sum(('x' || substr(s.r, 1, 16))::bit(64)::bigint)::text AS high,
  sum(('x' || substr(s.r, 17, 16))::bit(64)::bigint)::text AS low
FROM ${this.source}
${parentDepth === undefined ? '' : this.within(parentDepth)}
GROUP BY 1`;
    }
    /** Each distinct (key, row hash) of the buckets in $1, with how many rows have it. */
    hashes(depth) {
        const key = this.keyed ? ', s.k AS key, s.kv AS "values"' : '';
        return `SELECT s.r AS hash, count(*)::text AS n${key}
FROM ${this.source}
${this.within(depth)}
GROUP BY s.r${this.keyed ? ', s.k, s.kv' : ''}`;
    }
    /** The first `limit` rows of the buckets in $1, in verification/row-diff.ts compareKeys' order. */
    firstRows(depth, limit) {
        const order = [];
        for (let i = 1; i <= this.keyLength; i++) {
            const value = `s.kv[${i}]`;
            order.push(`(${value} IS NULL)`, `(${value} !~ '^-?[0-9]+$')`, `CASE WHEN ${value} ~ '^-?[0-9]+$' THEN ${value}::numeric END`, `${value} COLLATE "C"`);
        }
        return `SELECT s.kv AS "values", s.r AS hash
FROM ${this.source}
${this.within(depth)}
ORDER BY ${[...order, 's.r COLLATE "C"'].join(', ')}
LIMIT ${limit}`;
    }
    /** The text of one row for each row hash in $1. */
    rowTexts() {
        return `SELECT DISTINCT ON (s.r) s.r AS hash, s.row AS row
FROM ${this.source}
JOIN unnest($1::text[]) AS w(hash) ON s.r = w.hash`;
    }
}

;// CONCATENATED MODULE: ./src/engines/postgres/sequence-queries.ts



/**
 * The SQL half of the sequence check (verification/sequence-check.ts judges what these read):
 * where each user sequence stands, and which restored sequences are behind their column's data.
 */
/** A user sequence (`c` pg_class, `n` its pg_namespace) outside extensions, whose values pg_dump does not dump. */
const USER_SEQUENCE = `c.relkind = 'S' AND ${userNamespaceSql('n')} AND ${notInExtensionSql('pg_catalog.pg_class', 'c.oid')}`;
const LIST_SEQUENCES_SQL = `
SELECT pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(c.relname) AS name,
       pg_catalog.format('%I.%I', n.nspname, c.relname) AS ref, s.seqincrement::text AS increment
FROM pg_catalog.pg_sequence s
JOIN pg_catalog.pg_class c ON c.oid = s.seqrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE ${USER_SEQUENCE}
ORDER BY 1`;
/**
 * Sequences owned by an integer column of a table (OWNED BY, which serial sets up, deptype
 * `a`; identity columns, deptype `i`), with what it takes to find the column's extreme value.
 * The column is read without ONLY: partitions and inheritance children draw from the same sequence.
 */
const OWNED_SEQUENCES_SQL = `
SELECT pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(c.relname) AS name,
       pg_catalog.format('%I.%I', n.nspname, c.relname) AS ref, s.seqincrement::text AS increment,
       pg_catalog.quote_ident(tn.nspname) || '.' || pg_catalog.quote_ident(t.relname)
         || '.' || pg_catalog.quote_ident(a.attname) AS "column",
       pg_catalog.format('%I.%I', tn.nspname, t.relname) AS "tableRef", pg_catalog.format('%I', a.attname) AS "columnRef"
FROM pg_catalog.pg_sequence s
JOIN pg_catalog.pg_class c ON c.oid = s.seqrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.objid = c.oid
  AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.refobjsubid > 0 AND d.deptype IN ('a', 'i')
JOIN pg_catalog.pg_class t ON t.oid = d.refobjid
JOIN pg_catalog.pg_namespace tn ON tn.oid = t.relnamespace
JOIN pg_catalog.pg_attribute a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid
JOIN pg_catalog.pg_type ty ON ty.oid = a.atttypid
WHERE ${USER_SEQUENCE} AND t.relkind IN ('r', 'p')
  AND (CASE WHEN ty.typtype = 'd' THEN ty.typbasetype ELSE ty.oid END)
      IN ('pg_catalog.int2'::pg_catalog.regtype, 'pg_catalog.int4'::pg_catalog.regtype,
          'pg_catalog.int8'::pg_catalog.regtype, 'pg_catalog.numeric'::pg_catalog.regtype)
ORDER BY 1`;
/** Sequences per statement: one UNION ALL reads a batch in one round trip. */
const BATCH = 200;
/**
 * Where every user sequence stands now, sorted by name. Sequence values live outside MVCC: read
 * inside a snapshot transaction they are still today's values, which is why production is read
 * before and after the dump rather than in its snapshot. Needs SELECT on every sequence, as
 * pg_dump does.
 */
async function readSequenceValues(db) {
    return withPinnedCatalogSettings(db, async () => {
        const sequences = await db.query(LIST_SEQUENCES_SQL);
        const values = [];
        for (let start = 0; start < sequences.length; start += BATCH) {
            const batch = sequences.slice(start, start + BATCH);
            const sql = batch
                .map((sequence, index) => `SELECT ${index} AS index, last_value::text AS "lastValue", is_called AS "isCalled"
                                   FROM ${sequence.ref}`)
                .join('\nUNION ALL\n');
            for (const row of await db.query(sql)) {
                const { name, increment } = batch[row.index];
                values.push({ name, lastValue: row.lastValue, isCalled: row.isCalled, increment });
            }
        }
        return values.sort((a, b) => (0,text_order/* compareText */.n6)(a.name, b.name));
    });
}
/**
 * Restored sequences whose owning column already holds a value at or past the sequence's next
 * value (the first insert after a restore would fail), sorted by name. Sequences whose table is
 * empty are skipped, as are owning columns that are not integers.
 */
async function findSequencesBehindData(db) {
    return withPinnedCatalogSettings(db, async () => {
        const owned = await db.query(OWNED_SEQUENCES_SQL);
        const behind = [];
        for (let start = 0; start < owned.length; start += BATCH) {
            const batch = owned.slice(start, start + BATCH);
            const sql = batch
                .map((sequence, index) => {
                const ascending = !sequence.increment.startsWith('-');
                const extreme = `(SELECT ${ascending ? 'max' : 'min'}(t.${sequence.columnRef})::numeric FROM ${sequence.tableRef} AS t)`;
                return `SELECT ${index} AS index, next::text AS "nextValue", extreme::text AS "maxInColumn",
  extreme ${ascending ? '>=' : '<='} next AS behind
FROM (SELECT CASE WHEN s.is_called THEN s.last_value::numeric + ${quoteLiteral(sequence.increment)}::numeric
                  ELSE s.last_value::numeric END AS next,
             ${extreme} AS extreme
      FROM ${sequence.ref} AS s) AS q`;
            })
                .join('\nUNION ALL\n');
            for (const row of await db.query(sql)) {
                // An empty table has no extreme, so nothing to collide with.
                if (row.maxInColumn === null || !row.behind)
                    continue;
                const { name, column } = batch[row.index];
                behind.push({ name, column, nextValue: row.nextValue, maxInColumn: row.maxInColumn });
            }
        }
        return behind.sort((a, b) => (0,text_order/* compareText */.n6)(a.name, b.name));
    });
}

;// CONCATENATED MODULE: ./src/engines/postgres/database.ts













/** The only module that talks to PostgreSQL over the wire (through `pg`). */
/**
 * XX001 data_corrupted, XX002 index_corrupted: what was read is damaged. A finding about the data
 * (amcheck reports them as such), passed on unchanged, not a failure of the server.
 */
const DATA_CORRUPTED = new Set(['XX001', 'XX002']);
/** How long close() waits for the server to say goodbye before it drops the socket (a frozen server never does). */
const CLOSE_GRACE_MS = 2000;
/** A promise that never settles: what a query on a session Lazarus itself closed turns into. */
const never = () => new Promise(() => undefined);
/** Clients still connecting: a stop drops them too (a connect to a silent server waits out its timeout). */
const connecting = new Set();
/** Set by DatabaseSession.abandonAll: the run is stopping, and a session opened from now on never opens. */
let stopping = false;
/** A database's encoding, LC_COLLATE and LC_CTYPE (DatabaseSession.databaseFacts) as the seam's defaults. */
function asDatabaseDefaults(facts) {
    return { characterSet: facts.encoding, collation: facts.collate, characterType: facts.ctype };
}
/**
 * The session the run hands back, as this engine opened it: PostgreSQL's modules read through
 * their own driver session only (the run holds it as the seam's SeamSession).
 */
function ownSession(session) {
    if (!(session instanceof DatabaseSession))
        throw new Error('The PostgreSQL engine reads through its own sessions');
    return session;
}
/**
 * A session on one PostgreSQL database: the engine's read session (engines/types.ts SeamSession:
 * snapshots, tables, figures, schema, sequences, keys), plus what only PostgreSQL's own modules
 * read through it (savepoints, the snapshot's start, locks, identity).
 */
class DatabaseSession {
    client;
    target;
    role;
    backendPid;
    viaPooler;
    /**
     * How long production statements wait for a lock, and the TCP keepalive timing: one setting per
     * run, from its inputs, shared by every session it opens (the defaults are the inputs' defaults).
     */
    static limits = DEFAULT_FAULT_LIMITS;
    /** Set once Lazarus closes or abandons the session: its pending queries' failures are then not findings. */
    closed = false;
    /** Whether this session's transaction holds production's snapshot (begun or joined, not yet ended). */
    inSnapshot = false;
    /** Every session not yet closed, so that a run that must stop at once can drop them all. */
    static live = new Set();
    /**
     * Drops every open session but `keep`, at once: after a server stopped answering, work still
     * waiting on either server must neither report nor hold the process open.
     */
    static abandonAll(keep = []) {
        stopping = true;
        for (const session of [...DatabaseSession.live])
            if (!keep.includes(session))
                session.abandon();
        for (const client of connecting)
            socketOf(client)?.destroy();
    }
    constructor(client, target, role, 
    /** The server process this session runs in: it must stay the same for the session's settings to hold. */
    backendPid, 
    /** Whether a connection pooler (session pooling) stands between Lazarus and the server. */
    viaPooler) {
        this.client = client;
        this.target = target;
        this.role = role;
        this.backendPid = backendPid;
        this.viaPooler = viaPooler;
    }
    /**
     * Connects as the description says (TLS attempts as libpq makes them), checks
     * target_session_attrs as libpq does, refuses a pooler that does not give the session one
     * server connection of its own, and then applies the session's settings with SET: production
     * read-only with a lock timeout, so Lazarus can neither write to production nor queue behind
     * its traffic for long, and without parallel query (production gives Lazarus `jobs` backends,
     * not `jobs` times the parallel workers, which would also slow the dump they run beside).
     * Settings go in SET statements after connecting, not in the startup packet's `options`,
     * which connection poolers such as PgBouncer refuse.
     */
    static async open(target, role) {
        return DatabaseSession.connect(target, role, (...session) => new DatabaseSession(...session));
    }
    /** Opens a session of the class `make` builds: DatabaseSession, or the clean room's MaintenanceSession. */
    static async connect(target, role, make) {
        const client = await connectClient(target);
        try {
            const { pid, viaPooler } = await withinConnectTimeout(target, client, async () => {
                await checkTargetSessionAttrs(client, target);
                const own = await assertOwnServerConnection(client, target);
                await client.query(sessionSettingsSql(role));
                return own;
            });
            const session = make(client, target, role, pid, viaPooler);
            DatabaseSession.live.add(session);
            return session;
        }
        catch (error) {
            await client.end().catch(() => undefined);
            if (stopping)
                return never();
            throw error;
        }
    }
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    async query(sql, params = []) {
        const result = await this.run(sql, params);
        return result.rows;
    }
    /**
     * Runs one statement through the extended query protocol, which the server refuses to run
     * with more than one statement in it: for SQL written by the user (checks). Also returns the
     * result's columns.
     */
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    async queryExtended(sql, params = []) {
        const config = { text: sql, values: params, queryMode: 'extended' };
        let result;
        try {
            result = await this.client.query(config);
        }
        catch (error) {
            // The check's own failure (its SQL, its timeout) is its answer; a session Lazarus closed gives none.
            if (this.closed)
                return never();
            throw error;
        }
        return {
            rows: result.rows,
            columns: result.fields.map(field => ({ name: field.name, typeId: field.dataTypeID, typeModifier: field.dataTypeModifier }))
        };
    }
    /**
     * Every statement goes through here. A statement on a session Lazarus closed (a cancellation,
     * a server that stopped answering) never settles: its failure is the closing's consequence, and
     * whoever closed the session reports why, once; a "table differs" from it would be false.
     * Otherwise a lost connection or a lock wait becomes an error that names the server.
     */
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    async run(sql, params, what) {
        try {
            return await this.client.query(sql, params);
        }
        catch (error) {
            if (this.closed)
                return never();
            const code = error.code;
            throw this.explain(error, what ?? (code === LOCK_NOT_AVAILABLE ? await this.exclusivelyLocked() : undefined));
        }
    }
    /**
     * Which relations of this database other sessions hold ACCESS EXCLUSIVE locks on (the only mode
     * that blocks reading), asked on a session of its own (this one's transaction may be aborted):
     * "table public.orders", or undefined when that cannot be told.
     */
    async exclusivelyLocked() {
        const held = await this.exclusiveLocks();
        return held.length > 0 ? held.map(lock => `${lock.kind} ${lock.name}`).join(', ') : undefined;
    }
    /**
     * The relations of this database that other sessions hold ACCESS EXCLUSIVE locks on, each as
     * its kind ("table", "materialized view", ...) and quoted name (schema.name, quoted as pg_dump
     * and quote_ident quote). Asked on a session of its own; empty when that cannot be told.
     */
    async exclusiveLocks() {
        try {
            const other = await DatabaseSession.open(this.target, this.role);
            try {
                return await other.query(`SELECT DISTINCT CASE c.relkind WHEN 'm' THEN 'materialized view' WHEN 'v' THEN 'view' WHEN 'S' THEN 'sequence'
             ELSE 'table' END AS kind, pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(c.relname) AS name
           FROM pg_catalog.pg_locks l
           JOIN pg_catalog.pg_class c ON c.oid = l.relation
           JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
           WHERE l.granted AND l.mode = 'AccessExclusiveLock' AND l.pid <> pg_catalog.pg_backend_pid()
             AND l.database = (SELECT oid FROM pg_catalog.pg_database WHERE datname = pg_catalog.current_database())
             AND n.nspname NOT LIKE 'pg\\_temp\\_%'
           ORDER BY 2, 1`);
            }
            finally {
                await other.close();
            }
        }
        catch {
            return [];
        }
    }
    /** The server's side of an error, named: which server, what it was reading, and what to do. Other errors pass unchanged. */
    explain(error, what) {
        const code = error.code;
        const where = `${this.role === 'production' ? 'production' : 'the clean room'} (${describe(this.target)}, '${this.target.inputName}')`;
        if (code === LOCK_NOT_AVAILABLE) {
            return new errors/* UserError */.yo(`Lazarus waited ${DatabaseSession.limits.lockTimeoutSeconds} s for a lock on ${what ? `${what} on ` : ''}${where}: ${(0,errors/* messageOf */.bD)(error)}. ` +
                `Another session holds a lock that blocks reading (ACCESS EXCLUSIVE: ALTER TABLE, TRUNCATE, VACUUM FULL, LOCK TABLE): ` +
                `run Lazarus when no such lock is held, or raise 'lock-timeout-seconds' to wait longer.`);
        }
        if (isConnectionLoss(error)) {
            return new errors/* UserError */.yo(`Lost the connection to ${where}: ${(0,errors/* messageOf */.bD)(error)}. Check that the server stays up and reachable (its log says why the session ended).`);
        }
        if (isEnvironmentSqlState(code) && !DATA_CORRUPTED.has(code)) {
            return new errors/* UserError */.yo(`${where[0].toUpperCase()}${where.slice(1)} failed a query for a reason of its own: ${(0,errors/* messageOf */.bD)(error)} (SQLSTATE ${code}).`);
        }
        return error;
    }
    /**
     * Ends the session. The server gets CLOSE_GRACE_MS to say goodbye; a frozen one never does, so
     * then the socket is dropped, and closing never waits longer than that.
     */
    async close() {
        if (this.closed)
            return;
        this.closed = true;
        DatabaseSession.live.delete(this);
        let timer;
        const grace = new Promise(resolve => (timer = setTimeout(() => resolve('late'), CLOSE_GRACE_MS)));
        const ended = await Promise.race([
            this.client.end().then(() => 'ended', () => 'ended'),
            grace
        ]);
        clearTimeout(timer);
        if (ended === 'late')
            this.abandon();
    }
    /** Drops the connection at once, without a word to the server (which may not be answering). */
    abandon() {
        this.closed = true;
        DatabaseSession.live.delete(this);
        socketOf(this.client)?.destroy();
    }
    /** Answers `SELECT 1`: a live server does so at once, whatever else it is busy with. */
    async ping() {
        await this.client.query('SELECT 1');
    }
    /**
     * Lazarus's sessions on this database (pg_dump's among them: it connects with the same
     * application_name and role) that have waited on a lock longer than `seconds`: what they wait for
     * and which sessions block them. pg_dump sets its own lock_timeout to 0 and bounds only its
     * first LOCK TABLE pass, so a lock met later (a materialized view being refreshed) would hold it
     * for as long as the other transaction lasts.
     */
    async lockWaits(seconds) {
        const { rows } = await this.client.query(`SELECT a.pid,
         coalesce((SELECT pg_catalog.string_agg(DISTINCT CASE WHEN c.oid IS NULL THEN 'a ' || l.locktype || ' lock'
                     ELSE CASE c.relkind WHEN 'm' THEN 'materialized view ' WHEN 'v' THEN 'view ' WHEN 'S' THEN 'sequence '
                       WHEN 'i' THEN 'index ' ELSE 'table ' END
                       || pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(c.relname) END, ', ')
                   FROM pg_catalog.pg_locks l
                   LEFT JOIN pg_catalog.pg_class c ON c.oid = l.relation
                   LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                   WHERE l.pid = a.pid AND NOT l.granted), 'a lock') AS waiting_for,
         pg_catalog.array_to_string(pg_catalog.pg_blocking_pids(a.pid), ', ') AS blockers,
         extract(epoch FROM pg_catalog.now() - a.query_start)::text AS seconds
       FROM pg_catalog.pg_stat_activity a
       WHERE a.datname = pg_catalog.current_database() AND a.usename = current_user AND a.application_name = $2
         AND a.pid <> pg_catalog.pg_backend_pid() AND a.wait_event_type = 'Lock'
         AND a.query_start < pg_catalog.now() - pg_catalog.make_interval(secs => $1)`, [seconds, this.target.applicationName]);
        return rows.map(row => ({ pid: row.pid, waitingFor: row.waiting_for, blockers: row.blockers, seconds: Number(row.seconds) }));
    }
    async serverFacts() {
        const [row] = await this.query("SELECT current_setting('server_version') AS version, current_setting('server_version_num') AS num");
        const num = Number(row.num);
        return { serverVersion: row.version.split(' ')[0], serverVersionNum: num, major: Math.floor(num / 10000) };
    }
    /** Encoding and locale of the connected database, to create a faithful scratch database. */
    async databaseFacts() {
        const [row] = await this.query(`SELECT pg_catalog.pg_encoding_to_char(encoding) AS encoding, datcollate AS collate, datctype AS ctype
       FROM pg_catalog.pg_database WHERE datname = current_database()`);
        return row;
    }
    async settingNames() {
        const rows = await this.query('SELECT name FROM pg_catalog.pg_settings');
        return rows.map(row => row.name);
    }
    /** Pins the settings that make text output identical on both sides. */
    async pinSettings() {
        await this.run(pinSettingsSql());
    }
    /**
     * Opens a read-only repeatable-read transaction and exports its snapshot: pg_dump run with
     * `--snapshot` then sees exactly the data this session reads figures of, however busy production is.
     */
    async beginSnapshot() {
        await this.run('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
        this.inSnapshot = true;
        await this.assertSameServerConnection();
        const [row] = await this.query('SELECT pg_catalog.pg_export_snapshot() AS snapshot');
        return row.snapshot;
    }
    /**
     * Joins a snapshot another session exported, so several sessions can read production's figures
     * in parallel and all see exactly what pg_dump sees.
     */
    async joinSnapshot(snapshotId) {
        await this.run('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
        this.inSnapshot = true;
        await this.run(`SET TRANSACTION SNAPSHOT ${quoteLiteral(snapshotId)}`);
        await this.assertSameServerConnection();
    }
    /** Ends the snapshot's read-only transaction (begun or joined): it only read, so there is nothing to keep. */
    async endSnapshot() {
        await this.run('COMMIT');
        this.inSnapshot = false;
    }
    /**
     * Inside the snapshot transaction: the session still runs in the server process it opened
     * with, so the settings it applied then hold now. A pooler that moved it (transaction pooling
     * the opening probe did not catch) stops the run here, before anything is read.
     */
    async assertSameServerConnection() {
        const [row] = await this.query('SELECT pg_catalog.pg_backend_pid() AS pid');
        if (row.pid !== this.backendPid)
            throw transactionPoolingError(this.target, `moved from server process ${this.backendPid} to ${row.pid}`);
    }
    /**
     * Runs `work` under a savepoint, so that a failing statement inside production's snapshot
     * transaction rolls back to here instead of aborting the snapshot.
     */
    async withSavepoint(work) {
        await this.run('SAVEPOINT lazarus_work');
        try {
            const result = await work();
            await this.run('RELEASE SAVEPOINT lazarus_work');
            return result;
        }
        catch (error) {
            await this.run('ROLLBACK TO SAVEPOINT lazarus_work');
            throw error;
        }
    }
    async listTables() {
        const rows = await this.query(LIST_TABLES_SQL);
        return rows
            .map(row => ({ ...row, columns: [...row.columns].sort((a, b) => (0,text_order/* compareText */.n6)(a.name, b.name)) }))
            .sort(text_order/* bySchemaAndName */.lz);
    }
    /**
     * Reads one table's figures. Inside a transaction a failed statement would abort it (and with
     * it the snapshot), so each read runs under a savepoint there (see readAndForget).
     */
    async tableFigures(table, withChecksum, inTransaction) {
        if (!table.populated)
            return { rows: 0, checksum: withChecksum ? 'not populated' : undefined };
        try {
            const [row] = await this.readFigures(withChecksum ? checksumSql(table) : countSql(table), inTransaction, [table], `table ${quoteIdent(table.schema)}.${quoteIdent(table.name)}`);
            return figuresOf(row, withChecksum);
        }
        catch (error) {
            // A lock another session holds, a lost server: the table was not read, which is no difference.
            if (error instanceof errors/* UserError */.yo)
                throw error;
            return { error: (0,errors/* messageOf */.bD)(error) };
        }
    }
    /**
     * Reads the figures of several tables in one statement (a UNION ALL of their queries): for many
     * small tables the round trips, not the reading, would take the time. Should the statement
     * fail, each table is read on its own, so the error lands on the table that has it.
     */
    async tablesFigures(tables, withChecksum, inTransaction) {
        const readable = tables.map((table, index) => ({ table, index })).filter(entry => entry.table.populated);
        if (readable.length < 2)
            return Promise.all(tables.map(table => this.tableFigures(table, withChecksum, inTransaction)));
        const sql = readable
            .map(({ table, index }) => `SELECT ${index} AS i, q.* FROM (${withChecksum ? checksumSql(table) : countSql(table)}) AS q`)
            .join('\nUNION ALL\n');
        let rows;
        try {
            rows = await this.readFigures(sql, inTransaction, readable.map(entry => entry.table));
        }
        catch (error) {
            // A lock or a lost server would fail each table's own read too: the run's error, at once.
            if (error instanceof errors/* UserError */.yo)
                throw error;
            const figures = [];
            for (const table of tables)
                figures.push(await this.tableFigures(table, withChecksum, inTransaction));
            return figures;
        }
        const byIndex = new Map(rows.map(row => [Number(row.i), row]));
        return tables.map((table, index) => table.populated
            ? figuresOf(byIndex.get(index), withChecksum)
            : { rows: 0, checksum: withChecksum ? 'not populated' : undefined });
    }
    /**
     * Runs a figures query (no parameters) on `tables`; in a transaction, as readAndForget does,
     * with the savepoint sent along in the same message: two round trips in all. Outside one (the
     * restored copy), so that it sees every row of a table that forces row-level security.
     */
    async readFigures(sql, inTransaction, tables, what) {
        if (!inTransaction)
            return readingEveryRow(this, tables, async () => (await this.run(sql, undefined, what)).rows);
        try {
            const results = (await this.run(`SAVEPOINT lazarus_read;\n${sql}`, undefined, what));
            return results[1].rows;
        }
        finally {
            await this.run('ROLLBACK TO SAVEPOINT lazarus_read; RELEASE SAVEPOINT lazarus_read');
        }
    }
    /**
     * Runs a read inside the snapshot's transaction under a savepoint that is then rolled back, not
     * released: a failed statement cannot abort the snapshot, and the locks the read took (each
     * table and, for the planner, each of its indexes) go with the savepoint instead of piling up
     * until the end. Otherwise a schema of many thousand tables, read in one transaction, would run
     * past production's lock table (max_locks_per_transaction, "out of shared memory"). The
     * transaction's snapshot stays as it was: only a read is undone.
     */
    async readAndForget(read) {
        await this.run('SAVEPOINT lazarus_read');
        try {
            return await read();
        }
        finally {
            // Rolled back and released at once: savepoints do not stack up, one round trip.
            await this.run('ROLLBACK TO SAVEPOINT lazarus_read; RELEASE SAVEPOINT lazarus_read');
        }
    }
    /** Whether standard_conforming_strings is on in this session (pg_dump's session starts with the same defaults). */
    async standardConformingStrings() {
        const [row] = await this.query("SELECT current_setting('standard_conforming_strings') = 'on' AS on");
        return row.on;
    }
    /** The start of the current transaction: inside a snapshot, the instant it was taken. */
    async transactionStart() {
        const [row] = await this.query('SELECT pg_catalog.now() AS at');
        return row.at;
    }
    /** The size of the connected database on disk, in bytes. */
    async databaseSize() {
        const [row] = await this.query('SELECT pg_catalog.pg_database_size(current_database())::text AS bytes');
        return Number(row.bytes);
    }
    /**
     * The server's version and what tells it apart from every other server, as the seam names
     * them: the system identifier (when the role may read pg_control_system()), the postmaster's
     * start time and the port, as guards.ts compares them.
     */
    async facts() {
        const [server, identity] = await Promise.all([this.serverFacts(), this.clusterIdentity()]);
        return {
            product: 'PostgreSQL',
            version: server.serverVersion,
            major: server.major,
            instance: {
                ...(identity.systemIdentifier !== undefined ? { systemIdentifier: identity.systemIdentifier } : {}),
                startedAt: identity.startedAt,
                port: identity.port
            }
        };
    }
    /** The encoding, LC_COLLATE and LC_CTYPE (which PostgreSQL keeps apart from the collation). */
    async databaseDefaults() {
        return asDatabaseDefaults(await this.databaseFacts());
    }
    async collations() {
        const rows = await this.query('SELECT collname AS name FROM pg_catalog.pg_collation ORDER BY 1');
        return rows.map(row => row.name);
    }
    /** The schema fingerprint (schema-fingerprint.ts): inside production's snapshot, the schema pg_dump saw. */
    readSchema() {
        return readSchemaFingerprint(this);
    }
    /** Every sequence's value as it stands now (sequences are not transactional). */
    readCounters() {
        // Reading a sequence locks it until the transaction ends: inside the snapshot, forgotten with the read.
        return this.inSnapshot ? this.readAndForget(() => readSequenceValues(this)) : readSequenceValues(this);
    }
    /** Sequences whose next value their column already holds. */
    countersBehindData() {
        return findSequencesBehindData(this);
    }
    /** Each table's primary key, or a unique index over NOT NULL columns, by tableKey. */
    primaryKeys() {
        return readPrimaryKeys(this);
    }
    /** An exported snapshot takes no global lock: pg_dump imports it, and writers never wait on it. */
    async releaseSnapshotLock() {
        return undefined;
    }
    /** Every PostgreSQL table is read through MVCC: the snapshot isolates them all. */
    outsideSnapshot() {
        return [];
    }
    /**
     * What identifies the server process: its system identifier where this role may read it, and
     * its start time, which two running clusters practically never share.
     */
    async clusterIdentity() {
        const [row] = await this.query(`SELECT ${CLUSTER_STARTED_AT_SQL} AS started_at, pg_catalog.current_setting('port') AS port, ` +
            // pg_control_system() came with 9.6: an older server (refused by name once its version is
            // read, serverChecks.unsupported) must not fail here first on a function it lacks. CASE,
            // not AND: only CASE promises not to evaluate the privilege check first.
            `CASE WHEN pg_catalog.current_setting('server_version_num')::int >= 90600 ` +
            `THEN pg_catalog.has_function_privilege('pg_catalog.pg_control_system()', 'EXECUTE') ELSE false END AS may_read_control`);
        let systemIdentifier;
        // Asked first rather than caught: inside production's snapshot (the schema comparison asks
        // both servers' majors through facts()) a refused call would abort the snapshot's transaction.
        if (row.may_read_control)
            try {
                const [control] = await this.query('SELECT system_identifier::text AS id FROM pg_catalog.pg_control_system()');
                systemIdentifier = control.id;
            }
            catch {
                // Refused all the same (a server that hides it); the start time still tells clusters apart.
            }
        return { systemIdentifier, startedAt: row.started_at, port: row.port };
    }
}
function figuresOf(row, withChecksum) {
    return { rows: Number(row.rows), checksum: withChecksum ? combineChecksum(row.rows, row.sum ?? '0') : undefined };
}
/** The socket under a pg client (pg does not expose it): dropping it ends the connection without a word. */
function socketOf(client) {
    return client.connection?.stream;
}
/** A connection the server or the network ended: pg reports these without a SQLSTATE, or as shutdown (57P0x) or 08xxx. */
function isConnectionLoss(error) {
    const code = error.code ?? '';
    if (/^(08|57P0)/.test(code))
        return true;
    if (/^[0-9A-Z]{5}$/.test(code))
        return false;
    return /Connection terminated|connection ended|not queryable|ECONNRESET|EPIPE|ETIMEDOUT|socket hang up|closed the connection/i.test((0,errors/* messageOf */.bD)(error));
}
/** One short string: the row count and the hash sum modulo 2^64, both in hex. */
function combineChecksum(rows, sum) {
    return `${BigInt(rows).toString(16)}-${BigInt.asUintN(64, BigInt(sum)).toString(16)}`;
}
/**
 * Opens one connection as the description says, making libpq's TLS attempts in libpq's order:
 * the next attempt (prefer: unencrypted after TLS; allow: TLS after unencrypted) is made only
 * when the server answered the first one, as libpq does. Only user, database, application_name
 * and the user's own `options` go in the startup packet: poolers refuse anything else there.
 */
async function connectClient(target) {
    let lastError;
    for (const ssl of connectAttempts(target)) {
        if (stopping)
            return never();
        // A vanished host or a cut network surfaces as an error instead of a wait without end: the
        // user's keepalives_idle, or a third of server-timeout-seconds.
        const idle = target.tuning.keepalives_idle ?? Math.max(1, Math.floor(DatabaseSession.limits.serverTimeoutSeconds / 3));
        const client = new esm/* default.Client */.Ay.Client({
            host: target.host,
            port: target.port,
            database: target.database,
            user: target.user,
            password: target.password ?? '',
            application_name: target.applicationName,
            options: target.options,
            ssl,
            connectionTimeoutMillis: target.connectTimeoutSeconds * 1000,
            keepAlive: target.tuning.keepalives !== '0',
            keepAliveInitialDelayMillis: Number(idle) * 1000
        });
        // An idle client whose server goes away emits 'error'; without a listener that would crash the process.
        client.on('error', () => undefined);
        connecting.add(client);
        try {
            await client.connect();
            return client;
        }
        catch (error) {
            await client.end().catch(() => undefined);
            if (stopping)
                return never();
            lastError = error;
            if (!serverAnswered(error))
                break;
        }
        finally {
            connecting.delete(client);
        }
    }
    throw connectionError(target, lastError);
}
/**
 * Runs a new connection's setup (its checks and SET statements) within the connect timeout, as
 * libpq bounds its own connection setup: a server that froze right after accepting the
 * connection, before the run's probes watch it, fails with the timeout instead of a wait without
 * end. The connection is dropped then.
 */
async function withinConnectTimeout(target, client, setup) {
    let timer;
    const timedOut = new Promise((_, reject) => {
        timer = setTimeout(() => {
            socketOf(client)?.destroy();
            reject(new errors/* UserError */.yo(`The server at ${target.host}:${target.port} ('${target.inputName}') accepted the connection but answered nothing ` +
                `within ${target.connectTimeoutSeconds} s: check that it is not overloaded or stopped, then run again.`));
        }, target.connectTimeoutSeconds * 1000);
    });
    try {
        return await Promise.race([setup(), timedOut]);
    }
    finally {
        clearTimeout(timer);
    }
}
/** Network failures end the attempts (libpq does not retry them); anything the server said allows the next. */
function serverAnswered(error) {
    const code = error.code ?? '';
    return !NETWORK_ERRORS.has(code) && !/timeout/i.test((0,errors/* messageOf */.bD)(error));
}
const NETWORK_ERRORS = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'ENOENT']);
/** target_session_attrs, checked as libpq checks it (one host: the server is that kind, or the connection fails). */
async function checkTargetSessionAttrs(client, target) {
    const attrs = target.targetSessionAttrs;
    if (!attrs || attrs === 'any' || attrs === 'prefer-standby')
        return;
    const { rows } = await client.query(`SELECT pg_catalog.pg_is_in_recovery() AS standby,
            pg_catalog.current_setting('default_transaction_read_only') = 'on' AS read_only`);
    const { standby, read_only: readOnlyDefault } = rows[0];
    const readOnly = standby || readOnlyDefault;
    const fits = { 'read-write': !readOnly, 'read-only': readOnly, primary: !standby, standby }[attrs];
    if (!fits) {
        const is = standby ? 'a standby' : readOnly ? 'a read-only primary' : 'a read-write primary';
        throw new errors/* UserError */.yo(`The server at ${describe(target)} is ${is}, but '${target.inputName}' has target_session_attrs=${attrs}: ` +
            `point the URI at the right server or change target_session_attrs.`);
    }
}
/** How many times a pooled connection is probed for transaction pooling. */
const POOLING_PROBES = 3;
/**
 * Returns the session's server process id after making sure the session has a server
 * connection of its own. A direct connection (or a plain TCP forward) passes on the server's
 * cancel key, whose process id is the backend's; a connection pooler answers the startup itself
 * with a key of its own. Behind a pooler, Lazarus probes whether it pools sessions (one server
 * connection per client, where SET and an exported snapshot hold) or transactions or statements
 * (the server connection changes hands between transactions, so session settings, pg_dump's
 * among them, would be lost or land in other clients' sessions): a second client that is handed
 * this session's server process while this one idles, or this session finding itself in another
 * process, prove transaction pooling. Session pooling passes every probe.
 */
async function assertOwnServerConnection(client, target) {
    const pid = await backendPid(client);
    if (client.processID === pid)
        return { pid, viaPooler: false };
    const other = await connectClient(target);
    try {
        for (let round = 0; round < POOLING_PROBES; round++) {
            const before = await backendPid(client);
            try {
                await other.query('BEGIN');
            }
            catch (error) {
                if (/statement pooling/i.test((0,errors/* messageOf */.bD)(error)))
                    throw transactionPoolingError(target, 'it pools statements');
                throw error;
            }
            const others = await backendPid(other);
            const after = await backendPid(client);
            await other.query('ROLLBACK');
            if (others === before) {
                throw transactionPoolingError(target, `a second session was handed server process ${before} while the first was idle`);
            }
            if (after !== before)
                throw transactionPoolingError(target, `a session moved from server process ${before} to ${after}`);
        }
    }
    finally {
        await other.end().catch(() => undefined);
    }
    return { pid: await backendPid(client), viaPooler: true };
}
async function backendPid(client) {
    const { rows } = await client.query('SELECT pg_catalog.pg_backend_pid() AS pid');
    return rows[0].pid;
}
function transactionPoolingError(target, evidence) {
    return new errors/* UserError */.yo(`The connection pooler at ${target.host}:${target.port} ('${target.inputName}') does not keep a client on one server ` +
        `connection (${evidence}): in transaction or statement pooling, session settings and the exported snapshot that ` +
        `pg_dump and Lazarus share do not hold. Use a pool in session mode (PgBouncer: pool_mode = session) or connect to ` +
        `the server directly.`);
}
/**
 * Timeouts a role or database may set (`ALTER ROLE app SET statement_timeout = '30s'` is common on
 * production) that would cancel a checksum of a large table, or end the snapshot's session while
 * it waits for pg_dump, and so turn a faithful backup into a mismatch or an error. pg_dump turns
 * the same ones off for its own session. Set through pg_settings: each exists from some major on
 * (idle_session_timeout 14, transaction_timeout 17). Lazarus bounds its own waits instead (the
 * lock timeout below, and each check's statement timeout).
 */
const UNBOUNDED_TIMEOUTS_SQL = `SELECT pg_catalog.set_config(name, '0', false) FROM pg_catalog.pg_settings
WHERE name IN ('statement_timeout', 'idle_in_transaction_session_timeout', 'idle_session_timeout', 'transaction_timeout')`;
/** Statements that give a session of this role its settings. */
function sessionSettingsSql(role) {
    if (role !== 'production')
        return UNBOUNDED_TIMEOUTS_SQL;
    return [
        UNBOUNDED_TIMEOUTS_SQL,
        'SET default_transaction_read_only = on',
        `SET lock_timeout = ${quoteLiteral(`${DatabaseSession.limits.lockTimeoutSeconds}s`)}`,
        'SET max_parallel_workers_per_gather = 0'
    ].join('; ');
}
/** node's codes for a server certificate that failed verification. */
const CERTIFICATE_ERRORS = /CERT|SELF_SIGNED|UNABLE_TO_(GET_ISSUER|VERIFY)|ERR_TLS_CERT_ALTNAME_INVALID|HOSTNAME_MISMATCH|UNABLE_TO_GET_CRL|CRL/;
/** Turns a failed connection into a message that says what to fix. */
function connectionError(target, error) {
    const code = error.code;
    const message = (0,errors/* messageOf */.bD)(error);
    const where = `${target.host}:${target.port}`;
    const input = `'${target.inputName}'`;
    const passwordInput = `'${target.inputName.replace(/-url$/, '-password')}'`;
    const user = target.user ?? '';
    switch (code) {
        case '28P01':
            return new errors/* UserError */.yo(`Password authentication failed for user '${user}' at ${where} (${input}): check the password ` +
                `(in ${passwordInput}, the URI or PGPASSWORD) and the user name.`);
        case '28000':
            return new errors/* UserError */.yo(`The server at ${where} refused user '${user}' (${input}): ${message}. Check the user name and the server's pg_hba.conf.`);
        case '3D000':
            return new errors/* UserError */.yo(`Database '${target.database}' does not exist at ${where}: fix the database name in ${input}.`);
        case 'ECONNREFUSED':
            return new errors/* UserError */.yo(`Connection refused at ${where} (${input}): check the host and port, and that the server is running.`);
        case 'ENOTFOUND':
        case 'EAI_AGAIN':
            return new errors/* UserError */.yo(`Host '${target.host}' in ${input} could not be resolved: check the host name.`);
        case 'EHOSTUNREACH':
        case 'ENETUNREACH':
            return new errors/* UserError */.yo(`No route to ${where} (${input}): check the host, and that the runner can reach its network.`);
        case '08P01':
            if (/unsupported startup parameter/i.test(message)) {
                return new errors/* UserError */.yo(`The server at ${where} (${input}) refused the connection: ${message}. A connection pooler (PgBouncer) refuses ` +
                    `startup parameters it does not know: remove that parameter from the URI, or list it in the pooler's ignore_startup_parameters.`);
            }
    }
    if (CERTIFICATE_ERRORS.test(code ?? '')) {
        return new errors/* UserError */.yo(`The server's certificate at ${where} failed verification under sslmode=${target.tls.mode} (${input}): ${message}. ` +
            `Check sslrootcert (the CA that signed the server's certificate)${target.tls.mode === 'verify-full' ? ' and that the certificate names the host' : ''}, ` +
            `or choose an sslmode that checks less.`);
    }
    if (/does not support SSL/i.test(message)) {
        return new errors/* UserError */.yo(`The server at ${where} does not accept TLS connections, but ${input} has sslmode=${target.tls.mode}: ` +
            `enable ssl on the server, or use sslmode=prefer or disable.`);
    }
    if (/password must be a (non-empty )?string/i.test(message)) {
        return new errors/* UserError */.yo(`The server at ${where} asks user '${user}' for a password and none was given: set ${passwordInput}, ` +
            `put the password in the URI (${input}), or set PGPASSWORD.`);
    }
    if (/timeout/i.test(message)) {
        return new errors/* UserError */.yo(`No answer from ${where} within ${target.connectTimeoutSeconds} s (${input}): check the host, the port, ` +
            `and that a firewall lets the runner through.`);
    }
    if (error.severity) {
        // The server (or a pooler in front of it) answered: something listens there, and said why it refused.
        return new errors/* UserError */.yo(`The server at ${where} refused the connection (${input}): ${message}.`);
    }
    if (/SSL|TLS/i.test(message)) {
        return new errors/* UserError */.yo(`Could not set up TLS with ${where} under sslmode=${target.tls.mode} (${input}): ${message}.`);
    }
    return new errors/* UserError */.yo(`Could not connect to ${where} (${input}): ${message}. Check that a PostgreSQL server listens at that host and port.`);
}

;// CONCATENATED MODULE: ./src/engines/postgres/dump-encoding.ts
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
const DECODER_LABELS = {
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
};
/**
 * Text read from the dump as bytes (one latin1 character per byte), decoded as the dump's
 * `encoding` (a PostgreSQL encoding name). Bytes that do not decode stay as they are.
 */
function decodeDumpText(bytes, encoding) {
    // Nothing but ASCII, or characters that are not bytes: nothing to decode.
    if (!/[\x80-\xff]/.test(bytes) || /[^\x00-\xff]/.test(bytes))
        return bytes;
    const normalized = encoding.toUpperCase().replace(/-/g, '_');
    if (normalized === 'LATIN1')
        return bytes;
    const label = DECODER_LABELS[normalized] ?? (normalized === 'SQL_ASCII' ? 'utf-8' : undefined);
    if (!label)
        return bytes;
    try {
        return new TextDecoder(label, { fatal: true }).decode(Buffer.from(bytes, 'latin1'));
    }
    catch {
        return bytes;
    }
}
/**
 * SQL that spells each name of `$1` (text[]) as bytes in the database encoding, which is the
 * dump's: `name` and `bytes` (bytea) per row. convert_to with the database's own encoding (or
 * SQL_ASCII) converts nothing: the bytes are the ones the catalog stores.
 */
const NAME_BYTES_SQL = `
SELECT n AS name, pg_catalog.convert_to(n, pg_catalog.current_setting('server_encoding')) AS bytes
FROM pg_catalog.unnest($1::pg_catalog.text[]) AS n`;
/** Names whose bytes differ from their characters (anything but ASCII), as latin1 strings of their bytes. */
function dumpSpellings(rows) {
    const spellings = new Map();
    for (const row of rows) {
        const bytes = row.bytes.toString('latin1');
        if (bytes !== row.name)
            spellings.set(row.name, bytes);
    }
    return spellings;
}

;// CONCATENATED MODULE: ./src/engines/postgres/drill-large-object.ts
/**
 * The `mutate-large-object` drill: changes one byte of a large object's data in a copy of the
 * dump. A plain dump writes each object's data as `lo_open('OID', ...)` followed by `lowrite`
 * calls of hex-encoded bytea; the operator flips the last hex digit of the first lowrite of its
 * target, which still restores and leaves every table as it was. Pure, but for the catalog read.
 */
/** A large object the drill can corrupt: one holding at least one byte (an empty one has no lowrite). */
const FILLED_LARGE_OBJECT_SQL = `
SELECT m.oid::text AS oid FROM pg_catalog.pg_largeobject_metadata m
WHERE pg_catalog.length(pg_catalog.lo_get(m.oid, 0, 1)) > 0
ORDER BY m.oid LIMIT 1`;
/** The lowest OID of a non-empty large object in the snapshot, or undefined when there is none. */
async function readFilledLargeObject(db) {
    const [row] = await db.query(FILLED_LARGE_OBJECT_SQL);
    return row?.oid;
}
const LO_OPEN = /^SELECT pg_catalog\.lo_open\('(\d+)', \d+\);$/;
const LOWRITE = /^(SELECT pg_catalog\.lowrite\(\d+, '\\x[0-9a-f]*)([0-9a-f])('\);)$/;
/** Flips the last hex digit of the first lowrite after `lo_open('oid', ...)`. */
function largeObjectRewriter(oid) {
    let open = false;
    let evidence;
    return {
        push(line) {
            if (evidence !== undefined)
                return [line];
            const opened = LO_OPEN.exec(line);
            if (opened) {
                open = opened[1] === oid;
                return [line];
            }
            const write = open ? LOWRITE.exec(line) : null;
            if (!write)
                return [line];
            const digit = write[2];
            const flipped = digit === 'f' ? 'e' : (parseInt(digit, 16) + 1).toString(16);
            evidence = `large object ${oid}: a byte of its data changed (hex digit ${digit} to ${flipped})`;
            return [`${write[1]}${flipped}${write[3]}`];
        },
        result: () => (evidence === undefined ? undefined : { evidence })
    };
}

;// CONCATENATED MODULE: ./src/engines/postgres/drill-catalog.ts





/**
 * What the drill reads from production's catalog to aim its operators where the corrupted copy
 * still restores. Run it inside the dump's snapshot, so it describes exactly the dumped schema.
 * Works on PostgreSQL 12 and later (generated columns, partition catalogs).
 */
// Same relations as the comparison reads: no system schemas, nothing an extension owns (pg_dump skips those).
const drill_catalog_USER_RELATION = (alias) => `EXISTS (SELECT 1 FROM pg_catalog.pg_namespace n
  WHERE n.oid = ${alias}.relnamespace AND ${userRelationSql(alias, 'n')})`;
/**
 * Every ordinary table and partition: columns (with NOT NULL and the statistics' NULL fraction),
 * unique indexes with every column they use (key, expression and predicate columns, the last
 * two from pg_depend), constraints, partition keys of all partitioned ancestors, the foreign
 * keys pointing at the table or an ancestor, and `derivedFrom`: the columns that a generated
 * column's expression or an expression or partial index reads (pg_depend), whose values the
 * restore computes with and may reject (a plain index takes any value its column holds). `partitionKeyExpression`: an ancestor partitions by
 * an expression, whose columns the catalog does not list.
 */
const DRILL_TABLES_SQL = `
WITH RECURSIVE ancestry(relid, ancestor) AS (
  SELECT inhrelid, inhparent FROM pg_catalog.pg_inherits
  UNION
  SELECT a.relid, i.inhparent FROM ancestry a JOIN pg_catalog.pg_inherits i ON i.inhrelid = a.ancestor
)
SELECT n.nspname AS schema, c.relname AS name, c.relispartition AS partition,
  coalesce((SELECT json_agg(json_build_object('name', a.attname, 'type', t.typname, 'typtype', t.typtype,
                                              'typmod', a.atttypmod, 'generated', a.attgenerated <> '',
                                              'notNull', a.attnotnull,
                                              'nullFraction', (SELECT s.null_frac FROM pg_catalog.pg_stats s
                                                               WHERE s.schemaname = n.nspname AND s.tablename = c.relname
                                                                 AND s.attname = a.attname AND NOT s.inherited))
                            ORDER BY a.attnum)
            FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
            WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped), '[]') AS columns,
  coalesce((SELECT json_agg(json_build_object('primary', i.indisprimary, 'expression', i.indexprs IS NOT NULL,
              'partial', i.indpred IS NOT NULL,
              'columns', coalesce((SELECT json_agg(a.attname ORDER BY a.attnum) FROM pg_catalog.pg_attribute a
                                   WHERE a.attrelid = c.oid AND a.attnum > 0
                                     AND (a.attnum = ANY (i.indkey)
                                          OR EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                                                     WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = i.indexrelid
                                                       AND d.refclassid = 'pg_catalog.pg_class'::regclass
                                                       AND d.refobjid = c.oid AND d.refobjsubid = a.attnum))), '[]')))
            FROM pg_catalog.pg_index i WHERE i.indrelid = c.oid AND i.indisunique), '[]') AS "uniqueIndexes",
  coalesce((SELECT json_agg(json_build_object('type', co.contype,
              'columns', coalesce((SELECT json_agg(a.attname) FROM pg_catalog.pg_attribute a
                                   WHERE a.attrelid = c.oid AND a.attnum = ANY (co.conkey)), '[]')))
            FROM pg_catalog.pg_constraint co WHERE co.conrelid = c.oid AND co.contype IN ('f', 'c', 'x')), '[]') AS constraints,
  coalesce((SELECT json_agg(DISTINCT pa.attname)
            FROM ancestry an
            JOIN pg_catalog.pg_partitioned_table pt ON pt.partrelid = an.ancestor
            CROSS JOIN LATERAL unnest(pt.partattrs::int2[]) AS key(attnum)
            JOIN pg_catalog.pg_attribute pa ON pa.attrelid = pt.partrelid AND pa.attnum = key.attnum
            WHERE an.relid = c.oid), '[]') AS "partitionKey",
  coalesce((SELECT json_agg(DISTINCT a.attname)
            FROM pg_catalog.pg_depend d
            JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum = d.refobjsubid
            WHERE d.refclassid = 'pg_catalog.pg_class'::regclass AND d.refobjid = c.oid AND d.refobjsubid > 0
              -- A generated column depends on the columns it reads (its own, objsubid), or through its default.
              AND ((d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = c.oid AND d.objsubid > 0
                    AND EXISTS (SELECT 1 FROM pg_catalog.pg_attribute g
                                WHERE g.attrelid = c.oid AND g.attnum = d.objsubid AND g.attgenerated <> ''))
                   OR (d.classid = 'pg_catalog.pg_attrdef'::regclass
                    AND EXISTS (SELECT 1 FROM pg_catalog.pg_attrdef ad
                                JOIN pg_catalog.pg_attribute g ON g.attrelid = ad.adrelid AND g.attnum = ad.adnum
                                WHERE ad.oid = d.objid AND g.attgenerated <> '' AND g.attnum <> a.attnum))
                   OR (d.classid = 'pg_catalog.pg_class'::regclass
                       AND d.objid IN (SELECT i.indexrelid FROM pg_catalog.pg_index i WHERE i.indrelid = c.oid
                                         AND (i.indexprs IS NOT NULL OR i.indpred IS NOT NULL))))), '[]')
    AS "derivedFrom",
  EXISTS (SELECT 1 FROM ancestry an JOIN pg_catalog.pg_partitioned_table pt ON pt.partrelid = an.ancestor
          WHERE an.relid = c.oid AND (pt.partexprs IS NOT NULL OR 0 = ANY (pt.partattrs::int2[]))) AS "partitionKeyExpression",
  coalesce((SELECT json_agg(DISTINCT format('%I.%I.%I', fn.nspname, fc.relname, f.conname))
            FROM pg_catalog.pg_constraint f
            JOIN pg_catalog.pg_class fc ON fc.oid = f.conrelid
            JOIN pg_catalog.pg_namespace fn ON fn.oid = fc.relnamespace
            WHERE f.contype = 'f'
              AND (f.confrelid = c.oid OR f.confrelid IN (SELECT an.ancestor FROM ancestry an WHERE an.relid = c.oid))), '[]')
    AS "referencedBy"
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'r' AND ${drill_catalog_USER_RELATION('c')}
`;
/**
 * Every valid index of a table, partitioned table or materialized view, with what else the dump
 * says about it: the constraint it backs, a foreign key that needs it, partition attachments,
 * CLUSTER ON, REPLICA IDENTITY, a comment, per-column statistics targets, extension dependencies.
 */
const DRILL_INDEXES_SQL = `
SELECT n.nspname AS schema, t.relname AS table, ic.relname AS name, i.indisunique AS unique,
  EXISTS (SELECT 1 FROM pg_catalog.pg_constraint co
          WHERE co.conindid = i.indexrelid AND co.conrelid = i.indrelid AND co.contype IN ('p', 'u', 'x')) AS "backsConstraint",
  EXISTS (SELECT 1 FROM pg_catalog.pg_constraint co WHERE co.conindid = i.indexrelid AND co.contype = 'f') AS "usedByForeignKey",
  (ic.relkind = 'I' OR ic.relispartition) AS partitioned,
  (i.indisclustered OR i.indisreplident
   OR EXISTS (SELECT 1 FROM pg_catalog.pg_description d
              WHERE d.classoid = 'pg_catalog.pg_class'::regclass AND d.objoid = i.indexrelid)
   OR EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a WHERE a.attrelid = i.indexrelid AND coalesce(a.attstattarget, -1) >= 0)
   OR EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
              WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = i.indexrelid AND d.deptype IN ('e', 'x')))
    AS "namedElsewhere"
FROM pg_catalog.pg_index i
JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
JOIN pg_catalog.pg_class t ON t.oid = i.indrelid
JOIN pg_catalog.pg_namespace n ON n.oid = t.relnamespace
WHERE t.relkind IN ('r', 'p', 'm') AND i.indisvalid AND ${drill_catalog_USER_RELATION('t')}
`;
/**
 * Every primary key, unique, foreign-key, check and exclusion constraint of a table. `separate`:
 * pg_dump writes it as an ALTER TABLE of its own (validated checks go inside CREATE TABLE).
 */
const DRILL_CONSTRAINTS_SQL = `
SELECT n.nspname AS schema, t.relname AS table, co.conname AS name, co.contype AS type,
  co.conislocal AS local,
  (co.contype <> 'c' OR NOT co.convalidated) AS separate,
  (t.relkind = 'p' OR t.relispartition
   OR EXISTS (SELECT 1 FROM pg_catalog.pg_inherits h WHERE h.inhrelid = t.oid OR h.inhparent = t.oid)) AS "inTree",
  (co.contype IN ('p', 'u') AND EXISTS (SELECT 1 FROM pg_catalog.pg_constraint f
                                        WHERE f.contype = 'f' AND f.conindid = co.conindid)) AS "usedByForeignKey",
  (EXISTS (SELECT 1 FROM pg_catalog.pg_description d
           WHERE d.classoid = 'pg_catalog.pg_constraint'::regclass AND d.objoid = co.oid)
   OR (co.contype IN ('p', 'u', 'x') AND EXISTS (SELECT 1 FROM pg_catalog.pg_index i
                                                 WHERE i.indexrelid = co.conindid AND (i.indisclustered OR i.indisreplident))))
    AS "namedElsewhere"
FROM pg_catalog.pg_constraint co
JOIN pg_catalog.pg_class t ON t.oid = co.conrelid
JOIN pg_catalog.pg_namespace n ON n.oid = t.relnamespace
WHERE co.contype IN ('c', 'f', 'p', 'u', 'x') AND t.relkind IN ('r', 'p') AND ${drill_catalog_USER_RELATION('t')}
`;
/**
 * Every sequence with its start and last value (NULL when never used, or when this role may not
 * read it) and the table whose serial or identity column owns it. Sequences ignore snapshots, so
 * the last value is today's, not the dump's: the drill only uses it to tell used from unused, and
 * sequence-reset reports the value it finds in the dump.
 */
const DRILL_SEQUENCES_SQL = `
SELECT n.nspname AS schema, c.relname AS name, s.seqstart::text AS "startValue",
  CASE WHEN pg_catalog.has_sequence_privilege(c.oid, 'SELECT,USAGE')
       THEN pg_catalog.pg_sequence_last_value(c.oid)::text END AS "lastValue",
  owner.schema AS "ownerSchema", owner.name AS "ownerName"
FROM pg_catalog.pg_sequence s
JOIN pg_catalog.pg_class c ON c.oid = s.seqrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN LATERAL (
  SELECT tn.nspname AS schema, tc.relname AS name
  FROM pg_catalog.pg_depend d
  JOIN pg_catalog.pg_class tc ON tc.oid = d.refobjid
  JOIN pg_catalog.pg_namespace tn ON tn.oid = tc.relnamespace
  WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = c.oid
    AND d.refclassid = 'pg_catalog.pg_class'::regclass AND d.refobjsubid > 0 AND d.deptype IN ('a', 'i')
  LIMIT 1
) AS owner ON true
WHERE ${drill_catalog_USER_RELATION('c')}
`;
/**
 * Functions and procedures whose body the drill may change and the copy still restore: SQL and
 * PL/pgSQL bodies given as a string (pg_dump turns check_function_bodies off, so any string
 * restores; a PostgreSQL 14+ SQL-standard body is parsed at creation and is left alone), that no
 * other object depends on: a check, default, generated column, index or view could run the
 * function during the restore. A trigger's function only runs after the data is in. `signature`
 * names it as the schema fingerprint does; `arguments` as pg_dump writes them after the name.
 */
const DRILL_FUNCTIONS_SQL = `
SELECT n.nspname AS schema, p.proname AS name, pg_catalog.pg_get_function_arguments(p.oid) AS arguments,
  pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(p.proname)
    || '(' || pg_catalog.oidvectortypes(p.proargtypes) || ')' AS signature
FROM pg_catalog.pg_proc p
JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
JOIN pg_catalog.pg_language l ON l.oid = p.prolang
WHERE ${userNamespaceSql('n')} AND ${notInExtensionSql('pg_catalog.pg_proc', 'p.oid')}
  AND p.prokind IN ('f', 'p') AND l.lanname IN ('sql', 'plpgsql')
  AND (pg_catalog.to_jsonb(p) ->> 'prosqlbody') IS NULL
  AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                  WHERE d.refclassid = 'pg_catalog.pg_proc'::regclass AND d.refobjid = p.oid
                    AND d.classid <> 'pg_catalog.pg_trigger'::regclass)
`;
/**
 * Reads what the drill needs from production's catalog. `rowCounts` are production's row counts
 * keyed by compare.ts `tableKey`; tables missing from it count as empty.
 */
async function readDrillCatalog(db, rowCounts) {
    const tableRows = await db.query(DRILL_TABLES_SQL);
    const indexes = await db.query(DRILL_INDEXES_SQL);
    const constraints = await db.query(DRILL_CONSTRAINTS_SQL);
    const sequenceRows = await db.query(DRILL_SEQUENCES_SQL);
    const largeObject = await readFilledLargeObject(db);
    const functions = await db.query(DRILL_FUNCTIONS_SQL);
    const tables = tableRows.map(({ partitionKeyExpression, ...table }) => ({
        ...table,
        rows: rowCounts.get((0,table_name/* tableKey */.ih)(table)) ?? 0,
        // An expression key may read any column: none may change.
        partitionKey: partitionKeyExpression ? table.columns.map(column => column.name) : table.partitionKey,
        columns: table.columns.map(column => ({ ...column, nullFraction: column.nullFraction ?? undefined }))
    }));
    const sequences = sequenceRows.map(({ ownerSchema, ownerName, ...sequence }) => {
        const ownedBy = ownerSchema !== null && ownerName !== null ? { schema: ownerSchema, name: ownerName } : undefined;
        return { ...sequence, ...(ownedBy ? { ownedBy } : {}), ownerRows: ownedBy ? (rowCounts.get((0,table_name/* tableKey */.ih)(ownedBy)) ?? 0) : 0 };
    });
    const names = new Set();
    for (const table of tables) {
        names.add(table.schema).add(table.name);
        for (const column of table.columns)
            names.add(column.name);
    }
    for (const object of [...indexes, ...constraints])
        names.add(object.schema).add(object.table).add(object.name);
    for (const object of [...sequences, ...functions])
        names.add(object.schema).add(object.name);
    for (const fn of functions)
        names.add(fn.arguments);
    // Only names beyond ASCII are spelled differently in bytes; most schemas have none and skip the query.
    const wide = [...names].filter(name => /[^\x00-\x7f]/.test(name));
    const dumpNames = wide.length > 0 ? dumpSpellings(await db.query(NAME_BYTES_SQL, [wide])) : new Map();
    return {
        dumpNames,
        functions: functions.sort((a, b) => (0,text_order/* bySchemaAndName */.lz)(a, b) || (0,text_order/* compareText */.n6)(a.arguments, b.arguments)),
        tables: tables.sort(text_order/* bySchemaAndName */.lz),
        indexes: indexes.sort((a, b) => (0,text_order/* bySchemaAndName */.lz)(a, b) || (0,text_order/* compareText */.n6)(a.table, b.table)),
        constraints: constraints.sort((a, b) => (0,text_order/* compareText */.n6)(a.schema, b.schema) || (0,text_order/* compareText */.n6)(a.table, b.table) || (0,text_order/* compareText */.n6)(a.name, b.name)),
        sequences: sequences.sort(text_order/* bySchemaAndName */.lz),
        ...(largeObject !== undefined ? { largeObject } : {})
    };
}

;// CONCATENATED MODULE: ./src/engines/postgres/drill-copies.ts

/**
 * What only PostgreSQL does for each of the drill's copies (the engine's drillCopies capability,
 * engines/types.ts), as the one drill of every engine (run/drill-copies.ts) asks for it: the
 * rewriters' evidence decoded from the dump's bytes, the options of the copy's restore (the
 * location check psql runs first, as the run wrote it, the dump's encoding, the replay of owners
 * and privileges).
 */
/** The operators that corrupt owners and privileges: nothing to corrupt when a run does not restore them. */
const PRIVILEGE_OPERATORS = ['drop-grant', 'change-owner'];
const postgresDrillCopies = {
    privilegeOperators: PRIVILEGE_OPERATORS,
    // The rewriters read the dump as bytes, one latin1 character each (dump-encoding.ts): their
    // evidence is decoded once, in the dump's encoding (production's database's).
    evidence: (text, defaults) => decodeDumpText(text, defaults.characterSet),
    restoreOptions({ target, checkFile, defaults, limits, replay }) {
        // psql runs the location check first (Engine.locationCheck): never a restore without it.
        if (!checkFile)
            throw new Error("PostgreSQL's restore of a drill copy needs its location check");
        return {
            checkFile,
            encoding: defaults.characterSet,
            limits,
            // An unprivileged restore of the copy leaves its ownership and privilege statements to a second
            // pass, replayed as the clean-room role (in the scratch database, not as the restore role).
            ...(replay ? { replay: { plan: replay, as: target } } : {})
        };
    }
};

;// CONCATENATED MODULE: ./src/engines/postgres/dump-lexer.ts
/**
 * Where psql is in a plain pg_dump, line by line: the lexer the sanitizing sed program runs
 * (sanitize-rules.ts), in TypeScript for the drill's rewriters. Both follow psqlscan.l: quoted
 * strings ('...', E'...' with backslash escapes, B'', X'', U&''), quoted identifiers (which may
 * hold newlines), dollar-quoted bodies with any tag, `--` and nested `/* *\/` comments,
 * parentheses and CREATE FUNCTION's BEGIN ... END (psql ends a statement at `;` only outside
 * both), psql meta-commands, and COPY data blocks, whose header may span lines. A test holds the
 * two lexers to the same answers. Pure: lines in (latin1-decoded, so a character is a byte), facts out.
 */
const dump_lexer_IDENT_START = /[A-Za-z_\x80-\xff]/;
const WORD = /^[A-Za-z_\x80-\xff][A-Za-z0-9_\x80-\xff$]*/;
const NUMBER = /^([0-9]+(\.[0-9]*)?|\.[0-9]+)([Ee][-+]?[0-9]+)?/;
const DOLLAR = /^\$([A-Za-z_\x80-\xff][A-Za-z0-9_\x80-\xff]*)?\$/;
const SPACE = /^[ \t\r\f\v]+/;
const OTHER = /^[^A-Za-z0-9_\x80-\xff'"$;()\\ \t\r\f\v/-]+/;
/**
 * A lexer for one dump, fed every line in order. `standardConformingStrings` as the dump
 * declares it (pg_dump writes production's setting; it is on unless production turned it off).
 */
function dumpLexer(standardConformingStrings = true) {
    let state = { mode: 'T' };
    let header;
    return line => {
        if (state.mode === 'copy') {
            if (line !== '\\.')
                return { startsStatement: false, data: true, endsStatement: false };
            state = { mode: 'T' };
            return { startsStatement: false, data: true, endsStatement: true, state: 'T.' };
        }
        const startsStatement = state.mode === 'T';
        if (startsStatement && line.startsWith('COPY '))
            header = [];
        if (startsStatement && line.startsWith('\\')) {
            // A psql meta-command (\connect, \restrict): it ends at the end of the line.
            return { startsStatement, data: false, endsStatement: true, state: 'T.' };
        }
        if (!standardConformingStrings && startsStatement && line === 'SET standard_conforming_strings = on;') {
            standardConformingStrings = true;
        }
        else if (standardConformingStrings && startsStatement && line === 'SET standard_conforming_strings = off;') {
            standardConformingStrings = false;
        }
        state = lexLine(line, state, standardConformingStrings);
        let copyHeader;
        if (header) {
            header.push(line);
            if (state.mode === 'copy')
                copyHeader = header.join('\n');
            if (state.mode !== 'm' && state.mode !== 'i')
                header = undefined;
        }
        return { startsStatement, data: false, endsStatement: state.mode === 'T', copyHeader, state: stateName(state) };
    };
}
/** A state as the sed program spells it in its hold space. */
function stateName(state) {
    const top = (t) => `m${t.kind}${'b'.repeat(t.begins)}${'('.repeat(t.parens)}`;
    switch (state.mode) {
        case 'T':
            return 'T.';
        case 'copy':
            return 'C';
        case 'm':
            return top(state);
        case 's':
        case 'e':
        case 'i':
            return `${state.mode}${top(state.top)}`;
        case 'd':
            return `d${top(state.top)}#${state.tag}`;
        case 'c':
            return `c${state.top ? top(state.top) : 'T.'}#${'*'.repeat(state.depth)}`;
    }
}
function lexLine(line, start, standardConformingStrings) {
    let state = start;
    let at = 0;
    const rest = () => line.slice(at);
    while (at < line.length) {
        const char = line[at];
        switch (state.mode) {
            case 'T': {
                const space = SPACE.exec(rest());
                if (space) {
                    at += space[0].length;
                }
                else if (line.startsWith('--', at) || char === '\\') {
                    at = line.length;
                }
                else if (line.startsWith('/*', at)) {
                    state = { mode: 'c', top: undefined, depth: 1 };
                    at += 2;
                }
                else {
                    const kind = line.startsWith('COPY ', at) ? 'C' : /^CREATE (OR REPLACE )?(FUNCTION|PROCEDURE) /.test(rest()) ? 'F' : '.';
                    state = { mode: 'm', kind, begins: 0, parens: 0 };
                }
                break;
            }
            case 'm': {
                const top = { kind: state.kind, begins: state.begins, parens: state.parens };
                const atDepth0 = top.begins === 0 && top.parens === 0;
                if (top.kind === 'C' && atDepth0 && rest() === ' FROM stdin;')
                    return { mode: 'copy' };
                const space = SPACE.exec(rest());
                if (space) {
                    at += space[0].length;
                    break;
                }
                const two = line.slice(at, at + 2);
                if (two === '--' || char === '\\') {
                    at = line.length;
                }
                else if (two === '/*') {
                    state = { mode: 'c', top, depth: 1 };
                    at += 2;
                }
                else if (/^[BbXx]'$/.test(two) || /^[Uu]&'/.test(rest())) {
                    state = { mode: 's', top };
                    at += two === 'U&' || two === 'u&' ? 3 : 2;
                }
                else if (/^[Ee]'$/.test(two)) {
                    state = { mode: 'e', top };
                    at += 2;
                }
                else if (char === "'") {
                    state = { mode: standardConformingStrings ? 's' : 'e', top };
                    at += 1;
                }
                else if (/^[Uu]&"/.test(rest())) {
                    state = { mode: 'i', top };
                    at += 3;
                }
                else if (char === '"') {
                    state = { mode: 'i', top };
                    at += 1;
                }
                else if (char === '$') {
                    const dollar = DOLLAR.exec(rest());
                    const param = /^\$[0-9]+/.exec(rest());
                    if (dollar) {
                        state = { mode: 'd', top, tag: dollar[0] };
                        at += dollar[0].length;
                    }
                    else {
                        at += param ? param[0].length : 1;
                    }
                }
                else if (dump_lexer_IDENT_START.test(char)) {
                    const word = WORD.exec(rest())[0];
                    // psql counts BEGIN ... END (and CASE ... END inside them) of CREATE FUNCTION at depth 0.
                    if (top.kind === 'F' && top.parens === 0) {
                        const lower = word.toLowerCase();
                        if (lower === 'begin')
                            state = { ...top, mode: 'm', begins: top.begins + 1 };
                        else if (lower === 'case' && top.begins > 0)
                            state = { ...top, mode: 'm', begins: top.begins + 1 };
                        else if (lower === 'end' && top.begins > 0)
                            state = { ...top, mode: 'm', begins: top.begins - 1 };
                    }
                    at += word.length;
                }
                else if (/[0-9.]/.test(char) && NUMBER.test(rest())) {
                    at += NUMBER.exec(rest())[0].length;
                }
                else if (char === '(') {
                    state = { ...top, mode: 'm', parens: top.parens + 1 };
                    at += 1;
                }
                else if (char === ')') {
                    if (top.parens > 0)
                        state = { ...top, mode: 'm', parens: top.parens - 1 };
                    at += 1;
                }
                else if (char === ';') {
                    if (atDepth0)
                        state = { mode: 'T' };
                    at += 1;
                }
                else {
                    const other = OTHER.exec(rest());
                    at += other ? other[0].length : 1;
                }
                break;
            }
            case 's':
            case 'i': {
                const quote = state.mode === 's' ? "'" : '"';
                const end = line.indexOf(quote, at);
                if (end < 0) {
                    at = line.length;
                }
                else if (line[end + 1] === quote) {
                    at = end + 2;
                }
                else {
                    state = { mode: 'm', ...state.top };
                    at = end + 1;
                }
                break;
            }
            case 'e': {
                if (char === '\\') {
                    at += 2;
                }
                else if (char === "'") {
                    if (line[at + 1] === "'")
                        at += 2;
                    else {
                        state = { mode: 'm', ...state.top };
                        at += 1;
                    }
                }
                else {
                    const next = /['\\]/.exec(rest());
                    at = next ? at + next.index : line.length;
                }
                break;
            }
            case 'd': {
                const end = line.indexOf(state.tag, at);
                if (end < 0) {
                    at = line.length;
                }
                else {
                    at = end + state.tag.length;
                    state = { mode: 'm', ...state.top };
                }
                break;
            }
            case 'c': {
                const next = /\/\*|\*\//.exec(rest());
                if (!next) {
                    at = line.length;
                }
                else if (next[0] === '/*') {
                    state = { ...state, depth: state.depth + 1 };
                    at += next.index + 2;
                }
                else {
                    at += next.index + 2;
                    state = state.depth > 1 ? { ...state, depth: state.depth - 1 } : state.top ? { mode: 'm', ...state.top } : { mode: 'T' };
                }
                break;
            }
            case 'copy':
                return state;
        }
    }
    return state;
}
/**
 * Follows a plain dump line by line: the returned function tells whether a line starts at the
 * top level (where pg_dump's statements begin, so a statement parser may read it) rather than
 * inside a statement, a literal, an identifier, a comment or row data.
 */
function sqlLineTracker(standardConformingStrings = true) {
    const lexer = dumpLexer(standardConformingStrings);
    return line => lexer(line).startsStatement;
}

;// CONCATENATED MODULE: ./src/engines/postgres/dump-lines.ts
/**
 * Reading the lines of a plain pg_dump file as pg_dump writes them: COPY headers and fields,
 * CREATE INDEX, ALTER TABLE ... ADD CONSTRAINT and setval statements. Pure: no I/O, no catalog.
 */
/** Which lines are row data and where statements start: the lexer the sanitizer's sed program also runs. */

/**
 * Parses `COPY schema.table (col, "Col") FROM stdin;` into unquoted names. The header may span
 * lines (joined by \n) when a quoted name holds a line break.
 */
function parseCopyHeader(line) {
    if (!line.startsWith('COPY ') || !line.endsWith(' FROM stdin;'))
        return undefined;
    const tokens = tokenizeIdentifiers(line.slice(5, -' FROM stdin;'.length));
    if (!tokens)
        return undefined;
    // schema . name [ ( col , col ... ) ]
    if (tokens.length < 3 || tokens[1] !== '.')
        return undefined;
    const columns = [];
    if (tokens.length > 3) {
        if (tokens[3] !== '(' || tokens[tokens.length - 1] !== ')')
            return undefined;
        for (const token of tokens.slice(4, -1))
            if (token !== ',')
                columns.push(unquote(token));
    }
    return { schema: unquote(tokens[0]), name: unquote(tokens[2]), columns };
}
function tokenizeIdentifiers(text) {
    const tokens = [];
    let i = 0;
    while (i < text.length) {
        const char = text[i];
        if (char === ' ' || char === '\n') {
            i++;
        }
        else if (char === '"') {
            const end = dump_lines_quotedEnd(text, i);
            if (end === undefined)
                return undefined;
            tokens.push(text.slice(i, end));
            i = end;
        }
        else if ('.,()'.includes(char)) {
            tokens.push(char);
            i++;
        }
        else {
            let j = i;
            while (j < text.length && !' .,()"'.includes(text[j]))
                j++;
            tokens.push(text.slice(i, j));
            i = j;
        }
    }
    return tokens;
}
/** The index just past the closing quote of the quoted identifier starting at `start`. */
function dump_lines_quotedEnd(text, start) {
    let j = start + 1;
    while (j < text.length) {
        if (text[j] === '"' && text[j + 1] === '"')
            j += 2;
        else if (text[j] === '"')
            return j + 1;
        else
            j++;
    }
    return undefined;
}
function unquote(token) {
    return token.startsWith('"') ? token.slice(1, -1).replace(/""/g, '"') : token;
}
/** Reads one identifier (quoted or bare) at `start`: its unquoted value and where it ends. */
function readIdentifier(text, start) {
    if (text[start] === '"') {
        const end = dump_lines_quotedEnd(text, start);
        return end === undefined ? undefined : { value: unquote(text.slice(start, end)), end };
    }
    let end = start;
    while (end < text.length && !' .,()";'.includes(text[end]))
        end++;
    return end > start ? { value: text.slice(start, end), end } : undefined;
}
/** Reads `schema.name` at `start`. */
function readQualifiedName(text, start) {
    const schema = readIdentifier(text, start);
    if (!schema || text[schema.end] !== '.')
        return undefined;
    const name = readIdentifier(text, schema.end + 1);
    return name ? { schema: schema.value, name: name.value, end: name.end } : undefined;
}
/** Parses `CREATE [UNIQUE] INDEX name ON [ONLY] schema.table ...`: the index lives in the table's schema. */
function parseCreateIndex(line) {
    const prefix = /^CREATE (?:UNIQUE )?INDEX /.exec(line);
    if (!prefix)
        return undefined;
    const name = readIdentifier(line, prefix[0].length);
    if (!name || !line.startsWith(' ON ', name.end))
        return undefined;
    let at = name.end + ' ON '.length;
    if (line.startsWith('ONLY ', at))
        at += 'ONLY '.length;
    const table = readQualifiedName(line, at);
    if (!table || line[table.end] !== ' ')
        return undefined;
    return { schema: table.schema, table: table.name, name: name.value };
}
/**
 * Parses `CREATE FUNCTION schema.name(arguments) RETURNS ...` or `CREATE PROCEDURE schema.name(arguments)`
 * (`OR REPLACE` too): `arguments` as pg_dump writes them, pg_get_function_arguments' text.
 */
function parseCreateFunction(line) {
    const prefix = /^CREATE (?:OR REPLACE )?(?:FUNCTION|PROCEDURE) /.exec(line);
    if (!prefix)
        return undefined;
    const name = readQualifiedName(line, prefix[0].length);
    if (!name || line[name.end] !== '(')
        return undefined;
    // The arguments end at the last ')' before RETURNS, or at the end of a procedure's line.
    const rest = line.slice(name.end + 1);
    const returns = rest.lastIndexOf(') RETURNS ');
    const end = returns >= 0 ? returns : rest.endsWith(')') ? rest.length - 1 : -1;
    if (end < 0)
        return undefined;
    return { schema: name.schema, name: name.name, arguments: rest.slice(0, end) };
}
/** Parses a line holding only `ALTER TABLE [ONLY] schema.table`, as pg_dump opens ADD CONSTRAINT. */
function parseAlterTable(line) {
    if (!line.startsWith('ALTER TABLE '))
        return undefined;
    let at = 'ALTER TABLE '.length;
    if (line.startsWith('ONLY ', at))
        at += 'ONLY '.length;
    const table = readQualifiedName(line, at);
    return table && table.end === line.length ? { schema: table.schema, name: table.name } : undefined;
}
function parseAddConstraintName(line) {
    const prefix = '    ADD CONSTRAINT ';
    if (!line.startsWith(prefix))
        return undefined;
    const name = readIdentifier(line, prefix.length);
    return name && line[name.end] === ' ' ? name.value : undefined;
}
/** Parses `SELECT pg_catalog.setval('schema.name', N, true|false);` as pg_dump writes it. */
function parseSetval(line) {
    const match = /^SELECT pg_catalog\.setval\('((?:[^']|'')*)', (-?\d+), (true|false)\);$/.exec(line);
    if (!match)
        return undefined;
    const name = match[1].replace(/''/g, "'");
    const qualified = readQualifiedName(name, 0);
    if (!qualified || qualified.end !== name.length)
        return undefined;
    return { schema: qualified.schema, name: qualified.name, literal: match[1], value: match[2], called: match[3] === 'true' };
}
/** How many characters the COPY text escape starting with the backslash at `at` takes. */
function escapeLength(field, at) {
    const next = field[at + 1];
    if (next !== undefined && next >= '0' && next <= '7') {
        let end = at + 1;
        while (end < field.length && end < at + 4 && field[end] >= '0' && field[end] <= '7')
            end++;
        return end - at;
    }
    if (next === 'x' && /[0-9a-fA-F]/.test(field[at + 2] ?? ''))
        return /[0-9a-fA-F]/.test(field[at + 3] ?? '') ? 4 : 3;
    return next === undefined ? 1 : 2;
}
/** Another letter of the same case or another digit: `z` becomes `y`, any other moves one up. */
function replacementFor(char) {
    if (/[a-yA-Y0-8]/.test(char))
        return String.fromCharCode(char.charCodeAt(0) + 1);
    if (/[zZ9]/.test(char))
        return String.fromCharCode(char.charCodeAt(0) - 1);
    return undefined;
}
/** One plain letter or digit of a COPY text field changed, outside escapes; undefined when it has none. */
function mutateFirstCharacter(field) {
    if (field === '\\N')
        return undefined;
    for (let i = 0; i < field.length; i++) {
        if (field[i] === '\\') {
            i += escapeLength(field, i) - 1;
            continue;
        }
        const replacement = replacementFor(field[i]);
        if (replacement !== undefined)
            return field.slice(0, i) + replacement + field.slice(i + 1);
    }
    return undefined;
}
/** One character of a function body changed: its first digit (a constant), else its first letter. */
function mutateBodyCharacter(body) {
    const at = body.search(/[0-9]/) >= 0 ? body.search(/[0-9]/) : body.search(/[a-zA-Z]/);
    if (at < 0)
        return undefined;
    return body.slice(0, at) + replacementFor(body[at]) + body.slice(at + 1);
}
/**
 * A number's last digit changed, so precision and scale hold. Digits 0-4 go up and 5-9 go down:
 * the limits of int2, int4 and int8 end in 7 (8 when negative), so the value never overflows.
 */
function mutateLastDigit(field) {
    if (!/^-?\d+(\.\d+)?$/.test(field))
        return undefined;
    const at = field.length - 1;
    const digit = Number(field[at]);
    return field.slice(0, at) + String(digit <= 4 ? digit + 1 : digit - 1);
}
/** A COPY text field as a reader expects it: escapes decoded, NULL spelled out (bytes stay bytes). */
function displayCopyValue(field) {
    if (field === '\\N')
        return 'NULL';
    let decoded = '';
    for (let i = 0; i < field.length; i++) {
        if (field[i] !== '\\') {
            decoded += field[i];
            continue;
        }
        const length = escapeLength(field, i);
        const escape = field.slice(i + 1, i + length);
        const simple = { b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v' };
        if (/^[0-7]+$/.test(escape))
            decoded += String.fromCharCode(parseInt(escape, 8) & 0xff);
        else if (escape.startsWith('x') && escape.length > 1)
            decoded += String.fromCharCode(parseInt(escape.slice(1), 16));
        else
            decoded += simple[escape] ?? escape;
        i += length - 1;
    }
    // Still bytes, as the line was: the evidence it lands in is decoded once, in the dump's encoding (dump-encoding.ts).
    return decoded;
}

;// CONCATENATED MODULE: ./src/engines/postgres/drill-rewriters.ts



/** The longest fresh text a rogue row writes; the target choice only picks columns that hold it. */
const ROGUE_TEXT_LENGTH = 20;
/**
 * Injects one rogue row at the end of the target table's COPY block: a copy of the block's first
 * row with fresh values in `freshColumns` (integers one past the block's maximum, so they are
 * unused; text and uuids random).
 */
function rogueRowRewriter(target) {
    let columnIndexes = [];
    let template;
    let maxima = [];
    let evidence;
    return blockRewriter(target, {
        start(columns) {
            columnIndexes = target.freshColumns.map(column => columns.indexOf(column.name));
            maxima = target.freshColumns.map(() => 0n);
            return columnIndexes.every(index => index >= 0);
        },
        row(line) {
            const fields = line.split('\t');
            template ??= fields;
            target.freshColumns.forEach((column, i) => {
                const value = fields[columnIndexes[i]];
                if (column.kind === 'integer' && /^-?\d+$/.test(value) && BigInt(value) > maxima[i])
                    maxima[i] = BigInt(value);
            });
            return [line];
        },
        end() {
            if (!template)
                return [];
            const rogue = [...template];
            const shown = [];
            target.freshColumns.forEach((column, i) => {
                const value = freshValue(column, maxima[i]);
                rogue[columnIndexes[i]] = value;
                shown.push(value);
            });
            evidence = `(${target.freshColumns.map(column => column.name).join(', ')})=(${shown.join(', ')})`;
            return [rogue.join('\t')];
        },
        evidence: () => evidence
    });
}
function freshValue(column, maximum) {
    switch (column.kind) {
        case 'integer':
            return (maximum + 1n).toString();
        case 'uuid':
            return (0,external_node_crypto_.randomUUID)();
        case 'text':
            return `rogue-${(0,external_node_crypto_.randomBytes)(8).toString('hex')}`.slice(0, Math.min(column.maxLength ?? ROGUE_TEXT_LENGTH, ROGUE_TEXT_LENGTH));
    }
}
/** Runs `edit` over the first COPY block of `table`, leaving every other line alone. */
function blockRewriter(table, edit) {
    const lex = dumpLexer();
    let state = 'before';
    let index = 0;
    return {
        push(line) {
            const facts = lex(line);
            if (state === 'inside') {
                if (line !== '\\.')
                    return edit.row(line, ++index);
                state = 'after';
                return [...edit.end(), line];
            }
            if (facts.copyHeader !== undefined && state === 'before') {
                const header = parseCopyHeader(facts.copyHeader);
                if (header && header.schema === table.schema && header.name === table.name) {
                    state = edit.start(header.columns) ? 'inside' : 'after';
                }
            }
            return [line];
        },
        result() {
            const evidence = edit.evidence();
            return evidence === undefined ? undefined : { evidence };
        }
    };
}
/** Names a row for the evidence: by its primary key when the block carries it, else by position. */
function rowNamer(keyColumns) {
    let keyIndexes;
    return {
        start(columns) {
            const indexes = keyColumns?.map(column => columns.indexOf(column));
            keyIndexes = indexes && indexes.every(i => i >= 0) ? indexes : undefined;
        },
        name(fields, index) {
            if (!keyIndexes || !keyColumns)
                return `row ${index} of the data`;
            return `row (${keyColumns.join(', ')})=(${keyIndexes.map(i => displayCopyValue(fields[i])).join(', ')})`;
        }
    };
}
/** Removes the first row of the table's data. */
function dropRowRewriter(table, keyColumns) {
    const rows = rowNamer(keyColumns);
    let evidence;
    return blockRewriter(table, {
        start(columns) {
            rows.start(columns);
            return true;
        },
        row(line, index) {
            if (evidence !== undefined)
                return [line];
            evidence = `${rows.name(line.split('\t'), index)} removed`;
            return [];
        },
        end: () => [],
        evidence: () => evidence
    });
}
/**
 * Changes one character of the first value it can in `columns` (tried in order, row by row):
 * a letter or digit of text, the last digit of a number, never inside a backslash escape.
 */
function mutateCellRewriter(table, columns, keyColumns) {
    const rows = rowNamer(keyColumns);
    let indexes = [];
    let evidence;
    return blockRewriter(table, {
        start(header) {
            rows.start(header);
            indexes = columns.map(column => header.indexOf(column.name));
            return indexes.some(i => i >= 0);
        },
        row(line, index) {
            if (evidence !== undefined)
                return [line];
            const fields = line.split('\t');
            for (const [i, column] of columns.entries()) {
                if (indexes[i] < 0)
                    continue;
                const mutated = column.digitsOnly ? mutateLastDigit(fields[indexes[i]]) : mutateFirstCharacter(fields[indexes[i]]);
                if (mutated === undefined)
                    continue;
                fields[indexes[i]] = mutated;
                evidence = `one character of column ${column.name} changed in ${rows.name(fields, index)}`;
                return [fields.join('\t')];
            }
            return [line];
        },
        end: () => [],
        evidence: () => evidence
    });
}
/**
 * Exchanges one column's values between the first row and the first later row where that column
 * differs, trying `columns` in order. The rows must also differ elsewhere: two rows that differ
 * in that column alone would come out as the same two rows.
 */
function swapValuesRewriter(table, columns, keyColumns) {
    const rows = rowNamer(keyColumns);
    let indexes = [];
    let first;
    let evidence;
    return blockRewriter(table, {
        start(header) {
            rows.start(header);
            indexes = columns.map(column => header.indexOf(column));
            return indexes.some(i => i >= 0);
        },
        row(line, index) {
            if (evidence !== undefined)
                return [line];
            const fields = line.split('\t');
            // The first row waits, unwritten, for its partner; rows order does not matter to a table.
            if (!first) {
                first = { fields, index };
                return [];
            }
            const held = first.fields;
            for (const [i, column] of columns.entries()) {
                const at = indexes[i];
                if (at < 0 || fields[at] === held[at])
                    continue;
                if (fields.every((value, j) => j === at || value === held[j]))
                    continue;
                evidence = `column ${column} exchanged between ${rows.name(held, first.index)} and ${rows.name(fields, index)}`;
                [held[at], fields[at]] = [fields[at], held[at]];
                return [held.join('\t'), fields.join('\t')];
            }
            return [line];
        },
        end: () => (evidence === undefined && first ? [first.fields.join('\t')] : []),
        evidence: () => evidence
    });
}
/** Writes the first row of the table's data twice. */
function duplicateRowRewriter(table) {
    let evidence;
    return blockRewriter(table, {
        start: () => true,
        row(line, index) {
            if (evidence !== undefined)
                return [line];
            evidence = `row ${index} of the data written twice`;
            return [line, line];
        },
        end: () => [],
        evidence: () => evidence
    });
}
/** Turns the first NULL (`\N`) it finds in `columns` (tried in order, row by row) into ''. */
function nullToEmptyRewriter(table, columns, keyColumns) {
    const rows = rowNamer(keyColumns);
    let indexes = [];
    let evidence;
    return blockRewriter(table, {
        start(header) {
            rows.start(header);
            indexes = columns.map(column => header.indexOf(column));
            return indexes.some(i => i >= 0);
        },
        row(line, index) {
            if (evidence !== undefined)
                return [line];
            const fields = line.split('\t');
            const i = indexes.findIndex(at => at >= 0 && fields[at] === '\\N');
            if (i < 0)
                return [line];
            fields[indexes[i]] = '';
            evidence = `NULL in column ${columns[i]} turned into '' in ${rows.name(fields, index)}`;
            return [fields.join('\t')];
        },
        end: () => [],
        evidence: () => evidence
    });
}
/**
 * Cuts the dump after `keepRows` rows of the table's data, as an interrupted upload would: that
 * row is the last line written, and everything after it, including the block's end, is lost.
 */
function truncateRewriter(table, keepRows) {
    const lex = dumpLexer();
    let state = 'before';
    let kept = 0;
    let lineNumber = 0;
    let cutAt = 0;
    let lost = 0;
    return {
        push(line) {
            lineNumber++;
            if (state === 'cut') {
                lost++;
                return [];
            }
            if (state === 'inside') {
                if (kept < keepRows && line !== '\\.') {
                    kept++;
                    return [line];
                }
                state = 'cut';
                cutAt = lineNumber;
                lost++;
                return [];
            }
            const copyHeader = lex(line).copyHeader;
            if (copyHeader !== undefined) {
                const header = parseCopyHeader(copyHeader);
                if (header && header.schema === table.schema && header.name === table.name)
                    state = 'inside';
            }
            return [line];
        },
        result() {
            if (state !== 'cut')
                return undefined;
            return { evidence: `dump cut after ${kept} row(s) of ${(0,table_name/* displayName */.QC)(table)}'s data, at line ${cutAt}: ${lost} line(s) lost` };
        }
    };
}
// ---------------------------------------------------------------------------------------------
// Schema operators
/** Removes the `CREATE [UNIQUE] INDEX name ON [ONLY] schema.table ...;` statement of one index. */
function dropIndexRewriter(index) {
    const lex = dumpLexer();
    let lineNumber = 0;
    let removing = false;
    let evidence;
    return {
        push(line) {
            lineNumber++;
            const facts = lex(line);
            if (removing) {
                removing = !facts.endsStatement;
                return [];
            }
            if (evidence !== undefined || !facts.startsStatement)
                return [line];
            const parsed = parseCreateIndex(line);
            if (!parsed || parsed.name !== index.name || parsed.schema !== index.schema || parsed.table !== index.table)
                return [line];
            evidence = `CREATE INDEX ${(0,table_name/* displayIdentifier */.UY)(index.name)} removed from the dump (line ${lineNumber})`;
            removing = !facts.endsStatement;
            return [];
        },
        result: () => (evidence === undefined ? undefined : { evidence })
    };
}
const CONSTRAINT_KINDS = {
    c: 'CHECK',
    f: 'FOREIGN KEY',
    p: 'PRIMARY KEY',
    u: 'UNIQUE',
    x: 'EXCLUDE'
};
/**
 * Removes one `ALTER TABLE [ONLY] schema.table` + `    ADD CONSTRAINT name ...;` statement,
 * which pg_dump writes on two lines (more when the definition holds a line break).
 */
function dropConstraintRewriter(constraint) {
    const lex = dumpLexer();
    let lineNumber = 0;
    let held;
    let removing = false;
    let evidence;
    const kind = constraint.type ? ` (${CONSTRAINT_KINDS[constraint.type]})` : '';
    const consider = (line, startsStatement) => {
        if (evidence !== undefined || !startsStatement)
            return [line];
        const table = parseAlterTable(line);
        if (table && table.schema === constraint.schema && table.name === constraint.table) {
            held = line;
            return [];
        }
        return [line];
    };
    return {
        push(line) {
            lineNumber++;
            const facts = lex(line);
            if (removing) {
                removing = !facts.endsStatement;
                return [];
            }
            if (held === undefined)
                return consider(line, facts.startsStatement);
            const alter = held;
            held = undefined;
            if (parseAddConstraintName(line) === constraint.name) {
                const lines = `lines ${lineNumber - 1}-${lineNumber}`;
                evidence = `ADD CONSTRAINT ${(0,table_name/* displayIdentifier */.UY)(constraint.name)}${kind} removed from the dump (${lines})`;
                removing = !facts.endsStatement;
                return [];
            }
            return [alter, ...consider(line, facts.startsStatement)];
        },
        result: () => (evidence === undefined ? undefined : { evidence })
    };
}
/** Sets one sequence back to its start, as if never used: `setval('seq', start, false)`. */
function sequenceResetRewriter(sequence) {
    const lex = dumpLexer();
    let evidence;
    return {
        push(line) {
            if (evidence !== undefined || !lex(line).startsStatement)
                return [line];
            const setval = parseSetval(line);
            if (!setval || setval.schema !== sequence.schema || setval.name !== sequence.name)
                return [line];
            evidence =
                `setval of ${(0,table_name/* displayName */.QC)(sequence)} changed from ${setval.value}${setval.called ? '' : ' (not called)'} ` +
                    `to ${sequence.startValue} (not called)`;
            return [`SELECT pg_catalog.setval('${setval.literal}', ${sequence.startValue}, false);`];
        },
        result: () => (evidence === undefined ? undefined : { evidence })
    };
}
/** A function body longer than this is left alone rather than held. */
const MAX_HELD_BODY_BYTES = 1024 * 1024;
/**
 * Changes one character of a function's body: in `CREATE FUNCTION|PROCEDURE schema.name(arguments)`,
 * the first digit of the dollar-quoted string after `AS` (a constant of its logic), else its first
 * letter. pg_dump turns check_function_bodies off, so the changed body restores as written.
 */
function mutateFunctionRewriter(fn) {
    const lex = dumpLexer();
    // Row data is never a function's text; every other line (statements, bodies) is read.
    const isSql = (line) => !lex(line).data;
    let lineNumber = 0;
    let state = 'before';
    let tag = '';
    // The body's lines, held until its closing tag (a function's text, never table data).
    let held = [];
    let heldBytes = 0;
    let firstBodyLine = 0;
    let evidence;
    const display = `${(0,table_name/* displayName */.QC)(fn)}(${fn.arguments})`;
    /** The held lines with one character of the body (what stands between the tags) changed. */
    const mutated = () => {
        const text = held.join('\n');
        const open = text.indexOf(tag) + tag.length;
        const close = text.indexOf(tag, open);
        const body = mutateBodyCharacter(text.slice(open, close));
        if (body === undefined)
            return held;
        const changed = (text.slice(0, open) + body + text.slice(close)).split('\n');
        const line = firstBodyLine + changed.findIndex((candidate, i) => candidate !== held[i]);
        evidence = `one character of the body of function ${display} changed (line ${line})`;
        return changed;
    };
    return {
        push(line) {
            lineNumber++;
            if (state === 'done')
                return [line];
            if (state === 'body') {
                held.push(line);
                heldBytes += line.length;
                if (!line.includes(tag)) {
                    if (heldBytes <= MAX_HELD_BODY_BYTES)
                        return [];
                    // No closing tag in sight: not a body this rewriter understands. Written back untouched.
                    state = 'done';
                    return held;
                }
                state = 'done';
                return mutated();
            }
            if (!isSql(line))
                return [line];
            if (state === 'before') {
                const header = parseCreateFunction(line);
                if (header && header.schema === fn.schema && header.name === fn.name && header.arguments === fn.arguments) {
                    state = 'header';
                }
                return [line];
            }
            // Between the header and the body: LANGUAGE, volatility, SET options, then `AS $tag$`.
            const as = /^ {4}AS (\$[A-Za-z0-9_]*\$)/.exec(line);
            if (!as) {
                // A body given otherwise (a C function's 'file', 'symbol') or the end of the statement: leave it.
                if (line.endsWith(';'))
                    state = 'done';
                return [line];
            }
            tag = as[1];
            held = [line];
            firstBodyLine = lineNumber;
            if (line.indexOf(tag, as[0].length) < 0) {
                state = 'body';
                return [];
            }
            state = 'done';
            return mutated();
        },
        result: () => (evidence === undefined ? undefined : { evidence })
    };
}

;// CONCATENATED MODULE: ./src/engines/postgres/drill-privileges.ts




/** The first table, then sequence or view, then schema whose ACL grants something beyond its owner. */
function planDropGrant(catalog) {
    const rank = (object) => (object.table ? 0 : object.keyword === 'SCHEMA' ? 2 : 1);
    const target = catalog.objects
        .filter(object => object.grantsToOthers)
        .sort((a, b) => rank(a) - rank(b) || (0,text_order/* compareText */.n6)(a.identity, b.identity))[0];
    if (!target)
        return undefined;
    return {
        target: `privileges on ${target.identity}`,
        difference: { kind: 'privileges', name: target.identity },
        rewriter: dropGrantRewriter(target)
    };
}
/**
 * The first table (those without serial sequences first), given to another role the clean room
 * has, or to Lazarus's drill role; its serial sequences follow it, or the restore would refuse
 * to link them.
 */
function planChangeOwner(catalog) {
    const table = catalog.objects
        .filter(object => object.table)
        .sort((a, b) => Number(a.ownedSequences.length > 0) - Number(b.ownedSequences.length > 0) || (0,text_order/* compareText */.n6)(a.identity, b.identity))[0];
    if (!table)
        return undefined;
    // A name without line breaks reads better in the evidence; any other role will do.
    const candidates = catalog.roles.filter(role => role !== table.owner && !role.startsWith('pg_'));
    const other = candidates.find(role => !/[\r\n]/.test(role)) ?? candidates[0];
    const newOwner = other ?? catalog.drillRole;
    return {
        target: `owner of ${table.identity}`,
        difference: { kind: 'owner', name: table.identity },
        rewriter: changeOwnerRewriter(table, newOwner),
        ...(other ? {} : { extraRole: newOwner })
    };
}
/** A complete one-line statement: it ends with `;` outside any quoted identifier. */
function completeStatement(line) {
    return line.endsWith(';') && (line.match(/"/g)?.length ?? 0) % 2 === 0;
}
/** Reads `ON <KEYWORD> name` (qualified unless a schema) at `at`; the object's unquoted names and where it ends. */
function readObject(line, at, keyword) {
    const prefix = ` ON ${keyword} `;
    if (!line.startsWith(prefix, at))
        return undefined;
    const start = at + prefix.length;
    if (keyword === 'SCHEMA') {
        const name = readIdentifier(line, start);
        return name ? { schema: null, name: name.value, end: name.end } : undefined;
    }
    return readQualifiedName(line, start);
}
/** A GRANT longer than this many lines is not pg_dump's (names are at most 63 bytes): its lines pass on. */
const MAX_GRANT_LINES = 1000;
/**
 * Removes the first `GRANT privileges ON KIND name TO grantee;` of the target, as pg_dump writes
 * each grant: one statement per grantee, on one line, or on several when a name (the role's, the
 * object's, a column's) holds a line break: such a statement's lines are held until it ends.
 */
function dropGrantRewriter(target) {
    const isSql = sqlLineTracker();
    let lineNumber = 0;
    let evidence;
    let held;
    const isTargetGrant = (statement) => {
        // The privileges (with column lists) come before ON; names cannot hide " ON " before it.
        const on = statement.indexOf(` ON ${target.keyword} `);
        if (on < 0 || statement.slice(0, on).includes('"'))
            return false;
        const object = readObject(statement, on, target.keyword);
        return !!object && object.schema === target.schema && object.name === target.name && statement.startsWith(' TO ', object.end);
    };
    const consider = (lines, first) => {
        const statement = lines.join('\n');
        if (!isTargetGrant(statement))
            return lines;
        evidence = `${statement.slice(0, -1).replace(/\n/g, '\\n')} removed from the dump (line ${first})`;
        return [];
    };
    return {
        push(line) {
            lineNumber++;
            if (held) {
                isSql(line);
                held.lines.push(line);
                if (completeStatement(held.lines.join('\n'))) {
                    const { lines, first } = held;
                    held = undefined;
                    return consider(lines, first);
                }
                if (held.lines.length < MAX_GRANT_LINES)
                    return [];
                const { lines } = held;
                held = undefined;
                return lines;
            }
            if (!isSql(line) || evidence !== undefined || !line.startsWith('GRANT '))
                return [line];
            if (completeStatement(line))
                return consider([line], lineNumber);
            held = { lines: [line], first: lineNumber };
            return [];
        },
        result: () => (evidence === undefined ? undefined : { evidence })
    };
}
/**
 * Rewrites `ALTER TABLE schema.table OWNER TO role;` to name `newOwner`, and the same statement
 * for the sequences its serial columns own (pg_dump writes ALTER TABLE for sequences too).
 */
function changeOwnerRewriter(table, newOwner) {
    const followers = table.ownedSequences.map(sequence => `${sequence.schema}\u0000${sequence.name}`);
    const isSql = sqlLineTracker();
    let lineNumber = 0;
    let evidence;
    const prefix = 'ALTER TABLE ';
    return {
        push(line) {
            lineNumber++;
            if (!isSql(line) || !line.startsWith(prefix) || !completeStatement(line))
                return [line];
            const name = readQualifiedName(line, prefix.length);
            if (!name || !line.startsWith(' OWNER TO ', name.end))
                return [line];
            const isTable = evidence === undefined && name.schema === table.schema && name.name === table.name;
            if (!isTable && !followers.includes(`${name.schema}\u0000${name.name}`))
                return [line];
            const head = line.slice(0, name.end + ' OWNER TO '.length);
            if (isTable)
                evidence = `owner changed from ${line.slice(head.length, -1)} to ${listNames([newOwner])} (line ${lineNumber})`;
            return [`${head}${quoteIdent(newOwner)};`];
        },
        result: () => (evidence === undefined ? undefined : { evidence })
    };
}

;// CONCATENATED MODULE: ./src/engines/postgres/drill-plan.ts





/**
 * Chaos-drill operators: each corrupts a copy of the dump in a way that still restores cleanly
 * wherever the schema allows, so that it is the verifier, not the restore, that has to notice.
 * Pure: they work on the lines of a plain dump.
 */
const DRILL_OPERATORS = [
    'rogue-row',
    'drop-row',
    'mutate-cell',
    'swap-values',
    'duplicate-row',
    'null-to-empty',
    'truncate',
    'drop-index',
    'drop-constraint',
    'sequence-reset',
    'drop-grant',
    'change-owner',
    'mutate-large-object',
    'mutate-function'
];
/**
 * Aims `operator` at the first fitting object of the catalog, in a fixed order, so that the same
 * schema always gets the same drill. Undefined when nothing in this schema can take the
 * corruption and still restore.
 */
function planDrill(operator, catalog) {
    switch (operator) {
        case 'rogue-row': {
            const target = chooseRogueRowTarget(catalog.tables);
            if (!target)
                return undefined;
            const spell = spellerOf(catalog);
            const spelled = {
                schema: spell(target.schema),
                name: spell(target.name),
                freshColumns: target.freshColumns.map(column => ({ ...column, name: spell(column.name) }))
            };
            return dataPlan(operator, target, rogueRowRewriter(spelled), ROW_COUNT_CHECKS);
        }
        case 'drop-row':
            return planDropRow(catalog);
        case 'mutate-cell':
            return planMutateCell(catalog);
        case 'swap-values':
            return planSwapValues(catalog);
        case 'duplicate-row':
            return planDuplicateRow(catalog);
        case 'null-to-empty':
            return planNullToEmpty(catalog);
        case 'truncate':
            return planTruncate(catalog);
        case 'drop-index':
            return planDropIndex(catalog);
        case 'drop-constraint':
            return planDropConstraint(catalog);
        case 'sequence-reset':
            return planSequenceReset(catalog);
        case 'drop-grant':
            return privilegePlan(operator, catalog.privileges && planDropGrant(catalog.privileges));
        case 'change-owner':
            return privilegePlan(operator, catalog.privileges && planChangeOwner(catalog.privileges));
        case 'mutate-large-object':
            return planMutateLargeObject(catalog);
        case 'mutate-function':
            return planMutateFunction(catalog);
    }
}
function privilegePlan(operator, plan) {
    if (!plan)
        return undefined;
    return {
        operator,
        target: plan.target,
        targetDifference: plan.difference,
        rewriter: plan.rewriter,
        caughtBy: ['privileges'],
        ...(plan.extraRole ? { extraRole: plan.extraRole } : {})
    };
}
function isDrillOperator(operator) {
    return DRILL_OPERATORS.includes(operator);
}
/**
 * The engine's planDrill (engines/types.ts): `operator` aimed at the first fitting object of the
 * catalog (planDrill), or, when nothing in this schema can take it, why not (explainNoTarget),
 * decided here so that the reason is always the planner's own.
 */
function planOrExplain(operator, catalog) {
    if (!isDrillOperator(operator)) {
        return { operator, noTarget: `PostgreSQL's drill has no operator '${operator}' (it has ${DRILL_OPERATORS.join(', ')})` };
    }
    const plan = planDrill(operator, catalog);
    if (!plan)
        return { operator, noTarget: explainNoTarget(operator, catalog) };
    return { ...plan, aim: plan, ...(plan.targetTable ? { table: plan.targetTable } : {}) };
}
/**
 * Why `operator` found no target in this schema (planDrill returned undefined), in words a
 * reader can act on: what the operator needs, and that this schema has none of it.
 */
function explainNoTarget(operator, catalog) {
    const withRows = catalog.tables.filter(table => table.rows > 0 && table.columns.length > 0);
    const noRows = 'no table holds any rows';
    switch (operator) {
        case 'rogue-row':
            return withRows.length === 0
                ? noRows
                : 'no table with rows (outside partitions and exclusion constraints) has keys Lazarus can give fresh values: ' +
                    'plain integer, text or uuid key columns outside foreign keys and checks, or, without a key, one such column';
        case 'drop-row':
            return withRows.length === 0
                ? noRows
                : 'every table with rows is referenced by a foreign key, which a missing row would break';
        case 'mutate-cell':
            return withRows.length === 0
                ? noRows
                : 'no table with rows has a plain text, varchar, char, integer or numeric column outside keys, unique, expression ' +
                    "and partial indexes, foreign keys, checks, exclusion constraints, partition keys and generated columns' expressions";
        case 'swap-values':
            return catalog.tables.some(table => table.rows >= 2)
                ? 'no table with two rows or more has a column outside keys, unique, expression and partial indexes, foreign keys, ' +
                    "checks, exclusion constraints, partition keys and generated columns' expressions"
                : 'no table holds two rows or more';
        case 'duplicate-row':
            return withRows.length === 0
                ? noRows
                : 'every table with rows has a primary key, a unique index or an exclusion constraint, which would reject a twin row';
        case 'null-to-empty':
            return withRows.length === 0
                ? noRows
                : "no table with rows has a nullable plain text, varchar or char column outside keys, indexes' expressions, " +
                    "constraints, partition keys and generated columns' expressions";
        case 'truncate':
            return 'no table holds two rows or more';
        case 'drop-index':
            return catalog.indexes.length === 0
                ? 'the schema has no index'
                : 'every index backs a constraint, serves a foreign key, belongs to a partitioned index, or is named by another ' +
                    'statement of the dump (CLUSTER ON, REPLICA IDENTITY, a comment, statistics targets, an extension)';
        case 'drop-constraint':
            return catalog.constraints.length === 0
                ? 'the schema has no constraint'
                : 'every constraint is a primary key, inherited, written inside CREATE TABLE, named by a comment, or needed by ' +
                    'a foreign key or an inheritance or partition tree';
        case 'sequence-reset':
            return catalog.sequences.length === 0
                ? 'the schema has no sequence'
                : 'no sequence has been used yet (or this role may not read one), so a reset would change nothing';
        case 'mutate-function':
            return ('no SQL or PL/pgSQL function or procedure with a string body that nothing else in the schema depends on ' +
                '(a check, default, generated column, index or view could run it during the restore)');
        case 'mutate-large-object':
            return 'the database has no large object that holds data';
        case 'drop-grant':
        case 'change-owner':
            return catalog.privileges
                ? 'no object carries an owner or a grant this operator can change and the copy still restore'
                : 'owners and privileges are not restored and compared in this run (the report says why and how to enable it)';
    }
}
// A row count that changes shows in the counts, and in the checksums, which carry the count too.
const ROW_COUNT_CHECKS = ['counts', 'checksums'];
function dataPlan(operator, table, rewriter, caughtBy, invisibleToCounts) {
    const targetTable = { schema: table.schema, name: table.name };
    const plan = { operator, target: (0,table_name/* displayName */.QC)(targetTable), targetTable, rewriter, caughtBy: [...caughtBy] };
    if (invisibleToCounts)
        plan.invisibleToCounts = invisibleToCounts;
    return plan;
}
// ---------------------------------------------------------------------------------------------
// Names in the dump
/**
 * A name as the dump's bytes spell it. The rewriters read the dump as bytes, one latin1 character
 * each (dump-encoding.ts), so a catalog name beyond ASCII is handed to them in that form; the
 * evidence they write comes back in it too, and the pipeline decodes it once.
 */
function spellerOf(catalog) {
    return name => catalog.dumpNames?.get(name) ?? name;
}
function spellTable(spell, table) {
    return { schema: spell(table.schema), name: spell(table.name) };
}
function spellObject(spell, object) {
    return { schema: spell(object.schema), table: spell(object.table), name: spell(object.name) };
}
// ---------------------------------------------------------------------------------------------
// Choosing targets
function primaryKey(table) {
    const index = table.uniqueIndexes.find(candidate => candidate.primary && !candidate.expression && !candidate.partial);
    return index && index.columns.length > 0 ? index.columns : undefined;
}
/** Tables holding rows, those with a primary key first (their evidence can name the row), then by name. */
function tablesByPreference(tables, minimumRows = 1) {
    return tables
        .filter(table => table.rows >= minimumRows && table.columns.length > 0)
        .sort((a, b) => Number(primaryKey(b) !== undefined) - Number(primaryKey(a) !== undefined) || (0,text_order/* bySchemaAndName */.lz)(a, b));
}
/**
 * Columns whose values another row or the schema cares about: any unique index's, foreign keys',
 * checks' and exclusion constraints' columns, partition keys, and what generated columns and
 * expression or partial indexes compute from (a generated column under a unique index or a check,
 * an index expression that casts). A changed value there could make the restore fail;
 * everywhere else, any value of the column's type is accepted.
 */
function lockedColumns(table) {
    return new Set([
        ...table.uniqueIndexes.flatMap(index => index.columns),
        ...table.constraints.flatMap(constraint => constraint.columns),
        ...(table.partitionKey ?? []),
        ...(table.derivedFrom ?? [])
    ]);
}
/** Free columns (see lockedColumns) of plain base types that `accepts`, in column order. */
function freeColumns(table, accepts) {
    // A unique expression index hides which columns feed it unless the catalog reader listed them.
    if (table.uniqueIndexes.some(index => (index.expression || index.partial) && index.columns.length === 0))
        return [];
    const locked = lockedColumns(table);
    return table.columns.filter(column => !column.generated && !locked.has(column.name) && accepts(column));
}
const TEXT_TYPES = new Set(['text', 'varchar', 'bpchar']);
const NUMBER_TYPES = new Set(['int2', 'int4', 'int8', 'numeric']);
function isPlainText(column) {
    return column.typtype === 'b' && TEXT_TYPES.has(column.type);
}
function isPlainNumber(column) {
    return column.typtype === 'b' && NUMBER_TYPES.has(column.type);
}
/** The first table (in preference order) with candidate columns, and those columns, best first. */
function firstWithColumns(tables, candidates, likely) {
    const found = tables.map(table => ({ table, columns: candidates(table) })).filter(entry => entry.columns.length > 0);
    // Columns the statistics say hold what the operator needs go first, and so do their tables.
    const rank = (entry) => Number(!entry.columns.some(likely));
    const best = found
        .map((entry, order) => ({ entry, order }))
        .sort((a, b) => rank(a.entry) - rank(b.entry) || a.order - b.order)[0];
    if (!best)
        return undefined;
    const columns = [...best.entry.columns].sort((a, b) => Number(!likely(a)) - Number(!likely(b)));
    return { table: best.entry.table, columns };
}
function planDropRow(catalog) {
    // A row some foreign key may point at cannot go without breaking the restore.
    const table = tablesByPreference(catalog.tables).find(candidate => candidate.referencedBy?.length === 0);
    if (!table)
        return undefined;
    const spell = spellerOf(catalog);
    return dataPlan('drop-row', table, dropRowRewriter(spellTable(spell, table), primaryKey(table)?.map(spell)), ROW_COUNT_CHECKS);
}
function planMutateCell(catalog) {
    const chosen = firstWithColumns(tablesByPreference(catalog.tables), table => freeColumns(table, column => isPlainText(column) || isPlainNumber(column)), column => column.nullFraction === undefined || column.nullFraction < 1);
    if (!chosen)
        return undefined;
    const spell = spellerOf(catalog);
    const columns = chosen.columns.map(column => ({ name: spell(column.name), digitsOnly: isPlainNumber(column) }));
    return dataPlan('mutate-cell', chosen.table, mutateCellRewriter(spellTable(spell, chosen.table), columns, primaryKey(chosen.table)?.map(spell)), ['checksums'], 'one changed character leaves the row count as it was: only a content checksum sees it');
}
function planSwapValues(catalog) {
    // Any type will do: each value moves to a row of the same column, where it was already valid.
    const chosen = firstWithColumns(tablesByPreference(catalog.tables, 2), table => freeColumns(table, () => true), () => true);
    if (!chosen)
        return undefined;
    const spell = spellerOf(catalog);
    return dataPlan('swap-values', chosen.table, swapValuesRewriter(spellTable(spell, chosen.table), chosen.columns.map(column => spell(column.name)), primaryKey(chosen.table)?.map(spell)), ['checksums'], "two rows exchanging a value keep the row count and every column's values: only a checksum over whole rows sees it");
}
function planDuplicateRow(catalog) {
    // Only where no unique index or exclusion constraint would reject the twin.
    const table = tablesByPreference(catalog.tables).find(candidate => candidate.uniqueIndexes.length === 0 && !candidate.constraints.some(constraint => constraint.type === 'x'));
    if (!table)
        return undefined;
    return dataPlan('duplicate-row', table, duplicateRowRewriter(spellTable(spellerOf(catalog), table)), ROW_COUNT_CHECKS);
}
function planNullToEmpty(catalog) {
    const chosen = firstWithColumns(tablesByPreference(catalog.tables), table => freeColumns(table, column => isPlainText(column) && column.notNull === false), column => column.nullFraction === undefined || column.nullFraction > 0);
    if (!chosen)
        return undefined;
    const spell = spellerOf(catalog);
    return dataPlan('null-to-empty', chosen.table, nullToEmptyRewriter(spellTable(spell, chosen.table), chosen.columns.map(column => spell(column.name)), primaryKey(chosen.table)?.map(spell)), ['checksums'], "a NULL turned into '' leaves the row count as it was: only a checksum that tells NULL from '' sees it");
}
function planTruncate(catalog) {
    // The biggest table, cut in the middle of its data as by an interrupted upload.
    const table = catalog.tables
        .filter(candidate => candidate.rows >= 2 && candidate.columns.length > 0)
        .sort((a, b) => b.rows - a.rows || (0,text_order/* bySchemaAndName */.lz)(a, b))[0];
    if (!table)
        return undefined;
    const rewriter = truncateRewriter(spellTable(spellerOf(catalog), table), Math.floor(table.rows / 2));
    return dataPlan('truncate', table, rewriter, ['restore', 'counts', 'checksums']);
}
function planDropIndex(catalog) {
    const index = catalog.indexes
        .filter(candidate => !candidate.backsConstraint && !candidate.usedByForeignKey && !candidate.partitioned)
        .filter(candidate => !candidate.namedElsewhere)
        .sort((a, b) => Number(a.unique) - Number(b.unique) || (0,text_order/* bySchemaAndName */.lz)(a, b) || (0,text_order/* compareText */.n6)(a.table, b.table))[0];
    if (!index)
        return undefined;
    return {
        operator: 'drop-index',
        target: `index ${(0,table_name/* displayName */.QC)(index)}`,
        targetObject: { kind: 'index', schema: index.schema, table: index.table, name: index.name },
        rewriter: dropIndexRewriter(spellObject(spellerOf(catalog), index)),
        caughtBy: ['schema']
    };
}
// Foreign keys first: nothing else in a dump depends on one.
const CONSTRAINT_PREFERENCE = ['f', 'u', 'c', 'x'];
function droppableConstraint(constraint) {
    if (!constraint.local || !constraint.separate || constraint.namedElsewhere)
        return false;
    switch (constraint.type) {
        case 'f':
            // On a partitioned table its clones on the partitions go with it, which restores fine.
            return true;
        case 'u':
        case 'x':
            // A partitioned key's index is attached to its partitions' later; a foreign key needs the index.
            return !constraint.inTree && !constraint.usedByForeignKey;
        case 'c':
            // Children of an inheritance tree must carry their parent's checks.
            return !constraint.inTree;
        case 'p':
            return false;
    }
}
function planDropConstraint(catalog) {
    const rank = (constraint) => CONSTRAINT_PREFERENCE.indexOf(constraint.type);
    const constraint = catalog.constraints
        .filter(droppableConstraint)
        .sort((a, b) => rank(a) - rank(b) || (0,text_order/* compareText */.n6)(a.schema, b.schema) || (0,text_order/* compareText */.n6)(a.table, b.table) || (0,text_order/* compareText */.n6)(a.name, b.name))[0];
    if (!constraint)
        return undefined;
    return {
        operator: 'drop-constraint',
        target: `constraint ${(0,table_name/* displayIdentifier */.UY)(constraint.name)} on ${(0,table_name/* displayName */.QC)({ schema: constraint.schema, name: constraint.table })}`,
        targetObject: { kind: 'constraint', schema: constraint.schema, table: constraint.table, name: constraint.name },
        rewriter: dropConstraintRewriter({ ...constraint, ...spellObject(spellerOf(catalog), constraint) }),
        caughtBy: ['schema']
    };
}
function planSequenceReset(catalog) {
    // A used sequence only: one never called already sits where a reset would put it.
    const sequence = catalog.sequences
        .filter(candidate => candidate.lastValue !== null)
        .sort((a, b) => Number(b.ownerRows > 0) - Number(a.ownerRows > 0) || (0,text_order/* bySchemaAndName */.lz)(a, b))[0];
    if (!sequence)
        return undefined;
    return {
        operator: 'sequence-reset',
        target: `sequence ${(0,table_name/* displayName */.QC)(sequence)}`,
        targetObject: { kind: 'sequence', schema: sequence.schema, name: sequence.name },
        rewriter: sequenceResetRewriter({ ...sequence, ...spellTable(spellerOf(catalog), sequence) }),
        caughtBy: ['sequences', 'schema']
    };
}
function planMutateLargeObject(catalog) {
    if (catalog.largeObject === undefined)
        return undefined;
    return {
        operator: 'mutate-large-object',
        target: `large object ${catalog.largeObject}`,
        // Large objects have no schema; the comparison names them by OID.
        targetObject: { kind: 'large object', schema: '', name: catalog.largeObject },
        rewriter: largeObjectRewriter(catalog.largeObject),
        caughtBy: ['schema']
    };
}
function planMutateFunction(catalog) {
    const fn = catalog.functions?.[0];
    if (!fn)
        return undefined;
    const spell = spellerOf(catalog);
    return {
        operator: 'mutate-function',
        target: `function ${(0,table_name/* displayName */.QC)(fn)}(${fn.arguments})`,
        targetObject: { kind: 'function', schema: fn.schema, name: fn.name, signature: fn.signature },
        rewriter: mutateFunctionRewriter({ schema: spell(fn.schema), name: spell(fn.name), arguments: spell(fn.arguments) }),
        caughtBy: ['schema']
    };
}
// ---------------------------------------------------------------------------------------------
// Rogue row
const INTEGER_TYPES = new Set(['int2', 'int4', 'int8', 'numeric']);
const ROGUE_TEXT_TYPES = new Set(['text', 'varchar']);
function freshKind(column) {
    if (column.typtype !== 'b' || column.generated)
        return undefined;
    if (INTEGER_TYPES.has(column.type))
        return 'integer';
    if (column.type === 'uuid')
        return 'uuid';
    if (ROGUE_TEXT_TYPES.has(column.type) && (column.typmod < 0 || column.typmod - 4 >= ROGUE_TEXT_LENGTH))
        return 'text';
    return undefined;
}
/**
 * Picks the table for a rogue row and the columns that must get fresh values. A rogue row is a
 * copy of an existing row (so every other constraint still holds) whose unique columns get
 * values nobody has; a table without keys gets one column changed so the row is new.
 * Tables are skipped where a fresh value could break the restore: keys that are foreign keys,
 * under a check or exclusion constraint, generated, expressions, or of other types; partitions,
 * whose bounds a new key could leave.
 */
function chooseRogueRowTarget(tables) {
    const candidates = [];
    for (const table of tables) {
        if (table.rows === 0 || table.partition)
            continue;
        const target = rogueRowPlan(table);
        if (target)
            candidates.push({ target, hasPrimaryKey: table.uniqueIndexes.some(index => index.primary), rows: table.rows });
    }
    candidates.sort((a, b) => Number(b.hasPrimaryKey) - Number(a.hasPrimaryKey) ||
        b.rows - a.rows ||
        (0,text_order/* compareText */.n6)((0,table_name/* displayName */.QC)(a.target), (0,table_name/* displayName */.QC)(b.target)));
    return candidates[0]?.target;
}
function rogueRowPlan(table) {
    if (table.constraints.some(constraint => constraint.type === 'x'))
        return undefined;
    const constrained = new Set(table.constraints.filter(constraint => constraint.type !== 'x').flatMap(constraint => constraint.columns));
    const columnsByName = new Map(table.columns.map(column => [column.name, column]));
    const plan = (names) => {
        const fresh = [];
        for (const name of names) {
            const column = columnsByName.get(name);
            const kind = column && !constrained.has(name) ? freshKind(column) : undefined;
            if (!column || !kind)
                return undefined;
            fresh.push({ name, kind, maxLength: column.typmod > 4 && kind === 'text' ? column.typmod - 4 : undefined });
        }
        return fresh;
    };
    if (table.uniqueIndexes.length > 0) {
        if (table.uniqueIndexes.some(index => index.expression))
            return undefined;
        const keyColumns = [...new Set(table.uniqueIndexes.flatMap(index => index.columns))];
        const fresh = plan(keyColumns);
        return fresh ? { schema: table.schema, name: table.name, freshColumns: fresh } : undefined;
    }
    for (const column of table.columns) {
        const fresh = plan([column.name]);
        if (fresh)
            return { schema: table.schema, name: table.name, freshColumns: fresh };
    }
    return undefined;
}

;// CONCATENATED MODULE: ./src/engines/postgres/maintenance.ts




const maintenance_INSUFFICIENT_PRIVILEGE = '42501';
/** CREATE DATABASE found the name taken. */
const DUPLICATE_DATABASE = '42P04';
/**
 * CREATE DATABASE refuses production's locale on this clean room: a locale name the server's
 * operating system does not have is "invalid locale name" (wrong_object_type, in every major);
 * one it has, but not for the encoding, is "encoding ... does not match locale" (invalid_parameter_value).
 */
const LOCALE_REFUSED = new Set(['42809', '22023']);
const OBJECT_IN_USE = '55006';
/** Plain DROP DATABASE already waits 5 s for other sessions; a few more tries cover a slow exit. */
const DROP_ATTEMPTS = 4;
/**
 * The clean room's maintenance handle: the only session that may create, mark or drop a
 * database. Production's sessions are plain DatabaseSessions, which have no such method, so a
 * drop aimed at production does not compile. It is PostgreSQL's SeamMaintenance (engines/types.ts):
 * the clean room (run/cleanroom.ts) creates, marks and drops scratch databases through it, and
 * reads it as a seam session like any other DatabaseSession.
 */
class MaintenanceSession extends DatabaseSession {
    /** Opens a maintenance session on the clean room (its maintenance database, as the URI names it). */
    static async openMaintenance(target) {
        return DatabaseSession.connect(target, 'cleanroom', (...session) => new MaintenanceSession(...session));
    }
    /** Whether the connected role may create databases. */
    async canCreateDatabases() {
        const [row] = await this.query('SELECT current_user AS role, (rolcreatedb OR rolsuper) AS allowed FROM pg_catalog.pg_roles WHERE rolname = current_user');
        return row;
    }
    /** The mark on a database (its comment), or undefined (none, or no such database). */
    async scratchMarker(name) {
        const rows = await this.query(`SELECT pg_catalog.shobj_description(oid, 'pg_database') AS comment FROM pg_catalog.pg_database WHERE datname = $1`, [name]);
        return rows[0]?.comment ?? undefined;
    }
    /** Marks a database as Lazarus's with a comment, which no read of a restored copy shows. */
    async markScratchDatabase(name, marker) {
        await this.run(`COMMENT ON DATABASE ${quoteIdent(name)} IS ${quoteLiteral(marker)}`);
    }
    /**
     * Creates an empty database from template0, so nothing from the clean room's template1 leaks
     * in, in production's encoding, LC_COLLATE and LC_CTYPE (the collation's when none is given).
     * A name taken already (someone else's database) is a ScratchNameTaken: never this run's to drop.
     */
    async createScratchDatabase(name, defaults) {
        const collate = defaults.collation;
        const ctype = defaults.characterType ?? collate;
        const base = `CREATE DATABASE ${quoteIdent(name)} TEMPLATE template0 ENCODING ${quoteLiteral(defaults.characterSet)}`;
        try {
            try {
                await this.run(`${base} LC_COLLATE ${quoteLiteral(collate)} LC_CTYPE ${quoteLiteral(ctype)}`);
                return { collationFallback: false };
            }
            catch (error) {
                // The clean room may lack production's locale; the data restores the same under C. Any
                // other refusal comes back from the second CREATE DATABASE as it is.
                if (!LOCALE_REFUSED.has(error.code ?? ''))
                    throw error;
                await this.run(`${base} LC_COLLATE 'C' LC_CTYPE 'C'`);
                return { collationFallback: true, fallback: { lacking: `locale '${collate}'`, using: 'C' } };
            }
        }
        catch (error) {
            if (error.code !== DUPLICATE_DATABASE)
                throw error;
            throw new errors/* ScratchNameTaken */.HN(`The clean room (${describe(this.target)}) already has a database named ${name}, which this run did not create: ` +
                `Lazarus leaves it alone and stops. Run again (every run names its scratch databases afresh).`);
        }
    }
    /**
     * Drops a database, and first the subscriptions a restore put in it (dropSubscriptions).
     * WITH (FORCE) (PostgreSQL 13+) ends sessions a killed restore left behind,
     * but a role that is not a superuser may not end sessions of other roles, and an autovacuum
     * worker that just started on the fresh database is one: then a plain DROP, which stops
     * autovacuum itself, retried while the last sessions go away.
     */
    async dropDatabase(name) {
        await this.dropSubscriptions(name);
        const drop = `DROP DATABASE IF EXISTS ${quoteIdent(name)}`;
        if ((await this.serverFacts()).major >= 13) {
            try {
                await this.run(`${drop} WITH (FORCE)`);
                return;
            }
            catch (error) {
                if (error.code !== maintenance_INSUFFICIENT_PRIVILEGE)
                    throw error;
            }
        }
        for (let attempt = 1;; attempt++) {
            try {
                await this.run(drop);
                return;
            }
            catch (error) {
                if (error.code !== OBJECT_IN_USE || attempt >= DROP_ATTEMPTS)
                    throw error;
                await new Promise(resolve => setTimeout(resolve, 500));
            }
        }
    }
    /** Whether a database of this name exists on the clean room. */
    async databaseExists(name) {
        const rows = await this.query('SELECT 1 FROM pg_catalog.pg_database WHERE datname = $1', [name]);
        return rows.length > 0;
    }
    /**
     * A production subscription restored into a scratch database (pg_dump writes it with `connect =
     * false`, so it never connected) keeps DROP DATABASE from running, and DROP SUBSCRIPTION would
     * connect to production's publisher to drop the slot it names. So each one is disabled, detached
     * from its slot (slot_name = NONE: nothing is dropped on the publisher) and dropped, from inside
     * the scratch database. Any role may read a subscription's name and database.
     */
    async dropSubscriptions(database) {
        const subscriptions = await this.query(`SELECT s.subname AS name FROM pg_catalog.pg_subscription s JOIN pg_catalog.pg_database d ON d.oid = s.subdbid
       WHERE d.datname = $1`, [database]);
        if (subscriptions.length === 0)
            return;
        const session = await DatabaseSession.open(withDatabase(this.target, database), 'cleanroom');
        try {
            for (const { name } of subscriptions) {
                const subscription = quoteIdent(name);
                await session.query(`ALTER SUBSCRIPTION ${subscription} DISABLE`);
                await session.query(`ALTER SUBSCRIPTION ${subscription} SET (slot_name = NONE)`);
                await session.query(`DROP SUBSCRIPTION ${subscription}`);
            }
        }
        finally {
            await session.close();
        }
    }
}

;// CONCATENATED MODULE: ./src/engines/postgres/predefined-roles.ts
/**
 * PostgreSQL's predefined roles (src/include/catalog/pg_authid.dat of each release), with the
 * major that brought each. No one may create a role named `pg_*`, so a production newer than the
 * clean room can name a predefined role (owner of a schema, grantee of a GRANT) that the clean
 * room neither has nor can create. Such a role is played by a stand-in (cleanroom-roles.ts): a
 * Lazarus role without rights that the replayed statements name in its place and that is read
 * back under the predefined role's name, so owners and ACLs are compared by name, as they are
 * for every other role. What the predefined role implies (pg_read_all_data reads every table)
 * is a property of the server, not of the backup: the stand-in has none of it. Pure.
 */
const PREDEFINED_ROLES = {
    pg_signal_backend: 9,
    pg_monitor: 10,
    pg_read_all_settings: 10,
    pg_read_all_stats: 10,
    pg_stat_scan_tables: 10,
    pg_read_server_files: 11,
    pg_write_server_files: 11,
    pg_execute_server_program: 11,
    pg_database_owner: 14,
    pg_read_all_data: 14,
    pg_write_all_data: 14,
    pg_checkpoint: 15,
    pg_use_reserved_connections: 16,
    pg_create_subscription: 16,
    pg_maintain: 17,
    pg_signal_autovacuum_worker: 18
};
/** Whether a role name is in the namespace reserved for predefined roles (CREATE ROLE refuses it). */
function isReservedRoleName(name) {
    return name.startsWith('pg_');
}
/** The predefined roles a server of `major` lacks (those of newer majors), sorted. */
function predefinedRolesNewerThan(major) {
    return Object.entries(PREDEFINED_ROLES)
        .filter(([, since]) => since > major)
        .map(([name]) => name)
        .sort();
}

// EXTERNAL MODULE: external "node:stream/promises"
var promises_ = __webpack_require__(46466);
// EXTERNAL MODULE: ./node_modules/@actions/core/lib/core.js + 7 modules
var core = __webpack_require__(33838);
;// CONCATENATED MODULE: ./src/engines/postgres/privileged-statements.ts
/**
 * pg_dump's own ownership and privilege statements, recognised by a strict grammar so that they
 * can leave the unprivileged restore (restore-role: unprivileged) and be replayed afterwards by
 * the clean-room role, which may create roles and hand objects to them. Pure.
 *
 * Why a strict grammar: the replay runs with the clean-room role's rights (a superuser). Only a
 * line that starts and ends at the top level between statements (the sanitizer's lexer decides,
 * sanitize-rules.ts and dump-lexer.ts) AND is, as a whole, one of the forms below leaves the
 * unprivileged stream; everything else, whatever it looks like, stays there and runs as the
 * restore role. The forms are what pg_dump 12 to 18 write (dumputils.c buildACLCommands,
 * pg_backup_archiver.c _printTocEntry and _getObjectDescription):
 *   [ALTER DEFAULT PRIVILEGES FOR ROLE r [IN SCHEMA s] ]GRANT privs ON kind name TO grantee[ WITH GRANT OPTION];
 *   [ALTER DEFAULT PRIVILEGES ...]REVOKE [GRANT OPTION FOR ]privs ON kind name FROM grantee;
 *   ALTER kind name OWNER TO role;    ALTER LARGE OBJECT n OWNER TO role;
 *   SET SESSION AUTHORIZATION role;   RESET SESSION AUTHORIZATION;   (a grant made by another grantor)
 * Names are pg_dump's fmtId: bare lowercase words or double-quoted on one line; function
 * signatures are pg_get_function_identity_arguments' words, quoted names, dots, commas and [].
 * None of these statements runs code: they only write the catalog (the pass checks beforehand
 * that no event trigger exists, privileged-pass.ts). The same grammar is written for GNU sed
 * (the stream) and for JavaScript (the drill's copies, and the check before the replay).
 */
function builder(flavor, slots) {
    const capture = (kind, pattern) => {
        if (flavor === 'sed')
            return `(${pattern})`;
        slots.push(kind);
        return `(${pattern})`;
    };
    return {
        flavor,
        group: pattern => (flavor === 'sed' ? `(${pattern})` : `(?:${pattern})`),
        role: pattern => capture('role', pattern),
        schema: pattern => capture('schema', pattern)
    };
}
/** The forms, each built for one flavor; `slots` says what each JavaScript capture is. */
function privileged_statements_forms(flavor) {
    const build = (make) => {
        const slots = [];
        return { source: make(builder(flavor, slots)), slots };
    };
    // A quoted name may hold line breaks (pg_dump writes them as they are): the statement then spans lines.
    const name = (b) => b.group('[a-z_][a-z0-9_$]*|"' + b.group('[^"]|""') + '*"');
    const qualified = (b) => `${b.schema(name(b))}\\.${name(b)}`;
    // One argument of a function's identity: mode, name and type words, dots, trailing [].
    const argWord = (b) => b.group(`${name(b)}|IN|OUT|INOUT|VARIADIC`);
    const argument = (b) => `${argWord(b)}${b.group(`[ .]${argWord(b)}`)}*${b.group('\\[\\]')}*`;
    const signature = (b) => `\\(${b.group(`${argument(b)}${b.group(`, ${argument(b)}`)}*`)}?\\)`;
    // An aggregate's: also (*) and the ORDER BY of an ordered-set aggregate.
    const aggregateSignature = (b) => `\\(${b.group(`\\*|${argument(b)}${b.group(`, ${argument(b)}`)}*${b.group(` ORDER BY ${argument(b)}${b.group(`, ${argument(b)}`)}*`)}?`)}?\\)`;
    const roleName = (b) => b.role(name(b));
    const grantee = (b) => b.group(`PUBLIC|GROUP ${roleName(b)}|${roleName(b)}`);
    const privilege = (b) => `${b.group('ALL|SELECT|INSERT|UPDATE|DELETE|TRUNCATE|REFERENCES|TRIGGER|MAINTAIN|USAGE|CREATE|CONNECT|TEMPORARY|EXECUTE')}${b.group(`\\(${name(b)}\\)`)}?`;
    const privileges = (b) => `${privilege(b)}${b.group(`,${privilege(b)}`)}*`;
    const grantObject = (b) => b.group([
        `${b.group('TABLE|SEQUENCE|TYPE|DOMAIN')} ${qualified(b)}`,
        `${b.group('FUNCTION|PROCEDURE')} ${qualified(b)}${signature(b)}`,
        `SCHEMA ${b.schema(name(b))}`,
        `${b.group('LANGUAGE|FOREIGN DATA WRAPPER|FOREIGN SERVER')} ${name(b)}`,
        'LARGE OBJECT [0-9]+'
    ].join('|'));
    // ALTER DEFAULT PRIVILEGES: no object name, so one or two spaces before TO/FROM by pg_dump's version.
    const defaultObject = (b) => `${b.group('TABLES|SEQUENCES|FUNCTIONS|ROUTINES|TYPES|SCHEMAS')} ?`;
    const defaultPrefix = (b) => `ALTER DEFAULT PRIVILEGES FOR ROLE ${roleName(b)}${b.group(` IN SCHEMA ${b.schema(name(b))}`)}? `;
    const grant = (b, on) => `GRANT ${privileges(b)} ON ${on} TO ${grantee(b)}${b.group(' WITH GRANT OPTION')}?;`;
    const revoke = (b, on) => `REVOKE ${b.group('GRANT OPTION FOR ')}?${privileges(b)} ON ${on} FROM ${grantee(b)};`;
    const operator = (b) => {
        const operand = b.group(`NONE|${argument(b)}`);
        return `OPERATOR ${b.schema(name(b))}\\.[-+*/<>=~!@#%^&|\`?]+ \\(${operand}, ${operand}\\)`;
    };
    const ownedObject = (b) => b.group([
        `${b.group('TABLE|SEQUENCE|VIEW|MATERIALIZED VIEW|FOREIGN TABLE|TYPE|DOMAIN|COLLATION|CONVERSION|STATISTICS|TEXT SEARCH DICTIONARY|TEXT SEARCH CONFIGURATION')} ${qualified(b)}`,
        `${b.group('FUNCTION|PROCEDURE')} ${qualified(b)}${signature(b)}`,
        `AGGREGATE ${qualified(b)}${aggregateSignature(b)}`,
        operator(b),
        `OPERATOR ${b.group('CLASS|FAMILY')} ${qualified(b)} USING ${name(b)}`,
        `SCHEMA ${b.schema(name(b))}`,
        `${b.group('PROCEDURAL LANGUAGE|LANGUAGE|FOREIGN DATA WRAPPER|SERVER|PUBLICATION|SUBSCRIPTION|EVENT TRIGGER')} ${name(b)}`,
        'LARGE OBJECT [0-9]+'
    ].join('|'));
    return [
        build(b => grant(b, grantObject(b))),
        build(b => revoke(b, grantObject(b))),
        build(b => defaultPrefix(b) + grant(b, defaultObject(b))),
        build(b => defaultPrefix(b) + revoke(b, defaultObject(b))),
        build(b => `ALTER ${ownedObject(b)} OWNER TO ${roleName(b)};`),
        build(b => `SET SESSION AUTHORIZATION ${roleName(b)};`),
        build(() => 'RESET SESSION AUTHORIZATION;')
    ];
}
/**
 * The forms as GNU sed extended regular expressions (LC_ALL=C), each matching a whole line
 * without its anchors, for the sanitizing program to route (sanitize-rules.ts).
 */
function privilegedSedPatterns() {
    // The program's addresses are delimited by `/`, which an operator's name may hold.
    return privileged_statements_forms('sed').map(form => form.source.replace(/\//g, '\\/'));
}
/** The words a privileged statement starts with: a cheap test before the forms. */
const PRIVILEGED_START = '(GRANT |REVOKE |ALTER |SET SESSION AUTHORIZATION |RESET SESSION AUTHORIZATION;)';
/** Lines a statement may span: a name is at most 63 bytes, and a form names at most a few. */
const MAX_STATEMENT_LINES = 190;
/**
 * The first lines of a privileged statement that a line break inside a quoted name ended: from
 * its first word on, only what the forms are made of outside quotes (words, numbers, spaces,
 * dots, commas, parentheses, `*`, `[]`) and whole quoted names, then a quoted name still open.
 * So every line break read is inside a quoted identifier, as psql's lexer sees it (no string,
 * comment, dollar quote or operator can start outside the quotes): the sanitizer reads on
 * (N) while the text matches, then tests the whole statement against the forms; a statement
 * that is not one goes to the lexer as it is. JavaScript's flavor adds lookaheads so that no
 * text has two readings (no backtracking blow-up on production's names); sed's matcher needs none.
 */
function privilegedReadOnPattern(flavor) {
    const js = flavor === 'js';
    const word = `[A-Za-z_][A-Za-z0-9_$]*${js ? '(?![A-Za-z0-9_$])' : ''}`;
    const number = `[0-9]+${js ? '(?![0-9])' : ''}`;
    const quoted = `"([^"]|"")*"${js ? '(?!")' : ''}`;
    const start = '(GRANT |REVOKE |ALTER |SET SESSION AUTHORIZATION )';
    return `${start}(${word}|${number}|[ .,()*]|\\[\\]|${quoted})*"([^"]|"")*$`;
}
/**
 * A routed statement on one line of the routed file: its line breaks (inside quoted names) as
 * `\n`, backslashes doubled. The sanitizer (sed) and splitPrivileged write it so; the replay reads
 * it back with decodeRouted.
 */
function encodeRouted(statement) {
    return statement.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}
function decodeRouted(line) {
    return line.replace(/\\(\\|n)/g, (_escape, char) => (char === 'n' ? '\n' : '\\'));
}
const JS_FORMS = privileged_statements_forms('js').map(form => ({ regex: new RegExp(`^${form.source}$`, 'd'), slots: form.slots }));
/**
 * Reads one dump line as a privileged statement, or undefined when it is not exactly one of the
 * forms. The line is latin1-decoded (a character per byte), as the dump's bytes are.
 */
function parsePrivilegedStatement(line) {
    for (const form of JS_FORMS) {
        const match = form.regex.exec(line);
        if (!match)
            continue;
        const roles = [];
        const schemas = [];
        form.slots.forEach((slot, index) => {
            const span = match.indices?.[index + 1];
            if (!span)
                return;
            const text = line.slice(span[0], span[1]);
            if (slot === 'role')
                roles.push({ start: span[0], end: span[1], written: text });
            else
                schemas.push(unquoteName(text));
        });
        return { line, roles, schemas };
    }
    return undefined;
}
/** A name as fmtId wrote it, unquoted. */
function unquoteName(written) {
    return written.startsWith('"') ? written.slice(1, -1).replace(/""/g, '"') : written;
}
/** A name as fmtId writes it: bare when it is a plain lowercase word, quoted otherwise. */
function writeName(name) {
    return /^[a-z_][a-z0-9_$]*$/.test(name) ? name : `"${name.replace(/"/g, '""')}"`;
}
/**
 * The statement with each role that has a stand-in replaced by it (names are compared as the
 * dump's bytes, latin1-decoded, as the stand-in map is keyed).
 */
function withStandIns(statement, standIns) {
    let out = '';
    let at = 0;
    for (const role of statement.roles) {
        const standIn = standIns.get(unquoteName(role.written));
        out += statement.line.slice(at, role.start) + (standIn !== undefined ? writeName(standIn) : role.written);
        at = role.end;
    }
    return out + statement.line.slice(at);
}
/**
 * Schemas whose objects are the clean-room server's own, not the dump's: a grant on them (pg_dump
 * writes those made since initdb, such as EXECUTE on pg_catalog.pg_read_file) would give
 * production's roles rights over the clean-room server's files or its own catalog. They are not
 * replayed, and not compared either (privileges.ts compares the dump's objects only).
 */
const SERVER_SCHEMAS = ['pg_catalog', 'information_schema', 'pg_toast'];
/** Whether a statement touches the server's own objects (see SERVER_SCHEMAS). */
function touchesServerObjects(statement) {
    return statement.schemas.some(schema => SERVER_SCHEMAS.includes(schema) || schema.startsWith('pg_temp'));
}

;// CONCATENATED MODULE: ./src/engines/postgres/restore-failure.ts
/**
 * Where in the dump's object list a restore failed. pg_dump heads every object with a TOC comment
 * (`-- Name: orders; Type: TABLE; Schema: public; Owner: -`, or `-- Data for Name: ...` before a
 * table's rows); psql names the line of its input where it stopped. The last TOC comment at or
 * before that line is the object psql was restoring: a reader learns "TABLE DATA public.orders",
 * not a line number in a dump nobody can see. Pure.
 */
/** The TOC comments pg_dump writes; grep -E and parseTocComment agree on it. */
const TOC_COMMENT_PATTERN = '^-- (Data for )?Name: ';
/** Parses `-- [Data for ]Name: X; Type: T; Schema: S; Owner: O` (Owner may be missing in old dumps). */
function parseTocComment(line) {
    const match = /^-- (?:Data for )?Name: (.*); Type: (.*?); Schema: (.*?)(?:; Owner: .*|; Tablespace: .*)?$/.exec(line);
    if (!match)
        return undefined;
    const [, name, type, schema] = match;
    return { type, name, ...(schema === '-' || schema === '' ? {} : { schema }) };
}
/** The input line psql names in its error (`psql:<stdin>:123: ERROR: ...`), the first one when several. */
function psqlErrorLine(stderr) {
    const match = /^psql:.*?:(\d+): (?:ERROR|FATAL|PANIC|error):/m.exec(stderr);
    return match ? Number(match[1]) : undefined;
}
/**
 * The object being restored at `line`: the last of `entries` (numbered TOC comments in dump
 * order, as `grep -n` prints them: `123:-- Name: ...`) at or before it.
 */
function tocEntryAt(numberedComments, line) {
    let found;
    for (const numbered of numberedComments) {
        const colon = numbered.indexOf(':');
        if (colon < 0)
            continue;
        const at = Number(numbered.slice(0, colon));
        if (!(at <= line))
            break;
        found = parseTocComment(numbered.slice(colon + 1)) ?? found;
    }
    return found;
}
/** "TABLE DATA public.orders", "FUNCTION public.total(integer)", "EXTENSION postgis". */
function describeTocEntry(entry) {
    return `${entry.type} ${entry.schema === undefined ? entry.name : `${entry.schema}.${entry.name}`}`;
}
/**
 * Where a failed restore stopped, in words, or undefined when psql named no line. `entry`
 * undefined with a line: psql stopped in the dump's preamble, before its first object.
 */
function describeFailurePlace(entry, line) {
    if (line === undefined)
        return undefined;
    if (!entry)
        return "in the dump's opening settings, before its first object";
    return `while restoring ${describeTocEntry(entry)}`;
}

;// CONCATENATED MODULE: ./src/engines/postgres/skew-catalogue.ts
/**
 * The version-skew catalogue: what a newer pg_dump (14 to 18) writes, or a newer production
 * holds, that an older clean-room server (12 to 17) or psql rejects. Each entry is either a
 * sanitizer rule that removes a whole top-level statement (or the one clause pg_dump added) and
 * changes nothing the restored copy is compared on, or a stop: no rewrite would restore the
 * same database, so the run ends with an error naming the server to use. Pure data and text.
 *
 * Session settings pg_dump writes (`SET transaction_timeout = 0;` from pg_dump 17 on, and any
 * other) are removed by the generic unknown-setting rule from the clean room's own pg_settings,
 * and meta-commands psql does not know (`\restrict`) by the meta-command rule: see sanitize-rules.ts.
 */
const SKEW_RULES = {
    'identity-sequence-logged': {
        construct: 'SEQUENCE NAME ... LOGGED',
        source: 'pg_dump 15+, for an identity column whose sequence is logged while its table is unlogged (any production before 15)',
        rejectedBelow: 15,
        action: 'remove',
        why: 'before PostgreSQL 15 every sequence is logged, so the clause states the default'
    },
    'identity-sequence-unlogged': {
        construct: 'SEQUENCE NAME ... UNLOGGED',
        source: 'pg_dump 15+, for an unlogged identity sequence of a logged table (production 15+)',
        rejectedBelow: 15,
        action: 'stop',
        why: 'a server before 15 cannot create an unlogged sequence'
    },
    'column-compression': {
        construct: 'ALTER COLUMN ... SET COMPRESSION',
        source: 'pg_dump 14+, for a column whose compression method was set (production 14+)',
        rejectedBelow: 14,
        action: 'remove',
        why: 'the compression method decides how a value is stored on disk, never the value'
    },
    'unlogged-sequence': {
        construct: 'CREATE UNLOGGED SEQUENCE',
        source: 'pg_dump 15+, for an unlogged sequence (production 15+)',
        rejectedBelow: 15,
        action: 'stop',
        why: 'a server before 15 cannot create an unlogged sequence'
    },
    'nulls-not-distinct': {
        construct: 'UNIQUE NULLS NOT DISTINCT',
        source: 'pg_dump 15+, for a unique index or constraint that treats nulls as equal (production 15+)',
        rejectedBelow: 15,
        action: 'stop',
        why: 'without NULLS NOT DISTINCT the key accepts rows production rejects'
    },
    'standard-conforming-strings': {
        construct: 'SET standard_conforming_strings',
        source: "any pg_dump, from the production session's setting",
        rejectedBelow: Infinity,
        action: 'stop',
        why: "the sanitizer reads quotes by production's setting, and the dump declared the other"
    }
};
/** The error for a construct that stopped the stream. */
function stopMessage(rule, line, cleanroomMajor) {
    const entry = SKEW_RULES[rule];
    if (rule === 'standard-conforming-strings') {
        return (`The dump declares '${line.trim()}', unlike production's session when the run started, so the sanitizer ` +
            `cannot tell its strings apart safely: make standard_conforming_strings the same for the role and database ` +
            `Lazarus connects as (ALTER ROLE ... SET / ALTER DATABASE ... SET) and run again.`);
    }
    return (`The dump holds ${entry.construct} (${entry.source}), which PostgreSQL ${cleanroomMajor} rejects, ` +
        `and no rewrite restores it faithfully (${entry.why}): use a clean room running PostgreSQL ${entry.rejectedBelow} or newer.`);
}
/**
 * psql's errors that name a newer construct. Each is matched against the restore's error output;
 * the first that matches explains the failure. `since` is the PostgreSQL major that introduced it.
 */
const KNOWN_FAILURES = [
    { pattern: /unrecognized configuration parameter "([^"]+)"/, construct: 'the session setting $1', since: 0 },
    { pattern: /invalid command \\(restrict|unrestrict)/, construct: 'the psql meta-command \\$1', since: 0 },
    { pattern: /syntax error at or near "(UN)?LOGGED"/, construct: '(UN)LOGGED sequences', since: 15 },
    { pattern: /syntax error at or near "COMPRESSION"/, construct: 'column compression (SET COMPRESSION)', since: 14 },
    { pattern: /syntax error at or near "NULLS"/, construct: 'UNIQUE NULLS NOT DISTINCT', since: 15 },
    {
        pattern: /syntax error at or near "ATOMIC"|syntax error at or near "RETURN"/,
        construct: 'SQL-standard function bodies',
        since: 14
    },
    { pattern: /multirange/, construct: 'multirange types', since: 14 },
    { pattern: /pg_restore_(relation|attribute)_stats/, construct: 'statistics (pg_restore_relation_stats)', since: 18 },
    {
        pattern: /syntax error at or near "MAINTAIN"|unrecognized privilege type "maintain"/i,
        construct: 'the MAINTAIN privilege',
        since: 17
    },
    { pattern: /syntax error at or near "VIRTUAL"/, construct: 'virtual generated columns', since: 18 },
    { pattern: /syntax error at or near "ENFORCED"/, construct: 'NOT ENFORCED constraints', since: 18 },
    {
        pattern: /syntax error at or near "WITHOUT OVERLAPS"|syntax error at or near "OVERLAPS"/,
        construct: 'WITHOUT OVERLAPS keys',
        since: 18
    },
    { pattern: /syntax error at or near "PERIOD"/, construct: 'PERIOD foreign keys', since: 18 },
    { pattern: /type attribute "multirange_type_name" not recognized/, construct: 'multirange types', since: 14 },
    { pattern: /procedures cannot have OUT arguments/, construct: 'procedures with OUT parameters', since: 14 },
    {
        pattern: /unrecognized parameter "(deduplicate_items|autovacuum_vacuum_insert_(?:threshold|scale_factor))"/,
        construct: 'the storage parameter $1',
        since: 13
    },
    { pattern: /unrecognized parameter "(security_invoker)"/, construct: 'the view option $1', since: 15 },
    {
        pattern: /unrecognized parameter "(vacuum_max_eager_freeze_failure_rate)"/,
        construct: 'the storage parameter $1',
        since: 18
    },
    { pattern: /unrecognized collation provider: builtin|provider "builtin"/, construct: 'builtin collations', since: 17 },
    { pattern: /collation attribute "rules" not recognized/, construct: 'ICU collation rules', since: 16 },
    { pattern: /syntax error at or near "INHERIT"/, construct: 'NOT NULL ... NO INHERIT', since: 18 },
    { pattern: /unrecognized (?:publication|subscription) parameter: "([^"]+)"/, construct: 'the replication option $1', since: 0 },
    { pattern: /partitioned tables cannot be unlogged/, construct: 'an unlogged partitioned table', since: 0, removedIn: 18 }
];
/**
 * When a restore failed on something the clean room's version lacks, says what and how to fix
 * it, so that the verdict is not read as a broken backup; undefined when nothing points there.
 */
function explainSkewFailure(context) {
    const { error, cleanroomMajor, productionMajor, pgDumpMajor } = context;
    for (const known of KNOWN_FAILURES) {
        const match = known.pattern.exec(error);
        if (!match)
            continue;
        const construct = known.construct.replace(/\$1/g, match[1] ?? '');
        if (known.removedIn !== undefined) {
            if (cleanroomMajor < known.removedIn)
                continue;
            return (`Version skew: the dump holds ${construct}, which PostgreSQL ${known.removedIn} and later (the clean room runs ` +
                `${cleanroomMajor}) no longer accept. The backup may be sound: use a clean room running PostgreSQL ${known.removedIn - 1} or older.`);
        }
        if (known.since > 0 && known.since <= cleanroomMajor)
            continue;
        const since = known.since > 0 ? `PostgreSQL ${known.since}` : `pg_dump ${pgDumpMajor} or production (PostgreSQL ${productionMajor})`;
        return (`Version skew: the dump uses ${construct}, from ${since}, which the clean room (PostgreSQL ${cleanroomMajor}) does not know. ` +
            `The backup may be sound: use a clean room running PostgreSQL ${known.since > 0 ? Math.max(known.since, productionMajor) : Math.max(pgDumpMajor, productionMajor)} or newer, ` +
            `or a pg_dump as old as production (postgres-bin-dir).`);
    }
    // A newer pg_dump alone is no reason: it writes for the production it dumps, and the catalogue
    // covers what it adds. A newer production may hold what the clean room has never heard of.
    if (productionMajor > cleanroomMajor && /syntax error|does not exist|unrecognized|invalid/.test(error)) {
        return (`Version skew likely: the clean room runs PostgreSQL ${cleanroomMajor}, older than production ` +
            `(PostgreSQL ${productionMajor}), and rejected a statement of the dump. ` +
            `Use a clean room running PostgreSQL ${productionMajor} or newer.`);
    }
    return undefined;
}
/** A user object's namespace is not a system one, and the object is not an extension's (`catalog`, `oid`). */
const userObject = (catalog, oid, namespace) => `${namespace} NOT IN ('pg_catalog'::pg_catalog.regnamespace, 'information_schema'::pg_catalog.regnamespace)
   AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend e WHERE e.classid = '${catalog}'::pg_catalog.regclass AND e.objid = ${oid} AND e.deptype = 'e')`;
/** A relation of production's own (not a system catalog, not an extension's), as `c` (pg_class). */
const userRelation = userObject('pg_catalog.pg_class', 'c.oid', 'c.relnamespace');
/** The subscriptions of the dumped database (pg_subscription is shared by the cluster). */
const thisDatabase = `s.subdbid = (SELECT d.oid FROM pg_catalog.pg_database d WHERE d.datname = pg_catalog.current_database())`;
/**
 * Storage parameters (reloptions) newer than a clean room: pg_dump writes them in WITH (...) of
 * CREATE TABLE / VIEW / INDEX, and an older server rejects the name ("unrecognized parameter").
 * From each release's reloptions.c table; `toast.` variants are read from the TOAST table.
 */
const NEWER_RELOPTIONS = [
    { since: 13, names: ['deduplicate_items', 'autovacuum_vacuum_insert_threshold', 'autovacuum_vacuum_insert_scale_factor'] },
    { since: 15, names: ['security_invoker'] },
    { since: 18, names: ['vacuum_max_eager_freeze_failure_rate'] }
];
function reloptionCheck(since, names) {
    const list = names.map(name => `'${name}'`).join(', ');
    return {
        construct: `storage parameters new in PostgreSQL ${since} (${names.join(', ')})`,
        rejectedBelow: since,
        why: 'an older server does not know the parameter, and without it the relation behaves otherwise',
        writtenBy: 'dumpTableSchema, dumpIndex (WITH (...))',
        sql: `SELECT DISTINCT c.oid::pg_catalog.regclass::text || ' (' || pg_catalog.split_part(o.option, '=', 1) || ')' AS name
          FROM pg_catalog.pg_class c
          LEFT JOIN pg_catalog.pg_class t ON t.oid = c.reltoastrelid
          CROSS JOIN LATERAL pg_catalog.unnest(c.reloptions || COALESCE(t.reloptions, '{}')) AS o(option)
          WHERE pg_catalog.split_part(o.option, '=', 1) IN (${list}) AND ${userRelation}
          ORDER BY 1`
    };
}
/**
 * What a production newer than the clean room may hold that pg_dump writes in a syntax the older
 * server rejects, with no rewrite that restores the same database. Built from pg_dump.c of
 * REL_14_STABLE to REL_18_STABLE (each construct is written only when the server has it: the
 * `remoteVersion >=` branches) and the release notes; found in production's catalog before the
 * dump, so the run ends with the objects named instead of psql's error at a line nobody sees.
 */
const NEWER_PRODUCTION_CHECKS = [
    ...NEWER_RELOPTIONS.map(({ since, names }) => reloptionCheck(since, names)),
    {
        construct: 'statistics targets of extended statistics (ALTER STATISTICS ... SET STATISTICS)',
        rejectedBelow: 13,
        why: 'PostgreSQL 12 has no statistics target for a statistics object',
        writtenBy: 'dumpStatisticsExt',
        sql: `SELECT c.stxnamespace::pg_catalog.regnamespace::text || '.' || pg_catalog.quote_ident(c.stxname) AS name
          FROM pg_catalog.pg_statistic_ext c
          WHERE c.stxstattarget IS NOT NULL AND c.stxstattarget <> -1
            AND ${userObject('pg_catalog.pg_statistic_ext', 'c.oid', 'c.stxnamespace')}
          ORDER BY 1`
    },
    {
        construct: 'publications with publish_via_partition_root',
        rejectedBelow: 13,
        why: 'PostgreSQL 12 publishes each partition as itself',
        writtenBy: 'dumpPublication',
        sql: `SELECT pg_catalog.quote_ident(p.pubname) AS name FROM pg_catalog.pg_publication p WHERE p.pubviaroot ORDER BY 1`
    },
    {
        construct: 'SQL-standard function bodies (BEGIN ATOMIC, RETURN)',
        rejectedBelow: 14,
        why: 'a body kept as parsed SQL has no text form an older server reads the same way',
        writtenBy: 'dumpFunc (pg_get_function_sqlbody)',
        sql: `SELECT p.oid::pg_catalog.regprocedure::text AS name FROM pg_catalog.pg_proc p
          WHERE p.prosqlbody IS NOT NULL AND ${userObject('pg_catalog.pg_proc', 'p.oid', 'p.pronamespace')}
          ORDER BY 1`
    },
    {
        construct: 'range types (PostgreSQL 14 gives each a multirange type: multirange_type_name)',
        rejectedBelow: 14,
        why: 'an older server has no multirange types, so the restored database lacks one production has',
        writtenBy: 'dumpRangeType',
        sql: `SELECT r.rngtypid::pg_catalog.regtype::text AS name FROM pg_catalog.pg_range r JOIN pg_catalog.pg_type t ON t.oid = r.rngtypid
          WHERE ${userObject('pg_catalog.pg_type', 't.oid', 't.typnamespace')}
          ORDER BY 1`
    },
    {
        construct: 'procedures with OUT parameters',
        rejectedBelow: 14,
        why: 'before PostgreSQL 14 a procedure cannot have OUT parameters',
        writtenBy: 'dumpFunc',
        sql: `SELECT p.oid::pg_catalog.regprocedure::text AS name FROM pg_catalog.pg_proc p
          WHERE p.prokind = 'p' AND 'o' = ANY (p.proargmodes) AND ${userObject('pg_catalog.pg_proc', 'p.oid', 'p.pronamespace')}
          ORDER BY 1`
    },
    {
        construct: 'extended statistics on expressions',
        rejectedBelow: 14,
        why: 'before PostgreSQL 14 a statistics object names columns only',
        writtenBy: 'dumpStatisticsExt (pg_get_statisticsobjdef)',
        sql: `SELECT c.stxnamespace::pg_catalog.regnamespace::text || '.' || pg_catalog.quote_ident(c.stxname) AS name
          FROM pg_catalog.pg_statistic_ext c
          WHERE c.stxexprs IS NOT NULL AND ${userObject('pg_catalog.pg_statistic_ext', 'c.oid', 'c.stxnamespace')}
          ORDER BY 1`
    },
    {
        construct: 'base types with a subscript handler (CREATE TYPE ... SUBSCRIPT)',
        rejectedBelow: 14,
        why: 'before PostgreSQL 14 only arrays take subscripts',
        writtenBy: 'dumpBaseType',
        sql: `SELECT t.oid::pg_catalog.regtype::text AS name FROM pg_catalog.pg_type t
          WHERE t.typtype = 'b' AND t.typsubscript <> 0
            AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_type e WHERE e.typarray = t.oid)
            AND ${userObject('pg_catalog.pg_type', 't.oid', 't.typnamespace')}
          ORDER BY 1`
    },
    {
        construct: 'unlogged sequences (CREATE UNLOGGED SEQUENCE, or an unlogged table’s identity sequence)',
        rejectedBelow: 15,
        why: 'a server before 15 cannot create an unlogged sequence',
        writtenBy: 'dumpSequence',
        sql: `SELECT c.oid::pg_catalog.regclass::text AS name FROM pg_catalog.pg_class c
          WHERE c.relkind = 'S' AND c.relpersistence = 'u' AND ${userRelation}
          ORDER BY 1`
    },
    {
        construct: 'unique keys with NULLS NOT DISTINCT',
        rejectedBelow: 15,
        why: 'without NULLS NOT DISTINCT the key accepts rows production rejects',
        writtenBy: 'dumpIndex (pg_get_indexdef), dumpConstraint',
        sql: `SELECT i.indexrelid::pg_catalog.regclass::text AS name FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid
          WHERE i.indnullsnotdistinct AND ${userRelation}
          ORDER BY 1`
    },
    {
        construct: 'foreign keys with ON DELETE SET NULL / SET DEFAULT of chosen columns',
        rejectedBelow: 15,
        why: 'before PostgreSQL 15 such an action sets every column of the key',
        writtenBy: 'dumpConstraint (pg_get_constraintdef)',
        sql: `SELECT k.conrelid::pg_catalog.regclass::text || '.' || pg_catalog.quote_ident(k.conname) AS name
          FROM pg_catalog.pg_constraint k JOIN pg_catalog.pg_class c ON c.oid = k.conrelid
          WHERE k.contype = 'f' AND k.confdelsetcols IS NOT NULL AND pg_catalog.cardinality(k.confdelsetcols) > 0 AND ${userRelation}
          ORDER BY 1`
    },
    {
        construct: 'publications of schemas, column lists or row filters',
        rejectedBelow: 15,
        why: 'before PostgreSQL 15 a publication lists whole tables only',
        writtenBy: 'dumpPublicationNamespace, dumpPublicationTable',
        sql: `SELECT DISTINCT pg_catalog.quote_ident(p.pubname) AS name FROM pg_catalog.pg_publication p
          WHERE EXISTS (SELECT 1 FROM pg_catalog.pg_publication_namespace n WHERE n.pnpubid = p.oid)
             OR EXISTS (SELECT 1 FROM pg_catalog.pg_publication_rel r WHERE r.prpubid = p.oid AND (r.prattrs IS NOT NULL OR r.prqual IS NOT NULL))
          ORDER BY 1`
    },
    {
        construct: 'subscriptions with two_phase or disable_on_error',
        rejectedBelow: 15,
        why: 'an older server does not know the option',
        writtenBy: 'dumpSubscription',
        sql: `SELECT pg_catalog.quote_ident(s.subname) AS name FROM pg_catalog.pg_subscription s
          WHERE ${thisDatabase} AND (s.subtwophasestate <> 'd' OR s.subdisableonerr) ORDER BY 1`
    },
    {
        construct: 'ICU collations with tailoring rules (rules = ...)',
        rejectedBelow: 16,
        why: 'before PostgreSQL 16 a collation has no rules',
        writtenBy: 'dumpCollation',
        sql: `SELECT c.oid::pg_catalog.regcollation::text AS name FROM pg_catalog.pg_collation c
          WHERE c.collicurules IS NOT NULL AND ${userObject('pg_catalog.pg_collation', 'c.oid', 'c.collnamespace')}
          ORDER BY 1`
    },
    {
        construct: 'subscriptions with origin, password_required = false, run_as_owner or streaming = parallel (the default from PostgreSQL 18)',
        rejectedBelow: 16,
        why: 'an older server does not know the option',
        writtenBy: 'dumpSubscription',
        sql: `SELECT pg_catalog.quote_ident(s.subname) AS name FROM pg_catalog.pg_subscription s
          WHERE ${thisDatabase} AND (s.suborigin <> 'any' OR NOT s.subpasswordrequired OR s.subrunasowner OR s.substream = 'p')
          ORDER BY 1`
    },
    {
        construct: 'collations of the builtin provider',
        rejectedBelow: 17,
        why: 'before PostgreSQL 17 there is no builtin collation provider',
        writtenBy: 'dumpCollation',
        sql: `SELECT c.oid::pg_catalog.regcollation::text AS name FROM pg_catalog.pg_collation c
          WHERE c.collprovider = 'b' AND ${userObject('pg_catalog.pg_collation', 'c.oid', 'c.collnamespace')}
          ORDER BY 1`
    },
    {
        construct: 'identity columns of partitioned tables',
        rejectedBelow: 17,
        why: 'before PostgreSQL 17 a partitioned table cannot have an identity column',
        writtenBy: 'dumpSequence (ALTER TABLE ... ADD GENERATED ... AS IDENTITY)',
        sql: `SELECT c.oid::pg_catalog.regclass::text || '.' || pg_catalog.quote_ident(a.attname) AS name
          FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
          WHERE c.relkind = 'p' AND a.attidentity <> '' AND NOT a.attisdropped AND ${userRelation}
          ORDER BY 1`
    },
    {
        construct: 'exclusion constraints of partitioned tables',
        rejectedBelow: 17,
        why: 'before PostgreSQL 17 a partitioned table cannot have an exclusion constraint',
        writtenBy: 'dumpConstraint',
        sql: `SELECT k.conrelid::pg_catalog.regclass::text || '.' || pg_catalog.quote_ident(k.conname) AS name
          FROM pg_catalog.pg_constraint k JOIN pg_catalog.pg_class c ON c.oid = k.conrelid
          WHERE k.contype = 'x' AND c.relkind = 'p' AND ${userRelation}
          ORDER BY 1`
    },
    {
        construct: 'subscriptions with failover',
        rejectedBelow: 17,
        why: 'an older server does not know the option',
        writtenBy: 'dumpSubscription',
        sql: `SELECT pg_catalog.quote_ident(s.subname) AS name FROM pg_catalog.pg_subscription s
          WHERE ${thisDatabase} AND s.subfailover ORDER BY 1`
    },
    {
        // pg_dump writes GRANT ALL for a grantee with every table privilege, which an older server
        // reads as its own ALL; MAINTAIN by name only when the grantee lacks another privilege.
        construct: 'the MAINTAIN privilege granted on its own (GRANT MAINTAIN, or in default privileges)',
        rejectedBelow: 17,
        why: 'before PostgreSQL 17 there is no MAINTAIN privilege',
        writtenBy: 'dumpACL, dumpDefaultACL (buildACLCommands)',
        privileges: true,
        sql: `SELECT DISTINCT c.oid::pg_catalog.regclass::text AS name
          FROM pg_catalog.pg_class c CROSS JOIN LATERAL pg_catalog.aclexplode(c.relacl) a
          WHERE a.privilege_type = 'MAINTAIN' AND ${userRelation}
            AND (SELECT count(*) FROM pg_catalog.aclexplode(c.relacl) b WHERE b.grantee = a.grantee AND b.grantor = a.grantor) < 8
          UNION
          SELECT DISTINCT 'default privileges of ' || d.defaclrole::pg_catalog.regrole::text
          FROM pg_catalog.pg_default_acl d CROSS JOIN LATERAL pg_catalog.aclexplode(d.defaclacl) a
          WHERE a.privilege_type = 'MAINTAIN'
            AND (SELECT count(*) FROM pg_catalog.aclexplode(d.defaclacl) b WHERE b.grantee = a.grantee AND b.grantor = a.grantor) < 8
          ORDER BY 1`
    },
    {
        construct: 'virtual generated columns',
        rejectedBelow: 18,
        why: 'before PostgreSQL 18 a generated column is stored',
        writtenBy: 'dumpTableSchema (GENERATED ALWAYS AS (...) without STORED)',
        sql: `SELECT c.oid::pg_catalog.regclass::text || '.' || pg_catalog.quote_ident(a.attname) AS name
          FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
          WHERE a.attgenerated = 'v' AND NOT a.attisdropped AND ${userRelation}
          ORDER BY 1`
    },
    {
        construct: 'NOT ENFORCED constraints, and WITHOUT OVERLAPS or PERIOD keys',
        rejectedBelow: 18,
        why: 'an older server enforces every constraint and has no temporal keys',
        writtenBy: 'dumpConstraint, dumpTableSchema (pg_get_constraintdef)',
        sql: `SELECT k.conrelid::pg_catalog.regclass::text || '.' || pg_catalog.quote_ident(k.conname) AS name
          FROM pg_catalog.pg_constraint k JOIN pg_catalog.pg_class c ON c.oid = k.conrelid
          WHERE (NOT k.conenforced OR k.conperiod) AND ${userRelation}
          ORDER BY 1`
    },
    {
        construct: 'NOT NULL constraints that are NO INHERIT, NOT VALID, or declared on an inherited column',
        rejectedBelow: 18,
        why: 'before PostgreSQL 18 a not-null marking is a column flag, always inherited and valid',
        writtenBy: 'dumpTableSchema (NOT NULL ... NO INHERIT, NOT NULL column), dumpConstraint',
        sql: `SELECT k.conrelid::pg_catalog.regclass::text || '.' || pg_catalog.quote_ident(k.conname) AS name
          FROM pg_catalog.pg_constraint k JOIN pg_catalog.pg_class c ON c.oid = k.conrelid
          JOIN pg_catalog.pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = k.conkey[1]
          WHERE k.contype = 'n' AND (k.connoinherit OR NOT k.convalidated OR (k.conislocal AND NOT a.attislocal)) AND ${userRelation}
          ORDER BY 1`
    },
    {
        construct: 'default privileges for large objects',
        rejectedBelow: 18,
        why: 'before PostgreSQL 18 ALTER DEFAULT PRIVILEGES has no ON LARGE OBJECTS',
        writtenBy: 'dumpDefaultACL',
        privileges: true,
        sql: `SELECT 'default privileges of ' || d.defaclrole::pg_catalog.regrole::text AS name
          FROM pg_catalog.pg_default_acl d WHERE d.defaclobjtype = 'L' ORDER BY 1`
    },
    {
        construct: 'publications with publish_generated_columns',
        rejectedBelow: 18,
        why: 'an older server does not know the option',
        writtenBy: 'dumpPublication',
        sql: `SELECT pg_catalog.quote_ident(p.pubname) AS name FROM pg_catalog.pg_publication p WHERE p.pubgencols <> 'n' ORDER BY 1`
    }
];
const PRODUCTION_SKEW_CHECKS = [
    {
        construct: 'postfix operators',
        rejectedFrom: 14,
        why: 'PostgreSQL 14 removed postfix operators, and no other operator parses the same expressions',
        sql: `SELECT o.oprname || ' (' || pg_catalog.format_type(o.oprleft, NULL) || ', NONE)' AS name
          FROM pg_catalog.pg_operator o
          WHERE o.oprright = 0 AND o.oprleft <> 0 AND ${userObject('pg_catalog.pg_operator', 'o.oid', 'o.oprnamespace')}
          ORDER BY 1`
    },
    {
        // pg_upgrade's own check (check_for_incompatible_polymorphics) finds the same objects.
        construct: 'aggregates or operators on anyarray/anyelement built on array_append and the functions PostgreSQL 14 made anycompatible',
        rejectedFrom: 14,
        why: 'the restore looks the old signature up and finds no such function; on anycompatible types they restore',
        sql: `WITH old(f) AS (
            SELECT pg_catalog.to_regprocedure(s) FROM unnest(ARRAY['array_append(anyarray,anyelement)', 'array_cat(anyarray,anyarray)',
              'array_prepend(anyelement,anyarray)', 'array_remove(anyarray,anyelement)', 'array_replace(anyarray,anyelement,anyelement)',
              'array_position(anyarray,anyelement)', 'array_position(anyarray,anyelement,integer)',
              'array_positions(anyarray,anyelement)', 'width_bucket(anyelement,anyarray)']) AS s),
          polymorphic(t) AS (VALUES ('pg_catalog.anyarray'::pg_catalog.regtype), ('pg_catalog.anyelement'::pg_catalog.regtype))
          SELECT 'aggregate ' || p.oid::pg_catalog.regprocedure::text AS name
          FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_aggregate a ON a.aggfnoid = p.oid
          WHERE (a.aggtransfn IN (SELECT f FROM old) OR a.aggfinalfn IN (SELECT f FROM old))
            AND a.aggtranstype IN (SELECT t FROM polymorphic) AND ${userObject('pg_catalog.pg_proc', 'p.oid', 'p.pronamespace')}
          UNION ALL
          SELECT 'operator ' || o.oid::pg_catalog.regoperator::text
          FROM pg_catalog.pg_operator o
          WHERE o.oprcode IN (SELECT f FROM old) AND o.oprleft IN (SELECT t FROM polymorphic)
            AND ${userObject('pg_catalog.pg_operator', 'o.oid', 'o.oprnamespace')}
          ORDER BY 1`
    },
    {
        construct: 'generated columns of inheritance children whose parent column is not generated',
        rejectedFrom: 16,
        why: 'PostgreSQL 16 requires a child column to be generated exactly when its parent column is',
        sql: `SELECT DISTINCT pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(c.relname) || '.' || pg_catalog.quote_ident(a.attname) AS name
          FROM pg_catalog.pg_attribute a
          JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
          JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
          JOIN pg_catalog.pg_inherits i ON i.inhrelid = a.attrelid
          JOIN pg_catalog.pg_attribute pa ON pa.attrelid = i.inhparent AND pa.attname = a.attname AND NOT pa.attisdropped
          WHERE a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated <> '' AND pa.attgenerated = ''
            AND ${userObject('pg_catalog.pg_class', 'c.oid', 'c.relnamespace')}
          ORDER BY 1`
    },
    {
        // pg_dump 18 itself leaves the word out (dumpTableSchema); an older pg_dump writes it.
        construct: 'unlogged partitioned tables',
        rejectedFrom: 18,
        why: "PostgreSQL 18 refuses CREATE UNLOGGED TABLE ... PARTITION BY, and the parent's persistence is part of what is compared",
        writtenBy: 'dumpTableSchema of pg_dump 17 and older (CREATE UNLOGGED TABLE ... PARTITION BY)',
        sql: `SELECT c.oid::pg_catalog.regclass::text AS name FROM pg_catalog.pg_class c
          WHERE c.relkind = 'p' AND c.relpersistence = 'u' AND ${userObject('pg_catalog.pg_class', 'c.oid', 'c.relnamespace')}
          ORDER BY 1`
    },
    ...NEWER_PRODUCTION_CHECKS
];
/**
 * The checks that apply to a restore from production's major into the clean room's; those about
 * GRANT and REVOKE only when the dump carries owners and privileges.
 */
function productionSkewChecks(productionMajor, cleanroomMajor, privileges = true) {
    if (productionMajor === cleanroomMajor)
        return [];
    return PRODUCTION_SKEW_CHECKS.filter(check => (privileges || !check.privileges) &&
        ((check.rejectedFrom !== undefined && cleanroomMajor >= check.rejectedFrom && productionMajor < check.rejectedFrom) ||
            (check.rejectedBelow !== undefined && cleanroomMajor < check.rejectedBelow && productionMajor >= check.rejectedBelow)));
}
/** The one-line error for what production holds that a clean room of `cleanroomMajor` rejects, each check with its objects. */
function productionSkewMessage(findings, cleanroomMajor) {
    return findings.map(({ check, names }) => productionSkewFinding(check, names, cleanroomMajor)).join(' ');
}
function productionSkewFinding(check, names, cleanroomMajor) {
    const shown = names
        .slice(0, 5)
        .map(name => name.replace(/[\r\n]/g, char => (char === '\n' ? '\\n' : '\\r')))
        .join(', ') + (names.length > 5 ? ` and ${names.length - 5} more` : '');
    const use = check.rejectedFrom !== undefined
        ? `a clean room running PostgreSQL ${check.rejectedFrom - 1} or older`
        : `a clean room running PostgreSQL ${check.rejectedBelow} or newer`;
    return (`Production holds ${check.construct} (${shown}), which a PostgreSQL ${cleanroomMajor} clean room rejects ` +
        `and no rewrite restores faithfully (${check.why}): use ${use}, or change them in production first.`);
}

;// CONCATENATED MODULE: ./src/engines/postgres/sanitize-rules.ts
/**
 * Pure rules for the sanitizing sed program: a lexer for plain pg_dump output, written in sed,
 * and the version-skew rules (see skew-catalogue.ts) that may remove or rewrite a whole
 * top-level statement pg_dump wrote, never anything inside a literal, an identifier, a comment
 * or row data.
 *
 * Why a lexer: production decides the text of function bodies, view definitions, comments,
 * defaults and rows. A rule that matched lines wherever they are would let a function body that
 * holds the line `SET my.x = 0$$;` lose its closing dollar quote, after which psql reads the next
 * function's body as SQL: production's content would run on the clean room. So sed tracks, from
 * line to line, where psql is in the dump, exactly as psql's own lexer (psqlscan.l) does, and a
 * rule applies only to a line that starts at the top level between statements (or, for the
 * identity clause, at the top level of a statement the rule recognised on its first line).
 * dump-lexer.ts is the same lexer in TypeScript, for the drill; a test holds the two to agree.
 *
 * The lexer's state lives in sed's hold space between lines, as one short word:
 *   T.            top level, between statements
 *   m<kind><depth> inside a top-level statement; kind `.` any, `C` COPY, `F` CREATE FUNCTION or
 *                 PROCEDURE (psql counts BEGIN ... END there), `I` an identity statement (its
 *                 first lines recognised by a rule: the kind holds to its end); depth is
 *                 `b` per open BEGIN, then `(` per open parenthesis: psql ends a statement at `;` only at depth 0
 *   s<top>        inside '...' (no escapes), returning to the state <top>
 *   e<top>        inside E'...' (backslash escapes)
 *   i<top>        inside "..." (a quoted identifier)
 *   d<top>#<tag>  inside a dollar-quoted body opened by <tag> (`$$`, `$body$`...)
 *   c<top>#<*..>  inside a /* comment *\/, one star per nesting level
 * Row data between `COPY ... FROM stdin;` and `\.` never reaches the lexer: a tight loop prints
 * it (the dump's bulk, so its path is three sed commands a line).
 */



/**
 * The psql meta-commands a dump may hold: pg_dump (13.22, 14.19, 15.14, 16.10, 17.6 and later)
 * opens and closes a plain dump with `\restrict KEY` / `\unrestrict KEY`, which make psql refuse
 * every other meta-command in between. Any other backslash command outside strings, bodies and
 * comments (\! runs a shell command, \o and \copy write files, \connect changes database,
 * \i reads one) would run on the runner or outside the scratch database, with the runner's
 * secrets in reach: a dump pg_dump wrote never holds one, so the sanitizer stops the stream
 * before psql sees it, wherever it sits on the line, whatever psql's version.
 */
const PG_DUMP_META_COMMAND = '\\\\(restrict|unrestrict) [A-Za-z0-9]+';
/**
 * A privileged statement naming one of `roles` where its forms put a role (after `TO`, `FROM`,
 * `GROUP`, `FOR ROLE`, `OWNER TO`, `SESSION AUTHORIZATION`, followed by `;` or a space), bare
 * as pg_dump writes a predefined role's name: an object or column that happens to carry the
 * name is never there (an extended regular expression for sed and JavaScript alike). The names
 * are predefined roles' (letters and _), so they need no escaping; `roles` is never empty.
 */
function namingRolesPattern(roles) {
    return ` (TO|FROM|GROUP|ROLE|AUTHORIZATION) (${roles.join('|')})(;| )`;
}
/** sed's exit code when it stops at a construct the clean room cannot restore faithfully. */
const SKEW_STOP_EXIT_CODE = 3;
const SETTING_NAME = /^[A-Za-z_][A-Za-z0-9_.]*$/;
// Character classes, as GNU sed reads them in the C locale (the program runs with LC_ALL=C, so
// every byte is one character and bytes 0x80-0xff are identifier letters, as in psqlscan.l).
const sanitize_rules_IDENT_START = 'A-Za-z_\\x80-\\xff';
const sanitize_rules_IDENT_CONT = 'A-Za-z0-9_\\x80-\\xff';
/** A top-level state the lexer works in (kind I is the identity statement's, kept through it). */
const TOP = 'm[.CFI][b(]*';
/** A name as pg_dump writes it with fmtId: bare, or quoted on one line with "" for a quote. */
const NAME = '([a-z_][a-z0-9_$]*|"([^"\\n]|"")*")';
const QUALIFIED = `${NAME}\\.${NAME}`;
/**
 * The same name as it reaches a rule that read on across lines: a quoted name may hold line
 * breaks (a newline is only ever inside one in these statements), and "" is a quote.
 */
const NAME_ML = '([a-z_][a-z0-9_$]*|"([^"]|"")*")';
const QUALIFIED_ML = `${NAME_ML}\\.${NAME_ML}`;
/** A quoted name still open at the end of what was read: a line break inside it ended the line. */
const OPEN_NAME = '"([^"]|"")*';
/** A setting's value as pg_dump writes it: a literal without escapes, a quoted name, a word or a number. */
const SETTING_VALUE = `('[^'\\\\\\n]*'|"([^"\\n]|"")*"|-?[A-Za-z0-9_.]+)`;
/**
 * Builds the GNU sed program (for `LC_ALL=C sed -n -E -f`): it prints every line of the dump
 * (and copies it to `copyFile`) except the lines the rules remove, which go to `removedLinesFile`.
 */
function buildSedProgram(options) {
    const known = [...new Set([...options.knownSettings].map(name => name.toLowerCase()))]
        .filter(name => SETTING_NAME.test(name))
        .sort();
    const removed = options.removedLinesFile;
    const copy = options.copyFile ? [`w ${options.copyFile}`] : [];
    const trace = options.stateFile ? [`w ${options.stateFile}`] : [];
    // After printed lines (in the pattern space, about to be replaced): an empty line in the index for
    // each (a statement read across lines prints them together).
    const indexed = options.linesFile ? ['s/[^\\n]+//g', `w ${options.linesFile}`] : [];
    // After a printed row of data (the hold space is empty in the row loop): its empty line in the index.
    const indexedRow = options.linesFile ? ['x', `w ${options.linesFile}`, 'x'] : [];
    const skew = (id) => options.cleanroomMajor < SKEW_RULES[id].rejectedBelow;
    // A removed statement: log it with its rule, and continue in `state` (the line is not printed).
    // A statement read across lines is logged on one line, its line breaks written as \n.
    const drop = (rule, state) => [
        `s/^[^\\n]*\\n/${rule} /`,
        's/\\n/\\\\n/g',
        `w ${removed}`,
        `s/.*/${state}/`,
        ...trace,
        'h',
        'd'
    ];
    // A construct no rewrite restores faithfully: log it, and stop the stream before psql runs it.
    const stop = (rule) => [
        `s/^[^\\n]*\\n/!${rule} /`,
        's/\\n/\\\\n/g',
        `w ${removed}`,
        `Q ${SKEW_STOP_EXIT_CODE}`
    ];
    const quote = options.standardConformingStrings ? 's' : 'e';
    const lines = [
        '# The state starts at the top level.',
        '1{',
        'x',
        's/^/T./',
        'x',
        '}',
        '# Pattern space: the state, a newline, then the line; the hold space keeps the line to print.',
        'x',
        'G',
        '',
        '# ---- Rules: each matches a whole line that starts at the top level.'
    ];
    if (options.linesFile) {
        lines.push('# A TOC comment pg_dump wrote between statements goes into the line index whole.', `/^T\\.\\n${TOC_COMMENT_PATTERN.slice(1)}/b toc_comment`);
    }
    // The dump says how it quotes strings; the lexer was built for production's setting.
    if (options.privilegedFile) {
        // A whole top-level statement that is exactly one of pg_dump's ownership or privilege
        // statements, on one line or, when a quoted name holds a line break, across lines. The copy of
        // the dump keeps it as it is; the routed file gets it on one line (encodeRouted).
        const route = [
            's/^[^\\n]*\\n//',
            ...copy,
            's/\\\\/\\\\\\\\/g',
            's/\\n/\\\\n/g',
            `w ${options.privilegedFile}`,
            's/.*/T./',
            ...trace,
            'h',
            'd'
        ];
        const forms = privilegedSedPatterns().flatMap(pattern => [`/^T\\.\\+*\\n${pattern}$/{`, ...route, '}']);
        // Only those naming one of the roles as a role.
        const naming = options.privilegedRoles && namingRolesPattern(options.privilegedRoles);
        lines.push("# pg_dump's ownership and privilege statements: replayed by the clean-room role after the restore.", `/^T\\.\\n${PRIVILEGED_START}/{`, '# Read on while every line break so far is inside a quoted name (a name holding a line break).', ':privileged_more', `/^T\\.\\+*\\n${privilegedReadOnPattern('sed').replace(/\//g, '\\/')}/{`, '$b privileged_read', `/^T\\.\\+{${MAX_STATEMENT_LINES}}/b privileged_read`, 's/^T\\.(\\+*)/T.\\1+/', 
        // For tests: the lexer's state after each line read on (inside a quoted name of a statement).
        ...(options.stateFile ? ['x', 's/.*/im./', `w ${options.stateFile}`, 'x'] : []), 'N', 'b privileged_more', '}', ':privileged_read', ...(naming ? [`/${naming}/{`, ...forms, '}'] : forms), "# Any other: the hold space keeps the lines to print, and the lexer reads them (a line break is a name's).", 's/^T\\.\\+*/T./', 'h', 'x', 's/^[^\\n]*\\n//', 'x', '}');
    }
    lines.push(`/^T\\.\\nSET standard_conforming_strings = ${options.standardConformingStrings ? 'off' : 'on'};$/{`, ...stop('standard-conforming-strings'), '}');
    if (known.length > 0) {
        const alternation = known.map(escapeRegex).join('|');
        lines.push('# Settings the clean room knows stay.', `/^T\\.\\nSET (${alternation}) = ${SETTING_VALUE};$/b keep_top`, `/^T\\.\\nSELECT pg_catalog\\.set_config\\('(${alternation})', '[^'\\\\\\n]*', false\\);$/b keep_top`);
    }
    lines.push('# Any other session setting is one the clean room would reject: it only configures the restoring session.', `/^T\\.\\nSET [A-Za-z_][A-Za-z0-9_.]* = ${SETTING_VALUE};$/{`, ...drop('unknown-setting', 'T.'), '}', "/^T\\.\\nSELECT pg_catalog\\.set_config\\('[A-Za-z_][A-Za-z0-9_.]*', '[^'\\\\\\n]*', false\\);$/{", ...drop('unknown-setting', 'T.'), '}');
    if (!options.psqlUnderstandsRestrict) {
        lines.push('# This psql predates \\restrict: the meta-command and its \\unrestrict go.', '/^T\\.\\n\\\\(restrict|unrestrict)( [A-Za-z0-9]*)?$/{', ...drop('psql-meta-command', 'T.'), '}');
    }
    lines.push('# \\restrict and \\unrestrict, as pg_dump writes them around a dump, are the only meta-commands psql runs.', `/^T\\.\\n${PG_DUMP_META_COMMAND}$/b keep_top`);
    const identity = skew('identity-sequence-logged') || skew('identity-sequence-unlogged');
    const compression = skew('column-compression');
    if (identity || compression) {
        // pg_dump writes a name holding a line break as a quoted name across lines, so these two
        // statements may span lines before the part a rule reads. Their first line starts at the
        // top level; sed reads on (N) only while the text so far is pg_dump's own prefix ending
        // inside an open quoted name (at most 63 bytes each), so every line break read is a name's.
        const table = `ALTER (FOREIGN )?TABLE (ONLY )?`;
        lines.push('# ALTER TABLE statements a skew rule reads: first read on through names that hold line breaks.', `/^T\\.\\n${table}/{`, ':alter_more', `/^T\\.\\+*\\n${table}(${OPEN_NAME}|${NAME_ML}\\.${OPEN_NAME}|${QUALIFIED_ML} ALTER COLUMN ${OPEN_NAME})$/{`, '$b alter_read', 
        // A name is at most 63 bytes, so pg_dump's three hold at most 189 line breaks: a dump that is
        // not pg_dump's never makes sed hold more. The count is kept as `+`s after the state.
        '/^T\\.\\+{190}/b alter_read', 's/^T\\.(\\+*)/T.\\1+/', 
        // For tests: the lexer's state after each line read on (inside a quoted name of a statement).
        ...(options.stateFile ? ['x', 's/.*/im./', `w ${options.stateFile}`, 'x'] : []), 'N', 'b alter_more', '}', ':alter_read');
        if (compression) {
            lines.push('# ALTER TABLE ONLY ... ALTER COLUMN ... SET COMPRESSION ...; (pg_dump 14+): how a value is stored, not what it is.', `/^T\\.\\+*\\n${table}${QUALIFIED_ML} ALTER COLUMN ${NAME_ML} SET COMPRESSION [a-z0-9]+;$/{`, ...drop('column-compression', 'T.'), '}');
        }
        if (identity) {
            lines.push('# ALTER TABLE ... ADD GENERATED ... AS IDENTITY (: the statement keeps kind I to its end, so the', "# sequence's persistence line (pg_dump 15+, when it differs from its table's) is found after any name.", `/^T\\.\\+*\\n${table}${QUALIFIED_ML} ALTER COLUMN ${NAME_ML} ADD GENERATED (ALWAYS|BY DEFAULT) AS IDENTITY \\($/{`, 's/^T\\.\\+*/mI(/', 'b keep_lines', '}');
        }
        lines.push("# Any other: the hold space keeps the lines to print, and the lexer reads them (a line break is a name's).", 's/^T\\.\\+*/T./', 'h', 'x', 's/^[^\\n]*\\n//', 'x', '}');
    }
    if (identity) {
        lines.push('# Inside the identity statement, at its top level (depth one), a line written by pg_dump alone:', '# SEQUENCE NAME, then the persistence clause, then the options; a name holding a line break ends', '# its lines inside the name, where no rule looks.', '/^mI\\(\\n    LOGGED$/{', ...drop('identity-sequence-logged', 'mI('), '}', '/^mI\\(\\n    UNLOGGED$/{', ...stop('identity-sequence-unlogged'), '}');
    }
    if (skew('unlogged-sequence')) {
        // The first line is enough: at the top level only pg_dump writes it, whatever the name holds.
        lines.push('/^T\\.\\nCREATE UNLOGGED SEQUENCE /{', ...stop('unlogged-sequence'), '}');
    }
    if (skew('nulls-not-distinct')) {
        // The first line of a unique constraint or index, written by pg_dump 15+ only for such a key.
        lines.push(`/^T\\.\\nCREATE UNIQUE INDEX ${NAME} ON (ONLY )?${QUALIFIED} USING [a-z0-9_]+ \\([^'"\\n]*\\) NULLS NOT DISTINCT( |;$)/{`, ...stop('nulls-not-distinct'), '}', `/^m\\.\\n    ADD CONSTRAINT ${NAME} UNIQUE NULLS NOT DISTINCT /{`, ...stop('nulls-not-distinct'), '}');
    }
    lines.push('', '# ---- The lexer: consume the line token by token, changing state.', 't lex', ':lex', `/^mC\\n FROM stdin;$/{`, 's/.*/C/', 'b lexed', '}', `s/^(T\\.|${TOP})\\n[ \\t\\r\\f\\v]+/\\1\\n/`, '/^[^\\n]*\\n$/b lexed', '# Top level, between statements: comments, psql meta-commands, or the start of a statement.', '/^T\\.\\n/{', '/^T\\.\\n--/b rest_of_line', '/^T\\.\\n\\\\/{', ...stop('psql-meta-command'), '}', 's/^T\\.\\n\\/\\*/cT.#*\\n/', 't lex', 's/^T\\.\\nCOPY /mC\\nCOPY /', 't lex', 's/^T\\.\\n(CREATE (OR REPLACE )?(FUNCTION|PROCEDURE) )/mF\\n\\1/', 't lex', 's/^T\\./m./', '}', '# Inside a statement, at the top level.', '/^m/{', `/^${TOP}\\n--/b rest_of_line`, `/^${TOP}\\n\\\\/{`, ...stop('psql-meta-command'), '}', `s/^(${TOP})\\n\\/\\*/c\\1#*\\n/`, 't lex', 
    // B'' and X'' never take escapes; E'' always does.
    `s/^(${TOP})\\n[BbXx]'/s\\1\\n/`, 't lex', `s/^(${TOP})\\n[Ee]'/e\\1\\n/`, 't lex', `s/^(${TOP})\\n[Uu]&'/s\\1\\n/`, 't lex', `s/^(${TOP})\\n'/${quote}\\1\\n/`, 't lex', `s/^(${TOP})\\n[Uu]&"/i\\1\\n/`, 't lex', `s/^(${TOP})\\n"/i\\1\\n/`, 't lex', `s/^(${TOP})\\n(\\$([${sanitize_rules_IDENT_START}][${sanitize_rules_IDENT_CONT}]*)?\\$)/d\\1#\\2\\n/`, 't lex', `s/^(${TOP}\\n)\\$[0-9]+/\\1/`, 't lex', '# psql counts BEGIN ... END (and CASE ... END inside them) in a function body at depth 0.', `s/^(mFb*)\\n[Bb][Ee][Gg][Ii][Nn]($|[^${sanitize_rules_IDENT_CONT}$])/\\1b\\n\\2/`, 't lex', `s/^(mFb+)\\n[Cc][Aa][Ss][Ee]($|[^${sanitize_rules_IDENT_CONT}$])/\\1b\\n\\2/`, 't lex', `s/^(mFb*)b\\n[Ee][Nn][Dd]($|[^${sanitize_rules_IDENT_CONT}$])/\\1\\n\\2/`, 't lex', `s/^(${TOP}\\n)[${sanitize_rules_IDENT_START}][${sanitize_rules_IDENT_CONT}$]*/\\1/`, 't lex', `s/^(${TOP}\\n)([0-9]+(\\.[0-9]*)?|\\.[0-9]+)([Ee][-+]?[0-9]+)?/\\1/`, 't lex', `s/^(${TOP})\\n\\(/\\1(\\n/`, 't lex', `s/^(${TOP})\\(\\n\\)/\\1\\n/`, 't lex', 's/^m([.CFI])\\n;/T.\\n/', 't lex', `s/^(${TOP}\\n)[^${sanitize_rules_IDENT_CONT}'"$;()\\\\ \\t\\r\\f\\v/-]+/\\1/`, 't lex', `s/^(${TOP}\\n)[^\\n]/\\1/`, 't lex', '}', "# Inside '...': '' is a quote.", '/^s/{', "s/^(s[^\\n]*\\n)[^']+/\\1/", "s/^(s[^\\n]*\\n)''/\\1/", 't lex', "s/^s([^\\n]*)\\n'/\\1\\n/", 't lex', '}', "# Inside E'...': a backslash escapes the next character (a newline too).", '/^e/{', "s/^(e[^\\n]*\\n)[^'\\\\]+/\\1/", "s/^(e[^\\n]*\\n)(\\\\.|\\\\$|'')/\\1/", 't lex', "s/^e([^\\n]*)\\n'/\\1\\n/", 't lex', '}', '# Inside "...": "" is a quote.', '/^i/{', 's/^(i[^\\n]*\\n)[^"]+/\\1/', 's/^(i[^\\n]*\\n)""/\\1/', 't lex', 's/^i([^\\n]*)\\n"/\\1\\n/', 't lex', '}', '# Inside a dollar-quoted body: only its own tag ends it.', '/^d/{', 's/^(d[^\\n]*\\n)[^$]+/\\1/', 's/^d([^#\\n]*)#([^\\n]*)\\n\\2/\\1\\n/', 't lex', 's/^(d[^\\n]*\\n)\\$/\\1/', 't lex', '}', '# Inside a comment: /* nests, */ closes one level.', '/^c/{', 's/^(c[^\\n]*\\n)[^*/]+/\\1/', 's/^(c[^\\n]*)\\n\\/\\*/\\1*\\n/', 't lex', 's/^c([^#\\n]*)#\\*\\n\\*\\//\\1\\n/', 't lex', 's/^(c[^\\n]*)\\*\\n\\*\\//\\1\\n/', 't lex', 's/^(c[^\\n]*\\n)[*/]/\\1/', 't lex', '}', 'b lex', '', ':rest_of_line', 's/\\n.*/\\n/', '', '# ---- The line is lexed: keep its end state, print it.', ':lexed', 's/\\n.*//', ...trace, '/^C$/{', 'x', 'p', ...copy, 
    // The hold space stays empty through the rows (the index's line of each).
    ...(options.linesFile ? [...indexed, 'h'] : []), 'b copy', '}', 'x', 'p', ...copy, ...indexed, 'd', '', '# A rule matched a complete statement: the line ends at the top level.', ':keep_top', 's/.*/T./', ...trace, 'x', 'p', ...copy, ...indexed, 'd', '', "# A rule read a statement's first lines (pattern: the new state, then the lines): print them all.", ':keep_lines', 'h', 's/^[^\\n]*\\n//', 'p', ...copy, ...indexed, 'x', 's/\\n.*//', ...trace, 'h', 'd', '', '# ---- Row data: printed as it is until the line \\. alone.', ':copy', 'n', '/^\\\\\\.$/!{', 'p', ...copy, ...indexedRow, 'b copy', '}', 'p', ...copy, ...indexed, 's/.*/T./', ...trace, 'h', 'd');
    if (options.linesFile) {
        lines.push('', '# A TOC comment between statements: the line index keeps it whole; the state stays at the top level.', ':toc_comment', 's/.*/T./', ...trace, 'x', 'p', ...copy, `w ${options.linesFile}`, 'd');
    }
    return lines.join('\n') + '\n';
}
function escapeRegex(text) {
    return text.replace(/[.[\]{}()*+?^$|\\]/g, '\\$&');
}
function parseRemovedLine(text) {
    const match = /^(!?)([a-z-]+) (.*)$/s.exec(text);
    if (!match)
        return undefined;
    return { rule: match[2], stopped: match[1] === '!', line: match[3] };
}
/** Counts removed lines per rule and setting or construct, in order of first appearance. */
function summarizeRemovedLines(removedLines) {
    const counts = new Map();
    for (const text of removedLines) {
        const removed = parseRemovedLine(text);
        if (!removed || removed.stopped)
            continue;
        const parameter = removedParameter(removed);
        const key = `${removed.rule} ${parameter}`;
        const entry = counts.get(key) ?? { parameter, lines: 0, rule: removed.rule };
        entry.lines++;
        counts.set(key, entry);
    }
    return [...counts.values()];
}
/**
 * The error for a dump that holds a psql meta-command pg_dump never writes (`line` is the rest of
 * its line from the backslash on). Names the command only: the rest is the dump's content. Pure.
 */
function metaCommandStopMessage(line) {
    const command = /^\\[A-Za-z!?.;]*/.exec(line)?.[0] || '\\';
    return (`The dump holds the psql meta-command ${command} outside any string, body or comment, which psql would run on ` +
        `this runner rather than as SQL in the clean room: a dump pg_dump wrote holds none but \\restrict and ` +
        `\\unrestrict, so Lazarus refuses to restore it. Check where this backup came from` +
        (command === '\\connect' || command === '\\c'
            ? ' (a plain backup taken with pg_dump --create: take it without --create).'
            : '.'));
}
/** The construct that stopped the stream, if one did. */
function stoppedConstruct(removedLines) {
    for (const text of removedLines) {
        const removed = parseRemovedLine(text);
        if (removed?.stopped)
            return removed;
    }
    return undefined;
}
function removedParameter(removed) {
    const { rule, line } = removed;
    if (rule === 'unknown-setting') {
        const set = /^SET ([A-Za-z0-9_.]+) = /.exec(line);
        if (set)
            return set[1].toLowerCase();
        const setConfig = /^SELECT pg_catalog\.set_config\('([^']+)'/.exec(line);
        if (setConfig)
            return setConfig[1].toLowerCase();
    }
    if (rule === 'psql-meta-command') {
        const meta = /^(\\[a-z]+)/.exec(line);
        if (meta)
            return meta[1];
    }
    return rule in SKEW_RULES ? SKEW_RULES[rule].construct : line.slice(0, 40);
}

;// CONCATENATED MODULE: ./src/engines/postgres/privileged-pass.ts









/**
 * Writes the script the clean-room role replays from the routed statements: each one read again
 * by the grammar (a line the grammar does not take stops the run: the sanitizer and this module
 * disagree, a bug), roles with stand-ins replaced, grants on the server's own objects left out.
 * Read and written a line at a time; bytes pass through latin1, so names keep the dump's encoding,
 * which the script declares (`encoding`, production's database encoding, as pg_dump's header does).
 */
async function writeReplayScript(routedFiles, scriptFile, standIns, encoding, restoreRole, inStream = false) {
    const result = { statements: 0, serverObjects: [] };
    const header = `SET client_encoding = ${quoteLiteral(encoding)};\n` +
        `SELECT pg_catalog.set_config('search_path', '', false);\n` +
        (inStream ? '' : beforeReplaySql(restoreRole));
    const out = external_node_fs_.openSync(scriptFile, 'w', 0o600);
    try {
        external_node_fs_.writeSync(out, header);
        for (const routedFile of typeof routedFiles === 'string' ? [routedFiles] : routedFiles) {
            if (!external_node_fs_.existsSync(routedFile))
                continue;
            await forEachLine(routedFile, encoded => {
                if (encoded === '')
                    return;
                // A statement over several lines (a name holding a line break) was routed on one (encodeRouted).
                const line = decodeRouted(encoded);
                const statement = parsePrivilegedStatement(line);
                if (!statement)
                    throw new Error(`The sanitizer routed a line the privilege grammar does not take: ${encoded.slice(0, 80)}`);
                if (touchesServerObjects(statement)) {
                    result.serverObjects.push(encoded);
                    return;
                }
                external_node_fs_.writeSync(out, Buffer.from(withStandIns(statement, standIns) + '\n', 'latin1'));
                result.statements++;
            });
        }
        return result;
    }
    finally {
        external_node_fs_.closeSync(out);
    }
}
/**
 * Splits a plain dump (a drill's sanitized copy) as the sanitizer does in the stream: each line
 * that starts and ends at the top level and is one of the privilege grammar's forms (naming one
 * of `onlyNaming`, when given, as the sanitizer's privilegedRoles) goes to `routedFile`, every
 * other line to `outputFile`. Streamed; the routed lines are few and short.
 */
async function splitPrivileged(inputFile, outputFile, routedFile, onlyNaming) {
    const lexer = dumpLexer();
    const naming = onlyNaming && new RegExp(namingRolesPattern([...onlyNaming]));
    const routes = (line) => (!naming || naming.test(line)) && parsePrivilegedStatement(line) !== undefined;
    const routed = external_node_fs_.openSync(routedFile, 'w', 0o600);
    try {
        await (0,promises_.pipeline)(external_node_fs_.createReadStream(inputFile), async function* (chunks) {
            let partial = '';
            // The lines of a privileged statement read on through a quoted name holding a line break.
            let pending = [];
            let pendingEnds = false;
            const route = (text) => external_node_fs_.writeSync(routed, Buffer.from(encodeRouted(text) + '\n', 'latin1'));
            const take = (lines) => {
                const kept = [];
                const settle = () => {
                    const text = pending.join('\n');
                    if (pendingEnds && routes(text))
                        route(text);
                    else
                        kept.push(...pending);
                    pending = [];
                };
                for (const line of lines) {
                    const facts = lexer(line);
                    if (pending.length > 0) {
                        pending.push(line);
                        pendingEnds = facts.endsStatement;
                        if (!READ_ON.test(pending.join('\n')) || pending.length > MAX_STATEMENT_LINES)
                            settle();
                    }
                    else if (facts.startsStatement && !facts.data && READ_ON.test(line)) {
                        pending = [line];
                        pendingEnds = false;
                    }
                    else if (facts.startsStatement && facts.endsStatement && !facts.data && routes(line)) {
                        route(line);
                    }
                    else {
                        kept.push(line);
                    }
                }
                return kept;
            };
            for await (const chunk of chunks) {
                const lines = (partial + chunk.toString('latin1')).split('\n');
                partial = lines.pop() ?? '';
                const kept = take(lines);
                if (kept.length > 0)
                    yield Buffer.from(kept.join('\n') + '\n', 'latin1');
            }
            const last = partial ? take([partial]) : [];
            // A dump ending inside a statement read on: its lines stay, as the sanitizer leaves them.
            last.push(...pending);
            if (last.length > 0)
                yield Buffer.from(last.join('\n'), 'latin1');
        }, external_node_fs_.createWriteStream(outputFile, { mode: 0o600 }));
    }
    finally {
        external_node_fs_.closeSync(routed);
    }
}
const READ_ON = new RegExp(`^${privilegedReadOnPattern('js')}`);
async function forEachLine(file, each) {
    let partial = '';
    for await (const chunk of external_node_fs_.createReadStream(file)) {
        const lines = (partial + chunk.toString('latin1')).split('\n');
        partial = lines.pop() ?? '';
        for (const line of lines)
            each(line);
    }
    if (partial)
        each(partial);
}
/**
 * The SQL the clean-room role runs in the scratch database before the replay: it refuses a
 * database holding an event trigger (which would run production's code on the replay's GRANTs,
 * as the clean-room role; an unprivileged restore cannot create one, this makes sure), and takes
 * back what admitted the restore role to the public schema, so that schema's ACL is the one the
 * dump sets.
 */
function beforeReplaySql(restoreRole) {
    const revoke = restoreRole
        ? `  IF EXISTS (SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = 'public') THEN
    EXECUTE pg_catalog.format('REVOKE ALL ON SCHEMA public FROM %I', ${quoteLiteral(restoreRole)});
  END IF;\n`
        : '';
    return `DO $lazarus$ BEGIN
  IF EXISTS (SELECT 1 FROM pg_catalog.pg_event_trigger) THEN
    RAISE EXCEPTION 'the restored copy holds an event trigger: owners and privileges are not replayed';
  END IF;
${revoke}END $lazarus$;\n`;
}
/**
 * Replays the routed statements (routedFile) in `target` as the clean-room role (psql, after the
 * location check): writes the script, says what it leaves out, and runs it. Returns psql's outcome.
 */
async function replayPrivileges(tools, target, files, replay, limits) {
    const script = await writeReplayScript(files.routed, files.script, replay.standIns, replay.encoding, replay.restoreRole, replay.onlyNaming !== undefined);
    core/* info */.pq(`Replaying ${script.statements} ownership and privilege statement(s) of the dump as the clean-room role` +
        (replay.standIns.size > 0 ? ` (roles played by stand-ins: ${listNames([...replay.standIns.keys()])})` : '') +
        '.');
    if (script.serverObjects.length > 0) {
        core/* warning */.$e(`Not replayed: ${script.serverObjects.length} grant(s) on the clean-room server's own objects (pg_catalog, ` +
            `information_schema), which would give production's roles rights over the clean-room server; they are not compared either.`, { title: 'Lazarus: grants on system objects not replayed' });
    }
    return restoreDump(tools, target, files.script, files.check, limits);
}

// EXTERNAL MODULE: ./src/util/leftovers.ts
var leftovers = __webpack_require__(4032);
;// CONCATENATED MODULE: ./src/engines/postgres/cleanroom-roles.ts






/**
 * The roles a restore with owners and privileges needs in the clean room. Roles are global to
 * the clean-room cluster, so Lazarus is careful with them:
 * - A role that exists without Lazarus's mark was there before (or belongs to someone else): it
 *   is used as it is, never altered, never dropped.
 * - A missing role is created NOLOGIN, without password or attributes, and marked with a comment
 *   in the same transaction, so no other session ever sees it unmarked.
 * - Each scratch database pins every Lazarus role it uses (GRANT CONNECT on the database, which
 *   the dump never carries): DROP ROLE refuses while the pin exists, so a concurrent run sharing
 *   the clean room (a matrix of jobs) cannot drop a role from under this run's restore. PostgreSQL
 *   locks the role while it records the pin and checks it still exists, so a role dropped in the
 *   meantime makes the pin fail, and it is created again.
 * - At the end every Lazarus role this run created, or found marked and tried to pin, is dropped
 *   unless something still depends on it (another run's scratch database, or one kept with
 *   keep-cleanroom). Each run drops its scratch databases before its roles, so whatever the
 *   interleaving the last run out finds no dependency left and drops the role: a role is
 *   recorded before it is created (a pin that fails, a run cancelled meanwhile, still leave it
 *   recorded), no role is created once the drop has begun, and a role kept for any reason stays
 *   recorded for the post step, which tries again after dropping the run's leftover databases.
 */
/** The name of the n-th stand-in of a run (see RolePlan.standIns): unique per run, within 63 bytes. */
function standInName(runId, n) {
    return `lazarus_as_${runId}_${n}`.slice(0, 63);
}
/** The comment every role Lazarus creates carries; Lazarus drops no role without it. */
const ROLE_MARKER = 'Lazarus role';
const DUPLICATE_OBJECT = '42710';
const UNIQUE_VIOLATION = '23505';
const UNDEFINED_OBJECT = '42704';
const DEPENDENT_OBJECTS_STILL_EXIST = '2BP01';
/** Tries to create and pin a role that a concurrent run keeps dropping and creating. */
const PROVIDE_ATTEMPTS = 5;
/**
 * Decides, from the clean room's facts, whether owners and privileges can be restored. Pure.
 * Only a superuser can replay what pg_dump writes about them: a role with CREATEROLE can create
 * the roles, but `ALTER ... OWNER TO` needs the restoring role to act as the new owner (objects
 * owned by the bootstrap superuser, as `public` and often everything else is, are out of
 * reach), the new owner must already hold CREATE on the schema at that point of the dump (its
 * GRANTs come at the end), and a grant made by someone other than the owner is replayed under
 * SET SESSION AUTHORIZATION, which only a superuser may run. A partial attempt would end in a
 * failed restore of a good backup, so such a role restores as before and says so.
 */
function planRoles(named, facts, playable = () => true) {
    const found = new Map(facts.roles.map(role => [role.name, role]));
    const existing = named.filter(name => found.has(name) && !isLazarusComment(found.get(name).comment));
    const missing = named.filter(name => !existing.includes(name));
    const reserved = missing.filter(isReservedRoleName);
    const provided = missing.filter(name => !isReservedRoleName(name));
    const notRestored = (reason) => ({ restore: false, reason, provided: [], existing });
    if (!facts.superuser) {
        const user = quoteIdent(facts.user);
        const what = facts.createRole ? 'has CREATEROLE but is not a superuser' : 'is not a superuser';
        return notRestored(`the clean-room role ${user} ${what}, and only a superuser can replay the dump's ALTER ... OWNER TO, GRANT and ` +
            `SET SESSION AUTHORIZATION statements: connect to the clean room as a superuser (ALTER ROLE ${user} SUPERUSER ` +
            `on that disposable server) to verify owners and privileges`);
    }
    // A predefined role of a newer major is played by a stand-in; a `pg_*` name this Lazarus does
    // not know (a major newer than it) can be played only where every statement is replayed apart.
    const unplayable = reserved.filter(name => !playable(name));
    if (unplayable.length > 0) {
        return notRestored(`production names the built-in role(s) ${listNames(unplayable)}, which the clean room ` +
            `(PostgreSQL ${facts.major}) does not have and no one may create: use a clean room of production's major version`);
    }
    return { restore: true, provided, existing, ...(reserved.length > 0 ? { predefined: reserved } : {}) };
}
/**
 * Which missing `pg_*` roles a run can play with stand-ins: when every ownership and privilege
 * statement is replayed apart (`replay`), any; otherwise (restore-role: superuser, the statements
 * in the stream) those the sanitizer routes out for a clean room of `major`, the predefined roles
 * of newer releases.
 */
function playablePredefinedRoles(replay, major) {
    if (replay)
        return () => true;
    const known = new Set(predefinedRolesNewerThan(major));
    return name => known.has(name);
}
function isLazarusComment(comment) {
    return comment?.startsWith(ROLE_MARKER) ?? false;
}
/** The roles of one run in the clean room: what it provides, to which scratch databases, and their removal. */
class CleanRoomRoles {
    maintenance;
    runId;
    plan;
    facts;
    /**
     * Lazarus roles this run created or found marked (recorded before it creates or pins them): it
     * tries to drop each at the end.
     */
    used = new Set();
    /** provide() calls still running: the drop waits for them, so nothing is created after it. */
    providing = new Set();
    /** Set once dropAll has begun: from then on no role is created or pinned. */
    dropping = false;
    constructor(maintenance, runId) {
        this.maintenance = maintenance;
        this.runId = runId;
    }
    /** Roles production has as superusers: created as such under restore-role: superuser only. */
    superusers = new Set();
    /** Owners and privileges are replayed after an unprivileged restore: no role Lazarus uses has any right. */
    replay = false;
    /**
     * Reads the clean room's facts about the roles production names and decides the plan (see
     * planRoles); `notRestored` says why owners and privileges cannot be restored whatever the facts.
     */
    async decide(namedRoles, notRestored, replay = false) {
        this.replay = replay;
        const named = namedRoles.map(role => role.name);
        for (const role of namedRoles)
            if (role.superuser)
                this.superusers.add(role.name);
        const [self] = await this.maintenance.query(`SELECT current_user AS user, r.rolsuper AS superuser, r.rolcreaterole AS createrole,
         pg_catalog.current_setting('server_version_num') AS num
       FROM pg_catalog.pg_roles r WHERE r.rolname = current_user`);
        const major = Math.floor(Number(self.num) / 10000);
        const roles = await this.maintenance.query(`SELECT r.rolname AS name, pg_catalog.shobj_description(r.oid, 'pg_authid') AS comment
       FROM pg_catalog.pg_roles r WHERE r.rolname = ANY ($1::text[])`, [named]);
        this.facts = { user: self.user, superuser: self.superuser, createRole: self.createrole, major, roles };
        const playable = playablePredefinedRoles(replay, major);
        this.plan = notRestored
            ? { restore: false, reason: notRestored, provided: [], existing: planRoles(named, this.facts, playable).existing }
            : planRoles(named, this.facts, playable);
        if (this.plan.restore) {
            // Replayed apart, pre-existing roles never own production's objects; predefined roles the
            // clean room lacks are played in every mode.
            const played = [...(replay ? this.plan.existing : []), ...(this.plan.predefined ?? [])];
            if (played.length > 0) {
                this.plan.standIns = played.map((role, index) => ({ role, standIn: standInName(this.runId, index + 1) }));
            }
            if (!replay && this.plan.predefined)
                this.plan.replayOnly = predefinedRolesNewerThan(major);
        }
        return this.plan;
    }
    /** Adds a role of Lazarus's own (the drill's) to those provided to each scratch database from now on. */
    addRole(name) {
        if (this.plan?.restore && !this.plan.provided.includes(name))
            this.plan.provided.push(name);
    }
    /**
     * Makes every role of the plan exist and pins it to `database` (a scratch database just
     * created), so that a restore into it finds them all until the database is dropped.
     */
    async provide(database) {
        if (!this.plan?.restore || !this.facts)
            return;
        const standIns = (this.plan.standIns ?? []).map(entry => entry.standIn);
        const names = [...this.plan.provided, ...standIns];
        const work = (async () => {
            for (const name of names)
                await this.provideOne(name, database);
        })();
        this.providing.add(work);
        try {
            await work;
        }
        finally {
            this.providing.delete(work);
        }
    }
    /** Records a role as this run's to try to drop at the end (and the post step's, should main be killed). */
    track(name) {
        this.used.add(name);
        (0,leftovers/* saveRoles */.lS)([...this.used]);
    }
    async provideOne(name, database) {
        const role = quoteIdent(name);
        for (let attempt = 1;; attempt++) {
            // A run whose cleanup has begun (cancelled, or a stage abandoned while this ran on) creates
            // nothing more: a role made after the drop would be left behind.
            if (this.dropping)
                throw new Error(`The run's roles are being dropped: role ${listNames([name])} is not provided`);
            const [found] = await this.maintenance.query(`SELECT pg_catalog.shobj_description(r.oid, 'pg_authid') AS comment,
           NOT (r.rolsuper OR r.rolcreaterole OR r.rolcreatedb OR r.rolreplication OR r.rolbypassrls OR r.rolcanlogin
                OR EXISTS (SELECT 1 FROM pg_catalog.pg_auth_members a WHERE a.member = r.oid)) AS powerless
         FROM pg_catalog.pg_roles r WHERE r.rolname = $1`, [name]);
            try {
                if (!found) {
                    // Recorded before it exists, so that a pin that fails afterwards (the database dropped
                    // meanwhile, a timeout) still leaves it to this run's drop; dropping a role that is not
                    // there, or not marked, does nothing.
                    this.track(name);
                    // One implicit transaction: no other session sees the role before it carries the mark.
                    // Under restore-role: superuser (production's code already runs as a superuser there), a
                    // superuser in production stays one, without login or password: a foreign-data wrapper
                    // or an event trigger refuses any other owner. When owners are replayed after an
                    // unprivileged restore, never: the objects it owns would run production's code with it.
                    const attributes = this.superusers.has(name) && !this.replay ? 'NOLOGIN SUPERUSER' : 'NOLOGIN';
                    await this.maintenance.query(`CREATE ROLE ${role} ${attributes}; COMMENT ON ROLE ${role} IS ${quoteLiteral(`${ROLE_MARKER} of run ${this.runId}`)}`);
                    core/* info */.pq(`Created role ${listNames([name])} (${attributes}) in the clean room.`);
                }
                else if (!isLazarusComment(found.comment)) {
                    // Someone created it meanwhile, outside Lazarus: it is theirs, used as it is.
                    return;
                }
                else if (this.replay && !found.powerless) {
                    // A concurrent run with restore-role: superuser made it a superuser: never an owner here.
                    throw new errors/* UserError */.yo(`Role ${listNames([name])} exists in the clean room with rights (a concurrent Lazarus run with restore-role: ` +
                        `superuser created it): run again once that run has ended, or give the runs separate clean rooms.`);
                }
                // A marked role found here is this run's to drop too, pinned or not: when the run that made
                // it ends while this one still uses it, that run keeps it, and this one is the last out.
                this.track(name);
                await this.maintenance.query(`GRANT CONNECT ON DATABASE ${quoteIdent(database)} TO ${role}`);
                return;
            }
            catch (error) {
                const code = error.code;
                const raced = code === DUPLICATE_OBJECT || code === UNIQUE_VIOLATION || code === UNDEFINED_OBJECT;
                if (!raced || attempt >= PROVIDE_ATTEMPTS)
                    throw error;
            }
        }
    }
    /**
     * Drops the Lazarus roles this run used that nothing depends on any more; never throws. Call it
     * after the run's scratch databases are dropped. A provide() still running finishes first (its
     * queries share this session and are bounded by its timeouts) and creates nothing more.
     */
    async dropAll() {
        this.dropping = true;
        await Promise.allSettled([...this.providing]);
        if (this.used.size === 0)
            return;
        const { kept } = await dropLazarusRoles(this.maintenance, [...this.used]);
        this.used.clear();
        for (const name of kept)
            this.used.add(name);
        // A role kept because another run's database uses it is that run's to drop (it recorded it
        // too); one kept because this run's own database could not be dropped, or because the drop
        // failed, is the post step's, after it drops the leftover databases.
        (0,leftovers/* saveRoles */.lS)(kept);
    }
}
/**
 * Drops each named role that carries Lazarus's mark. A role something still depends on (a
 * concurrent run's scratch database) is left for whoever uses it last. Never throws; used by
 * the main and the post step.
 */
async function dropLazarusRoles(db, names) {
    const dropped = [];
    const kept = [];
    for (const name of names) {
        try {
            if (await dropIfMarked(db, name)) {
                dropped.push(name);
                core/* info */.pq(`Dropped role ${listNames([name])} from the clean room.`);
            }
        }
        catch (error) {
            // Another run dropped it between the check and the drop (this one waited for that run's
            // lock, then found it gone): nothing is left to keep.
            if (await isGone(db, name))
                continue;
            kept.push(name);
            const code = error.code;
            if (code === DEPENDENT_OBJECTS_STILL_EXIST) {
                core/* info */.pq(`Kept role ${listNames([name])}: another Lazarus run's (or a kept) scratch database still uses it.`);
            }
            else {
                core/* warning */.$e(`Could not drop role ${listNames([name])} from the clean room: ${(0,errors/* messageOf */.bD)(error)}`);
            }
        }
    }
    return { dropped, kept };
}
/** Whether no role of that name exists any more; false when that cannot be told. */
async function isGone(db, name) {
    try {
        return (await db.query(`SELECT 1 FROM pg_catalog.pg_roles r WHERE r.rolname = $1`, [name])).length === 0;
    }
    catch {
        return false;
    }
}
/**
 * Checks the mark and drops the role in one statement, so that a role dropped and re-created by
 * someone else between a check and a drop is never touched. The name travels as a
 * transaction-local setting, never spliced into the statement's text.
 */
const DROP_IF_MARKED = `
DO $lazarus$
DECLARE
  target text := pg_catalog.current_setting('lazarus.drop_role');
BEGIN
  IF EXISTS (SELECT 1 FROM pg_catalog.pg_roles r WHERE r.rolname = target
             AND pg_catalog.starts_with(pg_catalog.shobj_description(r.oid, 'pg_authid'),
                                        pg_catalog.current_setting('lazarus.role_marker'))) THEN
    EXECUTE pg_catalog.format('DROP ROLE %I', target);
    PERFORM pg_catalog.set_config('lazarus.role_dropped', 'yes', true);
  END IF;
END
$lazarus$`;
async function dropIfMarked(db, name) {
    await db.query('BEGIN');
    try {
        await db.query(`SELECT pg_catalog.set_config('lazarus.drop_role', $1, true), pg_catalog.set_config('lazarus.role_marker', $2, true),
         pg_catalog.set_config('lazarus.role_dropped', 'no', true)`, [name, ROLE_MARKER]);
        await db.query(DROP_IF_MARKED);
        const [row] = await db.query(`SELECT pg_catalog.current_setting('lazarus.role_dropped') AS dropped`);
        await db.query('COMMIT');
        return row.dropped === 'yes';
    }
    catch (error) {
        await db.query('ROLLBACK').catch(() => undefined);
        throw error;
    }
}

;// CONCATENATED MODULE: ./src/engines/postgres/restore-role.ts







/**
 * Who restores the dump in the clean room. A restore executes production-authored code: CHECK
 * and domain constraints and generated columns during COPY, index expressions and predicates
 * and exclusion constraints during CREATE INDEX, REFRESH MATERIALIZED VIEW, SECURITY DEFINER
 * functions owned by whoever restores them (pg_dump --no-owner). Run as the clean room's
 * superuser, a production user who may create a function could run `COPY ... TO PROGRAM` on the
 * clean-room host. SET ROLE or SET SESSION AUTHORIZATION are no sandbox (a function may RESET
 * them while the session's login role is a superuser), so psql LOGS IN as a role of its own:
 * created per run, without any attribute, marked like Lazarus's other roles (ROLE_MARKER),
 * recorded for the post step, given only CONNECT, CREATE and TEMPORARY on the scratch database
 * (and CREATE on its public schema), and dropped at the end. It owns what it restores, so the
 * code that runs as an object's owner (CREATE INDEX, REFRESH, autovacuum's ANALYZE, amcheck)
 * runs as this role too. It does not own the database: the owner could ALTER DATABASE ... SET
 * settings (a search_path) that Lazarus's own sessions, connected as the clean-room role,
 * would pick up.
 */
const RESTORE_ROLE_MODES = ['unprivileged', 'superuser'];
/** Rights that let a role run programs or touch the server's files: never lent to production's code. */
const SERVER_ACCESS_ROLES = ['pg_execute_server_program', 'pg_read_server_files', 'pg_write_server_files'];
/** The name of the run's restore role: unique per run, recognisable, within PostgreSQL's 63 bytes. */
function restoreRoleName(runId) {
    return `lazarus_restore_${runId}`.slice(0, 63);
}
/**
 * Decides who restores. Pure. `unprivileged` (the default) creates a role of Lazarus's own when
 * the clean-room role can create roles (a superuser, or CREATEROLE, which before PostgreSQL 16
 * could grant itself any non-superuser right and so is no sandbox either); a role that cannot
 * restores as itself, unless it is a superuser (impossible) or may run programs or touch the
 * server's files (refused: it would lend those rights to production's code).
 */
function decideRestoreRights(mode, rights, ownRole) {
    const user = quoteIdent(rights.user);
    if (mode === 'superuser') {
        const what = rights.superuser ? 'a superuser' : 'the clean-room role';
        return {
            mode,
            role: rights.user,
            superuser: rights.superuser,
            ownRole: false,
            description: `The restore runs as ${rights.user}, ${what} (restore-role: superuser): production's functions, constraints, ` +
                `index expressions and materialized views run with that role's rights in the clean room`
        };
    }
    if (rights.superuser || rights.createRole) {
        return {
            mode,
            role: ownRole,
            superuser: false,
            ownRole: true,
            description: `The restore runs as ${ownRole}, a role without superuser rights that Lazarus created for this run ` +
                `(restore-role: unprivileged): production's code in the dump runs with no right beyond the scratch database`
        };
    }
    if (rights.serverAccess.length > 0) {
        return {
            refuse: `the clean-room role ${user} cannot create roles but has the rights of ${rights.serverAccess.join(', ')}, ` +
                `which production's code in the dump would run with: give it CREATEROLE (Lazarus then restores as a role ` +
                `of its own), use a role without those rights, or set restore-role: superuser to accept that`
        };
    }
    return {
        mode,
        role: rights.user,
        superuser: false,
        ownRole: false,
        description: `The restore runs as ${rights.user}, the clean-room role, which is not a superuser and cannot create roles ` +
            `(restore-role: unprivileged): production's code in the dump runs with that role's rights`
    };
}
/**
 * The SCRAM-SHA-256 verifier PostgreSQL stores for `password` (RFC 5802, RFC 7677): the role is
 * created with it, so the password itself never reaches the server (nor its statement log).
 */
function scramVerifier(password, salt = (0,external_node_crypto_.randomBytes)(16), iterations = 4096) {
    const salted = (0,external_node_crypto_.pbkdf2Sync)(password, salt, iterations, 32, 'sha256');
    const clientKey = (0,external_node_crypto_.createHmac)('sha256', salted).update('Client Key').digest();
    const storedKey = (0,external_node_crypto_.createHash)('sha256').update(clientKey).digest();
    const serverKey = (0,external_node_crypto_.createHmac)('sha256', salted).update('Server Key').digest();
    return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}
/** Reads the configured clean-room role's rights. */
async function readCleanRoomRights(maintenance) {
    const [row] = await maintenance.query(`SELECT r.rolname AS user, r.rolsuper AS superuser, r.rolcreaterole AS createrole,
       ARRAY(SELECT a.rolname::pg_catalog.text FROM pg_catalog.pg_roles a
             WHERE a.rolname = ANY ($1::pg_catalog.text[]) AND pg_catalog.pg_has_role(r.oid, a.oid, 'USAGE')
             ORDER BY 1) AS access
     FROM pg_catalog.pg_roles r WHERE r.rolname = current_user`, [[...SERVER_ACCESS_ROLES]]);
    return { user: row.user, superuser: row.superuser, createRole: row.createrole, serverAccess: row.access };
}
/** The run's own restore role in the clean room: created, admitted to scratch databases, dropped. */
class RestoreRole {
    maintenance;
    name;
    password;
    constructor(maintenance, name, password) {
        this.maintenance = maintenance;
        this.name = name;
        this.password = password;
    }
    /**
     * Creates the role, LOGIN and nothing else, with its mark in the same transaction (no other
     * session sees it unmarked). It is recorded for the post step before it exists: dropping a
     * role that is not there, or not marked, does nothing.
     */
    static async create(maintenance, runId) {
        const name = restoreRoleName(runId);
        const password = (0,external_node_crypto_.randomBytes)(24).toString('base64url');
        core/* setSecret */.Pq(password);
        (0,leftovers/* saveRestoreRole */.QM)(name);
        const role = quoteIdent(name);
        await maintenance.query(`CREATE ROLE ${role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS NOINHERIT
         PASSWORD ${quoteLiteral(scramVerifier(password))};
       COMMENT ON ROLE ${role} IS ${quoteLiteral(`${ROLE_MARKER} (restores the dump) of run ${runId}`)}`);
        core/* info */.pq(`Created role ${name} in the clean room to restore the dump with (no superuser or other rights).`);
        return new RestoreRole(maintenance, name, password);
    }
    /** Where psql connects to restore into `scratch`: the same server and database, as this role. */
    target(scratch) {
        return {
            ...scratch,
            user: this.name,
            password: this.password,
            secrets: [...scratch.secrets, this.password]
        };
    }
    /**
     * Lets the role restore into `scratch` (an empty scratch database just created): CONNECT,
     * CREATE (schemas, trusted extensions) and TEMPORARY on the database, CREATE on its public
     * schema (PostgreSQL 15 and later give it to the database owner only). Then proves the role
     * can log in there, so that a clean room whose pg_hba.conf refuses it fails with what to fix
     * instead of as a backup that does not restore.
     */
    async admit(scratch) {
        const role = quoteIdent(this.name);
        await this.maintenance.query(`GRANT CONNECT, CREATE, TEMPORARY ON DATABASE ${quoteIdent(scratch.database)} TO ${role}`);
        const owner = await DatabaseSession.open(scratch, 'cleanroom');
        try {
            const [publicSchema] = await owner.query(`SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = 'public'`);
            if (publicSchema)
                await owner.query(`GRANT USAGE, CREATE ON SCHEMA public TO ${role}`);
        }
        finally {
            await owner.close();
        }
        try {
            const session = await DatabaseSession.open(this.target(scratch), 'cleanroom');
            await session.close();
        }
        catch (error) {
            throw new errors/* UserError */.yo(`The clean room refused a login by Lazarus's restore role ${this.name} (${(0,errors/* messageOf */.bD)(error)}): let every role ` +
                `log in with a password from this runner in the clean room's pg_hba.conf (host all all <runner> scram-sha-256), ` +
                `or set restore-role: superuser to restore as the clean-room role.`);
        }
    }
    /**
     * Drops the role; never throws. A database kept with keep-cleanroom still holds what it
     * restored: the role then stays for that database, but can no longer log in.
     */
    async drop() {
        const { kept } = await dropLazarusRoles(this.maintenance, [this.name]);
        if (kept.length === 0) {
            (0,leftovers/* saveRestoreRole */.QM)(undefined);
            return;
        }
        await this.maintenance
            .query(`ALTER ROLE ${quoteIdent(this.name)} NOLOGIN PASSWORD NULL`)
            .catch(error => core/* warning */.$e(`Could not disable logins by role ${this.name}: ${(0,errors/* messageOf */.bD)(error)}`));
    }
}
/**
 * Decides who restores for this run (decideRestoreRights) and, when that is a role of Lazarus's
 * own, creates it. Throws a UserError when the clean-room role may not be trusted with
 * production's code and cannot make a role that could.
 */
async function setUpRestoreRights(maintenance, mode, runId) {
    const decided = decideRestoreRights(mode, await readCleanRoomRights(maintenance), restoreRoleName(runId));
    if ('refuse' in decided)
        throw new errors/* UserError */.yo(`The restore cannot run without superuser rights: ${decided.refuse}.`);
    if (!decided.ownRole)
        return { rights: decided };
    return { rights: decided, role: await RestoreRole.create(maintenance, runId) };
}
/** A hint for a restore that failed on a right the restoring role lacks, or nothing. Pure. */
function missingRightHint(error, rights) {
    if (!rights || rights.superuser)
        return undefined;
    if (!/must be superuser|must be owner|permission denied|must have privileges|must be a member/i.test(error))
        return undefined;
    return (`the restore ran as ${rights.role} without superuser rights (restore-role: ${rights.mode}); ` +
        `if the backup needs them, set restore-role: superuser`);
}

;// CONCATENATED MODULE: ./src/engines/postgres/run-roles.ts





/**
 * A PostgreSQL run's roles in the clean room, which are global to its server: the roles production
 * names and their stand-ins (CleanRoomRoles), and the run's own restore role (restore-role.ts).
 * The clean room (run/cleanroom.ts) drops them after its scratch databases, which depend on them.
 */
class PostgresRunRoles extends CleanRoomRoles {
    /** Who restores this run's dumps (restore-role.ts), once decided. */
    restoreRights;
    restoreRole;
    /** Decides who restores this run's dumps, creating Lazarus's own restore role when that is it. */
    async setUpRestoreRights(mode) {
        const { rights, role } = await setUpRestoreRights(this.maintenance, mode, this.runId);
        this.restoreRights = rights;
        this.restoreRole = role;
        return rights;
    }
    /** Where psql connects to restore into `target`: as the restore role, when there is one. */
    restoreTarget(target) {
        return this.restoreRole ? this.restoreRole.target(target) : target;
    }
    /** Lets the restore role restore into `target`, a scratch database just created (and proves it can log in). */
    async prepareRestore(target) {
        await this.restoreRole?.admit(target);
    }
    /** The roles production names and their stand-ins, then the restore role; never throws. */
    async dropAll() {
        await super.dropAll().catch(error => core/* warning */.$e(`Could not drop Lazarus's roles: ${(0,errors/* messageOf */.bD)(error)}`));
        await this.restoreRole?.drop();
    }
}
/** PostgreSQL's roles as the engine's capability (Engine.cleanroomRoles), over its own maintenance handle. */
const postgresCleanroomRoles = {
    restoreRoleModes: RESTORE_ROLE_MODES,
    forRun: (maintenance, runId) => new PostgresRunRoles(own(maintenance), runId),
    dropLeftovers: async (maintenance, names) => {
        await dropLazarusRoles(own(maintenance), names);
    }
};
/** The run hands back the handle this engine opened: roles are created and dropped through its driver session only. */
function own(maintenance) {
    if (!(maintenance instanceof MaintenanceSession))
        throw new Error('PostgreSQL keeps its roles through its own maintenance handle');
    return maintenance;
}

;// CONCATENATED MODULE: ./src/engines/postgres/superuser-objects.ts

/** FirstNormalObjectId: objects below it were made by initdb, and pg_dump leaves them out. */
const superuser_objects_FIRST_NORMAL_OID = 16384;
function userObjects(catalog, alias, extra = 'true') {
    return `${alias}.oid >= ${superuser_objects_FIRST_NORMAL_OID} AND ${notInExtensionSql(`pg_catalog.${catalog}`, `${alias}.oid`)} AND ${extra}`;
}
/** Types the restore will own: not made by initdb, not in an extension. */
const RESTORED_TYPE = (oid) => `(${oid} >= ${superuser_objects_FIRST_NORMAL_OID} AND ${notInExtensionSql('pg_catalog.pg_type', oid)})`;
/**
 * The SQL that lists them, on production. $1: the extensions a role without superuser rights may
 * create in the clean room.
 */
function superuserObjectsSql(productionMajor) {
    const parts = [
        `SELECT 'extension', pg_catalog.quote_ident(x.extname) FROM pg_catalog.pg_extension x
       WHERE x.oid >= ${superuser_objects_FIRST_NORMAL_OID} AND NOT (x.extname = ANY ($1::pg_catalog.text[]))`,
        `SELECT 'extension configuration table', c.oid::pg_catalog.regclass::pg_catalog.text
       FROM pg_catalog.pg_extension x JOIN pg_catalog.pg_class c ON c.oid = ANY (x.extconfig)
       WHERE x.oid >= ${superuser_objects_FIRST_NORMAL_OID} AND c.relkind IN ('r', 'p')`,
        `SELECT 'event trigger', pg_catalog.quote_ident(et.evtname) FROM pg_catalog.pg_event_trigger et
       WHERE ${notInExtensionSql('pg_catalog.pg_event_trigger', 'et.oid')}`,
        `SELECT 'language', pg_catalog.quote_ident(l.lanname) FROM pg_catalog.pg_language l WHERE ${userObjects('pg_language', 'l')}`,
        `SELECT 'function in language ' || l.lanname, p.oid::pg_catalog.regprocedure::pg_catalog.text
       FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_language l ON l.oid = p.prolang
       JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
       WHERE NOT l.lanpltrusted AND ${userNamespaceSql('n')} AND ${notInExtensionSql('pg_catalog.pg_proc', 'p.oid')}`,
        `SELECT 'base type', t.oid::pg_catalog.regtype::pg_catalog.text FROM pg_catalog.pg_type t
       JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
       WHERE t.typtype = 'b' AND ${userNamespaceSql('n')} AND ${notInExtensionSql('pg_catalog.pg_type', 't.oid')}
         AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_type elem WHERE elem.typarray = t.oid)`,
        `SELECT 'operator class', pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(o.opcname)
       FROM pg_catalog.pg_opclass o JOIN pg_catalog.pg_namespace n ON n.oid = o.opcnamespace
       WHERE ${userObjects('pg_opclass', 'o')}`,
        `SELECT 'operator family', pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(o.opfname)
       FROM pg_catalog.pg_opfamily o JOIN pg_catalog.pg_namespace n ON n.oid = o.opfnamespace
       WHERE ${userObjects('pg_opfamily', 'o')}`,
        `SELECT 'access method', pg_catalog.quote_ident(a.amname) FROM pg_catalog.pg_am a WHERE ${userObjects('pg_am', 'a')}`,
        `SELECT 'text search parser', pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(p.prsname)
       FROM pg_catalog.pg_ts_parser p JOIN pg_catalog.pg_namespace n ON n.oid = p.prsnamespace
       WHERE ${userObjects('pg_ts_parser', 'p')}`,
        `SELECT 'text search template', pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(t.tmplname)
       FROM pg_catalog.pg_ts_template t JOIN pg_catalog.pg_namespace n ON n.oid = t.tmplnamespace
       WHERE ${userObjects('pg_ts_template', 't')}`,
        `SELECT 'foreign-data wrapper', pg_catalog.quote_ident(w.fdwname) FROM pg_catalog.pg_foreign_data_wrapper w
       WHERE ${userObjects('pg_foreign_data_wrapper', 'w')}`,
        `SELECT 'foreign server', pg_catalog.quote_ident(s.srvname) FROM pg_catalog.pg_foreign_server s
       WHERE ${userObjects('pg_foreign_server', 's')}`,
        `SELECT 'transform', t.trftype::pg_catalog.regtype::pg_catalog.text || ' for language ' || l.lanname
       FROM pg_catalog.pg_transform t JOIN pg_catalog.pg_language l ON l.oid = t.trflang
       WHERE ${userObjects('pg_transform', 't')}`,
        `SELECT 'cast', '(' || c.castsource::pg_catalog.regtype::pg_catalog.text || ' AS ' || c.casttarget::pg_catalog.regtype::pg_catalog.text || ')'
       FROM pg_catalog.pg_cast c
       WHERE ${userObjects('pg_cast', 'c', `(c.castmethod = 'b' OR NOT (${RESTORED_TYPE('c.castsource')} OR ${RESTORED_TYPE('c.casttarget')}))`)}`,
        `SELECT 'publication FOR ALL TABLES', pg_catalog.quote_ident(p.pubname) FROM pg_catalog.pg_publication p WHERE p.puballtables`,
        `SELECT 'subscription', pg_catalog.quote_ident(s.subname) FROM pg_catalog.pg_subscription s
       WHERE s.subdbid = (SELECT d.oid FROM pg_catalog.pg_database d WHERE d.datname = pg_catalog.current_database())
         AND (SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname = CURRENT_USER)`,
        `SELECT 'comment on schema', 'public' FROM pg_catalog.pg_namespace n
       WHERE n.nspname = 'public' AND pg_catalog.obj_description(n.oid, 'pg_namespace') <> 'standard public schema'`
    ];
    if (productionMajor >= 15) {
        parts.push(`SELECT DISTINCT 'publication FOR TABLES IN SCHEMA', pg_catalog.quote_ident(p.pubname)
         FROM pg_catalog.pg_publication p JOIN pg_catalog.pg_publication_namespace pn ON pn.pnpubid = p.oid`);
    }
    return `SELECT kind, name FROM (${parts.map(part => `(${part})`).join('\nUNION ALL\n')}) AS found (kind, name) ORDER BY 1, 2`;
}
/** The extensions a role without superuser rights may create in the clean room (trusted, PostgreSQL 13 on). */
function creatableExtensionsSql(cleanroomMajor) {
    const allowed = cleanroomMajor >= 13 ? '(v.trusted OR NOT v.superuser)' : 'NOT v.superuser';
    return `SELECT v.name FROM pg_catalog.pg_available_extension_versions v
    JOIN pg_catalog.pg_available_extensions a ON a.name = v.name AND a.default_version = v.version
    WHERE ${allowed} ORDER BY 1`;
}
/** Reads, on production in the dump's snapshot, what only a superuser could restore. */
async function readSuperuserObjects(production, productionMajor, creatableExtensions) {
    return production.query(superuserObjectsSql(productionMajor), [creatableExtensions]);
}
/** Reads the extensions a role without superuser rights may create in the clean room. */
async function readCreatableExtensions(cleanroom, cleanroomMajor) {
    const rows = await cleanroom.query(creatableExtensionsSql(cleanroomMajor));
    return rows.map(row => row.name);
}
/** How many objects the error names before it only counts the rest. */
const NAMED_OBJECTS = 8;
/** The one-line error for a dump that needs a superuser to restore. Pure. */
function superuserObjectsError(objects) {
    const named = objects.slice(0, NAMED_OBJECTS).map(object => `${object.kind} ${object.name}`);
    const more = objects.length > NAMED_OBJECTS ? ` and ${objects.length - NAMED_OBJECTS} more` : '';
    return (`Production holds what only a superuser can restore (${named.join(', ')}${more}), and the restore runs without ` +
        `superuser rights (restore-role: unprivileged) so that production's code cannot act on the clean-room host: ` +
        `set restore-role: superuser to restore as the clean-room role, trusting production's code with its rights.`);
}

;// CONCATENATED MODULE: ./src/engines/postgres/owners-and-privileges.ts









/**
 * PostgreSQL's owners, privileges and roles as the engine's capability (Engine.ownersAndPrivileges):
 * who restores (restore-role.ts), the role plan and the roles provided to each scratch database
 * (cleanroom-roles.ts), the replay of owners and privileges after an unprivileged restore
 * (privileged-pass.ts), their reading (privileges.ts) and the refusal of what only a superuser
 * can restore (superuser-objects.ts). The run's state lives in its PostgresRunRoles.
 */
/** The run hands back the roles this engine's clean room keeps for it (Engine.cleanroomRoles). */
function owners_and_privileges_own(roles) {
    if (!(roles instanceof PostgresRunRoles))
        throw new Error("PostgreSQL's owners and privileges need its own roles of the run");
    return roles;
}
function maintenance(opened) {
    if (!(opened instanceof MaintenanceSession))
        throw new Error('The PostgreSQL engine reads the clean room through its own maintenance handle');
    return opened;
}
/** Whether owners and privileges are replayed by the clean-room role after the restore: the restore role is Lazarus's own. */
function replaysPrivileges(roles) {
    const rights = roles.restoreRights;
    return rights?.ownRole === true && !rights.superuser;
}
/**
 * What replaying owners and privileges apart needs: every statement when a role of Lazarus's own
 * restores; otherwise only those naming a predefined role the clean room lacks, when production
 * names one (cleanroom-roles.ts), replayed with its stand-in. Undefined when nothing is replayed.
 */
function privilegeReplay(plan, roles, encoding) {
    const rights = roles.restoreRights;
    if (!plan.restore || !rights)
        return undefined;
    const standIns = new Map((plan.standIns ?? []).map(entry => [entry.role, entry.standIn]));
    if (replaysPrivileges(roles))
        return { standIns, restoreRole: rights.role, encoding };
    return plan.replayOnly ? { standIns, encoding, onlyNaming: plan.replayOnly } : undefined;
}
/**
 * Where the sanitizer routes pg_dump's ownership and privilege statements, decided before the
 * role plan (the program is built before the dump): all of them when a role of Lazarus's own
 * restores; otherwise those naming a predefined role the clean room's major lacks, which no
 * stream can restore (privilegedRoles), when there is such a role.
 */
async function routedStatements(roles, cleanroom, file) {
    if (roles.restoreRights?.ownRole)
        return { routedFile: file };
    const newer = predefinedRolesNewerThan((await cleanroom.serverFacts()).major);
    return newer.length > 0 ? { routedFile: file, routedRoles: newer } : {};
}
/**
 * Decides whether owners and privileges are restored and compared (cleanroom-roles.ts), with how
 * for the log: a check that cannot run is never a silent pass.
 */
async function owners_and_privileges_planRoles(roles, named) {
    // Restored by a role of Lazarus's own: the clean-room role replays the dump's ownership and
    // privilege statements afterwards (privileged-pass.ts), with stand-ins for pre-existing roles.
    const replay = replaysPrivileges(roles);
    const plan = await roles.decide(named, undefined, replay);
    const created = plan.provided.length > 0 ? `; roles created for the restore: ${listNames(plan.provided)}` : '';
    const existing = plan.existing.length === 0
        ? ''
        : replay
            ? `; existing roles played by stand-ins without rights (never owners of production's code): ${listNames(plan.existing)}`
            : `; existing roles used as they are: ${listNames(plan.existing)}`;
    const how = replay ? ', replayed by the clean-room role after the unprivileged restore' : '';
    plan.detail = `${how}${created}${existing}`;
    return plan;
}
/**
 * Production's objects that only a superuser can restore while the restore runs without superuser
 * rights (superuser-objects.ts), as one line naming the objects and the input; undefined when the
 * restore may restore them (or runs as a superuser).
 */
async function superuserObjectsRefusal(roles, production, cleanroom) {
    const rights = roles.restoreRights;
    if (rights?.mode !== 'unprivileged' || rights.superuser !== false)
        return undefined;
    const creatable = await readCreatableExtensions(cleanroom, (await cleanroom.serverFacts()).major);
    const productionMajor = (await production.serverFacts()).major;
    const objects = await production.withSavepoint(() => readSuperuserObjects(production, productionMajor, creatable));
    return objects.length > 0 ? superuserObjectsError(objects) : undefined;
}
/** PostgreSQL's owners and privileges, over the run's roles (run-roles.ts) and its own sessions. */
/** A replay needs psql alone (a stored backup's run has no pg_dump). */
const postgresOwnersAndPrivileges = {
    restoreRoleModes: RESTORE_ROLE_MODES,
    setUpRestoreRights: (roles, mode) => owners_and_privileges_own(roles).setUpRestoreRights(mode),
    restoreRights: roles => owners_and_privileges_own(roles).restoreRights,
    missingRightHint: missingRightHint,
    superuserObjectsRefusal: (roles, production, cleanroom) => superuserObjectsRefusal(owners_and_privileges_own(roles), ownSession(production), maintenance(cleanroom)),
    routedStatements: (roles, cleanroom, file) => routedStatements(owners_and_privileges_own(roles), maintenance(cleanroom), file),
    readNamedRoles: production => readNamedRoles(ownSession(production)),
    planRoles: (roles, named) => owners_and_privileges_planRoles(owners_and_privileges_own(roles), named),
    privilegeReplay: (roles, plan, encoding) => privilegeReplay(plan, owners_and_privileges_own(roles), encoding),
    replay: ({ tools, target, routed, script, check, replay, limits }) => replayPrivileges(tools, target, { routed, script, check }, replay, limits),
    readPrivileges: (opened, standIns) => readPrivileges(ownSession(opened), standIns),
    async addDrillTargets(catalog, opened, plan, runId) {
        if (!plan.restore)
            return;
        catalog.privileges = {
            objects: await readPrivilegeTargets(ownSession(opened)),
            roles: [...plan.provided, ...plan.existing].sort(text_order/* compareText */.n6),
            drillRole: `lazarus_drill_${runId}`
        };
    },
    async prepareRestore(roles, target) {
        // Every role the dump names (when owners are restored), then the restore role's admission.
        await owners_and_privileges_own(roles).provide(target.database);
        await owners_and_privileges_own(roles).prepareRestore(target);
    },
    restoreTarget: (roles, target) => owners_and_privileges_own(roles).restoreTarget(target),
    addRole: (roles, name) => owners_and_privileges_own(roles).addRole(name)
};

// EXTERNAL MODULE: external "node:zlib"
var external_node_zlib_ = __webpack_require__(38522);
;// CONCATENATED MODULE: ./src/engines/postgres/backup-format.ts




/** The formats Lazarus writes a backup it keeps in (backup-format): pg_dump's, less tar, which pg_dump cannot stream. */
const KEPT_FORMATS = ['custom', 'directory', 'plain'];
/** How much of the start of a file is read to recognise it. */
const HEAD_BYTES = 64 * 1024;
const ARCHIVE_MAGIC = Buffer.from('PGDMP');
const GZIP_MAGIC = Buffer.from([0x1f, 0x8b]);
const ZSTD_MAGIC = Buffer.from([0x28, 0xb5, 0x2f, 0xfd]);
const LZ4_MAGIC = Buffer.from([0x04, 0x22, 0x4d, 0x18]);
const TAR_MAGIC = Buffer.from('ustar');
const TAR_MAGIC_OFFSET = 257;
/** pg_dump's plain output opens with this banner; pg_dumpall's with the cluster one. */
const PLAIN_BANNER = '-- PostgreSQL database dump';
const CLUSTER_BANNER = '-- PostgreSQL database cluster dump';
/** And ends with this line, unless it was cut short. */
const PLAIN_FOOTER = '-- PostgreSQL database dump complete';
/** Recognises the first bytes of a backup file (at most HEAD_BYTES). Pure. */
function classifyHead(head) {
    if (head.length === 0)
        return { problem: 'it is empty' };
    if (startsWith(head, ARCHIVE_MAGIC))
        return { kind: 'custom' };
    if (startsWith(head, GZIP_MAGIC))
        return { kind: 'gzip' };
    if (startsWith(head, ZSTD_MAGIC) || startsWith(head, LZ4_MAGIC)) {
        const tool = startsWith(head, ZSTD_MAGIC) ? 'zstd' : 'lz4';
        return {
            problem: `it is ${tool}-compressed, which Lazarus does not read: decompress it (${tool} -d) first, or keep backups in pg_dump's custom or directory format`
        };
    }
    if (head.length >= TAR_MAGIC_OFFSET + TAR_MAGIC.length && startsWith(head.subarray(TAR_MAGIC_OFFSET), TAR_MAGIC)) {
        return { kind: 'tar' };
    }
    // Text only: the banner sits in the first lines (after \restrict in recent dumps), never after a NUL byte.
    if (head.includes(0))
        return { problem: notABackup };
    const text = head.toString('latin1');
    if (text.includes(CLUSTER_BANNER)) {
        return {
            problem: "it is pg_dumpall's dump of a whole cluster, not one database's backup: verify each database's pg_dump backup instead"
        };
    }
    if (text.includes(PLAIN_BANNER))
        return { kind: 'plain' };
    return { problem: notABackup };
}
const notABackup = "it is not a PostgreSQL backup (neither pg_dump's plain SQL, optionally gzip-compressed, nor a custom, directory or tar archive)";
/**
 * Reads what `file` is. Throws one UserError naming the file and the cause for anything that is
 * not a backup Lazarus can restore: missing, empty, a wrong file, a corrupt gzip header, a
 * compressed archive, a plain dump cut short before pg_dump's closing line.
 */
function detectBackup(file, inputName = 'backup-path') {
    const fail = (cause) => new errors/* UserError */.yo(`Input '${inputName}' is '${file}': ${cause}.`);
    let stat;
    try {
        stat = external_node_fs_.statSync(file);
    }
    catch (error) {
        throw fail(`it cannot be read (${(0,errors/* messageOf */.bD)(error)}): point it at a pg_dump backup file or directory`);
    }
    if (stat.isDirectory()) {
        const toc = external_node_path_.join(file, 'toc.dat');
        if (!external_node_fs_.existsSync(toc)) {
            throw fail("it is a directory without pg_dump's toc.dat, so not a directory-format archive: point it at the backup itself");
        }
        if (!external_node_fs_.statSync(toc).isFile())
            throw fail('its toc.dat is not a file (a pipe, socket, device or directory): the archive is damaged');
        const head = readHead(toc, fail);
        if (!startsWith(head, ARCHIVE_MAGIC))
            throw fail("its toc.dat is not pg_dump's (no PGDMP header): the archive is damaged");
        return { path: file, format: 'directory', gzip: false, bytes: directoryBytes(file) };
    }
    // A named pipe or a device would block the read below, or never end: a backup is a file.
    if (!stat.isFile())
        throw fail('it is neither a file nor a directory (a pipe, socket or device): point it at the backup itself');
    const head = readHead(file, fail);
    const kind = classifyHead(head);
    if ('problem' in kind)
        throw fail(kind.problem);
    if (kind.kind !== 'gzip') {
        if (kind.kind === 'plain')
            assertPlainComplete(file, stat.size, fail);
        return { path: file, format: kind.kind, gzip: false, bytes: stat.size };
    }
    const inner = classifyHead(gunzipHead(head, fail));
    if ('problem' in inner)
        throw fail(`it is gzip-compressed, and inside ${inner.problem.replace(/^it is /, 'is ')}`);
    if (inner.kind !== 'plain') {
        throw fail(`it is a gzip-compressed ${inner.kind === 'tar' ? 'tar' : 'custom'} archive, which pg_restore cannot read: decompress it (gunzip) first`);
    }
    return { path: file, format: 'plain', gzip: true, bytes: stat.size };
}
function startsWith(buffer, prefix) {
    return buffer.length >= prefix.length && buffer.subarray(0, prefix.length).equals(prefix);
}
function readHead(file, fail) {
    let fd;
    try {
        fd = external_node_fs_.openSync(file, 'r');
        const buffer = Buffer.alloc(HEAD_BYTES);
        const read = external_node_fs_.readSync(fd, buffer, 0, HEAD_BYTES, 0);
        return buffer.subarray(0, read);
    }
    catch (error) {
        throw fail(`it cannot be read (${(0,errors/* messageOf */.bD)(error)})`);
    }
    finally {
        if (fd !== undefined)
            external_node_fs_.closeSync(fd);
    }
}
/** The decompressed start of a gzip stream; a damaged header is a gzip error. */
function gunzipHead(head, fail) {
    try {
        // A prefix of the stream: flush what decompresses instead of demanding its end.
        return external_node_zlib_.gunzipSync(head, { finishFlush: external_node_zlib_.constants.Z_SYNC_FLUSH }).subarray(0, HEAD_BYTES);
    }
    catch (error) {
        throw fail(`it starts like gzip but does not decompress (gzip error: ${(0,errors/* messageOf */.bD)(error)})`);
    }
}
/** A plain dump cut short still restores what it holds: only its missing closing line tells. */
function assertPlainComplete(file, size, fail) {
    const tailBytes = Math.min(size, 4096);
    const fd = external_node_fs_.openSync(file, 'r');
    try {
        const tail = Buffer.alloc(tailBytes);
        external_node_fs_.readSync(fd, tail, 0, tailBytes, size - tailBytes);
        if (!hasPlainFooter(tail.toString('latin1'))) {
            throw fail(`it is truncated: the plain dump ends before pg_dump's closing line ('${PLAIN_FOOTER}')`);
        }
    }
    finally {
        external_node_fs_.closeSync(fd);
    }
}
/** Whether the end of a plain dump holds pg_dump's closing line (followed only by its comment frame and \unrestrict). Pure. */
function hasPlainFooter(tail) {
    const at = tail.lastIndexOf(PLAIN_FOOTER);
    if (at < 0)
        return false;
    const after = tail.slice(at + PLAIN_FOOTER.length);
    return /^\s*(--\s*)?(\\unrestrict [A-Za-z0-9]+\s*)?$/.test(after);
}
function directoryBytes(dir) {
    let total = 0;
    for (const entry of external_node_fs_.readdirSync(dir, { withFileTypes: true })) {
        if (entry.isFile())
            total += external_node_fs_.statSync(external_node_path_.join(dir, entry.name)).size;
    }
    return total;
}

;// CONCATENATED MODULE: ./src/engines/postgres/dump-compression.ts

/**
 * Levels pg_dump 16 accepts (validate_compress_specification): gzip 1 to 9, lz4 1 to 12 (its
 * default is the fast mode), zstd up to ZSTD_maxCLevel() (22; zstd's negative "fast" levels are
 * left out: below 1 they trade ratio for speed that lz4 already offers).
 */
const LEVELS = {
    gzip: { min: 1, max: 9 },
    lz4: { min: 1, max: 12 },
    zstd: { min: 1, max: 22 }
};
/**
 * The archive formats' compression when backup-compression is empty. Measured
 * (docs/performance.md, bench/RESULTS.md): at 1.1 GiB, gzip level 1 cost the same CPU as none
 * (what it spends deflating, none spends writing and hashing a file 5.4 times larger), half
 * the client CPU of pg_dump's default level 6 (an earlier measurement), and kept a custom restore
 * point within 1.26x the streamed run, for a file a fifth of none's.
 */
const DEFAULT_KEEP_COMPRESSION = { method: 'gzip', level: 1 };
/** gzip without a level: zlib's default (Z_DEFAULT_COMPRESSION), what pg_dump writes when not told. */
const GZIP_DEFAULT_LEVEL = 6;
/** The first pg_dump major that writes each method. */
const WRITTEN_SINCE = { none: 0, gzip: 0, lz4: 16, zstd: 16 };
/** What the input accepts, for messages. */
const COMPRESSION_CHOICES = 'none, gzip, gzip:1 to gzip:9, lz4 or lz4:1 to lz4:12, zstd or zstd:1 to zstd:22';
/**
 * Reads a compression as `METHOD[:LEVEL]` (`LEVEL` also as `level=N`, as pg_dump takes it), or
 * pg_dump's bare `0` to `9` (0 none, else a gzip level). Case and blanks around it do not matter.
 * A bad value is one UserError naming `input` and what it takes.
 */
function parseDumpCompression(raw, input) {
    const value = raw.trim().toLowerCase();
    const bad = (why) => new errors/* UserError */.yo(`Input '${input}' is '${raw}': ${why}.`);
    if (/^\d$/.test(value))
        return value === '0' ? { method: 'none' } : { method: 'gzip', level: Number(value) };
    const match = /^(none|gzip|lz4|zstd)(?::(?:level=)?(-?\d+))?$/.exec(value);
    if (!match) {
        throw bad(`use ${COMPRESSION_CHOICES} (lz4 and zstd need pg_dump 16 or later)`);
    }
    const method = match[1];
    if (method === 'none') {
        if (match[2] !== undefined)
            throw bad('none takes no level: write none');
        return { method };
    }
    if (match[2] === undefined)
        return method === 'gzip' ? { method, level: GZIP_DEFAULT_LEVEL } : { method };
    const level = Number(match[2]);
    const { min, max } = LEVELS[method];
    if (level < min || level > max)
        throw bad(`${method} takes a level from ${min} to ${max} (e.g. ${method}:${min})`);
    return { method, level };
}
/**
 * Why a restore point is not kept in `format` with `compression` (the end of backup-compression's
 * one-line error), or undefined: a plain backup is kept as pg_dump's SQL, uncompressed, so that
 * no one believes compressed a backup that is not.
 */
function refusedKeepCompression(format, compression) {
    if (format === 'plain' && compression.method !== 'none')
        return (`but 'backup-format' is plain, which Lazarus keeps uncompressed (pg_dump's SQL as it was restored): ` +
            `use backup-format custom or directory for a compressed backup, or remove backup-compression`);
    return undefined;
}
/** pg_dump's --compress value: a bare gzip level (0 for none), which every pg_dump takes; lz4 and zstd by name. */
function compressArgument(compression) {
    switch (compression.method) {
        case 'none':
            return '0';
        case 'gzip':
            return String(compression.level ?? GZIP_DEFAULT_LEVEL);
        case 'lz4':
        case 'zstd':
            return compression.level === undefined ? compression.method : `${compression.method}:${compression.level}`;
    }
}
/** The compression as a manifest records it, from pg_dump's --compress value: `none`, `gzip:N`, `lz4`, `zstd:N`... */
function describeCompressArgument(compress) {
    if (compress === '0')
        return 'none';
    if (/^\d+$/.test(compress))
        return `gzip:${compress}`;
    return compress;
}
/**
 * Refuses, before anything is dumped, a compression the pg_dump that will run cannot write: one
 * line naming its version and what to do. Without this, pg_dump 15 would fail on `--compress=zstd`
 * only once the run had connected, and say only "invalid compression level".
 */
function requireCompressionSupport(compression, pgDump, input) {
    const since = WRITTEN_SINCE[compression.method];
    if (pgDump.major >= since)
        return;
    throw new errors/* UserError */.yo(`Input '${input}' is '${compressArgument(compression)}', which pg_dump writes from PostgreSQL ${since} on; the pg_dump this run ` +
        `uses is ${pgDump.version} (${pgDump.path}), which writes only gzip: choose none or gzip (e.g. gzip:1), or install ` +
        `postgresql-client-${since} or newer and point postgres-bin-dir at its bin directory (/usr/lib/postgresql/${since}/bin on Debian and Ubuntu).`);
}

;// CONCATENATED MODULE: ./src/engines/postgres/pg-restore.ts










/**
 * pg_restore reads archives of its own version and older, so the newest installed client is the
 * one that reads the most; `binDir` (postgres-bin-dir) is used exclusively when set.
 */
async function resolveRestoreTools(format, binDir) {
    const needsPgRestore = format !== 'plain';
    const dirs = binDir ? [binDir] : [...debianClientDirs().reverse()];
    if (!binDir) {
        const onPath = await io/* which */.K7('psql', false);
        if (onPath)
            dirs.push(external_node_path_.dirname(onPath));
    }
    for (const dir of dirs) {
        const psqlPath = external_node_path_.join(dir, 'psql');
        const pgRestorePath = external_node_path_.join(dir, 'pg_restore');
        if (!(0,executables/* isExecutable */.T)(psqlPath))
            continue;
        if (needsPgRestore && !(0,executables/* isExecutable */.T)(pgRestorePath))
            continue;
        return {
            psql: await toolVersion(psqlPath),
            ...((0,executables/* isExecutable */.T)(pgRestorePath) ? { pgRestore: await toolVersion(pgRestorePath) } : {})
        };
    }
    const programs = needsPgRestore ? 'pg_restore and psql' : 'psql';
    throw new errors/* UserError */.yo(binDir
        ? `Input 'postgres-bin-dir' is '${binDir}', which has no executable ${programs}: point it at the bin directory of a PostgreSQL client, or leave it empty.`
        : `No PostgreSQL client with ${programs} is installed: install postgresql-client (the newest reads the most archive versions), or set postgres-bin-dir.`);
}
/**
 * Reads an archive's table of contents, once per section. An archive pg_restore cannot read
 * (truncated, damaged, written by a newer pg_dump) stops the run here with pg_restore's words.
 */
async function readArchiveToc(tools, backup) {
    const pgRestore = tools.pgRestore;
    if (!pgRestore)
        throw new Error('pg_restore is needed to read an archive');
    const list = async (section) => {
        const sections = section ? [`--section=${section}`] : [];
        const { exitCode, stdout, stderr } = await exec/* getExecOutput */.H(pgRestore.path, ['-l', ...sections, backup.path], {
            silent: true,
            ignoreReturnCode: true,
            env: clientEnv({ password: undefined })
        });
        if (exitCode !== 0)
            throw unreadableArchive(backup, stderr, pgRestore);
        return parseTocListing(stdout);
    };
    const all = await list();
    const pre = await list('pre-data');
    const data = await list('data');
    const post = await list('post-data');
    return { header: all.header, entries: all.entries.length, preData: pre.entries, data: data.entries, postData: post.entries };
}
/** The error for an archive pg_restore refused, naming the file and pg_restore's reason. */
function unreadableArchive(backup, stderr, pgRestore) {
    const newer = /unsupported version \((\d+)\.(\d+)\) in file header/.exec(stderr);
    if (newer)
        return newerArchive(backup, `${newer[1]}.${newer[2]}`, pgRestore);
    const reason = programLines(stderr, /^pg_restore/) || 'no error output';
    return new errors/* UserError */.yo(`The backup '${backup.path}' (${backup.format} archive) cannot be read: ${reason}.`);
}
/**
 * The archive versions (pg_backup_archiver.h K_VERS_1_x) and the PostgreSQL major whose pg_dump
 * first writes each; pg_restore reads its own major's version and older ones. 1.13 changed the
 * search_path handling (11, and minor releases of 9.3 to 10), 1.14 added table access methods
 * (12), 1.15 the compression algorithm in the header (16), 1.16 large-object metadata entries and
 * relkind (17; 18 writes 1.16 too).
 */
const ARCHIVE_VERSIONS = [
    { version: '1.13', since: 11 },
    { version: '1.14', since: 12 },
    { version: '1.15', since: 16 },
    { version: '1.16', since: 17 }
];
/** The PostgreSQL major whose pg_restore first reads an archive version, or undefined when this Lazarus knows none. Pure. */
function clientMajorReading(version) {
    return ARCHIVE_VERSIONS.find(known => known.version === version)?.since;
}
/** The newest archive version a pg_restore of `major` reads. Pure. */
function newestArchiveVersionRead(major) {
    return ARCHIVE_VERSIONS.filter(known => known.since <= major).at(-1)?.version;
}
/**
 * An archive written by a newer pg_dump than the installed pg_restore reads: one line naming the
 * file, its archive version, the client major that reads it and how to point Lazarus at one. Pure.
 */
function newerArchive(backup, version, pgRestore) {
    const needed = clientMajorReading(version);
    const newest = ARCHIVE_VERSIONS.at(-1);
    const reads = newestArchiveVersionRead(pgRestore.major);
    const writtenBy = needed !== undefined
        ? `written by pg_dump ${needed} or newer`
        : `written by a pg_dump newer than this Lazarus knows (PostgreSQL ${newest.since} and later write ${newest.version})`;
    const install = needed !== undefined
        ? `install the PostgreSQL ${needed} client or newer (postgresql-client-${needed}) and point postgres-bin-dir at its bin directory ` +
            `(/usr/lib/postgresql/${needed}/bin on Debian and Ubuntu)`
        : `install the newest PostgreSQL client and point postgres-bin-dir at its bin directory`;
    return new errors/* UserError */.yo(`The backup '${backup.path}' (${backup.format} archive) has archive version ${version}, ${writtenBy}; ` +
        `pg_restore ${pgRestore.version} (${pgRestore.path}) reads archive versions up to ${reads ?? 'its own'}, so it cannot read it: ${install}.`);
}
/** Splits pg_restore -l output into its header fields (`;     Key: value`) and entry lines. Pure. */
function parseTocListing(listing) {
    const header = {};
    const entries = [];
    for (const line of listing.split('\n')) {
        if (line.startsWith(';')) {
            const field = /^;\s+([A-Za-z][A-Za-z ]*?):\s*(.*)$/.exec(line);
            if (field && !(field[1] in header))
                header[field[1]] = field[2].trim();
            continue;
        }
        if (line.trim())
            entries.push(line);
    }
    return { header, entries };
}
/**
 * Splits the data entries over `jobs` lists for parallel pipelines, largest first onto the list
 * that has least so far (sizes where known: a directory archive's data files; otherwise in order,
 * round robin). Pure.
 */
function splitDataEntries(entries, jobs, sizeOf) {
    const lists = Array.from({ length: Math.max(1, jobs) }, () => ({
        entries: [],
        bytes: 0
    }));
    const sized = entries.map((entry, index) => ({ entry, index, bytes: sizeOf(entry) }));
    const known = sized.every(item => item.bytes !== undefined);
    const order = known ? [...sized].sort((a, b) => b.bytes - a.bytes || a.index - b.index) : sized;
    order.forEach((item, position) => {
        const list = known
            ? lists.reduce((least, candidate) => (candidate.bytes < least.bytes ? candidate : least))
            : lists[position % lists.length];
        list.entries.push(item.entry);
        list.bytes += item.bytes ?? 0;
    });
    // Within a list, the archive's order: pg_restore reads a custom archive front to back.
    const rank = new Map(entries.map((entry, index) => [entry, index]));
    return lists.map(list => list.entries.sort((a, b) => rank.get(a) - rank.get(b))).filter(list => list.length > 0);
}
/** A directory archive's data file for a TOC entry line (`<dumpId>; ...`): <dumpId>.dat, compressed or not. */
function directoryDataBytes(dir, entry) {
    const id = /^(\d+);/.exec(entry)?.[1];
    if (id === undefined)
        return undefined;
    for (const name of [`${id}.dat`, `${id}.dat.gz`, `${id}.dat.lz4`, `${id}.dat.zst`]) {
        try {
            return external_node_fs_.statSync(external_node_path_.join(dir, name)).size;
        }
        catch {
            // not this one
        }
    }
    return 0;
}
/**
 * One pipeline: the source (cat, gzip -dc, or pg_restore -f - with an optional list), the
 * sanitizing sed, and psql with RESTORE_PSQL_OPTIONS after the location check. The cleanroom's
 * password reaches psql alone, as in the fresh run's stream (pg-tools.ts); the source needs none.
 */
const PIPELINE_SCRIPT = `
pw_cleanroom=\${LAZARUS_CLEANROOM_PASSWORD-}
unset LAZARUS_CLEANROOM_PASSWORD PGPASSWORD
ended() { echo "$1 $2 $(date +%s.%N)" >> "$LAZARUS_STATUS_FILE"; }
toc() {
  LC_ALL=C grep -n -E "$LAZARUS_TOC_PATTERN" > "$LAZARUS_TOC_FILE"
  [ $? -le 1 ] && return
  rm -f "$LAZARUS_TOC_FILE"; cat > /dev/null
}
{ "\${LAZARUS_SOURCE[@]}"; ended read $?; } |
{ "\${LAZARUS_FILTER[@]}"; ended sanitize $?; } |
{ tee >(toc); wait $!; } |
{ if [ -n "$pw_cleanroom" ]; then export PGPASSWORD="$pw_cleanroom"; fi
  "\${LAZARUS_PSQL_BUFFERS[@]}" "$LAZARUS_PSQL" "\${LAZARUS_PSQL_OPTIONS[@]}" -f "$LAZARUS_CHECK_FILE" -f - --dbname="$LAZARUS_RESTORE_CONNINFO"; ended restore $?; }
`;
/** The source's argv: the command that writes the backup's SQL to stdout. */
async function sourceCommand(spec) {
    const { backup } = spec;
    if (backup.format === 'plain') {
        return backup.gzip
            ? [await io/* which */.K7('gzip', true), '-dc', '--', backup.path]
            : [await io/* which */.K7('cat', true), '--', backup.path];
    }
    if (!spec.tools.pgRestore)
        throw new Error('pg_restore is needed to read an archive');
    const list = spec.entries ? ['-L', spec.files.listFile] : [];
    const owners = spec.withOwnersAndPrivileges ? [] : ['--no-owner', '--no-privileges'];
    return [spec.tools.pgRestore.path, ...owners, ...list, '-f', '-', `--format=${backup.format}`, '--', backup.path];
}
/** Runs one pipeline to its end and judges it. */
async function runPipeline(spec) {
    const { files } = spec;
    if (spec.entries)
        external_node_fs_.writeFileSync(files.listFile, spec.entries.join('\n') + '\n', { mode: 0o600 });
    const source = await sourceCommand(spec);
    const arrays = [
        `LAZARUS_SOURCE=(${source.map(shellQuote).join(' ')})`,
        `LAZARUS_FILTER=(${spec.filter.map(shellQuote).join(' ')})`,
        `LAZARUS_PSQL_OPTIONS=(${RESTORE_PSQL_OPTIONS.map(shellQuote).join(' ')})`,
        // psql reads the stream in large pieces, as in the fresh run's (stdbuf.ts).
        `LAZARUS_PSQL_BUFFERS=(${streamBuffers({ input: true, output: false }).map(shellQuote).join(' ')})`
    ];
    external_node_fs_.writeFileSync(files.scriptFile, `${arrays.join('\n')}\n${PIPELINE_SCRIPT}`, { mode: 0o600 });
    external_node_fs_.writeFileSync(files.statusFile, '', { mode: 0o600 });
    const env = clientEnv({ ...spec.target, password: undefined }, {
        LAZARUS_PSQL: spec.tools.psql.path,
        LAZARUS_RESTORE_CONNINFO: conninfo(withTcpSafeguards(spec.target, spec.limits ?? DEFAULT_FAULT_LIMITS)),
        LAZARUS_CHECK_FILE: spec.checkFile,
        LAZARUS_STATUS_FILE: files.statusFile,
        LAZARUS_TOC_FILE: files.tocFile,
        LAZARUS_TOC_PATTERN: TOC_COMMENT_PATTERN,
        LAZARUS_CLEANROOM_PASSWORD: spec.target.password ?? ''
    });
    const { stderr } = await runClient('bash', [files.scriptFile], env);
    const stages = readStatus(files.statusFile);
    const outcome = judgePipeline(stages, stderr, spec.backup, files.tocFile);
    if (!outcome.ok && outcome.stage === 'restore') {
        const misplaced = locationCheckError(stderr, spec.checkFile);
        if (misplaced)
            throw misplaced;
        // As in the fresh run: only a statement of the backup that failed is the backup's failure; a
        // lost connection, a killed psql or an error of the clean room's own is not.
        const environment = cleanroomRestoreError(stages.restore?.exitCode, stderr, spec.target);
        if (environment)
            throw environment;
    }
    return outcome;
}
function readStatus(statusFile) {
    const stages = {};
    for (const line of external_node_fs_.readFileSync(statusFile, 'utf8').split('\n')) {
        const [name, code, time] = line.split(' ');
        if (name === 'read' || name === 'sanitize' || name === 'restore')
            stages[name] = { exitCode: Number(code), at: Number(time) };
    }
    return stages;
}
/** Exit code of a program killed by SIGPIPE: it lost its reader, which failed first. */
const SIGPIPE_EXIT = 141;
/**
 * The program that failed first decides, by the times they recorded, as in the fresh run's
 * stream (judgeStream): the source failing first is a backup that cannot be read (an error
 * naming the file), psql failing first is a backup that does not restore. A source or sed that
 * died of a broken pipe only lost its reader. Pure.
 */
function judgePipeline(stages, stderr, backup, tocFile) {
    const failed = (name) => {
        const stage = stages[name];
        if (!stage)
            return true;
        if (stage.exitCode === 0)
            return false;
        return !(name !== 'restore' && stage.exitCode === SIGPIPE_EXIT);
    };
    const failures = ['read', 'sanitize', 'restore']
        .filter(failed)
        .sort((a, b) => (stages[a]?.at ?? Infinity) - (stages[b]?.at ?? Infinity));
    const first = failures[0];
    if (first === undefined)
        return { ok: true };
    const what = backup.format === 'plain' ? (backup.gzip ? 'gzip-compressed plain dump' : 'plain dump') : `${backup.format} archive`;
    const error = {
        read: () => programFailure(`The backup '${backup.path}' (${what}) cannot be read`, stderr, /^(pg_restore|gzip|cat)/),
        sanitize: () => programFailure('sed failed', stderr, /^sed/),
        restore: () => psqlFailure(stderr)
    }[first]();
    return { ok: false, stage: first, error, tocFile };
}
/**
 * The SQL an archive starts with (its SET preamble), without any entry: pg_restore -L with an
 * empty list writes only that. Tells the sanitizer how pg_dump quoted strings.
 */
async function archivePreamble(tools, backup, emptyListFile) {
    const pgRestore = tools.pgRestore;
    if (!pgRestore)
        throw new Error('pg_restore is needed to read an archive');
    external_node_fs_.writeFileSync(emptyListFile, '', { mode: 0o600 });
    const { exitCode, stdout, stderr } = await exec/* getExecOutput */.H(pgRestore.path, ['-L', emptyListFile, '-f', '-', `--format=${backup.format}`, '--', backup.path], { silent: true, ignoreReturnCode: true, env: clientEnv({ password: undefined }) });
    if (exitCode !== 0)
        throw unreadableArchive(backup, stderr, pgRestore);
    return stdout;
}
/** Whether the dump's preamble sets standard_conforming_strings on (pg_dump's default since 9.1). Pure. */
function standardConformingStringsOf(sql) {
    const match = /^SET standard_conforming_strings = '?(on|off)'?;/m.exec(sql);
    return match ? match[1] === 'on' : true;
}
/** The server major a dump was taken from, from its header (plain) or pg_restore -l's (archives). Pure. */
function dumpedFromMajor(text) {
    const match = /Dumped from database version:? (\S+)/.exec(text);
    return match ? majorOfVersion(match[1]) : undefined;
}
/** "13.23" → 13, "9.6.24" → 9.6, as PostgreSQL numbers majors. Pure. */
function majorOfVersion(version) {
    const match = /^(\d+)(?:\.(\d+))?/.exec(version);
    if (!match)
        return undefined;
    const major = Number(match[1]);
    return major >= 10 ? major : Number(`${match[1]}.${match[2] ?? 0}`);
}
/**
 * Whether a plain dump carries owners, from its first TOC comment (`Owner: -` is pg_dump
 * --no-owner); undefined when the head holds no object. Archives always carry them. Pure.
 */
function plainDumpHasOwners(head) {
    const match = /^-- (?:Data for )?Name: .*; Owner: (.*)$/m.exec(head);
    return match ? match[1] !== '-' : undefined;
}

// EXTERNAL MODULE: ./src/util/dump-lines.ts
var dump_lines = __webpack_require__(89250);
;// CONCATENATED MODULE: ./src/engines/postgres/failure-place.ts



/**
 * Where a failed restore stopped, named from the dump itself: the TOC comment in force at the
 * line psql names (restore-failure.ts), looked up in the file psql read (a kept copy), the line
 * index the sanitizer wrote of a stream, or the TOC comments a sectioned restore's pipeline saw.
 */
/**
 * The TOC entry (restore-failure.ts) in force at `line` of a dump file: the object psql was
 * restoring when it stopped there. Reads only up to that line, a chunk at a time.
 */
async function tocEntryInFile(file, line) {
    const numbered = await (0,dump_lines/* numberedLinesUpTo */.W)(file, line, text => text.startsWith('-- ') && parseTocComment(text) !== undefined);
    return tocEntryAt(numbered, line);
}
/**
 * Where a failed restore stopped, in words (restore-failure.ts), from psql's error and the TOC
 * entry `entryAt` finds at the line it names; names decoded from the dump's `encoding`.
 */
async function failurePlace(error, encoding, entryAt) {
    const line = psqlErrorLine(error);
    if (line === undefined)
        return undefined;
    try {
        const place = describeFailurePlace(await entryAt(line), line);
        return place === undefined ? undefined : decodeDumpText(place, encoding);
    }
    catch {
        // Only the words are lost: the error itself still says what failed.
        return undefined;
    }
}

;// CONCATENATED MODULE: ./src/engines/postgres/sed.ts


/**
 * The only module that knows how sed is run. Sanitizing happens inside the dump-to-restore
 * stream (see pg-tools.ts), so sed runs as a filter there: this gives its argv. It runs in the C
 * locale, where every byte is one character: the dump may be in any server encoding, and the
 * program's lexer must never see a byte sequence a UTF-8 locale would call invalid. Its stdio
 * buffers are large ones (stdbuf.ts): it reads the dump and writes it to psql in large pieces.
 */
async function sedFilter(programFile) {
    const env = await io/* which */.K7('env', true);
    const sed = await io/* which */.K7('sed', true);
    return [env, 'LC_ALL=C', ...streamBuffers({ input: true, output: true }), sed, '-n', '-E', '-f', programFile];
}

;// CONCATENATED MODULE: ./src/engines/postgres/sanitizer.ts






/** The run hands back the sanitizer this engine built: its sed filter, with each pipeline's argv and its work files. */
function ownFilter(sanitizer) {
    if (!('argvFor' in sanitizer && 'files' in sanitizer))
        throw new Error("PostgreSQL's restore runs its own sanitizer's sed filter");
    return sanitizer;
}
/**
 * Builds the sed filter from what the clean room knows: it removes the directives the clean room
 * would reject, records each removed line, and (when asked) keeps a copy of the sanitized dump.
 */
async function sanitizeFilter(maintenance, { tools, workFile, production, standardConformingStrings, copyFile, linesFile, routedFile, routedRoles }) {
    const cleanroom = ownSession(maintenance);
    const removedLinesFile = workFile('sanitize-removed.sql');
    const programFile = workFile('sanitize.sed');
    const cleanroomMajor = (await cleanroom.serverFacts()).major;
    const rules = {
        knownSettings: await cleanroom.settingNames(),
        psqlUnderstandsRestrict: psqlUnderstandsRestrict(tools.psql),
        cleanroomMajor,
        // A fresh dump is written under production's session's setting; a stored one says in its preamble.
        standardConformingStrings: standardConformingStrings ?? (await ownSession(production).standardConformingStrings())
    };
    const program = buildSedProgram({
        ...rules,
        removedLinesFile,
        copyFile,
        linesFile,
        privilegedFile: routedFile,
        privilegedRoles: routedRoles
    });
    (0,work_files/* writeWorkFile */.VT)(programFile, program, 'the sanitizer (a sed program)');
    const argv = await sedFilter(programFile);
    const removedLinesFiles = [removedLinesFile];
    const removedLines = () => removedLinesFiles.flatMap(file => (external_node_fs_.existsSync(file) ? external_node_fs_.readFileSync(file, 'latin1').split('\n') : []));
    // Pipeline 1 runs the first program, which routes to routedFile itself.
    const routed = new Map(routedFile ? [[1, routedFile]] : []);
    const argvFor = (pipeline) => {
        if (pipeline <= 1)
            return argv;
        const ownRemovedLines = `${removedLinesFile}.${pipeline}`;
        const ownProgram = `${programFile}.${pipeline}`;
        const ownRouted = routedFile && `${routedFile}.${pipeline}`;
        if (ownRouted)
            routed.set(pipeline, ownRouted);
        // No copy of the dump nor line index here: those are only ever taken of a single, whole pipeline.
        (0,work_files/* writeWorkFile */.VT)(ownProgram, buildSedProgram({
            ...rules,
            removedLinesFile: ownRemovedLines,
            privilegedFile: ownRouted,
            privilegedRoles: routedRoles
        }), 'the sanitizer (a sed program)');
        if (!removedLinesFiles.includes(ownRemovedLines))
            removedLinesFiles.push(ownRemovedLines);
        return argv.map(arg => (arg === programFile ? ownProgram : arg));
    };
    return {
        program,
        argv,
        argvFor,
        copyFile,
        linesFile,
        cleanroomMajor,
        files: {
            [removedLinesFile]: { what: 'the lines it removed from the dump', dumpSized: false },
            ...(linesFile ? { [linesFile]: { what: "the dump's line index (a byte a row)", dumpSized: false } } : {}),
            ...(routedFile ? { [routedFile]: { what: "the dump's ownership and privilege statements", dumpSized: false } } : {}),
            ...(copyFile ? { [copyFile]: { what: 'the copy of the dump', dumpSized: true } } : {})
        },
        routedFiles: () => [...routed.entries()].sort(([a], [b]) => a - b).map(([, file]) => file),
        removed: () => summarizeRemovedLines(removedLines()),
        stopped: () => {
            const stopped = stoppedConstruct(removedLines());
            if (stopped?.rule === 'psql-meta-command')
                return metaCommandStopMessage(stopped.line);
            return stopped && stopMessage(stopped.rule, stopped.line, cleanroomMajor);
        }
    };
}

;// CONCATENATED MODULE: ./src/engines/postgres/stored-restore.ts




async function restoreStoredBackup(options) {
    const started = performance.now();
    const seconds = () => (performance.now() - started) / 1000;
    const { backup, toc } = options;
    let count = 0;
    const pipeline = (entries) => {
        const n = ++count;
        return runPipeline({
            backup,
            tools: options.tools,
            target: options.target,
            filter: options.filter(n),
            checkFile: options.checkFile,
            withOwnersAndPrivileges: options.withOwnersAndPrivileges,
            limits: options.limits,
            entries,
            files: {
                statusFile: external_node_path_.join(options.workDir, `restore-${n}.status`),
                tocFile: external_node_path_.join(options.workDir, `restore-${n}.toc`),
                scriptFile: external_node_path_.join(options.workDir, `restore-${n}.sh`),
                listFile: external_node_path_.join(options.workDir, `restore-${n}.list`)
            }
        });
    };
    // The sections must hold every entry between them, or the split would leave something out.
    const whole = toc !== undefined && toc.preData.length + toc.data.length + toc.postData.length === toc.entries;
    const parallel = toc && whole && options.jobs > 1 && !options.single && (backup.format === 'custom' || backup.format === 'directory');
    if (!parallel) {
        const outcome = await pipeline();
        return { ...outcome, seconds: seconds(), pipelines: count };
    }
    const sizeOf = (entry) => (backup.format === 'directory' ? directoryDataBytes(backup.path, entry) : undefined);
    const lists = splitDataEntries(toc.data, options.jobs, sizeOf);
    core/* info */.pq(`Restoring ${backup.format} archive in sections: pre-data (${toc.preData.length} entries), data (${toc.data.length} entries ` +
        `over ${lists.length} pipeline(s)), post-data (${toc.postData.length} entries).`);
    const pre = await pipeline(toc.preData);
    if (!pre.ok)
        return { ...pre, seconds: seconds(), pipelines: count };
    const data = await Promise.all(lists.map(list => pipeline(list)));
    const failed = firstFailure(data);
    if (failed)
        return { ...failed, seconds: seconds(), pipelines: count };
    const post = await pipeline(toc.postData);
    return { ...post, seconds: seconds(), pipelines: count };
}
/** Of several pipelines' outcomes, the failure to report: an unreadable backup before a failed restore. */
function firstFailure(outcomes) {
    const failures = outcomes.filter((outcome) => !outcome.ok);
    return failures.find(failure => failure.stage === 'read') ?? failures[0];
}
/** The numbered TOC comments psql saw in a failed pipeline, for restore-failure.ts. */
function tocLines(outcome) {
    return external_node_fs_.existsSync(outcome.tocFile) ? external_node_fs_.readFileSync(outcome.tocFile, 'latin1').split('\n') : [];
}

;// CONCATENATED MODULE: ./src/engines/postgres/stored-backup.ts








/**
 * A stored backup opened for its restore (engines/types.ts OpenedBackup): pg_restore's table of
 * contents of an archive, the head of its SQL (pg_dump's preamble and header comments), and its
 * restore through the sanitizer into psql (stored-restore.ts), with where a failed one stopped.
 */
const FORMATS = ['plain', 'custom', 'directory', 'tar'];
/** A stored backup this engine detected (backup-format.ts detectBackup): the run hands it back as it got it. */
function stored_backup_own(backup) {
    if (!FORMATS.includes(backup.format))
        throw new Error(`Not a PostgreSQL backup format: ${backup.format}`);
    return backup;
}
/** How a stored backup is described in the log: plain SQL (gzip-compressed or not), or a pg_dump archive. */
function describeBackup(backup) {
    return backup.format === 'plain' ? (backup.gzip ? 'plain SQL, gzip-compressed' : 'plain SQL') : `${backup.format} archive`;
}
/** The programs that restore a stored backup, for the report (pg_restore when found, psql). */
function restorePrograms(tools) {
    return {
        ...(tools.pgRestore ? { pg_restore: { path: tools.pgRestore.path, version: tools.pgRestore.version } } : {}),
        psql: { path: tools.psql.path, version: tools.psql.version }
    };
}
/**
 * Reads what the backup says of itself. An archive pg_restore cannot read fails here, before any
 * server is touched. `emptyListFile`: a work file for pg_restore's empty list (the preamble alone).
 */
async function openStoredBackup(stored, tools, emptyListFile) {
    const backup = stored_backup_own(stored);
    const toc = backup.format === 'plain' ? undefined : await readArchiveToc(tools, backup);
    const head = await sqlHead(backup, tools, emptyListFile);
    const dumpedFrom = toc?.header['Dumped from database version'] ?? /Dumped from database version (\S+)/.exec(head)?.[1];
    const dumpedBy = toc?.header['Dumped by pg_dump version'] ?? /Dumped by pg_dump version (\S+)/.exec(head)?.[1];
    return {
        ...(toc ? { readBy: `pg_restore ${tools.pgRestore.version} reads it: ${toc.entries} entries.` } : {}),
        ...(dumpedFrom ? { dumpedFrom } : {}),
        ...(dumpedBy ? { dumpedBy } : {}),
        dumpedFromMajor: majorOfVersion(dumpedFrom ?? ''),
        dumpedByMajor: majorOfVersion(dumpedBy ?? ''),
        // A plain dump replays its owners and grants whatever the plan; pg_restore leaves an archive's out at will.
        replaysOwners: backup.format === 'plain' ? plainDumpHasOwners(head) : undefined,
        standardConformingStrings: standardConformingStringsOf(head),
        async restore({ sanitizer, ...request }) {
            const filter = ownFilter(sanitizer);
            const outcome = await restoreStoredBackup({ backup, toc, tools, ...request, filter: pipeline => filter.argvFor(pipeline) });
            if (outcome.ok)
                return outcome;
            return {
                ...outcome,
                failurePlace: encoding => failurePlace(outcome.error, encoding, line => tocEntryAt(tocLines(outcome), line))
            };
        }
    };
}
/** The first bytes of the backup's SQL: the preamble pg_dump writes (its settings, its header comments). */
async function sqlHead(backup, tools, emptyListFile) {
    if (backup.format !== 'plain')
        return archivePreamble(tools, backup, emptyListFile);
    const fd = external_node_fs_.openSync(backup.path, 'r');
    try {
        const buffer = Buffer.alloc(HEAD_BYTES);
        const read = external_node_fs_.readSync(fd, buffer, 0, HEAD_BYTES, 0);
        const head = buffer.subarray(0, read);
        return (backup.gzip ? external_node_zlib_.gunzipSync(head, { finishFlush: external_node_zlib_.constants.Z_SYNC_FLUSH }) : head).toString('latin1');
    }
    finally {
        external_node_fs_.closeSync(fd);
    }
}

;// CONCATENATED MODULE: ./src/engines/postgres/restore-points.ts







/**
 * PostgreSQL's restore points (engines/types.ts RestorePointsCapability): pg_dump's formats and
 * compression, the file names a restore point's backup gets, and what its manifest records that
 * only PostgreSQL knows (the settings its figures are computed under, how a column is hashed); and
 * stored backups, told by content (backup-format.ts), read by pg_restore (pg-restore.ts) and
 * restored through the sanitizer (stored-backup.ts, stored-restore.ts).
 */
/** What a PostgreSQL manifest records of PostgreSQL, as data for report/manifest.ts. */
const POSTGRES_MANIFEST = {
    program: 'pg_dump',
    formats: KEPT_FORMATS,
    pinnedSettings: PINNED_SETTINGS,
    columnHashings: COLUMN_HASHINGS,
    // `r` table or leaf partition, `m` materialized view, `p` partitioned table compared as a whole.
    tableKinds: ['r', 'm', 'p']
};
/** File names per format: a DBA sees at once what to restore it with. */
const BACKUP_NAMES = {
    custom: database => `${database}.dump`,
    directory: database => `${database}.dir`,
    plain: database => `${database}.sql`
};
const postgresRestorePoints = {
    manifest: POSTGRES_MANIFEST,
    formats: KEPT_FORMATS,
    backupName: (format, database) => BACKUP_NAMES[format](database),
    parseCompression: parseDumpCompression,
    defaultCompression: format => (format === 'plain' ? { method: 'none' } : DEFAULT_KEEP_COMPRESSION),
    refusedCompression: refusedKeepCompression,
    // A plain backup is always written uncompressed.
    compressArgument: (format, compression) => (format === 'plain' ? '0' : compressArgument(compression)),
    describeCompression: backup => (backup.format === 'plain' ? 'none' : describeCompressArgument(backup.compress)),
    requireCompressionSupport: (compression, tools, input) => requireCompressionSupport(compression, tools.pgDump, input),
    keptDump(backup, tools, { withOwnersAndPrivileges, lockTimeoutSeconds }) {
        const format = backup.format;
        return {
            version: tools.pgDump.version,
            arguments: dumpArguments({ ...backup, format }, withOwnersAndPrivileges, lockTimeoutSeconds),
            format,
            compression: postgresRestorePoints.describeCompression(backup),
            // An archive holds owners and privileges whatever the clean room could take (pg_restore leaves them out).
            ownersAndPrivileges: format === 'plain' ? withOwnersAndPrivileges : true
        };
    },
    // parseManifest has held the kinds and hashings to POSTGRES_MANIFEST's; the size is not recorded.
    tableOf: (kept) => ({
        schema: kept.schema,
        name: kept.name,
        kind: kept.kind,
        populated: kept.populated,
        columns: kept.columns,
        bytes: 0,
        filter: kept.filter
    }),
    // A table reference holds what the manifest records of a table (its size aside, which writeManifest leaves out).
    keptTable: table => table,
    // The manifest records the database as its snapshot read it (DatabaseSession.databaseFacts).
    databaseDefaults: asDatabaseDefaults,
    // Read inside the snapshot: now() is its transaction's start; the identity is the checks' before the dump.
    async keptProduction(session, { systemIdentifier, startedAt }) {
        const production = ownSession(session);
        const [server, database, snapshotTakenAt] = await Promise.all([
            production.serverFacts(),
            production.databaseFacts(),
            production.transactionStart()
        ]);
        return {
            serverVersion: server.serverVersion,
            serverVersionNum: server.serverVersionNum,
            systemIdentifier,
            startedAt,
            database,
            snapshotTakenAt
        };
    },
    detectBackup: detectBackup,
    describeBackup: describeBackup,
    // pg_restore reads archives of its own version and older: the newest installed client reads the most.
    findRestoreTools: (backup, binDir) => resolveRestoreTools(stored_backup_own(backup).format, binDir),
    restorePrograms: restorePrograms,
    openBackup: openStoredBackup
};

;// CONCATENATED MODULE: ./src/engines/postgres/extensions.ts



/** Images that ship the extensions most often missing from a plain postgres image. */
const IMAGE_HINTS = {
    postgis: 'postgis/postgis',
    postgis_topology: 'postgis/postgis',
    postgis_raster: 'postgis/postgis',
    postgis_tiger_geocoder: 'postgis/postgis',
    address_standardizer: 'postgis/postgis',
    timescaledb: 'timescale/timescaledb',
    vector: 'pgvector/pgvector',
    pgrouting: 'pgrouting/pgrouting',
    citus: 'citusdata/citus'
};
async function readInstalledExtensions(production) {
    const rows = await production.query('SELECT extname AS name, extversion AS version FROM pg_catalog.pg_extension');
    return rows.sort((a, b) => (0,text_order/* compareText */.n6)(a.name, b.name));
}
async function readAvailableExtensions(cleanroom) {
    const rows = await cleanroom.query(`SELECT a.name, a.default_version,
       (SELECT pg_catalog.array_agg(v.version ORDER BY v.version) FROM pg_catalog.pg_available_extension_versions v
        WHERE v.name = a.name) AS versions
     FROM pg_catalog.pg_available_extensions a`);
    return rows.map(row => ({ name: row.name, defaultVersion: row.default_version ?? '', versions: row.versions ?? [] }));
}
/** Production's extensions against the clean room's: which are missing, which would restore at another version. */
function compareExtensions(installed, available) {
    const offered = new Map(available.map(extension => [extension.name, extension]));
    const missing = [];
    const differences = [];
    for (const extension of installed) {
        const there = offered.get(extension.name);
        if (!there || there.versions.length === 0) {
            missing.push(extension);
            continue;
        }
        if (there.defaultVersion === extension.version)
            continue;
        const installable = there.versions.includes(extension.version);
        differences.push({
            kind: 'extension',
            name: extension.name,
            production: extension.version,
            cleanroom: there.defaultVersion,
            detail: installable
                ? `the dump's CREATE EXTENSION installs the clean room's default version ${there.defaultVersion}, not production's ${extension.version}`
                : `the clean room cannot install production's version ${extension.version} (it offers ${there.versions.join(', ')}) ` +
                    `and installs ${there.defaultVersion}`
        });
    }
    return { missing, differences };
}
/** The error for extensions the clean room lacks: each with production's version, what the clean room offers, and where to get it. */
function missingExtensionsError(missing, cleanroom) {
    const listed = missing.map(extension => `${extension.name} ${extension.version}`).join(', ');
    const images = [...new Set(missing.map(extension => IMAGE_HINTS[extension.name]).filter(Boolean))];
    const image = images.length > 0
        ? ` (for ${missing
            .filter(extension => IMAGE_HINTS[extension.name])
            .map(extension => extension.name)
            .join(', ')}: an image such as ${images.join(', ')})`
        : '';
    return new errors/* UserError */.yo(`The clean room (${describe(cleanroom)}, '${cleanroom.inputName}') lacks extension(s) that production uses: ${listed}; ` +
        `it offers no version of ${missing.length === 1 ? 'it' : 'them'}, so the restore would fail on CREATE EXTENSION, ` +
        `whatever the backup holds. Run the clean room on a server or image that ships ${missing.length === 1 ? 'it' : 'them'}` +
        `${image}, with production's major version.`);
}

;// CONCATENATED MODULE: ./src/engines/postgres/production-skew.ts

/**
 * Runs every check of the version-skew catalogue (skew-catalogue.ts) that applies from
 * production's major to the clean room's, in production's snapshot and read-only; each under
 * `withSavepoint`, so a check cannot end the snapshot the dump is taken from.
 */
async function findProductionSkew(production, majors, include = () => true) {
    const findings = [];
    for (const check of productionSkewChecks(majors.production, majors.cleanroom).filter(include)) {
        const rows = await production.withSavepoint(() => production.query(check.sql));
        if (rows.length > 0)
            findings.push({ check, names: rows.map(row => row.name) });
    }
    return findings;
}

;// CONCATENATED MODULE: ./src/engines/postgres/server-checks.ts




/**
 * PostgreSQL's checks of the two servers before anything is dumped (engines/types.ts
 * ServerChecksCapability), as data the run raises or records: the oldest major Lazarus reads, the
 * extensions production uses against those the clean room ships (extensions.ts), what production
 * holds that the clean room's major rejects (production-skew.ts, skew-catalogue.ts), and, once a
 * restore failed, whether version skew explains it.
 */
/** The oldest server Lazarus's catalog queries understand. */
const OLDEST_SUPPORTED_MAJOR = 12;
const serverChecks = {
    unsupported(side, facts) {
        // The schema fingerprint reads columns (generated columns, partitions) that PostgreSQL 12 introduced.
        if (facts.major >= OLDEST_SUPPORTED_MAJOR)
            return undefined;
        return `The ${side} runs PostgreSQL ${facts.version}; Lazarus supports PostgreSQL ${OLDEST_SUPPORTED_MAJOR} or newer.`;
    },
    async environment(production, cleanroom, cleanroomTarget) {
        const [installed, available] = await Promise.all([
            readInstalledExtensions(ownSession(production)),
            readAvailableExtensions(ownSession(cleanroom))
        ]);
        const { missing, differences } = compareExtensions(installed, available);
        return { ...(missing.length > 0 ? { missing: missingExtensionsError(missing, cleanroomTarget).message } : {}), differences };
    },
    async productionSkew(session, cleanroomMajor, privileges) {
        const production = ownSession(session);
        const majors = { production: (await production.serverFacts()).major, cleanroom: cleanroomMajor };
        // GRANT and REVOKE are checked apart: they are in the dump only when owners and privileges are restored.
        const findings = await findProductionSkew(production, majors, check => (check.privileges === true) === privileges);
        return findings.length > 0 ? productionSkewMessage(findings, cleanroomMajor) : undefined;
    },
    explainRestoreFailure: ({ error, cleanroomMajor, productionMajor, dumpMajor }) => explainSkewFailure({ error, cleanroomMajor, productionMajor, pgDumpMajor: dumpMajor })
};

;// CONCATENATED MODULE: ./src/engines/postgres/directory-stream.ts





async function dumpAndRestoreDirectory(tools, production, restoreTarget, options) {
    const dumped = await dumpDirectory(tools, production, options);
    const { startedAt } = dumped;
    if (!dumped.ok)
        return { ...dumped };
    const dump = dumped.dump;
    // The stream cannot have restored anything without its target: that failure is the one to report.
    await options.restoreTargetReady;
    const restoreStartedAt = Date.now() / 1000;
    const restoreTools = { pgRestore: requirePgRestore(tools, "backup-format 'directory'"), psql: tools.psql };
    const backup = {
        path: options.keep.path,
        format: 'directory',
        gzip: false,
        bytes: directory_stream_directoryBytes(options.keep.path)
    };
    // An archive pg_restore cannot read (a disk that lost what pg_dump wrote) is an error naming it.
    const toc = await readArchiveToc(restoreTools, backup);
    const restored = await restoreStoredBackup({
        backup,
        toc,
        tools: restoreTools,
        target: restoreTarget,
        filter: options.filter,
        checkFile: options.checkFile,
        workDir: options.workDir,
        jobs: options.jobs,
        withOwnersAndPrivileges: options.withOwnersAndPrivileges ?? false,
        single: options.single,
        limits: options.limits
    });
    const ended = { exitCode: 0, seconds: Date.now() / 1000 - startedAt };
    // The size of the backup on disk, as for a stored backup: no single stream of it was counted.
    const common = { dump, dumpBytes: backup.bytes, startedAt, restoreStartedAt, pipelines: restored.pipelines };
    if (restored.ok)
        return { ok: true, ...common, sanitize: ended, restore: ended };
    const failed = { ...ended, exitCode: 1 };
    switch (restored.stage) {
        case 'read':
            return { ok: false, stage: 'convert', error: restored.error, ...common, convert: failed };
        case 'sanitize':
            return { ok: false, stage: 'sanitize', error: restored.error, ...common, sanitize: failed };
        case 'restore':
            return { ok: false, stage: 'restore', error: restored.error, ...common, restore: failed, tocFile: restored.tocFile };
    }
}
/** Bytes on disk of every file of a directory archive. */
function directory_stream_directoryBytes(dir) {
    return external_node_fs_.readdirSync(dir).reduce((sum, name) => sum + external_node_fs_.statSync(external_node_path_.join(dir, name)).size, 0);
}

;// CONCATENATED MODULE: ./src/engines/postgres/stream-failure.ts


/**
 * What a failed fresh stream (stream.ts) means beyond the backup, for the seam's neutral outcome:
 * whether pg_dump lost production's exported snapshot (the run's own session then says why), and
 * the failure that is not the backup's (a full disk, a server), which the run raises as it is.
 */
/** pg_dump's error when the transaction that exported the snapshot has ended. */
const SNAPSHOT_GONE = /could not import the requested snapshot|invalid snapshot identifier/;
/** pg_dump could not take the snapshot because the exporting transaction ended (a lock, a lost connection). */
function lostSnapshot(outcome) {
    return outcome.stage === 'dump' && SNAPSHOT_GONE.test(outcome.error);
}
/**
 * The failure that is not the backup's, in the order it is weighed: the kept backup's full disk
 * (it lies outside the work directory: its fix is its own), a server's or the setup's failure,
 * then any program's but psql's (sed's copy of the dump filling the disk, named). Undefined when
 * psql stopped on the dump: that is the backup's, judged by the run.
 */
function streamFault(outcome, keep, copyFile) {
    const keptFull = keep && keptBackupDiskFull(outcome, keep);
    if (keptFull)
        return keptFull;
    if (outcome.environmentError)
        return outcome.environmentError;
    if (outcome.stage !== 'restore') {
        return (copyFile && (0,work_files/* diskFullError */.vB)(outcome.error, 'sed', 'the copy of the dump', copyFile)) || new Error(outcome.error);
    }
    return undefined;
}
/** The error for a restore point that filled its disk (tee or pg_dump writing it), naming where. */
function keptBackupDiskFull(outcome, point) {
    if (outcome.stage !== 'keep' && outcome.stage !== 'dump')
        return undefined;
    const program = outcome.stage === 'keep' ? 'tee' : 'pg_dump';
    const where = point.persistent ? `input 'backup-dir'` : 'RUNNER_TEMP (upload-dump keeps the backup there until it is uploaded)';
    return (0,work_files/* diskFullError */.vB)(outcome.error, program, 'the kept backup', point.format === 'directory' ? external_node_path_.join(point.path, 'toc.dat') : point.path, `A restore point needs room for the whole backup: free disk space there, or point ${where} at a volume with room for it.`);
}

;// CONCATENATED MODULE: ./src/engines/postgres/stream.ts













/**
 * The run's request (engines/types.ts DumpRestoreRequest) as PostgreSQL's stream takes it: pg_dump
 * joins the snapshot production's session exported, and takes startup options unless a pooler
 * stands in front of production; psql runs the location check first and waits at the gate until
 * its database is ready; the sanitizer is the run's sed filter (sanitizer.ts), each further
 * pipeline of a sectioned restore with its own files.
 */
function streamForRun(request) {
    const filter = ownFilter(request.sanitizer);
    const exporter = ownSession(request.snapshot.session);
    // psql runs the location check first (Engine.locationCheck): never a restore without it.
    if (!request.checkFile)
        throw new Error("PostgreSQL's restore needs its location check");
    return streamDumpToRestore({
        tools: request.tools,
        production: request.production,
        restoreInto: request.restoreInto,
        sanitizer: filter.program,
        workDir: request.workDir,
        // The drill's copies are made from the sanitizer's copy of the stream (then one pipeline restores a directory).
        keepDumpAt: filter.copyFile,
        onDumpSnapshotStarted: request.onDumpSnapshotStarted,
        options: {
            checkFile: request.checkFile,
            productionTakesOptions: !exporter.viaPooler,
            snapshot: request.snapshot.id,
            restoreTargetReady: request.restoreTargetReady,
            onDumpEnded: request.onDumpEnded,
            withOwnersAndPrivileges: request.withOwnersAndPrivileges,
            keep: request.keep && { ...request.keep, format: request.keep.format },
            sanitizerFor: pipeline => filter.argvFor(pipeline),
            jobs: request.jobs,
            limits: request.limits,
            encoding: request.defaults.characterSet,
            linesFile: filter.linesFile,
            workFiles: filter.files,
            exclusiveLocks: () => exporter.exclusiveLocks()
        }
    });
}
/** The programs that record their end, in the order the report names them. */
const STAGES = ['dump', 'keep', 'convert', 'sanitize', 'restore'];
/**
 * pg_dump | [tee | pg_restore] | sed | psql, streamed from production's exported snapshot into the
 * scratch database (pg-tools.ts streamDumpIntoRestore); a directory-format restore point is dumped
 * in parallel and then restored in sections (directory-stream.ts). The sanitizer is the sed
 * program `request.sanitizer` (written into the work directory as sanitize.sed); the kept copy
 * of the dump (`keepDumpAt`) is one that program writes (sanitize-rules.ts copyFile), named here
 * so that a full disk names it, and with it a sectioned restore runs one pipeline, whose copy is
 * whole and in order. Throws when the restore target could not be made ready, or psql was not
 * where it was checked; a failure of production or the clean room rather than of the backup is
 * the detail's `environmentError`.
 */
async function streamDumpToRestore(request) {
    const options = request.options;
    const file = (name) => external_node_path_.join(request.workDir, name);
    const programFile = file('sanitize.sed');
    (0,work_files/* writeWorkFile */.VT)(programFile, request.sanitizer, 'the sanitizer (a sed program)');
    const filter = await sedFilter(programFile);
    const workFiles = {
        ...options.workFiles,
        ...(request.keepDumpAt ? { [request.keepDumpAt]: { what: 'the copy of the dump', dumpSized: true } } : {})
    };
    let told = false;
    const onDumpEnded = (succeeded) => {
        options.onDumpEnded?.(succeeded);
        // pg_dump read the exported snapshot, which production's session holds: nothing is released
        // early, and the seam's signal is given once pg_dump has ended, the latest it can matter.
        if (!told)
            void request.onDumpSnapshotStarted().catch(() => undefined);
        told = true;
    };
    const streamOptions = {
        checkFile: options.checkFile,
        productionTakesOptions: options.productionTakesOptions,
        snapshot: options.snapshot,
        filter,
        statusFile: file('stream-status'),
        bytesFile: file('stream-bytes'),
        scriptFile: file('stream.sh'),
        gateFile: file('stream-gate'),
        restoreTargetReady: options.restoreTargetReady,
        onDumpEnded,
        withOwnersAndPrivileges: options.withOwnersAndPrivileges,
        keep: options.keep,
        limits: options.limits,
        workFiles,
        exclusiveLocks: options.exclusiveLocks
    };
    const keep = options.keep;
    let detail;
    if (keep?.format === 'directory') {
        const sanitizerFor = options.sanitizerFor;
        if (!sanitizerFor)
            throw new Error("a directory-format backup's sectioned restore needs the sanitizer of each pipeline");
        detail = await dumpAndRestoreDirectory(request.tools, request.production, request.restoreInto, {
            ...streamOptions,
            keep: { ...keep, format: 'directory' },
            filter: pipeline => (pipeline <= 1 ? filter : sanitizerFor(pipeline)),
            jobs: options.jobs,
            single: request.keepDumpAt !== undefined,
            workDir: request.workDir
        });
    }
    else {
        detail = await streamDumpIntoRestore(request.tools, request.production, request.restoreInto, streamOptions);
    }
    const failedAt = !detail.ok && detail.stage === 'restore' ? await placeOf(detail, options) : undefined;
    const outcome = neutralOutcome(request.tools, detail, failedAt);
    if (detail.ok)
        return outcome;
    const fault = streamFault(detail, keep, request.keepDumpAt);
    return { ...outcome, ...(fault ? { fault } : {}), ...(lostSnapshot(detail) ? { snapshotLost: true } : {}) };
}
/** Where a failed stream's restore stopped: in a sectioned restore's TOC, or in the sanitizer's line index. */
async function placeOf(detail, options) {
    const tocFile = detail.tocFile;
    if (tocFile)
        return failurePlace(detail.error, options.encoding, line => tocEntryAt(tocLines({ tocFile }), line));
    const linesFile = options.linesFile;
    return linesFile && failurePlace(detail.error, options.encoding, line => tocEntryInFile(linesFile, line));
}
/** The seam's neutral outcome of PostgreSQL's: each program that ran, the failed one's error as what it said. */
function neutralOutcome(tools, detail, failedAt) {
    const programs = {
        dump: tools.pgDump.path,
        keep: 'tee',
        convert: tools.pgRestore?.path ?? 'pg_restore',
        sanitize: 'sed',
        restore: tools.psql.path
    };
    const failed = detail.ok ? undefined : detail.stage;
    const stages = STAGES.filter(stage => detail[stage] !== undefined || stage === failed).map(stage => ({
        stage,
        program: programs[stage],
        exitCode: stage === failed ? detail[stage]?.exitCode || 1 : (detail[stage]?.exitCode ?? null),
        stderr: stage === failed && !detail.ok ? detail.error : ''
    }));
    const seconds = Object.fromEntries(STAGES.flatMap(stage => (detail[stage] ? [[stage, detail[stage].seconds]] : [])));
    return {
        ok: detail.ok,
        stages,
        dumpBytes: detail.dumpBytes ?? 0,
        seconds,
        ...(detail.startedAt !== undefined ? { startedAt: detail.startedAt } : {}),
        ...(detail.restoreStartedAt !== undefined ? { restoreStartedAt: detail.restoreStartedAt } : {}),
        ...(failedAt ? { failedAt } : {}),
        // psql stopped on the dump: its error, whole, is the verdict's (the stream's fault, if any, says when it is not the backup's).
        ...(!detail.ok && detail.stage === 'restore' ? { restoreError: detail.error } : {}),
        detail
    };
}
/**
 * Restores a kept sanitized dump into a scratch database with psql (pg-tools.ts restoreDump:
 * the location check first, ON_ERROR_STOP), as it is: a drill's copy comes already rewritten
 * (run/drill-copies.ts, drill/rewrite.ts). With `options.replay` the ownership and privilege
 * statements are split out and replayed afterwards as the clean-room role. A failed restore is
 * `ok: false` with psql's error and where it stopped; a failure that is not the backup's (the
 * clean room's, a misplaced psql) is thrown, but for a full disk while the statements are split
 * out, which is the outcome's `fault`.
 */
async function restoreDumpFile(request) {
    const options = request.options;
    if (!options)
        throw new Error("PostgreSQL's restore needs its options: the location check and the dump's encoding");
    const started = performance.now();
    const file = request.file;
    const replay = options.replay;
    const routedFile = `${file}.privileged.sql`;
    const restoredFile = replay ? `${file}.unprivileged.sql` : file;
    const scriptFile = `${file}.replay.sql`;
    try {
        if (replay) {
            try {
                await splitPrivileged(file, restoredFile, routedFile, replay.plan.onlyNaming);
            }
            catch (error) {
                // The copy without its ownership and privilege statements is as large as the dump: a full
                // disk there is the runner's, not the backup's (the outcome's fault, which the run raises).
                const full = (0,work_files/* diskFullError */.vB)((0,errors/* messageOf */.bD)(error), 'Lazarus', 'a copy of the dump without its owners and privileges', restoredFile);
                if (!full)
                    throw error;
                return {
                    ok: false,
                    stages: [{ stage: 'restore', program: request.tools.psql.path, exitCode: null, stderr: '' }],
                    dumpBytes: external_node_fs_.statSync(file).size,
                    fault: full
                };
            }
        }
        let restored = await restoreDump(request.tools, request.restoreInto, restoredFile, options.checkFile, options.limits);
        // psql's line numbers are those of the file it read: with the ownership and privilege
        // statements split out, not the dump's. A failed replay has no place in the dump at all.
        const failedAt = restored.ok
            ? undefined
            : await failurePlace(restored.error, options.encoding, line => tocEntryInFile(restoredFile, line));
        if (replay && restoredFile !== file)
            external_node_fs_.rmSync(restoredFile, { force: true });
        if (restored.ok && replay) {
            restored = await replayPrivileges(request.tools, replay.as, { routed: [routedFile], script: scriptFile, check: options.checkFile }, replay.plan, options.limits ?? DEFAULT_FAULT_LIMITS);
            if (!restored.ok)
                restored = { ok: false, error: `the owners and privileges did not replay: ${restored.error}` };
        }
        const seconds = (performance.now() - started) / 1000;
        return {
            ok: restored.ok,
            stages: [
                {
                    stage: 'restore',
                    program: request.tools.psql.path,
                    exitCode: restored.ok ? 0 : 1,
                    stderr: restored.ok ? '' : restored.error
                }
            ],
            dumpBytes: external_node_fs_.statSync(file).size,
            seconds: { restore: seconds },
            ...(failedAt ? { failedAt } : {}),
            // psql stopped on the copy (or its owners did not replay): the verdict's words, as the fresh stream's.
            ...(restored.ok ? {} : { restoreError: restored.error })
        };
    }
    finally {
        for (const extra of [routedFile, `${file}.unprivileged.sql`, scriptFile])
            external_node_fs_.rmSync(extra, { force: true });
    }
}

;// CONCATENATED MODULE: ./src/engines/postgres/index.ts






















/** PostgreSQL as an engine: the modules of this folder, behind engines/types.ts. */
const postgres = {
    name: 'PostgreSQL',
    schemes: ['postgres', 'postgresql'],
    parseUrl: parseConnectionUrl,
    urlForm: 'a postgresql:// URI',
    describe: describe,
    // The target's own host, port and database (libpq's defaults filled in) name the history, as they always have.
    address: ({ host, port, database }) => ({ host, port, database }),
    binDirInput: 'postgres-bin-dir',
    clientEnvironment: { passwordVariable: 'PGPASSWORD', forget: forgetLibpqEnvironment },
    secretsOf: target => [...target.secrets],
    setLimits: limits => (DatabaseSession.limits = { ...limits }),
    // A PostgreSQL table is named by its schema and name, never by its database: nothing to report it under.
    withDatabase: (target, database) => withDatabase(target, database),
    openRead: (target, role) => DatabaseSession.open(target, role),
    // pg_dump joins the snapshot production's session exported: nobody waits on it.
    snapshotHoldsWriters: false,
    openMaintenance: target => MaintenanceSession.openMaintenance(target),
    cleanroomRoles: postgresCleanroomRoles,
    cannotCreateDatabases: (role, where) => `Role '${role}' on the clean room (${where}) cannot create databases: ` +
        `run ALTER ROLE "${role}" CREATEDB there, or use a role that can.`,
    abandonAll: keep => DatabaseSession.abandonAll(keep.map(ownSession)),
    // A session of its own on the database being restored (a restore's progress line), closed at once.
    async databaseBytes(target) {
        const session = await DatabaseSession.open(target, 'cleanroom');
        try {
            return await session.databaseSize();
        }
        finally {
            await session.close();
        }
    },
    assertSeparateTargets: (production, cleanroom) => assertSeparateClusters(production, cleanroom),
    async assertSeparateServers(production, cleanroom) {
        const [p, c] = [ownSession(production), ownSession(cleanroom)];
        assertSeparateClusters(p.target, c.target);
        const [productionIdentity, cleanroomIdentity] = await Promise.all([p.clusterIdentity(), c.clusterIdentity()]);
        assertSeparateClusters(p.target, c.target, { production: productionIdentity, cleanroom: cleanroomIdentity });
    },
    // Collations and disabled objects are MySQL's: PostgreSQL's sanitizer rewrites neither.
    diffSchema: (production, restored) => diffSchema(production, restored),
    rowDiffSide: (session, table, key) => rowDiffSide(ownSession(session), table, key),
    tableTraits: table => ({
        bytes: table.bytes,
        // A materialized view's rows are derived, not backed up: reading them would only cost time.
        ...(table.kind === 'm' ? { derived: true } : {}),
        ...(table.kind === 'p' ? { wholeTree: true } : {}),
        // A materialized view left unpopulated has no rows to read.
        ...(table.populated ? {} : { unreadable: true })
    }),
    aroundRowReads: (production, restored, table, read) => ownSession(production).withSavepoint(() => readingEveryRow(ownSession(restored), [table], read)),
    // pg_dump must be at least production's major; psql restores whatever it dumps.
    findClientTools: (production, _cleanroom, binDir) => resolveClientTools(production.major, binDir),
    clientPrograms: tools => ({
        dump: { name: 'pg_dump', path: tools.pgDump.path, version: tools.pgDump.version, major: tools.pgDump.major },
        restore: { name: 'psql', path: tools.psql.path, version: tools.psql.version, major: tools.psql.major },
        byName: true
    }),
    sanitizer: { build: sanitizeFilter },
    streamDumpToRestore: streamForRun,
    restoreDumpFile: restoreDumpFile,
    readDrillCatalog: (session, rowCounts) => readDrillCatalog(ownSession(session), rowCounts),
    drillOperators: DRILL_OPERATORS,
    planDrill: planOrExplain,
    drillCopies: postgresDrillCopies,
    largeObjects: { read: session => readLargeObjects(ownSession(session)) },
    userChecks: { side: session => checkSide(ownSession(session)), dialect: checkDialect },
    amcheck: {
        async check(sessions) {
            const [first, ...others] = sessions.map(ownSession);
            const schema = await installAmcheck(first);
            return runAmcheck([first, ...others], schema, (await first.serverFacts()).major);
        }
    },
    crossMajor: {
        settle: ({ production, restored, standIns }, differences) => settleAcrossMajors({ production: ownSession(production), restored: ownSession(restored), standIns }, differences)
    },
    lockWatch: {
        probe: 'a probe (SELECT 1)',
        lockWaits: (session, seconds) => ownSession(session).lockWaits(seconds),
        lockAdvice: 'another session holds a lock that blocks reading it (ACCESS EXCLUSIVE: ALTER TABLE, TRUNCATE, VACUUM FULL, ' +
            'REFRESH MATERIALIZED VIEW, LOCK TABLE)'
    },
    restorePoints: postgresRestorePoints,
    serverChecks: serverChecks,
    ownersAndPrivileges: postgresOwnersAndPrivileges,
    // The clean room's facts' instance holds its cluster identity's fields (DatabaseSession.facts).
    locationCheck: {
        sql: (target, { systemIdentifier, startedAt, port }) => restoreLocationCheckSql(target.database, { systemIdentifier, startedAt, port })
    }
};


/***/ }),

/***/ 75737:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   T: () => (/* binding */ isExecutable)
/* harmony export */ });
/* harmony import */ var node_fs__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(73024);
/* harmony import */ var node_fs__WEBPACK_IMPORTED_MODULE_0___default = /*#__PURE__*/__webpack_require__.n(node_fs__WEBPACK_IMPORTED_MODULE_0__);

/** Whether `file` is a regular file this process may execute (a client program found by path). */
function isExecutable(file) {
    try {
        node_fs__WEBPACK_IMPORTED_MODULE_0__.accessSync(file, node_fs__WEBPACK_IMPORTED_MODULE_0__.constants.X_OK);
        return node_fs__WEBPACK_IMPORTED_MODULE_0__.statSync(file).isFile();
    }
    catch {
        return false;
    }
}


/***/ })

};
