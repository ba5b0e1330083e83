/**
 * One schema as each server's information_schema presents it, for the MySQL/MariaDB schema
 * comparison's tests (test/unit/engines/mysql/schema-presentation.test.ts, and
 * test/integration/engines/mysql/schema-presentation.test.ts, which checks the MariaDB rows
 * against a real server and restores MYSQL_8_DUMP there).
 */
import type { Flavour } from '../../src/engines/mysql/schema-presentation.js'

// One schema as each server's information_schema presents it. The rows are what each server
// returns for the same CREATE TABLE (given in `SCHEMA` below, as a MySQL 8 dump restored into
// MariaDB after the sanitizer, or the other way round): MySQL 8.0.36 and MariaDB 10.11 as read
// from their information_schema (the MariaDB rows are checked against a real 10.11 server by
// test/integration/engines/mysql/schema-presentation.test.ts), MySQL 5.7 from its manual
// (integer widths shown, `utf8`, no CHECK_CONSTRAINTS, no ENFORCED, no IS_VISIBLE).
//
// CREATE TABLE orders (
//   id INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
//   qty SMALLINT UNSIGNED NOT NULL DEFAULT 1,
//   note VARCHAR(20) CHARACTER SET utf8 NULL DEFAULT 'it''s \\ ok',
//   status ENUM('new','done') NOT NULL DEFAULT 'new',
//   created TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
//   flag TINYINT(1) NOT NULL DEFAULT 0,
//   yr YEAR NULL,
//   doc JSON NULL,
//   total DECIMAL(10,2) AS (qty * 2.5) STORED,
//   label VARCHAR(30) AS (CONCAT(note, '!')) VIRTUAL,
//   pos POINT NOT NULL SRID 4326,
//   KEY by_created (created) INVISIBLE,
//   CONSTRAINT qty_positive CHECK (qty > 0 AND qty < 1000)
// ) DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;
// CREATE VIEW big AS SELECT id FROM orders WHERE qty > 1 AND (flag = 1 OR yr IS NULL);
// CREATE FUNCTION twice(x INT) RETURNS INT DETERMINISTIC RETURN x * 2;

export type Row = Record<string, string | null>

export interface ServerRows {
  flavour: Flavour
  version: string
  /** information_schema columns the server has (the probe's answer), as TABLE.COLUMN. */
  optional: string[]
  tables: Row[]
  columns: Row[]
  statistics: Row[]
  constraints: Row[]
  views: Row[]
  parameters: Row[]
  routines: Row[]
  geometry?: Row[]
  events?: Row[]
}

const column = (over: Row): Row => ({
  t: 'orders',
  position: '1',
  nullable: 'YES',
  default: null,
  extra: '',
  generated: '',
  charset: null,
  collation: null,
  comment: '',
  ...over
})

