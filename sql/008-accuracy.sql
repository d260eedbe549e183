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
	('MIME_HEADER_CTYPE_ONLY', 2.0, 'headers', 'Only Content-Type header without other MIME headers'),
	('CTYPE_MIXED_BOGUS', 1.0, 'mime', 'multipart/mixed without non-textual part'),
	('MIME_BASE64_TEXT_BOGUS', 1.0, 'mime', 'Has text part encoded in base64 that does not contain any 8bit characters'),
	('SIGNED_PGP', -2.0, 'mime', 'Message is signed with PGP'),
	('SIGNED_SMIME', -2.0, 'mime', 'Message is signed with S/MIME'),
	('INTRODUCTION', 2.0, 'scams', 'Sender introduces themselves'),
	('FORGED_X_MAILER', 4.5, 'headers', 'Forged X-Mailer header'),
	('SUBJECT_NEEDS_ENCODING', 1.0, 'headers', 'Subject needs encoding'),
	('FROM_NEEDS_ENCODING', 1.0, 'headers', 'From header needs encoding'),
	('TO_NEEDS_ENCODING', 1.0, 'headers', 'To header needs encoding');

-- Rspamd's regexp rules (rules/regexp/misc.lua, headers.lua) as rows of the rules table.
INSERT INTO rules (symbol, target, pattern, caseless, description) VALUES
	('INTRODUCTION', 'body',
	 '\b(?:my name is\b|(?:i am|this is)\s+(?:mr|mrs|ms|miss|master|sir|prof(?:essor)?|d(?:octo)?r|rev(?:erend)?)(?:\.|\b))',
	 1, 'Rspamd''s INTRODUCTION: the sender introduces themselves (advance-fee scams)'),
	('FORGED_X_MAILER', 'header:X-Mailer',
	 '^(?:X-Mailer: |(?:Mozilla )?Thunderbird \d|eGroups Message Poster|i(?:Phone|Pad) Mail(?! \((?:1[AC]|[34][AB]|5[ABCFGH]|7[A-E]|8[ABCEFGHJKL]|9[AB]|\d{2}[A-Z])\d+[a-z]?\)))',
	 0, 'Rspamd''s FORGED_X_MAILER: X-Mailer values no genuine mailer sends');
