export const id = 106;
export const ids = [106];
export const modules = {

/***/ 58106:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

// ESM COMPAT FLAG
__webpack_require__.r(__webpack_exports__);

// EXPORTS
__webpack_require__.d(__webpack_exports__, {
  mysql: () => (/* binding */ mysql)
});

// EXTERNAL MODULE: external "node:fs"
var external_node_fs_ = __webpack_require__(73024);
// EXTERNAL MODULE: external "node:path"
var external_node_path_ = __webpack_require__(76760);
// EXTERNAL MODULE: ./src/util/errors.ts
var errors = __webpack_require__(70017);
;// CONCATENATED MODULE: ./src/engines/mysql/connection.ts



/**
 * TLS as the MySQL client programs mean it (`--ssl-mode`): disable, preferred (TLS when the server
 * offers it, without checking the certificate: the clients' default), required (TLS, certificate
 * not checked), verify-ca (the certificate chains to `ca`, or the system's CAs), verify-identity
 * (and names the host).
 */
const SSL_MODES = ['disable', 'preferred', 'required', 'verify-ca', 'verify-identity'];
const DEFAULT_PORT = 3306;
/** How long a connection attempt waits for the server, in seconds. */
const CONNECT_TIMEOUT_SECONDS = 10;
/** MySQL's limit on a database name, in characters. */
const MAX_NAME_LENGTH = 64;
/** The query parameters a URL may carry, and what each means (the README lists the same). */
const PARAMETERS = ['ssl-mode', 'ssl-ca'];
/**
 * Parses `mysql://user:password@host:port/database?ssl-mode=...&ssl-ca=...` (or `mariadb://`),
 * percent-decoding each part, and vets it. A password in the URL wins over `fallbackPassword`
 * (the `*-password` input). Throws a one-line UserError naming the input and what to fix.
 */
function parseMysqlUrl(inputName, raw, fallbackPassword) {
    const text = raw.trim();
    const fail = (why) => new errors/* UserError */.yo(`Input '${inputName}' ${why}`);
    const form = 'mysql://user@host:3306/database';
    const prefix = /^(mysql|mariadb):\/\//.exec(text);
    if (!prefix) {
        const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(text)?.[1];
        throw fail(scheme ? `must start with mysql:// or mariadb:// (got '${scheme}://').` : `is not a URL: write it as ${form}.`);
    }
    const decode = (part, what) => {
        try {
            if (/%(?![0-9A-Fa-f]{2})/.test(part))
                throw new Error('bad escape');
            const decoded = decodeURIComponent(part);
            if (decoded.includes('\u0000'))
                throw new Error('NUL');
            return decoded;
        }
        catch {
            throw fail(`has an invalid ${what}: percent-encode special characters (or give the password in '${inputName.replace(/-url$/, '-password')}').`);
        }
    };
    let rest = text.slice(prefix[0].length);
    // The userinfo ends at the last '@' before the path: a password may hold an unencoded '@'.
    const pathStart = rest.search(/[/?#]/);
    if (pathStart >= 0 && rest.indexOf('@', pathStart) >= 0) {
        // A password with an unencoded '/', '?' or '#': say so without echoing any part of it.
        throw fail(`has an '@' after the host: percent-encode special characters in the password (or give it in '${inputName.replace(/-url$/, '-password')}').`);
    }
    const authority = pathStart >= 0 ? rest.slice(0, pathStart) : rest;
    rest = pathStart >= 0 ? rest.slice(pathStart) : '';
    const at = authority.lastIndexOf('@');
    const userinfo = at >= 0 ? authority.slice(0, at) : undefined;
    const hostport = at >= 0 ? authority.slice(at + 1) : authority;
    let user = '';
    let uriPassword;
    const passwordForms = [];
    if (userinfo !== undefined) {
        const colon = userinfo.indexOf(':');
        user = decode(colon >= 0 ? userinfo.slice(0, colon) : userinfo, 'user name');
        if (colon >= 0) {
            passwordForms.push(userinfo.slice(colon + 1));
            uriPassword = decode(userinfo.slice(colon + 1), 'password') || undefined;
        }
    }
    if (!user)
        throw fail(`names no user: write it as ${form}.`);
    if (hostport.includes(',')) {
        throw fail(`names several hosts ('${hostport}'): Lazarus connects to exactly one server; give one host and port.`);
    }
    const hostMatch = /^(\[[^\]]*\]|[^[\]:]*)(?::(.*))?$/.exec(hostport);
    if (!hostMatch)
        throw fail(`has an invalid host '${hostport}': write it as ${form} (an IPv6 address in brackets).`);
    const host = decode(hostMatch[1].replace(/^\[(.*)\]$/, '$1'), 'host');
    if (!host)
        throw fail(`names no host: write it as ${form}.`);
    if (!/^[A-Za-z0-9._:-]+$/.test(host))
        throw fail(`has an invalid host '${host}': give a host name or an IP address.`);
    const portText = hostMatch[2];
    const port = portText === undefined || portText === '' ? DEFAULT_PORT : Number(portText);
    if (portText !== undefined && portText !== '' && (!/^\d+$/.test(portText) || port < 1 || port > 65535)) {
        throw fail(`has an invalid port '${portText}': give a number from 1 to 65535.`);
    }
    if (rest.includes('#'))
        throw fail(`has a fragment ('#...'): remove it (percent-encode a '#' in the password as %23).`);
    const queryStart = rest.indexOf('?');
    const pathPart = queryStart >= 0 ? rest.slice(0, queryStart) : rest;
    const query = queryStart >= 0 ? rest.slice(queryStart + 1) : '';
    const database = decode(pathPart.replace(/^\//, ''), 'database name');
    if (!database)
        throw fail(`names no database: end it with /<database>, e.g. ${form} (one database per run).`);
    if (database.includes('/')) {
        throw fail(`names more than a database ('${database}'): end it with exactly one /<database> (one database per run).`);
    }
    if ([...database].length > MAX_NAME_LENGTH || /\s$/.test(database)) {
        throw fail(`names database '${database}', which MySQL cannot have: at most 64 characters, not ending in a space.`);
    }
    const params = new Map();
    for (const pair of query === '' ? [] : query.split('&')) {
        const equals = pair.indexOf('=');
        if (equals < 0)
            throw fail(`has a malformed parameter '${pair}': write each as name=value, joined by &.`);
        const key = decode(pair.slice(0, equals), 'parameter');
        if (!PARAMETERS.includes(key)) {
            throw fail(`has parameter '${key}', which Lazarus does not know: remove it (accepted: ${PARAMETERS.join(', ')}).`);
        }
        if (params.has(key))
            throw fail(`has parameter '${key}' twice: give it once.`);
        params.set(key, decode(pair.slice(equals + 1), `value of ${key}`));
    }
    const tls = tlsSettings(inputName, params);
    const password = uriPassword || fallbackPassword || undefined;
    const secrets = new Set();
    if (uriPassword) {
        secrets.add(text);
        for (const encoded of passwordForms)
            secrets.add(encoded);
    }
    if (password) {
        secrets.add(password);
        secrets.add(encodeURIComponent(password));
    }
    return {
        inputName,
        scheme: prefix[1],
        host,
        port,
        database,
        reportAs: database,
        user,
        password,
        tls,
        connectTimeoutSeconds: CONNECT_TIMEOUT_SECONDS,
        secrets: [...secrets].filter(secret => secret.length > 0)
    };
}
function tlsSettings(inputName, params) {
    const fail = (why) => new errors/* UserError */.yo(`Input '${inputName}' ${why}`);
    const modeText = params.get('ssl-mode')?.toLowerCase();
    if (modeText !== undefined && !SSL_MODES.includes(modeText)) {
        throw fail(`has ssl-mode=${params.get('ssl-mode')}: use one of ${SSL_MODES.join(', ')}.`);
    }
    const mode = (modeText ?? 'preferred');
    const caText = params.get('ssl-ca');
    if (caText === undefined)
        return { mode };
    if (mode === 'disable')
        throw fail(`has ssl-ca with ssl-mode=disable: remove one of them.`);
    if (caText === '')
        throw fail(`has an empty ssl-ca: give the path of the CA certificate file.`);
    const ca = external_node_path_.resolve(caText);
    let stat;
    try {
        stat = external_node_fs_.statSync(ca);
    }
    catch {
        throw fail(`has ssl-ca=${caText}, which does not exist: give the path of the CA certificate file.`);
    }
    if (!stat.isFile())
        throw fail(`has ssl-ca=${caText}, which is not a file: give the path of the CA certificate file.`);
    return { mode, ca };
}
/** user@host:port/database for logs and reports: never a password. */
function describe(target) {
    const host = target.host.includes(':') ? `[${target.host}]` : target.host;
    return `${target.user}@${host}:${target.port}/${target.database}`;
}
/** The database `database` on the same server, its tables reported under `reportAs` (production's name). */
function withDatabase(target, database, reportAs = database) {
    return { ...target, database, reportAs };
}
/** Every form of the target's secret that could show up somewhere. */
function secretsOf(target) {
    return target.secrets;
}

// EXTERNAL MODULE: ./node_modules/mysql2/promise.js
var promise = __webpack_require__(27588);
// EXTERNAL MODULE: ./src/util/table-name.ts
var table_name = __webpack_require__(50410);
;// CONCATENATED MODULE: ./src/engines/mysql/figure-queries.ts
/** Character string types: their stored bytes are in the column's character set. */
const STRING_TYPES = new Set(['char', 'varchar', 'tinytext', 'text', 'mediumtext', 'longtext']);
/** Types whose values are bytes rather than text: binaries, BLOBs, BIT and spatial types. */
const BINARY_TYPES = new Set([
    'binary',
    'varbinary',
    'tinyblob',
    'blob',
    'mediumblob',
    'longblob',
    'bit',
    'geometry',
    'point',
    'linestring',
    'polygon',
    'multipoint',
    'multilinestring',
    'multipolygon',
    'geometrycollection',
    'geomcollection'
]);
/** Types whose stored bytes are the value the checksum takes: strings and the byte types above. */
const BYTE_TYPES = new Set([...STRING_TYPES, ...BINARY_TYPES]);
/** Storage engines whose reads a consistent snapshot isolates from concurrent writes (MVCC). */
const SNAPSHOT_ENGINES = new Set(['innodb', 'rocksdb', 'tokudb']);
/** The tables a consistent snapshot does not isolate: every engine but the MVCC ones above. */
function outsideSnapshot(tables) {
    return tables.filter(table => !SNAPSHOT_ENGINES.has(table.engine.toLowerCase()));
}
function columnHashing(dataType) {
    return BYTE_TYPES.has(dataType.toLowerCase()) ? 'bytes' : 'text';
}
/** An identifier in backticks, as MySQL and MariaDB quote them (a backtick doubled). */
function quoteIdent(identifier) {
    return `\`${identifier.replace(/`/g, '``')}\``;
}
/** A string literal under the pinned sql_mode (backslash escapes on, as database.ts pins it). */
function quoteLiteral(text) {
    return `'${text.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
}
/** `database`.`table` */
function qualified(database, table) {
    return `${quoteIdent(database)}.${quoteIdent(table)}`;
}
/** One column's part of a row's text: N for NULL, V and the hex of its value otherwise. */
function columnText(column, alias = '') {
    const ref = `${alias}${quoteIdent(column.name)}`;
    const value = column.hashing === 'bytes' ? `HEX(${ref})` : `HEX(CAST(${ref} AS CHAR))`;
    return `IF(${ref} IS NULL, 'N', CONCAT('V', ${value}))`;
}
/** The MD5 of a row (hex, 32 characters), over the given columns in their order. */
function rowHashSql(columns, alias = '') {
    // CONCAT_WS with a single argument is that argument; a table always has a column.
    return `MD5(CONCAT_WS('|', ${columns.map(column => columnText(column, alias)).join(', ')}))`;
}
/** The two 64-bit halves of a 32-hex-digit hash `h`, as exact unsigned integers. */
function hashHalvesSql(h) {
    return {
        high: `CAST(CONV(SUBSTRING(${h}, 1, 16), 16, 10) AS UNSIGNED)`,
        low: `CAST(CONV(SUBSTRING(${h}, 17, 16), 16, 10) AS UNSIGNED)`
    };
}
/** Row count only. */
function countSql(database, table) {
    return `SELECT COUNT(*) AS n FROM ${qualified(database, table.name)}`;
}
/** Row count and the sums of both halves of every row's MD5. */
function checksumSql(database, table) {
    const { high, low } = hashHalvesSql('q.h');
    return `SELECT COUNT(*) AS n, COALESCE(SUM(${high}), 0) AS high, COALESCE(SUM(${low}), 0) AS low
FROM (SELECT ${rowHashSql(table.columns)} AS h FROM ${qualified(database, table.name)}) AS q`;
}
/** One short string: the row count and both sums modulo 2^64, in hex. */
function combineChecksum(rows, high, low) {
    const hex = (value) => BigInt.asUintN(64, BigInt(value)).toString(16);
    return `${BigInt(rows).toString(16)}-${hex(high)}-${hex(low)}`;
}
/**
 * The tables of the connected database that hold rows (base tables, MariaDB's system-versioned
 * ones), with their columns in ORDINAL_POSITION order. `exclude` names a table that is not the
 * user's (the scratch database's marker). The columns that hold restore-time values are left
 * out of the checksum: a system-versioned table's ROW START/ROW END (MariaDB writes the restore's
 * time into them unless history is dumped), whether implicit or declared (MariaDB 10.11 shows a
 * declared one as EXTRA 'STORED GENERATED', GENERATION_EXPRESSION 'ROW START').
 */
const LIST_TABLES_SQL = `
SELECT t.TABLE_NAME AS name, COALESCE(t.ENGINE, '') AS engine,
       c.COLUMN_NAME AS column_name, LOWER(c.DATA_TYPE) AS data_type
FROM information_schema.TABLES t
JOIN information_schema.COLUMNS c ON c.TABLE_SCHEMA = t.TABLE_SCHEMA AND c.TABLE_NAME = t.TABLE_NAME
WHERE t.TABLE_SCHEMA = DATABASE() AND t.TABLE_TYPE IN ('BASE TABLE', 'SYSTEM VERSIONED')
  AND t.TABLE_NAME <> ?
  AND c.EXTRA NOT LIKE '%ROW START%' AND c.EXTRA NOT LIKE '%ROW END%'
  AND COALESCE(c.GENERATION_EXPRESSION, '') NOT IN ('ROW START', 'ROW END')
ORDER BY t.TABLE_NAME, c.ORDINAL_POSITION`;
/** Groups LIST_TABLES_SQL's rows into tables, columns sorted by name (byte order), tables by name. */
function tablesFromRows(rows, reportAs) {
    const tables = new Map();
    for (const row of rows) {
        let table = tables.get(row.name);
        if (!table)
            tables.set(row.name, (table = { schema: reportAs, name: row.name, engine: row.engine, columns: [] }));
        table.columns.push({ name: row.column_name, dataType: row.data_type, hashing: columnHashing(row.data_type) });
    }
    const byBytes = (a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b));
    for (const table of tables.values())
        table.columns.sort((a, b) => byBytes(a.name, b.name));
    return [...tables.values()].sort((a, b) => byBytes(a.name, b.name));
}

;// CONCATENATED MODULE: ./src/engines/mysql/dump-lexer.ts
/**
 * Where the mysql/mariadb client is in a mysqldump/mariadb-dump, line by line: the lexer the
 * sanitizing sed program runs (sanitize-rules.ts), in TypeScript for the drill's rewriters and for
 * tests, which hold the two to the same answers. It follows the client's own reader (add_line in
 * client/mysql.cc), since the client is what splits the dump into statements and runs its own
 * commands from it:
 * - strings '...' and "..." with backslash escapes and doubled quotes, `identifiers` with doubled
 *   backquotes and no escapes (each may span lines);
 * - `/* ... *\/` comments, which do not nest; `/*!` and `/*!NNNNN` versioned comments are code to
 *   the client (and `/*M!` to MariaDB's, a plain comment to MySQL's); `-- ` and `#` comments to
 *   the end of the line;
 * - the statement delimiter, `;` or, inside mysqldump's `DELIMITER ;;` blocks (routines,
 *   triggers, events), `;;`;
 * - what the client would run itself rather than send: a backslash command (`\!` runs a shell
 *   command, `\.` reads a file...), and the word `delimiter ` anywhere in code (the client reads
 *   it even inside a word). Any of these outside a string or comment, but mysqldump's own
 *   `DELIMITER ;;` / `DELIMITER ;` lines, is a construct the lexer refuses: `stop` says which.
 * Anything whose reading depends on what the lexer cannot know for sure also stops it: an
 * optimizer hint `/*+` (code to MySQL's client, a comment to MariaDB's).
 * Pure: lines in (latin1-decoded, so a character is a byte), facts out.
 */
const INITIAL_STATE = { mode: 'T', kind: '.', delimiter: 1 };
/** The state as the sed program spells it in its hold space: mode, kind, delimiter (`T.1`, `mK1`, `s.2`). */
function stateName(state) {
    return `${state.mode}${state.kind}${state.delimiter}`;
}
const WORD = /^[A-Za-z0-9_$\x80-\xff]+/;
const SPACE = /^[ \t\r\f\v]+/;
/**
 * The client's named commands (client/mysql.cc's command table, MySQL's and MariaDB's), which it
 * runs when a line between statements starts with one: outside --binary-mode `source` reads a
 * file, `system` runs a shell command, `tee` writes a file, `connect` and `use` go elsewhere. A
 * dump mysqldump wrote starts no statement with any of them.
 */
const NAMED_COMMANDS = [
    '?',
    'charset',
    'clear',
    'connect',
    'edit',
    'ego',
    'exit',
    'go',
    'help',
    'nopager',
    'notee',
    'nowarning',
    'pager',
    'print',
    'prompt',
    'query_attributes',
    'quit',
    'rehash',
    'resetconnection',
    'sandbox',
    'source',
    'ssl_session_data_print',
    'status',
    'system',
    'tee',
    'use',
    'warnings'
];
/** A line between statements that starts with a named command: the word, then a space, tab, `;` or the line's end. */
const NAMED_COMMAND_LINE = new RegExp(`^[ \t]*(${NAMED_COMMANDS.map(name => name.replace('?', '\\?')).join('|')})([ \t;]|$)`, 'i');
/** mariadb-dump's first line, in both its spellings. */
const SANDBOX_LINE = /^\/\*M?!999999\\- enable the sandbox mode \*\/ ?$/;
/** mysqldump's own delimiter lines, the only `delimiter` the client may read. */
const DELIMITER_LINE = /^DELIMITER (;;?)$/;
/**
 * A lexer for one dump, fed every line in order. `client` is the restoring client's flavour.
 */
function dumpLexer(client) {
    let state = INITIAL_STATE;
    let first = true;
    return line => {
        const before = state;
        // mariadb-dump's sandbox line, which only a client that knows it keeps (sanitize-rules.ts): it turns the sandbox on.
        const sandbox = first && SANDBOX_LINE.test(line);
        first = false;
        const result = sandbox ? state : lexLine(line, state, client);
        if (typeof result === 'string')
            return { startsStatement: before.mode === 'T', before, stop: result };
        state = result;
        return { startsStatement: before.mode === 'T', before, after: result };
    };
}
/** The state after `line` from `start`, or why the lexer stops there. */
function lexLine(line, start, client) {
    let state = start;
    if (state.mode === 'T') {
        const delimiter = DELIMITER_LINE.exec(line);
        if (delimiter)
            return { mode: 'T', kind: '.', delimiter: delimiter[1] === ';;' ? 2 : 1 };
        const named = NAMED_COMMAND_LINE.exec(line);
        if (named)
            return `the client command ${named[1].toLowerCase()}`;
        if (line.startsWith('/*!50001 CREATE ALGORITHM='))
            state = { ...state, mode: 'm', kind: 'V' };
        else if (line.startsWith('CREATE TABLE `'))
            state = { ...state, mode: 'm', kind: 'K' };
    }
    let at = 0;
    const rest = () => line.slice(at);
    while (at < line.length) {
        const char = line[at];
        switch (state.mode) {
            case 'T':
            case 'm': {
                const top = state.mode === 'T';
                const space = SPACE.exec(rest());
                if (space) {
                    at += space[0].length;
                    break;
                }
                if (char === '#' || (line.startsWith('--', at) && (at + 2 === line.length || /[ \t\r\f\v]/.test(line[at + 2])))) {
                    at = line.length;
                    break;
                }
                if (char === '\\')
                    return `the client command ${line.slice(at, at + 2)}`;
                if (line.startsWith('/*+', at))
                    return 'an optimizer hint /*+ ... */ (MySQL and MariaDB clients read it differently)';
                if (line.startsWith('/*!', at)) {
                    state = { ...state, mode: 'm' };
                    at += 3;
                    break;
                }
                if (line.startsWith('/*M!', at) && client === 'mariadb') {
                    state = { ...state, mode: 'm' };
                    at += 4;
                    break;
                }
                if (line.startsWith('/*', at)) {
                    state = { ...state, mode: top ? 'C' : 'c' };
                    at += 2;
                    break;
                }
                if (char === ';') {
                    if (state.delimiter === 1 || line[at + 1] === ';') {
                        state = { mode: 'T', kind: '.', delimiter: state.delimiter };
                        at += state.delimiter;
                    }
                    else {
                        at += 1;
                    }
                    break;
                }
                if (char === "'" || char === '"' || char === '`') {
                    state = { ...state, mode: char === "'" ? 's' : char === '"' ? 'q' : 'b' };
                    at += 1;
                    break;
                }
                const word = WORD.exec(rest());
                if (word) {
                    // The client reads `delimiter ` wherever it starts in code, even inside a word.
                    if (/delimiter$/i.test(word[0]) && line[at + word[0].length] === ' ')
                        return 'the client command delimiter';
                    state = { ...state, mode: 'm' };
                    at += word[0].length;
                    break;
                }
                state = { ...state, mode: 'm' };
                at += 1;
                break;
            }
            case 's':
            case 'q': {
                const quote = state.mode === 's' ? "'" : '"';
                const next = line.slice(at).search(quote === "'" ? /['\\]/ : /["\\]/);
                if (next < 0) {
                    at = line.length;
                }
                else if (line[at + next] === '\\') {
                    at += next + 2;
                }
                else if (line[at + next + 1] === quote) {
                    at += next + 2;
                }
                else {
                    state = { ...state, mode: 'm' };
                    at += next + 1;
                }
                break;
            }
            case 'b': {
                const end = line.indexOf('`', at);
                if (end < 0)
                    at = line.length;
                else if (line[end + 1] === '`')
                    at = end + 2;
                else {
                    state = { ...state, mode: 'm' };
                    at = end + 1;
                }
                break;
            }
            case 'c':
            case 'C': {
                const end = line.indexOf('*/', at);
                if (end < 0)
                    at = line.length;
                else {
                    state = state.mode === 'C' ? { ...state, mode: 'T' } : { ...state, mode: 'm' };
                    at = end + 2;
                }
                break;
            }
        }
    }
    return state;
}

;// CONCATENATED MODULE: ./src/engines/mysql/restore-failure.ts
/**
 * Where in a mysqldump/mariadb-dump a restore failed. The dump heads each object with a comment
 * (`-- Table structure for table `orders``, `-- Dumping data for table `orders``, `-- Dumping
 * routines for database 'shop'`...), and a routine, trigger or event starts with its own CREATE
 * line; the client names the input line where the failing statement began (`ERROR 1064 (42000)
 * at line 123: ...`). The last such line at or before it is the object being restored: a reader
 * learns "data of table `orders`", not a line number in a dump nobody can see. Pure.
 */
const COMMENTS = [
    [/^-- Table structure for table (`(?:[^`]|``)*`)$/, 'table'],
    [/^-- Dumping data for table (`(?:[^`]|``)*`)$/, 'table data'],
    [/^-- Temporary (?:table|view) structure for view (`(?:[^`]|``)*`)$/, 'view'],
    [/^-- Final view structure for view (`(?:[^`]|``)*`)$/, 'view'],
    [/^-- Sequence structure for (`(?:[^`]|``)*`)$/, 'sequence'],
    [/^-- Dumping routines for database ('.*')$/, 'routines'],
    [/^-- Dumping events for database ('.*')$/, 'events']
];
/** A routine's, trigger's or event's first line, as the dump writes it (DEFINER stripped or not). */
const CREATES = [
    [/^CREATE (?:DEFINER=\S+ )?(?:AGGREGATE )?(PROCEDURE|FUNCTION|PACKAGE BODY|PACKAGE) (`(?:[^`]|``)*`)/, 'routine'],
    [/^\/\*!50003 CREATE\*\/ (?:\/\*!50017 DEFINER=\S+\*\/ )?\/\*!50003 TRIGGER (`(?:[^`]|``)*`|[^\s`]+)/, 'trigger'],
    [/^\/\*!50106 CREATE\*\/ (?:\/\*!50117 DEFINER=\S+\*\/ )?\/\*!50106 EVENT (`(?:[^`]|``)*`|[^\s`]+)/, 'event']
];
/** The sed pattern (ERE, `/` escaped for an address) of the lines parseObjectLine reads: sed keeps only these in its line index. */
const OBJECT_LINE_PATTERN = '^(-- (Table structure for table|Dumping data for table|Temporary (table|view) structure for view|Final view structure for view|Sequence structure for|Dumping routines for database|Dumping events for database) |' +
    'CREATE (DEFINER=[^ ]+ )?(AGGREGATE )?(PROCEDURE|FUNCTION|PACKAGE) |' +
    '\\/\\*!50003 CREATE\\*\\/ |\\/\\*!50106 CREATE\\*\\/ )';
function parseObjectLine(line) {
    for (const [pattern, kind] of COMMENTS) {
        const match = pattern.exec(line);
        if (match)
            return { kind, name: match[1] };
    }
    for (const [pattern, kind] of CREATES) {
        const match = pattern.exec(line);
        if (match)
            return kind === 'routine' ? { kind: match[1].toLowerCase(), name: match[2] } : { kind, name: match[1] };
    }
    return undefined;
}
/** The input line the client names in its error (`ERROR 1064 (42000) at line 12: ...`), the first one. */
function mysqlErrorLine(stderr) {
    const match = /^ERROR(?: \d+ \([0-9A-Z]{5}\))? at line (\d+)/m.exec(stderr);
    return match ? Number(match[1]) : undefined;
}
/**
 * The object being restored at `line`: the last of `numbered` (object lines in dump order, as
 * `123:-- Table structure for table `t``) at or before it.
 */
function dumpObjectAt(numbered, line) {
    let found;
    for (const entry of numbered) {
        const colon = entry.indexOf(':');
        if (colon < 0)
            continue;
        if (!(Number(entry.slice(0, colon)) <= line))
            break;
        found = parseObjectLine(entry.slice(colon + 1)) ?? found;
    }
    return found;
}
/** "data of table `orders`", "trigger `audit`", "the routines of database 'shop'". */
function describeDumpObject(object) {
    switch (object.kind) {
        case 'table data':
            return `the data of table ${object.name}`;
        case 'routines':
            return `the routines of database ${object.name}`;
        case 'events':
            return `the events of database ${object.name}`;
        default:
            return `${object.kind} ${object.name}`;
    }
}

;// CONCATENATED MODULE: ./src/engines/mysql/skew-catalogue.ts
/**
 * The version skews between MySQL (5.7, 8.0, 8.4) and MariaDB (10.6 to 11) dumps and the servers
 * and clients that restore them, each with its source, what the sanitizer does about it
 * (sanitize-rules.ts) and when. A rule that rewrites says so in the run's report; one that cannot
 * be rewritten faithfully stops the stream with a clear error before the client reads the line.
 */
