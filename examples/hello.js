// A plain Node HTTP server that knows nothing of corral.
const http = require('http');
const port = Number(process.env.PORT || 3000) + Number(process.env.NODE_APP_INSTANCE || 0);
http.createServer((req, res) => {
  res.end(`hello from pid ${process.pid}\n`);
}).listen(port, '127.0.0.1', () => console.log(`listening on ${port}`));
process.on('SIGTERM', () => process.exit(0));