export const MYSQL_80: ServerRows = {
  flavour: 'mysql',
  version: '8.0.36',
  optional: [
    'STATISTICS.IS_VISIBLE',
    'STATISTICS.EXPRESSION',
    'COLUMNS.SRS_ID',
    'TABLE_CONSTRAINTS.ENFORCED',
    'CHECK_CONSTRAINTS.CHECK_CLAUSE'
  ],
  tables: [{ t: 'orders', type: 'BASE TABLE', engine: 'InnoDB', collation: 'utf8mb4_general_ci', comment: '', options: '' }],
  columns: [
    column({ c: 'id', position: '1', type: 'int', nullable: 'NO', extra: 'auto_increment', srid: null }),
    column({ c: 'qty', position: '2', type: 'smallint unsigned', nullable: 'NO', default: '1', srid: null }),
    column({
      c: 'note',
      position: '3',
      type: 'varchar(20)',
      default: "it's \\ ok",
      charset: 'utf8mb3',
      collation: 'utf8mb3_general_ci',
      srid: null
    }),
    column({
      c: 'status',
      position: '4',
      type: "enum('new','done')",
      nullable: 'NO',
      default: 'new',
      charset: 'utf8mb4',
      collation: 'utf8mb4_general_ci',
      srid: null
    }),
    column({
      c: 'created',
      position: '5',
      type: 'timestamp(3)',
      nullable: 'NO',
      default: 'CURRENT_TIMESTAMP(3)',
      extra: 'DEFAULT_GENERATED on update CURRENT_TIMESTAMP(3)',
      srid: null
    }),
    column({ c: 'flag', position: '6', type: 'tinyint(1)', nullable: 'NO', default: '0', srid: null }),
    column({ c: 'yr', position: '7', type: 'year', srid: null }),
    column({ c: 'doc', position: '8', type: 'json', srid: null }),
    column({
      c: 'total',
      position: '9',
      type: 'decimal(10,2)',
      extra: 'STORED GENERATED',
      generated: '(`qty` * 2.5)',
      srid: null
    }),
    column({
      c: 'label',
      position: '10',
      type: 'varchar(30)',
      extra: 'VIRTUAL GENERATED',
      generated: "concat(`note`,_utf8mb4\\'!\\')",
      charset: 'utf8mb4',
      collation: 'utf8mb4_general_ci',
      srid: null
    }),
    column({ c: 'pos', position: '11', type: 'point', nullable: 'NO', srid: '4326' })
  ],
  statistics: [
    {
      t: 'orders',
      i: 'by_created',
      non_unique: '1',
      type: 'BTREE',
      comment: '',
      c: 'created',
      ord: 'A',
      sub: null,
      visible: 'NO',
      expression: null
    },
    {
      t: 'orders',
      i: 'PRIMARY',
      non_unique: '0',
      type: 'BTREE',
      comment: '',
      c: 'id',
      ord: 'A',
      sub: null,
      visible: 'YES',
      expression: null
    }
  ],
  constraints: [
    {
      t: 'orders',
      name: 'PRIMARY',
      type: 'PRIMARY KEY',
      clause: null,
      on_update: null,
      on_delete: null,
      match_option: null,
      enforced: 'YES',
      columns: 'id -> ||'
    },
    {
      t: 'orders',
      name: 'qty_positive',
      type: 'CHECK',
      clause: '((`qty` > 0) and (`qty` < 1000))',
      on_update: null,
      on_delete: null,
      match_option: null,
      enforced: 'YES',
      columns: null
    }
  ],
  views: [
    {
      v: 'big',
      definition:
        'select `shop`.`orders`.`id` AS `id` from `shop`.`orders` where ((`shop`.`orders`.`qty` > 1) and ((`shop`.`orders`.`flag` = 1) or (`shop`.`orders`.`yr` is null)))',
      check_option: 'NONE',
      updatable: 'YES',
      security: 'DEFINER',
      charset: 'utf8mb4',
      collation: 'utf8mb4_general_ci'
    }
  ],
  parameters: [{ r: 'twice', type: 'FUNCTION', position: '1', mode: 'IN', name: 'x', dtd: 'int' }],
  routines: [
    {
      r: 'twice',
      type: 'FUNCTION',
      returns: 'int',
      body: 'RETURN x * 2',
      deterministic: 'YES',
      access: 'CONTAINS SQL',
      security: 'DEFINER',
      sql_mode:
        'ONLY_FULL_GROUP_BY,STRICT_TRANS_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION',
      comment: '',
      charset: 'utf8mb4',
      collation: 'utf8mb4_general_ci'
    }
  ]
}