const SKEW_RULES = {
    'sandbox-line': {
        construct: 'the sandbox-mode first line (/*!999999\\- enable the sandbox mode */)',
        problem: "mariadb-dump (10.5.25, 10.6.18, 10.11.8, 11.0.6, 11.1.5, 11.2.4, 11.4.2 and later) opens every dump with a line holding the client command \\-, which MySQL's client and older MariaDB clients reject ('Unknown command')",
        action: 'removed when the restoring client does not know the command; kept for a MariaDB client that does (it turns on the sandbox, which refuses file-system commands)',
        source: "MariaDB MDEV-33727 (mariadb-dump trusts the server: sandbox mode) and MDEV-34203 (\\- read in --binary-mode too), release notes of 10.5.25/10.6.18/10.11.8 (May 2024); later releases write it as /*M!999999\\- ...*/, which MySQL's client reads as a plain comment (mariadb-dump 10.11.19 here writes that form)"
    },
    'collation-0900': {
        construct: 'utf8mb4_0900_* collations',
        problem: "MySQL 8.0's default utf8mb4 collations (utf8mb4_0900_ai_ci and the other _0900_ ones) do not exist in MySQL 5.7 nor in MariaDB before 11.4 ('Unknown collation')",
        action: "rewritten to the clean room's nearest equivalent (MariaDB 10.10+: utf8mb4_uca1400_nopad_*, which MariaDB 11.4.5 made their aliases; otherwise utf8mb4_unicode_520_nopad_ci or utf8mb4_unicode_520_ci, and utf8mb4_nopad_bin for _0900_bin) only when the clean room lacks them, in the places mysqldump writes them (column definitions, table options, a routine's collation_connection); anywhere else the stream stops. The schema comparison treats each pair as the same (COLLATION_EQUIVALENTS)",
        source: 'MySQL 8.0 Reference Manual 10.10.1 (Unicode Character Sets: utf8mb4_0900_ai_ci is based on UCA 9.0.0); MariaDB 10.10.1 (MDEV-27009: UCA 14.0.0 collations utf8mb4_uca1400_*); MariaDB 11.4.5 release notes, character sets and collations (utf8mb4_0900_* added as aliases of utf8mb4_uca1400_nopad_*)'
    },
    definer: {
        construct: 'DEFINER clauses',
        problem: "views, routines, triggers and events name production's accounts as their DEFINER; the clean room lacks them, and naming another account than one's own needs SET USER / SUPER",
        action: 'stripped where mysqldump writes them (CREATE DEFINER=... of routines, /*!50017 DEFINER=...*/ of triggers, /*!50117 ...*/ of events, /*!50013 DEFINER=... SQL SECURITY ...*/ of views): the objects then belong to the restoring account. DEFINERs are not compared',
        source: 'MySQL 8.0 Reference Manual 25.6 (Stored Object Access Control: "If the DEFINER clause is present, ... SET_USER_ID or SUPER"); MariaDB KB CREATE VIEW / CREATE PROCEDURE (DEFINER); mysqldump source (client/mysqldump.cc: the /*!50013 and /*!50017 comments)'
    },
    'gtid-state': {
        construct: 'GTID state lines',
        problem: "MySQL's mysqldump of a GTID server writes SET @@GLOBAL.GTID_PURGED=... and SET @@SESSION.SQL_LOG_BIN= 0 (SUPER or SYSTEM_VARIABLES_ADMIN needed; they change the clean room's replication state); MariaDB's with --gtid writes SET GLOBAL gtid_slave_pos=...",
        action: 'removed (Lazarus also passes --set-gtid-purged=OFF to MySQL dumps)',
        source: 'MySQL 8.0 Reference Manual 6.5.4 (mysqldump --set-gtid-purged: "SET @@GLOBAL.gtid_purged ... SET @@SESSION.sql_log_bin=0"); MariaDB KB mariadb-dump --gtid'
    },
    'mysql-versioned-comment': {
        construct: 'MySQL 5.7/8.0 versioned comments (/*!50700 to /*!99999)',
        problem: 'MariaDB ignores versioned comments numbered 50700 to 99999 (it is no MySQL 5.7 or 8.0), so a MySQL 8 clause a dump keeps in one is lost without an error: /*!80023 INVISIBLE */ columns become visible, /*!80000 INVISIBLE */ indexes used, /*!80003 SRID n */ columns unrestricted, /*!80016 NOT ENFORCED */ checks enforced',
        action: "on a MariaDB clean room, rewritten to MariaDB's own syntax where it has one (INVISIBLE columns, IGNORED indexes from 10.6, REF_SYSTEM_ID=n); any other (NOT ENFORCED has no equivalent) stops the stream, naming the clause",
        source: 'MariaDB KB "Comment Syntax" (executable comments; MySQL 5.7+ version numbers are ignored), checked on MariaDB 10.11 here (SELECT 1 /*!80016 ,2 */ returns 1); MySQL 8.0 Reference Manual 13.1.20.10 (Invisible Columns: written as /*!80023 INVISIBLE */), 8.3.12 (Invisible Indexes), 11.4.1 (SRID), 13.1.20.6 (CHECK ... NOT ENFORCED); MariaDB KB IGNORED indexes (10.6.0), REF_SYSTEM_ID'
    },
    'mariadb-only-syntax': {
        construct: 'MariaDB-only objects and table options',
        problem: 'MySQL has no sequences (CREATE SEQUENCE, SETVAL), no system-versioned tables (WITH SYSTEM VERSIONING), no Aria table options (PAGE_CHECKSUM, TRANSACTIONAL), and refuses the values mariadb-dump writes for generated columns (error 3105)',
        action: 'on a MySQL clean room, the stream stops naming the construct: the restore could not be faithful',
        source: 'MariaDB KB CREATE SEQUENCE (10.3), System-Versioned Tables (10.3.4), Aria storage formats (PAGE_CHECKSUM, TRANSACTIONAL); MySQL 8.0 Reference Manual 13.1.20.8 (generated columns: "ER_NON_DEFAULT_VALUE_FOR_GENERATED_COLUMN")'
    }
};
/**
 * MySQL 8's `_0900_` collations and MariaDB's equivalents, best first. MySQL's are NO PAD
 * collations of the Unicode Collation Algorithm; MariaDB 11.4.5 made them aliases of its
 * utf8mb4_uca1400_nopad_* ones (UCA 14, 10.10+), which are the same ordering with the same accent
 * and case sensitivity and no padding. Where those are missing, the nearest: the PAD SPACE
 * uca1400 one, then UCA 5.2 (utf8mb4_unicode_520_nopad_ci, utf8mb4_unicode_520_ci); a `_bin`
 * orders by code point (utf8mb4_nopad_bin). The language tailorings map to MariaDB's names.
 */
const LANGUAGES = {
    cs: 'czech',
    da: 'danish',
    de_pb: 'german2',
    eo: 'esperanto',
    es: 'spanish',
    es_trad: 'spanish2',
    et: 'estonian',
    hr: 'croatian',
    hu: 'hungarian',
    is: 'icelandic',
    la: 'roman',
    lt: 'lithuanian',
    lv: 'latvian',
    pl: 'polish',
    ro: 'romanian',
    sk: 'slovak',
    sl: 'slovenian',
    sv: 'swedish',
    tr: 'turkish',
    vi: 'vietnamese'
};
/** The candidates, best first, for one `utf8mb4[_lang]_0900_<sensitivity>` collation; undefined for another name. */
function collationCandidates(name) {
    const match = /^utf8mb4_(?:([a-z_]+?)_)?0900_(ai_ci|as_ci|as_cs|bin|as_cs_ks)$/.exec(name);
    if (!match)
        return undefined;
    const [, language, sensitivity] = match;
    if (sensitivity === 'bin')
        return ['utf8mb4_nopad_bin', 'utf8mb4_bin'];
    const uca = sensitivity === 'as_cs_ks' ? 'as_cs' : sensitivity;
    const tailored = language && LANGUAGES[language]
        ? [`utf8mb4_uca1400_${LANGUAGES[language]}_nopad_${uca}`, `utf8mb4_uca1400_${LANGUAGES[language]}_${uca}`]
        : [];
    const fallback = uca === 'as_cs' ? ['utf8mb4_nopad_bin', 'utf8mb4_bin'] : ['utf8mb4_unicode_520_nopad_ci', 'utf8mb4_unicode_520_ci'];
    return [...tailored, `utf8mb4_uca1400_nopad_${uca}`, `utf8mb4_uca1400_${uca}`, ...fallback];
}
/** MySQL's `_0900_` collations a dump may name (the server's SHOW COLLATION, MySQL 8.0). */
const MYSQL_0900_COLLATIONS = [
    'utf8mb4_0900_ai_ci',
    'utf8mb4_0900_as_ci',
    'utf8mb4_0900_as_cs',
    'utf8mb4_0900_bin',
    ...Object.keys(LANGUAGES).flatMap(language => [`utf8mb4_${language}_0900_ai_ci`, `utf8mb4_${language}_0900_as_cs`]),
    'utf8mb4_ja_0900_as_cs',
    'utf8mb4_ja_0900_as_cs_ks',
    'utf8mb4_zh_0900_as_cs',
    'utf8mb4_ru_0900_ai_ci',
    'utf8mb4_ru_0900_as_cs',
    'utf8mb4_bs_0900_ai_ci',
    'utf8mb4_bs_0900_as_cs',
    'utf8mb4_bg_0900_ai_ci',
    'utf8mb4_bg_0900_as_cs',
    'utf8mb4_gl_0900_ai_ci',
    'utf8mb4_gl_0900_as_cs',
    'utf8mb4_mn_cyrl_0900_ai_ci',
    'utf8mb4_mn_cyrl_0900_as_cs',
    'utf8mb4_nb_0900_ai_ci',
    'utf8mb4_nb_0900_as_cs',
    'utf8mb4_nn_0900_ai_ci',
    'utf8mb4_nn_0900_as_cs',
    'utf8mb4_sr_latn_0900_ai_ci',
    'utf8mb4_sr_latn_0900_as_cs'
];
/**
 * The rewrites the sanitizer makes for a clean room that knows `cleanroomCollations`: each
 * `_0900_` collation it lacks, to the best equivalent it has. Empty when it has them all (MySQL
 * 8, MariaDB 11.4+). A collation with no equivalent there is left out: the stream stops on it.
 */
function collationRewrites(cleanroomCollations) {
    // MariaDB 10.10+ lists its UCA 14 collations in information_schema.COLLATIONS without their
    // character set (uca1400_ai_ci, applicable to utf8mb4 and others): either spelling counts.
    const known = new Set([...cleanroomCollations].flatMap(name => [name.toLowerCase(), `utf8mb4_${name.toLowerCase()}`]));
    const rewrites = new Map();
    for (const name of MYSQL_0900_COLLATIONS) {
        if (known.has(name))
            continue;
        const target = collationCandidates(name)?.find(candidate => known.has(candidate));
        if (target)
            rewrites.set(name, target);
    }
    return rewrites;
}
/**
 * The pairs the schema comparison must treat as the same collation (production's `_0900_` one,
 * the clean room's rewrite of it) for a clean room that knows `cleanroomCollations`: the engine's
 * schema comparison imports this (it is the sanitizer's doing, not a difference of the backup).
 */
function collationEquivalents(cleanroomCollations) {
    return collationRewrites(cleanroomCollations);
}

;// CONCATENATED MODULE: ./src/engines/mysql/sanitize-rules.ts
/**
 * Pure rules for the sanitizing sed program of MySQL/MariaDB dumps: a lexer of the dump as the
 * restoring client reads it (dump-lexer.ts is the same lexer in TypeScript; a test holds the two
 * to the same answers), and the version-skew rules of skew-catalogue.ts, which may remove or
 * rewrite only what mysqldump itself wrote, in a place the lexer says is code: never anything
 * inside a string, an identifier, a comment, a routine's body or row data.
 *
 * Why a lexer: production decides the text of rows, comments, defaults, view and routine bodies.
 * A rule that matched lines wherever they are could be aimed: a row whose text reads like a
 * DEFINER clause, or a body line that reads like one of mysqldump's own, would be rewritten, and
 * a rewrite that moved a quote would let production's text run as statements in the clean room.
 * And the client itself runs commands from its input (`\! cmd` runs a shell command on the
 * runner, `source` reads a file, `tee` writes one): the lexer refuses any client command outside
 * strings and comments but mysqldump's own `DELIMITER` lines and sandbox line, wherever it is on
 * the line, before the client sees it (the client also runs in --binary-mode, which leaves it
 * only `\C` and `delimiter`: two locks on the same door).
 *
 * The lexer's state lives in sed's hold space between lines, as three characters (dump-lexer.ts,
 * stateName): the mode (T between statements, m statement code, s '...', q "...", b `...`,
 * c a comment in a statement, C one between statements), the statement's kind (`.`, V a view's
 * CREATE, K a CREATE TABLE: the rules that read inside a statement need it), and the delimiter
 * (1 for `;`, 2 for mysqldump's `;;`).
 */



/** What the report calls the constructs of the safety rules. */
const SAFETY_RULES = {
    'event-status': {
        construct: 'the ENABLE status of events (restored DISABLE ON SLAVE, so that they never run in the clean room)'
    },
    'remote-engine': { construct: 'a table whose rows live on another server (ENGINE=FEDERATED, CONNECT, SPIDER or S3)' },
    'path-option': {
        construct: "table and partition options naming production's files (DATA DIRECTORY, INDEX DIRECTORY, TABLESPACE), removed: the clean room keeps the files in its own data directory"
    }
};
/**
 * Storage engines whose rows live outside the server: FEDERATED, CONNECT and SPIDER on other
 * servers (with the credentials the table names), MariaDB's S3 in an object store. As an ERE group.
 */
const REMOTE_ENGINES = '(FEDERATED|CONNECT|SPIDER|S3)';
/** sed's exit code when it stops the stream. */
const STOP_EXIT_CODE = 3;
/** An account as mysqldump writes a DEFINER: `user`@`host`, or a MariaDB role `role`. */
const ACCOUNT = '`([^`]|``)*`(@`([^`]|``)*`)?';
/** A backquoted name on one line, `` doubling a backquote. */
const NAME = '`([^`]|``)*`';
/** A string literal as SHOW CREATE writes one: on one line, '' or \\ escaping. */
const STRING = "'([^'\\\\]|''|\\\\.)*'";
/** A column type as SHOW CREATE TABLE writes it before a CHARACTER SET or COLLATE clause. */
const COLUMN_TYPE = `([a-z]+(\\([0-9]+(,[0-9]+)?\\))?( unsigned| zerofill| binary)*|(enum|set)\\(${STRING}(,${STRING})*\\))`;
const WORD_CHAR = 'A-Za-z0-9_$\\x80-\\xff';
const SPATIAL_TYPES = 'geometry|point|linestring|polygon|multipoint|multilinestring|multipolygon|geomcollection|geometrycollection';
/** `name` quoted as SHOW CREATE quotes it. */
function quoteIdentifier(name) {
    return '`' + name.replace(/`/g, '``') + '`';
}
/** `text` as an ERE (sed -E, `/` as the delimiter) matching exactly it. */
function ereLiteral(text) {
    return text.replace(/[\\^$.*+?()[\]{}|\/]/g, '\\$&').replace(/\n/g, '\\n');
}
/**
 * An ERE for the numbers of exactly `width` digits above `n` (the versioned comments a server
 * skips: MySQL and MariaDB run `/*!NNNNN ... *\/` only from release NNNNN on).
 */
function numbersAbove(n, width) {
    const digits = String(n).padStart(width, '0');
    if (digits.length > width)
        return 'X^';
    const alternatives = [];
    for (let i = 0; i < width; i++) {
        const d = Number(digits[i]);
        if (d === 9)
            continue;
        const rest = width - i - 1;
        alternatives.push(`${digits.slice(0, i)}[${d + 1}-9]${rest > 0 ? `[0-9]{${rest}}` : ''}`);
    }
    return alternatives.length > 0 ? `(${alternatives.join('|')})` : 'X^';
}
/** A release as the version number of a versioned comment: 10.11.19 → 101119, 8.0.36 → 80036. */
function versionNumber(version) {
    const [major, minor, patch] = (/^(\d+)\.(\d+)\.(\d+)/.exec(version) ?? ['', '0', '0', '0']).slice(1).map(Number);
    return major * 10000 + minor * 100 + patch;
}
/**
 * A schedule as SHOW CREATE EVENT writes it (MySQL's and MariaDB's Event_timed::get_create_event):
 * `AT '<datetime>'`, or `EVERY <n> <unit>` (a compound interval quoted, `'1:30' HOUR_MINUTE`) with
 * optional `STARTS '<datetime>'` and `ENDS '<datetime>'`. Its strings hold only digits, spaces
 * and `:.-`, so no quote or backslash inside can move where the clause after it is.
 */
const EVENT_SCHEDULE = "(AT '[0-9: .-]*'|EVERY ('[0-9: .-]*'|[0-9]+) [A-Z_]+( STARTS '[0-9: .-]*')?( ENDS '[0-9: .-]*')?)";
/**
 * The status clause of an event, where mysqldump writes it: the event's CREATE is one statement
 * between statements, `/*!50106 CREATE*\/ [/*!50117 DEFINER=...*\/ ]/*!50106 EVENT `name` ON
 * SCHEDULE <schedule> ON COMPLETION [NOT] PRESERVE <status>[ COMMENT '...'] DO <body>`, the status
 * ENABLE, DISABLE or DISABLE ON SLAVE (MySQL 8.2+: ON REPLICA) (client/mysqldump.cc
 * dump_events_for_db, sql/event_data_objects.cc Event_timed::get_create_event). Anchored at the
 * statement's start and read through the name (backquoted) and the schedule (strings of digits),
 * the clause is the status, never text of a name, a comment or the body.
 *
 * ENABLE becomes DISABLE ON SLAVE: the event scheduler runs no such event (a replica's copy of an
 * enabled event), whatever the clean room's event_scheduler says, and the restored status still
 * tells production's ENABLE apart from a plain DISABLE. Any other CREATE or ALTER of an event
 * between statements stops the stream: a status the rule cannot find could be ENABLE.
 */
function eventStatusRules(cleanroom, rewrite, stop) {
    const head = `(T..\\n\\/\\*!50106 CREATE\\*\\/ (\\/\\*!50117 DEFINER=${ACCOUNT}\\*\\/ )?\\/\\*!50106 EVENT ${NAME} ON SCHEDULE ${EVENT_SCHEDULE} ON COMPLETION (NOT )?PRESERVE )`;
    const disabled = eventDisableClause(cleanroom);
    return [
        '# Events: restored unable to run (ENABLE becomes DISABLE ON SLAVE); an event whose status the rule cannot find stops the stream.',
        '/^T..\\n\\/\\*!50106 CREATE\\*\\/ /{',
        `/^${head}ENABLE( COMMENT | DO )/{`,
        ...rewrite('event-status', [`s/^${head}ENABLE /\\1\\n/`, `s/\\n/${disabled} /2`]),
        '}',
        `/^${head}DISABLE( ON (SLAVE|REPLICA))?( COMMENT | DO )/!{`,
        ...stop('event-status'),
        '}',
        '}',
        // mysqldump writes events only as above: a CREATE or ALTER of an event in any other form is not its own.
        '/^T..\\n\\/\\*!50106 CREATE\\*\\/ /!{',
        '/^T..\\n(\\/\\*![0-9]* ?)?(CREATE|ALTER)[^\'"`]* EVENT /I{',
        ...stop('event-status'),
        '}',
        '}'
    ];
}
/**
 * Code characters on a CREATE TABLE's line read one at a time by the path-option rule: none that
 * starts a string, a name, a comment or a client command.
 */
const PLAIN = `[^'"\`#/\\\\-]`;
/** The same, but for a star: after a slash it would open a comment. */
const PLAIN_NOT_STAR = `[^'"\`#/\\\\*-]`;
/**
 * One token of a CREATE TABLE's line as SHOW CREATE TABLE writes it, read from the line's start in
 * code: a plain character, a name, a string (`'a''b'` read as two strings covers the same text as
 * the one the client reads), a versioned comment's opening (code to the clean room: the lexer
 * stops any it would skip), or a / or - that opens no comment.
 */
const TOKEN = `(${PLAIN}|${NAME}|${STRING}|\\/\\*M?![0-9]{5,6}|\\/${PLAIN_NOT_STAR}|-${PLAIN})`;
/** Tokens up to a space: where an option starts. */
const BEFORE_OPTION = `(${TOKEN}* )`;
/**
 * The options that name a place on the server's disk, as mysqldump copies them from SHOW CREATE
 * TABLE (MariaDB's and MySQL's sql_show.cc store_create_info: ` DATA DIRECTORY='...'`, ` INDEX
 * DIRECTORY='...'`, MySQL's ` /*!50100 TABLESPACE `ts` *\/`; sql_partition.cc
 * add_partition_options: ` DATA DIRECTORY = '...'`, ` TABLESPACE = `ts``), and a space after.
 */
const PATH_OPTION = `((DATA|INDEX) DIRECTORY ?= ?${STRING}|TABLESPACE( ?= ?| )(${NAME}|[A-Za-z0-9_]+)|\\/\\*!50100 TABLESPACE ${NAME}( STORAGE (DISK|MEMORY))? \\*\\/) ?`;
/** The words of a path option in any spelling, for the lines the rule cannot read for sure. */
const PATH_WORDS = '(DATA|INDEX)[ \\t]+DIRECTORY|TABLESPACE';
/**
 * Table and partition options that name a file or directory on the server (DATA DIRECTORY, INDEX
 * DIRECTORY, MySQL's TABLESPACE) are taken out of every CREATE TABLE line, where the line read
 * token by token from its start in code says they are options: restored as they are, the clean
 * room would write files where production's text says (or refuse the table, and the run would
 * call a faithful backup unrestorable). The clean room keeps the table in its own data directory
 * and file-per-table space instead: the rows, columns and indexes are the same. A CREATE TABLE
 * line that holds such words where the rule cannot tell for sure that they are text (a line that
 * starts inside a string, or holds what SHOW CREATE TABLE never writes) stops the stream.
 */
function pathOptionRules(rewrite, stop) {
    return [
        "# Table and partition options naming production's files (DATA/INDEX DIRECTORY, TABLESPACE): removed where the line's tokens say they are options.",
        `/^mK.\\n${BEFORE_OPTION}${PATH_OPTION}/{`,
        ...rewrite('path-option', [':path_option', `s/^(mK.\\n${BEFORE_OPTION})${PATH_OPTION}/\\1/`, 't path_option']),
        '}',
        '/^.K.\\n/{',
        `/${PATH_WORDS}/I{`,
        `/^mK.\\n${TOKEN}*(\\/|-)?$/!{`,
        ...stop('path-option'),
        '}',
        `/^mK.\\n${BEFORE_OPTION}(${PATH_WORDS})/I{`,
        ...stop('path-option'),
        '}',
        '}',
        '}'
    ];
}
/** How the clean room spells a replica's disabled status: DISABLE ON REPLICA from MySQL 8.2 (ON SLAVE deprecated), ON SLAVE elsewhere. */
function eventDisableClause(cleanroom) {
    return cleanroom.flavour === 'mysql' && versionNumber(cleanroom.version) >= 80200 ? 'DISABLE ON REPLICA' : 'DISABLE ON SLAVE';
}
/**
 * The events the sanitizer restored disabled (rule event-status), by name as the dump wrote them
 * (backquotes undone), from its removed-lines records. Pure.
 */
function disabledEvents(removedLines) {
    const names = [];
    for (const text of removedLines) {
        const removed = parseRemovedLine(text);
        if (!removed || removed.stopped || removed.rule !== 'event-status')
            continue;
        const name = /\/\*!50106 EVENT `((?:[^`]|``)*)` ON SCHEDULE /.exec(removed.line)?.[1];
        if (name !== undefined)
            names.push(name.replace(/``/g, '`'));
    }
    return names;
}
/**
 * Builds the GNU sed program (for `LC_ALL=C sed -n -E -f`): it prints every line of the dump
 * (and copies it to `copyFile`) but those the rules remove, rewrites those the rules rewrite, and
 * stops (exit STOP_EXIT_CODE) at a line it must not pass.
 */
