/**
 * The SDK's cheapest configuration in process (README, "Use it with the AWS
 * SDK"): `cacheMiddleware` and no signing (the smithy.api#noAuth scheme).
 * db.requestHandler answers an unsigned request as DynamoDB does; a handler
 * made with `acceptUnsigned: true` serves it, and still checks a signature
 * that is present. The real SDK v3 against a scripted dispatcher.
 */
import t from 'tap';
import { DynamoDBClient, GetItemCommand, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import { ErrorCode } from '../lib/errors.js';
import { createRequestHandler, type InProcessRequestHandler } from '../lib/dynamodb/request-handler.js';
import { ScriptedDispatcher, TEST_CREDENTIALS, TEST_REGION } from './helpers/dynamodb-transports.js';

process.env['AWS_EC2_METADATA_DISABLED'] = 'true';

const NO_SIGNING: Partial<DynamoDBClientConfig> = {
  httpAuthSchemes: [{ schemeId: 'smithy.api#noAuth', identityProvider: () => async () => ({}), signer: { sign: async (request) => request } }],
  httpAuthSchemeProvider: () => [{ schemeId: 'smithy.api#noAuth' }],
};
const ITEM = { pk: { S: 'a' }, n: { N: '1' } };

function clientOf(handler: InProcessRequestHandler, extra: Partial<DynamoDBClientConfig>): DynamoDBClient {
  return new DynamoDBClient({ region: TEST_REGION, credentials: TEST_CREDENTIALS, maxAttempts: 1, requestHandler: handler, ...extra });
}

function scripted(): ScriptedDispatcher {
  const dispatcher = new ScriptedDispatcher();
  dispatcher.answer = () => ({ Item: ITEM });
  return dispatcher;
}

t.test('an unsigned SDK call is refused as DynamoDB refuses it, unless the handler accepts unsigned requests', async (t) => {
  const strictDispatcher = scripted();
  const strict = clientOf(createRequestHandler({ dispatcher: strictDispatcher }), { cacheMiddleware: true, ...NO_SIGNING });
  t.teardown(() => strict.destroy());
  await t.rejects(strict.send(new GetItemCommand({ TableName: 't', Key: { pk: { S: 'a' } } })),
    { name: 'MissingAuthenticationTokenException', message: 'Request is missing Authentication Token' });
  t.equal(strictDispatcher.calls.length, 0, 'nothing reached the dispatcher');

  const lenientDispatcher = scripted();
  const lenient = clientOf(createRequestHandler({ dispatcher: lenientDispatcher, acceptUnsigned: true }), { cacheMiddleware: true, ...NO_SIGNING });
  t.teardown(() => lenient.destroy());
  for (let i = 0; i < 3; i++) {
    const answer = await lenient.send(new GetItemCommand({ TableName: 't', Key: { pk: { S: 'a' } } }));
    t.same(answer.Item, ITEM);
    t.match(answer.$metadata.requestId, /^[0-9A-Z]{52}$/);
  }
  t.same(lenientDispatcher.last(), { operation: 'GetItem', input: { TableName: 't', Key: { pk: { S: 'a' } } } });
});

t.test('a handler that accepts unsigned requests still checks a signature that is present', async (t) => {
  const dispatcher = scripted();
  const handler = createRequestHandler({ dispatcher, acceptUnsigned: true });
  const signed = clientOf(handler, {});
  t.teardown(() => signed.destroy());
  t.same((await signed.send(new GetItemCommand({ TableName: 't', Key: { pk: { S: 'a' } } }))).Item, ITEM, 'a signed call is served too');
  const body = new TextEncoder().encode(JSON.stringify({ TableName: 't', Key: { pk: { S: 'a' } } }));
  const headers = { 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': 'DynamoDB_20120810.GetItem', host: 'localhost' };
  const incomplete = await handler.handle({ method: 'POST', path: '/', headers: { ...headers, authorization: 'AWS4-HMAC-SHA256 Credential=x' }, body });
  t.equal(incomplete.response.statusCode, 400);
  t.match(JSON.parse(Buffer.from(incomplete.response.body).toString()), { __type: 'com.amazon.coral.service#IncompleteSignatureException' });
  const notAws4 = await handler.handle({ method: 'POST', path: '/', headers: { ...headers, authorization: 'Basic abc' }, body });
  t.match(JSON.parse(Buffer.from(notAws4.response.body).toString()), { __type: 'com.amazon.coral.service#MissingAuthenticationTokenException' });
  const unsigned = await handler.handle({ method: 'POST', path: '/', headers, body });
  t.equal(unsigned.response.statusCode, 200, 'no signature at all is served');
  t.equal(dispatcher.calls.length, 2, 'only the signed call and the unsigned one reached the dispatcher');
});

t.test('acceptUnsigned and credentials exclude each other', async (t) => {
  t.throws(() => createRequestHandler({ dispatcher: scripted(), acceptUnsigned: true, credentials: TEST_CREDENTIALS }), { code: ErrorCode.INVALID_OPTIONS });
});
