-- A message relayed once before it reached us: its Received header names
-- the relay [MOAT_RCVD_IP], which the milter looks up in the DNS lists
-- that serve the "received" check. Port from MOAT_MILTER_PORT.
local conn = mt.connect("inet:" .. os.getenv("MOAT_MILTER_PORT") .. "@127.0.0.1", 40, 0.25)
if conn == nil then error("cannot connect to the milter") end
if mt.conninfo(conn, "mx.sender.example", "198.51.100.20") ~= nil then error("conninfo") end
if mt.getreply(conn) ~= SMFIR_CONTINUE then error("conninfo not continued") end
if mt.helo(conn, "mx.sender.example") ~= nil then error("helo") end
if mt.mailfrom(conn, "<alice@sender.example>") ~= nil then error("mailfrom") end
if mt.rcptto(conn, "<bob@example.com>") ~= nil then error("rcptto") end
if mt.header(conn, "Received", "from relay.sender.example (relay.sender.example [" ..
	os.getenv("MOAT_RCVD_IP") .. "]) by mx.sender.example with ESMTP id 4Q1; " ..
	os.date("!%a, %d %b %Y %H:%M:%S +0000")) ~= nil then error("header") end
if mt.header(conn, "From", "Alice <alice@sender.example>") ~= nil then error("header") end
if mt.header(conn, "To", "Bob <bob@example.com>") ~= nil then error("header") end
if mt.header(conn, "Subject", "relayed") ~= nil then error("header") end
if mt.header(conn, "Message-ID", "<r" .. os.time() .. "@sender.example>") ~= nil then error("header") end
if mt.header(conn, "Date", os.date("!%a, %d %b %Y %H:%M:%S +0000")) ~= nil then error("header") end
if mt.eoh(conn) ~= nil then error("eoh") end
if mt.bodystring(conn, "Relayed once.\r\n") ~= nil then error("body") end
if mt.eom(conn) ~= nil then error("eom") end
mt.disconnect(conn)
