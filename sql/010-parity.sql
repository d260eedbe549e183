-- 010: small things that match Rspamd: the GTUBE test strings, the extra
-- headers of Rspamd's milter_headers module, and what RCVD_COUNT_* count.

-- GTUBE (shared/gtube.h): a text part with a test string forces an action.
INSERT INTO symbols (name, weight, group_name, description) VALUES
	('GTUBE', 0.0, 'misc', 'GTUBE test string: the checks are skipped and its action is forced');

INSERT INTO settings (name, value, description) VALUES
	('gtube_patterns', 'reject',
	 'GTUBE test strings that count (Rspamd''s option): reject (the classic XJS*... string only), all (also Rspamd''s YJS* add header, ZJS* rewrite subject, AJS* no action), disabled'),
	('milter_headers', '',
	 'extra headers, with the names of Rspamd''s milter_headers routines (comma-separated): x-spamd-bar, x-rspamd-queue-id, x-rspamd-server; empty adds none');

-- A milter never sees the Received header its own Postfix adds, and
-- Rspamd behind Postfix does not count it either: say so where it is asked.
UPDATE symbols SET description = 'no Received headers (the receiving Postfix''s own is not counted, as in Rspamd)'
	WHERE name = 'RCVD_COUNT_ZERO';
