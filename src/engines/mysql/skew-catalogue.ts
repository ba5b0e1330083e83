/**
 * The version skews between MySQL (5.7, 8.0, 8.4) and MariaDB (10.6 to 11) dumps and the servers
 * and clients that restore them, each with its source, what the sanitizer does about it
 * (sanitize-rules.ts) and when. A rule that rewrites says so in the run's report; one that cannot
 * be rewritten faithfully stops the stream with a clear error before the client reads the line.
 */

export type SkewRuleId =
  'sandbox-line' | 'collation-0900' | 'definer' | 'gtid-state' | 'mysql-versioned-comment' | 'mariadb-only-syntax'

export interface SkewRule {
  /** What the dump holds, as the report names it. */
  construct: string
  /** What goes wrong without the rule. */
  problem: string
  /** What the sanitizer does. */
  action: string
  /** Where the behaviour is documented (release notes, manual, source) and how it was checked here. */
  source: string
}

export const SKEW_RULES: Record<SkewRuleId, SkewRule> = {
  'sandbox-line': {
    construct: 'the sandbox-mode first line (/*!999999\\- enable the sandbox mode */)',
    problem:
      "mariadb-dump (10.5.25, 10.6.18, 10.11.8, 11.0.6, 11.1.5, 11.2.4, 11.4.2 and later) opens every dump with a line holding the client command \\-, which MySQL's client and older MariaDB clients reject ('Unknown command')",
    action:
      'removed when the restoring client does not know the command; kept for a MariaDB client that does (it turns on the sandbox, which refuses file-system commands)',
    source:
      "MariaDB MDEV-33727 (mariadb-dump trusts the server: sandbox mode) and MDEV-34203 (\\- read in --binary-mode too), release notes of 10.5.25/10.6.18/10.11.8 (May 2024); later releases write it as /*M!999999\\- ...*/, which MySQL's client reads as a plain comment (mariadb-dump 10.11.19 here writes that form)"
  },
  'collation-0900': {
    construct: 'utf8mb4_0900_* collations',
    problem:
      "MySQL 8.0's default utf8mb4 collations (utf8mb4_0900_ai_ci and the other _0900_ ones) do not exist in MySQL 5.7 nor in MariaDB before 11.4 ('Unknown collation')",
    action:
      "rewritten to the clean room's nearest equivalent (MariaDB 10.10+: utf8mb4_uca1400_nopad_*, which MariaDB 11.4.5 made their aliases; otherwise utf8mb4_unicode_520_nopad_ci or utf8mb4_unicode_520_ci, and utf8mb4_nopad_bin for _0900_bin) only when the clean room lacks them, in the places mysqldump writes them (column definitions, table options, a routine's collation_connection); anywhere else the stream stops. The schema comparison treats each pair as the same (COLLATION_EQUIVALENTS)",
    source:
      'MySQL 8.0 Reference Manual 10.10.1 (Unicode Character Sets: utf8mb4_0900_ai_ci is based on UCA 9.0.0); MariaDB 10.10.1 (MDEV-27009: UCA 14.0.0 collations utf8mb4_uca1400_*); MariaDB 11.4.5 release notes, character sets and collations (utf8mb4_0900_* added as aliases of utf8mb4_uca1400_nopad_*)'
  },
  definer: {
    construct: 'DEFINER clauses',
    problem:
      "views, routines, triggers and events name production's accounts as their DEFINER; the clean room lacks them, and naming another account than one's own needs SET USER / SUPER",
    action:
      'stripped where mysqldump writes them (CREATE DEFINER=... of routines, /*!50017 DEFINER=...*/ of triggers, /*!50117 ...*/ of events, /*!50013 DEFINER=... SQL SECURITY ...*/ of views): the objects then belong to the restoring account. DEFINERs are not compared',
    source:
      'MySQL 8.0 Reference Manual 25.6 (Stored Object Access Control: "If the DEFINER clause is present, ... SET_USER_ID or SUPER"); MariaDB KB CREATE VIEW / CREATE PROCEDURE (DEFINER); mysqldump source (client/mysqldump.cc: the /*!50013 and /*!50017 comments)'
  },
  'gtid-state': {
    construct: 'GTID state lines',
    problem:
      "MySQL's mysqldump of a GTID server writes SET @@GLOBAL.GTID_PURGED=... and SET @@SESSION.SQL_LOG_BIN= 0 (SUPER or SYSTEM_VARIABLES_ADMIN needed; they change the clean room's replication state); MariaDB's with --gtid writes SET GLOBAL gtid_slave_pos=...",
    action: 'removed (Lazarus also passes --set-gtid-purged=OFF to MySQL dumps)',
    source:
      'MySQL 8.0 Reference Manual 6.5.4 (mysqldump --set-gtid-purged: "SET @@GLOBAL.gtid_purged ... SET @@SESSION.sql_log_bin=0"); MariaDB KB mariadb-dump --gtid'
  },
  'mysql-versioned-comment': {
    construct: 'MySQL 5.7/8.0 versioned comments (/*!50700 to /*!99999)',
    problem:
      'MariaDB ignores versioned comments numbered 50700 to 99999 (it is no MySQL 5.7 or 8.0), so a MySQL 8 clause a dump keeps in one is lost without an error: /*!80023 INVISIBLE */ columns become visible, /*!80000 INVISIBLE */ indexes used, /*!80003 SRID n */ columns unrestricted, /*!80016 NOT ENFORCED */ checks enforced',
    action:
      "on a MariaDB clean room, rewritten to MariaDB's own syntax where it has one (INVISIBLE columns, IGNORED indexes from 10.6, REF_SYSTEM_ID=n); any other (NOT ENFORCED has no equivalent) stops the stream, naming the clause",
    source:
      'MariaDB KB "Comment Syntax" (executable comments; MySQL 5.7+ version numbers are ignored), checked on MariaDB 10.11 here (SELECT 1 /*!80016 ,2 */ returns 1); MySQL 8.0 Reference Manual 13.1.20.10 (Invisible Columns: written as /*!80023 INVISIBLE */), 8.3.12 (Invisible Indexes), 11.4.1 (SRID), 13.1.20.6 (CHECK ... NOT ENFORCED); MariaDB KB IGNORED indexes (10.6.0), REF_SYSTEM_ID'
  },
  'mariadb-only-syntax': {
    construct: 'MariaDB-only objects and table options',
    problem:
      'MySQL has no sequences (CREATE SEQUENCE, SETVAL), no system-versioned tables (WITH SYSTEM VERSIONING), no Aria table options (PAGE_CHECKSUM, TRANSACTIONAL), and refuses the values mariadb-dump writes for generated columns (error 3105)',
    action: 'on a MySQL clean room, the stream stops naming the construct: the restore could not be faithful',
    source:
      'MariaDB KB CREATE SEQUENCE (10.3), System-Versioned Tables (10.3.4), Aria storage formats (PAGE_CHECKSUM, TRANSACTIONAL); MySQL 8.0 Reference Manual 13.1.20.8 (generated columns: "ER_NON_DEFAULT_VALUE_FOR_GENERATED_COLUMN")'
  }
}

