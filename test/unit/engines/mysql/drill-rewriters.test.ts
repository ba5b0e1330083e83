import { test } from 'node:test'
import assert from 'node:assert/strict'
import {
  dropConstraintRewriter,
  dropIndexRewriter,
  dropRowRewriter,
  duplicateRowRewriter,
  mutateCellRewriter,
  mutateValue,
  parseInsertHead,
  parseTuples,
  resetAutoIncrementRewriter,
  truncateRewriter,
  type DumpRewriter
} from '../../../../src/engines/mysql/drill-rewriters.js'

// The drill's rewriters of MySQL/MariaDB dumps: each changes exactly its target, in both INSERT
// layouts (MySQL: a statement's tuples on one line; MariaDB 10.11+: a tuple a line), and never a
// row's or a body's text that reads like its target.

function rewrite(rewriter: DumpRewriter, dump: string): string {
  const out: string[] = []
  for (const line of dump.replace(/\n$/, '').split('\n')) out.push(...rewriter.push(line))
  return out.join('\n') + '\n'
}

const CREATE = [
  'CREATE TABLE `order s` (',
  '  `id` int(11) NOT NULL AUTO_INCREMENT,',
  "  `note` varchar(50) DEFAULT 'KEY `by_note` (',",
  '  `customer` int(11) DEFAULT NULL,',
  '  PRIMARY KEY (`id`),',
  '  KEY `by_note` (`note`),',
  '  KEY `customer` (`customer`),',
  '  CONSTRAINT `order s_fk` FOREIGN KEY (`customer`) REFERENCES `customers` (`id`),',
  '  CONSTRAINT `positive` CHECK (`id` > 0)',
  ') ENGINE=InnoDB AUTO_INCREMENT=50 DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;'
].join('\n')

const MARIADB = `${CREATE}
LOCK TABLES \`order s\` WRITE;
INSERT INTO \`order s\` VALUES
(1,'it\\'s (a), \\\\ ''b''',NULL),
(2,'INSERT INTO \`order s\` VALUES (9,\\'x\\',1);',3),
(3,NULL,NULL);
UNLOCK TABLES;
INSERT INTO \`other\` VALUES
(1,'a');
`

const MYSQL = `${CREATE}
INSERT INTO \`order s\` (\`id\`, \`note\`, \`customer\`) VALUES (1,'it\\'s (a), \\\\ ''b''',NULL),(2,'x',3),(3,NULL,NULL);
INSERT INTO \`order s\` (\`id\`, \`note\`, \`customer\`) VALUES (4,'y',-1.5e3);
INSERT INTO \`other\` VALUES (1,'a');
`

test('the tuple lexer reads strings with escapes and doubled quotes, NULL, numbers, hex', () => {
  const parsed = parseTuples("(1,'it\\'s (a), \\\\ ''b''',NULL,0x00FF,-1.5e3),(2,'',_binary 'x')  ;")
  assert.deepEqual(
    parsed?.tuples.map(tuple => tuple.values),
    [
      ['1', "'it\\'s (a), \\\\ ''b'''", 'NULL', '0x00FF', '-1.5e3'],
      ['2', "''", "_binary 'x'"]
    ]
  )
  assert.equal(parsed?.end, '  ;')
  assert.deepEqual(parseTuples("(1,'a'),")?.end, ',')
  assert.equal(parseTuples("(1,'a"), undefined)
  assert.deepEqual(parseInsertHead('INSERT INTO `a``b` (`x`, `y``z`) VALUES (1,2);'), {
    table: 'a`b',
    columns: ['x', 'y`z'],
    head: 'INSERT INTO `a``b` (`x`, `y``z`) VALUES ',
    rest: '(1,2);'
  })
})

test('drop-row drops the first row, in both layouts; a statement left without rows goes whole', () => {
  const mariadb = dropRowRewriter({ name: 'order s' }, ['id'])
  assert.equal(rewrite(mariadb, MARIADB), MARIADB.replace("(1,'it\\'s (a), \\\\ ''b''',NULL),\n", ''))
  assert.equal(mariadb.result()?.evidence, 'row (id)=(1) of `order s` dropped')
  const mysql = dropRowRewriter({ name: 'order s' }, ['id'])
  assert.equal(rewrite(mysql, MYSQL), MYSQL.replace("(1,'it\\'s (a), \\\\ ''b''',NULL),", ''))
  const single = "INSERT INTO `t` VALUES\n(1,'a');\nINSERT INTO `t` VALUES\n(2,'b');\n"
  assert.equal(rewrite(dropRowRewriter({ name: 't' }), single), "INSERT INTO `t` VALUES\n(2,'b');\n")
  assert.equal(rewrite(dropRowRewriter({ name: 't' }), "INSERT INTO `t` VALUES (1,'a');\nSELECT 1;\n"), 'SELECT 1;\n')
  const missing = dropRowRewriter({ name: 'nope' })
  assert.equal(rewrite(missing, MARIADB), MARIADB)
  assert.equal(missing.result(), undefined)
})

