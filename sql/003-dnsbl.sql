-- 003-dnsbl: DNS block and allow lists (RFC 5782) and their symbols.
--
-- A zone is queried for the targets of the checks it lists in `checks`
-- (comma-separated: client, helo, sender, client_name, received, url).
-- IP zones take reversed octets (IPv6: nibbles); domain zones take the
-- registrable domain or the full host name (domain_mode). Zones with
-- needs_key = 'abusix' are used only when moat.conf sets abusix_key, and
-- are then queried as <target>.<KEY>.<name>.
CREATE TABLE dnsbl_zones (
	name        TEXT PRIMARY KEY NOT NULL,
	kind        TEXT NOT NULL CHECK (kind IN ('ip', 'domain')),
	checks      TEXT NOT NULL,
	domain_mode TEXT NOT NULL DEFAULT 'registrable' CHECK (domain_mode IN ('registrable', 'full')),
	needs_key   TEXT CHECK (needs_key IS NULL OR needs_key IN ('abusix')),
	ipv6        INTEGER NOT NULL DEFAULT 1 CHECK (ipv6 IN (0, 1)),   -- zone answers IPv6 queries
	enabled     INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
	description TEXT NOT NULL DEFAULT ''
) WITHOUT ROWID;

-- What each answer means. `code` is an address with '*' for any octet
-- (127.0.0.2, 127.0.*.3) or 'bit:N' for a bit mask on the last octet.
-- kind 'error' marks the list's own error answers (blocked resolver, over
-- limit, wrong query): never a listing. Answers that match no row are
-- "unknown codes": never a listing either.
CREATE TABLE dnsbl_codes (
	zone            TEXT NOT NULL REFERENCES dnsbl_zones (name) ON UPDATE CASCADE ON DELETE CASCADE,
	code            TEXT NOT NULL,
	kind            TEXT NOT NULL DEFAULT 'listing' CHECK (kind IN ('listing', 'error')),
	symbol          TEXT,                 -- for the client, HELO, sender and URL checks
	received_symbol TEXT,                 -- for Received-header IPs (NULL: same as symbol)
	description     TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (zone, code),
	CHECK (kind = 'error' OR symbol IS NOT NULL)
) WITHOUT ROWID;

-- Error and unknown answers seen by the daemons (moatctl doctor shows them).
CREATE TABLE dnsbl_problems (
	zone        TEXT NOT NULL,
	code        TEXT NOT NULL,
	kind        TEXT NOT NULL CHECK (kind IN ('error', 'unknown')),
	count       INTEGER NOT NULL DEFAULT 0,
	first_seen  INTEGER NOT NULL,
	last_seen   INTEGER NOT NULL,
	PRIMARY KEY (zone, code)
) WITHOUT ROWID;

INSERT INTO dnsbl_zones (name, kind, checks, domain_mode, needs_key, enabled, description) VALUES
	('zen.spamhaus.org', 'ip', 'client,received', 'registrable', NULL, 1,
	 'Spamhaus ZEN: SBL, CSS, XBL, PBL and DROP in one zone'),
	('dbl.spamhaus.org', 'domain', 'helo,sender,client_name,url', 'registrable', NULL, 1,
	 'Spamhaus Domain Block List'),
	('bl.spamcop.net', 'ip', 'client', 'registrable', NULL, 1,
	 'SpamCop: IPs reported for spam in the last days'),
	('psbl.surriel.com', 'ip', 'client', 'registrable', NULL, 1,
	 'Passive Spam Block List'),
	('rep.mailspike.net', 'ip', 'client', 'registrable', NULL, 1,
	 'Mailspike reputation: block and allow levels'),
	('list.dnswl.org', 'ip', 'client', 'registrable', NULL, 1,
	 'DNSWL.org allow list (negative weights)'),
	('combined.mail.abusix.zone', 'ip', 'client,received', 'registrable', 'abusix', 1,
	 'Abusix Mail Intelligence: black, exploit and policy lists'),
	('authbl.mail.abusix.zone', 'ip', 'client', 'registrable', 'abusix', 1,
	 'Abusix: IPs that brute-force SMTP authentication'),
	('dblack.mail.abusix.zone', 'domain', 'helo,sender,client_name,url', 'registrable', 'abusix', 1,
	 'Abusix domain block list'),
	('noip.mail.abusix.zone', 'domain', 'sender', 'registrable', 'abusix', 0,
	 'Abusix: domains with no IP (sender domains that cannot receive replies)'),
	('shorthash.mail.abusix.zone', 'domain', 'url', 'full', 'abusix', 0,
	 'Abusix: hashes of URL-shortener paths (used by the content filter)'),
	('diskhash.mail.abusix.zone', 'domain', 'url', 'full', 'abusix', 0,
	 'Abusix: hashes of file-sharing paths (used by the content filter)');

