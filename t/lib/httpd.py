#!/usr/bin/env python3
"""httpd.py - a tiny HTTP server on loopback for moat's tests.

    python3 t/lib/httpd.py --port PORT --root DIR --log FILE [--control FILE]

Serves the files under DIR with an ETag (a hash of the content) and a
Last-Modified (the file's mtime), and answers conditional GETs as RFC 9110
says: If-None-Match first, If-Modified-Since only without it; a match is
304 Not Modified. A file NAME.redirect next to NAME answers 302 with its
content as Location.

Each request is one line in the log file, written before the answer goes
out so a test can wait for it:
    GET /path inm=<If-None-Match or -> ims=<If-Modified-Since or -> status=NNN

The control file, read at each request, switches behaviour for tests:
    (missing or empty)  serve normally
    500                 answer 500 Internal Server Error
    hang                accept, read the request, then never answer
    novalidators        serve without ETag and Last-Modified, ignoring
                        conditional headers (always 200)
"""
import argparse
import email.utils
import hashlib
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--root", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--control", default="")
    args = ap.parse_args()
    root = os.path.realpath(args.root)
    log_lock = threading.Lock()

    def control():
        try:
            with open(args.control) as f:
                return f.read().strip()
        except OSError:
            return ""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *a):
            pass

        def note(self, status):
            line = "%s %s inm=%s ims=%s status=%d\n" % (
                self.command, self.path,
                self.headers.get("If-None-Match", "-"),
                self.headers.get("If-Modified-Since", "-"), status)
            with log_lock, open(args.log, "a") as f:
                f.write(line)

        def answer(self, status, body=b"", headers=()):
            self.note(status)
            self.send_response(status)
            for k, v in headers:
                self.send_header(k, v)
            if status != 304:
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if status != 304 and self.command != "HEAD":
                self.wfile.write(body)

        def do_GET(self):
            mode = control()
            if mode == "hang":
                self.note(0)
                time.sleep(3600)
                return
            if mode == "500":
                return self.answer(500, b"internal error\n")
            path = os.path.realpath(os.path.join(root, self.path.split("?")[0].lstrip("/")))
            if not path.startswith(root + os.sep):
                return self.answer(403, b"forbidden\n")
            if os.path.isfile(path + ".redirect"):
                with open(path + ".redirect") as f:
                    return self.answer(302, headers=[("Location", f.read().strip())])
            if not os.path.isfile(path):
                return self.answer(404, b"not found\n")
            with open(path, "rb") as f:
                body = f.read()
            etag = '"%s"' % hashlib.sha1(body).hexdigest()[:16]
            mtime = int(os.stat(path).st_mtime)
            lm = email.utils.formatdate(mtime, usegmt=True)
            hdrs = [("ETag", etag), ("Last-Modified", lm), ("Content-Type", "text/plain")]
            if mode == "novalidators":
                return self.answer(200, body, [("Content-Type", "text/plain")])
            inm = self.headers.get("If-None-Match")
            ims = self.headers.get("If-Modified-Since")
            if inm is not None:
                if etag in [t.strip() for t in inm.split(",")] or inm.strip() == "*":
                    return self.answer(304, headers=hdrs)
            elif ims is not None:
                try:
                    since = email.utils.parsedate_to_datetime(ims).timestamp()
                    if mtime <= since:
                        return self.answer(304, headers=hdrs)
                except (TypeError, ValueError):
                    pass
            return self.answer(200, body, hdrs)

        do_HEAD = do_GET

    class Server(ThreadingHTTPServer):
        daemon_threads = True
        allow_reuse_address = True

    srv = Server(("127.0.0.1", args.port), Handler)
    sys.stdout.write("listening on 127.0.0.1:%d\n" % args.port)
    sys.stdout.flush()
    srv.serve_forever()


if __name__ == "__main__":
    main()
