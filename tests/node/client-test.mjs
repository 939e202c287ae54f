// Drives Linkbase's Laserfiche face with the official client, the way an application would.
// Inputs come from the environment; the result is one JSON line on stdout for the pytest test.
import {
  ApiException, Document, Folder, LinkToUpdate, RepositoryApiClient, SetLinksRequest,
} from '@laserfiche/lf-repository-api-client-v2';
import { env } from './env.mjs';

const baseUrl = env('LF_BASE_URL');
const repositoryId = env('LF_REPO');
const entryId = Number(env('LF_ENTRY'));
const targets = env('LF_TARGETS').split(',').map(Number);

const client = RepositoryApiClient.createFromUsernamePassword(
  repositoryId, env('LF_USER'), env('LF_PASSWORD'), baseUrl);
const out = {};

// Link definitions, two per page, through nextLinks.
const definitionPages = [];
await client.linkDefinitionsClient.listLinkDefinitionsForEach({
  repositoryId,
  maxPageSize: 2,
  callback: async (page) => {
    definitionPages.push(page.value.map((d) => [d.id, d.sourceLabel, d.targetLabel, d.description]));
    return true;
  },
});
out.definitionPages = definitionPages;
const oneDefinition = await client.linkDefinitionsClient.getLinkDefinition({
  repositoryId, linkDefinitionId: 2 });
out.definition2 = oneDefinition.description;

// Entries.
const entry = await client.entriesClient.getEntry({ repositoryId, entryId });
out.entry = { id: entry.id, name: entry.name, fullPath: entry.fullPath,
  isDocument: entry instanceof Document, entryType: entry.entryType };
const root = await client.entriesClient.getEntry({ repositoryId, entryId: 1, select: 'name' });
out.rootIsFolder = root instanceof Folder;

// setLinks with one item built without isSource (the constructor leaves it out).
const single = await client.entriesClient.setLinks({
  repositoryId, entryId,
  request: new SetLinksRequest({ links: [new LinkToUpdate({
    linkDefinitionId: 1, otherEntryId: targets[0], customProperties: { via: 'node' } })] }),
});
out.single = single.value.map((l) => ({ id: l.id, sourceId: l.sourceId, targetId: l.targetId,
  customProperties: l.customProperties, sourceLink: l.sourceLink }));

// Replace with one link per target, alternating direction; the first one keeps its id.
const many = await client.entriesClient.setLinks({
  repositoryId, entryId,
  request: new SetLinksRequest({ links: targets.map((t, i) => new LinkToUpdate({
    linkDefinitionId: i === 0 ? 1 : 1 + (i % 3), otherEntryId: t, isSource: i % 2 === 0,
    customProperties: i === 0 ? { via: 'node' } : undefined })) }),
});
out.manyCount = many.value.length;
out.firstIdKept = many.value.some((l) => l.id === single.value[0].id);

// One page with $top, $orderby and $count.
const page = await client.entriesClient.listLinks({
  repositoryId, entryId, top: 3, orderby: 'id desc', count: true });
out.page = { ids: page.value.map((l) => l.id), count: page.odataCount,
  nextLink: page.odataNextLink ?? null };

// Every link, two per page.
const seen = [];
let pages = 0;
await client.entriesClient.listLinksForEach({
  repositoryId, entryId, maxPageSize: 2, orderby: 'targetId asc',
  callback: async (response) => {
    pages += 1;
    for (const link of response.value) seen.push(link.id);
    return true;
  },
});
out.forEach = { pages, ids: seen };

// A 404 surfaces as the client's ApiException.
try {
  await client.entriesClient.getEntry({ repositoryId, entryId: 987654 });
  out.missing = 'no error';
} catch (error) {
  out.missing = { isApiException: error instanceof ApiException, status: error.status,
    title: error.problemDetails?.title ?? null, problemStatus: error.problemDetails?.status };
}
try {
  await client.entriesClient.setLinks({ repositoryId, entryId, request: new SetLinksRequest({
    links: [new LinkToUpdate({ linkDefinitionId: 999, otherEntryId: targets[0] })] }) });
  out.badDefinition = 'no error';
} catch (error) {
  out.badDefinition = { isApiException: error instanceof ApiException, status: error.status };
}
console.log(JSON.stringify(out));
