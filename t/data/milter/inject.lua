-- Header injection through the content filter: the subject is rewritten and
-- the spam header added with patterns holding CR LF + a header name (from
-- the settings table, set by security.t), and the message's own subject is
-- folded. Every value written must stay one header. Port from MOAT_MILTER_PORT.
-- The milter negotiates SMFIP_HDR_LEADSPC (DKIM needs the bytes after the colon), so
-- the values it writes carry their leading space, as the MTA then writes them.
local conn = mt.connect("inet:" .. os.getenv("MOAT_MILTER_PORT") .. "@127.0.0.1", 40, 0.25)
if conn == nil then error("cannot connect to the milter") end
if mt.conninfo(conn, "mx.sender.example", "198.51.100.30") ~= nil then error("conninfo") end
if mt.helo(conn, "mx.sender.example") ~= nil then error("helo") end
if mt.mailfrom(conn, "<alice@sender.example>") ~= nil then error("mailfrom") end
if mt.rcptto(conn, "<bob@example.com>") ~= nil then error("rcptto") end
if mt.header(conn, "From", "Alice <alice@sender.example>") ~= nil then error("header") end
if mt.header(conn, "To", "Bob <bob@example.com>") ~= nil then error("header") end
if mt.header(conn, "Subject", "folded\n\tsubject\r\nX-Injected: subject") ~= nil then error("header") end
if mt.header(conn, "Message-ID", "<inject@sender.example>") ~= nil then error("header") end
if mt.eoh(conn) ~= nil then error("eoh") end
if mt.bodystring(conn, "See http://evil.example\r\nX-Injected: url/ now\r\n") ~= nil then error("body") end
if mt.eom(conn) ~= nil then error("eom") end
if not mt.eom_check(conn, MT_HDRCHANGE, "Subject", " [SPAM]  X-Injected: pattern folded\tsubject") then
	error("Subject not rewritten to one safe line")
end
if not mt.eom_check(conn, MT_HDRADD, "X-Spam", " Yes  X-Injected: setting") then
	error("X-Spam not added as one safe header")
end
if not mt.eom_check(conn, MT_HDRADD, "X-Spamd-Result") then error("no X-Spamd-Result added") end
if mt.eom_check(conn, MT_HDRADD, "X-Injected") then error("an X-Injected header was added") end
mt.disconnect(conn)