function buildSedProgram(options) {
    const removed = options.removedLinesFile;
    const copy = options.copyFile ? [`w ${options.copyFile}`] : [];
    const trace = options.stateFile ? [`w ${options.stateFile}`] : [];
    const mariadbCleanroom = options.cleanroom.flavour === 'mariadb';
    const cleanroomNumber = versionNumber(options.cleanroom.version);
    const collations = [...options.cleanroom.collations].map(name => name.toLowerCase());
    const rewrites = collationRewrites(collations);
    const known0900 = collations.filter(name => /^utf8mb4_[a-z0-9_]*0900_[a-z_]+$/.test(name));
    // A line a rule removes: log it with its rule, and go on in `state` (the line is not printed).
    const drop = (rule, state) => [
        `s/^[^\\n]*\\n/${rule} /`,
        's/\\n/\\\\n/g',
        `w ${removed}`,
        `s/.*/${state}/`,
        ...trace,
        'h',
        'd'
    ];
    // A line the stream must not pass: log it, and stop before the client reads it.
    const stop = (rule) => [`s/^[^\\n]*\\n/!${rule} /`, 's/\\n/\\\\n/g', `w ${removed}`, `Q ${STOP_EXIT_CODE}`];
    // A line a rule rewrites (`edits`, sed commands on `state\nline`): log the line as it was, then keep the rewritten one to print.
    const rewrite = (rule, edits) => [
        'h',
        `s/^[^\\n]*\\n/${rule} /`,
        `w ${removed}`,
        'g',
        ...edits,
        'h',
        'x',
        's/^[^\\n]*\\n//',
        'x'
    ];
    const lines = [
        '# The state starts between statements, delimiter ;.',
        '1{',
        'x',
        's/^/T.1/',
        'x',
        '}',
        '# Pattern space: the state, a newline, then the line; the hold space keeps the line to print.',
        'x',
        'G',
        '# (Clears the substitution flag the first line set, for the t commands below.)',
        't rules',
        ':rules',
        '',
        "# ---- Rules. mariadb-dump's sandbox line, the dump's first.",
        '1{',
        '/^T\\.1\\n\\/\\*M?!999999\\\\- enable the sandbox mode \\*\\/ ?$/{',
        ...(options.clientKnowsSandbox ? ['s/\\n.*/\\n/', 'b lexed'] : drop('sandbox-line', 'T.1')),
        '}',
        '}',
        "# mysqldump's own delimiter lines, the only ones the client may read.",
        's/^T..\\nDELIMITER ;;$/T.2\\n/',
        't lexed',
        's/^T..\\nDELIMITER ;$/T.1\\n/',
        't lexed',
        "# The client's named commands (source, system, tee, connect, use...), which it runs when a line between statements starts with one.",
        `/^T..\\n[ \\t]*(${NAMED_COMMANDS.map(name => name.replace('?', '\\?')).join('|')})([ \\t;]|$)/I{`,
        ...stop('client-command'),
        '}',
        '# GTID state: replication settings of production, which need SUPER on the clean room.',
        '/^T..\\nSET @MYSQLDUMP_TEMP_LOG_BIN = @@SESSION\\.SQL_LOG_BIN;$/{',
        ...drop('gtid-state', 'T.1'),
        '}',
        '/^T..\\nSET @@SESSION\\.SQL_LOG_BIN ?= ?(0|@MYSQLDUMP_TEMP_LOG_BIN);$/{',
        ...drop('gtid-state', 'T.1'),
        '}',
        "/^T..\\nSET GLOBAL gtid_slave_pos ?= ?'[0-9,-]*';$/{",
        ...drop('gtid-state', 'T.1'),
        '}',
        // The GTID set may span lines (MySQL writes a line break after each comma); only its characters are read on.
        '/^T..\\nSET @@GLOBAL\\.GTID_PURGED ?= ?/{',
        ':gtid',
        "/^T..\\nSET @@GLOBAL\\.GTID_PURGED ?= ?(\\/\\*!80000 '\\+'\\*\\/ )?'[0-9A-Fa-f:,\\n -]*';$/{",
        ...drop('gtid-state', 'T.1'),
        '}',
        "/^T..\\nSET @@GLOBAL\\.GTID_PURGED ?= ?(\\/\\*!80000 '\\+'\\*\\/ )?'[0-9A-Fa-f:,\\n -]*$/{",
        '$b gtid_stop',
        'N',
        'b gtid',
        '}',
        ':gtid_stop',
        ...stop('gtid-state'),
        '}',
        "# DEFINER clauses, where mysqldump writes them: routines, triggers, events (between statements), views (a CREATE's second line).",
        `/^T..\\nCREATE DEFINER=${ACCOUNT} /{`,
        ...rewrite('definer', [`s/^(T..\\nCREATE )DEFINER=${ACCOUNT} /\\1/`]),
        '}',
        `/^T..\\n\\/\\*!50003 CREATE\\*\\/ \\/\\*!50017 DEFINER=${ACCOUNT}\\*\\/ \\/\\*!50003 TRIGGER /{`,
        ...rewrite('definer', [`s/^(T..\\n\\/\\*!50003 CREATE\\*\\/ )\\/\\*!50017 DEFINER=${ACCOUNT}\\*\\/ /\\1/`]),
        '}',
        `/^T..\\n\\/\\*!50106 CREATE\\*\\/ \\/\\*!50117 DEFINER=${ACCOUNT}\\*\\/ \\/\\*!50106 EVENT /{`,
        ...rewrite('definer', [`s/^(T..\\n\\/\\*!50106 CREATE\\*\\/ )\\/\\*!50117 DEFINER=${ACCOUNT}\\*\\/ /\\1/`]),
        '}',
        `/^mV.\\n\\/\\*!50013 DEFINER=${ACCOUNT} SQL SECURITY (DEFINER|INVOKER) \\*\\/$/{`,
        ...rewrite('definer', [`s/^(mV.\\n\\/\\*!50013 )DEFINER=${ACCOUNT} /\\1/`]),
        '}',
        ...eventStatusRules(options.cleanroom, rewrite, stop),
        ...pathOptionRules(rewrite, stop),
        "# A table whose rows live elsewhere: restored, its INSERTs and Lazarus's reads would reach that server from the clean room.",
        // Anywhere on the table's options line, not only first: the servers write a DATA DIRECTORY path
        // unescaped, so a path holding a quote could carry a second ENGINE= after it (the last one wins).
        `/^mK.\\n\\) .*ENGINE *= *${REMOTE_ENGINES}([^A-Za-z0-9_]|$)/I{`,
        ...stop('remote-engine'),
        '}'
    ];
    if (options.productionDatabase !== undefined) {
        // MariaDB's SHOW CREATE TABLE and SHOW CREATE VIEW name a sequence with its database, always
        // (`DEFAULT nextval(\`shop\`.\`s\`)`, `select nextval(\`shop\`.\`s\`)`), and the scratch database
        // has another name: the restore fails on "Table 'shop.s' doesn't exist". The qualifier of
        // production's own database is taken out, on a CREATE TABLE's column lines and a view's lines
        // (never rows, routine or trigger bodies, which keep what production's author wrote). What is
        // removed is a whole backquoted name and its dot, right after `nextval(`: it cannot change where a
        // string or another name ends (inside a name every backquote is doubled, so it never matches
        // there); a string that happens to hold the same text is changed, which the schema comparison shows.
        const sequenceOf = `((next|last|set)val\\()${ereLiteral(quoteIdentifier(options.productionDatabase))}\\.(\`)`;
        lines.push("# A sequence named with production's database (column DEFAULTs, views): the scratch database has another name.", `/^m[KV].\\n.*${sequenceOf}/{`, ...rewrite('database-name', [`s/${sequenceOf}/\\1\\3/g`]), '}');
    }
    if (rewrites.size > 0) {
        // The collation is marked by a second newline before it, then renamed by an exact match.
        const rename = [
            ...[...rewrites].map(([from, to]) => `s/\\n${from}([^A-Za-z0-9_]|$)/\\n${to}\\1/`),
            's/^([^\\n]*\\n[^\\n]*)\\n/\\1/'
        ];
        const lacking = `(${[...rewrites.keys()].join('|')})([^A-Za-z0-9_]|$)`;
        const column = `^(mK.\\n  ${NAME} ${COLUMN_TYPE}( CHARACTER SET [a-z0-9_]+)? COLLATE )`;
        const table = '^(mK.\\n\\) ENGINE=[A-Za-z0-9_]+( AUTO_INCREMENT=[0-9]+)? DEFAULT CHARSET=[a-z0-9_]+ COLLATE=)';
        const connection = '^(T..\\n\\/\\*!5000[13] SET collation_connection *= )';
        lines.push("# utf8mb4_0900_* collations the clean room lacks, where mysqldump writes them: to the clean room's equivalent.");
        for (const context of [column, table, connection]) {
            lines.push(`/${context}${lacking}/{`, ...rewrite('collation-0900', [`s/${context}utf8mb4_/\\1\\nutf8mb4_/`, ...rename]), '}');
        }
    }
    if (mariadbCleanroom) {
        lines.push("# MySQL 8 clauses in versioned comments MariaDB would skip: MariaDB's own syntax where it has one.", `/^mK.\\n  ${NAME} .* \\/\\*!80023 INVISIBLE \\*\\/,?$/{`, ...rewrite('mysql-versioned-comment', ['s/ \\/\\*!80023 INVISIBLE \\*\\/(,?)$/ INVISIBLE\\1/']), '}', 
        // MySQL writes the SRID after the column's NULL or NOT NULL (sql_show.cc store_create_info:
        // `pos` point NOT NULL /*!80003 SRID 4326 */); MariaDB takes REF_SYSTEM_ID only right after the type.
        `/^mK.\\n  ${NAME} (${SPATIAL_TYPES})( NOT NULL| NULL)? \\/\\*!80003 SRID [0-9]+ \\*\\//{`, ...rewrite('mysql-versioned-comment', [
            `s/^(mK.\\n  ${NAME} (${SPATIAL_TYPES}))( NOT NULL| NULL)? \\/\\*!80003 SRID ([0-9]+) \\*\\//\\1 REF_SYSTEM_ID=\\5\\4/`
        ]), '}');
        // IGNORED indexes came with MariaDB 10.6: before it, the clause stops the stream (below).
        if (cleanroomNumber >= 100600) {
            lines.push('/^mK.\\n  ((UNIQUE|FULLTEXT|SPATIAL) )?KEY .* \\/\\*!80000 INVISIBLE \\*\\/,?$/{', ...rewrite('mysql-versioned-comment', ['s/ \\/\\*!80000 INVISIBLE \\*\\/(,?)$/ IGNORED\\1/']), '}');
        }
    }
    else {
        lines.push("# MariaDB's own objects and options, which MySQL cannot restore.", '/^T..\\n(CREATE SEQUENCE |DO SETVAL\\(|SELECT SETVAL\\()/{', ...stop('mariadb-only-syntax'), '}', '/^mK.\\n\\) ENGINE=.*( PAGE_CHECKSUM=| TRANSACTIONAL=| WITH SYSTEM VERSIONING)/{', ...stop('mariadb-only-syntax'), '}', `/^mK.\\n  ${NAME} .* (VIRTUAL|STORED|PERSISTENT)( [A-Z].*)?,?$/{`, ...stop('mariadb-only-syntax'), '}');
    }
    lines.push("# Statements that change how the client and server read strings: only mysqldump's own, with modes that keep backslash escapes.", '/^T..\\n(\\/\\*![0-9]* ?)?[Ss][Ee][Tt] /{', '/[Ss][Qq][Ll]_[Mm][Oo][Dd][Ee]/{', "/^T..\\n\\/\\*!(40101|50003) SET (@OLD_SQL_MODE=@@SQL_MODE, SQL_MODE|sql_mode +)= *'[A-Z_,]*' \\*\\/ ?;;?$/{", "/'[A-Z_,]*(NO_BACKSLASH_ESCAPES|ANSI|DB2|MAXDB|MSSQL|ORACLE|POSTGRESQL)/{", ...stop('sql-mode'), '}', 'b rules_done', '}', '/^T..\\n\\/\\*!(40101|50003) SET (SQL_MODE=@OLD_SQL_MODE|sql_mode += @saved_sql_mode|@saved_sql_mode += @@sql_mode) \\*\\/ ?;;?$/b rules_done', ...stop('sql-mode'), '}', '/([Cc][Hh][Aa][Rr][Aa][Cc][Tt][Ee][Rr]_[Ss][Ee][Tt]_[Cc][Ll][Ii][Ee][Nn][Tt]|[Nn][Aa][Mm][Ee][Ss])[ =]/{', '/[ =](sjis|cp932|gbk|big5|gb18030)([^A-Za-z0-9_]|$)/I{', ...stop('multibyte-charset'), '}', '}', '}', ':rules_done', '', '# The snapshot marker: the dump writes these only once its own transaction began.', '/^T..\\n-- (Table structure for table|Temporary (table|view) structure for view|Sequence structure for|Dumping routines for database|Dumping events for database|Dump completed)/{', 'x', `w ${options.markerFile}`, 'x', '}');
    if (options.linesFile) {
        lines.push('# An object line between statements goes into the line index whole; the line to print is marked by a leading newline.', `/^T..\\n${OBJECT_LINE_PATTERN.slice(1)}/{`, 'x', `w ${options.linesFile}`, 's/^/\\n/', 'x', '}');
    }
    // Versioned comments the clean room would skip. MariaDB: MySQL 5.7 and 8.0 numbers (it skips them
    // all) and MariaDB releases above its own, in /*! and in /*M! (code to a MariaDB client; a MySQL
    // client drops /*M! as a comment, and a MySQL server reads it as one). MySQL: numbers above its own.
    const versioned = mariadbCleanroom
        ? [`\\/\\*M?!${numbersAbove(50699, 5)}([^0-9]|$)`, `\\/\\*M?!${numbersAbove(Math.min(cleanroomNumber, 999998), 6)}([^0-9]|$)`]
        : [`\\/\\*!${numbersAbove(Math.min(cleanroomNumber, 99999), 5)}([^0-9]|$)`, '\\/\\*![0-9]{6}'];
    lines.push('', "# ---- The lexer: consume the line token by token, changing state. A statement's kind is set on its first line.", 's/^T.(.)\\n(\\/\\*!50001 CREATE ALGORITHM=)/mV\\1\\n\\2/', 's/^T.(.)\\n(CREATE TABLE `)/mK\\1\\n\\2/', 't lex', ':lex', '/^[^\\n]*\\n$/b lexed', '/^[Tm]/{', 's/^([Tm]..\\n)[ \\t\\r\\f\\v]+/\\1/', '/^[Tm]..\\n$/b lexed', '/^[Tm]..\\n(#|--([ \\t\\r\\f\\v]|$))/b rest_of_line', '/^[Tm]..\\n\\\\/{', ...stop('client-command'), '}', '/^[Tm]..\\n\\/\\*\\+/{', ...stop('optimizer-hint'), '}', ...versioned.flatMap(comment => [`/^[Tm]..\\n${comment}/{`, ...stop('mysql-versioned-comment'), '}']), 's/^[Tm](..\\n)\\/\\*!/m\\1/', 't lex', ...(options.clientFlavour === 'mariadb' ? ['s/^[Tm](..\\n)\\/\\*M!/m\\1/', 't lex'] : []), 's/^T(..\\n)\\/\\*/C\\1/', 't lex', 's/^m(..\\n)\\/\\*/c\\1/', 't lex', 's/^[Tm].1\\n;/T.1\\n/', 't lex', 's/^[Tm].2\\n;;/T.2\\n/', 't lex', "s/^[Tm](..\\n)'/s\\1/", 't lex', 's/^[Tm](..\\n)"/q\\1/', 't lex', 's/^[Tm](..\\n)`/b\\1/', 't lex', '# The client reads `delimiter ` wherever it starts in code, even inside a word.', `/^[Tm]..\\n[${WORD_CHAR}]*[Dd][Ee][Ll][Ii][Mm][Ii][Tt][Ee][Rr] /{`, ...stop('client-command'), '}', ...(known0900.length < MYSQL_0900_COLLATIONS.length
        ? [
            '# A _0900_ collation the clean room lacks, anywhere the rules above did not rename it.',
            `/^[Tm]..\\nutf8mb4_[${WORD_CHAR}]*0900_/{`,
            ...(known0900.length > 0 ? [`/^[Tm]..\\n(${known0900.join('|')})([^${WORD_CHAR}]|$)/!{`] : ['{']),
            ...stop('collation-0900'),
            '}',
            '}'
        ]
        : []), `s/^[Tm](..\\n)[${WORD_CHAR}]+/m\\1/`, 't lex', `s/^[Tm](..\\n)[^${WORD_CHAR} \\t\\r\\f\\v#\\\\\\/;'"\`-]+/m\\1/`, 't lex', 's/^[Tm](..\\n)[^\\n]/m\\1/', 't lex', '}', '# Inside \'...\' and "...": a backslash escapes the next character, a doubled quote is a quote.', '/^s/{', "s/^(s..\\n)[^'\\\\]+/\\1/", "s/^(s..\\n)(\\\\.|\\\\$|'')/\\1/", 't lex', "s/^s(..\\n)'/m\\1/", 't lex', '}', '/^q/{', 's/^(q..\\n)[^"\\\\]+/\\1/', 's/^(q..\\n)(\\\\.|\\\\$|"")/\\1/', 't lex', 's/^q(..\\n)"/m\\1/', 't lex', '}', '# Inside `...`: no escapes, a doubled backquote is a backquote.', '/^b/{', 's/^(b..\\n)[^`]+/\\1/', 's/^(b..\\n)``/\\1/', 't lex', 's/^b(..\\n)`/m\\1/', 't lex', '}', '# Inside a comment, to its first */ (comments do not nest).', '/^[cC]/{', 's/^c(..\\n)([^*]|\\*+[^*\\/])*\\*+\\//m\\1/', 't lex', 's/^C(..\\n)([^*]|\\*+[^*\\/])*\\*+\\//T\\1/', 't lex', 's/^([cC]..\\n).*/\\1/', 'b lexed', '}', 'b lex', '', ':rest_of_line', 's/\\n.*/\\n/', '', '# ---- The line is lexed: keep its end state, print it (and index it).', ':lexed', 's/\\n.*//', ...trace, 'x', '/^\\n/{', 's/^\\n//', 'p', ...copy, 'd', '}', 'p', ...copy, ...(options.linesFile ? ['s/.*//', `w ${options.linesFile}`] : []), 'd');
    return lines.join('\n') + '\n';
}
function parseRemovedLine(text) {
    const match = /^(!?)([a-z0-9-]+) (.*)$/s.exec(text);
    if (!match)
        return undefined;
    return { rule: match[2], stopped: match[1] === '!', line: match[3] };
}
/** Counts the lines each rule removed or rewrote, in order of first appearance. */
function summarizeRemovedLines(removedLines) {
    const counts = new Map();
    for (const text of removedLines) {
        const removed = parseRemovedLine(text);
        if (!removed || removed.stopped)
            continue;
        const entry = counts.get(removed.rule) ?? { rule: removed.rule, construct: constructOf(removed.rule), lines: 0 };
        entry.lines++;
        counts.set(removed.rule, entry);
    }
    return [...counts.values()];
}
/** The line that stopped the stream, if one did. */
function stoppedConstruct(removedLines) {
    for (const text of removedLines) {
        const removed = parseRemovedLine(text);
        if (removed?.stopped)
            return removed;
    }
    return undefined;
}
function constructOf(rule) {
    if (rule === 'database-name')
        return "sequences named with production's database (nextval(`db`.`s`) in column defaults and views)";
    if (rule in SKEW_RULES)
        return SKEW_RULES[rule].construct;
    return rule in SAFETY_RULES ? SAFETY_RULES[rule].construct : rule;
}
/**
 * The error for a stream the sanitizer stopped: what the dump holds and why it was not passed on,
 * naming the construct (a client command, a clause), never quoting production's text around it;
 * `object` is the dump's object being restored there (restore-failure.ts, describeDumpObject).
 */
function stopMessage(stopped, object) {
    switch (stopped.rule) {
        case 'client-command': {
            const named = NAMED_COMMAND_LINE.exec(stopped.line)?.[1];
            const found = named ?? /\\[^\s]?|delimiter /i.exec(stopped.line)?.[0];
            const command = found === undefined ? 'a client command' : named ? named.toLowerCase() : found.startsWith('\\') ? found : 'delimiter';
            return (`The dump holds the client command ${command} outside any string or comment, which the mysql ` +
                `client would run on this runner rather than send to the clean room: mysqldump writes none but its own DELIMITER ` +
                `lines, so Lazarus refuses to restore it. Check where this backup came from.`);
        }
        case 'optimizer-hint':
            return 'The dump holds an optimizer hint (/*+ ... */) outside any string, which MySQL and MariaDB clients read differently: Lazarus cannot tell for sure where its statements end, so it refuses to restore it.';
        case 'sql-mode':
            return ('The dump sets an sql_mode with NO_BACKSLASH_ESCAPES or ANSI_QUOTES (or a mode that includes them), or sets it in a way mysqldump does not: ' +
                'strings are then read differently, and Lazarus does not yet sanitize such a dump. A routine, trigger or event created under such a mode causes it.');
        case 'event-status':
            return ('The dump creates or alters an event in a form mysqldump does not write (Lazarus could not find its status clause): ' +
                "restored as it is, the event could run production's SQL in the clean room on its schedule, so Lazarus refuses to restore it. Check where this backup came from.");
        case 'remote-engine': {
            const engine = new RegExp(`ENGINE *= *${REMOTE_ENGINES}`, 'i').exec(stopped.line)?.[1]?.toUpperCase() ?? 'FEDERATED';
            return (`The dump holds a table with ENGINE=${engine}, whose rows live on another server: restored in the clean room, ` +
                "its INSERTs and Lazarus's reads would reach that server (with the credentials the table names), so Lazarus refuses to restore it. " +
                'Verify the server that holds those rows instead.');
        }
        case 'path-option': {
            const option = /(DATA|INDEX)[ \t]+DIRECTORY|TABLESPACE/i
                .exec(stopped.line)?.[0]
                .replace(/[ \t]+/, ' ')
                .toUpperCase() ?? 'DATA DIRECTORY';
            return (`The dump's CREATE TABLE${object ? ` (${object})` : ''} holds ${option} in a form Lazarus cannot read for sure, ` +
                "so it cannot take the option out: restored as it is, production's text would decide where the clean room writes files. " +
                'Check where this backup came from.');
        }
        case 'multibyte-charset':
            return 'The dump switches the client character set to one (sjis, cp932, gbk, big5, gb18030) whose characters may hold the byte of a backslash or quote: Lazarus cannot read it for sure, so it refuses to restore it.';
        default: {
            const rule = SKEW_RULES[stopped.rule];
            const clause = /\/\*M?![0-9]+[^*]*\*\/|utf8mb4_[a-z0-9_]*0900_[a-z_]+|CREATE SEQUENCE|SETVAL|PAGE_CHECKSUM|TRANSACTIONAL|WITH SYSTEM VERSIONING|VIRTUAL|STORED|PERSISTENT/.exec(stopped.line)?.[0];
            return (`The dump holds ${clause ? `'${clause.slice(0, 60)}'` : (rule?.construct ?? stopped.rule)}, which the clean room cannot restore faithfully ` +
                `(${rule?.problem ?? 'version skew'}): use a clean room of production's flavour and release.`);
        }
    }
}

;// CONCATENATED MODULE: ./src/engines/mysql/schema-presentation.ts
/**
 * How MySQL (5.7, 8.0, 8.4) and MariaDB (10.6 to 11) present the same schema in
 * information_schema, and the canonical form the schema fingerprint compares. Pure functions over
 * the values one server returns; schema-queries.ts applies them to its rows.
 *
 * Two levels:
 * - canonical (always applied, on every server): two spellings that mean exactly the same thing
 *   become one (`int(11)` and `int`, `utf8` and `utf8mb3`, MariaDB's quoted `'abc'` default and
 *   MySQL's `abc`, `current_timestamp()` and `CURRENT_TIMESTAMP`, MariaDB's JSON alias...). A real
 *   difference between two servers of one flavour and version stays one.
 * - portable (only when the two sides are servers of different presentations, see
 *   `presentationOf`): what one server cannot show and the other can (an integer's display width
 *   on MySQL 8.0.19+, a view's ALGORITHM on MySQL) is left out, and expressions the servers
 *   reprint in their own way (outer parentheses, letter case, charset introducers, spaces) are
 *   compared in one form. What still differs then is reported, never passed.
 *
 * Sources are cited where each rule is; the rows each server returns are in
 * test/unit/engines/mysql/schema-presentation.test.ts.
 */

/** The presentation of a server from its flavour and `VERSION()`. */
function presentationOf(flavour, version) {
    const showsIntegerWidths = flavour === 'mariadb' || versionNumber(version) < 80019;
    return { flavour, version, showsIntegerWidths, key: `${flavour}${showsIntegerWidths ? '' : ' without display widths'}` };
}
/**
 * `utf8` (MySQL 5.7, MySQL 8.0 before 8.0.30, MariaDB before 10.6) and `utf8mb3` (MySQL
 * 8.0.30+, MariaDB 10.6+ with old_mode UTF8_IS_UTF8MB3, its default) are one character set, and
 * `utf8_general_ci` is `utf8mb3_general_ci`. Sources: MySQL 8.0 Reference Manual 10.9.2 ("utf8mb3
 * ... reported as utf8mb3 as of 8.0.30"); MariaDB KB "utf8mb3" / old_mode UTF8_IS_UTF8MB3 (10.6.1).
 */
function canonicalCharset(name) {
    return name === null ? null : name.replace(/\butf8(?=_|\b)(?!mb)/gi, 'utf8mb3');
}
/** The integer types' default display widths, signed and unsigned (MySQL 5.7 and MariaDB show them). */
const DEFAULT_WIDTHS = {
    tinyint: [4, 3],
    smallint: [6, 5],
    mediumint: [9, 8],
    int: [11, 10],
    integer: [11, 10],
    bigint: [20, 20]
};
/**
 * A COLUMN_TYPE (or a routine's DTD_IDENTIFIER) without what only says the default: an integer's
 * default display width (`int(11)`, `int(10) unsigned`, `bigint(20)`) and YEAR's `(4)`, which MySQL
 * 8.0.19+ never shows and MariaDB always does. A ZEROFILL column keeps its width: it changes how
 * the value is shown, and every server shows it.
 */
function canonicalType(type) {
    if (type === null)
        return null;
    const text = type.trim();
    if (/\bzerofill\b/i.test(text))
        return text;
    if (/^year\(4\)$/i.test(text))
        return 'year';
    const match = /^(tinyint|smallint|mediumint|int|integer|bigint)\((\d+)\)(.*)$/i.exec(text);
    if (!match)
        return text;
    const [, base, width, rest] = match;
    const widths = DEFAULT_WIDTHS[base.toLowerCase()];
    const unsigned = /\bunsigned\b/i.test(rest);
    return Number(width) === widths[unsigned ? 1 : 0] ? `${base}${rest}` : text;
}
/**
 * The type where one side cannot show display widths (MySQL 8.0.19+): every integer width goes
 * but TINYINT(1)'s (which MySQL 8 keeps showing: it is how BOOLEAN is written) and ZEROFILL's.
 */
function portableType(type) {
    if (/\bzerofill\b/i.test(type))
        return type;
    return type.replace(/^(tinyint|smallint|mediumint|int|integer|bigint)\((\d+)\)/i, (whole, base, width) => base.toLowerCase() === 'tinyint' && width === '1' ? whole : base);
}
/** The literal of a quoted default as MariaDB writes it: append_unescaped (sql/sql_show.cc). */
function unescapeMariadb(quoted) {
    const escapes = { '0': '\0', n: '\n', r: '\r', Z: '\x1a', '\\': '\\', "'": "'" };
    return quoted
        .slice(1, -1)
        .replace(/\\(.)|''/gs, (_pair, escaped) => (escaped === undefined ? "'" : (escapes[escaped] ?? escaped)));
}
const TEMPORAL = /^(timestamp|datetime)\b/i;
const NOW = /^(?:current_timestamp|now|localtime|localtimestamp)(?:\((\d*)\))?$/i;
/**
 * CURRENT_TIMESTAMP in one spelling: MariaDB writes `current_timestamp()` / `current_timestamp(6)`
 * (sql_show.cc print_on_update_clause and Item_func_now::print), MySQL `CURRENT_TIMESTAMP` /
 * `CURRENT_TIMESTAMP(6)`; NOW(), LOCALTIME and LOCALTIMESTAMP are its synonyms.
 */
function canonicalNow(text) {
    const match = NOW.exec(text.trim());
    if (!match)
        return undefined;
    return match[1] && match[1] !== '0' ? `current_timestamp(${match[1]})` : 'current_timestamp()';
}
/**
 * COLUMN_DEFAULT (with EXTRA and the column's type and nullability) in one form.
 * - MariaDB 10.2.7+ (KB "Information Schema COLUMNS Table"): SQL NULL is no default, the text
 *   `NULL` a default of NULL; string, temporal, ENUM and SET literals are quoted (`'abc'`, with
 *   append_unescaped's escapes), numbers and BIT (`b'101'`) are not; anything else is an
 *   expression (`current_timestamp()`, `uuid()`, `(1 + 1)`): sql_show.cc get_field_default_value.
 * - MySQL: the literal's bare value, SQL NULL for no default and for a default of NULL alike;
 *   an expression default is marked DEFAULT_GENERATED in EXTRA (8.0.13+); 5.7 has only
 *   CURRENT_TIMESTAMP, unmarked, on TIMESTAMP and DATETIME columns.
 * A nullable column's default of NULL and no default are the same (an insert without the column
 * stores NULL either way), so both are `undefined` here; nullability is compared on its own.
 */
function canonicalDefault(flavour, value, extra, type) {
    if (value === null)
        return undefined;
    if (flavour === 'mariadb') {
        if (value === 'NULL')
            return undefined;
        if (/^'.*'$/s.test(value))
            return { literal: unescapeMariadb(value) };
        if (/^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i.test(value) || /^b'[01]*'$/.test(value))
            return { literal: value };
        return { expression: canonicalNow(value) ?? value };
    }
    const generated = /\bDEFAULT_GENERATED\b/i.test(extra ?? '');
    const now = canonicalNow(value);
    if (generated || (now && TEMPORAL.test(type ?? ''))) {
        // DEFAULT ('abc'), MySQL's only way to give a TEXT, BLOB or JSON column a default (8.0.13+),
        // is the literal 'abc': I_S shows `_utf8mb4\'abc\'`, and MariaDB, which takes literal
        // defaults there, shows `'abc'`.
        const literal = now ? undefined : stringExpression(value);
        return literal === undefined ? { expression: now ?? value } : { literal };
    }
    return { literal: value };
}
/** The value of an expression that is one string literal (`_utf8mb4\'a\'`, `('a')`), else undefined. */
function stringExpression(text) {
    let literal = text.trim();
    if (literal.startsWith('(') && literal.endsWith(')'))
        literal = literal.slice(1, -1).trim();
    literal = literal.replace(/^_[a-z0-9]+/i, '');
    if (literal.startsWith("\\'"))
        literal = literal.replace(/\\'/g, "'");
    const match = /^'((?:[^'\\]|\\.|'')*)'$/s.exec(literal);
    if (!match)
        return undefined;
    const escapes = { '0': '\0', n: '\n', r: '\r', t: '\t', Z: '\x1a' };
    return match[1].replace(/\\(.)|''/gs, (_pair, escaped) => escaped === undefined ? "'" : (escapes[escaped] ?? escaped));
}
/**
 * EXTRA in one form: lower case; MySQL 8's DEFAULT_GENERATED left out (canonicalDefault has
 * read it: the default is an expression); `on update CURRENT_TIMESTAMP(n)` in canonicalNow's
 * spelling. Both flavours write `auto_increment`, `VIRTUAL GENERATED`, `STORED GENERATED` and
 * `INVISIBLE` (MySQL 8.0.23+, MariaDB 10.3+).
 */
function canonicalExtra(extra) {
    if (!extra)
        return null;
    const text = extra
        .replace(/\bDEFAULT_GENERATED\b/gi, '')
        .replace(/\bon update ([a-z_]+(?:\(\d*\))?)/gi, (_whole, now) => `on update ${canonicalNow(now) ?? now}`)
        .replace(/\s+/g, ' ')
        .trim()
        .toLowerCase();
    return text === '' ? null : text;
}
/** sql_mode's flags sorted: MySQL and MariaDB list the same set in their own order. */
function canonicalSqlMode(mode) {
    if (mode === null)
        return null;
    return mode
        .split(',')
        .map(flag => flag.trim().toUpperCase())
        .filter(flag => flag !== '')
        .sort()
        .join(',');
}
/**
 * Whether a MariaDB CHECK is the one its JSON alias adds: MariaDB has no JSON type, `JSON` is
 * LONGTEXT with a column CHECK (json_valid(`c`)) named after the column (MariaDB KB "JSON Data
 * Type": "JSON is an alias for LONGTEXT COLLATE utf8mb4_bin ... a CHECK constraint is
 * automatically added", 10.4.3+).
 */
function isJsonAliasCheck(column, constraintName, clause) {
    return constraintName === column && clause !== null && clause.trim() === `json_valid(${quoteName(column)})`;
}
function quoteName(name) {
    return `\`${name.replace(/`/g, '``')}\``;
}
/**
 * An expression (a view's definition, a CHECK clause, a generation or default expression, a
 * partitioning expression) in one form for two servers that print them each their own way:
 * - charset introducers go (`_utf8mb4'x'`: MySQL writes them, MariaDB seldom), and MySQL's
 *   backslash-escaped quotes in CHECK_CLAUSE and GENERATION_EXPRESSION (`_utf8mb4\'x\'`);
 * - letter case outside literals and `names` (keywords and function names are case-blind);
 * - spaces outside literals and names are collapsed, and dropped beside punctuation;
 * - parentheses that group nothing the operators' precedence would not group anyway: MySQL
 *   prints every operation in parentheses (`where ((a > 1) and (b < 2))`), MariaDB only those
 *   precedence needs (`where a > 1 and b < 2`); Item_func::print in both servers' sql/item_func.cc
 *   and the precedence table of the MySQL 8.0 Reference Manual 12.4.1 ("Operator Precedence"),
 *   which MariaDB shares (KB "Operator Precedence"). A parenthesis that changes the grouping is
 *   kept, and so is any this function is not sure of (a call's, a list's, a subquery's).
 * Literals and quoted names are kept as they are.
 */