/**
 * MySQL 8's `_0900_` collations and MariaDB's equivalents, best first. MySQL's are NO PAD
 * collations of the Unicode Collation Algorithm; MariaDB 11.4.5 made them aliases of its
 * utf8mb4_uca1400_nopad_* ones (UCA 14, 10.10+), which are the same ordering with the same accent
 * and case sensitivity and no padding. Where those are missing, the nearest: the PAD SPACE
 * uca1400 one, then UCA 5.2 (utf8mb4_unicode_520_nopad_ci, utf8mb4_unicode_520_ci); a `_bin`
 * orders by code point (utf8mb4_nopad_bin). The language tailorings map to MariaDB's names.
 */
const LANGUAGES: Record<string, string> = {
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
}

/** The candidates, best first, for one `utf8mb4[_lang]_0900_<sensitivity>` collation; undefined for another name. */
export function collationCandidates(name: string): string[] | undefined {
  const match = /^utf8mb4_(?:([a-z_]+?)_)?0900_(ai_ci|as_ci|as_cs|bin|as_cs_ks)$/.exec(name)
  if (!match) return undefined
  const [, language, sensitivity] = match
  if (sensitivity === 'bin') return ['utf8mb4_nopad_bin', 'utf8mb4_bin']
  const uca = sensitivity === 'as_cs_ks' ? 'as_cs' : sensitivity
  const tailored =
    language && LANGUAGES[language]
      ? [`utf8mb4_uca1400_${LANGUAGES[language]}_nopad_${uca}`, `utf8mb4_uca1400_${LANGUAGES[language]}_${uca}`]
      : []
  const fallback =
    uca === 'as_cs' ? ['utf8mb4_nopad_bin', 'utf8mb4_bin'] : ['utf8mb4_unicode_520_nopad_ci', 'utf8mb4_unicode_520_ci']
  return [...tailored, `utf8mb4_uca1400_nopad_${uca}`, `utf8mb4_uca1400_${uca}`, ...fallback]
}

/** MySQL's `_0900_` collations a dump may name (the server's SHOW COLLATION, MySQL 8.0). */
export const MYSQL_0900_COLLATIONS: readonly string[] = [
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
]

/**
 * The rewrites the sanitizer makes for a clean room that knows `cleanroomCollations`: each
 * `_0900_` collation it lacks, to the best equivalent it has. Empty when it has them all (MySQL
 * 8, MariaDB 11.4+). A collation with no equivalent there is left out: the stream stops on it.
 */
export function collationRewrites(cleanroomCollations: Iterable<string>): Map<string, string> {
  // MariaDB 10.10+ lists its UCA 14 collations in information_schema.COLLATIONS without their
  // character set (uca1400_ai_ci, applicable to utf8mb4 and others): either spelling counts.
  const known = new Set([...cleanroomCollations].flatMap(name => [name.toLowerCase(), `utf8mb4_${name.toLowerCase()}`]))
  const rewrites = new Map<string, string>()
  for (const name of MYSQL_0900_COLLATIONS) {
    if (known.has(name)) continue
    const target = collationCandidates(name)?.find(candidate => known.has(candidate))
    if (target) rewrites.set(name, target)
  }
  return rewrites
}

/**
 * The pairs the schema comparison must treat as the same collation (production's `_0900_` one,
 * the clean room's rewrite of it) for a clean room that knows `cleanroomCollations`: the engine's
 * schema comparison imports this (it is the sanitizer's doing, not a difference of the backup).
 */
export function collationEquivalents(cleanroomCollations: Iterable<string>): Map<string, string> {
  return collationRewrites(cleanroomCollations)
}
