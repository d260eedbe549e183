-- 007-ctl: what moatctl import-custom-commands keeps, and the views
-- moatctl stats and the sqlite3 shell answer questions about mail with.

-- Lines of a docker-mailserver custom-commands.conf that moat did not
-- apply: Rspamd modules and options moat has no equivalent for, the
-- controller and proxy workers (moat has none yet), and options that moat
-- keeps in moat.conf (note says which setting), which moatctl never edits.
-- Kept so the admin can see what did not come along, and so a second
-- import of the same file changes nothing. One row per (scope, target,
-- option): the last value imported wins, as it does in Rspamd's files.
CREATE TABLE dms_unmapped (
	scope       TEXT NOT NULL,      -- module, module-option, controller, proxy, common, add-line, moat.conf
	target      TEXT NOT NULL,      -- module, worker or file name ('' for common options)
	option      TEXT NOT NULL,      -- option name, or the line for add-line ('' for a module)
	value       TEXT NOT NULL,
	note        TEXT NOT NULL,      -- why it was not applied, or the moat.conf line to write
	imported_at INTEGER NOT NULL,   -- Unix seconds of the import that last changed the row
	PRIMARY KEY (scope, target, option)
) WITHOUT ROWID;

-- "Which docker-mailserver settings did moat not apply, and why?"
CREATE VIEW dms_not_applied AS
	SELECT scope, target, option, value, note,
	       datetime(imported_at, 'unixepoch') AS imported_at
	FROM dms_unmapped
	ORDER BY scope, target, option;

-- "Which symbols did today's mail get, how often, and how much did they add?"
-- The history symbols column is the X-Spamd-Result value ("default: False
-- [s / r]; SYM(w)[opts]; ..."): split at "; " and keep what looks like
-- SYM(w)[ so an option that contains "; " cannot invent a symbol.
CREATE VIEW symbol_hits_today AS
	WITH RECURSIVE part (id, rest, item) AS (
		SELECT id, symbols || '; ', '' FROM history
		WHERE time >= unixepoch('now', 'start of day')
		UNION ALL
		SELECT id, substr(rest, instr(rest, '; ') + 2), substr(rest, 1, instr(rest, '; ') - 1)
		FROM part WHERE instr(rest, '; ') > 0
	)
	SELECT substr(item, 1, instr(item, '(') - 1) AS symbol, count(*) AS messages,
	       printf('%.2f', avg(CAST(substr(item, instr(item, '(') + 1,
					  instr(item, ')[') - instr(item, '(') - 1) AS REAL)))
	       AS avg_weight
	FROM part
	WHERE instr(item, '(') > 1 AND instr(item, ')[') > instr(item, '(')
	  AND substr(item, 1, instr(item, '(') - 1) GLOB '[A-Z0-9_]*'
	  AND substr(item, 1, instr(item, '(') - 1) NOT GLOB '*[^A-Z0-9_]*'
	GROUP BY symbol
	ORDER BY messages DESC, symbol;

-- "How much mail per hour over the last day, and how was it judged?"
CREATE VIEW mail_per_hour AS
	SELECT strftime('%Y-%m-%d %H:00', time, 'unixepoch') AS hour, count(*) AS messages,
	       sum(action = 'reject') AS rejected, sum(action = 'greylist') AS greylisted,
	       sum(action IN ('add header', 'rewrite subject')) AS marked,
	       printf('%.1f', avg(scan_ms)) AS avg_scan_ms
	FROM history
	WHERE time >= unixepoch() - 86400
	GROUP BY hour
	ORDER BY hour DESC;

-- history_recent (004) sorted by its own formatted time column, which no
-- index covers: every look at recent mail sorted the whole table. Same
-- columns, ordered by history.time (the history_time index, read backwards).
DROP VIEW history_recent;
CREATE VIEW history_recent AS
	SELECT datetime(time, 'unixepoch') AS time, queue_id, client, sender, recipients,
	       printf('%.2f', score) AS score, action, subject, symbols
	FROM history ORDER BY history.time DESC, history.id DESC;