function portableExpression(text) {
    const tokens = withoutGroupingParentheses(synonymsAsOne(tokenize(text.replace(/\\'/g, "'"))));
    let result = '';
    for (const token of tokens) {
        if (result !== '' && isWordish(result[result.length - 1]) && isWordish(token[0]))
            result += ' ';
        result += token;
    }
    return result;
}
/** The tokens of an expression, spaces left out, words in lower case, charset introducers dropped. */
function tokenize(source) {
    const tokens = [];
    let i = 0;
    while (i < source.length) {
        const c = source[i];
        if (c === "'" || c === '"' || c === '`') {
            let j = i + 1;
            while (j < source.length) {
                if (source[j] === '\\' && c !== '`')
                    j += 2;
                else if (source[j] === c && source[j + 1] === c)
                    j += 2;
                else if (source[j] === c)
                    break;
                else
                    j++;
            }
            let literal = source.slice(i, j + 1);
            if (c === '"')
                literal = `'${literal.slice(1, -1).replace(/""/g, '"').replace(/'/g, "''")}'`;
            // A charset introducer before a string literal: `_utf8mb4'x'`.
            if (c !== '`' && /^_[a-z0-9]+$/.test(tokens[tokens.length - 1] ?? ''))
                tokens.pop();
            tokens.push(literal);
            i = j + 1;
        }
        else if (/\s/.test(c)) {
            i++;
        }
        else if (/[A-Za-z0-9_$.]/.test(c)) {
            let j = i;
            while (j < source.length && /[A-Za-z0-9_$.]/.test(source[j]))
                j++;
            tokens.push(source.slice(i, j).toLowerCase());
            i = j;
        }
        else {
            const operator = ['<=>', '<>', '!=', '>=', '<=', '<<', '>>', '||', '&&', ':=', '->>', '->'].find(op => source.startsWith(op, i));
            tokens.push(operator ?? c);
            i += operator?.length ?? 1;
        }
    }
    return tokens;
}
/**
 * Spellings of one function in one: NOW(), LOCALTIME and LOCALTIMESTAMP (MySQL prints `now()`)
 * are CURRENT_TIMESTAMP (MariaDB prints `current_timestamp()`), with or without parentheses;
 * COUNT(0) is COUNT(*) (MySQL writes COUNT(*) as count(0) in a view's definition: 0 is never NULL).
 */
function synonymsAsOne(tokens) {
    const out = [];
    for (let i = 0; i < tokens.length; i++) {
        const token = tokens[i];
        if (['now', 'localtime', 'localtimestamp', 'current_timestamp'].includes(token) && tokens[i - 1] !== '.') {
            out.push('current_timestamp');
            if (tokens[i + 1] !== '(')
                out.push('(', ')');
        }
        else if (token === 'count' && tokens[i + 1] === '(' && tokens[i + 2] === '0' && tokens[i + 3] === ')') {
            out.push('count', '(', '*', ')');
            i += 3;
        }
        else
            out.push(token);
    }
    return out;
}
/**
 * Binary operators by precedence, higher binds tighter (MySQL 8.0 Reference Manual 12.4.1), but
 * for the predicates: IN, LIKE, REGEXP, MEMBER OF, SOUNDS LIKE bind tighter than BETWEEN, which
 * binds tighter than the comparisons and IS, as both servers parse them (MariaDB sql/item.h
 * `enum precedence`: CMP < BETWEEN < IN; MySQL sql_yacc.yy: `predicate` under `bool_pri`) and
 * as MariaDB prints them: `a = (b LIKE c)` is printed `a = b like c`, which is not `(a = b) like c`.
 */
const BINARY = {
    ':=': 1,
    '||': 2,
    or: 2,
    xor: 3,
    '&&': 4,
    and: 4,
    '=': 7,
    '<=>': 7,
    '>=': 7,
    '>': 7,
    '<=': 7,
    '<': 7,
    '<>': 7,
    '!=': 7,
    is: 7,
    between: 7.3,
    like: 7.6,
    regexp: 7.6,
    rlike: 7.6,
    in: 7.6,
    member: 7.6,
    sounds: 7.6,
    '|': 8,
    '&': 9,
    '<<': 10,
    '>>': 10,
    '-': 11,
    '+': 11,
    '*': 12,
    '/': 12,
    div: 12,
    '%': 12,
    mod: 12,
    '^': 13,
    collate: 16
};
/** Prefix operators by precedence. */
const UNARY = { not: 5, '-': 14, '+': 14, '~': 14, '!': 15, binary: 16 };
/** Words after which a parenthesis starts a clause's own expression, as after `(` or `,`. */
const CLAUSE_WORDS = new Set([
    'select',
    'where',
    'on',
    'having',
    'when',
    'then',
    'else',
    'return',
    'set',
    'as',
    'by',
    'from',
    'distinct',
    'case',
    'limit',
    'escape',
    'join'
]);
/** The precedence of the token at `index` as an operator in its place; undefined when it is none. */
function operatorAt(tokens, index) {
    const token = tokens[index];
    const previous = tokens[index - 1];
    // The second word of a two-word operator (`NOT LIKE`, `NOT IN`, `SOUNDS LIKE`, `MEMBER OF`) is
    // that operator, not a prefix: what follows it is its right operand.
    if (previous === 'not' && predicateAfterNot(token) !== undefined)
        return BINARY[token];
    if ((previous === 'sounds' && token === 'like') || (previous === 'member' && token === 'of'))
        return BINARY[previous];
    const prefix = previous === undefined || previous === '(' || previous === ',' || isOperator(tokens, index - 1);
    if (prefix)
        return UNARY[token];
    // `a NOT LIKE b`, `a NOT IN (...)`, `a NOT BETWEEN ...`: the predicate's, not NOT's.
    if (token === 'not')
        return predicateAfterNot(tokens[index + 1]) ?? UNARY.not;
    // BETWEEN's own AND: the first AND after a BETWEEN (its operands hold no bare AND).
    if (token === 'and' && isBetweenAnd(tokens, index))
        return BINARY.between;
    return BINARY[token];
}
/** The precedence of a predicate (LIKE, IN, BETWEEN, REGEXP) after a binary NOT; undefined for another word. */
function predicateAfterNot(next) {
    return next !== undefined && ['like', 'in', 'between', 'regexp', 'rlike'].includes(next) ? BINARY[next] : undefined;
}
/** Whether the AND at `index` is a BETWEEN's: the nearest BETWEEN or AND before it, at its depth, is a BETWEEN. */
function isBetweenAnd(tokens, index) {
    let depth = 0;
    for (let k = index - 1; k >= 0; k--) {
        const token = tokens[k];
        if (token === ')')
            depth++;
        else if (token === '(') {
            if (depth === 0)
                return false;
            depth--;
        }
        else if (depth === 0 && (token === 'between' || token === 'and' || token === ','))
            return token === 'between';
    }
    return false;
}
function isOperator(tokens, index) {
    const token = tokens[index];
    if (token === undefined)
        return false;
    if (CLAUSE_WORDS.has(token) && !(token in BINARY) && !(token in UNARY))
        return true;
    return token in BINARY || token in UNARY;
}
/** The index of the parenthesis that closes the one at `open`. */
function closing(tokens, open) {
    let depth = 0;
    for (let i = open; i < tokens.length; i++) {
        if (tokens[i] === '(')
            depth++;
        else if (tokens[i] === ')' && --depth === 0)
            return i;
    }
    return tokens.length;
}
/** The tokens with every parenthesis that groups only what precedence groups anyway taken out. */
function withoutGroupingParentheses(tokens) {
    const out = [];
    for (let i = 0; i < tokens.length; i++) {
        if (tokens[i] !== '(') {
            out.push(tokens[i]);
            continue;
        }
        const end = closing(tokens, i);
        const inner = withoutGroupingParentheses(tokens.slice(i + 1, end));
        if (isGrouping(out, inner, tokens[end + 1], tokens.slice(end + 1)))
            out.push(...inner);
        else
            out.push('(', ...inner, ')');
        i = end;
    }
    return out;
}
/**
 * Whether `( inner )`, after `before` and followed by `after`, only groups what the operators'
 * precedence groups anyway: not a call's or a list's parenthesis, nor a subquery's, and its
 * loosest operator binds tighter than the one before it and at least as tight as the one after.
 */
function isGrouping(before, inner, after, rest) {
    const previous = before[before.length - 1];
    // A call (`f(`), a list (`in (`), a subquery, a row: never grouping.
    if (previous !== undefined && previous !== '(' && previous !== ',' && !isOperator(before, before.length - 1))
        return false;
    if (previous === 'in' || inner[0] === 'select' || inner[0] === 'with' || inner.length === 0)
        return false;
    let depth = 0;
    let loosest = Infinity;
    for (let k = 0; k < inner.length; k++) {
        if (inner[k] === '(')
            depth++;
        else if (inner[k] === ')')
            depth--;
        else if (depth === 0) {
            if (inner[k] === ',')
                return false;
            if (inner[k] === 'case' || inner[k] === 'end')
                continue;
            const precedence = operatorAt(inner, k);
            if (precedence !== undefined)
                loosest = Math.min(loosest, precedence);
        }
    }
    const left = previous === undefined || previous === '(' || previous === ',' ? -Infinity : operatorPrecedence(before, before.length - 1);
    const next = rest[0] === 'not'
        ? predicateAfterNot(rest[1])
        : rest[0] === 'and' && isBetweenAnd([...before, 'and'], before.length)
            ? BINARY.between
            : BINARY[rest[0]];
    const right = after === undefined || after === ')' || after === ',' ? -Infinity : (next ?? -Infinity);
    return loosest > left && loosest >= right;
}
/** The precedence of the operator at the end of what comes before a parenthesis (-Infinity for a clause word). */
function operatorPrecedence(tokens, index) {
    const precedence = operatorAt(tokens, index);
    return precedence ?? -Infinity;
}
function isWordish(c) {
    return /^[A-Za-z0-9_$'"`]/.test(c);
}

;// CONCATENATED MODULE: ./src/engines/mysql/schema-queries.ts




/** Shown in place of a routine body the account may not read (MySQL: SHOW_ROUTINE; MariaDB: SELECT on mysql.proc). */
const UNREADABLE_BODY = '(not readable by this account)';
/** An identifier for people: as it is when plain, in backticks otherwise. */
function displayIdentifier(identifier) {
    return /^[A-Za-z_][A-Za-z0-9_$]*$/.test(identifier) ? identifier : quoteIdent(identifier);
}
/** `table.object` for people. */
function inTable(table, name) {
    return `${displayIdentifier(table ?? '')}.${displayIdentifier(name ?? '')}`;
}
/**
 * A definition as `key: value; key: value`, in the given order. Keyword values are written as
 * they are; free text (comments, defaults, expressions, bodies) JSON-quoted, so that a value
 * cannot pass for another field. A null value is left out: it is absent, which '' is not.
 */
function fields(pairs) {
    return pairs
        .filter(([, value]) => value !== null && value !== undefined)
        .map(([key, value, text]) => `${key}: ${text ? JSON.stringify(value) : value}`)
        .join('; ');
}
/** Takes `database`.` out of a view's definition: MySQL qualifies every table and column there with it. */
function withoutDatabaseName(definition, database) {
    return definition.split(`${quoteIdent(database)}.`).join('');
}
/**
 * COLUMN_DEFAULT without the database's own name before a sequence (MariaDB writes
 * `nextval(\`db\`.\`s\`)`, and the restored copy's database has another name), in an expression
 * only: a quoted literal (MariaDB quotes every one) is read as it is, so that a string the
 * sanitizer's database-name rule changed still shows as a difference. MySQL has no sequences.
 */
const DEFAULT_WITHOUT_DATABASE = `IF(COLUMN_DEFAULT LIKE '''%', COLUMN_DEFAULT,
  REPLACE(COLUMN_DEFAULT, CONCAT('\`', REPLACE(DATABASE(), '\`', '\`\`'), '\`.'), ''))`;
/** The tables' own SQL fragment: base tables, never the scratch database's marker. */
const USER_TABLE = `TABLE_SCHEMA = DATABASE() AND TABLE_NAME <> ?`;
/**
 * The information_schema columns that only some servers have, each `TABLE.COLUMN`:
 * STATISTICS.IS_VISIBLE (MySQL 8.0+), STATISTICS.EXPRESSION (MySQL 8.0.13+, functional key
 * parts), STATISTICS.IGNORED (MariaDB 10.6+), COLUMNS.SRS_ID (MySQL 8.0.3+),
 * TABLE_CONSTRAINTS.ENFORCED and the CHECK_CONSTRAINTS table (MySQL 8.0.16+, MariaDB 10.2.22+),
 * CHECK_CONSTRAINTS.TABLE_NAME (MariaDB only). MySQL 5.7 has none of MySQL's: the reads leave
 * out what the server lacks instead of failing.
 */
const OPTIONAL_COLUMNS = [
    'STATISTICS.IS_VISIBLE',
    'STATISTICS.EXPRESSION',
    'STATISTICS.IGNORED',
    'COLUMNS.SRS_ID',
    'TABLE_CONSTRAINTS.ENFORCED',
    'CHECK_CONSTRAINTS.CHECK_CLAUSE',
    'CHECK_CONSTRAINTS.TABLE_NAME'
];
async function optionalColumns(db, presentation) {
    const rows = await db.query(`SELECT UPPER(TABLE_NAME) AS \`t\`, UPPER(COLUMN_NAME) AS \`c\` FROM information_schema.COLUMNS
     WHERE TABLE_SCHEMA = 'information_schema'
       AND UPPER(TABLE_NAME) IN ('STATISTICS', 'COLUMNS', 'TABLE_CONSTRAINTS', 'CHECK_CONSTRAINTS')`);
    const present = new Set(rows.map(row => `${row.t}.${row.c}`));
    if (present.size === 0)
        return new Set(knownColumns(presentation));
    return new Set(OPTIONAL_COLUMNS.filter(column => present.has(column)));
}
/** OPTIONAL_COLUMNS by the release notes, should information_schema not list its own columns. */
function knownColumns(presentation) {
    const release = versionNumber(presentation.version);
    if (presentation.flavour === 'mariadb') {
        return [
            ...(release >= 100600 ? ['STATISTICS.IGNORED'] : []),
            'CHECK_CONSTRAINTS.CHECK_CLAUSE',
            'CHECK_CONSTRAINTS.TABLE_NAME'
        ];
    }
    return [
        ...(release >= 80000 ? ['STATISTICS.IS_VISIBLE'] : []),
        ...(release >= 80013 ? ['STATISTICS.EXPRESSION'] : []),
        ...(release >= 80003 ? ['COLUMNS.SRS_ID'] : []),
        ...(release >= 80016 ? ['TABLE_CONSTRAINTS.ENFORCED', 'CHECK_CONSTRAINTS.CHECK_CLAUSE'] : [])
    ];
}
/** Reads the schema fingerprint of the connected database. `marker`: the marker table to leave out ('' for none). */
async function readSchema(db, flavour, database, marker) {
    const [server] = await db.query('SELECT VERSION() AS `version`');
    const presentation = presentationOf(flavour, String(server?.version ?? ''));
    const has = await optionalColumns(db, presentation);
    const objects = [];
    const add = (kind, name, pairs, portable = {}, table) => objects.push({
        kind,
        name,
        definition: fields(pairs),
        portable: fields(pairs.map(([key, value, text]) => [key, key in portable ? portable[key] : portableValue(key, value), text])),
        presentation: presentation.key,
        ...(table === undefined ? {} : { table })
    });
    const partitions = new Map();
    for (const p of await db.query(`SELECT TABLE_NAME AS \`t\`, PARTITION_NAME AS \`p\`, SUBPARTITION_NAME AS \`sp\`, PARTITION_METHOD AS \`method\`,
            SUBPARTITION_METHOD AS \`submethod\`, PARTITION_EXPRESSION AS \`expr\`, SUBPARTITION_EXPRESSION AS \`subexpr\`,
            PARTITION_DESCRIPTION AS \`description\`, PARTITION_COMMENT AS \`comment\`
     FROM information_schema.PARTITIONS WHERE ${USER_TABLE} AND PARTITION_NAME IS NOT NULL
     ORDER BY TABLE_NAME, PARTITION_ORDINAL_POSITION, SUBPARTITION_ORDINAL_POSITION`, [marker])) {
        const list = partitions.get(p.t) ?? [];
        if (list.length === 0) {
            list.push([
                ['by', p.method],
                ['expression', p.expr, 'text'],
                ['subpartitions by', p.submethod],
                ['subexpression', p.subexpr, 'text']
            ]);
        }
        list.push([
            ['partition', p.p],
            ['subpartition', p.sp],
            ['values', p.description, 'text'],
            ['comment', p.comment || null, 'text']
        ]);
        partitions.set(p.t, list);
    }
    // The partitioning as one text field, in both forms (its expressions compared portably too).
    const partitioning = (table, portable) => {
        const list = partitions.get(table);
        if (!list)
            return null;
        const form = (pairs) => fields(portable ? pairs.map(([key, value, text]) => [key, portableValue(key, value), text]) : pairs);
        return list.map(form).join(' | ');
    };
    for (const t of await db.query(`SELECT TABLE_NAME AS \`t\`, TABLE_TYPE AS \`type\`, ENGINE AS \`engine\`, TABLE_COLLATION AS \`collation\`,
            TABLE_COMMENT AS \`comment\`, CREATE_OPTIONS AS \`options\`
     FROM information_schema.TABLES WHERE ${USER_TABLE} AND TABLE_TYPE IN ('BASE TABLE', 'SYSTEM VERSIONED')`, [marker])) {
        add('table', displayIdentifier(t.t), [
            ['type', t.type],
            ['engine', t.engine],
            ['collation', canonicalCharset(t.collation)],
            ['options', normalOptions(t.options), 'text'],
            ['comment', t.comment, 'text'],
            ['partitioning', partitioning(t.t, false), 'text']
        ], { partitioning: partitioning(t.t, true) });
    }
    const constraints = await db.query(`SELECT tc.TABLE_NAME AS \`t\`, tc.CONSTRAINT_NAME AS \`name\`, tc.CONSTRAINT_TYPE AS \`type\`,
            ${has.has('CHECK_CONSTRAINTS.CHECK_CLAUSE') ? 'cc.CHECK_CLAUSE' : 'NULL'} AS \`clause\`,
            rc.UPDATE_RULE AS \`on_update\`, rc.DELETE_RULE AS \`on_delete\`, rc.MATCH_OPTION AS \`match_option\`
            ${has.has('TABLE_CONSTRAINTS.ENFORCED') ? ', tc.ENFORCED AS `enforced`' : ''},
            (SELECT GROUP_CONCAT(CONCAT(k.COLUMN_NAME, ' -> ', COALESCE(k.REFERENCED_TABLE_SCHEMA, ''), '|',
                      COALESCE(k.REFERENCED_TABLE_NAME, ''), '|', COALESCE(k.REFERENCED_COLUMN_NAME, ''))
                    ORDER BY k.ORDINAL_POSITION SEPARATOR '\n')
             FROM information_schema.KEY_COLUMN_USAGE k
             WHERE k.CONSTRAINT_SCHEMA = tc.TABLE_SCHEMA AND k.TABLE_NAME = tc.TABLE_NAME
               AND k.CONSTRAINT_NAME = tc.CONSTRAINT_NAME) AS \`columns\`
     FROM information_schema.TABLE_CONSTRAINTS tc
     ${has.has('CHECK_CONSTRAINTS.CHECK_CLAUSE')
        ? `LEFT JOIN information_schema.CHECK_CONSTRAINTS cc ON cc.CONSTRAINT_SCHEMA = tc.TABLE_SCHEMA
           AND cc.CONSTRAINT_NAME = tc.CONSTRAINT_NAME AND tc.CONSTRAINT_TYPE = 'CHECK'
           ${has.has('CHECK_CONSTRAINTS.TABLE_NAME') ? 'AND cc.TABLE_NAME = tc.TABLE_NAME' : ''}`
        : ''}
     LEFT JOIN information_schema.REFERENTIAL_CONSTRAINTS rc ON rc.CONSTRAINT_SCHEMA = tc.TABLE_SCHEMA
       AND rc.TABLE_NAME = tc.TABLE_NAME AND rc.CONSTRAINT_NAME = tc.CONSTRAINT_NAME
     WHERE tc.TABLE_SCHEMA = DATABASE() AND tc.TABLE_NAME <> ?`, [marker]);
    // MariaDB's JSON: a LONGTEXT with the CHECK its alias adds; read as the JSON column it was declared.
    const jsonAliasChecks = new Set(flavour === 'mariadb'
        ? constraints
            .filter(k => k.type === 'CHECK' && isJsonAliasCheck(k.name, k.name, k.clause))
            .map(k => `${k.t}\u0000${k.name}`)
        : []);
    const srids = flavour === 'mariadb' ? await mariadbSrids(db) : new Map();
    const jsonColumns = new Set();
    for (const c of await db.query(`SELECT TABLE_NAME AS \`t\`, COLUMN_NAME AS \`c\`, ORDINAL_POSITION AS \`position\`, COLUMN_TYPE AS \`type\`, IS_NULLABLE AS \`nullable\`,
            ${flavour === 'mariadb' ? DEFAULT_WITHOUT_DATABASE : 'COLUMN_DEFAULT'} AS \`default\`, EXTRA AS \`extra\`, GENERATION_EXPRESSION AS \`generated\`,
            CHARACTER_SET_NAME AS \`charset\`, COLLATION_NAME AS \`collation\`, COLUMN_COMMENT AS \`comment\`
            ${has.has('COLUMNS.SRS_ID') ? ', SRS_ID AS `srid`' : ''}
     FROM information_schema.COLUMNS
     WHERE ${USER_TABLE} AND TABLE_NAME IN (SELECT TABLE_NAME FROM information_schema.TABLES
       WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE IN ('BASE TABLE', 'SYSTEM VERSIONED'))`, [marker])) {
        const json = /^longtext$/i.test(c.type ?? '') && jsonAliasChecks.has(`${c.t}\u0000${c.c}`);
        if (json)
            jsonColumns.add(`${c.t}\u0000${c.c}`);
        const type = json ? 'json' : canonicalType(c.type);
        const charset = canonicalCharset(c.charset);
        const collation = canonicalCharset(c.collation);
        // JSON's own character set and collation (MariaDB's alias) are what MySQL's JSON has no name for.
        const jsonDefaults = json && charset === 'utf8mb4' && collation === 'utf8mb4_bin';
        const value = canonicalDefault(flavour, c.default, c.extra, c.type);
        const generated = c.generated || null;
        add('column', inTable(c.t, c.c), [
            ['type', type],
            ['not null', c.nullable === 'NO' ? 'yes' : null],
            ['default', value?.literal, 'text'],
            ['default expression', value?.expression, 'text'],
            ['extra', canonicalExtra(c.extra)],
            ['generated', generated, 'text'],
            ['charset', jsonDefaults ? null : charset],
            ['collation', jsonDefaults ? null : collation],
            ['srid', c.srid ?? srids.get(`${c.t}\u0000${c.c}`) ?? null],
            ['comment', c.comment || null, 'text'],
            ['position', c.position]
        ]);
    }
    const visibility = [
        has.has('STATISTICS.IS_VISIBLE') ? ', IS_VISIBLE AS `visible`' : '',
        has.has('STATISTICS.EXPRESSION') ? ', EXPRESSION AS `expression`' : '',
        has.has('STATISTICS.IGNORED') ? ', IGNORED AS `ignored`' : ''
    ].join('');
    const indexes = new Map();
    for (const s of await db.query(`SELECT TABLE_NAME AS \`t\`, INDEX_NAME AS \`i\`, NON_UNIQUE AS \`non_unique\`, INDEX_TYPE AS \`type\`, INDEX_COMMENT AS \`comment\`,
            COLUMN_NAME AS \`c\`, COLLATION AS \`ord\`, SUB_PART AS \`sub\` ${visibility}
     FROM information_schema.STATISTICS WHERE ${USER_TABLE}
     ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX`, [marker])) {
        const key = `${s.t}\u0000${s.i}`;
        let index = indexes.get(key);
        if (!index) {
            // MySQL's invisible index (IS_VISIBLE = NO) is MariaDB's ignored one (IGNORED = YES): the optimizer skips both.
            const head = [
                ['unique', s.non_unique === '0' ? 'yes' : null],
                ['type', s.type],
                ['invisible', s.visible === 'NO' || s.ignored === 'YES' ? 'yes' : null],
                ['comment', s.comment || null, 'text']
            ];
            indexes.set(key, (index = { table: s.t, name: s.i, head, parts: [] }));
        }
        const column = s.c !== null ? quoteIdent(s.c) : `(${s.expression})`;
        index.parts.push(`${column}${s.sub ? `(${s.sub})` : ''}${s.ord === 'D' ? ' DESC' : ''}`);
    }
    for (const index of indexes.values()) {
        add('index', inTable(index.table, index.name), [...index.head, ['columns', index.parts.join(', ')]]);
    }
    for (const k of constraints) {
        if (jsonAliasChecks.has(`${k.t}\u0000${k.name}`) && jsonColumns.has(`${k.t}\u0000${k.name}`))
            continue;
        const columns = (k.columns ?? '')
            .split('\n')
            .filter(line => line !== '')
            .map(line => {
            const [column, target] = line.split(' -> ');
            const [schema, table, referenced] = target.split('|');
            if (!table)
                return quoteIdent(column);
            // A reference into the same database is written without its name, which differs on the restored copy.
            const where = schema && schema !== database ? `${quoteIdent(schema)}.` : '';
            return `${quoteIdent(column)} -> ${where}${quoteIdent(table)}.${quoteIdent(referenced)}`;
        });
        add('constraint', inTable(k.t, k.name), [
            ['type', k.type],
            ['columns', columns.length > 0 ? columns.join(', ') : null],
            ['check', k.clause, 'text'],
            ['on update', k.on_update],
            ['on delete', k.on_delete],
            ['match', k.match_option],
            // MySQL 8.0.16+ says ENFORCED for every constraint; only NOT ENFORCED (NO) is a property: MariaDB enforces them all.
            ['enforced', k.enforced === 'NO' ? 'NO' : null]
        ], {}, k.t);
    }
    for (const v of await db.query(`SELECT TABLE_NAME AS \`v\`, VIEW_DEFINITION AS \`definition\`, CHECK_OPTION AS \`check_option\`, IS_UPDATABLE AS \`updatable\`,
            SECURITY_TYPE AS \`security\`, CHARACTER_SET_CLIENT AS \`charset\`, COLLATION_CONNECTION AS \`collation\`
            ${flavour === 'mariadb' ? ', ALGORITHM AS `algorithm`' : ''}
     FROM information_schema.VIEWS WHERE ${USER_TABLE}`, [marker])) {
        add('view', displayIdentifier(v.v), [
            ['definition', v.definition === null ? null : withoutDatabaseName(v.definition, database), 'text'],
            ['check option', v.check_option],
            // Not IS_UPDATABLE: the definition and the tables decide it (both compared), and MariaDB leaves it
            // empty in a read-only transaction for a view it cannot open there (one that calls nextval).
            ['security', v.security],
            ['algorithm', v.algorithm ?? null],
            ['charset', canonicalCharset(v.charset)],
            ['collation', canonicalCharset(v.collation)]
        ]);
    }
    const parameters = new Map();
    for (const p of await db.query(`SELECT SPECIFIC_NAME AS \`r\`, ROUTINE_TYPE AS \`type\`, ORDINAL_POSITION AS \`position\`, PARAMETER_MODE AS \`mode\`,
            PARAMETER_NAME AS \`name\`, DTD_IDENTIFIER AS \`dtd\`
     FROM information_schema.PARAMETERS WHERE SPECIFIC_SCHEMA = DATABASE() AND ORDINAL_POSITION > 0
     ORDER BY SPECIFIC_NAME, ROUTINE_TYPE, ORDINAL_POSITION`)) {
        const key = `${p.type}\u0000${p.r}`;
        const list = parameters.get(key) ?? { mine: [], portable: [] };
        const dtd = canonicalType(p.dtd);
        list.mine.push([p.mode, quoteIdent(p.name ?? ''), dtd].filter(Boolean).join(' '));
        list.portable.push([p.mode, quoteIdent(p.name ?? ''), dtd && portableType(dtd)].filter(Boolean).join(' '));
        parameters.set(key, list);
    }
    for (const r of await db.query(`SELECT ROUTINE_NAME AS \`r\`, ROUTINE_TYPE AS \`type\`, DTD_IDENTIFIER AS \`returns\`, ROUTINE_DEFINITION AS \`body\`,
            IS_DETERMINISTIC AS \`deterministic\`, SQL_DATA_ACCESS AS \`access\`, SECURITY_TYPE AS \`security\`,
            SQL_MODE AS \`sql_mode\`, ROUTINE_COMMENT AS \`comment\`, CHARACTER_SET_CLIENT AS \`charset\`,
            COLLATION_CONNECTION AS \`collation\`
     FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = DATABASE()`)) {
        const kind = (r.type ?? 'routine').toLowerCase();
        const list = parameters.get(`${r.type}\u0000${r.r}`) ?? { mine: [], portable: [] };
        add(kind, displayIdentifier(r.r), [
            ['parameters', list.mine.join(', ')],
            ['returns', canonicalType(r.returns)],
            ['body', r.body ?? UNREADABLE_BODY, 'text'],
            ['deterministic', r.deterministic],
            ['data access', r.access],
            ['security', r.security],
            ['sql mode', canonicalSqlMode(r.sql_mode)],
            ['charset', canonicalCharset(r.charset)],
            ['collation', canonicalCharset(r.collation)],
            ['comment', r.comment || null, 'text']
        ], { parameters: list.portable.join(', ') });
    }
    for (const t of await db.query(`SELECT TRIGGER_NAME AS \`name\`, EVENT_OBJECT_TABLE AS \`t\`, ACTION_TIMING AS \`timing\`, EVENT_MANIPULATION AS \`event\`,
            ACTION_ORDER AS \`ord\`, ACTION_STATEMENT AS \`statement\`, SQL_MODE AS \`sql_mode\`,
            CHARACTER_SET_CLIENT AS \`charset\`, COLLATION_CONNECTION AS \`collation\`
     FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = DATABASE()`)) {
        add('trigger', displayIdentifier(t.name), [
            ['table', displayIdentifier(t.t)],
            ['timing', t.timing],
            ['event', t.event],
            ['order', t.ord],
            ['statement', t.statement, 'text'],
            ['sql mode', canonicalSqlMode(t.sql_mode)],
            ['charset', canonicalCharset(t.charset)],
            ['collation', canonicalCharset(t.collation)]
        ]);
    }
    for (const e of await db.query(`SELECT EVENT_NAME AS \`name\`, EVENT_DEFINITION AS \`body\`, EVENT_TYPE AS \`type\`, EXECUTE_AT AS \`at\`,
            INTERVAL_VALUE AS \`every\`, INTERVAL_FIELD AS \`unit\`, STARTS AS \`starts\`, ENDS AS \`ends\`, STATUS AS \`status\`,
            ON_COMPLETION AS \`completion\`, SQL_MODE AS \`sql_mode\`, TIME_ZONE AS \`zone\`, EVENT_COMMENT AS \`comment\`
     FROM information_schema.EVENTS WHERE EVENT_SCHEMA = DATABASE()`)) {
        add('event', displayIdentifier(e.name), [
            ['type', e.type],
            ['at', e.at],
            ['every', e.every === null ? null : `${e.every} ${e.unit}`],
            ['starts', e.starts],
            ['ends', e.ends],
            // MySQL 8.0.22+ says REPLICA_SIDE_DISABLED for what MySQL 5.7 and MariaDB call SLAVESIDE_DISABLED.
            ['status', e.status === 'REPLICA_SIDE_DISABLED' ? 'SLAVESIDE_DISABLED' : e.status],
            ['on completion', e.completion],
            ['time zone', e.zone],
            ['sql mode', canonicalSqlMode(e.sql_mode)],
            ['body', e.body, 'text'],
            ['comment', e.comment || null, 'text']
        ]);
    }
    return objects;
}
/** The fields whose text the servers print each their own way: compared as portableExpression. */
const EXPRESSION_FIELDS = new Set(['generated', 'check', 'default expression', 'definition', 'expression', 'subexpression']);
/**
 * A field's value as compared with a server of another presentation (schema-presentation.ts):
 * integer widths left out, expressions in one form, MariaDB's view ALGORITHM (MySQL's
 * information_schema has no such column) left out, table options in one letter case.
 */
function portableValue(key, value) {
    if (value === null || value === undefined)
        return value;
    if (key === 'type' || key === 'returns')
        return portableType(value);
    if (EXPRESSION_FIELDS.has(key))
        return portableExpression(value);
    if (key === 'algorithm')
        return null;
    if (key === 'options')
        return value.toLowerCase();
    return value;
}
/**
 * MariaDB's spatial columns' SRID (REF_SYSTEM_ID, the sanitizer's rewrite of MySQL 8's
 * `/*!80003 SRID n *\/`), by table and column: information_schema.GEOMETRY_COLUMNS (MariaDB KB
 * "Information Schema GEOMETRY_COLUMNS Table"), 0 for none, as MySQL's SRS_ID is NULL for none.
 */
async function mariadbSrids(db) {
    const rows = await db.query(`SELECT G_TABLE_NAME AS \`t\`, G_GEOMETRY_COLUMN AS \`c\`, CAST(SRID AS CHAR) AS \`srid\`
     FROM information_schema.GEOMETRY_COLUMNS WHERE G_TABLE_SCHEMA = DATABASE() AND SRID <> 0`);
    return new Map(rows.map(row => [`${row.t}\u0000${row.c}`, row.srid]));
}
/**
 * CREATE_OPTIONS without what is not part of a table's definition; words sorted, so their order
 * does not matter. MariaDB lists DATA DIRECTORY='...' and INDEX DIRECTORY='...' there: where the
 * server keeps the table's files, which the sanitizer takes out of the dump (rule path-option) so
 * that the clean room keeps them in its own data directory; the rows and definition are the same.
 */
function normalOptions(options) {
    if (!options)
        return null;
    // SHOW CREATE TABLE (so the dump) writes PAGE_CHECKSUM=1 for every Aria table that has page
    // checksums, the default: the restored copy has explicit what production had implicit.
    const words = options
        .replace(/(^|\s)(DATA|INDEX) DIRECTORY='[^']*'/gi, ' ')
        .split(/\s+/)
        .filter(word => word !== '' && word !== 'page_checksum=1');
    return words.length > 0 ? words.sort().join(' ') : null;
}
/**
 * Every AUTO_INCREMENT counter, as a sequence whose next value is `lastValue` (not called yet),
 * named `table.column`.
 */
async function readCounters(db, marker) {
    const rows = await db.query(`SELECT t.TABLE_NAME AS \`t\`, c.COLUMN_NAME AS \`c\`, CAST(t.AUTO_INCREMENT AS CHAR) AS \`next\`,
            CAST(@@auto_increment_increment AS CHAR) AS \`increment\`
     FROM information_schema.TABLES t
     JOIN information_schema.COLUMNS c ON c.TABLE_SCHEMA = t.TABLE_SCHEMA AND c.TABLE_NAME = t.TABLE_NAME
       AND c.EXTRA LIKE '%auto_increment%'
     WHERE t.TABLE_SCHEMA = DATABASE() AND t.TABLE_NAME <> ? AND t.TABLE_TYPE IN ('BASE TABLE', 'SYSTEM VERSIONED')
       AND t.AUTO_INCREMENT IS NOT NULL
     ORDER BY t.TABLE_NAME`, [marker]);
    return rows.map(row => ({
        name: inTable(row.t, row.c),
        lastValue: row.next,
        isCalled: false,
        increment: row.increment ?? '1'
    }));
}
/** Counters whose next value their own column already holds: the first insert would fail on a duplicate key. */
async function readCountersBehindData(db, database, marker) {
    const counters = await db.query(`SELECT t.TABLE_NAME AS \`t\`, c.COLUMN_NAME AS \`c\`, CAST(t.AUTO_INCREMENT AS CHAR) AS \`next\`
     FROM information_schema.TABLES t
     JOIN information_schema.COLUMNS c ON c.TABLE_SCHEMA = t.TABLE_SCHEMA AND c.TABLE_NAME = t.TABLE_NAME
       AND c.EXTRA LIKE '%auto_increment%'
     WHERE t.TABLE_SCHEMA = DATABASE() AND t.TABLE_NAME <> ? AND t.TABLE_TYPE IN ('BASE TABLE', 'SYSTEM VERSIONED')
       AND t.AUTO_INCREMENT IS NOT NULL
     ORDER BY t.TABLE_NAME`, [marker]);
    const behind = [];
    for (const counter of counters) {
        const [row] = await db.query(`SELECT CAST(MAX(${quoteIdent(counter.c)}) AS CHAR) AS \`max\` FROM ${qualified(database, counter.t)}`);
        const max = row?.max;
        if (max === null || max === undefined || !/^-?\d+$/.test(max) || !/^\d+$/.test(counter.next ?? ''))
            continue;
        if (BigInt(max) >= BigInt(counter.next)) {
            behind.push({
                name: inTable(counter.t, counter.c),
                column: inTable(counter.t, counter.c),
                nextValue: counter.next,
                maxInColumn: max
            });
        }
    }
    return behind;
}
/**
 * Each table's key (by table name): its primary key or, failing that, the unique index over the
 * fewest NOT NULL whole columns (no prefix, no expression), in index order.
 */
async function readPrimaryKeys(db, marker) {
    const rows = await db.query(`SELECT s.TABLE_NAME AS \`t\`, s.INDEX_NAME AS \`i\`, s.COLUMN_NAME AS \`c\`, s.SUB_PART AS \`sub\`, c.IS_NULLABLE AS \`nullable\`
     FROM information_schema.STATISTICS s
     LEFT JOIN information_schema.COLUMNS c ON c.TABLE_SCHEMA = s.TABLE_SCHEMA AND c.TABLE_NAME = s.TABLE_NAME
       AND c.COLUMN_NAME = s.COLUMN_NAME
     WHERE s.TABLE_SCHEMA = DATABASE() AND s.TABLE_NAME <> ? AND s.NON_UNIQUE = 0
     ORDER BY s.TABLE_NAME, s.INDEX_NAME, s.SEQ_IN_INDEX`, [marker]);
    const candidates = new Map();
    for (const row of rows) {
        const key = `${row.t}\u0000${row.i}`;
        let index = candidates.get(key);
        if (!index)
            candidates.set(key, (index = { table: row.t, name: row.i, columns: [], usable: true }));
        if (row.c === null || row.sub !== null || row.nullable !== 'NO')
            index.usable = false;
        else
            index.columns.push(row.c);
    }
    const best = new Map();
    for (const index of candidates.values()) {
        if (!index.usable)
            continue;
        const current = best.get(index.table);
        if (!current || keyRank(index) < keyRank(current))
            best.set(index.table, index);
    }
    return new Map([...best].map(([table, index]) => [table, index.columns]));
}
/** PRIMARY first, then the fewest columns, then the name. */
function keyRank(index) {
    return `${index.name === 'PRIMARY' ? 0 : 1}${String(index.columns.length).padStart(4, '0')}${index.name}`;
}
/**
 * The objects that differ, restored against production, sorted by kind and name. A collation the
 * sanitizer rewrote (production's name to the clean room's) counts as the same. A routine body
 * one side could not read is not compared (the rest of its definition is).
 *
 * Two servers of the same presentation (schema-presentation.ts presentationOf: flavour, and for
 * MySQL whether it shows integer display widths) are compared on their canonical definitions,
 * exactly. Across presentations (MySQL 8 production, MariaDB clean room...) the portable ones are
 * compared: what one server cannot show is left out and expressions are compared in one form;
 * and a CHECK constraint named by the server (MySQL `<table>_chk_<n>`, MariaDB: after its column)
 * pairs with the other side's one of the same table and definition. The report shows both
 * definitions as the servers gave them.
 */
function diffSchema(production, restored, collationsRewritten = new Map()) {
    const rewrite = (definition) => {
        let text = definition;
        for (const [from, to] of collationsRewritten)
            text = text.replace(new RegExp(`\\b${escapeRegExp(from)}\\b`, 'g'), to);
        return text;
    };
    const key = (object) => `${object.kind}\u0000${object.name}`;
    const restoredByKey = new Map(restored.map(object => [key(object), object]));
    const unmatched = [];
    const differences = [];
    for (const object of production) {
        const copy = restoredByKey.get(key(object));
        restoredByKey.delete(key(object));
        if (!copy) {
            unmatched.push(object);
            continue;
        }
        if (!sameDefinition(object, copy, rewrite)) {
            differences.push({ kind: object.kind, name: object.name, production: object.definition, restored: copy.definition });
        }
    }
    // Across presentations, a server-named CHECK pairs with the other side's of the same table and definition.
    const extras = [...restoredByKey.values()];
    for (const object of unmatched) {
        const partner = extras.findIndex(copy => crossPresentation(object, copy) &&
            serverNamedCheck(object) &&
            serverNamedCheck(copy) &&
            object.table === copy.table &&
            sameDefinition(object, copy, rewrite));
        if (partner >= 0)
            extras.splice(partner, 1);
        else
            differences.push({ kind: object.kind, name: object.name, production: object.definition, restored: null });
    }
    for (const extra of extras) {
        differences.push({ kind: extra.kind, name: extra.name, production: null, restored: extra.definition });
    }
    const bytes = (a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b));
    return differences.sort((a, b) => bytes(a.kind, b.kind) || bytes(a.name, b.name));
}
/** Whether the two sides were read from servers of different presentations (both must say theirs). */
function crossPresentation(a, b) {
    const [x, y] = [a, b];
    return x.presentation !== undefined && y.presentation !== undefined && x.presentation !== y.presentation;
}
/** Production's object and the copy's say the same: canonically, or portably across presentations. */
function sameDefinition(object, copy, rewrite) {
    const portable = crossPresentation(object, copy);
    let mine = rewrite(portable ? object.portable : object.definition);
    let theirs = portable ? copy.portable : copy.definition;
    // Across flavours, a `_0900_` collation the sanitizer left (the clean room knows it: MariaDB
    // 11.4.5+, where it is an alias) is the MariaDB collation it names there.
    if (portable)
        [mine, theirs] = [mariadbAliasOf0900(mine), mariadbAliasOf0900(theirs)];
    const unreadable = `body: ${JSON.stringify(UNREADABLE_BODY)}`;
    if (mine.includes(unreadable) || theirs.includes(unreadable))
        [mine, theirs] = [withoutBody(mine), withoutBody(theirs)];
    return mine === theirs;
}
/**
 * A CHECK whose name the server chose: MySQL names an unnamed one `<table>_chk_<n>` (MySQL 8.0
 * Reference Manual 13.1.20.6, "CHECK Constraints"), MariaDB a column's after the column, a
 * table's `CONSTRAINT_<n>` (MariaDB KB "CONSTRAINT"). A dump of one flavour restored into the
 * other gets the other's names for them.
 */
function serverNamedCheck(object) {
    const table = object.table;
    if (object.kind !== 'constraint' || table === undefined || !object.definition.startsWith('type: CHECK'))
        return false;
    const name = object.name.slice(displayIdentifier(table).length + 1);
    const plain = name.startsWith('`') ? name.slice(1, -1).replace(/``/g, '`') : name;
    return (plain.startsWith(`${table}_chk_`) ||
        /^CONSTRAINT_\d+$/.test(plain) ||
        new RegExp(`\\(?\`${escapeRegExp(plain.replace(/`/g, '``'))}\``).test(object.definition));
}
/**
 * MySQL's `_0900_` collations by the MariaDB names they are aliases of (MariaDB 11.4.5 release
 * notes: utf8mb4_0900_* are aliases of utf8mb4_uca1400_nopad_*; skew-catalogue.ts
 * collationCandidates, best first).
 */
function mariadbAliasOf0900(text) {
    return text.replace(/\butf8mb4_(?:[a-z_]+?_)?0900_(?:ai_ci|as_ci|as_cs_ks|as_cs|bin)\b/g, name => collationCandidates(name)?.[0] ?? name);
}
/** A definition without its `body: "..."` field (JSON-quoted, so it ends at its closing quote). */
function withoutBody(definition) {
    return definition.replace(/(^|; )body: "(?:[^"\\]|\\.)*"/, '$1body: ?');
}
function escapeRegExp(text) {
    return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

;// CONCATENATED MODULE: ./src/engines/mysql/drill-catalog.ts

async function readDrillCatalog(db, tables, rowCounts, keyOf, flavour) {
    const keys = await readPrimaryKeys(db, '');
    const indexes = await db.query(`SELECT DISTINCT TABLE_NAME AS t, INDEX_NAME AS i, CAST(NON_UNIQUE AS CHAR) AS non_unique
     FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND INDEX_NAME <> 'PRIMARY'
     ORDER BY TABLE_NAME, INDEX_NAME`);
    // MariaDB's column-level CHECKs (a JSON column's json_valid among them) are written inside their
    // column's definition, not as a CONSTRAINT line a rewriter could drop: left out.
    const constraints = await db.query(`SELECT tc.TABLE_NAME AS t, tc.CONSTRAINT_NAME AS name, tc.CONSTRAINT_TYPE AS type
     FROM information_schema.TABLE_CONSTRAINTS tc
     WHERE tc.TABLE_SCHEMA = DATABASE() AND tc.CONSTRAINT_TYPE IN ('FOREIGN KEY', 'UNIQUE', 'CHECK')
     ${flavour === 'mariadb'
        ? `AND NOT EXISTS (SELECT 1 FROM information_schema.CHECK_CONSTRAINTS cc WHERE cc.CONSTRAINT_SCHEMA = tc.TABLE_SCHEMA
              AND cc.TABLE_NAME = tc.TABLE_NAME AND cc.CONSTRAINT_NAME = tc.CONSTRAINT_NAME AND cc.LEVEL = 'Column')`
        : ''}
     ORDER BY tc.TABLE_NAME, tc.CONSTRAINT_NAME`);
    const counters = await db.query(`SELECT t.TABLE_NAME AS t, c.COLUMN_NAME AS c, CAST(t.AUTO_INCREMENT AS CHAR) AS next
     FROM information_schema.TABLES t
     JOIN information_schema.COLUMNS c ON c.TABLE_SCHEMA = t.TABLE_SCHEMA AND c.TABLE_NAME = t.TABLE_NAME
       AND c.EXTRA LIKE '%auto_increment%'
     WHERE t.TABLE_SCHEMA = DATABASE() AND t.AUTO_INCREMENT IS NOT NULL
     ORDER BY t.TABLE_NAME`);
    // The columns the dump writes values for, in table order: generated ones are computed, never dumped.
    const written = new Map();
    for (const row of await db.query(`SELECT TABLE_NAME AS t, COLUMN_NAME AS c FROM information_schema.COLUMNS
     WHERE TABLE_SCHEMA = DATABASE() AND EXTRA NOT LIKE '%VIRTUAL GENERATED%' AND EXTRA NOT LIKE '%STORED GENERATED%'
     ORDER BY TABLE_NAME, ORDINAL_POSITION`)) {
        written.set(row.t, [...(written.get(row.t) ?? []), row.c]);
    }
    return {
        tables: tables.map(table => ({
            table: { schema: table.schema, name: table.name },
            rows: rowCounts.get(keyOf(table)) ?? 0,
            key: keys.get(table.name),
            columns: written.get(table.name) ?? []
        })),
        indexes: indexes.map(row => ({ table: row.t, name: row.i, unique: row.non_unique === '0' })),
        constraints: constraints.map(row => ({ table: row.t, name: row.name, type: row.type })),
        counters: counters.map(row => ({ table: row.t, column: row.c, next: row.next }))
    };
}

// EXTERNAL MODULE: ./src/engines/reads.ts
var reads = __webpack_require__(85002);
;// CONCATENATED MODULE: ./src/engines/mysql/row-diff-queries.ts


/**
 * The SQL half of the row diff for MySQL and MariaDB (verification/row-diff.ts narrows buckets
 * and pairs rows with what these read). Each row is seen as `r`, the MD5 of the same text the
 * table's checksum hashes (figure-queries.ts); `h`, 32 bits of the MD5 of its key's values (of
 * `r` without a key), whose leading bits name its bucket; for keyed tables `k`, the key's values
 * as a JSON array (rows pair on it), and `kv0`, `kv1`... each key value's text. Every statement
 * only reads the columns production listed.
 */
/** Lower bound on a row's size on disk, to overestimate row counts from the data length. */
const MIN_ROW_BYTES = 32;
const NUMERIC_TYPES = new Set([
    'tinyint',
    'smallint',
    'mediumint',
    'int',
    'integer',
    'bigint',
    'decimal',
    'float',
    'double',
    'year'
]);
/** A value's text for a key: bytes as 0x..., anything else as its text. */
function valueText(column) {
    const ref = quoteIdent(column.name);
    return BINARY_TYPES.has(column.dataType) ? `CONCAT('0x', HEX(${ref}))` : `CAST(${ref} AS CHAR)`;
}
/** A value as a reader sees it in a row: numbers bare, text quoted, bytes as 0x..., NULL as NULL. */
function displayText(column) {
    const ref = quoteIdent(column.name);
    if (BINARY_TYPES.has(column.dataType))
        return `IF(${ref} IS NULL, 'NULL', CONCAT('0x', HEX(${ref})))`;
    if (NUMERIC_TYPES.has(column.dataType))
        return `IFNULL(CAST(${ref} AS CHAR), 'NULL')`;
    return STRING_TYPES.has(column.dataType) ? `QUOTE(${ref})` : `QUOTE(CAST(${ref} AS CHAR))`;
}
/** Decimal integers only: they are written into statements. */
function integers(values) {
    for (const value of values)
        if (!/^\d+$/.test(value))
            throw new Error(`Not a bucket prefix: ${value}`);
    return values.join(', ');
}
/**
 * One side's reads of `table`'s rows in `database`. `table.columns` are production's, so both
 * sides hash the same columns in the same order; `key` is production's (readPrimaryKeys).
 */
function rowDiffSide(db, database, table, key) {
    const keyColumns = (key ?? []).map(name => table.columns.find(column => column.name === name) ?? { name, dataType: 'varchar', hashing: 'bytes' });
    const keyed = keyColumns.length > 0;
    const { high, low } = hashHalvesSql('s.r');
    const keyValues = keyColumns.map((column, i) => `, ${valueText(column)} AS kv${i}`).join('');
    const keyJson = keyed ? `, JSON_ARRAY(${keyColumns.map(valueText).join(', ')}) AS k` : '';
    const row = `CONCAT('(', CONCAT_WS(', ', ${table.columns.map(displayText).join(', ')}), ')')`;
    // Computed once per row in the inner query; the outer one derives h from r or k.
    const inner = `SELECT ${rowHashSql(table.columns)} AS r, ${row} AS rowtext${keyJson}${keyValues} FROM ${qualified(database, table.name)}`;
    const source = `(SELECT CAST(CONV(SUBSTRING(${keyed ? 'MD5(i.k)' : 'i.r'}, 1, 8), 16, 10) AS UNSIGNED) AS h, i.* FROM (${inner}) AS i) AS s`;
    const bucket = (depth) => `(s.h >> ${reads/* ROW_HASH_BITS */.r - depth})`;
    const within = (depth, prefixes) => prefixes.length === 0 ? 'WHERE FALSE' : `WHERE ${bucket(depth)} IN (${integers(prefixes)})`;
    return {
        async estimateRows() {
            const [row] = await db.query(`SELECT CAST(TABLE_ROWS AS CHAR) AS n, CAST(DATA_LENGTH AS CHAR) AS bytes FROM information_schema.TABLES
         WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?`, [database, table.name]);
            return Math.max(0, Number(row?.n ?? 0), Number(row?.bytes ?? 0) / MIN_ROW_BYTES);
        },
        async aggregates(depth, parent) {
            const rows = await db.query(`SELECT CAST(${bucket(depth)} AS CHAR) AS bucket, COUNT(*) AS n, CAST(SUM(${high}) AS CHAR) AS high,
                CAST(SUM(${low}) AS CHAR) AS low
         FROM ${source} ${parent ? within(parent.depth, parent.prefixes) : ''}
         GROUP BY ${bucket(depth)}`);
            return rows.map(row => ({ bucket: row.bucket, rows: Number(row.n), high: row.high, low: row.low }));
        },
        async hashes(depth, prefixes) {
            const rows = await db.query(`SELECT s.r AS hash, CAST(COUNT(*) AS CHAR) AS n${keyed ? ', s.k AS k' : ''}
         FROM ${source} ${within(depth, prefixes)}
         GROUP BY s.r${keyed ? ', s.k' : ''}`);
            return rows.map(row => {
                const hash = { hash: row.hash, n: row.n };
                if (keyed) {
                    hash.key = row.k;
                    hash.values = JSON.parse(row.k);
                }
                return hash;
            });
        },
        async firstRows(depth, prefixes, limit) {
            // verification/row-diff.ts compareKeys' order: integers by value first, then text byte by byte, NULL last.
            const order = keyColumns.flatMap((_, i) => {
                const v = `s.kv${i}`;
                return [
                    `(${v} IS NULL)`,
                    `(${v} NOT REGEXP '^-?[0-9]+$')`,
                    `CASE WHEN ${v} REGEXP '^-?[0-9]+$' THEN CAST(${v} AS DECIMAL(65, 0)) END`,
                    `CAST(${v} AS BINARY)`
                ];
            });
            const rows = await db.query(`SELECT s.k AS k, s.r AS hash FROM ${source} ${within(depth, prefixes)}
         ORDER BY ${[...order, 'CAST(s.r AS BINARY)'].join(', ')}
         LIMIT ${Math.max(0, Math.floor(limit))}`);
            return rows.map(row => ({ values: JSON.parse(row.k), hash: row.hash }));
        },
        async rowTexts(hashes) {
            for (const hash of hashes)
                if (!/^[0-9a-f]{32}$/.test(hash))
                    throw new Error(`Not a row hash: ${hash}`);
            if (hashes.length === 0)
                return new Map();
            const rows = await db.query(`SELECT s.r AS hash, MIN(s.rowtext) AS \`row\` FROM ${source}
         WHERE s.r IN (${hashes.map(hash => `'${hash}'`).join(', ')}) GROUP BY s.r`);
            return new Map(rows.map(row => [row.hash, row.row]));
        }
    };
}

;// CONCATENATED MODULE: ./src/engines/mysql/sequence-queries.ts


async function readSequences(db, database, marker) {
    const names = await db.query(`SELECT TABLE_NAME AS \`s\`, COALESCE(ENGINE, '') AS \`engine\` FROM information_schema.TABLES
     WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE = 'SEQUENCE' AND TABLE_NAME <> ? ORDER BY TABLE_NAME`, [marker]);
    const sequences = [];
    for (const { s, engine } of names) {
        const [row] = await db.query(`SELECT CAST(next_not_cached_value AS CHAR) AS \`next\`, CAST(minimum_value AS CHAR) AS \`minimum\`,
              CAST(maximum_value AS CHAR) AS \`maximum\`, CAST(start_value AS CHAR) AS \`start\`,
              CAST(increment AS CHAR) AS \`increment\`, CAST(cache_size AS CHAR) AS \`cache\`,
              CAST(cycle_option AS CHAR) AS \`cycle\`
       FROM ${qualified(database, s)}`);
        if (!row)
            continue;
        sequences.push({
            name: s,
            engine: engine ?? '',
            next: row.next,
            minimum: row.minimum,
            maximum: row.maximum,
            start: row.start,
            increment: row.increment,
            cache: row.cache,
            cycle: row.cycle
        });
    }
    return sequences;
}
/** A sequence's definition, as a schema object (its next value is a counter, not schema). */
function sequenceSchemaObject(sequence) {
    const definition = [
        `engine: ${sequence.engine}`,
        `minimum: ${sequence.minimum}`,
        `maximum: ${sequence.maximum}`,
        `start: ${sequence.start}`,
        `increment: ${sequence.increment}`,
        `cache: ${sequence.cache}`,
        `cycle: ${sequence.cycle === '1' ? 'yes' : 'no'}`
    ].join('; ');
    return { kind: 'sequence', name: displayIdentifier(sequence.name), definition };
}
/** A sequence's next value, as a counter: next_not_cached_value is what nextval returns next after a restart. */
function sequenceCounter(sequence) {
    return { name: displayIdentifier(sequence.name), lastValue: sequence.next, isCalled: false, increment: sequence.increment };
}

;// CONCATENATED MODULE: ./src/engines/mysql/database.ts










/**
 * The only module that talks to MySQL and MariaDB over the wire (through mysql2): Lazarus's own
 * sessions, with their settings pinned, production's read-only consistent snapshot, and the
 * brief global read lock that makes the dump's snapshot the same as Lazarus's.
 */
/** How long close() waits for the server to say goodbye before it drops the socket. */
const CLOSE_GRACE_MS = 2000;
/**
 * A server error's number (mysql2's `errno`), for the few Lazarus tells apart. Names as in
 * MySQL's and MariaDB's error lists (mysqld_error.h).
 */
const ER = {
    DBACCESS_DENIED: 1044,
    ACCESS_DENIED: 1045,
    BAD_DB: 1049,
    DB_CREATE_EXISTS: 1007,
    UNKNOWN_CHARACTER_SET: 1115,
    LOCK_WAIT_TIMEOUT: 1205,
    SPECIFIC_ACCESS_DENIED: 1227,
    UNKNOWN_COLLATION: 1273
};
const snapshots = new Map();
let nextSnapshot = 1;
/**
 * The session the run hands back, as this engine opened it: MySQL's modules read through their
 * own sessions only (the run holds them as the seam's SeamSession).
 */
function ownSession(session) {
    if (!(session instanceof MysqlSession))
        throw new Error('The MySQL/MariaDB engine reads through its own sessions');
    return session;
}
class MysqlSession {
    connection;
    target;
    role;
    flavour;
    encrypted;
    static limits = { lockTimeoutSeconds: 30, serverTimeoutSeconds: 300 };
    closed = false;
    /** The snapshot lock this session took (beginSnapshot), released by releaseSnapshotLock. */
    lock;
    inSnapshot = false;
    factsRead;
    constructor(connection, target, role, flavour, 
    /** Whether the connection is encrypted (TLS). */
    encrypted) {
        this.connection = connection;
        this.target = target;
        this.role = role;
        this.flavour = flavour;
        this.encrypted = encrypted;
    }
    static async open(target, role) {
        return MysqlSession.connect(target, role, (...session) => new MysqlSession(...session));
    }
    /** Opens a session of the class `make` builds (MysqlSession, or maintenance.ts's handle), its settings pinned. */
    static async connect(target, role, make) {
        const { connection, encrypted } = await connectTo(target);
        try {
            const [rows] = await connection.query('SELECT VERSION() AS version');
            const flavour = /mariadb/i.test(String(rows[0].version)) ? 'mariadb' : 'mysql';
            for (const sql of sessionSettingsSql(role, flavour))
                await connection.query(sql);
            return make(connection, target, role, flavour, encrypted);
        }
        catch (error) {
            connection.destroy();
            throw explain(error, target, role);
        }
    }
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    async query(sql, params = []) {
        try {
            const [rows] = await this.connection.query(sql, params);
            return rows;
        }
        catch (error) {
            // A statement on a session Lazarus closed never settles: whoever closed it reports why.
            if (this.closed)
                return new Promise(() => undefined);
            throw explain(error, this.target, this.role);
        }
    }
    /**
     * Runs a read inside production's snapshot under a savepoint that is then rolled back: the
     * metadata locks the read took on its tables go with it (as mysqldump does), so a long run
     * never holds up production's DDL, nor the writes that would queue behind that DDL. Outside a
     * transaction, a plain read.
     */
    async readAndForget(read) {
        if (!this.inSnapshot)
            return read();
        await this.query('SAVEPOINT lazarus_read');
        try {
            return await read();
        }
        finally {
            await this.query('ROLLBACK TO SAVEPOINT lazarus_read');
        }
    }
    /** The settings are pinned when the session opens; pinning again is harmless. */
    async pinSettings() {
        for (const sql of sessionSettingsSql(this.role, this.flavour))
            await this.query(sql);
    }
    /**
     * Takes the brief global read lock on a connection of its own (FLUSH TABLES WITH READ LOCK:
     * writes and commits wait, reads go on), then starts this session's consistent snapshot. Other
     * sessions join it while the lock holds; the dump starts its own; releaseSnapshotLock() ends
     * the lock. With no commit possible in between, every snapshot started under it sees the same
     * data. Needs the RELOAD privilege.
     */
    async beginSnapshot() {
        if (this.role !== 'production')
            throw new Error('Only production sessions take the snapshot lock');
        const { connection } = await connectTo(this.target);
        const id = `lazarus-snapshot-${nextSnapshot++}`;
        const lock = { id, connection, held: false, askedAt: 0 };
        connection.on('error', error => (lock.lost ??= (0,errors/* messageOf */.bD)(error)));
        connection.on('end', () => (lock.lost ??= 'the connection ended'));
        try {
            // Idle while the dump starts: a lowered wait_timeout must not end it (and with it the lock) early.
            await connection.query('SET SESSION wait_timeout = 31536000');
            await connection.query(`SET SESSION lock_wait_timeout = ${Math.max(1, Math.ceil(MysqlSession.limits.lockTimeoutSeconds))}`);
            // Writers wait from the moment the lock is asked for (it blocks them while it waits for running statements).
            lock.askedAt = performance.now();
            await connection.query('FLUSH TABLES WITH READ LOCK');
        }
        catch (error) {
            connection.destroy();
            throw lockError(error, this.target, MysqlSession.limits.lockTimeoutSeconds);
        }
        lock.held = true;
        snapshots.set(id, lock);
        this.lock = lock;
        try {
            await this.startSnapshot(lock);
        }
        catch (error) {
            await this.releaseSnapshotLock().catch(() => undefined);
            throw error;
        }
        return id;
    }
    /** Starts this session's consistent snapshot while the lock `id` holds. */
    async joinSnapshot(snapshotId) {
        const lock = snapshots.get(snapshotId);
        if (!lock)
            throw new Error(`No snapshot ${snapshotId} to join`);
        await this.startSnapshot(lock);
    }
    async startSnapshot(lock) {
        if (!lock.held)
            throw new Error(`Snapshot ${lock.id} can no longer be joined: its lock was released`);
        // One statement under the lock: the isolation level is pinned with the session's settings.
        await this.query('START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY');
        this.inSnapshot = true;
        // The lock must still hold now that the snapshot exists: released (or lost) meanwhile, the
        // snapshot could hold commits the dump's does not.
        if (!lock.held || lock.lost) {
            throw new errors/* UserError */.yo(`The global read lock on production (${describe(this.target)}) ended while Lazarus's snapshot began` +
                `${lock.lost ? ` (${lock.lost})` : ''}: nothing proves that every session sees the same data. Run again.`);
        }
    }
    /**
     * Ends the global read lock. Throws when its connection ended before (the server ended it, the
     * network dropped it): the lock was gone from then on, so a snapshot started after that could
     * see other data than the others, and no verdict may rest on them.
     */
    async releaseSnapshotLock() {
        const lock = this.lock;
        if (!lock || !lock.held)
            return undefined;
        // Kept in the map, released: a late joinSnapshot is told why it cannot join.
        lock.held = false;
        let failure = lock.lost;
        if (!failure) {
            try {
                await lock.connection.query('UNLOCK TABLES');
            }
            catch (error) {
                failure = lock.lost ?? (0,errors/* messageOf */.bD)(error);
            }
        }
        const heldSeconds = (performance.now() - lock.askedAt) / 1000;
        await endConnection(lock.connection);
        if (failure) {
            throw new errors/* UserError */.yo(`Lost production's global read lock (${describe(this.target)}) before the dump's snapshot was known to have begun ` +
                `(${failure}): nothing proves that the dump and Lazarus saw the same data. Check that the server keeps ` +
                `idle connections (wait_timeout) and run again.`);
        }
        return heldSeconds;
    }
    async facts() {
        if (this.factsRead)
            return this.factsRead;
        const [row] = await this.query(this.flavour === 'mysql'
            ? 'SELECT VERSION() AS version, @@server_uuid AS uuid, @@hostname AS hostname, @@port AS port, @@datadir AS datadir'
            : 'SELECT VERSION() AS version, @@hostname AS hostname, @@port AS port, @@datadir AS datadir');
        const version = String(row.version);
        const major = Number(/^(\d+)/.exec(version)?.[1] ?? 0);
        // One server always reports the same values; MariaDB has no server_uuid, but no two running
        // servers share a host name, port and data directory.
        const instance = this.flavour === 'mysql' && row.uuid
            ? { server_uuid: String(row.uuid) }
            : { hostname: String(row.hostname), port: String(row.port), datadir: String(row.datadir) };
        this.factsRead = {
            version,
            major,
            product: this.flavour === 'mariadb' ? 'MariaDB' : 'MySQL',
            instance,
            encrypted: this.encrypted
        };
        return this.factsRead;
    }
    async databaseDefaults() {
        const [row] = await this.query(`SELECT DEFAULT_CHARACTER_SET_NAME AS characterSet, DEFAULT_COLLATION_NAME AS collation
       FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = DATABASE()`);
        return { characterSet: String(row.characterSet), collation: String(row.collation) };
    }
    async collations() {
        const rows = await this.query('SELECT COLLATION_NAME AS name FROM information_schema.COLLATIONS');
        return rows.map(row => String(row.name)).sort();
    }
    /**
     * A table of the scratch database that is not the user's: the marker maintenance.ts creates on
     * servers without database comments, named as the database itself (lazarus_<run id>_...).
     */
    get markerTable() {
        return this.role === 'cleanroom' && this.target.database.startsWith('lazarus_') ? this.target.database : '';
    }
    outsideSnapshot(tables) {
        return outsideSnapshot(tables);
    }
    async listTables() {
        const rows = await this.readAndForget(() => this.query(LIST_TABLES_SQL, [this.markerTable]));
        return tablesFromRows(rows, this.target.reportAs);
    }
    /**
     * Row counts (and checksums) of several tables in one statement (a UNION ALL): for many small
     * tables the round trips would take the time. Should it fail, each table is read on its own, so
     * that the error lands on the table that has it.
     */
    async tablesFigures(tables, withChecksum) {
        if (tables.length === 0)
            return [];
        const one = (table) => withChecksum ? checksumSql(this.target.database, table) : countSql(this.target.database, table);
        if (tables.length > 1) {
            const sql = tables.map((table, index) => `SELECT ${index} AS i, q.* FROM (${one(table)}) AS q`).join('\nUNION ALL\n');
            try {
                const rows = await this.readAndForget(() => this.query(sql));
                const byIndex = new Map(rows.map(row => [Number(row.i), row]));
                return tables.map((_, index) => figuresOf(byIndex.get(index), withChecksum));
            }
            catch (error) {
                if (error instanceof errors/* UserError */.yo)
                    throw error;
            }
        }
        const figures = [];
        for (const table of tables) {
            try {
                const [row] = await this.readAndForget(() => this.query(one(table)));
                figures.push(figuresOf(row, withChecksum));
            }
            catch (error) {
                // A lock wait or a lost server is the run's error; anything else is this table's.
                if (error instanceof errors/* UserError */.yo)
                    throw error;
                figures.push({ error: (0,errors/* messageOf */.bD)(error) });
            }
        }
        return figures;
    }
    async readSchema() {
        return this.readAndForget(async () => [
            ...(await readSchema(this, this.flavour, this.target.database, this.markerTable)),
            ...(await readSequences(this, this.target.database, this.markerTable)).map(sequenceSchemaObject)
        ]);
    }
    /** AUTO_INCREMENT counters and MariaDB's sequences' next values (sequence-queries.ts). */
    async readCounters() {
        return this.readAndForget(async () => [
            ...(await readCounters(this, this.markerTable)),
            ...(await readSequences(this, this.target.database, this.markerTable)).map(sequenceCounter)
        ]);
    }
    async countersBehindData() {
        return this.readAndForget(() => readCountersBehindData(this, this.target.database, this.markerTable));
    }
    /** The drill's catalog (drill-catalog.ts), inside the snapshot; `rowCounts` by tableKey. */
    async drillCatalog(rowCounts) {
        const tables = await this.listTables();
        return this.readAndForget(() => readDrillCatalog(this, tables, rowCounts, table_name/* tableKey */.ih, this.flavour));
    }
    async primaryKeys() {
        const keys = await this.readAndForget(() => readPrimaryKeys(this, this.markerTable));
        return new Map([...keys].map(([name, columns]) => [(0,table_name/* tableKey */.ih)({ schema: this.target.reportAs, name }), columns]));
    }
    /** One side's reads of `table` for the row diff (inside the snapshot on production). */
    rowDiffSide(table, key) {
        const side = rowDiffSide(this, this.target.database, table, key);
        const wrap = (read) => (...args) => this.readAndForget(() => read(...args));
        return {
            estimateRows: wrap(side.estimateRows),
            aggregates: wrap(side.aggregates),
            hashes: wrap(side.hashes),
            firstRows: wrap(side.firstRows),
            rowTexts: wrap(side.rowTexts)
        };
    }
    async ping() {
        await this.connection.query('SELECT 1');
    }
    /** Ends the session (and its snapshot lock, if it still holds one); never waits longer than CLOSE_GRACE_MS. */
    async close() {
        if (this.closed)
            return;
        await this.releaseSnapshotLock().catch(() => undefined);
        this.closed = true;
        await endConnection(this.connection);
    }
    abandon() {
        this.closed = true;
        this.connection.destroy();
        if (this.lock?.held) {
            this.lock.held = false;
            this.lock.connection.destroy();
        }
    }
}
function figuresOf(row, withChecksum) {
    return {
        rows: Number(row.n),
        checksum: withChecksum ? combineChecksum(String(row.n), String(row.high ?? 0), String(row.low ?? 0)) : undefined
    };
}
async function endConnection(connection) {
    let timer;
    const late = new Promise(resolve => (timer = setTimeout(() => resolve('late'), CLOSE_GRACE_MS)));
    const ended = await Promise.race([
        connection.end().then(() => 'ended', () => 'ended'),
        late
    ]);
    clearTimeout(timer);
    if (ended === 'late')
        connection.destroy();
}
/**
 * The settings every Lazarus session runs under, on both sides, so that text forms and checksums
 * are computed alike:
 * - time_zone '+00:00': TIMESTAMP values read in UTC whatever the server's zone;
 * - sql_mode fixed to STRICT_TRANS_TABLES,NO_ENGINE_SUBSTITUTION: no ANSI_QUOTES (backticks
 *   quote, '...' are strings), no PAD_CHAR_TO_FULL_LENGTH (CHAR values as stored, without pad),
 *   no NO_BACKSLASH_ESCAPES (the driver escapes parameters with backslashes), no PIPES_AS_CONCAT,
 *   no MariaDB ORACLE or EMPTY_STRING_IS_NULL: none of the modes that change how a read is
 *   parsed or what it returns; the server's or the account's defaults may have any of them;
 * - utf8mb4 for everything sent and returned;
 * - group_concat_max_len large: schema reads aggregate long definitions;
 * - no statement time limit (max_execution_time on MySQL, max_statement_time on MariaDB), and
 *   long idle and network timeouts, which a DBA may have lowered and which would cut a checksum
 *   of a large table or the snapshot's session while the dump runs; Lazarus bounds its own waits;
 * - sql_select_limit and max_join_size at their maximum: an account default would cut results;
 * - MySQL 8: information_schema_stats_expiry = 0, or AUTO_INCREMENT would be read from a cache
 *   (in a versioned comment: MySQL 5.7 has no such variable, and no such cache);
 * - production: every transaction read-only and REPEATABLE READ (what a consistent snapshot needs:
 *   set here, before the snapshot lock, so that only START TRANSACTION runs under it), and lock
 *   waits bounded by lock-timeout-seconds.
 */
function sessionSettingsSql(role, flavour) {
    const settings = [
        "SET SESSION time_zone = '+00:00'",
        "SET SESSION sql_mode = 'STRICT_TRANS_TABLES,NO_ENGINE_SUBSTITUTION'",
        'SET NAMES utf8mb4',
        'SET SESSION group_concat_max_len = 4294967295',
        'SET SESSION sql_select_limit = DEFAULT',
        'SET SESSION max_join_size = 18446744073709551615',
        'SET SESSION wait_timeout = 31536000',
        'SET SESSION net_read_timeout = 3600',
        'SET SESSION net_write_timeout = 3600',
        flavour === 'mysql'
            ? 'SET SESSION max_execution_time = 0 /*!80003 , information_schema_stats_expiry = 0 */'
            : 'SET SESSION max_statement_time = 0'
    ];
    if (role === 'production') {
        settings.push(
        // A consistent snapshot is REPEATABLE READ's; an account default of another level would not be one.
        'SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ', 'SET SESSION TRANSACTION READ ONLY', `SET SESSION lock_wait_timeout = ${Math.max(1, Math.ceil(MysqlSession.limits.lockTimeoutSeconds))}`);
    }
    return settings;
}
/**
 * Connects as the description says. TLS as the client programs' --ssl-mode means it: preferred
 * tries TLS without checking the certificate and falls back to plain only when the server offers
 * no TLS at all; required encrypts without checking; verify-ca checks the chain; verify-identity
 * also the host name.
 */
async function connectTo(target) {
    const attempts = target.tls.mode === 'disable'
        ? [undefined]
        : target.tls.mode === 'preferred'
            ? [{ rejectUnauthorized: false }, undefined]
            : target.tls.mode === 'required'
                ? [{ rejectUnauthorized: false, ...(target.tls.ca ? { ca: readCa(target) } : {}) }]
                : [
                    {
                        rejectUnauthorized: true,
                        ...(target.tls.ca ? { ca: readCa(target) } : {}),
                        ...(target.tls.mode === 'verify-ca' ? { checkServerIdentity: () => undefined } : {})
                    }
                ];
    let lastError;
    for (const ssl of attempts) {
        try {
            const connection = await promise.createConnection({
                host: target.host,
                port: target.port,
                user: target.user,
                password: target.password ?? '',
                database: target.database,
                ssl,
                connectTimeout: target.connectTimeoutSeconds * 1000,
                enableKeepAlive: true,
                keepAliveInitialDelay: Math.max(1, Math.floor(MysqlSession.limits.serverTimeoutSeconds / 3)) * 1000,
                supportBigNumbers: true,
                bigNumberStrings: true,
                dateStrings: true,
                decimalNumbers: false,
                multipleStatements: false,
                charset: 'UTF8MB4_GENERAL_CI',
                // Every value as text: information_schema's binary-typed columns would come back as Buffers.
                typeCast: (field, next) => {
                    if (field.type === 'BLOB' || field.type === 'VAR_STRING' || field.type === 'STRING') {
                        const buffer = field.buffer();
                        return buffer === null ? null : buffer.toString('utf8');
                    }
                    return next();
                }
            });
            // An idle connection whose server goes away emits 'error'; without a listener that would crash the process.
            connection.on('error', () => undefined);
            return { connection, encrypted: ssl !== undefined };
        }
        catch (error) {
            lastError = error;
            // preferred: plain only when the server has no TLS to offer; any other failure is the answer.
            if (!/does not support secure connection|HANDSHAKE_NO_SSL_SUPPORT/i.test(`${codeOf(error)} ${(0,errors/* messageOf */.bD)(error)}`))
                break;
        }
    }
    throw connectionError(target, lastError);
}
function readCa(target) {
    return (0,external_node_fs_.readFileSync)(target.tls.ca, 'utf8');
}
function codeOf(error) {
    return String(error.code ?? '');
}
function errnoOf(error) {
    return error.errno;
}
/** Network failures: the connection or the server went away. */
function isConnectionLoss(error) {
    return /PROTOCOL_CONNECTION_LOST|ECONNRESET|EPIPE|ETIMEDOUT|PROTOCOL_SEQUENCE_TIMEOUT|ER_SERVER_SHUTDOWN|ER_CONNECTION_KILLED/.test(codeOf(error));
}
/** The server's side of an error, named: which server, and what to do. Other errors pass unchanged. */
function explain(error, target, role) {
    if (error instanceof errors/* UserError */.yo)
        return error;
    const where = `${role === 'production' ? 'production' : 'the clean room'} (${describe(target)}, '${target.inputName}')`;
    if (errnoOf(error) === ER.LOCK_WAIT_TIMEOUT) {
        return new errors/* UserError */.yo(`Lazarus waited ${MysqlSession.limits.lockTimeoutSeconds} s for a lock on ${where}: ${(0,errors/* messageOf */.bD)(error)}. ` +
            `Another session holds a lock that blocks reading (ALTER TABLE, LOCK TABLES ... WRITE): run Lazarus when no ` +
            `such lock is held, or raise 'lock-timeout-seconds' to wait longer.`);
    }
    if (isConnectionLoss(error)) {
        return new errors/* UserError */.yo(`Lost the connection to ${where}: ${(0,errors/* messageOf */.bD)(error)}. Check that the server stays up and reachable (its error log says why).`);
    }
    return error;
}
/** Why FLUSH TABLES WITH READ LOCK failed, and what to do. */
function lockError(error, target, seconds) {
    const errno = errnoOf(error);
    if (errno === ER.SPECIFIC_ACCESS_DENIED || errno === ER.DBACCESS_DENIED) {
        return new errors/* UserError */.yo(`User '${target.user}' on production (${describe(target)}) may not take the brief global read lock that makes ` +
            `the dump and Lazarus's figures see the same data (FLUSH TABLES WITH READ LOCK needs the RELOAD privilege): ` +
            `run GRANT RELOAD ON *.* TO '${target.user}'@'<host>' there.`);
    }
    if (errno === ER.LOCK_WAIT_TIMEOUT) {
        return new errors/* UserError */.yo(`Lazarus waited ${seconds} s for the brief global read lock on production (${describe(target)}): a long query, ` +
            `a LOCK TABLES or a running DDL holds tables open. Run Lazarus when none runs, or raise 'lock-timeout-seconds'.`);
    }
    return explain(error, target, 'production');
}
/** node's codes for a server certificate that failed verification. */
const CERTIFICATE_ERRORS = /CERT|SELF_SIGNED|UNABLE_TO_(GET_ISSUER|VERIFY)|ERR_TLS_CERT_ALTNAME_INVALID|HOSTNAME_MISMATCH|UNABLE_TO_GET_CRL|CRL/;
/** Turns a failed connection into one line that says what to fix. */
function connectionError(target, error) {
    const code = codeOf(error);
    const errno = errnoOf(error);
    const message = (0,errors/* messageOf */.bD)(error);
    const host = target.host.includes(':') ? `[${target.host}]` : target.host;
    const where = `${host}:${target.port}`;
    const input = `'${target.inputName}'`;
    const passwordInput = `'${target.inputName.replace(/-url$/, '-password')}'`;
    if (errno === ER.ACCESS_DENIED) {
        return new errors/* UserError */.yo(`Access denied for user '${target.user}' at ${where} (${input}): check the password (in ${passwordInput} or the URL), ` +
            `the user name, and the host the account may connect from.`);
    }
    if (errno === ER.BAD_DB)
        return new errors/* UserError */.yo(`Database '${target.database}' does not exist at ${where}: fix the database name in ${input}.`);
    if (errno === ER.DBACCESS_DENIED) {
        return new errors/* UserError */.yo(`User '${target.user}' may not use database '${target.database}' at ${where} (${input}): ${message}.`);
    }
    switch (code) {
        case 'ECONNREFUSED':
            return new errors/* UserError */.yo(`Connection refused at ${where} (${input}): check the host and port, and that the server is running.`);
        case 'ENOTFOUND':
        case 'EAI_AGAIN':
            return new errors/* UserError */.yo(`Host '${target.host}' in ${input} could not be resolved: check the host name.`);
        case 'EHOSTUNREACH':
        case 'ENETUNREACH':
            return new errors/* UserError */.yo(`No route to ${where} (${input}): check the host, and that the runner can reach its network.`);
        case 'ETIMEDOUT':
            return new errors/* UserError */.yo(`No answer from ${where} within ${target.connectTimeoutSeconds} s (${input}): check the host, the port, and that a firewall lets the runner through.`);
    }
    if (/does not support secure connection|HANDSHAKE_NO_SSL_SUPPORT/i.test(`${code} ${message}`)) {
        return new errors/* UserError */.yo(`The server at ${where} does not accept TLS connections, but ${input} has ssl-mode=${target.tls.mode}: ` +
            `enable TLS on the server, or use ssl-mode=preferred or disable.`);
    }
    if (CERTIFICATE_ERRORS.test(code)) {
        return new errors/* UserError */.yo(`The server's certificate at ${where} failed verification under ssl-mode=${target.tls.mode} (${input}): ${message}. ` +
            `Check ssl-ca (the CA that signed the server's certificate)` +
            `${target.tls.mode === 'verify-identity' ? ' and that the certificate names the host' : ''}, or choose an ssl-mode that checks less.`);
    }
    if (errno !== undefined)
        return new errors/* UserError */.yo(`The server at ${where} refused the connection (${input}): ${message}.`);
    return new errors/* UserError */.yo(`Could not connect to ${where} (${input}): ${message}. Check that a MySQL or MariaDB server listens at that host and port.`);
}

;// CONCATENATED MODULE: ./src/engines/mysql/drill-rewriters.ts

/** `name` as the dump writes it: backquoted, a backquote doubled. */
function drill_rewriters_quoteName(name) {
    return `\`${name.replace(/`/g, '``')}\``;
}
/**
 * The head of an INSERT statement mysqldump writes: `INSERT INTO `t` VALUES` or, for a table with
 * invisible or generated columns, `INSERT INTO `t` (`a`, `b`) VALUES`, followed by the tuples on
 * the same line (MySQL) or on the next ones (MariaDB 10.11+, a tuple a line). undefined for
 * another line.
 */
