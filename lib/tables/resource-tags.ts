/**
 * Table tags, purely: TagResource, UntagResource and ListTagsOfResource's
 * checks in DynamoDB's order, and the catalog changes they make (the shell,
 * database.ts, persists them with the rest of the catalog).
 *
 * Order and texts, as architect/dynalite validations/{tag,untag}Resource.js
 * and listTagsOfResource.js reproduce them and test/{tag,untag}Resource.js,
 * test/listTagsOfResource.js record them against DynamoDB:
 * 1. no ResourceArn: ValidationException "Invalid TableArn";
 * 2. a ResourceArn not shaped a:b:c:d:e:f/g: AccessDeniedException "User:
 *    arn:aws:iam::<account>:<user> is not authorized to perform:
 *    dynamodb:<Operation> on resource: <arn, or * when empty>";
 * 3. no Tags (TagKeys): the coral constraint "Value null at 'tags'
 *    ('tagKeys') failed to satisfy constraint: Member must not be null";
 * 4. not a table ARN: "Invalid TableArn: Invalid ResourceArn provided as
 *    input <arn>" (a table name of at least three characters, nothing after
 *    it: index ARNs are refused too, scylla test/alternator/test_tag.py
 *    `test_tag_lsi_gsi`, recorded against DynamoDB);
 * 5. empty Tags (TagKeys): "Atleast one Tag needs to be provided as Input."
 *    ("Atleast one Tag Key ..."), DynamoDB's spelling;
 * 6. no such table: ResourceNotFoundException "Requested resource not found:
 *    ResourcArn: <arn> not found" (sic) for TagResource and
 *    ListTagsOfResource, and plain "Requested resource not found" for
 *    UntagResource.
 *
 * Limits (DynamoDB Developer Guide: Tagging.Restrictions): keys of 1 to 128
 * Unicode characters, values of 0 to 256, letters, white space, numbers and
 * `+ - = . _ : /` only, at most 50 tags per table; a key set again replaces
 * its value, removing an absent key is no error, an empty value is allowed
 * (scylla test_tag.py `test_tag_resource_basic`, `test_empty_tag_value`,
 * `test_tag_key_length_129_forbidden`, `test_tag_forbidden_chars`,
 * `test_too_long_tags_from_creation`; all ValidationException). The texts of
 * the length checks follow coral's constraint format at DynamoDB's member
 * paths; those of the character and count checks are not recorded anywhere
 * we could read (marked below).
 */
import { DynamoDbError, validationError } from './dynamodb-error.js';
import { throwConstraintErrors } from './request-constraints.js';
import type { CatalogState, TableRecord } from './table-catalog.js';
import { NOT_FOUND_MESSAGE } from './table-catalog.js';
import { tableArn, type ArnContext } from './table-description.js';

export interface Tag {
  Key: string;
  Value: string;
}

export const TAG_KEY_LENGTH_MAX = 128;
export const TAG_VALUE_LENGTH_MAX = 256;
export const TAGS_PER_TABLE_MAX = 50;
/** Developer Guide: Tagging.Restrictions, "letters, white space, and numbers, plus + - = . _ : /". */
const TAG_TEXT = /^[\p{L}\p{Z}\p{N}+\-=._:/]*$/u;
/** dynalite's shape check before the table-ARN check (validations/tagResource.js). */
const ARN_SHAPE = /^.+:.+:.+:.+:.+:.+\/.+$/;
const TABLE_ARN = /^arn:aws:dynamodb:.+:\d+:table\/[^/]{2}[^/]+$/;
/** The IAM user named in AccessDeniedException (DynamoDB names the caller; ringtable has none). */
const CALLER = 'user/ringtable';

type TagOperation = 'TagResource' | 'UntagResource' | 'ListTagsOfResource';

function unicodeLength(text: string): number {
  let length = 0;
  for (const _ of text) length += 1;
  return length;
}

/** Checks 1, 2 and (when `listField` is given) 3: the ARN is present and ARN-shaped, the list is present. */
function checkArnAndList(operation: TagOperation, input: Readonly<Record<string, unknown>>, context: ArnContext, listField?: 'tags' | 'tagKeys'): string {
  const arn = input['ResourceArn'];
  if (arn === undefined || arn === null) throw validationError('Invalid TableArn');
  const text = arn as string;
  if (!ARN_SHAPE.test(text)) {
    throw new DynamoDbError('AccessDeniedException',
      `User: arn:aws:iam::${context.accountId}:${CALLER} is not authorized to perform: dynamodb:${operation} on resource: ${text === '' ? '*' : text}`);
  }
  if (listField !== undefined) {
    const list = input[listField === 'tags' ? 'Tags' : 'TagKeys'];
    if (list === undefined || list === null) throwConstraintErrors([`Value null at '${listField}' failed to satisfy constraint: Member must not be null`]);
  }
  if (!TABLE_ARN.test(text)) throw validationError(`Invalid TableArn: Invalid ResourceArn provided as input ${text}`);
  return text;
}

/** The table an ARN names, if it is this database's ARN of an existing table. */
function tableOf(state: CatalogState, arn: string, context: ArnContext): TableRecord | undefined {
  const name = arn.slice(arn.lastIndexOf('/') + 1);
  const record = Object.hasOwn(state.tables, name) ? state.tables[name] : undefined;
  return record !== undefined && tableArn(context, name) === arn ? record : undefined;
}

