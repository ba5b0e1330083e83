import { createHash } from 'node:crypto'

/**
 * The corruption suite's cases (corruption-suite.test.ts). Each is a damage done to the dump of
 * fixtures/everything.sql, and `names`: what the report must name for it to count as caught.
 * A control changes nothing, or only the form of a value, and must be verified.
 */

/** An edit of the dump; see test/support/dump-editor.mjs. */
export type Edit =
  { line: string; with: string[] } | { find: string; replace: string; optional?: boolean } | { after: string; insert: string[] }

export interface SuiteCase {
  name: string
  edits: Edit[]
  /** For a corruption: a finding ("table data.types: ...", "index kinds.x") that must match. */
  names?: RegExp
  control?: boolean
  /**
   * The database the case damages the dump of: `everything` (fixtures/everything.sql, restored
   * with restore-role: superuser, since it holds what only a superuser can restore) or
   * `privileges` (PRIVILEGES_SQL, owners and privileges restored under the default,
   * restore-role: unprivileged, replayed apart with stand-ins).
   */
  fixture?: 'everything' | 'privileges'
}

/** A corruption as one line: replace `find` (part of a line) with `replace`. */
const swap = (name: string, find: string, replace: string, names: RegExp): SuiteCase => ({
  name,
  edits: [{ find, replace }],
  names
})

/** A corruption that deletes one whole line. */
const drop = (name: string, line: string, names: RegExp): SuiteCase => ({ name, edits: [{ line, with: [] }], names })

/**
 * Also removes the `OWNER TO` of an object a case removes: a dump with owners (a superuser clean
 * room) would otherwise fail to restore on it. Optional, since a dump without owners has none.
 */
const withoutOwner = (suiteCase: SuiteCase, ownerStatement: string): SuiteCase => ({
  ...suiteCase,
  edits: [...suiteCase.edits, { find: ownerStatement, replace: 'SELECT 1; -- ', optional: true }]
})

/** A control that must still say `verified`. */
const control = (name: string, edits: Edit[]): SuiteCase => ({ name, edits, control: true })

/** A corruption that replaces one whole statement line by a statement that does nothing. */
const nothing = (name: string, line: string, names: RegExp): SuiteCase => ({
  name,
  edits: [{ line, with: ['SELECT 1;'] }],
  names
})

/** A corruption that inserts lines after an exact line. */
const add = (name: string, after: string, insert: string[], names: RegExp): SuiteCase => ({
  name,
  edits: [{ after, insert }],
  names
})

/**
 * Corruptions of schema objects, large objects, extension configuration rows and table rows,
 * then controls. Adding a case is one line: the helpers above take the dump text to edit and
 * what the report must name.
 */
