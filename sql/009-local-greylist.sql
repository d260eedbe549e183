-- 009-local-greylist: why the content filter did what it did with a
-- message, for the cases its action alone does not tell.

-- reason: for mail greylisting held ("greylisted (a retry is accepted in
-- 300s)"), let through on its retry ("greylisting passed after 312s"; its
-- action is then "no action", as Rspamd's), local mail it did not greylist
-- ("not greylisted: client in local_networks") and local mail it did not
-- scan (action "skipped": "not scanned: submitted on this host (scan_local
-- = no)"). Empty for the rest.
ALTER TABLE history ADD COLUMN reason TEXT NOT NULL DEFAULT '';

-- The content filter's greylisting writes Rspamd's symbol: GREYLIST(0.00)
-- with [greylisted] on a message it held and [pass] on one let through.
INSERT INTO symbols (name, weight, group_name, description) VALUES
	('GREYLIST', 0.0, 'greylist', 'content filter greylisting: [greylisted] held, [pass] let through on its retry');

-- history_recent (007) with the reason.
DROP VIEW history_recent;
CREATE VIEW history_recent AS
	SELECT datetime(time, 'unixepoch') AS time, queue_id, client, sender, recipients,
	       printf('%.2f', score) AS score, action, reason, subject, symbols
	FROM history ORDER BY history.time DESC, history.id DESC;

-- The content filter forgets greylisted messages not seen for
-- greylist_max_age, a little at each history write: by last_seen.
CREATE INDEX milter_greylist_last_seen ON milter_greylist (last_seen);
