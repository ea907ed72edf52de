// SPDX-License-Identifier: ISC
//
// A plain Node HTTP server that knows nothing of corral: it listens on
// $PORT (default 3000) like any app would. Under `corral start app.js -i 2
// --port 3000` every instance's listen(3000) gets the socket the daemon
// holds, through the preload library.
//
// On SIGTERM or SIGINT it stops accepting, answers the requests of its open
// connections with "Connection: close" (so a keep-alive client moves to
// another instance between two requests, never in the middle of one), and
// exits once they are gone. server.close() alone would also drop idle
// keep-alive connections, which races with a client sending on them.
'use strict';

const http = require('http');

const port = Number(process.env.PORT) || 3000;
const name = process.env.APP_NAME || 'node';
const sockets = new Map();    // socket -> busy (a request in flight)
let closing = false;

const server = http.createServer((req, res) => {
  sockets.set(req.socket, true);
  res.on('finish', () => {
    if (sockets.has(req.socket)) sockets.set(req.socket, false);
    if (closing) maybeExit();
  });
  if (closing) res.setHeader('Connection', 'close');
  res.setHeader('Content-Type', 'text/plain');
  res.end(`hello from ${name} pid ${process.pid}\n`);
});
server.keepAliveTimeout = 5000;

server.on('connection', (socket) => {
  sockets.set(socket, false);
  socket.on('close', () => {
    sockets.delete(socket);
    if (closing) maybeExit();
  });
});

function maybeExit() {
  if (sockets.size === 0) process.exit(0);
}

function shutdown(signal) {
  if (closing) return;
  closing = true;
  console.log(`pid ${process.pid}: ${signal}, finishing ${sockets.size} connections`);
  // Stop accepting; net.Server's close leaves the open connections alone.
  require('net').Server.prototype.close.call(server);
  // A keep-alive connection that stays idle is closed after a grace period:
  // a client that sends nothing for that long is not mid-request.
  setTimeout(() => {
    for (const [socket, busy] of sockets) if (!busy) socket.destroy();
  }, 1000).unref();
  maybeExit();
}

process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));

server.listen(port, () => {
  console.log(`pid ${process.pid} listening on ${port}`);
});
