-- One message through the milter protocol, its parts from the environment:
-- MOAT_MILTER_PORT, MOAT_SUBJECT, MOAT_BODY, MOAT_MSGID, MOAT_PRIO (an
-- X-Priority header if set). The milter must add X-Spamd-Result; the
-- verdict is read from its log.
local conn = mt.connect("inet:" .. os.getenv("MOAT_MILTER_PORT") .. "@127.0.0.1", 40, 0.25)
if conn == nil then error("cannot connect to the milter") end
if mt.conninfo(conn, "mx.sender.example", "198.51.100.20") ~= nil then error("conninfo") end
if mt.getreply(conn) ~= SMFIR_CONTINUE then error("conninfo not continued") end
if mt.helo(conn, "mx.sender.example") ~= nil then error("helo") end
if mt.mailfrom(conn, "<alice@sender.example>") ~= nil then error("mailfrom") end
if mt.rcptto(conn, "<bob@example.com>") ~= nil then error("rcptto") end
if mt.header(conn, "From", "Alice <alice@sender.example>") ~= nil then error("header") end
if mt.header(conn, "To", "Bob <bob@example.com>") ~= nil then error("header") end
if mt.header(conn, "Subject", os.getenv("MOAT_SUBJECT")) ~= nil then error("header") end
if mt.header(conn, "Message-ID", os.getenv("MOAT_MSGID")) ~= nil then error("header") end
if mt.header(conn, "Date", os.date("!%a, %d %b %Y %H:%M:%S +0000")) ~= nil then error("header") end
if os.getenv("MOAT_PRIO") ~= nil and os.getenv("MOAT_PRIO") ~= "" then
	if mt.header(conn, "X-Priority", os.getenv("MOAT_PRIO")) ~= nil then error("header") end
end
if mt.eoh(conn) ~= nil then error("eoh") end
if mt.bodystring(conn, os.getenv("MOAT_BODY") .. "\r\n") ~= nil then error("body") end
if mt.eom(conn) ~= nil then error("eom") end
if not mt.eom_check(conn, MT_HDRADD, "X-Spamd-Result") then error("no X-Spamd-Result added") end
mt.disconnect(conn)