function notFoundForArn(arn: string): DynamoDbError {
  return new DynamoDbError('ResourceNotFoundException', `${NOT_FOUND_MESSAGE}: ResourcArn: ${arn} not found`);
}

/** Coral's per-member constraints of a tag list (`tags.N.member.key`, 1-based as coral numbers them). */
export function checkTagList(tags: readonly Tag[], field = 'tags'): void {
  const messages: string[] = [];
  tags.forEach((tag, index) => {
    const at = `${field}.${index + 1}.member`;
    if (tag.Key === undefined || tag.Key === null) messages.push(`Value null at '${at}.key' failed to satisfy constraint: Member must not be null`);
    else if (unicodeLength(tag.Key) < 1) messages.push(`Value '${tag.Key}' at '${at}.key' failed to satisfy constraint: Member must have length greater than or equal to 1`);
    else if (unicodeLength(tag.Key) > TAG_KEY_LENGTH_MAX) {
      messages.push(`Value '${tag.Key}' at '${at}.key' failed to satisfy constraint: Member must have length less than or equal to ${TAG_KEY_LENGTH_MAX}`);
    }
    if (tag.Value === undefined || tag.Value === null) messages.push(`Value null at '${at}.value' failed to satisfy constraint: Member must not be null`);
    else if (unicodeLength(tag.Value) > TAG_VALUE_LENGTH_MAX) {
      messages.push(`Value '${tag.Value}' at '${at}.value' failed to satisfy constraint: Member must have length less than or equal to ${TAG_VALUE_LENGTH_MAX}`);
    }
  });
  throwConstraintErrors(messages);
  for (const tag of tags) {
    // UNVERIFIED text: DynamoDB answers a ValidationException (scylla test_tag_forbidden_chars); its wording is not recorded.
    if (!TAG_TEXT.test(tag.Key) || !TAG_TEXT.test(tag.Value)) {
      throw validationError('One or more parameter values were invalid: Tag keys and values may only contain letters, white space, numbers and + - = . _ : /');
    }
  }
}

/** The tags after `added` (later ones replace earlier ones of the same key), within the per-table limit. */
export function mergedTags(current: readonly Tag[], added: readonly Tag[]): Tag[] {
  const byKey = new Map<string, string>();
  for (const tag of current) byKey.set(tag.Key, tag.Value);
  for (const tag of added) byKey.set(tag.Key, tag.Value);
  if (byKey.size > TAGS_PER_TABLE_MAX) {
    // UNVERIFIED text: DynamoDB refuses more than 50 tags with a ValidationException (scylla test_tag_resource_incorrect).
    throw validationError(`One or more parameter values were invalid: The number of tags on a table may not exceed ${TAGS_PER_TABLE_MAX}`);
  }
  return [...byKey].map(([Key, Value]) => ({ Key, Value }));
}

export function tagsOf(record: TableRecord): Tag[] {
  return (record.tags ?? []).map((tag) => ({ ...tag }));
}

function withTagsOf(state: CatalogState, record: TableRecord, tags: readonly Tag[]): CatalogState {
  const name = record.schema.tableName;
  return { ...state, tables: { ...state.tables, [name]: { ...record, tags } } };
}

/** TagResource: the catalog with the tags set. */
export function tagResource(state: CatalogState, input: Readonly<Record<string, unknown>>, context: ArnContext): CatalogState {
  const arn = checkArnAndList('TagResource', input, context, 'tags');
  const tags = input['Tags'] as Tag[];
  if (tags.length === 0) throw validationError('Atleast one Tag needs to be provided as Input.');
  checkTagList(tags);
  const record = tableOf(state, arn, context);
  if (record === undefined) throw notFoundForArn(arn);
  return withTagsOf(state, record, mergedTags(tagsOf(record), tags));
}

/** UntagResource: the catalog without those keys (absent keys are ignored). */
export function untagResource(state: CatalogState, input: Readonly<Record<string, unknown>>, context: ArnContext): CatalogState {
  const arn = checkArnAndList('UntagResource', input, context, 'tagKeys');
  const keys = input['TagKeys'] as string[];
  if (keys.length === 0) throw validationError('Atleast one Tag Key needs to be provided as Input.');
  const record = tableOf(state, arn, context);
  if (record === undefined) throw new DynamoDbError('ResourceNotFoundException', NOT_FOUND_MESSAGE);
  const removed = new Set(keys);
  return withTagsOf(state, record, tagsOf(record).filter((tag) => !removed.has(tag.Key)));
}

/** ListTagsOfResource: every tag of the table in one page (at most 50, so no NextToken). */
export function listTagsOfResource(state: CatalogState, input: Readonly<Record<string, unknown>>, context: ArnContext): { Tags: Tag[] } {
  const arn = checkArnAndList('ListTagsOfResource', input, context);
  const record = tableOf(state, arn, context);
  if (record === undefined) throw notFoundForArn(arn);
  return { Tags: tagsOf(record) };
}

/** CreateTable's Tags, checked as TagResource's, on the table just added to `state`. */
export function withCreationTags(state: CatalogState, tableName: string, input: Readonly<Record<string, unknown>>): CatalogState {
  const tags = input['Tags'] as Tag[] | undefined | null;
  if (tags === undefined || tags === null || tags.length === 0) return state;
  checkTagList(tags);
  return withTagsOf(state, state.tables[tableName]!, mergedTags([], tags));
}
