-- history-gen.sql: :N history rows spread over the last 30 days, ids in time
-- order as the daemons write them, with the variety a UI search meets:
-- 5,000 clients in 256 networks, 20,000 senders (the From header's address
-- the envelope's in 7 of 10, else one of 10,000 others, with a display name
-- in 2 of 3), subjects from a word list
-- with numbers, the six actions in a mail server's proportions, and 6 to
-- 14 symbols per row from 60 names. Used by history-bench.sh through the
-- sqlite3 shell: .parameter set :n 1000000 then .read this file.
CREATE TEMP TABLE w (i INTEGER PRIMARY KEY, word TEXT);
INSERT INTO w (word) VALUES ('invoice'), ('meeting'), ('report'), ('offer'), ('urgent'),
	('account'), ('delivery'), ('password'), ('update'), ('newsletter'), ('order'),
	('payment'), ('security'), ('weekly'), ('project'), ('holiday'), ('photos'), ('free'),
	('winner'), ('reminder'), ('contract'), ('draft'), ('lunch'), ('review'), ('shipping'),
	('bitcoin'), ('pharmacy'), ('loan'), ('schedule'), ('budget');
CREATE TEMP TABLE s (i INTEGER PRIMARY KEY, name TEXT);
WITH RECURSIVE k(x) AS (SELECT 0 UNION ALL SELECT x + 1 FROM k WHERE x < 59)
INSERT INTO s (i, name) SELECT x, CASE x
	WHEN 0 THEN 'R_SPF_ALLOW' WHEN 1 THEN 'R_DKIM_ALLOW' WHEN 2 THEN 'DMARC_POLICY_ALLOW'
	WHEN 3 THEN 'MIME_GOOD' WHEN 4 THEN 'BAYES_HAM' WHEN 5 THEN 'BAYES_SPAM'
	WHEN 6 THEN 'RBL_SPAMHAUS_ZEN' WHEN 7 THEN 'ARC_NA' WHEN 8 THEN 'R_SPF_FAIL'
	ELSE 'SYM_' || x END FROM k;
WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < :n),
-- Materialized: one random sender per row, used twice.
e(n, snd) AS MATERIALIZED (SELECT n, printf('user%d@sender%d.example', abs(random()) % 1000,
					    abs(random()) % 20) FROM g)
INSERT INTO history (id, time, queue_id, client, sender, recipients, subject, size, score,
		     action, symbols, scan_ms, mime_from, mime_from_name)
SELECT n, unixepoch() - 30 * 86400 + n * (30 * 86400) / :n,
	printf('%X%05X', n % 4096, n),
	printf('%d.%d.%d.%d', 10 + abs(random()) % 16, abs(random()) % 16, n % 7, abs(random()) % 200),
	snd,
	printf('rcpt%d@example.net', abs(random()) % 300) ||
		CASE WHEN n % 5 = 0 THEN printf(',rcpt%d@example.org', abs(random()) % 300) ELSE '' END,
	(SELECT word FROM w WHERE i = 1 + (abs(random()) + 0 * n) % 30) || ' ' ||
		(SELECT word FROM w WHERE i = 1 + (abs(random()) + 0 * n) % 30) || printf(' #%d', abs(random()) % 100000),
	1000 + abs(random()) % 200000,
	round((abs(random()) % 2000) / 100.0 - 3, 2),
	CASE WHEN n % 100 < 70 THEN 'no action' WHEN n % 100 < 80 THEN 'greylist'
	     WHEN n % 100 < 92 THEN 'add header' WHEN n % 100 < 96 THEN 'reject'
	     WHEN n % 100 < 99 THEN 'rewrite subject' ELSE 'soft reject' END,
	'default: False [1.00 / 15.00]; ' ||
		(SELECT group_concat(name || printf('(%.2f)', ((abs(random()) + 0 * n) % 300) / 100.0) ||
				     '[opt' || (abs(random()) % 9) || ']', '; ')
		 FROM (SELECT name FROM s WHERE i < 3 OR (abs(random()) + 0 * n) % 8 = 0 LIMIT 14)),
	(abs(random()) % 4000) / 100.0 + 0.5,
	CASE WHEN n % 10 < 7 THEN snd
	     ELSE printf('news%d@brand%d.example', abs(random()) % 50, abs(random()) % 200) END,
	CASE WHEN n % 3 = 0 THEN '' ELSE printf('Person %d', abs(random()) % 5000) END
FROM e;
DROP TABLE w;
DROP TABLE s;