export const CASES: SuiteCase[] = [
  // Tables, columns, constraints, indexes.
  swap('table: UNLOGGED lost', 'CREATE UNLOGGED TABLE data.cache (', 'CREATE TABLE data.cache (', /^table data\.cache$/),
  swap(
    'table: TOAST option changed',
    "WITH (toast.autovacuum_enabled='false');",
    "WITH (toast.autovacuum_enabled='true');",
    /^table settings kinds\.tuned$/
  ),
  swap('table: TOAST option lost', "WITH (toast.autovacuum_enabled='false');", ';', /^table settings kinds\.tuned$/),
  swap(
    'table: access method changed',
    'default_table_access_method = heap_copy;',
    'default_table_access_method = heap;',
    /^table settings kinds\.on_copy$/
  ),
  swap(
    'table: partition bounds changed',
    "ATTACH PARTITION kinds.split_b FOR VALUES FROM ('2024-07-01') TO ('2025-01-01');",
    "ATTACH PARTITION kinds.split_b FOR VALUES FROM ('2024-07-01') TO ('2025-06-01');",
    /^table kinds\.split_b$/
  ),
  nothing('table: row-level security off', 'ALTER TABLE kinds.orders ENABLE ROW LEVEL SECURITY;', /^table kinds\.orders$/),
  nothing('table: replica identity lost', 'ALTER TABLE ONLY kinds.orders REPLICA IDENTITY FULL;', /^table kinds\.orders$/),
  swap(
    'table: replica identity on another index',
    'REPLICA IDENTITY USING INDEX layout_b_ref;',
    'REPLICA IDENTITY USING INDEX layout_a_code;',
    /^table kinds\.layout$/
  ),
  {
    name: 'column order: two columns swapped',
    edits: [
      { find: '    first_name text,', replace: '    last_name text, -- swapped' },
      { line: '    last_name text,', with: ['    first_name text,'] }
    ],
    names: /^column order kinds\.layout$/
  },
  {
    name: 'column order: two attributes of a composite type swapped',
    edits: [
      { line: '\tlat numeric,', with: ['\tlon numeric,'] },
      { line: '\tlon numeric', with: ['\tlat numeric'] }
    ],
    names: /^column order kinds\.coordinates$/
  },
  swap('table: foreign table option changed', "    table_name 'r'", "    table_name 's'", /^table kinds\.remote$/),
  {
    name: 'table: typed table made plain',
    edits: [
      { line: 'CREATE TABLE data.typed OF data.pair (', with: ['CREATE TABLE data.typed (', '    x integer NOT NULL, y text'] },
      { line: '    x NOT NULL', with: [] }
    ],
    names: /^table settings data\.typed$/
  },
  add('table: extra table', 'CREATE SCHEMA kinds;', ['CREATE TABLE kinds.intruder (id integer);'], /kinds\.intruder/),
  add('schema: extra schema', 'CREATE SCHEMA kinds;', ['CREATE SCHEMA intruders;'], /^schema intruders$/),
  swap('column: type changed', '    c_int2 smallint,', '    c_int2 integer,', /^column data\.types\.c_int2$/),
  swap(
    'column: default changed',
    '    amount numeric DEFAULT 0,',
    '    amount numeric DEFAULT 1,',
    /^column kinds\.orders\.amount$/
  ),
  swap('column: NOT NULL lost', '    customer text NOT NULL,', '    customer text,', /^column kinds\.orders\.customer$/),
  swap(
    'column: generated expression changed',
    'GENERATED ALWAYS AS ((width * height)) STORED',
    'GENERATED ALWAYS AS ((width + height)) STORED',
    /^column data\.measures\.area$/
  ),
  swap('column: extra column', '    score integer', '    score integer, extra integer', /^column kinds\.tuned\.extra$/),
  swap('column: attribute type of a composite changed', '	y text', '	y character varying', /^column data\.pair\.y$/),
  swap(
    'column settings: statistics target changed',
    'ALTER COLUMN body SET STATISTICS 500;',
    'ALTER COLUMN body SET STATISTICS 501;',
    /^column settings kinds\.tuned\.body$/
  ),
  swap(
    'column settings: storage changed',
    'ALTER COLUMN body SET STORAGE EXTERNAL;',
    'ALTER COLUMN body SET STORAGE MAIN;',
    /^column settings kinds\.tuned\.body$/
  ),
  swap(
    'column settings: attribute option changed',
    'SET (n_distinct=42);',
    'SET (n_distinct=43);',
    /^column settings kinds\.tuned\.code$/
  ),
  swap(
    'column settings: index column statistics changed',
    'ALTER COLUMN 1 SET STATISTICS 300;',
    'ALTER COLUMN 1 SET STATISTICS 301;',
    /^column settings kinds\.tuned_expr_idx\.expr$/
  ),
  swap(
    'column settings: foreign column option changed',
    "    column_name 'remote_id'",
    "    column_name 'other_id'",
    /^column settings kinds\.remote\.id$/
  ),
  swap(
    'column settings: view column default changed',
    "ALTER COLUMN note SET DEFAULT 'from view'::text;",
    "ALTER COLUMN note SET DEFAULT 'changed'::text;",
    /^column settings kinds\.defaults\.note$/
  ),
  nothing(
    'column settings: view column default lost',
    "ALTER TABLE ONLY kinds.defaults ALTER COLUMN note SET DEFAULT 'from view'::text;",
    /^column settings kinds\.defaults\.note$/
  ),
  swap(
    'constraint: check changed',
    'CHECK ((amount >= (0)::numeric))',
    'CHECK ((amount >= (-1)::numeric))',
    /^constraint kinds\.orders\.orders_amount_check$/
  ),
  swap(
    'constraint: unique lost',
    '    ADD CONSTRAINT orders_customer_key UNIQUE (customer);',
    '    RESET (fillfactor);',
    /^constraint kinds\.orders\.orders_customer_key$/
  ),
  swap(
    'constraint: primary key made unique',
    '    ADD CONSTRAINT maybe_pkey PRIMARY KEY (id);',
    '    ADD CONSTRAINT maybe_pkey UNIQUE (id);',
    /^constraint data\.maybe\.maybe_pkey$/
  ),
  swap(
    'constraint: foreign key lost',
    '    ADD CONSTRAINT orders_tuned_id_fkey FOREIGN KEY (tuned_id) REFERENCES kinds.tuned(id);',
    '    RESET (fillfactor);',
    /^constraint kinds\.orders\.orders_tuned_id_fkey$/
  ),
  swap(
    'constraint: foreign key made deferrable',
    'REFERENCES kinds.tuned(id);',
    'REFERENCES kinds.tuned(id) DEFERRABLE;',
    /^constraint kinds\.orders\.orders_tuned_id_fkey$/
  ),
  swap(
    'index: predicate changed',
    '(customer) WHERE (amount > (5)::numeric);',
    '(customer) WHERE (amount > (6)::numeric);',
    /^index kinds\.orders_big_idx$/
  ),
  nothing(
    'index: lost',
    'CREATE INDEX orders_big_idx ON kinds.orders USING btree (customer) WHERE (amount > (5)::numeric);',
    /^index kinds\.orders_big_idx$/
  ),
  swap(
    'index: expression changed',
    'USING btree (((score + 1)));',
    'USING btree (((score + 2)));',
    /^index kinds\.tuned_expr_idx$/
  ),
  nothing('index: CLUSTER ON lost', 'ALTER TABLE kinds.orders CLUSTER ON orders_amount_idx;', /^index kinds\.orders_amount_idx$/),
  add(
    'index: extra index',
    'CREATE INDEX orders_amount_idx ON kinds.orders USING btree (amount);',
    ['CREATE INDEX intruder_idx ON kinds.orders (code);'],
    /^index kinds\.intruder_idx$/
  ),
  nothing(
    'partitioned index: attachment lost',
    'ALTER INDEX kinds.split_at_idx ATTACH PARTITION kinds.split_b_at_idx;',
    /^partitioned index kinds\.split_at_idx$/
  ),
  nothing(
    'partitioned index: key attachment lost',
    'ALTER INDEX data.events_pkey ATTACH PARTITION data.events_2024_pkey;',
    /^partitioned index data\.events_pkey$/
  ),
  // Views, functions, triggers, rules, policies.
  swap(
    'view: definition changed',
    'WHERE (orders.amount > (15)::numeric);',
    'WHERE (orders.amount > (16)::numeric);',
    /^view kinds\.big_orders$/
  ),
  swap(
    'view: option lost',
    "CREATE VIEW kinds.big_orders WITH (security_barrier='true') AS",
    'CREATE VIEW kinds.big_orders AS',
    /^view kinds\.big_orders$/
  ),
  nothing('materialized view: never refreshed', 'REFRESH MATERIALIZED VIEW kinds.order_totals;', /kinds\.order_totals/),
  swap(
    'function: body changed',
    'BEGIN NEW.amount := NEW.amount; RETURN NEW; END',
    'BEGIN NEW.amount := NEW.amount + 0; RETURN NEW; END',
    /^function kinds\.touch\(\)$/
  ),
  swap(
    'function: cost changed',
    'CREATE FUNCTION kinds.int_lt(integer, integer) RETURNS boolean',
    'CREATE FUNCTION kinds.int_lt(integer, integer) RETURNS boolean COST 7',
    /^function kinds\.int_lt\(integer, integer\)$/
  ),
  swap(
    'function: SQL body changed',
    'AS $_$SELECT $1 < $2$_$;',
    'AS $_$SELECT $1 <= $2$_$;',
    /^function kinds\.int_lt\(integer, integer\)$/
  ),
  swap(
    'procedure: body changed',
    'AS $$ UPDATE kinds.orders SET amount = p $$;',
    'AS $$ UPDATE kinds.orders SET amount = p + 1 $$;',
    /^function kinds\.reset\(integer\)$/
  ),
  swap(
    'aggregate: parallel safety changed',
    '    PARALLEL = safe',
    '    PARALLEL = restricted',
    /^function kinds\.total\(numeric\)$/
  ),
  swap(
    'aggregate: initial condition changed',
    "    INITCOND = '0',",
    "    INITCOND = '1',",
    /^function kinds\.total\(numeric\)$/
  ),
  swap(
    'aggregate: moving initial condition changed',
    "    MINITCOND = '0',",
    "    MINITCOND = '1',",
    /^function kinds\.total\(numeric\)$/
  ),
  swap('aggregate: combine function lost', '    COMBINEFUNC = numeric_add,', '', /^function kinds\.total\(numeric\)$/),
  swap(
    'trigger: event changed',
    'CREATE TRIGGER orders_touch BEFORE UPDATE ON',
    'CREATE TRIGGER orders_touch BEFORE INSERT OR UPDATE ON',
    /^trigger kinds\.orders\.orders_touch$/
  ),
  add(
    'trigger: disabled',
    'CREATE TRIGGER orders_touch BEFORE UPDATE ON kinds.orders FOR EACH ROW EXECUTE FUNCTION kinds.touch();',
    ['ALTER TABLE kinds.orders DISABLE TRIGGER orders_touch;'],
    /^trigger kinds\.orders\.orders_touch$/
  ),
  nothing(
    'trigger: lost',
    'CREATE TRIGGER orders_touch BEFORE UPDATE ON kinds.orders FOR EACH ROW EXECUTE FUNCTION kinds.touch();',
    /^trigger kinds\.orders\.orders_touch$/
  ),
  swap(
    'rule: condition changed',
    'WHERE (old.amount > (100)::numeric) DO INSTEAD NOTHING;',
    'WHERE (old.amount > (200)::numeric) DO INSTEAD NOTHING;',
    /^rule kinds\.orders\.orders_no_delete$/
  ),
  swap(
    'policy: command changed',
    'FOR SELECT USING ((customer = CURRENT_USER));',
    'FOR ALL USING ((customer = CURRENT_USER));',
    /^policy kinds\.orders\.orders_own$/
  ),
  // Sequences, types, statistics, extensions, comments.
  swap('sequence: increment changed', '    INCREMENT BY 5', '    INCREMENT BY 6', /^sequence kinds\.counter$/),
  swap(
    'sequence: value reset',
    "SELECT pg_catalog.setval('kinds.counter', 10, true);",
    "SELECT pg_catalog.setval('kinds.counter', 5, true);",
    /^sequence kinds\.counter$/
  ),
  swap(
    'sequence: is_called lost',
    "SELECT pg_catalog.setval('kinds.counter', 10, true);",
    "SELECT pg_catalog.setval('kinds.counter', 10, false);",
    /^sequence kinds\.counter$/
  ),
  nothing(
    'sequence: owner lost',
    'ALTER SEQUENCE kinds.orders_id_seq OWNED BY kinds.orders.id;',
    /^sequence kinds\.orders_id_seq$/
  ),
  add('enum: extra label', "    'ok',", ["    'meh',"], /^enum data\.mood$/),
  swap(
    'domain: check changed',
    'CONSTRAINT code_short CHECK ((length(VALUE) < 10));',
    'CONSTRAINT code_short CHECK ((length(VALUE) < 11));',
    /^domain kinds\.code$/
  ),
  swap(
    'domain: default changed',
    "CREATE DOMAIN kinds.code AS text DEFAULT 'none'::text",
    "CREATE DOMAIN kinds.code AS text DEFAULT 'nada'::text",
    /^domain kinds\.code$/
  ),
  swap('domain: range check changed', '(VALUE <= 100)', '(VALUE <= 101)', /^domain data\.percent$/),
  swap(
    'range type: subtype difference added',
    '    subtype = integer',
    '    subtype = integer, subtype_diff = int4range_subdiff',
    /^type kinds\.span$/
  ),
  swap(
    'statistics: kind changed',
    'CREATE STATISTICS kinds.orders_stats (dependencies)',
    'CREATE STATISTICS kinds.orders_stats (ndistinct)',
    /^statistics kinds\.orders_stats$/
  ),
  swap(
    'statistics target: changed',
    'ALTER STATISTICS kinds.tuned_stats SET STATISTICS 700;',
    'ALTER STATISTICS kinds.tuned_stats SET STATISTICS 701;',
    /^statistics target kinds\.tuned_stats$/
  ),
  nothing(
    'statistics target: lost',
    'ALTER STATISTICS kinds.tuned_stats SET STATISTICS 700;',
    /^statistics target kinds\.tuned_stats$/
  ),
  swap(
    'extension: older version',
    'CREATE EXTENSION IF NOT EXISTS citext WITH SCHEMA public;',
    "CREATE EXTENSION IF NOT EXISTS citext WITH SCHEMA public VERSION '1.4';",
    /^extension citext$/
  ),
  swap(
    'comment: table comment changed',
    "COMMENT ON TABLE kinds.orders IS 'orders';",
    "COMMENT ON TABLE kinds.orders IS 'Orders';",
    /^comment table kinds\.orders$/
  ),
  nothing(
    'comment: column comment lost',
    "COMMENT ON COLUMN kinds.orders.amount IS 'in euros';",
    /^comment table column kinds\.orders\.amount$/
  ),
  swap(
    'comment: operator comment changed',
    "IS 'strict equality';",
    "IS 'loose equality';",
    /^comment operator kinds\.===\(integer,integer\)$/
  ),
  swap(
    'comment: server comment changed',
    "COMMENT ON SERVER kinds_server IS 'the remote';",
    "COMMENT ON SERVER kinds_server IS 'a remote';",
    /^comment server kinds_server$/
  ),
  swap(
    'comment: extension comment changed',
    "COMMENT ON EXTENSION citext IS 'data type for case-insensitive character strings';",
    "COMMENT ON EXTENSION citext IS 'changed';",
    /^comment extension citext$/
  ),
  // Catalog kinds: operators and their families, casts, collations, text search, languages...
  swap('operator: commutator lost', '    COMMUTATOR = OPERATOR(kinds.===),', '', /^operator kinds\."==="\(integer, integer\)$/),
  swap('operator: HASHES lost', '    HASHES,', '', /^operator kinds\."==="\(integer, integer\)$/),
  swap(
    'operator: restriction estimator changed',
    '    RESTRICT = eqsel,',
    '    RESTRICT = scalarltsel,',
    /^operator kinds\."==="\(integer, integer\)$/
  ),
  swap(
    'operator family: member strategy changed',
    '    OPERATOR 1 kinds.<<<(integer,integer) ,',
    '    OPERATOR 2 kinds.<<<(integer,integer) ,',
    /^operator family kinds\.int_family USING btree$/
  ),
  {
    name: 'operator class: lost',
    edits: [
      { line: 'CREATE OPERATOR CLASS kinds.int_class', with: [] },
      { line: '    FOR TYPE integer USING btree FAMILY kinds.int_family AS', with: [] },
      { line: '    OPERATOR 1 kinds.<<<(integer,integer) ,', with: [] },
      { line: '    OPERATOR 3 kinds.===(integer,integer) ,', with: [] },
      { line: '    FUNCTION 1 (integer, integer) kinds.int_cmp(integer,integer);', with: [] },
      { find: 'ALTER OPERATOR CLASS kinds.int_class USING btree OWNER TO', replace: 'SELECT 1; -- ', optional: true }
    ],
    names: /^operator class kinds\.int_class USING btree$/
  },
  swap(
    'cast: context changed',
    'kinds.temperature_to_numeric(kinds.temperature) AS ASSIGNMENT;',
    'kinds.temperature_to_numeric(kinds.temperature) AS IMPLICIT;',
    /^cast \(kinds\.temperature AS numeric\)$/
  ),
  nothing(
    'cast: lost',
    'CREATE CAST (kinds.temperature AS numeric) WITH FUNCTION kinds.temperature_to_numeric(kinds.temperature) AS ASSIGNMENT;',
    /^cast \(kinds\.temperature AS numeric\)$/
  ),
  swap(
    'collation: locale changed',
    "CREATE COLLATION kinds.german (provider = libc, locale = 'C');",
    "CREATE COLLATION kinds.german (provider = libc, locale = 'POSIX');",
    /^collation kinds\.german$/
  ),
  swap(
    'collation: ICU locale changed',
    "CREATE COLLATION kinds.icu_fr (provider = icu, locale = 'fr');",
    "CREATE COLLATION kinds.icu_fr (provider = icu, locale = 'de');",
    /^collation kinds\.icu_fr$/
  ),
  withoutOwner(
    nothing(
      'conversion: lost',
      "CREATE CONVERSION kinds.my_latin1 FOR 'LATIN1' TO 'UTF8' FROM iso8859_1_to_utf8;",
      /^conversion kinds\.my_latin1$/
    ),
    'ALTER CONVERSION kinds.my_latin1 OWNER TO'
  ),
  swap(
    'text search dictionary: option changed',
    "    stopwords = 'english' );",
    "    stopwords = 'french' );",
    /^text search dictionary kinds\.dictionary$/
  ),
  swap(
    'text search configuration: mapping changed',
    '    ADD MAPPING FOR word WITH kinds.dictionary, simple;',
    '    ADD MAPPING FOR word WITH simple;',
    /^text search configuration kinds\.config$/
  ),
  swap('text search parser: headline lost', '    HEADLINE = prsd_headline,', '', /^text search parser kinds\.parser$/),
  swap(
    'text search template: lexize function changed',
    '    LEXIZE = dsimple_lexize );',
    '    LEXIZE = dsynonym_lexize );',
    /^text search template kinds\.template$/
  ),
  swap(
    'language: validator lost',
    'HANDLER kinds.copy_handler VALIDATOR kinds.copy_validator;',
    'HANDLER kinds.copy_handler;',
    /^language plpgsql_copy$/
  ),
  swap(
    'language: made trusted',
    'CREATE PROCEDURAL LANGUAGE plpgsql_copy',
    'CREATE TRUSTED PROCEDURAL LANGUAGE plpgsql_copy',
    /^language plpgsql_copy$/
  ),
  swap(
    'transform: lost',
    'CREATE TRANSFORM FOR public.hstore LANGUAGE plpgsql_copy',
    'SELECT 1; -- ',
    /^transform FOR public\.hstore LANGUAGE plpgsql_copy$/
  ),
  swap(
    'access method: handler changed',
    'CREATE ACCESS METHOD btree_copy TYPE INDEX HANDLER bthandler;',
    'CREATE ACCESS METHOD btree_copy TYPE INDEX HANDLER hashhandler;',
    /^access method btree_copy$/
  ),
  swap('foreign data wrapper: option changed', "    debug 'true'", "    debug 'false'", /^foreign data wrapper kinds_wrapper$/),
  swap('server: option changed', "    host 'db.example',", "    host 'db2.example',", /^server kinds_server$/),
  swap(
    'server: version changed',
    "CREATE SERVER kinds_server TYPE 'remote' VERSION '1.0'",
    "CREATE SERVER kinds_server TYPE 'remote' VERSION '2.0'",
    /^server kinds_server$/
  ),
  swap(
    'user mapping: password changed',
    "    password 'hunter2',",
    "    password 'hunter3',",
    /^user mapping FOR public SERVER kinds_server$/
  ),
  swap(
    'user mapping: for another role',
    'CREATE USER MAPPING FOR public SERVER kinds_server',
    'CREATE USER MAPPING FOR postgres SERVER kinds_server',
    /^user mapping FOR public SERVER kinds_server$/
  ),
  swap(
    'event trigger: tags changed',
    "         WHEN TAG IN ('CREATE TABLE', 'ALTER TABLE')",
    "         WHEN TAG IN ('CREATE TABLE')",
    /^event trigger kinds_ddl$/
  ),
  add(
    'event trigger: disabled',
    '   EXECUTE FUNCTION kinds.on_ddl();',
    ['ALTER EVENT TRIGGER kinds_ddl DISABLE;'],
    /^event trigger kinds_ddl$/
  ),
  swap(
    'publication: actions changed',
    "CREATE PUBLICATION kinds_pub WITH (publish = 'insert, update');",
    "CREATE PUBLICATION kinds_pub WITH (publish = 'insert');",
    /^publication kinds_pub$/
  ),
  swap(
    'publication: partition root option lost',
    'publish_via_partition_root = true',
    'publish_via_partition_root = false',
    /^publication kinds_all$/
  ),
  nothing(
    'publication member: table lost',
    'ALTER PUBLICATION kinds_pub ADD TABLE ONLY data.keyless;',
    /^publication member kinds_pub TABLE data\.keyless$/
  ),
  // Large objects.
  swap(
    'large object: content changed',
    "'\\x6669727374206c61726765206f626a656374'",
    "'\\x6669727374206c61726765206f626a656375'",
    /^large object 424201$/
  ),
  swap('large object: content truncated', "0123456789abcdef');", "0123456789ab');", /^large object 424202$/),
  nothing(
    'large object: content lost',
    "SELECT pg_catalog.lowrite(0, '\\x6669727374206c61726765206f626a656374');",
    /^large object 424201$/
  ),
  add(
    'large object: empty one filled',
    "SELECT pg_catalog.lo_open('424203', 131072);",
    ["SELECT pg_catalog.lowrite(0, '\\x00');"],
    /^large object 424203$/
  ),
  {
    name: 'large object: missing',
    edits: [
      { line: "SELECT pg_catalog.lo_create('424203');", with: ['SELECT 1;'] },
      { find: "lo_open('424203', 131072)", replace: "lo_open('424202', 131072)" },
      { find: 'ALTER LARGE OBJECT 424203 OWNER TO', replace: 'SELECT 1; -- ', optional: true }
    ],
    names: /^large object 424203$/
  },
  add(
    'large object: extra',
    "SELECT pg_catalog.lo_create('424203');",
    ["SELECT pg_catalog.lo_create('424299');"],
    /^large object 424299$/
  ),
  swap(
    'large object: comment changed',
    "COMMENT ON LARGE OBJECT 424201 IS 'the first one';",
    "COMMENT ON LARGE OBJECT 424201 IS 'the second one';",
    /^comment large object 424201$/
  ),
  // Extension configuration rows.
  swap('extension config: row changed', 'theme\tdark\tf', 'theme\tlight\tf', /^table lazarus_fixture\.settings: /),
  drop('extension config: row lost', 'locale\tfr\tf', /^table lazarus_fixture\.settings: /),
  add('extension config: extra row', 'theme\tdark\tf', ['extra\tx\tf'], /^table lazarus_fixture\.settings: /),
  // Rows of other tables.
  swap('rows: NULL made empty', '1\t\\N\t\\N', '1\t\t\\N', /^table data\.maybe: .*changed \(id\)=\(1\)/),
  swap('rows: empty made NULL', '2\t\t{}', '2\t\\N\t{}', /^table data\.maybe: .*changed \(id\)=\(2\)/),
  swap('rows: array NULL element lost', '3\tx\t{NULL}', '3\tx\t{}', /^table data\.maybe: .*changed \(id\)=\(3\)/),
  drop('rows: duplicate lost from a keyless table', 'same\t1', /^table data\.keyless: /),
  add('rows: duplicate added to a keyless table', 'other\t2', ['other\t2'], /^table data\.keyless: /),
  swap('rows: inheritance child changed', '2\tchild row\t7', '2\tchild row\t8', /^table data\.child: /),
  drop('rows: inheritance parent row lost', '1\tparent row', /^table data\.parent: /),
  swap(
    'rows: partition row changed',
    '3\t2024-07-01\tnewer',
    '3\t2024-07-01\tnewest',
    /^table data\.events_2024: .*changed \(id, at\)=\(3, 2024-07-01\)/
  ),
  drop('rows: partition row lost', '1\t2023-06-01\told', /^table data\.events_2023: .*missing \(id, at\)=\(1, 2023-06-01\)/),
  swap('rows: generated column input changed', '2\t4\t5', '2\t4\t6', /^table data\.measures: .*changed \(id\)=\(2\)/),
  swap('rows: unlogged table row changed', 'a\tx', 'a\ty', /^table data\.cache: .*changed \(k\)=\(a\)/),
  swap('rows: typed table row changed', '1\ttyped', '1\ttyped!', /^table data\.typed: .*changed \(x\)=\(1\)/),
  swap(
    'rows: value of a table with a foreign key changed',
    '2\tbob\t20\tb2\t\\N',
    '2\tbob\t21\tb2\t\\N',
    /^table kinds\.orders: .*changed \(id\)=\(2\)/
  ),
  drop('rows: big table row lost', '150\t' + md5Payload(150), /^table data\.big: .*missing \(id\)=\(150\)/),
  swap(
    'rows: big table value changed',
    md5Payload(199),
    md5Payload(199).replace(/.$/, 'x'),
    /^table data\.big: .*changed \(id\)=\(199\)/
  ),
  add('rows: big table row added', '200\t' + md5Payload(200), ['201\textra'], /^table data\.big: .*extra \(id\)=\(201\)/),
  // Controls: no change, or a change of form only.
  control('nothing changed', []),
  control('jsonb keys in another order', [
    { find: '{"a": 1, "b": [1, 2]}\t{"a": 1, "b": [1, 2]}', replace: '{"a": 1, "b": [1, 2]}\t{"b": [1, 2], "a": 1}' }
  ]),
  control('jsonb without spaces', [{ find: '{"c": 2, "d": {"e": 3}}', replace: '{"c":2,"d":{"e":3}}' }]),
  control('the same instant in another time zone', [
    { find: '\t2024-02-02 11:00:00+00\t', replace: '\t2024-02-02 13:00:00+02\t' }
  ]),
  control('floats written otherwise', [{ find: '\t2.5\t4.5\t', replace: '\t2.50\t4.5e0\t' }]),
  control('integers with a sign and leading zeros', [{ find: '2\t2\t20\t200\t', replace: '2\t+2\t020\t200\t' }]),
  control('numeric without trailing zeros', [{ find: '\t2.500\t', replace: '\t2.5\t' }]),
  control('boolean spelled out', [{ find: '$7.00\tf\tbeta', replace: '$7.00\tfalse\tbeta' }]),
  control('uuid in braces without hyphens', [
    { find: '00000000-0000-0000-0000-000000000002', replace: '{00000000000000000000000000000002}' }
  ]),
  control('inet with its mask', [{ find: '\t10.0.0.2\t', replace: '\t10.0.0.2/32\t' }]),
  control('interval in words', [{ find: '\t2 days 03:00:00\t', replace: '\t2 days 3 hours\t' }]),
  control('date without leading zeros', [{ find: '\t2024-02-02\t', replace: '\t2024-2-2\t' }]),
  control('macaddr with hyphens in capitals', [{ find: '08:00:2b:01:02:04', replace: '08-00-2B-01-02-04' }]),
  control('rows in another order', [
    { line: '1\tann\t10\ta1\t1', with: [] },
    { after: '2\tbob\t20\tb2\t\\N', insert: ['1\tann\t10\ta1\t1'] }
  ]),
  control('a comment of the dump changed', [
    { find: '-- PostgreSQL database dump', replace: '-- a PostgreSQL database dump, edited' }
  ]),
  control('a large object written in two pieces', [
    {
      line: "SELECT pg_catalog.lowrite(0, '\\x6669727374206c61726765206f626a656374');",
      with: ["SELECT pg_catalog.lowrite(0, '\\x6669727374');", "SELECT pg_catalog.lowrite(0, '\\x206c61726765206f626a656374');"]
    }
  ]),
  control('user mapping options in another order', [
    { line: "    password 'hunter2',", with: ['    "user" \'app\','] },
    { line: '    "user" \'app\'', with: ["    password 'hunter2'"] }
  ])
]