export const MARIADB_1011: ServerRows = {
  flavour: 'mariadb',
  version: '10.11.8-MariaDB-0+deb12u1',
  optional: ['STATISTICS.IGNORED', 'CHECK_CONSTRAINTS.CHECK_CLAUSE', 'CHECK_CONSTRAINTS.TABLE_NAME'],
  tables: [{ t: 'orders', type: 'BASE TABLE', engine: 'InnoDB', collation: 'utf8mb4_general_ci', comment: '', options: '' }],
  columns: [
    column({ c: 'id', position: '1', type: 'int(11)', nullable: 'NO', extra: 'auto_increment' }),
    column({ c: 'qty', position: '2', type: 'smallint(5) unsigned', nullable: 'NO', default: '1' }),
    column({
      c: 'note',
      position: '3',
      type: 'varchar(20)',
      default: "'it''s \\\\ ok'",
      charset: 'utf8mb3',
      collation: 'utf8mb3_general_ci'
    }),
    column({
      c: 'status',
      position: '4',
      type: "enum('new','done')",
      nullable: 'NO',
      default: "'new'",
      charset: 'utf8mb4',
      collation: 'utf8mb4_general_ci'
    }),
    column({
      c: 'created',
      position: '5',
      type: 'timestamp(3)',
      nullable: 'NO',
      default: 'current_timestamp(3)',
      extra: 'on update current_timestamp(3)'
    }),
    column({ c: 'flag', position: '6', type: 'tinyint(1)', nullable: 'NO', default: '0' }),
    column({ c: 'yr', position: '7', type: 'year(4)', default: 'NULL' }),
    column({
      c: 'doc',
      position: '8',
      type: 'longtext',
      default: 'NULL',
      charset: 'utf8mb4',
      collation: 'utf8mb4_bin'
    }),
    column({
      c: 'total',
      position: '9',
      type: 'decimal(10,2)',
      extra: 'STORED GENERATED',
      generated: '`qty` * 2.5'
    }),
    column({
      c: 'label',
      position: '10',
      type: 'varchar(30)',
      extra: 'VIRTUAL GENERATED',
      generated: "concat(`note`,'!')",
      charset: 'utf8mb4',
      collation: 'utf8mb4_general_ci'
    }),
    column({ c: 'pos', position: '11', type: 'point', nullable: 'NO' })
  ],
  geometry: [{ t: 'orders', c: 'pos', srid: '4326' }],
  statistics: [
    {
      t: 'orders',
      i: 'by_created',
      non_unique: '1',
      type: 'BTREE',
      comment: '',
      c: 'created',
      ord: 'A',
      sub: null,
      ignored: 'YES'
    },
    { t: 'orders', i: 'PRIMARY', non_unique: '0', type: 'BTREE', comment: '', c: 'id', ord: 'A', sub: null, ignored: 'NO' }
  ],
  constraints: [
    {
      t: 'orders',
      name: 'PRIMARY',
      type: 'PRIMARY KEY',
      clause: null,
      on_update: null,
      on_delete: null,
      match_option: null,
      columns: 'id -> ||'
    },
    {
      t: 'orders',
      name: 'doc',
      type: 'CHECK',
      clause: 'json_valid(`doc`)',
      on_update: null,
      on_delete: null,
      match_option: null,
      columns: null
    },
    {
      t: 'orders',
      name: 'qty_positive',
      type: 'CHECK',
      clause: '`qty` > 0 and `qty` < 1000',
      on_update: null,
      on_delete: null,
      match_option: null,
      columns: null
    }
  ],
  views: [
    {
      v: 'big',
      definition:
        'select `shop`.`orders`.`id` AS `id` from `shop`.`orders` where `shop`.`orders`.`qty` > 1 and (`shop`.`orders`.`flag` = 1 or `shop`.`orders`.`yr` is null)',
      check_option: 'NONE',
      updatable: 'YES',
      security: 'DEFINER',
      algorithm: 'UNDEFINED',
      charset: 'utf8mb4',
      collation: 'utf8mb4_general_ci'
    }
  ],
  parameters: [{ r: 'twice', type: 'FUNCTION', position: '1', mode: 'IN', name: 'x', dtd: 'int(11)' }],
  routines: [
    {
      r: 'twice',
      type: 'FUNCTION',
      returns: 'int(11)',
      body: 'RETURN x * 2',
      deterministic: 'YES',
      access: 'CONTAINS SQL',
      security: 'DEFINER',
      sql_mode:
        'STRICT_TRANS_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION,ONLY_FULL_GROUP_BY',
      comment: '',
      charset: 'utf8mb4',
      collation: 'utf8mb4_general_ci'
    }
  ]
}

/**
 * MySQL 5.7: the same schema but the CHECK (5.7 parses CHECK and ignores it), the INVISIBLE index
 * (8.0+) and the column's SRID (8.0.3+).
 */
export const MYSQL_57: ServerRows = {
  ...MYSQL_80,
  version: '5.7.44-log',
  optional: [],
  columns: MYSQL_80.columns.map(row => {
    const { srid: _srid, ...rest } = row
    const by: Record<string, Row> = {
      id: { type: 'int(11)' },
      qty: { type: 'smallint(5) unsigned' },
      note: { charset: 'utf8', collation: 'utf8_general_ci' },
      created: { extra: 'on update CURRENT_TIMESTAMP(3)' },
      yr: { type: 'year(4)' },
      label: { generated: "concat(`note`,'!')" }
    }
    return { ...rest, ...by[row.c!] }
  }),
  statistics: MYSQL_80.statistics.filter(row => row.i === 'PRIMARY').map(({ visible: _v, expression: _e, ...rest }) => rest),
  constraints: [MYSQL_80.constraints[0]].map(({ enforced: _e, ...rest }) => rest),
  parameters: [{ ...MYSQL_80.parameters[0], dtd: 'int(11)' }],
  routines: [{ ...MYSQL_80.routines[0], returns: 'int(11)' }]
}

