-- 004-contentfilter: what moat-contentfilter keeps and the symbols of its
-- header and MIME checks (weights like Rspamd's defaults).

-- One row per scanned message.
CREATE TABLE history (
	id          INTEGER PRIMARY KEY,
	time        INTEGER NOT NULL,              -- Unix seconds
	queue_id    TEXT NOT NULL DEFAULT '',
	client      TEXT NOT NULL DEFAULT '',
	sender      TEXT NOT NULL DEFAULT '',
	recipients  TEXT NOT NULL DEFAULT '',      -- comma-separated
	subject     TEXT NOT NULL DEFAULT '',
	size        INTEGER NOT NULL DEFAULT 0,
	score       REAL NOT NULL,
	action      TEXT NOT NULL,                 -- no action, greylist, add header, ...
	symbols     TEXT NOT NULL DEFAULT '',      -- SYM(w)[opts]; ... as in X-Spamd-Result
	scan_ms     REAL NOT NULL DEFAULT 0
);
CREATE INDEX history_time ON history (time);

-- Messages the content filter greylisted, keyed by a hash of the message
-- (sender, recipients, Message-ID): accepted when retried after the delay.
CREATE TABLE milter_greylist (
	id          INTEGER PRIMARY KEY,           -- 64-bit hash
	first_seen  INTEGER NOT NULL,
	last_seen   INTEGER NOT NULL
);

-- The key moat-policyd signs X-Moat-Policy with, so the content filter
-- never believes a header a sender wrote: random per database.
INSERT INTO settings (name, value, description) VALUES
	('policy_header_key', lower(hex(randomblob(16))),
	 'secret shared by moat-policyd and moat-contentfilter to sign X-Moat-Policy');

-- "What happened to recent mail?"
CREATE VIEW history_recent AS
	SELECT datetime(time, 'unixepoch') AS time, queue_id, client, sender, recipients,
	       printf('%.2f', score) AS score, action, subject, symbols
	FROM history ORDER BY time DESC;

-- "How much mail got which action today?"
CREATE VIEW actions_today AS
	SELECT action, count(*) AS messages, printf('%.2f', avg(score)) AS avg_score,
	       printf('%.2f', avg(scan_ms)) AS avg_scan_ms
	FROM history WHERE time >= unixepoch('now', 'start of day')
	GROUP BY action ORDER BY messages DESC;

-- Symbols of the header, envelope and MIME checks (shared/checks.c).
INSERT INTO symbols (name, weight, group_name, description) VALUES
	('MISSING_MID', 2.5, 'headers', 'Message-ID header is missing'),
	('INVALID_MSGID', 1.7, 'headers', 'Message-ID is not <local@domain>'),
	('MID_RHS_MATCH_FROM', 0.0, 'headers', 'Message-ID domain matches the From domain'),
	('MISSING_DATE', 1.0, 'headers', 'Date header is missing'),
	('INVALID_DATE', 1.5, 'headers', 'Date header cannot be parsed'),
	('DATE_IN_FUTURE', 4.0, 'headers', 'Date is more than 2 hours in the future'),
	('DATE_IN_PAST', 1.0, 'headers', 'Date is more than a week in the past'),
	('MISSING_SUBJECT', 2.0, 'headers', 'Subject header is missing'),
	('EMPTY_SUBJECT', 1.0, 'headers', 'Subject header is empty'),
	('SUBJ_ALL_CAPS', 3.0, 'headers', 'Subject is all capital letters'),
	('MISSING_FROM', 2.0, 'headers', 'From header is missing or has no address'),
	('MULTIPLE_FROM', 8.0, 'headers', 'more than one From address'),
	('FROM_HAS_DN', 0.0, 'headers', 'From has a display name'),
	('FROM_NAME_HAS_TITLE', 1.0, 'headers', 'From display name starts with a title (Mr., Dr., ...)'),
	('FROM_EQ_ENVFROM', 0.0, 'headers', 'From address equals the envelope sender'),
	('FROM_NEQ_ENVFROM', 0.0, 'headers', 'From address differs from the envelope sender'),
	('HAS_REPLYTO', 0.0, 'headers', 'has a Reply-To header'),
	('REPLYTO_EQ_FROM', 0.0, 'headers', 'Reply-To equals From'),
	('REPLYTO_DOM_EQ_FROM_DOM', 0.0, 'headers', 'Reply-To domain equals the From domain'),
	('REPLYTO_DOM_NEQ_FROM_DOM', 0.0, 'headers', 'Reply-To domain differs from the From domain'),
	('MISSING_TO', 2.0, 'headers', 'To header is missing'),
	('TO_DN_NONE', 0.0, 'headers', 'no To address has a display name'),
	('TO_DN_SOME', 0.0, 'headers', 'some To addresses have display names'),
	('TO_DN_ALL', 0.0, 'headers', 'all To addresses have display names'),
	('TO_MATCH_ENVRCPT_ALL', 0.0, 'headers', 'all envelope recipients are in To'),
	('TO_MATCH_ENVRCPT_SOME', 0.0, 'headers', 'some envelope recipients are in To'),
	('RCVD_COUNT_ZERO', 0.0, 'headers', 'no Received headers'),
	('RCVD_COUNT_ONE', 0.0, 'headers', 'one Received header'),
	('RCVD_COUNT_TWO', 0.0, 'headers', 'two Received headers'),
	('RCVD_COUNT_THREE', 0.0, 'headers', '3-4 Received headers'),
	('RCVD_COUNT_FIVE', 0.0, 'headers', '5-6 Received headers'),
	('RCVD_COUNT_SEVEN', 0.0, 'headers', '7-11 Received headers'),
	('RCVD_COUNT_TWELVE', 0.0, 'headers', '12 or more Received headers'),
	('RCPT_COUNT_ONE', 0.0, 'headers', 'one recipient'),
	('RCPT_COUNT_TWO', 0.0, 'headers', 'two recipients'),
	('RCPT_COUNT_THREE', 0.0, 'headers', '3-4 recipients'),
	('RCPT_COUNT_FIVE', 0.0, 'headers', '5-6 recipients'),
	('RCPT_COUNT_SEVEN', 0.0, 'headers', '7-11 recipients'),
	('RCPT_COUNT_TWELVE', 0.0, 'headers', '12 or more recipients'),
	('RCVD_TLS_LAST', 0.0, 'headers', 'the last hop used TLS'),
	('RCVD_NO_TLS_LAST', 0.1, 'headers', 'the last hop did not use TLS'),
	('MISSING_XM_UA', 0.0, 'headers', 'neither X-Mailer nor User-Agent'),
	('PREVIOUSLY_DELIVERED', 0.0, 'headers', 'Delivered-To is an envelope recipient'),
	('HAS_X_PRIO_ONE', 0.0, 'headers', 'X-Priority is 1'),
	('HAS_LIST_UNSUB', -0.01, 'headers', 'has List-Unsubscribe'),
	('R_BAD_CTE_7BIT', 3.5, 'headers', 'raw 8-bit bytes where 7-bit is required'),
	('MIME_GOOD', -0.1, 'mime', 'well-formed MIME structure'),
	('MIME_TRACE', 0.0, 'mime', 'MIME parts: + content, ~ attachment'),
	('MIME_HTML_ONLY', 0.2, 'mime', 'only an HTML part'),
	('MIME_MA_MISSING_TEXT', 2.0, 'mime', 'multipart/alternative without a text/plain part'),
	('HAS_ATTACHMENT', 0.0, 'mime', 'has an attachment'),
	('BROKEN_CONTENT_TYPE', 1.5, 'mime', 'multipart without a usable boundary'),
	('MOAT_BAD_ENCODING', 0.5, 'mime', 'damaged base64 or quoted-printable'),
	('MOAT_MIME_LIMITS', 1.0, 'mime', 'over a parser limit (depth, parts, headers)'),
	('MOAT_TOO_BIG', 0.0, 'mime', 'larger than scan_size_limit: only the start was scanned');

-- Regular-expression rules (PCRE2, JIT-compiled), picked up without a
-- restart. target: 'subject', 'header:Name', 'body' (decoded text, HTML
-- reduced to text), 'raw' (the message as received), 'url' (each URL).
-- A match adds the symbol with its weight from the symbols table (insert
-- the symbol there too; unknown symbols weigh 0).
CREATE TABLE rules (
	id          INTEGER PRIMARY KEY,
	symbol      TEXT NOT NULL CHECK (symbol GLOB '[A-Z0-9_]*' AND length(symbol) BETWEEN 1 AND 64),
	target      TEXT NOT NULL CHECK (target IN ('subject', 'body', 'raw', 'url') OR target GLOB 'header:?*'),
	pattern     TEXT NOT NULL,
	caseless    INTEGER NOT NULL DEFAULT 1 CHECK (caseless IN (0, 1)),
	enabled     INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
	description TEXT NOT NULL DEFAULT ''
);

-- "Which regex rules run, and what do they weigh?"
CREATE VIEW rules_in_use AS
	SELECT r.id, r.symbol, coalesce(printf('%.2f', s.weight), '0.00') AS weight, r.target,
	       r.pattern, r.description
	FROM rules r LEFT JOIN symbols s ON s.name = r.symbol
	WHERE r.enabled = 1 ORDER BY r.id;

INSERT INTO symbols (name, weight, group_name, description) VALUES
	('SUBJECT_ENDS_QUESTION', 1.0, 'subject', 'Subject ends with a question mark'),
	('SUBJECT_HAS_QUESTION', 0.0, 'subject', 'Subject contains a question mark'),
	('SUBJECT_ENDS_EXCLAIM', 0.0, 'subject', 'Subject ends with an exclamation mark'),
	('SUBJECT_HAS_EXCLAIM', 0.0, 'subject', 'Subject contains an exclamation mark'),
	('SUBJECT_HAS_CURRENCY', 1.0, 'subject', 'Subject contains a currency sign'),
	('SUBJECT_ENDS_SPACES', 0.5, 'subject', 'Subject ends with spaces'),
	('R_NO_SPACE_IN_FROM', 1.0, 'headers', 'no space between the From display name and address'),
	('MIME_BASE64_TEXT', 0.1, 'mime', 'a text part is base64-encoded'),
	('MOAT_URL_IP', 1.5, 'url', 'a URL points at a numeric IP address'),
	('R_SUSPICIOUS_URL', 5.0, 'url', 'obfuscated URL (user@host trick, hex/octal/integer address)'),
	('PHISHING', 4.0, 'url', 'link text shows one site, the link goes to another');