/** data.big's payload for row `id` (fixtures/everything.sql: three times the md5 of its id). */
function md5Payload(id: number): string {
  return createHash('md5').update(String(id)).digest('hex').repeat(3)
}

/**
 * One case per type family: in each table data.t_<column> (a copy of one column of data.types),
 * row 2's value replaced by row 3's, which the type surely accepts. Built from the pristine dump.
 */
export function dataCases(dump: string): SuiteCase[] {
  const lines = dump.split('\n')
  const cases: SuiteCase[] = []
  lines.forEach((line, header) => {
    const copy = /^COPY data\.(t_\w+) \(id, (\w+)\) FROM stdin;$/.exec(line)
    if (!copy) return
    const rows = lines.slice(header + 1, lines.indexOf('\\.', header))
    const row2 = rows.find(row => row.startsWith('2\t'))!
    const row3 = rows.find(row => row.startsWith('3\t'))!
    cases.push({
      name: `data: one ${copy[2].slice(2)} value changed`,
      edits: [{ line: row2, with: [`2\t${row3.slice(2)}`] }],
      names: new RegExp(`^table data\\.${copy[1]}: .*changed \\(id\\)=\\(2\\)`)
    })
  })
  return cases
}

/**
 * Cases grouped into runs of the pipeline: no two in one run touch the same object (the part of
 * `names` before a colon) or the same line of the dump, so each corruption is still judged on its
 * own finding. Controls are grouped apart from corruptions, by the same rule: a run of controls
 * must say `verified` as a whole. With `alone`, every case is a run of its own.
 */
