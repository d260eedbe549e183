-- 006-maps: allow and block lists (client_allowlist, sender_blocklist, ...)
-- and the last good copy of each one fetched by URL.
--
-- moat-policyd keeps one row per source of a list as it was last started
-- with. For http(s) sources `body' is the last copy that parsed, with the
-- validators sent back as If-None-Match / If-Modified-Since; it is used
-- while the URL cannot be fetched, also after a restart. Files are their own
-- copy: their rows carry the status only. A URL is stored without its
-- user:password and query. Times are Unix seconds.
CREATE TABLE map_sources (
	list          TEXT NOT NULL,        -- setting: client_allowlist, sender_blocklist, ...
	source        TEXT NOT NULL,        -- file path or URL
	body          BLOB,                 -- last good copy (URLs only)
	etag          TEXT,                 -- ETag of that copy, as the server sent it
	last_modified TEXT,                 -- Last-Modified of that copy, as sent
	entries       INTEGER,              -- entries of the copy in use
	fetched_at    INTEGER,              -- when that copy was fetched (HTTP 200) or read
	checked_at    INTEGER,              -- last time the source answered (200, 304, read)
	error         TEXT,                 -- why the last check failed; NULL if it worked
	error_at      INTEGER,
	refresh_asked INTEGER,              -- bumped by moatctl maps refresh: check every source now
	PRIMARY KEY (list, source)
);

-- "Which lists are in use, when were they fetched, how many entries, what failed last?"
CREATE VIEW maps_status AS
	SELECT list, source, coalesce(entries, 0) AS entries,
	       datetime(fetched_at, 'unixepoch') AS fetched,
	       datetime(checked_at, 'unixepoch') AS checked,
	       length(body) AS stored_bytes,
	       error AS last_error,
	       datetime(error_at, 'unixepoch') AS failed_at
	FROM map_sources
	ORDER BY list, source;