function parseInsertHead(line) {
    const match = /^INSERT INTO (`(?:[^`]|``)*`)(?: \(((?:`(?:[^`]|``)*`(?:, ?)?)+)\))? VALUES ?/.exec(line);
    if (!match)
        return undefined;
    const unquote = (quoted) => quoted.slice(1, -1).replace(/``/g, '`');
    const columns = match[2] === undefined ? undefined : [...match[2].matchAll(/`(?:[^`]|``)*`/g)].map(found => unquote(found[0]));
    return { table: unquote(match[1]), ...(columns ? { columns } : {}), head: match[0], rest: line.slice(match[0].length) };
}
/**
 * Splits what follows an INSERT head on one line into its tuples and what separates them:
 * mysqldump writes every string on one line (a line break in a value is `\n`), so a line holds
 * whole tuples. Strings are '...' with backslash escapes (and '' for a quote); a value is
 * otherwise NULL, a number, a hex or bit literal, or a charset-introduced string. Returns
 * undefined for text it cannot read that way, which the rewriters then leave alone.
 */
function parseTuples(text) {
    const tuples = [];
    const separators = [];
    let at = 0;
    for (;;) {
        const gap = /^[ \t\r]*/.exec(text.slice(at))[0];
        if (text[at + gap.length] !== '(')
            return undefined;
        at += gap.length;
        const start = at;
        at++;
        const values = [];
        let value = '';
        for (;;) {
            if (at >= text.length)
                return undefined;
            const char = text[at];
            if (char === "'") {
                let end = at + 1;
                for (; end < text.length; end++) {
                    if (text[end] === '\\')
                        end++;
                    else if (text[end] === "'") {
                        if (text[end + 1] === "'")
                            end++;
                        else
                            break;
                    }
                }
                if (end >= text.length)
                    return undefined;
                value += text.slice(at, end + 1);
                at = end + 1;
            }
            else if (char === ',' || char === ')') {
                values.push(value);
                value = '';
                at++;
                if (char === ')')
                    break;
            }
            else {
                value += char;
                at++;
            }
        }
        tuples.push({ text: text.slice(start, at), values });
        const separator = /^[ \t\r]*,[ \t\r]*/.exec(text.slice(at));
        if (!separator)
            break;
        // A separator at the end of the line: the statement goes on with the next line's tuples.
        if (at + separator[0].length === text.length)
            return { tuples, separators, end: separator[0] };
        separators.push(separator[0]);
        at += separator[0].length;
    }
    const end = text.slice(at);
    return /^[ \t\r]*;[ \t\r]*$/.test(end) ? { tuples, separators, end } : undefined;
}
/** Joins tuples back with the separators they had (the first's after the first tuple, and so on). */
function joinTuples(tuples, separators) {
    return tuples.map((tuple, i) => (i === 0 ? tuple : (separators[i - 1] ?? ',') + tuple)).join('');
}
/** The column names of a CREATE TABLE as the dump writes them, one a line: for INSERTs without a column list. */
function columnOf(line) {
    const match = /^ {2}(`(?:[^`]|``)*`) /.exec(line);
    return match ? match[1].slice(1, -1).replace(/``/g, '`') : undefined;
}
/**
 * Follows a dump's statements with the client's lexer (dump-lexer.ts) and tells each line's
 * place: the INSERT of which table a line belongs to, and the CREATE TABLE of which table. Only
 * lines that start between statements open either: a row's or a body's text never does.
 */