export function batches(cases: SuiteCase[], size: number, alone = false): SuiteCase[][] {
  const runs: SuiteCase[][] = []
  for (const suiteCase of cases) {
    const fits =
      !alone &&
      runs.find(
        run =>
          run.length < size &&
          run.every(other => Boolean(other.control) === Boolean(suiteCase.control) && !conflict(other, suiteCase))
      )
    if (fits) fits.push(suiteCase)
    else runs.push([suiteCase])
  }
  return runs
}

function conflict(a: SuiteCase, b: SuiteCase): boolean {
  // Another database is another run; owners and ACLs of one object interfere (an owner change
  // rewrites its ACL), so each privilege case runs alone on its small database.
  if ((a.fixture ?? 'everything') !== (b.fixture ?? 'everything')) return true
  if (a.fixture === 'privileges') return true
  const object = (c: SuiteCase) => c.names?.source.split(':')[0].replace(/[$^]/g, '')
  const anchors = (c: SuiteCase) => c.edits.map(edit => ('find' in edit ? edit.find : 'line' in edit ? edit.line : edit.after))
  if (!a.control && object(a) === object(b)) return true
  return anchors(a).some(x => anchors(b).some(y => x.includes(y) || y.includes(x)))
}

/** The roles PRIVILEGES_SQL names (global to the shared server: the suite's own names). */
export interface PrivilegeRoles {
  app: string
  reader: string
  writer: string
}

