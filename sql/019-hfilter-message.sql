-- 019: the rest of Rspamd's hfilter, in the content filter
-- (shared/scan/check_hfilter.c) where it needs the message, and the MX
-- checks of moat-policyd's HELO and sender domain (policyd/hfilter.c).
-- Weights of Rspamd's scores.d/hfilter_group.conf; the Message-ID ones
-- are the weights that file gives them commented out, since Rspamd's
-- hfilter has mid_enabled = false (then they weigh 0.5 here). The module
-- row of migration 017 switches all of them, at RCPT and in the content
-- filter: `moatctl module disable hfilter`, or RSPAMD_HFILTER=0 through
-- `moatctl import-dms-env`. The options are hfilter.lua's, for
-- `set-option-for-module hfilter mid_enabled true` in a DMS
-- custom-commands.conf.

UPDATE modules SET description = 'Rspamd''s hfilter: HELO, host name and sender domain at RCPT (moat-policyd); URL-only bodies, Message-ID host and bounces in the content filter'
	WHERE name = 'hfilter';

INSERT OR IGNORE INTO module_options (module, option, value) VALUES
	('hfilter', 'url_enabled',  'true'),
	('hfilter', 'rcpt_enabled', 'true'),
	('hfilter', 'mid_enabled',  'false');

INSERT INTO symbols (name, weight, group_name, description) VALUES
	('HFILTER_URL_ONLY',              2.2, 'hfilter', 'the text is (nearly) all URLs; the weight scales with how much more than 80%'),
	('HFILTER_URL_ONELINE',           2.5, 'hfilter', 'URLs in a text of one line'),
	('HFILTER_RCPT_BOUNCEMOREONE',    1.5, 'hfilter', 'a bounce (null sender or postmaster@) to more than one recipient'),
	('HFILTER_MID_NOT_FQDN',          0.5, 'hfilter', 'Message-ID host is not a fully qualified domain name (mid_enabled)'),
	('HFILTER_MID_NORES_A_OR_MX',     0.5, 'hfilter', 'Message-ID host has no A, AAAA or MX record (mid_enabled)'),
	('HFILTER_MID_NORESOLVE_MX',      0.5, 'hfilter', 'an MX host of the Message-ID host has no address (mid_enabled)'),
	('HFILTER_HELO_NORESOLVE_MX',     0.2, 'hfilter', 'an MX host of the HELO name has no address'),
	('HFILTER_FROMHOST_NORESOLVE_MX', 0.5, 'hfilter', 'an MX host of the sender domain has no address');