function dumpFollower() {
    const lex = dumpLexer('mariadb');
    let insertOf;
    let createOf;
    const columns = new Map();
    return (line) => {
        const facts = lex(line);
        const top = facts.startsStatement;
        const head = top ? parseInsertHead(line) : undefined;
        insertOf = head ? head.table : top ? undefined : insertOf;
        const create = top ? /^CREATE TABLE (`(?:[^`]|``)*`) \($/.exec(line) : undefined;
        if (create) {
            createOf = create[1].slice(1, -1).replace(/``/g, '`');
            columns.set(createOf, []);
        }
        else if (top) {
            createOf = undefined;
        }
        else if (createOf !== undefined && facts.before.mode === 'm') {
            const column = columnOf(line);
            if (column !== undefined)
                columns.get(createOf).push(column);
        }
        // A line that starts between statements belongs to the statement it opens, or to none.
        const place = {
            insert: head ? head.table : top ? undefined : insertOf,
            insertHead: head,
            create: create ? createOf : top ? undefined : createOf,
            columns
        };
        if (facts.after?.mode === 'T') {
            insertOf = undefined;
            createOf = undefined;
        }
        return place;
    };
}
/**
 * Runs `edit` over the target table's tuples until it has edited one, leaving every other line
 * alone. A statement whose only tuple is dropped is dropped whole (an INSERT without tuples does
 * not parse): MariaDB's head line is held until its first tuple's line says so.
 */
function tupleRewriter(table, edit) {
    const follow = dumpFollower();
    let done = false;
    let heldHead;
    let firstLineOfStatement = false;
    return {
        push(line) {
            const place = follow(line);
            if (done || place.insert !== table.name) {
                const held = heldHead;
                heldHead = undefined;
                return held === undefined ? [line] : [held, line];
            }
            const head = place.insertHead;
            const columns = head?.columns ?? place.columns.get(table.name);
            const prefix = head ? head.head : '';
            const rest = head ? head.rest : line;
            if (head && rest === '') {
                // MariaDB: the head alone; its tuples follow, one a line.
                heldHead = line;
                firstLineOfStatement = true;
                return [];
            }
            const parsed = parseTuples(rest);
            const held = heldHead;
            heldHead = undefined;
            const startsStatement = head !== undefined || firstLineOfStatement;
            firstLineOfStatement = false;
            if (!parsed)
                return held === undefined ? [line] : [held, line];
            const out = [];
            let changed = false;
            for (const tuple of parsed.tuples) {
                const replaced = changed ? undefined : edit.tuple(tuple, columns);
                if (replaced === undefined)
                    out.push(tuple.text);
                else {
                    changed = true;
                    out.push(...replaced);
                }
            }
            if (!changed)
                return held === undefined ? [line] : [held, line];
            done = true;
            if (out.length === 0) {
                // The line's only tuple went. Its statement ends here (;): the statement goes, if this line began it;
                // it goes on (,): the line goes.
                if (parsed.end.includes(';') && !startsStatement)
                    return held === undefined ? [';'] : [held, ';'];
                if (parsed.end.includes(';'))
                    return [];
                return held === undefined ? [] : [held];
            }
            const text = prefix + joinTuples(out, parsed.separators) + parsed.end;
            return held === undefined ? [text] : [held, text];
        },
        result() {
            const evidence = edit.evidence();
            return evidence === undefined ? undefined : { evidence };
        }
    };
}
/** "(id, name)=(1, 'Ann')": the values that tell a row apart, for the report. */
function rowEvidence(tuple, columns, keyColumns) {
    // A key names a row the way the report's row pins do; any other value is production's data,
    // which the log and report show only with show-values: a row without a key is named by place.
    const indexes = keyColumns && columns ? keyColumns.map(column => columns.indexOf(column)) : [];
    if (indexes.length === 0 || indexes.some(i => i < 0))
        return 'the first row';
    return `row (${indexes.map(i => columns[i]).join(', ')})=(${indexes.map(i => tuple.values[i]).join(', ')})`;
}
/** Drops the table's first row. */
function dropRowRewriter(table, keyColumns) {
    let evidence;
    return tupleRewriter(table, {
        tuple(tuple, columns) {
            evidence = `${rowEvidence(tuple, columns, keyColumns)} of ${drill_rewriters_quoteName(table.name)} dropped`;
            return [];
        },
        evidence: () => evidence
    });
}
/** Writes the table's first row twice (for a table without a unique key, where the copy restores). */
function duplicateRowRewriter(table) {
    let evidence;
    return tupleRewriter(table, {
        tuple(tuple, columns) {
            evidence = `${rowEvidence(tuple, columns, undefined)} of ${drill_rewriters_quoteName(table.name)} written twice`;
            return [tuple.text, tuple.text];
        },
        evidence: () => evidence
    });
}
/**
 * Changes one character of `column` in the first row where it has one to change: a number's last
 * digit, a string's first letter or digit (so that a date, a JSON document or an enum stays of its
 * kind), a hex literal's last digit. NULL and empty values are passed over.
 */
function mutateCellRewriter(table, column, keyColumns) {
    let evidence;
    return tupleRewriter(table, {
        tuple(tuple, columns) {
            const index = columns?.indexOf(column) ?? -1;
            if (index < 0)
                return undefined;
            const before = tuple.values[index];
            const after = mutateValue(before);
            if (after === undefined)
                return undefined;
            const values = [...tuple.values];
            values[index] = after;
            evidence = `one character of ${drill_rewriters_quoteName(column)} changed in ${rowEvidence(tuple, columns, keyColumns)} of ${drill_rewriters_quoteName(table.name)}`;
            return [`(${values.join(',')})`];
        },
        evidence: () => evidence
    });
}
/** One value with one character changed, or undefined when it has none to change (NULL, ''). */
function mutateValue(value) {
    if (/^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(value)) {
        const at = lastDigitIndex(value);
        return at < 0 ? undefined : value.slice(0, at) + nextDigit(value[at]) + value.slice(at + 1);
    }
    if (/^0x[0-9A-Fa-f]+$/.test(value)) {
        const last = value[value.length - 1];
        return value.slice(0, -1) + (last.toUpperCase() === 'F' ? '0' : (parseInt(last, 16) + 1).toString(16).toUpperCase());
    }
    const string = /^(_[a-z0-9]+ ?)?'(.*)'$/s.exec(value);
    if (string) {
        const body = string[2];
        for (let i = 0; i < body.length; i++) {
            if (body[i] === '\\') {
                i++;
                continue;
            }
            if (/[A-Za-z0-9]/.test(body[i])) {
                const replaced = /[0-9]/.test(body[i])
                    ? nextDigit(body[i])
                    : body[i] === 'z'
                        ? 'a'
                        : body[i] === 'Z'
                            ? 'A'
                            : String.fromCharCode(body.charCodeAt(i) + 1);
                return `${string[1] ?? ''}'${body.slice(0, i)}${replaced}${body.slice(i + 1)}'`;
            }
        }
    }
    return undefined;
}
function lastDigitIndex(value) {
    const mantissa = value.replace(/[eE].*$/, '');
    for (let i = mantissa.length - 1; i >= 0; i--)
        if (/\d/.test(mantissa[i]))
            return i;
    return -1;
}
function nextDigit(digit) {
    return String((Number(digit) + 1) % 10);
}
/** Drops every row of the table: its INSERT statements go whole. */
function truncateRewriter(table) {
    const follow = dumpFollower();
    let rows = 0;
    let statements = 0;
    return {
        push(line) {
            const place = follow(line);
            if (place.insert !== table.name)
                return [line];
            if (place.insertHead)
                statements++;
            const parsed = parseTuples(place.insertHead ? place.insertHead.rest : line);
            rows += parsed?.tuples.length ?? 0;
            return [];
        },
        result: () => statements === 0
            ? undefined
            : { evidence: `${rows} rows of ${drill_rewriters_quoteName(table.name)} dropped (${statements} INSERT statements)` }
    };
}
// ---------------------------------------------------------------------------------------------
// Schema operators: a line of the table's CREATE TABLE.
/**
 * Drops one line of the table's CREATE TABLE (an index or a constraint, one a line as SHOW
 * CREATE TABLE writes them), taking the comma off the line before when it was the last.
 */
function createTableLineRewriter(table, matches, what) {
    const follow = dumpFollower();
    // The line before, held while it ends with a comma: it loses it when the dropped line was the last definition.
    let held;
    let evidence;
    return {
        push(line) {
            const place = follow(line);
            const inside = evidence === undefined && place.create === table.name && !line.startsWith('CREATE TABLE ');
            const before = held;
            held = undefined;
            if (inside && matches(line)) {
                evidence = `${what} dropped from ${drill_rewriters_quoteName(table.name)}: ${line.trim().replace(/,$/, '')}`;
                return before === undefined ? [] : [line.endsWith(',') ? before : before.replace(/,$/, '')];
            }
            if (inside && line.endsWith(',')) {
                held = line;
                return before === undefined ? [] : [before];
            }
            return before === undefined ? [line] : [before, line];
        },
        result: () => (evidence === undefined ? undefined : { evidence })
    };
}
/** Drops an index: `KEY`, `UNIQUE KEY`, `FULLTEXT KEY` or `SPATIAL KEY` `name`. */
function dropIndexRewriter(table, index) {
    const key = `KEY ${drill_rewriters_quoteName(index)} (`;
    return createTableLineRewriter(table, line => ['  ', '  UNIQUE ', '  FULLTEXT ', '  SPATIAL '].some(prefix => line.startsWith(prefix + key)), `index ${drill_rewriters_quoteName(index)}`);
}
/** Drops a constraint: a FOREIGN KEY or CHECK `CONSTRAINT `name``, or a UNIQUE KEY of that name. */
function dropConstraintRewriter(table, constraint) {
    return createTableLineRewriter(table, line => line.startsWith(`  CONSTRAINT ${drill_rewriters_quoteName(constraint)} `) || line.startsWith(`  UNIQUE KEY ${drill_rewriters_quoteName(constraint)} (`), `constraint ${drill_rewriters_quoteName(constraint)}`);
}
/**
 * Moves the table's AUTO_INCREMENT counter (the CREATE TABLE's table options line) to `to`, by
 * default 1000 past production's: the next id the restored table would give differs. (A counter
 * set below the table's largest id would be raised back by the server on restore, unseen.)
 */
function resetAutoIncrementRewriter(table, to) {
    const follow = dumpFollower();
    let evidence;
    return {
        push(line) {
            const place = follow(line);
            if (evidence !== undefined || place.create !== table.name || !/^\) ENGINE=/.test(line))
                return [line];
            const current = /^(\) ENGINE=[A-Za-z0-9_]+ )AUTO_INCREMENT=(\d+)( .*)$/.exec(line);
            if (current) {
                const next = to ?? BigInt(current[2]) + 1000n;
                evidence = `AUTO_INCREMENT of ${drill_rewriters_quoteName(table.name)} changed from ${current[2]} to ${next}`;
                return [`${current[1]}AUTO_INCREMENT=${next}${current[3]}`];
            }
            const engine = /^(\) ENGINE=[A-Za-z0-9_]+)( .*)$/.exec(line);
            if (!engine)
                return [line];
            const next = to ?? 1000n;
            evidence = `AUTO_INCREMENT of ${drill_rewriters_quoteName(table.name)} set to ${next} (it had none)`;
            return [`${engine[1]} AUTO_INCREMENT=${next}${engine[2]}`];
        },
        result: () => (evidence === undefined ? undefined : { evidence })
    };
}

;// CONCATENATED MODULE: ./src/engines/mysql/drill-plan.ts


/**
 * The MySQL/MariaDB drill: which object of production's catalog each operator corrupts, and what
 * the verification must then report (the table whose figures differ, or the schema object, named
 * as schema-queries.ts names it). Pure. The names are drill/plan.ts's where the meaning is the
 * same; reset-auto-increment is this engine's own (the counter is part of a table here).
 */
const MYSQL_DRILL_OPERATORS = [
    'drop-row',
    'duplicate-row',
    'mutate-cell',
    'truncate',
    'drop-index',
    'drop-constraint',
    'reset-auto-increment'
];
const byBytes = (a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b));
// Why an operator has no target, in drill/plan.ts explainNoTarget's words where the meaning is the same.
const NO_ROWS = 'no table holds any rows';
/**
 * One operator aimed at the first fitting object (by name, so that a run is repeatable), or, when
 * nothing in the catalog can take it and still restore, why not: a data operator needs a table
 * with rows; duplicate-row a table without a key (a duplicate of a keyed row would fail the
 * restore on its key, which proves nothing about the verifier); mutate-cell a keyed table with a
 * column outside its key; the schema operators an object of their kind.
 */
