/**
 * `ringtable serve` end to end: the bin starts a Database and serves it on
 * loopback, the real AWS SDK v3 creates a table, writes and reads an item
 * through it (a conditional put refused with DynamoDB's exception on the
 * way), and SIGINT closes the server and the database cleanly (exit 0, the
 * data still there on reopen).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { ConditionalCheckFailedException, CreateTableCommand, DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { Database } from '../lib/index.js';

process.env['AWS_EC2_METADATA_DISABLED'] = 'true';
const CLI = join(fileURLToPath(import.meta.url), '..', '..', 'lib', 'cli', 'ringtable.js');

t.test('ringtable serve answers the AWS SDK and closes cleanly on SIGINT', async (t) => {
  const path = mkdtempSync(join(tmpdir(), 'ringtable-serve-test-'));
  t.teardown(() => rmSync(path, { recursive: true, force: true }));
  const child = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--path', path, '--nodes', '3'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      // Both lines are printed before it serves: the endpoint, then the SDK example.
      const found = /at (http:\/\/127\.0\.0\.1:\d+)/.exec(stdout);
      if (found !== null && stdout.includes('new DynamoDBClient(')) resolve(found[1]!);
    });
    void exited.then((code) => reject(new Error(`serve exited with ${String(code)} before listening: ${stderr}`)));
  });
  t.match(stdout, /new DynamoDBClient\(\{ endpoint: 'http:\/\/127\.0\.0\.1:\d+'/, 'prints a one-line SDK example');

  const client = new DynamoDBClient({ endpoint: url, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
  t.teardown(() => client.destroy());
  await client.send(new CreateTableCommand({ TableName: 'orders', KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }], AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }], BillingMode: 'PAY_PER_REQUEST' }));
  const put = { TableName: 'orders', Item: { pk: { S: 'o1' }, total: { N: '12.50' } }, ConditionExpression: 'attribute_not_exists(pk)' };
  await client.send(new PutItemCommand(put));
  const second = await client.send(new PutItemCommand(put)).then(() => undefined, (error: unknown) => error);
  t.ok(second instanceof ConditionalCheckFailedException, 'the second insert-only put is ConditionalCheckFailedException');
  const got = await client.send(new GetItemCommand({ TableName: 'orders', Key: { pk: { S: 'o1' } }, ConsistentRead: true }));
  t.same(got.Item, { pk: { S: 'o1' }, total: { N: '12.5' } }, 'the item, its number in canonical form');
  const page = await fetch(`${url}/inspector/`);
  t.equal(page.status, 200, 'the inspector is served on loopback beside the endpoint');
  t.match(await page.text(), /ringtable inspector/, 'its page');

  child.kill('SIGINT');
  t.equal(await exited, 0, `exit code 0 after SIGINT ${stderr}`);
  const db = await Database.open({ path, antiEntropyIntervalMs: 0 });
  t.teardown(() => db.close());
  t.same((await db.getItem({ TableName: 'orders', Key: { pk: { S: 'o1' } }, ConsistentRead: true })).Item, { pk: { S: 'o1' }, total: { N: '12.5' } }, 'the data survives the close');
});
