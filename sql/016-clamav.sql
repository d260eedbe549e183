-- 016: ClamAV through clamd (check_clamav). The symbols are Rspamd's
-- antivirus ones as docker-mailserver names them; as in Rspamd they weigh
-- 0: a virus rejects by itself (554 5.7.1 ClamAV FOUND VIRUS "NAME"), and
-- a failed scan tempfails unless clamav_fail_action = accept (moat.conf).
-- The module is off until `moatctl module enable clamav`, since without a
-- clamd every message would be tempfailed.

INSERT INTO modules (name, enabled, description) VALUES
	('clamav', 0, 'ClamAV virus scan through clamd (clamav_servers in moat.conf)');

INSERT INTO symbols (name, weight, group_name, description) VALUES
	('CLAM_VIRUS',           0, 'antivirus', 'clamd found a virus (option: its name); the message is rejected'),
	('CLAM_VIRUS_ENCRYPTED', 0, 'antivirus', 'clamd found an encrypted file (Heuristics.Encrypted, clamd AlertEncrypted); rejected'),
	('CLAM_VIRUS_MACRO',     0, 'antivirus', 'clamd found an Office macro (Heuristics.OLE2.ContainsMacros, clamd AlertOLE2Macros); rejected'),
	('CLAM_VIRUS_FAIL',      0, 'antivirus', 'the virus scan failed (option: why); tempfailed unless clamav_fail_action = accept'),
	('CLAM_TOO_BIG',         0, 'antivirus', 'not sent to clamd: bigger than clamav_max_size or scan_size_limit (option: the size)');
