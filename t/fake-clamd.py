#!/usr/bin/python3
# fake-clamd.py SOCKET MODEFILE LOG - a clamd for the faults a real one will
# not show on demand (clamd(8) INSTREAM). Listens on the unix socket SOCKET;
# for each connection reads the mode from MODEFILE (so a test switches it
# without a restart) and appends "MODE BYTES" to LOG once it has answered.
#   ok         stream: OK, or Eicar-Signature FOUND for the EICAR string
#   hang       reads the stream, never answers
#   close      reads the stream, closes without a reply
#   garbage    answers bytes that are no clamd reply
#   error      answers "Can't allocate memory ERROR"
#   sizelimit  after 1000 bytes: "INSTREAM size limit exceeded. ERROR", closes
#   slow       reads 16 bytes a second (the client's timeout ends it)
#   delay      stream: OK, 1.5 seconds after the stream ended
#   encrypted, macro, limits: the Heuristics.* FOUND replies
import os, socket, struct, sys, threading, time

EICAR = rb"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
path, modefile, logfile = sys.argv[1:4]


def read_exact(c, n, slow=False):
    buf = b""
    while len(buf) < n:
        if slow:
            time.sleep(1)
        part = c.recv(min(16, n - len(buf)) if slow else n - len(buf))
        if not part:
            raise EOFError
        buf += part
    return buf


def serve(c):
    mode = open(modefile).read().strip()
    data = b""
    try:
        cmd = b""
        while not cmd.endswith(b"\0") and len(cmd) < 20:
            cmd += read_exact(c, 1)
        if cmd != b"zINSTREAM\0":
            c.sendall(b"UNKNOWN COMMAND\0")
            return
        while True:
            (n,) = struct.unpack(">I", read_exact(c, 4, mode == "slow"))
            if n == 0:
                break
            data += read_exact(c, n, mode == "slow")
            if mode == "sizelimit" and len(data) > 1000:
                c.sendall(b"INSTREAM size limit exceeded. ERROR\0")
                return
        reply = {
            "ok": b"stream: Eicar-Signature FOUND\0" if EICAR in data else b"stream: OK\0",
            "garbage": b"\x01\x02hello\xff there\0",
            "error": b"Can't allocate memory ERROR\0",
            "encrypted": b"stream: Heuristics.Encrypted.PDF FOUND\0",
            "macro": b"stream: Heuristics.OLE2.ContainsMacros FOUND\0",
            "limits": b"stream: Heuristics.Limits.Exceeded.MaxFileSize FOUND\0",
        }.get(mode)
        if mode == "hang":
            time.sleep(30)
        elif mode == "delay":
            time.sleep(1.5)
            c.sendall(b"stream: OK\0")
        elif reply:
            c.sendall(reply)
    except (EOFError, OSError):
        pass
    finally:
        with open(logfile, "a") as f:
            f.write("%s %d\n" % (mode, len(data)))
        c.close()


if os.path.exists(path):
    os.unlink(path)
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(path)
s.listen(16)
while True:
    conn, _ = s.accept()
    threading.Thread(target=serve, args=(conn,), daemon=True).start()