/** The schema of the rows above, as MariaDB takes it (the integration test creates it on a real server). */
export const MARIADB_SCHEMA_SQL = `
CREATE TABLE orders (
  id INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  qty SMALLINT UNSIGNED NOT NULL DEFAULT 1,
  note VARCHAR(20) CHARACTER SET utf8mb3 NULL DEFAULT 'it''s \\\\ ok',
  status ENUM('new','done') NOT NULL DEFAULT 'new',
  created TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
  flag TINYINT(1) NOT NULL DEFAULT 0,
  yr YEAR NULL,
  doc JSON NULL,
  total DECIMAL(10,2) AS (qty * 2.5) STORED,
  label VARCHAR(30) AS (CONCAT(note, '!')) VIRTUAL,
  pos POINT REF_SYSTEM_ID=4326 NOT NULL,
  KEY by_created (created) IGNORED,
  CONSTRAINT qty_positive CHECK (qty > 0 AND qty < 1000)
) DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;
CREATE VIEW big AS SELECT id FROM orders WHERE qty > 1 AND (flag = 1 OR yr IS NULL);
SET SESSION sql_mode = 'ONLY_FULL_GROUP_BY,STRICT_TRANS_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION';
CREATE FUNCTION twice(x INT) RETURNS INT DETERMINISTIC RETURN x * 2;
`

/**
 * The same schema as MySQL 8.0.36's mysqldump writes it (database `shop`, MYSQL_80's rows): what
 * the sanitizer gets from a MySQL 8 production, to be restored into a MariaDB clean room.
 */
