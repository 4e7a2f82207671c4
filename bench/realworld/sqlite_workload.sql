-- The sqlite3 benchmark: sqlite3 DB < sqlite_workload.sql. 300,000 rows
-- inserted, an index, grouping, a join, LIKE scans, an update, a delete, a
-- sort: the allocator is busy with pages, rows and strings. The output is
-- the same every time; the benchmark compares it across variants.
PRAGMA journal_mode = MEMORY;
PRAGMA synchronous = OFF;
CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, grp INTEGER, score REAL);
WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 300000)
INSERT INTO t SELECT i, printf('name-%06d-%s', i, hex(i * 2654435761 % 1000003)), i % 97,
                     (i * 2654435761 % 1000003) / 7.0 FROM c;
CREATE TABLE g (grp INTEGER PRIMARY KEY, label TEXT);
WITH RECURSIVE c(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM c WHERE i < 96)
INSERT INTO g SELECT i, 'group ' || i FROM c;
CREATE INDEX t_grp ON t (grp, score);
SELECT grp, count(*), printf('%.2f', sum(score)) FROM t GROUP BY grp ORDER BY grp LIMIT 10;
SELECT count(*) FROM t WHERE name LIKE '%77%';
SELECT g.label, count(*), max(t.name) FROM t JOIN g USING (grp) WHERE t.score > 70000 GROUP BY g.label
  ORDER BY 2 DESC, 1 LIMIT 5;
UPDATE t SET score = score * 2, name = name || '-x' WHERE grp < 10;
DELETE FROM t WHERE id % 5 = 0;
SELECT count(*), printf('%.2f', total(score)) FROM t;
SELECT name FROM t ORDER BY score DESC, id LIMIT 5;
SELECT grp, group_concat(id) FROM (SELECT grp, id FROM t WHERE id < 400 ORDER BY id) GROUP BY grp ORDER BY grp LIMIT 3;
