-- 015-controller: what moat-controller keeps besides the history it reads.
--
-- The passwords are crypt(3) hashes (or Rspamd's PBKDF2 "$1$" hashes),
-- set with "moatctl controller password [--enable]"; empty means none.
-- They are here, not in moat.conf, so that moatctl can change them without
-- editing the admin's file and the controller takes them without a reload.
INSERT INTO settings (name, value, description) VALUES
	('controller_password', '',
	 'crypt(3) hash of the controller''s read password (moatctl controller password)'),
	('controller_enable_password', '',
	 'crypt(3) hash of the controller''s write password (moatctl controller password --enable)'),
	('controller_stats_since', '0',
	 'Unix time of the last /statreset: /stat counts history rows from then on');

-- "What did the controller's counters start from?"
CREATE VIEW controller_stats AS
	SELECT count(*) AS scanned,
	       sum(action = 'reject') AS reject, sum(action = 'soft reject') AS soft_reject,
	       sum(action = 'rewrite subject') AS rewrite_subject,
	       sum(action = 'add header') AS add_header, sum(action = 'greylist') AS greylist,
	       sum(action = 'no action') AS no_action
	FROM history
	WHERE time >= (SELECT CAST(value AS INTEGER) FROM settings WHERE name = 'controller_stats_since');
