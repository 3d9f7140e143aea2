/**
 * The HTTP ceiling of the serve benchmark: node:http answering every request
 * with one constant, valid GetItem response once its body has arrived. What
 * autocannon measures against it is what the load generator, node:http and
 * this machine allow; a DynamoDB server in Node cannot answer faster.
 * Prints "listening <port>"; SIGINT or SIGTERM closes it.
 */
import * as http from 'node:http';

const body = Buffer.from(JSON.stringify({ Item: { pk: { S: 'partition-0' }, sk: { S: '000050' }, payload: { S: 'x'.repeat(64) }, n: { N: '50' } } }));
const server = http.createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    res.writeHead(200, { 'Content-Type': 'application/x-amz-json-1.0', 'Content-Length': String(body.byteLength) });
    res.end(body);
  });
});
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  console.log(`listening ${typeof address === 'object' && address !== null ? address.port : ''}`);
});
const stop = (): void => { server.close(() => process.exit(0)); server.closeAllConnections(); };
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