-- Lists with no IPv6 data are not asked about IPv6 clients.
UPDATE dnsbl_zones SET ipv6 = 0 WHERE name IN ('bl.spamcop.net', 'psbl.surriel.com');

-- The SBL/XBL/... meanings are Spamhaus'; error answers are documented by
-- each list (Spamhaus 127.255.255.x, DBL 127.0.1.255, DNSWL 127.0.0.255).
INSERT INTO dnsbl_codes (zone, code, kind, symbol, received_symbol, description) VALUES
	('zen.spamhaus.org', '127.0.0.2', 'listing', 'RBL_SPAMHAUS_SBL', 'RECEIVED_SPAMHAUS_SBL', 'SBL'),
	('zen.spamhaus.org', '127.0.0.3', 'listing', 'RBL_SPAMHAUS_CSS', 'RECEIVED_SPAMHAUS_CSS', 'CSS'),
	('zen.spamhaus.org', '127.0.0.4', 'listing', 'RBL_SPAMHAUS_XBL', 'RECEIVED_SPAMHAUS_XBL', 'XBL'),
	('zen.spamhaus.org', '127.0.0.5', 'listing', 'RBL_SPAMHAUS_XBL', 'RECEIVED_SPAMHAUS_XBL', 'XBL'),
	('zen.spamhaus.org', '127.0.0.6', 'listing', 'RBL_SPAMHAUS_XBL', 'RECEIVED_SPAMHAUS_XBL', 'XBL'),
	('zen.spamhaus.org', '127.0.0.7', 'listing', 'RBL_SPAMHAUS_XBL', 'RECEIVED_SPAMHAUS_XBL', 'XBL'),
	('zen.spamhaus.org', '127.0.0.9', 'listing', 'RBL_SPAMHAUS_DROP', 'RECEIVED_SPAMHAUS_DROP', 'DROP'),
	('zen.spamhaus.org', '127.0.0.10', 'listing', 'RBL_SPAMHAUS_PBL', 'RECEIVED_SPAMHAUS_PBL', 'PBL (ISP)'),
	('zen.spamhaus.org', '127.0.0.11', 'listing', 'RBL_SPAMHAUS_PBL', 'RECEIVED_SPAMHAUS_PBL', 'PBL (Spamhaus)'),
	('zen.spamhaus.org', '127.255.255.252', 'error', NULL, NULL, 'typing error in the query name'),
	('zen.spamhaus.org', '127.255.255.254', 'error', NULL, NULL, 'query through a public or open resolver'),
	('zen.spamhaus.org', '127.255.255.255', 'error', NULL, NULL, 'excessive number of queries'),
	('dbl.spamhaus.org', '127.0.1.2', 'listing', 'DBL_SPAM', NULL, 'spam domain'),
	('dbl.spamhaus.org', '127.0.1.4', 'listing', 'DBL_PHISH', NULL, 'phishing domain'),
	('dbl.spamhaus.org', '127.0.1.5', 'listing', 'DBL_MALWARE', NULL, 'malware domain'),
	('dbl.spamhaus.org', '127.0.1.6', 'listing', 'DBL_BOTNET', NULL, 'botnet C&C domain'),
	('dbl.spamhaus.org', '127.0.1.102', 'listing', 'DBL_ABUSE', NULL, 'abused legit spam'),
	('dbl.spamhaus.org', '127.0.1.103', 'listing', 'DBL_ABUSE_REDIR', NULL, 'abused spammed redirector'),
	('dbl.spamhaus.org', '127.0.1.104', 'listing', 'DBL_ABUSE_PHISH', NULL, 'abused legit phish'),
	('dbl.spamhaus.org', '127.0.1.105', 'listing', 'DBL_ABUSE_MALWARE', NULL, 'abused legit malware'),
	('dbl.spamhaus.org', '127.0.1.106', 'listing', 'DBL_ABUSE_BOTNET', NULL, 'abused legit botnet C&C'),
	('dbl.spamhaus.org', '127.0.1.255', 'error', NULL, NULL, 'IP queried in a domain list'),
	('dbl.spamhaus.org', '127.255.255.252', 'error', NULL, NULL, 'typing error in the query name'),
	('dbl.spamhaus.org', '127.255.255.254', 'error', NULL, NULL, 'query through a public or open resolver'),
	('dbl.spamhaus.org', '127.255.255.255', 'error', NULL, NULL, 'excessive number of queries'),
	('bl.spamcop.net', '127.0.0.2', 'listing', 'RBL_SPAMCOP', 'RECEIVED_SPAMCOP', 'listed'),
	('psbl.surriel.com', '127.0.0.2', 'listing', 'RBL_PSBL', 'RECEIVED_PSBL', 'listed'),
	('rep.mailspike.net', '127.0.0.10', 'listing', 'RBL_MAILSPIKE_WORST', NULL, 'worst reputation'),
	('rep.mailspike.net', '127.0.0.11', 'listing', 'RBL_MAILSPIKE_VERYBAD', NULL, 'very bad reputation'),
	('rep.mailspike.net', '127.0.0.12', 'listing', 'RBL_MAILSPIKE_BAD', NULL, 'bad reputation'),
	('rep.mailspike.net', '127.0.0.13', 'listing', 'RWL_MAILSPIKE_NEUTRAL', NULL, 'neutral'),
	('rep.mailspike.net', '127.0.0.14', 'listing', 'RWL_MAILSPIKE_POSSIBLE', NULL, 'possibly legit'),
	('rep.mailspike.net', '127.0.0.15', 'listing', 'RWL_MAILSPIKE_GOOD', NULL, 'good reputation'),
	('rep.mailspike.net', '127.0.0.16', 'listing', 'RWL_MAILSPIKE_VERYGOOD', NULL, 'very good reputation'),
	('rep.mailspike.net', '127.0.0.17', 'listing', 'RWL_MAILSPIKE_EXCELLENT', NULL, 'excellent reputation'),
	('list.dnswl.org', '127.0.*.0', 'listing', 'RCVD_IN_DNSWL_NONE', NULL, 'listed, no trust'),
	('list.dnswl.org', '127.0.*.1', 'listing', 'RCVD_IN_DNSWL_LOW', NULL, 'low trust'),
	('list.dnswl.org', '127.0.*.2', 'listing', 'RCVD_IN_DNSWL_MED', NULL, 'medium trust'),
	('list.dnswl.org', '127.0.*.3', 'listing', 'RCVD_IN_DNSWL_HI', NULL, 'high trust'),
	('list.dnswl.org', '127.0.0.255', 'error', NULL, NULL, 'blocked: too many queries'),
	('combined.mail.abusix.zone', '127.0.0.2', 'listing', 'ABUSIX_BLACK', 'RECEIVED_ABUSIX_BLACK', 'black'),
	('combined.mail.abusix.zone', '127.0.0.3', 'listing', 'ABUSIX_BLACK', 'RECEIVED_ABUSIX_BLACK', 'black'),
	('combined.mail.abusix.zone', '127.0.0.200', 'listing', 'ABUSIX_BLACK', 'RECEIVED_ABUSIX_BLACK', 'black'),
	('combined.mail.abusix.zone', '127.0.0.4', 'listing', 'ABUSIX_EXPLOIT', 'RECEIVED_ABUSIX_EXPLOIT', 'exploit'),
	('combined.mail.abusix.zone', '127.0.0.11', 'listing', 'ABUSIX_POLICY', 'RECEIVED_ABUSIX_POLICY', 'policy (dynamic ranges)'),
	('combined.mail.abusix.zone', '127.0.0.12', 'listing', 'ABUSIX_POLICY', 'RECEIVED_ABUSIX_POLICY', 'policy'),
	('authbl.mail.abusix.zone', '127.0.0.4', 'listing', 'ABUSIX_AUTHBL', NULL, 'brute-forces SMTP auth'),
	('dblack.mail.abusix.zone', '127.0.1.2', 'listing', 'ABUSIX_DBLACK', NULL, 'listed domain'),
	('noip.mail.abusix.zone', '127.0.1.2', 'listing', 'ABUSIX_NOIP', NULL, 'domain without IP'),
	('shorthash.mail.abusix.zone', '127.0.1.2', 'listing', 'ABUSIX_SHORTHASH', NULL, 'listed short URL'),
	('diskhash.mail.abusix.zone', '127.0.1.2', 'listing', 'ABUSIX_DISKHASH', NULL, 'listed file-sharing URL');

