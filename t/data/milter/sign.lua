-- DKIM signing over the milter protocol ({auth_authen} paths): one message
-- per connection, its {auth_authen} macro and From from the environment.
-- MOAT_AUTH: the macro's value ("-": not sent), MOAT_FROM: the From
-- address, MOAT_SIGNED: "yes" if a DKIM-Signature must be inserted, "no"
-- if none may be; MOAT_CLIENT: the client address.
local conn = mt.connect("inet:" .. os.getenv("MOAT_MILTER_PORT") .. "@127.0.0.1", 40, 0.25)
if conn == nil then error("cannot connect to the milter") end
local auth, from = os.getenv("MOAT_AUTH"), os.getenv("MOAT_FROM")
if mt.conninfo(conn, "mx.sender.example", os.getenv("MOAT_CLIENT")) ~= nil then error("conninfo") end
if mt.helo(conn, "client.example") ~= nil then error("helo") end
if auth ~= "-" then mt.macro(conn, SMFIC_MAIL, "{auth_authen}", auth) end
if mt.mailfrom(conn, "<" .. from .. ">") ~= nil then error("mailfrom") end
if mt.rcptto(conn, "<bob@example.com>") ~= nil then error("rcptto") end
if mt.header(conn, "From", "Alice <" .. from .. ">") ~= nil then error("header") end
if mt.header(conn, "To", "Bob <bob@example.com>") ~= nil then error("header") end
if mt.header(conn, "Subject", "lunch") ~= nil then error("header") end
if mt.header(conn, "Message-ID", "<" .. os.time() .. math.random(1000000) .. "@moat.test>") ~= nil then error("header") end
if mt.header(conn, "Date", os.date("!%a, %d %b %Y %H:%M:%S +0000")) ~= nil then error("header") end
if mt.eoh(conn) ~= nil then error("eoh") end
-- Several chunks: a signed message's body must not be skipped after the first.
for i = 1, 3 do
	if mt.bodystring(conn, "line " .. i .. "\r\n") ~= nil then error("body") end
end
if mt.eom(conn) ~= nil then error("eom") end
local signed = mt.eom_check(conn, MT_HDRINSERT, "DKIM-Signature")
if os.getenv("MOAT_SIGNED") == "yes" and not signed then error("no DKIM-Signature inserted") end
if os.getenv("MOAT_SIGNED") == "no" and signed then error("a DKIM-Signature was inserted") end
if mt.getreply(conn) ~= SMFIR_ACCEPT and mt.getreply(conn) ~= SMFIR_CONTINUE then error("not accepted") end
mt.disconnect(conn)
