-- 018-moat-api: what moat-controller's MOAT API (moat-controller(8)) needs
-- to search the history and to learn a message from it without the
-- original.

-- The Bayes token hashes of a scanned message, kept for
-- history_tokens_max_age (moat.conf, default 7d; 0 keeps none) so the UI
-- can learn it as spam or ham later: the distinct 64-bit token
-- hashes (8 bytes each, little-endian) and the hash that names the message
-- in bayes_seen. Hashes, not text: nothing of the message can be read back
-- from them. Written by moat-contentfilter and /checkv2 with their history
-- row, removed with it, and pruned by age a little at each history write.
CREATE TABLE history_tokens (
	id          INTEGER PRIMARY KEY,           -- history.id
	time        INTEGER NOT NULL,              -- the history row's time
	message     INTEGER NOT NULL,              -- bayes_seen.message
	tokens      BLOB NOT NULL
);
CREATE INDEX history_tokens_time ON history_tokens (time);

-- The From header the user sees, beside the envelope sender: its (first)
-- address and display name as the scan read them ('' for none; rows from
-- before this migration have ''). The history searches "from" in both.
ALTER TABLE history ADD COLUMN mime_from TEXT NOT NULL DEFAULT '';
ALTER TABLE history ADD COLUMN mime_from_name TEXT NOT NULL DEFAULT '';

-- Substring search on sender, From, recipients and subject: a trigram index
-- (FTS5) over the history's own columns. A LIKE '%text%' over a million
-- rows reads them all (seconds); the trigrams find the few that can match.
-- detail=none keeps it small; SQLite checks each candidate's text.
CREATE VIRTUAL TABLE history_search USING fts5(
	sender, recipients, subject, mime_from, mime_from_name,
	content = 'history', content_rowid = 'id', tokenize = 'trigram', detail = 'none');
INSERT INTO history_search (history_search) VALUES ('rebuild');

-- The symbols each row got, for "which messages got SYM?": split from the
-- symbols column ("default: False [s / r]; SYM(w)[opts]; ...") when the row
-- is written, keeping what looks like SYM( as symbol_hits_today does.
CREATE TABLE history_symbols (
	id          INTEGER NOT NULL,              -- history.id
	symbol      TEXT NOT NULL,
	PRIMARY KEY (id, symbol)
) WITHOUT ROWID;
CREATE INDEX history_symbols_symbol ON history_symbols (symbol, id);

-- Filters the history page offers: an index each, ordered by id within.
CREATE INDEX history_action ON history (action);
CREATE INDEX history_client ON history (client);
-- The ids alone: a deep page of the whole history (OFFSET 500000) steps
-- over this index (some 10 MB per million rows, 7 ms) instead of the rows
-- themselves (1 GB, 200 ms and more).
CREATE INDEX history_id ON history (id);

-- Rows are indexed in bulk, not by a trigger per row: the writers (the
-- milter's history thread, the controller's) index what they wrote in the
-- same transaction, and a search first indexes any row written otherwise
-- (shared/store/history_index.c). A trigger per row cost some 100 us a
-- message; a statement over a batch a few. history_indexed says how far
-- the index goes: the rows with id <= last_id are in it.
CREATE TABLE history_indexed (
	one         INTEGER PRIMARY KEY CHECK (one = 1),
	last_id     INTEGER NOT NULL
);

CREATE TRIGGER history_ad AFTER DELETE ON history BEGIN
	DELETE FROM history_tokens WHERE id = old.id;
END;

-- Only a row in the index is taken out of it: FTS5 is told the old text,
-- and text it never had would corrupt it.
CREATE TRIGGER history_ad_indexed AFTER DELETE ON history
WHEN old.id <= (SELECT last_id FROM history_indexed) BEGIN
	INSERT INTO history_search (history_search, rowid, sender, recipients, subject, mime_from,
				    mime_from_name)
		VALUES ('delete', old.id, old.sender, old.recipients, old.subject, old.mime_from,
			old.mime_from_name);
	DELETE FROM history_symbols WHERE id = old.id;
END;

CREATE TRIGGER history_au AFTER UPDATE OF sender, recipients, subject, mime_from, mime_from_name
	ON history WHEN old.id <= (SELECT last_id FROM history_indexed) BEGIN
	INSERT INTO history_search (history_search, rowid, sender, recipients, subject, mime_from,
				    mime_from_name)
		VALUES ('delete', old.id, old.sender, old.recipients, old.subject, old.mime_from,
			old.mime_from_name);
	INSERT INTO history_search (rowid, sender, recipients, subject, mime_from, mime_from_name)
		VALUES (new.id, new.sender, new.recipients, new.subject, new.mime_from,
			new.mime_from_name);
END;

INSERT OR IGNORE INTO history_symbols (id, symbol)
	SELECT h.id, substr(value, 1, instr(value, '(') - 1)
	FROM history h,
	     json_each(CASE WHEN json_valid('["' || replace(replace(replace(h.symbols, '\', '\\'),
								       '"', '\"'), '; ', '","') || '"]')
			    THEN '["' || replace(replace(replace(h.symbols, '\', '\\'), '"', '\"'),
						 '; ', '","') || '"]' ELSE '[]' END)
	WHERE instr(value, '(') > 1
	  AND substr(value, 1, instr(value, '(') - 1) NOT GLOB '*[^A-Z0-9_]*';

INSERT INTO history_indexed (one, last_id) SELECT 1, coalesce(max(id), 0) FROM history;