-- Weights like Rspamd's defaults where Rspamd has the symbol.
INSERT INTO symbols (name, weight, group_name, description) VALUES
	('RBL_SPAMHAUS_SBL', 4.0, 'rbl', 'client listed in Spamhaus SBL'),
	('RBL_SPAMHAUS_CSS', 2.0, 'rbl', 'client listed in Spamhaus CSS'),
	('RBL_SPAMHAUS_XBL', 4.0, 'rbl', 'client listed in Spamhaus XBL (exploited)'),
	('RBL_SPAMHAUS_PBL', 2.0, 'rbl', 'client listed in Spamhaus PBL (should not send directly)'),
	('RBL_SPAMHAUS_DROP', 7.0, 'rbl', 'client listed in Spamhaus DROP'),
	('RECEIVED_SPAMHAUS_SBL', 3.0, 'rbl', 'a Received hop is listed in Spamhaus SBL'),
	('RECEIVED_SPAMHAUS_CSS', 1.0, 'rbl', 'a Received hop is listed in Spamhaus CSS'),
	('RECEIVED_SPAMHAUS_XBL', 1.0, 'rbl', 'a Received hop is listed in Spamhaus XBL'),
	('RECEIVED_SPAMHAUS_PBL', 0.0, 'rbl', 'a Received hop is listed in Spamhaus PBL'),
	('RECEIVED_SPAMHAUS_DROP', 6.0, 'rbl', 'a Received hop is listed in Spamhaus DROP'),
	('DBL_SPAM', 6.5, 'rbl', 'domain listed in Spamhaus DBL as spam'),
	('DBL_PHISH', 6.5, 'rbl', 'domain listed in Spamhaus DBL as phishing'),
	('DBL_MALWARE', 6.5, 'rbl', 'domain listed in Spamhaus DBL as malware'),
	('DBL_BOTNET', 5.5, 'rbl', 'domain listed in Spamhaus DBL as botnet C&C'),
	('DBL_ABUSE', 5.0, 'rbl', 'abused legit domain (spam) in Spamhaus DBL'),
	('DBL_ABUSE_REDIR', 0.5, 'rbl', 'abused redirector in Spamhaus DBL'),
	('DBL_ABUSE_PHISH', 5.5, 'rbl', 'abused legit domain (phishing) in Spamhaus DBL'),
	('DBL_ABUSE_MALWARE', 5.5, 'rbl', 'abused legit domain (malware) in Spamhaus DBL'),
	('DBL_ABUSE_BOTNET', 5.5, 'rbl', 'abused legit domain (botnet C&C) in Spamhaus DBL'),
	('RBL_SPAMCOP', 2.0, 'rbl', 'client listed in SpamCop'),
	('RECEIVED_SPAMCOP', 1.0, 'rbl', 'a Received hop is listed in SpamCop'),
	('RBL_PSBL', 2.0, 'rbl', 'client listed in PSBL'),
	('RECEIVED_PSBL', 1.0, 'rbl', 'a Received hop is listed in PSBL'),
	('RBL_MAILSPIKE_WORST', 2.0, 'rbl', 'Mailspike: worst reputation'),
	('RBL_MAILSPIKE_VERYBAD', 1.5, 'rbl', 'Mailspike: very bad reputation'),
	('RBL_MAILSPIKE_BAD', 1.0, 'rbl', 'Mailspike: bad reputation'),
	('RWL_MAILSPIKE_NEUTRAL', 0.0, 'rbl', 'Mailspike: neutral'),
	('RWL_MAILSPIKE_POSSIBLE', 0.0, 'rbl', 'Mailspike: possibly legit'),
	('RWL_MAILSPIKE_GOOD', -0.1, 'rbl', 'Mailspike: good reputation'),
	('RWL_MAILSPIKE_VERYGOOD', -0.2, 'rbl', 'Mailspike: very good reputation'),
	('RWL_MAILSPIKE_EXCELLENT', -0.4, 'rbl', 'Mailspike: excellent reputation'),
	('RCVD_IN_DNSWL_NONE', 0.0, 'rbl', 'client in DNSWL.org, no trust'),
	('RCVD_IN_DNSWL_LOW', -0.1, 'rbl', 'client in DNSWL.org, low trust'),
	('RCVD_IN_DNSWL_MED', -0.2, 'rbl', 'client in DNSWL.org, medium trust'),
	('RCVD_IN_DNSWL_HI', -0.5, 'rbl', 'client in DNSWL.org, high trust'),
	('ABUSIX_BLACK', 6.0, 'rbl', 'client in the Abusix black list'),
	('ABUSIX_EXPLOIT', 5.0, 'rbl', 'client in the Abusix exploit list'),
	('ABUSIX_POLICY', 2.0, 'rbl', 'client in the Abusix policy list (dynamic ranges)'),
	('RECEIVED_ABUSIX_BLACK', 3.0, 'rbl', 'a Received hop is in the Abusix black list'),
	('RECEIVED_ABUSIX_EXPLOIT', 2.0, 'rbl', 'a Received hop is in the Abusix exploit list'),
	('RECEIVED_ABUSIX_POLICY', 0.0, 'rbl', 'a Received hop is in the Abusix policy list'),
	('ABUSIX_AUTHBL', 4.0, 'rbl', 'client brute-forces SMTP authentication (Abusix)'),
	('ABUSIX_DBLACK', 6.0, 'rbl', 'domain in the Abusix domain black list'),
	('ABUSIX_NOIP', 1.5, 'rbl', 'sender domain has no IP (Abusix)'),
	('ABUSIX_SHORTHASH', 5.0, 'rbl', 'short URL listed by Abusix'),
	('ABUSIX_DISKHASH', 5.0, 'rbl', 'file-sharing URL listed by Abusix');

-- "Which lists are queried, for what?"
CREATE VIEW dnsbl_zones_in_use AS
	SELECT name AS zone, kind, checks, coalesce(needs_key, '') AS needs_key, description
	FROM dnsbl_zones WHERE enabled = 1 ORDER BY kind, name;

-- "What does each answer of each list count for?"
CREATE VIEW dnsbl_code_weights AS
	SELECT c.zone, c.code, c.kind, coalesce(c.symbol, '') AS symbol,
	       coalesce(printf('%.2f', s.weight), '') AS weight, c.description
	FROM dnsbl_codes c LEFT JOIN symbols s ON s.name = c.symbol
	ORDER BY c.zone, c.code;

-- "Which lists answered with errors or codes we do not know?"
CREATE VIEW dnsbl_problems_recent AS
	SELECT zone, code, kind, count, datetime(first_seen, 'unixepoch') AS first_seen,
	       datetime(last_seen, 'unixepoch') AS last_seen
	FROM dnsbl_problems ORDER BY last_seen DESC;