export const MYSQL_8_DUMP = `-- MySQL dump 10.13  Distrib 8.0.36, for Linux (x86_64)
--
-- Host: 127.0.0.1    Database: shop
-- ------------------------------------------------------
-- Server version	8.0.36

/*!40101 SET @OLD_CHARACTER_SET_CLIENT=@@CHARACTER_SET_CLIENT */;
/*!40101 SET @OLD_CHARACTER_SET_RESULTS=@@CHARACTER_SET_RESULTS */;
/*!40101 SET @OLD_COLLATION_CONNECTION=@@COLLATION_CONNECTION */;
/*!50503 SET NAMES utf8mb4 */;
/*!40103 SET @OLD_TIME_ZONE=@@TIME_ZONE */;
/*!40103 SET TIME_ZONE='+00:00' */;
/*!40014 SET @OLD_UNIQUE_CHECKS=@@UNIQUE_CHECKS, UNIQUE_CHECKS=0 */;
/*!40014 SET @OLD_FOREIGN_KEY_CHECKS=@@FOREIGN_KEY_CHECKS, FOREIGN_KEY_CHECKS=0 */;
/*!40101 SET @OLD_SQL_MODE=@@SQL_MODE, SQL_MODE='NO_AUTO_VALUE_ON_ZERO' */;
/*!40111 SET @OLD_SQL_NOTES=@@SQL_NOTES, SQL_NOTES=0 */;

--
-- Table structure for table \`orders\`
--

DROP TABLE IF EXISTS \`orders\`;
/*!40101 SET @saved_cs_client     = @@character_set_client */;
/*!50503 SET character_set_client = utf8mb4 */;
CREATE TABLE \`orders\` (
  \`id\` int NOT NULL AUTO_INCREMENT,
  \`qty\` smallint unsigned NOT NULL DEFAULT '1',
  \`note\` varchar(20) CHARACTER SET utf8mb3 COLLATE utf8mb3_general_ci DEFAULT 'it''s \\\\ ok',
  \`status\` enum('new','done') NOT NULL DEFAULT 'new',
  \`created\` timestamp(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
  \`flag\` tinyint(1) NOT NULL DEFAULT '0',
  \`yr\` year DEFAULT NULL,
  \`doc\` json DEFAULT NULL,
  \`total\` decimal(10,2) GENERATED ALWAYS AS ((\`qty\` * 2.5)) STORED,
  \`label\` varchar(30) GENERATED ALWAYS AS (concat(\`note\`,_utf8mb4'!')) VIRTUAL,
  \`pos\` point NOT NULL /*!80003 SRID 4326 */,
  PRIMARY KEY (\`id\`),
  KEY \`by_created\` (\`created\`) /*!80000 INVISIBLE */,
  CONSTRAINT \`qty_positive\` CHECK (((\`qty\` > 0) and (\`qty\` < 1000)))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;
/*!40101 SET character_set_client = @saved_cs_client */;

--
-- Temporary view structure for view \`big\`
--

DROP TABLE IF EXISTS \`big\`;
/*!50001 DROP VIEW IF EXISTS \`big\`*/;
SET @saved_cs_client     = @@character_set_client;
/*!50503 SET character_set_client = utf8mb4 */;
/*!50001 CREATE VIEW \`big\` AS SELECT
 1 AS \`id\`*/;
SET character_set_client = @saved_cs_client;

--
-- Dumping routines for database 'shop'
--
/*!50003 DROP FUNCTION IF EXISTS \`twice\` */;
/*!50003 SET @saved_cs_client      = @@character_set_client */ ;
/*!50003 SET @saved_cs_results     = @@character_set_results */ ;
/*!50003 SET @saved_col_connection = @@collation_connection */ ;
/*!50003 SET character_set_client  = utf8mb4 */ ;
/*!50003 SET character_set_results = utf8mb4 */ ;
/*!50003 SET collation_connection  = utf8mb4_general_ci */ ;
/*!50003 SET @saved_sql_mode       = @@sql_mode */ ;
/*!50003 SET sql_mode              = 'ONLY_FULL_GROUP_BY,STRICT_TRANS_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION' */ ;
DELIMITER ;;
CREATE DEFINER=\`app\`@\`%\` FUNCTION \`twice\`(x INT) RETURNS int
    DETERMINISTIC
RETURN x * 2 ;;
DELIMITER ;
/*!50003 SET sql_mode              = @saved_sql_mode */ ;
/*!50003 SET character_set_client  = @saved_cs_client */ ;
/*!50003 SET character_set_results = @saved_cs_results */ ;
/*!50003 SET collation_connection  = @saved_col_connection */ ;

--
-- Final view structure for view \`big\`
--

/*!50001 DROP VIEW IF EXISTS \`big\`*/;
/*!50001 SET @saved_cs_client          = @@character_set_client */;
/*!50001 SET @saved_cs_results         = @@character_set_results */;
/*!50001 SET @saved_col_connection     = @@collation_connection */;
/*!50001 SET character_set_client      = utf8mb4 */;
/*!50001 SET character_set_results     = utf8mb4 */;
/*!50001 SET collation_connection      = utf8mb4_general_ci */;
/*!50001 CREATE ALGORITHM=UNDEFINED */
/*!50013 DEFINER=\`app\`@\`%\` SQL SECURITY DEFINER */
/*!50001 VIEW \`big\` AS select \`orders\`.\`id\` AS \`id\` from \`orders\` where ((\`orders\`.\`qty\` > 1) and ((\`orders\`.\`flag\` = 1) or (\`orders\`.\`yr\` is null))) */;
/*!50001 SET character_set_client      = @saved_cs_client */;
/*!50001 SET character_set_results     = @saved_cs_results */;
/*!50001 SET collation_connection      = @saved_col_connection */;
/*!40103 SET TIME_ZONE=@OLD_TIME_ZONE */;

/*!40101 SET SQL_MODE=@OLD_SQL_MODE */;
/*!40014 SET FOREIGN_KEY_CHECKS=@OLD_FOREIGN_KEY_CHECKS */;
/*!40014 SET UNIQUE_CHECKS=@OLD_UNIQUE_CHECKS */;
/*!40101 SET CHARACTER_SET_CLIENT=@OLD_CHARACTER_SET_CLIENT */;
/*!40101 SET CHARACTER_SET_RESULTS=@OLD_CHARACTER_SET_RESULTS */;
/*!40101 SET COLLATION_CONNECTION=@OLD_COLLATION_CONNECTION */;
/*!40111 SET SQL_NOTES=@OLD_SQL_NOTES */;

-- Dump completed on 2026-11-30 14:00:00
`
