#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
#
# A Python HTTP server from the standard library that knows nothing of
# corral: it binds $PORT (default 8000) itself. Under `corral start app.py
# -i 2 --port 8000` its bind() gets the daemon's socket through the preload
# library. SIGTERM stops accepting; requests in flight are finished (each
# connection is HTTP/1.0, closed after its answer) before the process exits.
import http.server
import os
import signal
import socketserver
import sys
import threading


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = ("hello from python pid %d\n" % os.getpid()).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt, *args):
        pass


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = False          # server_close() waits for requests
    request_queue_size = 128

    def server_activate(self):
        super().server_activate()
        # Other processes may accept on the same socket (prefork): a
        # connection another one took must not leave accept() blocked.
        self.socket.setblocking(False)


def main():
    port = int(os.environ.get("PORT", "8000"))
    server = Server(("0.0.0.0", port), Handler)

    def stop(signum, frame):
        # shutdown() waits for serve_forever(), so it runs in a thread.
        threading.Thread(target=server.shutdown).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print("pid %d listening on %d" % (os.getpid(), port), flush=True)
    server.serve_forever(poll_interval=0.2)
    server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
