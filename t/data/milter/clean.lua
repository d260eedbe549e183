-- A clean message through the milter protocol: the milter must add
-- X-Spamd-Result and X-Rspamd-Action and accept. Port from MOAT_MILTER_PORT.
-- The milter negotiates SMFIP_HDR_LEADSPC (DKIM needs the bytes after the colon), so
-- the values it writes carry their leading space, as the MTA then writes them.
local conn = mt.connect("inet:" .. os.getenv("MOAT_MILTER_PORT") .. "@127.0.0.1", 40, 0.25)
if conn == nil then error("cannot connect to the milter") end
if mt.conninfo(conn, "mx.sender.example", "198.51.100.20") ~= nil then error("conninfo") end
if mt.getreply(conn) ~= SMFIR_CONTINUE then error("conninfo not continued") end
if mt.helo(conn, "mx.sender.example") ~= nil then error("helo") end
if mt.mailfrom(conn, "<alice@sender.example>") ~= nil then error("mailfrom") end
if mt.rcptto(conn, "<bob@example.com>") ~= nil then error("rcptto") end
if mt.header(conn, "From", "Alice <alice@sender.example>") ~= nil then error("header") end
if mt.header(conn, "To", "Bob <bob@example.com>") ~= nil then error("header") end
if mt.header(conn, "Subject", "lunch") ~= nil then error("header") end
if mt.header(conn, "Message-ID", "<1@sender.example>") ~= nil then error("header") end
if mt.header(conn, "Date", os.date("!%a, %d %b %Y %H:%M:%S +0000")) ~= nil then error("header") end
if mt.eoh(conn) ~= nil then error("eoh") end
if mt.bodystring(conn, "Shall we meet at noon?\r\n") ~= nil then error("body") end
if mt.eom(conn) ~= nil then error("eom") end
if not mt.eom_check(conn, MT_HDRADD, "X-Spamd-Result") then error("no X-Spamd-Result added") end
if not mt.eom_check(conn, MT_HDRADD, "X-Rspamd-Action", " no action") then error("no X-Rspamd-Action: no action") end
if mt.getreply(conn) ~= SMFIR_ACCEPT and mt.getreply(conn) ~= SMFIR_CONTINUE then error("not accepted") end
mt.disconnect(conn)
