-- 017: Rspamd's hfilter at RCPT (moat-policyd, policyd/hfilter.c): HELO,
-- client host name (forward-confirmed reverse DNS) and sender domain
-- checks, with Rspamd's symbol names and the weights of its
-- scores.d/hfilter_group.conf, except HFILTER_HOSTNAME_UNKNOWN: 6, as
-- docker-mailserver sets it (RSPAMD_HFILTER_HOSTNAME_UNKNOWN_SCORE).
-- On, as RSPAMD_HFILTER=1 is DMS's default; `moatctl module disable hfilter`.

INSERT INTO modules (name, enabled, description) VALUES
	('hfilter', 1, 'HELO, host name and sender domain checks at RCPT (Rspamd hfilter), in moat-policyd');

INSERT INTO symbols (name, weight, group_name, description) VALUES
	('HFILTER_HELO_BAREIP',            3.0, 'hfilter', 'HELO is a bare IP address'),
	('HFILTER_HELO_BADIP',             4.5, 'hfilter', 'HELO is a private, reserved or loopback address'),
	('HFILTER_HELO_1',                 0.5, 'hfilter', 'HELO looks generic (very low)'),
	('HFILTER_HELO_2',                 1.0, 'hfilter', 'HELO looks generic (low)'),
	('HFILTER_HELO_3',                 2.0, 'hfilter', 'HELO looks generic (medium)'),
	('HFILTER_HELO_4',                 2.5, 'hfilter', 'HELO looks generic or dynamic (hard)'),
	('HFILTER_HELO_5',                 3.0, 'hfilter', 'HELO looks dynamic or has no dot (very hard)'),
	('HFILTER_HELO_NORES_A_OR_MX',     0.3, 'hfilter', 'HELO name has no A, AAAA or MX record'),
	('HFILTER_HELO_IP_A',              1.0, 'hfilter', 'HELO name does not resolve to the client address'),
	('HFILTER_HELO_NOT_FQDN',          2.0, 'hfilter', 'HELO is not a fully qualified domain name'),
	('HFILTER_HOSTNAME_1',             0.5, 'hfilter', 'client host name looks generic (very low)'),
	('HFILTER_HOSTNAME_2',             1.0, 'hfilter', 'client host name looks generic (low)'),
	('HFILTER_HOSTNAME_3',             2.0, 'hfilter', 'client host name looks generic (medium)'),
	('HFILTER_HOSTNAME_4',             2.5, 'hfilter', 'client host name looks dynamic (hard)'),
	('HFILTER_HOSTNAME_5',             3.0, 'hfilter', 'client host name looks dynamic (very hard)'),
	('HFILTER_HOSTNAME_UNKNOWN',       6.0, 'hfilter', 'client has no PTR, or its name does not resolve back to it (FCrDNS); DMS weight'),
	('HFILTER_FROMHOST_NORES_A_OR_MX', 1.5, 'hfilter', 'sender domain has no A, AAAA or MX record'),
	('HFILTER_FROMHOST_NOT_FQDN',      3.0, 'hfilter', 'sender domain is not a fully qualified domain name');
