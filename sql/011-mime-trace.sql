-- 011: MIME_GOOD and MIME_TRACE say what they report since X-Spamd-Result
-- follows Rspamd's mime_types module (every part, multiparts too, numbered a
-- part before its children).

UPDATE symbols SET description = 'the content types of the message''s parts that Rspamd''s mime_types map rates good, one option each'
	WHERE name = 'MIME_GOOD';
UPDATE symbols SET description = 'every MIME part by number, a part before its children: + good type, - bad type, ~ other'
	WHERE name = 'MIME_TRACE';
