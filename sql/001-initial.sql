-- 001-initial: the rule tables both daemons read.
--
-- Rules live here, daemon settings in moat.conf. Admins read these tables
-- and the views below with the sqlite3 shell and change them with moatctl
-- or plain SQL; the daemons notice changes without a restart.
-- Never edit a migration that has shipped: add a new NNN-*.sql instead.

-- Every symbol a check can add, with the weight it adds to the score.
-- Names follow Rspamd's where the meaning is the same.
CREATE TABLE symbols (
	name        TEXT PRIMARY KEY NOT NULL CHECK (name GLOB '[A-Z0-9_]*' AND length(name) BETWEEN 1 AND 64),
	weight      REAL NOT NULL DEFAULT 0,
	group_name  TEXT NOT NULL DEFAULT 'misc',
	description TEXT NOT NULL DEFAULT '',
	enabled     INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1))
) WITHOUT ROWID;

-- Score thresholds, as Rspamd's actions.conf. A NULL threshold turns the
-- action off. The defaults are docker-mailserver's.
CREATE TABLE actions (
	name        TEXT PRIMARY KEY NOT NULL
	            CHECK (name IN ('greylist', 'add header', 'rewrite subject', 'reject')),
	threshold   REAL,
	description TEXT NOT NULL DEFAULT ''
) WITHOUT ROWID;

INSERT INTO actions (name, threshold, description) VALUES
	('greylist',        4,  'temporary failure (451 4.7.1); accepted when retried after the delay'),
	('add header',      6,  'add X-Spam: Yes'),
	('rewrite subject', 7,  'prefix the subject by the subject_rewrite pattern'),
	('reject',          11, 'refuse the message (554 5.7.1)');

-- Checks that can be switched off as a whole (moatctl module disable NAME,
-- or disable-module in a docker-mailserver custom-commands.conf).
CREATE TABLE modules (
	name        TEXT PRIMARY KEY NOT NULL,
	enabled     INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
	description TEXT NOT NULL DEFAULT ''
) WITHOUT ROWID;

INSERT INTO modules (name, enabled, description) VALUES
	('greylist',         1, 'greylisting of unknown (client network, sender, recipient) triplets'),
	('rbl',              1, 'DNS block and allow lists for client IPs, HELO and sender domains'),
	('classifier-bayes', 1, 'statistical (Bayes) classifier');

-- Per-module options (set-option-for-module in custom-commands.conf).
CREATE TABLE module_options (
	module      TEXT NOT NULL REFERENCES modules (name) ON UPDATE CASCADE ON DELETE CASCADE,
	option      TEXT NOT NULL,
	value       TEXT NOT NULL,
	PRIMARY KEY (module, option)
) WITHOUT ROWID;

INSERT INTO module_options (module, option, value) VALUES
	('classifier-bayes', 'autolearn', 'false');

-- Rule-level settings that are not thresholds.
CREATE TABLE settings (
	name        TEXT PRIMARY KEY NOT NULL,
	value       TEXT NOT NULL,
	description TEXT NOT NULL DEFAULT ''
) WITHOUT ROWID;

INSERT INTO settings (name, value, description) VALUES
	('subject_rewrite', '[SPAM] %s', 'new subject for "rewrite subject"; %s is the old subject'),
	('spam_header',     'X-Spam: Yes', 'header added by "add header"');

-- Views: the questions an admin asks, answered in the sqlite3 shell.

-- "At which score does what happen?" (lowest first; off actions last)
CREATE VIEW action_thresholds AS
	SELECT name AS action, threshold,
	       CASE WHEN threshold IS NULL THEN 'off' ELSE 'on' END AS state,
	       description
	FROM actions
	ORDER BY threshold IS NULL, threshold;

-- "Which symbols count, and how much?" (largest effect first)
CREATE VIEW symbol_weights AS
	SELECT name AS symbol, printf('%.2f', weight) AS weight, group_name AS "group",
	       description
	FROM symbols
	WHERE enabled = 1
	ORDER BY abs(weight) DESC, name;

-- "Which symbols are switched off?"
CREATE VIEW symbols_disabled AS
	SELECT name AS symbol, weight, group_name AS "group", description
	FROM symbols
	WHERE enabled = 0
	ORDER BY name;

-- "Which modules run, with which options?"
CREATE VIEW module_status AS
	SELECT m.name AS module, CASE m.enabled WHEN 1 THEN 'enabled' ELSE 'disabled' END AS state,
	       coalesce(group_concat(o.option || '=' || o.value, ', '), '') AS options,
	       m.description
	FROM modules m LEFT JOIN module_options o ON o.module = m.name
	GROUP BY m.name
	ORDER BY m.name;
