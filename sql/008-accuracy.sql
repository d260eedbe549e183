-- 008: Rspamd's header heuristics for ratware (shared/checks_mua.c), with
-- Rspamd's names, groups and default weights (rules/regexp/headers.lua).
-- Chosen by cross-validation inside the learning half of the Bayes
-- benchmark's corpus split (t/bench/bayes-cv.sh), never on its held-out half.
INSERT INTO symbols (name, weight, group_name, description) VALUES
	('FORGED_MUA_OUTLOOK', 3.0, 'mua', 'Forged Outlook MUA: an Outlook X-Mailer with a Message-ID Outlook never makes'),
	('MISSING_MIMEOLE', 2.0, 'headers', 'X-MSMail-Priority without X-MimeOLE (e.g. fake Outlook or fake Exchange)'),
	('R_UNDISC_RCPT', 3.0, 'headers', 'Recipients are absent or undisclosed'),
	('SORTED_RECIPS', 3.5, 'headers', 'Recipients list seems to be sorted'),
	('R_MISSING_CHARSET', 0.5, 'headers', 'Charset is missing in a message'),
	('CT_EXTRA_SEMI', 1.0, 'headers', 'Content-Type header ends with a semi-colon'),
	('RATWARE_MS_HASH', 2.0, 'headers', 'Forged Exchange messages: an Outlook-style Message-ID without MimeOLE or Exchange'),
	('FORGED_MUA_THEBAT_MSGID', 4.0, 'mua', 'Message pretends to be send from The Bat! but has forged Message-ID'),
	('FORGED_MUA_THEBAT_MSGID_UNKNOWN', 3.0, 'mua', 'Message pretends to be send from The Bat! but has forged Message-ID'),
	('FORGED_OUTLOOK_HTML', 5.0, 'headers', 'Forged outlook HTML signature'),
	('MIME_HEADER_CTYPE_ONLY', 2.0, 'headers', 'Only Content-Type header without other MIME headers');