test("a row's text that reads like the target table's INSERT is never taken for one", () => {
  const dump = "INSERT INTO `x` VALUES\n('a'),\n('\nINSERT INTO `t` VALUES (1);\n');\nINSERT INTO `t` VALUES (5);\n"
  assert.equal(
    rewrite(dropRowRewriter({ name: 't' }), dump),
    "INSERT INTO `x` VALUES\n('a'),\n('\nINSERT INTO `t` VALUES (1);\n');\n"
  )
})

test('duplicate-row writes the first row twice', () => {
  const rewriter = duplicateRowRewriter({ name: 'order s' })
  const row = "(1,'it\\'s (a), \\\\ ''b''',NULL)"
  assert.equal(rewrite(rewriter, MARIADB), MARIADB.replace(`${row},\n`, `${row},${row},\n`))
  assert.equal(rewrite(duplicateRowRewriter({ name: 'order s' }), MYSQL), MYSQL.replace(`${row},`, `${row},${row},`))
  // The evidence names the row without its values: they are production's data (show-values decides).
  assert.equal(rewriter.result()?.evidence, 'the first row of `order s` written twice')
})

test('mutate-cell changes one character of the column in the first row that has one to change', () => {
  const rewriter = mutateCellRewriter({ name: 'order s' }, 'customer', ['id'])
  // Rows 1's customer is NULL: row 2's 3 becomes 4.
  assert.equal(rewrite(rewriter, MARIADB), MARIADB.replace("VALUES (9,\\'x\\',1);',3),", "VALUES (9,\\'x\\',1);',4),"))
  assert.equal(rewriter.result()?.evidence, 'one character of `customer` changed in row (id)=(2) of `order s`')
  const note = mutateCellRewriter({ name: 'order s' }, 'note')
  assert.equal(rewrite(note, MYSQL), MYSQL.replace("(1,'it\\'s (a)", "(1,'ju\\'s (a)".replace('ju', 'jt')))
  assert.equal(note.result()?.evidence, 'one character of `note` changed in the first row of `order s`')
  assert.equal(mutateValue("'2024-01-31 10:00:00'"), "'3024-01-31 10:00:00'")
  assert.equal(mutateValue('\'{"a":1}\''), '\'{"b":1}\'')
  assert.equal(mutateValue('-1.5e3'), '-1.6e3')
  assert.equal(mutateValue('0x00FF'), '0x00F0')
  assert.equal(mutateValue('NULL'), undefined)
  assert.equal(mutateValue("''"), undefined)
  assert.equal(mutateValue("'\\n'"), undefined)
})

test('truncate drops every INSERT of the table, and only its', () => {
  const rewriter = truncateRewriter({ name: 'order s' })
  assert.equal(
    rewrite(rewriter, MARIADB),
    `${CREATE}\nLOCK TABLES \`order s\` WRITE;\nUNLOCK TABLES;\nINSERT INTO \`other\` VALUES\n(1,'a');\n`
  )
  assert.equal(rewriter.result()?.evidence, '3 rows of `order s` dropped (1 INSERT statements)')
  const mysql = truncateRewriter({ name: 'order s' })
  assert.equal(rewrite(mysql, MYSQL), `${CREATE}\nINSERT INTO \`other\` VALUES (1,'a');\n`)
  assert.equal(mysql.result()?.evidence, '4 rows of `order s` dropped (2 INSERT statements)')
})

test('drop-index and drop-constraint take one line of the CREATE TABLE, and the comma before a last one', () => {
  const index = dropIndexRewriter({ name: 'order s' }, 'by_note')
  assert.equal(rewrite(index, MARIADB), MARIADB.replace('  KEY `by_note` (`note`),\n', ''))
  assert.match(index.result()?.evidence ?? '', /^index `by_note` dropped from `order s`: KEY `by_note` \(`note`\)$/)
  const fk = dropConstraintRewriter({ name: 'order s' }, 'order s_fk')
  assert.equal(rewrite(fk, MARIADB), MARIADB.replace(/ {2}CONSTRAINT `order s_fk`.*\n/, ''))
  const last = dropConstraintRewriter({ name: 'order s' }, 'positive')
  assert.equal(
    rewrite(last, MARIADB),
    MARIADB.replace(
      'REFERENCES `customers` (`id`),\n  CONSTRAINT `positive` CHECK (`id` > 0)\n',
      'REFERENCES `customers` (`id`)\n'
    )
  )
  const none = dropIndexRewriter({ name: 'other' }, 'by_note')
  assert.equal(rewrite(none, MARIADB), MARIADB)
  assert.equal(none.result(), undefined)
})

test('reset-auto-increment moves the counter where the restored table would show it', () => {
  const rewriter = resetAutoIncrementRewriter({ name: 'order s' })
  assert.equal(rewrite(rewriter, MARIADB), MARIADB.replace('AUTO_INCREMENT=50 ', 'AUTO_INCREMENT=1050 '))
  assert.equal(rewriter.result()?.evidence, 'AUTO_INCREMENT of `order s` changed from 50 to 1050')
  const none =
    'CREATE TABLE `t` (\n  `id` int NOT NULL AUTO_INCREMENT,\n  PRIMARY KEY (`id`)\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;\n'
  assert.equal(
    rewrite(resetAutoIncrementRewriter({ name: 't' }, 7n), none),
    none.replace('ENGINE=InnoDB ', 'ENGINE=InnoDB AUTO_INCREMENT=7 ')
  )
})