/**
 * A database of owners, grants, column grants, default privileges and a large object, with
 * nothing only a superuser can restore: verified under the default restore-role (unprivileged),
 * where the clean-room role replays pg_dump's ownership and privilege statements apart.
 */
export function privilegesSql(roles: PrivilegeRoles): string {
  return `
CREATE SCHEMA app AUTHORIZATION ${roles.app};
CREATE TABLE app.items (id int PRIMARY KEY, name text, secret text);
INSERT INTO app.items VALUES (1, 'one', 'x'), (2, 'two', 'y');
ALTER TABLE app.items OWNER TO ${roles.app};
GRANT SELECT ON app.items TO ${roles.reader};
GRANT SELECT (name), UPDATE (name) ON app.items TO ${roles.writer};
CREATE SEQUENCE app.counter;
ALTER SEQUENCE app.counter OWNER TO ${roles.app};
GRANT USAGE ON SEQUENCE app.counter TO ${roles.writer};
CREATE FUNCTION app.answer() RETURNS int LANGUAGE sql AS 'SELECT 42';
ALTER FUNCTION app.answer() OWNER TO ${roles.app};
REVOKE EXECUTE ON FUNCTION app.answer() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.answer() TO ${roles.reader};
GRANT USAGE ON SCHEMA app TO ${roles.reader}, ${roles.writer};
ALTER DEFAULT PRIVILEGES FOR ROLE ${roles.app} IN SCHEMA app GRANT SELECT ON TABLES TO ${roles.reader};
SELECT lo_from_bytea(515151, 'lazarus');
ALTER LARGE OBJECT 515151 OWNER TO ${roles.app};
GRANT SELECT ON LARGE OBJECT 515151 TO ${roles.reader};
`
}

