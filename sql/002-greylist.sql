-- 002-greylist: greylisting state (moat-policyd), postgrey's model.
--
-- One row per (client network, normalised sender, recipient) triplet. The
-- id is a 64-bit hash of the triplet: an integer key keeps lookups among
-- millions of rows cheap; the text columns are there for people (and to
-- detect the rare hash collision). Times are Unix seconds.
CREATE TABLE greylist (
	id          INTEGER PRIMARY KEY,
	client      TEXT NOT NULL,          -- network (192.0.2.0, 2001:db8:1:2::) or host
	sender      TEXT NOT NULL,          -- normalised envelope sender, '' for <>
	recipient   TEXT NOT NULL,
	first_seen  INTEGER NOT NULL,       -- start of the current wait
	last_seen   INTEGER NOT NULL,
	passed_at   INTEGER                 -- first delivery after the delay, NULL while waiting
);

-- Clients allowed without greylisting: automatically after enough
-- successful retries (as postgrey's --auto-whitelist-clients), or by hand
-- (moatctl greylist allow, manual = 1, never expires).
CREATE TABLE greylist_clients (
	client      TEXT PRIMARY KEY NOT NULL,  -- client IP address
	count       INTEGER NOT NULL DEFAULT 0, -- successful retries seen (at most one an hour)
	last_seen   INTEGER NOT NULL,
	manual      INTEGER NOT NULL DEFAULT 0 CHECK (manual IN (0, 1))
) WITHOUT ROWID;

-- "Which triplets are still waiting to be retried?"
CREATE VIEW greylist_pending AS
	SELECT client, sender, recipient,
	       datetime(first_seen, 'unixepoch') AS first_seen,
	       datetime(last_seen, 'unixepoch') AS last_seen
	FROM greylist WHERE passed_at IS NULL
	ORDER BY last_seen DESC;

-- "Which triplets have passed greylisting, and after how long?"
CREATE VIEW greylist_passed AS
	SELECT client, sender, recipient,
	       passed_at - first_seen AS delayed_seconds,
	       datetime(passed_at, 'unixepoch') AS passed_at,
	       datetime(last_seen, 'unixepoch') AS last_seen
	FROM greylist WHERE passed_at IS NOT NULL
	ORDER BY last_seen DESC;

-- "Which clients skip greylisting, and why?"
CREATE VIEW greylist_allowed_clients AS
	SELECT client, CASE manual WHEN 1 THEN 'manual' ELSE 'auto' END AS how, count,
	       datetime(last_seen, 'unixepoch') AS last_seen
	FROM greylist_clients
	ORDER BY manual DESC, last_seen DESC;
