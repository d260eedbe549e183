-- A plain message of about 3 KB through the milter protocol (for
-- scan_size_limit): accepted or continued. Port from MOAT_MILTER_PORT.
local conn = mt.connect("inet:" .. os.getenv("MOAT_MILTER_PORT") .. "@127.0.0.1", 40, 0.25)
if conn == nil then error("cannot connect to the milter") end
if mt.conninfo(conn, "mx.sender.example", "198.51.100.30") ~= nil then error("conninfo") end
if mt.helo(conn, "mx.sender.example") ~= nil then error("helo") end
if mt.mailfrom(conn, "<carol@sender.example>") ~= nil then error("mailfrom") end
if mt.rcptto(conn, "<dave@example.com>") ~= nil then error("rcptto") end
if mt.header(conn, "From", "Carol <carol@sender.example>") ~= nil then error("header") end
if mt.header(conn, "To", "Dave <dave@example.com>") ~= nil then error("header") end
if mt.header(conn, "Subject", "the report") ~= nil then error("header") end
if mt.header(conn, "Message-ID", "<big" .. os.time() .. "@sender.example>") ~= nil then error("header") end
if mt.header(conn, "Date", os.date("!%a, %d %b %Y %H:%M:%S +0000")) ~= nil then error("header") end
if mt.eoh(conn) ~= nil then error("eoh") end
if mt.bodystring(conn, string.rep("The figures of the quarter are attached below.\r\n", 64)) ~= nil then error("body") end
if mt.eom(conn) ~= nil then error("eom") end
if not mt.eom_check(conn, MT_HDRADD, "X-Spamd-Result") then error("no X-Spamd-Result added") end
mt.disconnect(conn)