function planMysqlDrill(operator, catalog) {
    const populated = catalog.tables.filter(entry => entry.rows > 0).sort((a, b) => byBytes(a.table.name, b.table.name));
    const tableTarget = (name) => `table ${displayIdentifier(name)}`;
    const none = (noTarget) => ({ operator, noTarget });
    switch (operator) {
        case 'drop-row': {
            const entry = populated.find(candidate => candidate.key) ?? populated[0];
            if (!entry)
                return none(NO_ROWS);
            return {
                operator,
                target: tableTarget(entry.table.name),
                table: entry.table,
                rewriter: dropRowRewriter({ name: entry.table.name }, entry.key)
            };
        }
        case 'duplicate-row': {
            const unique = new Set(catalog.indexes.filter(index => index.unique).map(index => index.table));
            const entry = populated.find(candidate => !candidate.key && !unique.has(candidate.table.name));
            if (!entry)
                return none(populated.length === 0
                    ? NO_ROWS
                    : 'every table with rows has a primary key or a unique index, which would reject a twin row');
            return {
                operator,
                target: tableTarget(entry.table.name),
                table: entry.table,
                rewriter: duplicateRowRewriter({ name: entry.table.name })
            };
        }
        case 'mutate-cell': {
            for (const entry of populated) {
                const column = entry.key && entry.columns.find(name => !entry.key.includes(name));
                if (!column)
                    continue;
                return {
                    operator,
                    target: `${tableTarget(entry.table.name)}, column ${displayIdentifier(column)}`,
                    table: entry.table,
                    rewriter: mutateCellRewriter({ name: entry.table.name }, column, entry.key)
                };
            }
            // The changed row is pinned by its key, and a key column changed would be a new row, not a changed one.
            if (populated.length === 0)
                return none(NO_ROWS);
            return none(populated.some(entry => entry.key)
                ? 'no table with rows has a column outside its key that the dump writes (generated columns are computed, not dumped)'
                : 'no table with rows has a key (a primary key, or a unique index over NOT NULL columns without prefixes)');
        }
        case 'truncate': {
            const entry = populated[0];
            if (!entry)
                return none(NO_ROWS);
            return {
                operator,
                target: tableTarget(entry.table.name),
                table: entry.table,
                rewriter: truncateRewriter({ name: entry.table.name })
            };
        }
        case 'drop-index': {
            // A plain index first: a unique one is also a constraint, and one a foreign key needs is recreated by the server.
            const constrained = new Set(catalog.constraints.map(constraint => `${constraint.table}\u0000${constraint.name}`));
            const indexes = [...catalog.indexes].sort((a, b) => byBytes(a.table, b.table) || byBytes(a.name, b.name));
            const index = indexes.find(candidate => !candidate.unique && !constrained.has(`${candidate.table}\u0000${candidate.name}`)) ??
                indexes[0];
            if (!index)
                return none('the schema has no index besides primary keys');
            const name = `${displayIdentifier(index.table)}.${displayIdentifier(index.name)}`;
            return {
                operator,
                target: `index ${name}`,
                object: { kind: 'index', name },
                rewriter: dropIndexRewriter({ name: index.table }, index.name)
            };
        }
        case 'drop-constraint': {
            const order = { 'FOREIGN KEY': 0, CHECK: 1, UNIQUE: 2 };
            const constraint = [...catalog.constraints].sort((a, b) => order[a.type] - order[b.type] || byBytes(a.table, b.table) || byBytes(a.name, b.name))[0];
            // MariaDB writes a column-level CHECK inside its column's definition: no line a rewriter could drop (drill-catalog.ts).
            if (!constraint)
                return none("the schema has no foreign key, unique or table-level check constraint (a primary key is its table's key, not a constraint the drill drops)");
            const name = `${displayIdentifier(constraint.table)}.${displayIdentifier(constraint.name)}`;
            return {
                operator,
                target: `constraint ${name}`,
                object: { kind: 'constraint', name },
                rewriter: dropConstraintRewriter({ name: constraint.table }, constraint.name)
            };
        }
        case 'reset-auto-increment': {
            const counter = [...catalog.counters].sort((a, b) => byBytes(a.table, b.table))[0];
            if (!counter)
                return none('no table has an AUTO_INCREMENT column');
            // Named as schema-queries.ts readCounters names it; compareSequences reports it as a sequence.
            const name = `${displayIdentifier(counter.table)}.${displayIdentifier(counter.column)}`;
            return {
                operator,
                target: `AUTO_INCREMENT of ${name}`,
                object: { kind: 'sequence', name },
                rewriter: resetAutoIncrementRewriter({ name: counter.table })
            };
        }
    }
    return none(`${operator} is not a drill operator of MySQL/MariaDB (${MYSQL_DRILL_OPERATORS.join(', ')})`);
}

;// CONCATENATED MODULE: ./src/engines/mysql/guards.ts


/**
 * Refuses a clean room that is production's server: Lazarus creates and restores databases in
 * the clean room, and nothing may ever be created or restored on production. Checked on the
 * URLs first (same host and port), then on what the servers say about themselves, which also
 * catches one server reached under two names. One server always reports the same instance
 * values (MySQL: server_uuid; MariaDB, which has no server_uuid: host name, port and data
 * directory), so values that differ prove two servers, and equal ones are refused.
 */
function assertSeparateServers(production, cleanroom, facts) {
    const refuse = (why) => new errors/* UserError */.yo(`The clean room (${describe(cleanroom)}) is the production server (${describe(production)}): ${why}. ` +
        `Point cleanroom-url at a separate, disposable server.`);
    if (sameHost(production.host, cleanroom.host) && production.port === cleanroom.port)
        throw refuse('same host and port');
    if (!facts)
        return;
    const [p, c] = [facts.production.instance, facts.cleanroom.instance];
    const names = Object.keys(p);
    const comparable = names.length > 0 && [...names].sort().join() === Object.keys(c).sort().join();
    if (comparable && names.every(name => p[name] === c[name])) {
        throw refuse(`both report ${names.map(name => `${name} ${p[name]}`).join(', ')}`);
    }
}
function sameHost(a, b) {
    const normal = (host) => host === 'localhost' || host === '::1' || host.startsWith('127.') ? 'loopback' : host.toLowerCase();
    return normal(a) === normal(b);
}

;// CONCATENATED MODULE: ./src/engines/mysql/grants.ts
/**
 * Reads `SHOW GRANTS` output (pure), to tell whether an account may create and drop Lazarus's
 * scratch databases, whichever way it holds the privileges: granted to it directly, or through
 * its roles.
 *
 * Where the roles' privileges come from:
 * - MySQL 8: `SHOW GRANTS` without FOR lists the effective privileges of the current user with
 *   its active roles (sql/auth/sql_authorization.cc: "SHOW GRANT shows all effective privileges
 *   using the currently active roles for the current user"; `SHOW GRANTS FOR x` without USING
 *   uses no roles). A role is active when it is a default role (SET DEFAULT ROLE), or with
 *   activate_all_roles_on_login; a role granted but not active gives nothing.
 * - MariaDB: `SHOW GRANTS` lists the current user's grants and those of its current role (the
 *   default role, SET DEFAULT ROLE): on 10.11 also those of the roles it inherits and of PUBLIC
 *   (`SHOW GRANTS FOR CURRENT_USER()` lists the user's alone). So that a release that lists less
 *   is still read whole, the run also reads `SHOW GRANTS FOR` each role
 *   information_schema.ENABLED_ROLES names (the current role and those it inherits) and, from
 *   10.11, `SHOW GRANTS FOR PUBLIC`.
 *
 * The lines: `GRANT <privileges> ON <level> TO <grantee>[ ...]`, the privileges `ALL PRIVILEGES`
 * or a comma-separated list (a column privilege with its columns in parentheses), the level
 * `*.*`, `` `db`.* `` (a LIKE pattern: `_` and `%` wildcards, `\_` a literal underscore) or a
 * table or routine; and role grants, `GRANT `r`@`%`,`s`@`%` TO ...` (MySQL) or `GRANT `r` TO ...`
 * (MariaDB). Anything else (REVOKE of a partial revoke, PROXY) gives no privilege here.
 */
