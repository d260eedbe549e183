-- 013-composites: composite rules, as Rspamd's composites.conf has them: a
-- symbol added when an expression over the symbols a message got holds,
-- whose policy then takes away the weights or the symbols it was made of.
-- The content filter applies them after every check, the symbols moat-policyd
-- carried in X-Moat-Policy included (shared/scan/composite.h). Change them
-- with "moatctl composites", which checks an expression before writing it;
-- the daemons use a change within seconds.

CREATE TABLE composites (
	name        TEXT PRIMARY KEY NOT NULL CHECK (name GLOB '[A-Z0-9_]*' AND length(name) BETWEEN 1 AND 63),
	-- symbols, & | ! and parentheses; Rspamd's prefixes ~SYM (keep the
	-- symbol, take its weight), -SYM (keep both), ^SYM (take both)
	expression  TEXT NOT NULL CHECK (length(expression) BETWEEN 1 AND 4096),
	weight      REAL NOT NULL DEFAULT 0,
	-- what happens to the symbols that matched: remove_all (symbol and
	-- weight), remove_symbol (hidden, weight counts), remove_weight (shown
	-- with 0), leave
	policy      TEXT NOT NULL DEFAULT 'remove_all'
	            CHECK (policy IN ('remove_all', 'remove_symbol', 'remove_weight', 'leave')),
	description TEXT NOT NULL DEFAULT '',
	enabled     INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1))
) WITHOUT ROWID;

-- Rspamd's composites over the authentication symbols (conf/composites.conf,
-- the same in 3.4 and 4.1), with docker-mailserver's scores and policies
-- (target/rspamd/local.d/composites.conf and policies_group.conf): AUTH_NA
-- 2.5 and AUTH_NA_OR_FAIL 1, both "leave", so mail with no SPF, DKIM, DMARC
-- or ARC at all reaches greylisting; DMARC_POLICY_ALLOW_WITH_FAILURES 0.
-- Composites whose symbols moat never adds (forwarding and mailing-list
-- groups, BOUNCE, FORGED_SENDER) are not shipped.
INSERT INTO composites (name, expression, weight, policy, description) VALUES
	('AUTH_NA', 'R_DKIM_NA & R_SPF_NA & DMARC_NA & ARC_NA', 2.5, 'leave',
	 'Authenticating message via SPF/DKIM/DMARC/ARC not available'),
	('AUTH_NA_OR_FAIL',
	 '!(R_DKIM_NA & R_SPF_NA & DMARC_NA & ARC_NA) & (R_DKIM_NA | R_DKIM_TEMPFAIL | R_DKIM_PERMFAIL) & (R_SPF_NA | R_SPF_DNSFAIL) & DMARC_NA & (ARC_NA | ARC_DNSFAIL)',
	 1.0, 'leave', 'No authenticating method SPF/DKIM/DMARC/ARC was successful'),
	('DMARC_POLICY_ALLOW_WITH_FAILURES',
	 'DMARC_POLICY_ALLOW & (R_SPF_SOFTFAIL | R_SPF_FAIL | R_DKIM_REJECT)', 0.0, 'remove_weight',
	 'DMARC permit policy with DKIM/SPF failure'),
	('DKIM_MIXED', '-R_DKIM_ALLOW & (R_DKIM_TEMPFAIL | R_DKIM_PERMFAIL | R_DKIM_REJECT)', 0.0,
	 'remove_weight', 'a valid DKIM signature beside failed ones: the failures weigh nothing'),
	('VIOLATED_DIRECT_SPF', '(R_SPF_FAIL | R_SPF_SOFTFAIL) & (RCVD_COUNT_ZERO | RCVD_NO_TLS_LAST)',
	 3.5, 'leave',
	 'Has no Received (or no trusted received relays) and SPF policy fails or soft fails'),
	('RCVD_DKIM_ARC_DNSWL_MED', '(R_DKIM_ALLOW | ARC_ALLOW) & RCVD_IN_DNSWL_MED', -0.5, 'leave',
	 'Sufficiently DKIM/ARC signed and received from IP with medium trust at DNSWL'),
	('RCVD_DKIM_ARC_DNSWL_HI', '(R_DKIM_ALLOW | ARC_ALLOW) & RCVD_IN_DNSWL_HI', -1.0, 'leave',
	 'Sufficiently DKIM/ARC signed and received from IP with high trust at DNSWL');

-- "Which composites are on, and what do they do?"
CREATE VIEW composite_rules AS
	SELECT name AS composite, printf('%.2f', weight) AS weight, policy, expression, description
	FROM composites
	WHERE enabled = 1
	ORDER BY name;
