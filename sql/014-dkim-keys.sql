-- 014: dkim_keys maps a signing domain and selector to a private key file
-- explicitly, for keys whose file names are not docker-mailserver's (an
-- OpenDKIM KeyTable, keys kept elsewhere). moat-contentfilter reads it at
-- start-up and on SIGHUP; a row wins over a file of the key directory with
-- the same domain and selector. `moatctl dkim import` fills it.
CREATE TABLE dkim_keys (
	domain TEXT NOT NULL COLLATE NOCASE,
	selector TEXT NOT NULL COLLATE NOCASE,
	path TEXT NOT NULL,
	added INTEGER NOT NULL DEFAULT (strftime('%s', 'now')),
	PRIMARY KEY (domain, selector)
);