/** An identifier as SHOW GRANTS writes one: `backquoted`, 'quoted' or bare. */
const IDENTIFIER = "(`(?:[^`]|``)*`|'(?:[^'\\\\]|''|\\\\.)*'|[A-Za-z0-9_$]+)";
const grants_ACCOUNT = `${IDENTIFIER}(?:@${IDENTIFIER})?`;
function unquote(identifier) {
    if (identifier.startsWith('`'))
        return identifier.slice(1, -1).replace(/``/g, '`');
    if (identifier.startsWith("'"))
        return identifier.slice(1, -1).replace(/''/g, "'").replace(/\\(.)/g, '$1');
    return identifier;
}
/** The privileges a GRANT line gives and where, or undefined for any other line. */
function parsePrivilegeGrant(line) {
    const head = /^GRANT /i.exec(line);
    if (!head)
        return undefined;
    // The privilege list: names of upper-case words, each perhaps with its columns, up to ' ON '.
    const privileges = [];
    let rest = line.slice(head[0].length);
    const column = IDENTIFIER.replace(/^\(/, '(?:');
    const privilege = new RegExp(`^([A-Za-z][A-Za-z_ ]*?)( \\((?:${column}(?:, ?)?)+\\))?(, ?| ON )`);
    for (;;) {
        const match = privilege.exec(rest);
        if (!match)
            return undefined;
        const name = match[1].toUpperCase();
        privileges.push(name === 'ALL PRIVILEGES' ? 'ALL' : name);
        rest = rest.slice(match[0].length);
        if (match[3] === ' ON ')
            break;
    }
    const level = new RegExp(`^(?:(?:TABLE|FUNCTION|PROCEDURE|PACKAGE BODY|PACKAGE) )?(\\*|${IDENTIFIER})(?:\\.(\\*|${IDENTIFIER}))? TO `, 'i').exec(rest);
    if (!level)
        return undefined;
    // `*` alone is the current database's level; Lazarus's session has none that could matter.
    if (level[3] === undefined)
        return level[1] === '*' ? undefined : { privileges, database: '*', object: unquote(level[1]) };
    return { privileges, database: level[1] === '*' ? '*' : unquote(level[1]), object: level[3] === '*' ? '*' : unquote(level[3]) };
}
/** The roles a role-grant line grants (`GRANT `r`@`%`,`s` TO ...`), or [] for any other line. */
function parseRoleGrant(line) {
    const match = new RegExp(`^GRANT (${grants_ACCOUNT}(?:, ?${grants_ACCOUNT})*) TO `, 'i').exec(line);
    if (!match)
        return [];
    const roles = [];
    const one = new RegExp(grants_ACCOUNT, 'g');
    for (const role of match[1].matchAll(one))
        roles.push(role[2] === undefined ? unquote(role[1]) : `${unquote(role[1])}@${unquote(role[2])}`);
    return roles;
}
/** Whether a database name matches a grant's database pattern (LIKE: `%` any run, `_` any one character, `\` escapes). */
function databaseMatches(pattern, name) {
    if (pattern === '*')
        return true;
    let regex = '';
    for (let i = 0; i < pattern.length; i++) {
        const char = pattern[i];
        if (char === '\\' && i + 1 < pattern.length)
            regex += grants_escapeRegExp(pattern[++i]);
        else if (char === '%')
            regex += '.*';
        else if (char === '_')
            regex += '.';
        else
            regex += grants_escapeRegExp(char);
    }
    return new RegExp(`^${regex}$`, 'i').test(name);
}
/**
 * Whether the grants give CREATE and DROP on a database named `name` (each may come from another
 * line: the global level, or a database pattern that matches it). Pure.
 */
function mayCreateAndDrop(grantLines, name) {
    const held = new Set();
    for (const line of grantLines) {
        const grant = parsePrivilegeGrant(line);
        if (!grant || grant.object !== '*' || !databaseMatches(grant.database, name))
            continue;
        for (const privilege of grant.privileges) {
            if (privilege === 'ALL')
                ['CREATE', 'DROP'].forEach(one => held.add(one));
            else
                held.add(privilege);
        }
    }
    return held.has('CREATE') && held.has('DROP');
}
/** Every role the grant lines grant, once each, in order. */
function grantedRoles(grantLines) {
    return [...new Set([...grantLines].flatMap(parseRoleGrant))];
}
function grants_escapeRegExp(text) {
    return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

;// CONCATENATED MODULE: ./src/engines/mysql/maintenance.ts





/** mysqld_error.h: CREATE DATABASE found the name taken; an unknown collation; an unknown character set. */
const DB_CREATE_EXISTS = 1007;
const UNKNOWN_COLLATION = 1273;
const UNKNOWN_CHARACTER_SET = 1115;
/**
 * The clean room's maintenance handle: the only session that may create, mark or drop a
 * database. Production's sessions are plain MysqlSessions, which have no such method.
 *
 * The mark: MariaDB 10.5+ keeps a comment on the database (information_schema.SCHEMATA
 * SCHEMA_COMMENT). MySQL has no database comment, so there the mark is a table inside the
 * scratch database named as the database itself (lazarus_<run id>_..., a name no production
 * table has), with the mark as its comment; the sessions of this engine leave that table out of
 * every figure, fingerprint and counter, so it never shows in a comparison.
 */
class MysqlMaintenance extends MysqlSession {
    static async openMaintenance(target) {
        return MysqlSession.connect(target, 'cleanroom', (...session) => new MysqlMaintenance(...session));
    }
    /**
     * Whether the account may create and drop databases: globally, or on database names that
     * lazarus_... matches (a grant on `lazarus\_%`.*), granted to it or to its active roles
     * (grants.ts says where each flavour lists those). A role granted but not active when Lazarus
     * logs in gives nothing; the hint says how to make it a default role.
     */
    async canCreateDatabases() {
        const [{ user }] = await this.query('SELECT CURRENT_USER() AS user');
        const lines = await this.grantLines('SHOW GRANTS');
        if (this.flavour === 'mariadb') {
            // Each enabled role's grants (the current role and those it inherits), in case SHOW GRANTS lists less (grants.ts).
            const enabled = await this.query('SELECT ROLE_NAME AS role FROM information_schema.ENABLED_ROLES').catch(() => []);
            for (const { role } of enabled)
                if (role)
                    lines.push(...(await this.grantLines(`SHOW GRANTS FOR ${quoteIdent(role)}`).catch(() => [])));
            // MariaDB 10.11+: what is granted TO PUBLIC every account has (older servers do not know the name).
            lines.push(...(await this.grantLines('SHOW GRANTS FOR PUBLIC').catch(() => [])));
        }
        const allowed = mayCreateAndDrop(lines, 'lazarus_0_probe');
        const roles = grantedRoles(lines);
        const hint = allowed || roles.length === 0
            ? undefined
            : `its role(s) ${roles.join(', ')} give nothing unless active when it logs in: make them default roles (` +
                (this.flavour === 'mysql' ? `SET DEFAULT ROLE ALL TO ${user}` : `SET DEFAULT ROLE <role> FOR ${user}`) +
                ')';
        return { role: user, allowed, ...(hint ? { hint } : {}) };
    }
    /** The lines of a SHOW GRANTS statement (each row's one column). */
    async grantLines(sql) {
        const rows = await this.query(sql);
        return rows.map(row => String(Object.values(row)[0] ?? ''));
    }
    /**
     * Creates an empty database with production's character set and collation. Where the clean
     * room lacks the collation (or the character set), the character set's (or the server's)
     * default is used and `collationFallback` says so. A database of that name that exists already
     * is not this run's: a ScratchNameTaken, and it is neither marked nor dropped.
     */
    async createScratchDatabase(name, defaults) {
        const create = `CREATE DATABASE ${quoteIdent(name)}`;
        const attempts = [
            [`${create} CHARACTER SET ${quoteIdent(defaults.characterSet)} COLLATE ${quoteIdent(defaults.collation)}`, false],
            [`${create} CHARACTER SET ${quoteIdent(defaults.characterSet)}`, true],
            [create, true]
        ];
        for (const [sql, fallback] of attempts) {
            try {
                await this.query(sql);
                return { collationFallback: fallback };
            }
            catch (error) {
                const errno = error.errno;
                if (errno === DB_CREATE_EXISTS) {
                    throw new errors/* ScratchNameTaken */.HN(`The clean room (${describe(this.target)}) already has a database named ${name}, which this run did not ` +
                        `create: Lazarus leaves it alone and stops. Run again (every run names its scratch databases afresh).`);
                }
                if (errno !== UNKNOWN_COLLATION && errno !== UNKNOWN_CHARACTER_SET)
                    throw error;
            }
        }
        throw new Error('unreachable');
    }
    async markScratchDatabase(name, marker) {
        if (await this.hasDatabaseComments()) {
            await this.query(`ALTER DATABASE ${quoteIdent(name)} COMMENT = ${quoteLiteral(marker)}`);
        }
        else {
            await this.query(`CREATE TABLE ${qualified(name, name)} (lazarus_scratch_marker INT) COMMENT = ${quoteLiteral(marker)}`);
        }
    }
    /** The mark on a database (its comment, or its marker table's), or undefined. */
    async scratchMarker(name) {
        if (await this.hasDatabaseComments()) {
            const [row] = await this.query('SELECT SCHEMA_COMMENT AS comment FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?', [name]);
            if (row?.comment)
                return row.comment;
        }
        const [table] = await this.query(`SELECT TABLE_COMMENT AS comment FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?`, [name, name]);
        return table?.comment || undefined;
    }
    async databaseExists(name) {
        const rows = await this.query('SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?', [name]);
        return rows.length > 0;
    }
    async dropDatabase(name) {
        await this.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)}`);
    }
    /** MariaDB 10.5+ has database comments; MySQL has none. */
    async hasDatabaseComments() {
        const rows = await this.query(`SELECT 1 FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = 'information_schema' AND TABLE_NAME = 'SCHEMATA'
       AND COLUMN_NAME = 'SCHEMA_COMMENT'`);
        return rows.length > 0;
    }
}

;// CONCATENATED MODULE: ./src/engines/mysql/restored-status.ts
/**
 * The schema comparison of objects the sanitizer restored unable to run (sanitize-rules.ts,
 * rule event-status): an event production has ENABLED is restored DISABLE ON SLAVE, which the
 * server reports as SLAVESIDE_DISABLED (MySQL 8.0.22+ and 8.4: REPLICA_SIDE_DISABLED). For the
 * events the sanitizer rewrote, and only those, that restored status reads as the ENABLED the
 * dump wrote; production's status is then compared as it is. An event the dump held disabled (or
 * DISABLE ON SLAVE) was not rewritten and is compared as it is, so a backup that lost an event's
 * status still shows. Pure.
 */
/** A restored event's status as the dump wrote it, for the events the sanitizer disabled. */
function restoredAsDumped(restored, disabled) {
    const names = new Set(disabled.map(object => `${object.kind}\u0000${object.name}`));
    if (names.size === 0)
        return restored;
    const asDumped = (text) => text.replace(REPLICA_DISABLED, '$1status: ENABLED$3');
    return restored.map(object => {
        if (!names.has(`${object.kind}\u0000${object.name}`))
            return object;
        // Across flavours diffSchema compares the portable form (schema-queries.ts MysqlSchemaObject): it says ENABLED too.
        const portable = object.portable;
        return {
            ...object,
            definition: asDumped(object.definition),
            ...(typeof portable === 'string' ? { portable: asDumped(portable) } : {})
        };
    });
}
/** The status field of a definition (schema-queries.ts fields(): `key: value; key: value`), a replica's disabled status. */
const REPLICA_DISABLED = /(^|; )status: (SLAVESIDE_DISABLED|REPLICA_SIDE_DISABLED)(;|$)/;
/**
 * Compares with `diff` (schema-queries.ts diffSchema) the restored objects as the dump wrote them,
 * and reports each difference with the restored copy's definition as it is.
 */
function diffAsDumped(diff, production, restored, disabled = []) {
    const actual = new Map(restored.map(object => [`${object.kind}\u0000${object.name}`, object.definition]));
    return diff(production, restoredAsDumped(restored, disabled)).map(difference => difference.restored === null
        ? difference
        : { ...difference, restored: actual.get(`${difference.kind}\u0000${difference.name}`) ?? difference.restored });
}

// EXTERNAL MODULE: ./node_modules/@actions/exec/lib/exec.js + 2 modules
var exec = __webpack_require__(46647);
// EXTERNAL MODULE: ./node_modules/@actions/io/lib/io.js
var io = __webpack_require__(88701);
// EXTERNAL MODULE: ./src/util/cancellation.ts
var cancellation = __webpack_require__(76601);
// EXTERNAL MODULE: ./src/util/command-guard.ts
var command_guard = __webpack_require__(16285);
// EXTERNAL MODULE: ./src/util/dump-lines.ts
var dump_lines = __webpack_require__(89250);
// EXTERNAL MODULE: ./src/util/executables.ts
var executables = __webpack_require__(75737);
// EXTERNAL MODULE: ./src/util/work-files.ts
var work_files = __webpack_require__(40605);
;// CONCATENATED MODULE: ./src/engines/mysql/tools.ts













/** A server's release from what it says of itself (engines/types.ts ServerFacts: product, version). */
function releaseOf(facts) {
    return {
        flavour: /mariadb/i.test(facts.product) || /mariadb/i.test(facts.version) ? 'mariadb' : 'mysql',
        version: facts.version
    };
}
/** The programs' names, preferred first (MariaDB's own names; mysqldump and mysql may be either). */
const DUMP_NAMES = ['mariadb-dump', 'mysqldump'];
const CLIENT_NAMES = ['mariadb', 'mysql'];
/** Largest packet the programs accept: a dump's row, or a statement of the restore, may be this big. */
const MAX_ALLOWED_PACKET = '1073741824';
/** Lines of stderr kept for an error message; the full stream is already in the log. */
const STDERR_TAIL_BYTES = 4000;
/** How often the stream's status and marker files are read: production's writers wait on the lock until the marker is seen. */
const POLL_MS = 20;
/**
 * Reads `mariadb-dump --version` / `mysql --version` output:
 *   mariadb-dump  Ver 10.19 Distrib 10.11.19-MariaDB, for debian-linux-gnu (x86_64)
 *   mariadb-dump from 11.4.2-MariaDB, client 10.19 for debian-linux-gnu (x86_64)
 *   mysqldump  Ver 8.0.36 for Linux on x86_64 (MySQL Community Server - GPL)
 *   mysqldump  Ver 10.13 Distrib 5.7.44, for Linux (x86_64)
 */
function parseClientVersion(output) {
    const mariadb = /(?:Distrib|from) (\d+)\.(\d+)\.(\d+)-MariaDB/.exec(output);
    const mysql = mariadb ? undefined : (/Distrib (\d+)\.(\d+)\.(\d+)/.exec(output) ?? /\bVer (\d+)\.(\d+)\.(\d+)/.exec(output));
    const match = mariadb ?? mysql;
    if (!match)
        return undefined;
    const [major, minor, patch] = [1, 2, 3].map(i => Number(match[i]));
    return { flavour: mariadb ? 'mariadb' : 'mysql', version: `${major}.${minor}.${patch}`, major, minor, patch };
}
/** "10.11.19-MariaDB-0+deb12u1" or "8.0.36" as a ServerRelease's version: the three numbers. */
function releaseNumbers(version) {
    const match = /^(\d+)\.(\d+)(?:\.(\d+))?/.exec(version);
    return match ? [Number(match[1]), Number(match[2]), Number(match[3] ?? 0)] : [0, 0, 0];
}
function atLeast(a, b) {
    for (let i = 0; i < 3; i++)
        if (a[i] !== b[i])
            return a[i] > b[i];
    return true;
}
function serverName(server) {
    return `${server.flavour === 'mariadb' ? 'MariaDB' : 'MySQL'} ${server.version}`;
}
function toolName(tool) {
    return `${external_node_path_.basename(tool.path)} ${tool.version} (${tool.flavour === 'mariadb' ? 'MariaDB' : 'MySQL'})`;
}
/**
 * Why `dump` cannot dump `server`, or undefined when it can. Pure.
 * - The same flavour: the dump program must be at least the server's major.minor (an older one
 *   does not know the newer server's objects and options).
 * - MySQL's mysqldump dumping MariaDB: it works given --column-statistics=0 (8.0+, which otherwise
 *   queries MySQL-only histograms) and --set-gtid-purged=OFF, which dumpArguments passes.
 * - MariaDB's mariadb-dump dumping MySQL: it takes a server's features from its version number as
 *   if it were MariaDB's, which holds for MySQL 5.7 to 9 (below MariaDB's 10.x) but not from the
 *   year-numbered MySQL releases on (26.x: it sends MariaDB-only statements such as
 *   `SHOW PACKAGE STATUS`, which fail).
 */
function dumpIncompatibility(dump, server) {
    const serverRelease = releaseNumbers(server.version);
    if (dump.flavour === server.flavour) {
        if (dump.major > serverRelease[0] || (dump.major === serverRelease[0] && dump.minor >= serverRelease[1]))
            return undefined;
        return `${toolName(dump)} is older than production (${serverName(server)}) and may not know its objects`;
    }
    if (dump.flavour === 'mariadb' && serverRelease[0] >= 10) {
        return `${toolName(dump)} takes MySQL ${server.version} for a MariaDB release by its number and sends it MariaDB-only statements`;
    }
    return undefined;
}
/**
 * Finds the dump and restore programs: in `binDir` only when given (the `mysql-bin-dir` input),
 * else on PATH. Of the dump programs found, the first that can dump production (dumpIncompatibility)
 * wins, production's own flavour first; of the clients, the clean room's flavour first. Throws one
 * clear line naming what was found and what to install.
 */
async function findClientTools(production, cleanroom, binDir) {
    const where = binDir ? `in '${binDir}' (input 'mysql-bin-dir')` : 'on PATH';
    const locate = async (name) => {
        if (!binDir)
            return (await io/* which */.K7(name, false)) || undefined;
        const file = external_node_path_.join(binDir, name);
        return (0,executables/* isExecutable */.T)(file) ? file : undefined;
    };
    if (binDir && !external_node_fs_.existsSync(binDir)) {
        throw new errors/* UserError */.yo(`Input 'mysql-bin-dir' is '${binDir}', which does not exist: point it at the directory holding mysqldump and mysql ` +
            `(or mariadb-dump and mariadb), or leave it empty to use the programs on PATH.`);
    }
    const found = async (names) => {
        const tools = [];
        const seen = new Set();
        for (const name of names) {
            const file = await locate(name);
            if (!file)
                continue;
            const real = external_node_fs_.realpathSync(file);
            if (seen.has(real))
                continue;
            seen.add(real);
            tools.push(await toolVersion(file));
        }
        return tools;
    };
    const dumps = await found(DUMP_NAMES);
    const clients = await found(CLIENT_NAMES);
    const install = (what) => `install ${what} (Debian/Ubuntu: apt-get install mariadb-client, or mysql-client for MySQL's)` +
        (binDir ? `, or fix 'mysql-bin-dir'` : `, or set 'mysql-bin-dir'`);
    if (dumps.length === 0)
        throw new errors/* UserError */.yo(`Found no mysqldump or mariadb-dump ${where}: ${install('one')}.`);
    if (clients.length === 0)
        throw new errors/* UserError */.yo(`Found no mysql or mariadb client ${where}: ${install('one')}.`);
    const byFlavour = (flavour) => (a, b) => Number(b.flavour === flavour) - Number(a.flavour === flavour);
    const dump = [...dumps].sort(byFlavour(production.flavour)).find(tool => !dumpIncompatibility(tool, production));
    if (!dump) {
        const reasons = dumps.map(tool => dumpIncompatibility(tool, production)).join('; ');
        throw new errors/* UserError */.yo(`No dump program ${where} can dump production (${serverName(production)}): ${reasons}. ` +
            install(production.flavour === 'mariadb'
                ? `mariadb-dump ${production.version} or newer`
                : `mysqldump ${production.version} or newer`) +
            '.');
    }
    const client = [...clients].sort(byFlavour(cleanroom.flavour))[0];
    return { dump, client, production };
}
async function toolVersion(program) {
    const { stdout } = await exec/* getExecOutput */.H(program, ['--version'], { silent: true, ignoreReturnCode: true });
    const version = parseClientVersion(stdout);
    if (!version)
        throw new errors/* UserError */.yo(`Could not read the version of ${program} (it printed '${stdout.trim()}').`);
    return { path: program, ...version };
}
/**
 * True when this mariadb client knows the sandbox command (`\-`, and `--sandbox`), which
 * mariadb-dump writes as the dump's first line since MDEV-33727 (10.5.25, 10.6.18, 10.11.8,
 * 11.0.6, 11.1.5, 11.2.4, 11.4.2): MySQL's client, and MariaDB's older ones, stop at that line.
 */
function clientKnowsSandbox(client) {
    if (client.flavour !== 'mariadb')
        return false;
    const firstPatch = { '10.5': 25, '10.6': 18, '10.11': 8, '11.0': 6, '11.1': 5, '11.2': 4, '11.4': 2 };
    const needed = firstPatch[`${client.major}.${client.minor}`];
    if (needed !== undefined)
        return client.patch >= needed;
    // 11.3 ended before the fix; every release series after 11.4 had it from its start.
    return atLeast([client.major, client.minor, client.patch], [11, 5, 0]);
}
/**
 * The sanitizing sed's argv, a filter inside the stream. It runs in the C locale, where every
 * byte is one character: the dump may hold any bytes, and the program's lexer must never see a
 * byte sequence a UTF-8 locale would call invalid.
 */
async function sedFilter(programFile) {
    const env = await io/* which */.K7('env', true);
    const sed = await io/* which */.K7('sed', true);
    return [env, 'LC_ALL=C', sed, '-n', '-E', '-f', programFile];
}
// ---------------------------------------------------------------------------------------------
// Option files
/**
 * A value in a MySQL option file: double-quoted, with the escapes the option-file reader
 * undoes (\\ \" \n \r \t), so that any password (quotes, #, spaces, line breaks) reads back whole.
 */
function optionValue(value) {
    return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n').replace(/\r/g, '\\r').replace(/\t/g, '\\t')}"`;
}
/**
 * The option file for one program connecting to `target`: the `[client]` group, which both
 * flavours' programs read, with only options both the dump and the client know (an option a
 * program does not know is an error there). TLS as the program's flavour spells it: MySQL's
 * programs take `ssl-mode`; MariaDB's have `ssl`, `skip-ssl` and `ssl-verify-server-cert`.
 */
function optionFile(target, flavour) {
    const lines = [
        '[client]',
        `host=${optionValue(target.host)}`,
        `port=${target.port}`,
        `user=${optionValue(target.user)}`,
        ...(target.password !== undefined ? [`password=${optionValue(target.password)}`] : []),
        'protocol=TCP'
    ];
    const { mode, ca } = target.tls;
    if (flavour === 'mysql') {
        lines.push(`ssl-mode=${MYSQL_SSL_MODES[mode]}`);
        if (ca)
            lines.push(`ssl-ca=${optionValue(ca)}`);
    }
    else if (mode === 'disable') {
        lines.push('skip-ssl');
    }
    else {
        // MariaDB's clients check the certificate from 11.4 on by default; only the verify modes ask for it.
        if (mode !== 'preferred')
            lines.push('ssl');
        if (ca)
            lines.push(`ssl-ca=${optionValue(ca)}`);
        lines.push(mode === 'verify-ca' || mode === 'verify-identity' ? 'ssl-verify-server-cert' : 'skip-ssl-verify-server-cert');
    }
    return lines.join('\n') + '\n';
}
/** MySQL's --ssl-mode values. */
const MYSQL_SSL_MODES = {
    disable: 'DISABLED',
    preferred: 'PREFERRED',
    required: 'REQUIRED',
    'verify-ca': 'VERIFY_CA',
    'verify-identity': 'VERIFY_IDENTITY'
};
/** Writes an option file (0600: it holds a password) and returns its path. */
function writeOptionFile(file, target, flavour) {
    external_node_fs_.rmSync(file, { force: true });
    external_node_fs_.writeFileSync(file, optionFile(target, flavour), { mode: 0o600 });
    return file;
}
/** The environment of every client program: no login-path file, nothing that could add a password or options. */
function clientEnv(extra = {}) {
    const env = {};
    for (const [key, value] of Object.entries(process.env)) {
        if (value !== undefined && !/^(MYSQL_PWD|MYSQL_HOST|MYSQL_TCP_PORT|MYSQL_UNIX_PORT|MYSQL_HOME|MARIADB_HOME)$/.test(key)) {
            env[key] = value;
        }
    }
    return { ...env, MYSQL_TEST_LOGIN_FILE: '/dev/null', ...extra };
}
// ---------------------------------------------------------------------------------------------
// Argument lists
/**
 * The dump's arguments after its option file, for one database: a consistent snapshot of InnoDB
 * tables (--single-transaction, no table locks), routines, triggers and events, binary columns in
 * hex (a dump is text), utf8mb4, no date (two dumps of the same data are the same text), no
 * tablespaces (they need PROCESS and do not restore elsewhere), and comments on: the restore names
 * the object it failed on from them, and the snapshot marker is one of them. No `--databases`, so
 * the dump has no CREATE DATABASE or USE and restores into the scratch database. No `LOCK TABLES
 * ... WRITE` around each table's rows (--skip-add-locks): they only speed up a MyISAM restore, and
 * MariaDB refuses the rows of a table whose DEFAULT takes a sequence's next value under them
 * ("Table 's' was not locked with LOCK TABLES"), a backup that restores without them.
 */
function dumpArguments(dump, server, database) {
    const args = [
        '--single-transaction',
        '--quick',
        '--routines',
        '--triggers',
        '--events',
        '--hex-blob',
        '--default-character-set=utf8mb4',
        '--skip-dump-date',
        '--no-tablespaces',
        '--skip-lock-tables',
        '--skip-add-locks',
        '--comments',
        `--max-allowed-packet=${MAX_ALLOWED_PACKET}`
    ];
    if (dump.flavour === 'mysql') {
        // GTID state is a replica's business, and SET @@GLOBAL.GTID_PURGED needs SUPER on the clean room (5.6+).
        if (dump.major > 5 || dump.minor >= 6)
            args.push('--set-gtid-purged=OFF');
        // MySQL 8's mysqldump reads column histograms from information_schema.COLUMN_STATISTICS, which MariaDB lacks.
        if (dump.major >= 8 && server.flavour === 'mariadb')
            args.push('--column-statistics=0');
    }
    return [...args, '--', database];
}
/**
 * The restore client's arguments after its option file: the dump's character set; binary mode,
 * in which the client runs none of its own commands from the input but `\C` and `delimiter`
 * (no `\!` shell, no `source`, no `tee`), and passes every byte through; no LOAD DATA LOCAL, which
 * would let a statement of the dump read the runner's files; the sandbox on MariaDB clients that
 * have it (file-system commands refused even outside binary mode). In batch mode, without --force,
 * the client stops at the first failing statement.
 */
function clientArguments(client, database) {
    return [
        '--default-character-set=utf8mb4',
        '--binary-mode',
        '--batch',
        '--local-infile=0',
        `--max-allowed-packet=${MAX_ALLOWED_PACKET}`,
        ...(clientKnowsSandbox(client) ? ['--sandbox'] : []),
        `--database=${database}`
    ];
}
/** The sanitizing sed program for a stream into this clean room with these programs (sanitize-rules.ts). */
function sanitizerProgram(options) {
    const client = options.tools.client;
    return buildSedProgram({
        clientFlavour: client.flavour,
        clientKnowsSandbox: clientKnowsSandbox(client),
        cleanroom: {
            flavour: options.cleanroom.flavour,
            version: options.cleanroom.version,
            collations: options.cleanroomCollations
        },
        productionDatabase: options.productionTarget?.database,
        ...sanitizerFiles(options.workDir)
    });
}
/** The lines the sanitizer removed or rewrote in a stream's work directory, as it recorded them (none when it recorded none). */
function readRemovedLines(workDir) {
    const { removedLinesFile } = sanitizerFiles(workDir);
    return external_node_fs_.existsSync(removedLinesFile) ? external_node_fs_.readFileSync(removedLinesFile, 'latin1').split('\n') : [];
}
/** What the sanitizer changed, rule by rule, as the report lists it (StreamOutcome's `sanitized`). */
function sanitizedConstructs(removedLines) {
    return summarizeRemovedLines(removedLines).map(entry => ({ parameter: entry.construct, rule: entry.rule, lines: entry.lines }));
}
function sanitizerFiles(workDir) {
    return {
        markerFile: external_node_path_.join(workDir, 'snapshot-marker'),
        removedLinesFile: external_node_path_.join(workDir, 'sanitized-lines'),
        linesFile: external_node_path_.join(workDir, 'line-index')
    };
}
/**
 * The pipeline, in bash: dump | dd (counts bytes) | sed [| tee kept] | client. Each program
 * records its exit code and end time (a pipeline has one exit code) and writes its stderr to a
 * file of its own. The script holds no secret: the programs read theirs from their option files.
 * Every file it makes is private (umask 077): the kept copy of the dump holds production's data.
 */
const STREAM_SCRIPT = `
umask 077
ended() { echo "$1 $2 $(date +%s.%N)" >> "$LAZARUS_STATUS_FILE"; }
ended start 0
{ "$LAZARUS_DUMP" "$@" 2> "$LAZARUS_WORK/dump.stderr" | dd bs=1M 2> "$LAZARUS_WORK/bytes"; ended dump \${PIPESTATUS[0]}; } |
{ "\${LAZARUS_FILTER[@]}" 2> "$LAZARUS_WORK/sanitize.stderr"; ended sanitize $?; } |
{ if [ -n "$LAZARUS_KEEP" ]; then tee "$LAZARUS_KEEP" 2> "$LAZARUS_WORK/keep.stderr"; ended keep $?; else cat; fi; } |
{ "$LAZARUS_CLIENT" "\${LAZARUS_CLIENT_ARGS[@]}" > /dev/null 2> "$LAZARUS_WORK/restore.stderr"; ended restore $?; }
`;
/** A kept file (already rewritten) into the client. */
const RESTORE_SCRIPT = `
umask 077
ended() { echo "$1 $2 $(date +%s.%N)" >> "$LAZARUS_STATUS_FILE"; }
ended start 0
"$LAZARUS_CLIENT" "\${LAZARUS_CLIENT_ARGS[@]}" < "$LAZARUS_INPUT" > /dev/null 2> "$LAZARUS_WORK/restore.stderr"; ended restore $?
`;
function shellQuote(word) {
    return `'${word.replace(/'/g, `'\\''`)}'`;
}
/**
 * Dumps production's database, sanitizes and restores it into the scratch database in one stream
 * (never held anywhere whole). The option files are removed as soon as the stream ends.
 */
async function streamDumpToRestore(request) {
    const { tools, workDir } = request;
    const files = sanitizerFiles(workDir);
    const programFile = external_node_path_.join(workDir, 'sanitize.sed');
    external_node_fs_.writeFileSync(programFile, request.sanitizer, { mode: 0o600 });
    const dumpOptions = writeOptionFile(external_node_path_.join(workDir, 'dump.cnf'), request.production, tools.dump.flavour);
    const clientOptions = writeOptionFile(external_node_path_.join(workDir, 'restore.cnf'), request.restoreInto, tools.client.flavour);
    const statusFile = external_node_path_.join(workDir, 'stream-status');
    try {
        const dumpArgs = [
            `--defaults-file=${dumpOptions}`,
            ...dumpArguments(tools.dump, tools.production, request.production.database)
        ];
        const clientArgs = [`--defaults-file=${clientOptions}`, ...clientArguments(tools.client, request.restoreInto.database)];
        const script = [
            `LAZARUS_FILTER=(${(await sedFilter(programFile)).map(shellQuote).join(' ')})`,
            `LAZARUS_CLIENT_ARGS=(${clientArgs.map(shellQuote).join(' ')})`,
            STREAM_SCRIPT
        ].join('\n');
        const scriptFile = external_node_path_.join(workDir, 'stream.sh');
        external_node_fs_.writeFileSync(scriptFile, script, { mode: 0o600 });
        external_node_fs_.writeFileSync(statusFile, '', { mode: 0o600 });
        const env = clientEnv({
            LAZARUS_DUMP: tools.dump.path,
            LAZARUS_CLIENT: tools.client.path,
            LAZARUS_STATUS_FILE: statusFile,
            LAZARUS_WORK: workDir,
            LAZARUS_KEEP: request.keepDumpAt ?? ''
        });
        const watching = watchSnapshot(files.markerFile, statusFile, request.onDumpSnapshotStarted);
        await runScript(scriptFile, dumpArgs, env).finally(watching.stop);
        await watching.told;
        const outcome = await streamOutcome(workDir, statusFile, tools, ['dump', 'sanitize', 'restore']);
        const keptCopy = request.keepDumpAt && keepFailure(workDir, statusFile, request.keepDumpAt);
        return keptCopy ? { ...outcome, ok: false, fault: keptCopy } : outcome;
    }
    finally {
        external_node_fs_.rmSync(dumpOptions, { force: true });
        external_node_fs_.rmSync(clientOptions, { force: true });
    }
}
/**
 * Why tee could not keep the copy of the dump (a full disk), when it could not: tee goes on
 * feeding the client when it cannot write its file, so only its own status and words tell. Its
 * words name the file; a tee that merely died of the broken pipe (the client stopped: the
 * restore's failure, judged on its own) names none and is no failure of the copy.
 */
function keepFailure(workDir, statusFile, keptAt) {
    const status = /^keep (\d+) /m.exec(external_node_fs_.readFileSync(statusFile, 'utf8'))?.[1];
    if (status === undefined || status === '0')
        return undefined;
    const stderrFile = external_node_path_.join(workDir, 'keep.stderr');
    const stderr = external_node_fs_.existsSync(stderrFile) ? external_node_fs_.readFileSync(stderrFile, 'utf8') : '';
    if (!stderr.includes(keptAt))
        return undefined;
    return ((0,work_files/* diskFullError */.vB)(stderr, 'Lazarus', 'the copy of the dump', keptAt) ??
        new Error(`The copy of the dump could not be kept at ${keptAt}: ${(0,errors/* lastLine */.fM)(stderr)}`));
}
/**
 * Restores a kept sanitized dump into a scratch database, as it is: a drill's copy comes already
 * rewritten (run/drill-copies.ts, drill/rewrite.ts).
 */
async function restoreDumpFile(request) {
    const { tools, workDir } = request;
    const clientOptions = writeOptionFile(external_node_path_.join(workDir, 'restore.cnf'), request.restoreInto, tools.client.flavour);
    const statusFile = external_node_path_.join(workDir, 'restore-status');
    try {
        const clientArgs = [`--defaults-file=${clientOptions}`, ...clientArguments(tools.client, request.restoreInto.database)];
        const scriptFile = external_node_path_.join(workDir, 'restore.sh');
        external_node_fs_.writeFileSync(scriptFile, [`LAZARUS_CLIENT_ARGS=(${clientArgs.map(shellQuote).join(' ')})`, RESTORE_SCRIPT].join('\n'), {
            mode: 0o600
        });
        external_node_fs_.writeFileSync(statusFile, '', { mode: 0o600 });
        const env = clientEnv({
            LAZARUS_CLIENT: tools.client.path,
            LAZARUS_STATUS_FILE: statusFile,
            LAZARUS_WORK: workDir,
            LAZARUS_INPUT: request.file
        });
        await runScript(scriptFile, [], env);
        const outcome = await streamOutcome(workDir, statusFile, tools, ['restore'], request.file);
        return { ...outcome, dumpBytes: external_node_fs_.statSync(request.file).size };
    }
    finally {
        external_node_fs_.rmSync(clientOptions, { force: true });
    }
}
/**
 * How the stream ended, by what each program recorded. For a failed restore, the object the
 * client was restoring: from sed's line index (a fresh stream) or the kept file itself.
 */
async function streamOutcome(workDir, statusFile, tools, expected, restoredFile) {
    const status = readStreamStatus(statusFile);
    const read = (name) => {
        const file = external_node_path_.join(workDir, name);
        return external_node_fs_.existsSync(file) ? external_node_fs_.readFileSync(file, 'utf8') : '';
    };
    const files = sanitizerFiles(workDir);
    const programs = { dump: tools.dump.path, sanitize: 'sed', restore: tools.client.path };
    // The object the sanitizer stopped in, if it did: the last object line it indexed (a fresh stream's).
    const stoppedIn = status.sanitize?.exitCode === STOP_EXIT_CODE ? await dumpObjectInIndex(files.linesFile, Number.MAX_SAFE_INTEGER) : undefined;
    const stages = expected.map(stage => {
        let stderr = stage === 'restore' ? withoutEchoedStatements(read(`${stage}.stderr`)) : read(`${stage}.stderr`);
        if (stage === 'sanitize' && status[stage]?.exitCode === STOP_EXIT_CODE) {
            const stopped = external_node_fs_.existsSync(files.removedLinesFile)
                ? stoppedConstruct(external_node_fs_.readFileSync(files.removedLinesFile, 'latin1').split('\n'))
                : undefined;
            if (stopped)
                stderr = stopMessage(stopped, stoppedIn ? describeDumpObject(stoppedIn) : undefined);
        }
        return { stage, program: programs[stage], exitCode: status[stage]?.exitCode ?? null, stderr: tail(stderr) };
    });
    const ok = stages.every(stage => stage.exitCode === 0);
    const bytesText = external_node_fs_.existsSync(external_node_path_.join(workDir, 'bytes')) ? external_node_fs_.readFileSync(external_node_path_.join(workDir, 'bytes'), 'utf8') : '';
    const dumpBytes = Number(/^(\d+) bytes/m.exec(bytesText)?.[1] ?? 0);
    // What the sanitizer changed (a fresh stream runs it; a kept dump was sanitized when it was made).
    const sanitizing = expected.includes('sanitize');
    const removedLines = sanitizing ? readRemovedLines(workDir) : [];
    // What it changed is the run's sanitizer's to say (sanitizer.ts removed()); what it restored disabled is the stream's.
    const changes = sanitizing
        ? { restoredDisabled: disabledEvents(removedLines).map(name => ({ kind: 'event', name: displayIdentifier(name) })) }
        : {};
    const seconds = stageSeconds(status, startedAt(statusFile));
    if (ok)
        return { ok, stages, dumpBytes, ...changes, seconds };
    const first = firstFailure(status, expected);
    let failedAt;
    if (first === 'restore') {
        const line = mysqlErrorLine(stages.find(stage => stage.stage === 'restore')?.stderr ?? '');
        if (line !== undefined) {
            const object = restoredFile ? await dumpObjectInFile(restoredFile, line) : await dumpObjectInIndex(files.linesFile, line);
            // Said as PostgreSQL's is, after "The restore stopped": "while restoring the data of table `orders`".
            if (object)
                failedAt = `while restoring ${describeDumpObject(object)}`;
        }
    }
    // The program that failed first goes first: the others died of the broken pipe it left.
    const ordered = first
        ? [...stages.filter(stage => stage.stage === first), ...stages.filter(stage => stage.stage !== first)]
        : stages;
    return { ok, stages: ordered, dumpBytes, ...changes, seconds, ...(failedAt ? { failedAt } : {}) };
}
/** When the stream's script started (its `start` record), in seconds since the epoch; undefined without one. */
function startedAt(statusFile) {
    const text = external_node_fs_.existsSync(statusFile) ? external_node_fs_.readFileSync(statusFile, 'utf8') : '';
    const time = Number(/^start 0 ([0-9.]+)$/m.exec(text)?.[1]);
    return Number.isFinite(time) ? time : undefined;
}
/** Seconds from the stream's start until each program ended, for those that recorded both. Pure. */
function stageSeconds(status, start) {
    const seconds = {};
    if (start === undefined)
        return seconds;
    for (const stage of STAGES) {
        const at = status[stage]?.at;
        if (at !== undefined && Number.isFinite(at))
            seconds[stage] = Math.max(0, at - start);
    }
    return seconds;
}
/** The object line in force at `line` of the client's input: from sed's line index, or the file itself. */
async function dumpObjectInIndex(linesFile, line) {
    return dumpObjectInFile(linesFile, line);
}
async function dumpObjectInFile(file, line) {
    if (!external_node_fs_.existsSync(file))
        return undefined;
    return dumpObjectAt(await (0,dump_lines/* numberedLinesUpTo */.W)(file, line, text => text !== '' && parseObjectLine(text) !== undefined), line);
}
/** Polls for the marker (sed writes it when the dump's transaction has begun) or the dump's end; tells once. */
function watchSnapshot(markerFile, statusFile, onStarted) {
    let resolveTold = () => undefined;
    const told = new Promise(resolve => (resolveTold = resolve));
    let done = false;
    const tell = (over) => {
        if (done)
            return;
        const marked = external_node_fs_.existsSync(markerFile) && external_node_fs_.statSync(markerFile).size > 0;
        if (!marked && !over && !readStreamStatus(statusFile).dump)
            return;
        done = true;
        clearInterval(timer);
        onStarted().then(resolveTold, resolveTold);
    };
    const timer = setInterval(() => tell(false), POLL_MS);
    timer.unref();
    return { stop: () => tell(true), told };
}
const STAGES = ['dump', 'sanitize', 'restore'];
function readStreamStatus(statusFile) {
    const stages = {};
    const text = external_node_fs_.existsSync(statusFile) ? external_node_fs_.readFileSync(statusFile, 'utf8') : '';
    for (const line of text.split('\n')) {
        const [name, code, time] = line.split(' ');
        if (STAGES.includes(name))
            stages[name] = { exitCode: Number(code), at: Number(time) };
    }
    return stages;
}
/**
 * The program that failed first, by the end times they recorded: the client failing first is a
 * backup that does not restore (the dump and sed then die of the broken pipe); the dump or sed
 * failing first is an error, whatever the client made of the partial stream. A program that never
 * recorded its end (killed) failed last. Pure.
 */
function firstFailure(status, expected = STAGES) {
    return expected
        .filter(name => status[name]?.exitCode !== 0)
        .sort((a, b) => (status[a]?.at ?? Infinity) - (status[b]?.at ?? Infinity))[0];
}
/** Runs the stream's script (cancellation as pg-tools.ts's runClient: a program the cancellation ended never returns). */
async function runScript(scriptFile, args, env) {
    const output = (0,command_guard/* untrustedOutput */.a)(process.stdout);
    await exec/* exec */.m('bash', [scriptFile, ...args], { env, ignoreReturnCode: true, outStream: output, errStream: output })
        .finally(() => output.end());
    if ((0,cancellation/* isCancelling */.$6)() || (0,cancellation/* childProcessesEnded */.cm)())
        await new Promise(() => undefined);
}
/**
 * The client's stderr without the failing statement it echoes between two lines of dashes
 * (MariaDB's --print-query-on-error, on in batch mode): the statement is production's text (a
 * whole INSERT of rows), which has no place in a log or a report. Pure.
 */
function withoutEchoedStatements(stderr) {
    return stderr.replace(/^-{14}\n[\s\S]*?\n-{14}\n\n?/gm, '').trim();
}
function tail(text) {
    return text.slice(-STDERR_TAIL_BYTES).trim();
}

;// CONCATENATED MODULE: ./src/engines/mysql/sanitizer.ts




async function buildSanitizer(maintenance, request) {
    const cleanroom = ownSession(maintenance);
    const production = ownSession(request.production);
    const workDir = request.workFile('stream');
    external_node_fs_.mkdirSync(workDir, { recursive: true, mode: 0o700 });
    const [cleanroomFacts, cleanroomCollations] = await Promise.all([cleanroom.facts(), cleanroom.collations()]);
    const program = sanitizerProgram({
        tools: request.tools,
        cleanroom: releaseOf(cleanroomFacts),
        cleanroomCollations,
        workDir,
        // SHOW CREATE writes production's database name into sequence references.
        productionTarget: production.target
    });
    const collationsRewritten = collationEquivalents(cleanroomCollations);
    return {
        program,
        workDir,
        copyFile: request.copyFile,
        cleanroomMajor: cleanroomFacts.major,
        ...(collationsRewritten.size > 0 ? { collationsRewritten } : {}),
        removed: () => sanitizedConstructs(readRemovedLines(workDir)),
        // A construct no rewrite restores stops sed with an exit status of its own: the stream's outcome names it.
        stopped: () => undefined,
        // MySQL's dump has no ownership or privilege statements to route.
        routedFiles: () => []
    };
}

;// CONCATENATED MODULE: ./src/engines/mysql/fault-classes.ts

/**
 * Which failures of the restoring client describe the clean room rather than the dump (as
 * PostgreSQL's fault-classes.ts does by SQLSTATE): a restore that stops on one of them says
 * nothing about the backup, and a drill copy that stops on one was not tried. MySQL's error
 * numbers decide, since most of these share SQLSTATE HY000. Pure.
 */
/** Server errors of the clean room, each class with what to do about it. */
const CLEANROOM_SERVER_ERRORS = [
    {
        // ER_RECORD_FILE_FULL, ER_DISK_FULL (and errno 28 below).
        codes: [1021, 1114],
        hint: 'give the clean room more disk, or a smaller backup'
    },
    {
        // ER_CON_COUNT_ERROR, ER_OUT_OF_RESOURCES.
        codes: [1040, 1041],
        hint: 'give the clean room more connections or memory (max_connections, its container), or run fewer jobs'
    },
    {
        // Access denied to the database, the account, a table, a column; a missing privilege (SUPER...).
        codes: [1044, 1045, 1142, 1143, 1227],
        hint: 'give the clean-room account the privileges docs/mysql.md lists, or use an account that has them'
    },
    {
        // ER_BAD_DB_ERROR: the scratch database is gone (something else dropped it).
        codes: [1049],
        hint: 'make sure nothing else drops databases on the clean room while Lazarus runs'
    },
    {
        // Shutdown in progress, query interrupted, connection killed.
        codes: [1053, 1317, 1927],
        hint: 'make sure nothing restarts the clean room or kills its sessions while Lazarus runs'
    },
    {
        // Lock wait timeout, max_execution_time, a query killed by a limit.
        codes: [1205, 3024, 4031],
        hint: "raise the clean room's time limits (lock_wait_timeout, max_execution_time, wait_timeout) or lock-timeout-seconds"
    }
];
/**
 * Why a restoring client's failure is the clean room's, in one line naming it (`where`: the clean
 * room as engine.describe names it, and its input); undefined when the dump is to blame. A client
 * killed (no exit status, or a signal's) was stopped from outside; the client's own errors (2000
 * to 2999: a connection refused, lost, gone away) and the server errors above are the clean
 * room's; any other error is the statement's, the backup's.
 */
function cleanroomClientError(exitCode, stderr, where) {
    const said = (0,errors/* lastLine */.fM)(stderr) || 'no error output';
    if (exitCode === null || exitCode > 128) {
        return new errors/* UserError */.yo(`The restore was stopped from outside (the client ended ${exitCode === null ? 'without an exit status' : `with status ${exitCode}`}) ` +
            `on ${where}, so the backup was not fully tried: ${said}. Make sure nothing kills the client or the runner's processes.`);
    }
    const code = Number(/^ERROR (\d+)/m.exec(stderr)?.[1]);
    const server = CLEANROOM_SERVER_ERRORS.find(known => known.codes.includes(code));
    const diskFull = /errno:? 28\b|No space left on device/i.test(stderr);
    const hint = code >= 2000 && code < 3000
        ? 'make sure the clean room stays up and reachable while Lazarus runs (its connection dropped or was refused)'
        : (server?.hint ?? (diskFull ? CLEANROOM_SERVER_ERRORS[0].hint : undefined));
    if (!hint)
        return undefined;
    return new errors/* UserError */.yo(`The restore stopped on an error of ${where}, not of the backup: ${said}. To verify the backup, ${hint}.`);
}

;// CONCATENATED MODULE: ./src/engines/mysql/stream.ts




async function streamForRun(request) {
    const sanitizer = own(request.sanitizer);
    let outcome;
    try {
        // One script runs the dump and the restore together: it starts once the scratch database is
        // ready (the run created it before taking the lock: Engine.snapshotHoldsWriters).
        await request.restoreTargetReady;
        outcome = await streamDumpToRestore({
            tools: request.tools,
            production: request.production,
            restoreInto: request.restoreInto,
            sanitizer: sanitizer.program,
            workDir: sanitizer.workDir,
            keepDumpAt: sanitizer.copyFile,
            onDumpSnapshotStarted: request.onDumpSnapshotStarted
        });
    }
    catch (error) {
        request.onDumpEnded(false);
        throw error;
    }
    // The script tells when the whole stream ended, the dump's end with it.
    request.onDumpEnded(outcome.stages.find(stage => stage.stage === 'dump')?.exitCode === 0);
    return judged(outcome, request.restoreInto);
}
/**
 * A failed stream, told apart: the client stopping on the dump is the backup's failure (its last
 * line is MySQL's error), unless the clean room is to blame (fault-classes.ts: a lost connection,
 * a full disk, a missing right, a killed client); that, and any other program's failure (the
 * dump, sed, a construct the sanitizer refused, the copy of the dump), is a fault of the run's,
 * raised rather than judged.
 */
function judged(outcome, restoreInto) {
    if (outcome.ok || outcome.fault)
        return outcome;
    const failed = outcome.stages.find(stage => stage.exitCode !== 0);
    if (failed?.stage === 'restore') {
        // The clean room's failure (a lost or refused connection, a full disk, a missing right) says nothing of the dump.
        const where = `the clean room (${describe(restoreInto)}, '${restoreInto.inputName}')`;
        const cleanroom = cleanroomClientError(failed.exitCode, failed.stderr, where);
        if (cleanroom)
            return { ...outcome, fault: cleanroom };
        return { ...outcome, restoreError: (0,errors/* lastLine */.fM)(failed.stderr) || 'the restore failed' };
    }
    const fault = new Error(failed ? `${failed.stage} (${failed.program}) failed: ${(0,errors/* lastLine */.fM)(failed.stderr)}` : 'the stream failed');
    return { ...outcome, fault };
}
/** The run hands back the sanitizer this engine built (sanitizer.ts): its program runs in its own directory. */
function own(sanitizer) {
    if (!('workDir' in sanitizer) || typeof sanitizer.workDir !== 'string')
        throw new Error("MySQL's stream runs its own sanitizer, in the directory it was built for");
    return sanitizer;
}

;// CONCATENATED MODULE: ./src/engines/mysql/index.ts










/** A client program by its own name (mysqldump, mariadb-dump, mysql, mariadb), as the report lists it. */
function named(tool) {
    return { name: tool.path.split('/').pop() ?? tool.path, path: tool.path, version: tool.version, major: tool.major };
}
/** MySQL and MariaDB as one engine over the seam: the flavour is the server's, not the URL's scheme. */
const mysql = {
    name: 'MySQL/MariaDB',
    schemes: ['mysql', 'mariadb'],
    parseUrl: parseMysqlUrl,
    urlForm: 'a mysql:// URL',
    describe: describe,
    binDirInput: 'mysql-bin-dir',
    secretsOf: secretsOf,
    setLimits: limits => (MysqlSession.limits = { ...limits }),
    withDatabase: withDatabase,
    openRead: (target, role) => MysqlSession.open(target, role),
    // FLUSH TABLES WITH READ LOCK holds production's writers until the dump's snapshot has begun.
    snapshotHoldsWriters: true,
    openMaintenance: target => MysqlMaintenance.openMaintenance(target),
    cannotCreateDatabases: (role, where, hint) => `Account ${role} on the clean room (${where}) cannot create databases: give it ` +
        'the CREATE, DROP, ALTER, INDEX, INSERT, CREATE VIEW, CREATE ROUTINE, ALTER ROUTINE, TRIGGER, EVENT and REFERENCES ' +
        `privileges on *.* there (docs/mysql.md), or use an account that has them${hint ? `; ${hint}` : ''}.`,
    assertSeparateTargets: (production, cleanroom) => assertSeparateServers(production, cleanroom),
    async assertSeparateServers(production, cleanroom) {
        const [p, c] = [ownSession(production), ownSession(cleanroom)];
        assertSeparateServers(p.target, c.target);
        assertSeparateServers(p.target, c.target, { production: await p.facts(), cleanroom: await c.facts() });
    },
    diffSchema: (production, restored, collationsRewritten, restoredDisabled) => diffAsDumped((mine, theirs) => diffSchema(mine, theirs, collationsRewritten), production, restored, restoredDisabled),
    rowDiffSide: (session, table, key) => ownSession(session).rowDiffSide(table, key),
    findClientTools: (production, cleanroom, binDir) => findClientTools(releaseOf(production), releaseOf(cleanroom), binDir),
    clientPrograms: tools => ({ dump: named(tools.dump), restore: named(tools.client) }),
    sanitizer: { build: buildSanitizer },
    streamDumpToRestore: streamForRun,
    // A failed restore in the client's words; any other program's failure is the run's (stream.ts judged).
    restoreDumpFile: async (request) => judged(await restoreDumpFile(request), request.restoreInto),
    readDrillCatalog: (session, rowCounts) => ownSession(session).drillCatalog(rowCounts),
    drillOperators: MYSQL_DRILL_OPERATORS,
    planDrill: planMysqlDrill
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