/**
 * Damage to owners and privileges, each caught and named under restore-role: unprivileged: a
 * dropped GRANT, a changed owner, a dropped default privilege, a dropped column privilege, a
 * changed ACL on a function, a sequence, a schema and a large object; and a control. A dropped
 * statement becomes `SELECT 1; -- ...`: the line stays, as a no-op the restore runs.
 */
export function privilegeCases(roles: PrivilegeRoles): SuiteCase[] {
  const off = (find: string) => ({ find, replace: 'SELECT 1; -- ' })
  const cases: SuiteCase[] = [
    {
      name: 'privileges: a GRANT dropped',
      edits: [off(`GRANT SELECT ON TABLE app.items TO ${roles.reader};`)],
      names: /^privileges table app\.items$/
    },
    {
      name: 'privileges: a table owner changed',
      edits: [
        { find: `ALTER TABLE app.items OWNER TO ${roles.app};`, replace: `ALTER TABLE app.items OWNER TO ${roles.writer};` }
      ],
      names: /^owner table app\.items$/
    },
    {
      name: 'privileges: a default privilege dropped',
      edits: [off(`ALTER DEFAULT PRIVILEGES FOR ROLE ${roles.app} IN SCHEMA app GRANT SELECT ON TABLES`)],
      names: /^default privileges for role .* in schema app on tables$/
    },
    {
      name: 'privileges: a column privilege dropped',
      edits: [off(`GRANT SELECT(name),UPDATE(name) ON TABLE app.items TO ${roles.writer};`)],
      names: /^privileges table column app\.items\.name$/
    },
    {
      name: "privileges: a function's ACL changed",
      edits: [{ find: `ON FUNCTION app.answer() TO ${roles.reader};`, replace: `ON FUNCTION app.answer() TO ${roles.writer};` }],
      names: /^privileges function app\.answer\(\)$/
    },
    {
      name: "privileges: a sequence's ACL changed",
      edits: [
        {
          find: `GRANT USAGE ON SEQUENCE app.counter TO ${roles.writer};`,
          replace: `GRANT SELECT ON SEQUENCE app.counter TO ${roles.writer};`
        }
      ],
      names: /^privileges sequence app\.counter$/
    },
    {
      name: "privileges: a schema's ACL changed",
      edits: [off(`GRANT USAGE ON SCHEMA app TO ${roles.reader};`)],
      names: /^privileges schema app$/
    },
    {
      name: "privileges: a large object's ACL changed",
      edits: [
        {
          find: `GRANT SELECT ON LARGE OBJECT 515151 TO ${roles.reader};`,
          replace: `GRANT SELECT,UPDATE ON LARGE OBJECT 515151 TO ${roles.reader};`
        }
      ],
      names: /^privileges large object 515151$/
    },
    {
      name: "privileges: a large object's owner changed",
      edits: [
        {
          find: `ALTER LARGE OBJECT 515151 OWNER TO ${roles.app};`,
          replace: `ALTER LARGE OBJECT 515151 OWNER TO ${roles.reader};`
        }
      ],
      names: /^owner large object 515151$/
    },
    { name: 'privileges: control, nothing changed', edits: [], control: true }
  ]
  return cases.map(suiteCase => ({ ...suiteCase, fixture: 'privileges' as const }))
}
