-- One message file through the milter protocol, as Postfix would send it,
-- and the X-Spamd-Result the milter added written to a file. From the
-- environment: MT_PORT (milter on 127.0.0.1), MT_MSG (the message, LF line
-- ends, header fields possibly folded), MT_FROM and MT_RCPT (envelope,
-- with <>), MT_OUT (where the header's value goes; "(none)" if not added).
local conn = mt.connect("inet:" .. os.getenv("MT_PORT") .. "@127.0.0.1", 40, 0.25)
if conn == nil then error("cannot connect to the milter") end
if mt.conninfo(conn, "mx.sender.example", "198.51.100.20") ~= nil then error("conninfo") end
if mt.helo(conn, "mx.sender.example") ~= nil then error("helo") end
if mt.mailfrom(conn, os.getenv("MT_FROM")) ~= nil then error("mailfrom") end
if mt.rcptto(conn, os.getenv("MT_RCPT")) ~= nil then error("rcptto") end
local f = assert(io.open(os.getenv("MT_MSG"), "rb"))
local msg = f:read("*a")
f:close()
local hend = msg:find("\n\n", 1, true)
if hend == nil then error("no end of header in " .. os.getenv("MT_MSG")) end
local head, body = msg:sub(1, hend), msg:sub(hend + 2)
local name, value
local function send_field()
	if name ~= nil and mt.header(conn, name, value) ~= nil then error("header " .. name) end
end
for line in head:gmatch("([^\n]*)\n") do
	if line:match("^[ \t]") then
		value = value .. "\n" .. line
	else
		send_field()
		name, value = line:match("^([^:]+):[ \t]?(.*)$")
	end
end
send_field()
if mt.eoh(conn) ~= nil then error("eoh") end
body = body:gsub("\n", "\r\n")
if mt.bodystring(conn, body) ~= nil then error("body") end
if mt.eom(conn) ~= nil then error("eom") end
local out = assert(io.open(os.getenv("MT_OUT"), "wb"))
-- The milter negotiates SMFIP_HDR_LEADSPC: its value starts with the blank after the colon.
out:write(((mt.getheader(conn, "X-Spamd-Result", 0) or "(none)"):gsub("^ ", "")))
out:close()
mt.disconnect(conn)
