-- 012: mail authentication (issue 15): the weights of the SPF, DKIM, DMARC
-- and ARC symbols, and the modules rows that turn SPF, DKIM, DMARC and ARC off.
--
-- The weights are docker-mailserver's effective ones, not Rspamd's lower
-- defaults: DMS overrides Rspamd's conf/scores.d/policies_group.conf with
-- its own target/rspamd/scores.d/policies_group.conf (DMS issue 3690).
-- Where DMS sets nothing, Rspamd's default stands: R_SPF_PLUSALL (3.9.1+),
-- the ARC symbols, and DKIM_TRACE, DMARC_BAD_POLICY and DMARC_DNSFAIL
-- (registered in code with no score). Group names are Rspamd's.
INSERT INTO symbols (name, weight, group_name, description) VALUES
	('R_SPF_ALLOW',    -1.0, 'spf', 'SPF verification allows sending'),
	('R_SPF_FAIL',      4.5, 'spf', 'SPF verification failed'),
	('R_SPF_SOFTFAIL',  2.5, 'spf', 'SPF verification soft-failed'),
	('R_SPF_NEUTRAL',   1.5, 'spf', 'SPF policy is neutral'),
	('R_SPF_NA',        1.5, 'spf', 'Missing SPF record'),
	('R_SPF_DNSFAIL',   2.5, 'spf', 'SPF DNS failure'),
	('R_SPF_PERMFAIL',  4.5, 'spf', 'SPF record is malformed or persistent DNS error'),
	('R_SPF_PLUSALL',   4.0, 'spf', 'SPF record allows to send from any IP (+all)'),
	('R_DKIM_ALLOW',   -1.0, 'dkim', 'DKIM verification succeed'),
	('R_DKIM_REJECT',   4.5, 'dkim', 'DKIM verification failed'),
	('R_DKIM_TEMPFAIL', 1.5, 'dkim', 'DKIM verification soft-failed (key lookup DNS error)'),
	('R_DKIM_PERMFAIL', 4.5, 'dkim', 'DKIM verification hard-failed (invalid signature or key, refused by policy)'),
	('R_DKIM_NA',       1.0, 'dkim', 'Missing DKIM signature'),
	('DKIM_TRACE',      0.0, 'dkim', 'DKIM trace symbol: one option per signature (domain:+ allow, :- reject, :~ permfail, :? tempfail)'),
	('DMARC_POLICY_ALLOW',               -1.0, 'dmarc', 'DMARC permit policy'),
	('DMARC_POLICY_ALLOW_WITH_FAILURES',  0.0, 'dmarc', 'DMARC permit policy with DKIM/SPF failure'),
	('DMARC_POLICY_REJECT',               5.5, 'dmarc', 'DMARC reject policy'),
	('DMARC_POLICY_QUARANTINE',           3.0, 'dmarc', 'DMARC quarantine policy'),
	('DMARC_POLICY_SOFTFAIL',             1.5, 'dmarc', 'DMARC failed, policy none'),
	('DMARC_NA',                          0.5, 'dmarc', 'No DMARC record'),
	('DMARC_BAD_POLICY',                  0.0, 'dmarc', 'DMARC record is malformed (permerror)'),
	('DMARC_DNSFAIL',                     0.0, 'dmarc', 'DMARC record lookup failed (temperror)'),
	('ARC_ALLOW',    -1.0, 'arc', 'ARC checks success'),
	('ARC_REJECT',    1.0, 'arc', 'ARC checks failed'),
	('ARC_INVALID',   0.5, 'arc', 'ARC structure invalid'),
	('ARC_DNSFAIL',   0.0, 'arc', 'ARC DNS error'),
	('ARC_NA',        0.0, 'arc', 'ARC signature absent');

-- Rspamd's module names, so that disable-module spf / dkim (DMS
-- custom-commands.conf) and moatctl module disable work as there.
INSERT INTO modules (name, enabled, description) VALUES
	('spf',  1, 'SPF (RFC 7208) of the client for the envelope sender, in moat-contentfilter unless moat-policyd judged it at RCPT'),
	('dkim', 1, 'DKIM signature verification (RFC 6376, 8301, 8463), keys through the cached resolver'),
	('dmarc', 1, 'DMARC (RFC 7489, RFC 9989) of the From domain over the SPF and DKIM verdicts'),
	('arc', 1, 'ARC chain verification (RFC 8617)');
