/**
 * A tricky database for the MySQL/MariaDB engine's tests: reserved and quoted names, every common
 * type (JSON, spatial, BLOB, DECIMAL, DATETIME with fractions, utf8mb4 text with emoji, NULL
 * beside ''), generated columns, triggers, routines, views, an event, partitions, foreign keys,
 * CHECK constraints and AUTO_INCREMENT counters. Run through the mariadb client (server.sql), as
 * a user's own tools would create it.
 */
export const TRICKY_SQL = `
CREATE TABLE \`order\` (
  \`select\` INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  \`we\`\`ird name\` VARCHAR(40) NULL,
  \`Ünïcode\` VARCHAR(40) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL,
  note TEXT NULL,
  UNIQUE KEY \`by name\` (\`we\`\`ird name\`)
) ENGINE=InnoDB COMMENT='reserved and quoted names';

CREATE TABLE types (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  tiny TINYINT NULL, small SMALLINT UNSIGNED NULL, big BIGINT NULL,
  amount DECIMAL(30,10) NULL, ratio FLOAT NULL, precise DOUBLE NULL,
  flags BIT(5) NULL, day DATE NULL, moment DATETIME(6) NULL, stamp TIMESTAMP(6) NULL DEFAULT NULL,
  duration TIME(3) NULL, yr YEAR NULL,
  code CHAR(3) NULL, label VARCHAR(100) CHARACTER SET utf8mb4 NULL, body MEDIUMTEXT NULL,
  raw BLOB NULL, bin VARBINARY(16) NULL,
  mood ENUM('sad','ok','happy') NULL, tags SET('a','b','c') NULL,
  doc JSON NULL,
  place POINT NULL,
  shape GEOMETRY NULL,
  halved BIGINT AS (big DIV 2) VIRTUAL,
  label_length INT AS (CHAR_LENGTH(label)) STORED,
  KEY by_moment (moment DESC),
  KEY by_label_prefix (label(10)),
  FULLTEXT KEY ft_body (body),
  CONSTRAINT positive_amount CHECK (amount IS NULL OR amount >= 0)
) ENGINE=InnoDB;

CREATE TABLE customer (
  id INT NOT NULL PRIMARY KEY,
  email VARCHAR(100) NOT NULL,
  UNIQUE KEY email_unique (email)
) ENGINE=InnoDB;

CREATE TABLE invoice (
  customer_id INT NOT NULL,
  line_no SMALLINT NOT NULL,
  total DECIMAL(12,2) NOT NULL DEFAULT 0.00,
  PRIMARY KEY (customer_id, line_no),
  CONSTRAINT invoice_customer FOREIGN KEY (customer_id) REFERENCES customer (id) ON DELETE CASCADE ON UPDATE RESTRICT
) ENGINE=InnoDB;

CREATE TABLE nokey (a INT NULL, b VARCHAR(10) NULL) ENGINE=InnoDB;

CREATE TABLE spatial_places (
  id INT NOT NULL PRIMARY KEY,
  pos POINT NOT NULL,
  SPATIAL KEY by_pos (pos)
) ENGINE=InnoDB;

CREATE TABLE measurements (
  id INT NOT NULL,
  taken DATE NOT NULL,
  value DOUBLE NULL,
  PRIMARY KEY (id, taken)
) ENGINE=InnoDB
PARTITION BY RANGE (YEAR(taken)) (
  PARTITION p2023 VALUES LESS THAN (2024),
  PARTITION p2024 VALUES LESS THAN (2025),
  PARTITION pmax VALUES LESS THAN MAXVALUE
);

CREATE TABLE audit (id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, what VARCHAR(100) NOT NULL) ENGINE=InnoDB;

CREATE TRIGGER order_audit AFTER INSERT ON \`order\` FOR EACH ROW
  INSERT INTO audit (what) VALUES (CONCAT('order ', NEW.\`select\`));

CREATE VIEW big_invoices AS SELECT i.customer_id, i.total, c.email FROM invoice i JOIN customer c ON c.id = i.customer_id WHERE i.total > 100;

DELIMITER //
CREATE FUNCTION twice(x INT) RETURNS INT DETERMINISTIC NO SQL RETURN x * 2 //
CREATE PROCEDURE add_customer(IN new_id INT, IN new_email VARCHAR(100))
MODIFIES SQL DATA
BEGIN
  INSERT INTO customer (id, email) VALUES (new_id, new_email);
END //
DELIMITER ;

CREATE EVENT nightly ON SCHEDULE AT '2037-12-31 00:00:00' ON COMPLETION PRESERVE DISABLE DO DELETE FROM audit;

INSERT INTO \`order\` (\`we\`\`ird name\`, \`Ünïcode\`, note) VALUES
  ('plain', 'ÄÖÜ', NULL), ('', '', ''), (NULL, NULL, 'null name'), ('quote''s \\\\ back', 'emoji 🙂🚀', 'tab	and
newline');

INSERT INTO types (tiny, small, big, amount, ratio, precise, flags, day, moment, stamp, duration, yr, code, label, body,
                   raw, bin, mood, tags, doc, place, shape) VALUES
  (-128, 65535, -9223372036854775808, 12345678901234567890.0123456789, 0.1, 2.718281828459045, b'10101', '2024-02-29',
   '2024-02-29 23:59:59.999999', '2024-06-01 12:00:00.000001', '-838:59:59.000', 2024, 'abc', 'café 🙂 ☕', REPEAT('long ', 1000),
   0x00FF10, 0xDEADBEEF, 'happy', 'a,c', '{"b": [1, 2, {"c": null}], "a": "x"}', ST_GeomFromText('POINT(1.5 -2.25)'),
   ST_GeomFromText('POLYGON((0 0, 1 0, 1 1, 0 0))')),
  (NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
   NULL, NULL),
  (0, 0, 0, 0, 0, 0, b'0', '1000-01-01', '1000-01-01 00:00:00.000000', '1970-01-01 00:00:01.000000', '00:00:00', 1901, '', '', '',
   '', '', 'sad', '', '[]', ST_GeomFromText('POINT(0 0)'), ST_GeomFromText('LINESTRING(0 0, 1 1)'));

INSERT INTO customer (id, email) VALUES (1, 'a@example.com'), (2, 'b@example.com'), (3, 'c@example.com');
INSERT INTO invoice (customer_id, line_no, total) VALUES (1, 1, 10.50), (1, 2, 250.00), (2, 1, 99.99), (3, 1, 1000.01);
INSERT INTO nokey (a, b) VALUES (1, 'x'), (1, 'x'), (NULL, ''), (2, NULL);
INSERT INTO spatial_places (id, pos) VALUES (1, POINT(1, 1)), (2, POINT(-3.5, 7));
INSERT INTO measurements (id, taken, value) VALUES (1, '2023-05-01', 1.5), (2, '2024-05-01', NULL), (3, '2030-01-01', -0.0);
`
