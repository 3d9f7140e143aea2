/**
 * DescribeEndpoints: where to send DynamoDB requests, and for how long that
 * answer may be cached. DynamoDB answers one endpoint, the host the request
 * came to, without a scheme, cacheable for 1440 minutes (`aws dynamodb
 * describe-endpoints` against us-east-1 prints
 * {"Address": "dynamodb.us-east-1.amazonaws.com", "CachePeriodInMinutes": 1440});
 * scylla test/alternator/test_describe_endpoints.py checks, against
 * DynamoDB too, that exactly one is returned and that its Address answers
 * further requests. So the Address is the request's Host when the wire layer
 * knows it, else DynamoDB's name for the database's region.
 */
export const ENDPOINT_CACHE_PERIOD_MINUTES = 1440;

export interface DescribeEndpointsOutput {
  Endpoints: Array<{ Address: string; CachePeriodInMinutes: number }>;
}

export function describeEndpoints(host: string | undefined, region: string): DescribeEndpointsOutput {
  const address = host !== undefined && host !== '' ? host : `dynamodb.${region}.amazonaws.com`;
  return { Endpoints: [{ Address: address, CachePeriodInMinutes: ENDPOINT_CACHE_PERIOD_MINUTES }] };
}
