-- A message over the reject threshold: the milter must answer 554 5.7.1.
local conn = mt.connect("inet:" .. os.getenv("MOAT_MILTER_PORT") .. "@127.0.0.1", 40, 0.25)
if conn == nil then error("cannot connect to the milter") end
mt.conninfo(conn, "mx.sender.example", "198.51.100.21")
mt.helo(conn, "mx.sender.example")
mt.mailfrom(conn, "<alice@sender.example>")
mt.rcptto(conn, "<bob@example.com>")
mt.header(conn, "From", "alice@sender.example")
mt.header(conn, "Subject", "reject me")
mt.header(conn, "X-Priority", "1")
mt.eoh(conn)
mt.bodystring(conn, "x\r\n")
if mt.eom(conn) ~= nil then error("eom") end
if mt.getreply(conn) ~= SMFIR_REPLYCODE then error("no reply code: not rejected") end
if not mt.eom_check(conn, MT_SMTPREPLY, "554", "5.7.1", "Message rejected as spam") then
	error("not 554 5.7.1")
end
mt.disconnect(conn)
