// Entry operations through the official client, as an application calls them: repositories'
// webClientUrl, getEntry with includeChildInfo, createEntry of a Shortcut, updateEntry (move and
// rename), links on a shortcut, and a shortcut disappearing with its target.
// Inputs come from the environment (entry ids prepared by test_entry_operations.py); the result
// is one JSON line on stdout.
import {
  ApiException, CreateEntryRequest, CreateEntryRequestEntryType, Folder, LinkToUpdate,
  RepositoryApiClient, SetLinksRequest, Shortcut, UpdateEntryRequest,
} from '@laserfiche/lf-repository-api-client-v2';
import { env } from './env.mjs';

const baseUrl = env('LF_BASE_URL');
const repositoryId = env('LF_REPO');
const ids = JSON.parse(env('LF_IDS'));

const user = RepositoryApiClient.createFromUsernamePassword(
  repositoryId, env('LF_USER'), env('LF_PASSWORD'), baseUrl);
const admin = RepositoryApiClient.createFromUsernamePassword(
  repositoryId, env('LF_ADMIN'), env('LF_ADMIN_PASSWORD'), baseUrl);
const out = {};

// An API error as data: what the client made of the ProblemDetails.
const failure = async (call) => {
  try {
    await call();
    return 'no error';
  } catch (error) {
    return { isApiException: error instanceof ApiException, status: error.status,
      problemStatus: error.problemDetails?.status ?? null,
      title: error.problemDetails?.title ?? null };
  }
};
const entryView = (entry) => ({
  id: entry.id, name: entry.name, parentId: entry.parentId, fullPath: entry.fullPath,
  entryType: entry.entryType, isShortcut: entry instanceof Shortcut,
  isFolder: entry instanceof Folder, targetId: entry.targetId ?? null,
  targetType: entry.targetType ?? null,
  childInfo: entry.childInfo ? { ...entry.childInfo } : null,
});
const childInfo = async (client, entryId) => entryView(
  await client.entriesClient.getEntry({ repositoryId, entryId, includeChildInfo: true })).childInfo;
const children = async (client, entryId) => (
  await client.entriesClient.listEntries({ repositoryId, entryId })).value.map(entryView);

// 12: repositories list their web client URL.
const repositories = await user.repositoriesClient.listRepositories({});
out.repositories = repositories.value.map((r) => ({ id: r.id, webClientUrl: r.webClientUrl }));

// 11: child info, only what the caller can read (the admin's shortcut to a hidden document
// does not count for the user).
out.childInfo = {
  user: await childInfo(user, ids.work),
  admin: await childInfo(admin, ids.work),
  withoutOption: entryView(await user.entriesClient.getEntry({
    repositoryId, entryId: ids.work })).childInfo,
  document: entryView(await user.entriesClient.getEntry({
    repositoryId, entryId: ids.doc1, includeChildInfo: true })).childInfo,
  emptyFolder: await childInfo(user, ids.sub),
};

// 13: a shortcut to a document the user can only read, in a folder it can write.
const shortcut = await user.entriesClient.createEntry({
  repositoryId, entryId: ids.work, request: new CreateEntryRequest({
    name: 'Shortcut to r1', entryType: CreateEntryRequestEntryType.Shortcut,
    targetId: ids.readDoc }) });
out.shortcut = entryView(shortcut);
out.shortcutGot = entryView(await user.entriesClient.getEntry({
  repositoryId, entryId: shortcut.id }));
out.listed = (await children(user, ids.work)).filter((e) => e.entryType === 'Shortcut');
out.childInfoWithShortcut = await childInfo(user, ids.work);
out.shortcutErrors = {
  hiddenTarget: await failure(() => user.entriesClient.createEntry({
    repositoryId, entryId: ids.work, request: new CreateEntryRequest({
      name: 'x', entryType: CreateEntryRequestEntryType.Shortcut, targetId: ids.hiddenDoc }) })),
  readOnlyFolder: await failure(() => user.entriesClient.createEntry({
    repositoryId, entryId: ids.read, request: new CreateEntryRequest({
      name: 'x', entryType: CreateEntryRequestEntryType.Shortcut, targetId: ids.doc1 }) })),
  nameTaken: await failure(() => user.entriesClient.createEntry({
    repositoryId, entryId: ids.work, request: new CreateEntryRequest({
      name: 'Shortcut to r1', entryType: CreateEntryRequestEntryType.Shortcut,
      targetId: ids.doc1 }) })),
};
const renamedShortcut = await user.entriesClient.createEntry({
  repositoryId, entryId: ids.work, request: new CreateEntryRequest({
    name: 'Shortcut to r1', entryType: CreateEntryRequestEntryType.Shortcut,
    targetId: ids.doc2, autoRename: true }) });
out.autoRenamedShortcut = entryView(renamedShortcut);

// 13: links on a shortcut, like any entry.
const linked = await user.entriesClient.setLinks({
  repositoryId, entryId: shortcut.id, request: new SetLinksRequest({ links: [
    new LinkToUpdate({ linkDefinitionId: 1, otherEntryId: ids.doc1,
      customProperties: { via: 'shortcut' } })] }) });
out.shortcutLinks = linked.value.map((l) => [l.sourceId, l.targetId, l.customProperties]);
out.doc1Links = (await user.entriesClient.listLinks({ repositoryId, entryId: ids.doc1 }))
  .value.map((l) => [l.sourceId, l.targetId]);

// 10: move and rename.
const moved = await user.entriesClient.updateEntry({
  repositoryId, entryId: ids.doc1, request: new UpdateEntryRequest({
    parentId: ids.sub, name: 'moved' }) });
out.moved = entryView(moved);
const renamedFolder = await user.entriesClient.updateEntry({
  repositoryId, entryId: ids.sub, request: new UpdateEntryRequest({ name: 'Sub2' }) });
out.renamedFolder = entryView(renamedFolder);
out.movedAfterFolderRename = entryView(await user.entriesClient.getEntry({
  repositoryId, entryId: ids.doc1 }));
out.moveErrors = {
  conflict: await failure(() => user.entriesClient.updateEntry({
    repositoryId, entryId: ids.doc2, request: new UpdateEntryRequest({
      parentId: ids.sub, name: 'moved' }) })),
  hiddenFolder: await failure(() => user.entriesClient.updateEntry({
    repositoryId, entryId: ids.doc2, request: new UpdateEntryRequest({ parentId: ids.hidden }) })),
  unknownFolder: await failure(() => user.entriesClient.updateEntry({
    repositoryId, entryId: ids.doc2, request: new UpdateEntryRequest({ parentId: 987654 }) })),
  readOnlyFolder: await failure(() => user.entriesClient.updateEntry({
    repositoryId, entryId: ids.doc2, request: new UpdateEntryRequest({ parentId: ids.read }) })),
  readOnlyEntry: await failure(() => user.entriesClient.updateEntry({
    repositoryId, entryId: ids.readDoc, request: new UpdateEntryRequest({ name: 'mine' }) })),
  intoItself: await failure(() => user.entriesClient.updateEntry({
    repositoryId, entryId: ids.sub, request: new UpdateEntryRequest({ parentId: ids.sub }) })),
  unknownEntry: await failure(() => user.entriesClient.updateEntry({
    repositoryId, entryId: 987654, request: new UpdateEntryRequest({ name: 'x' }) })),
};
const autoRenamed = await user.entriesClient.updateEntry({
  repositoryId, entryId: ids.doc2, request: new UpdateEntryRequest({
    parentId: ids.sub, name: 'moved', autoRename: true }) });
out.autoRenamed = entryView(autoRenamed);
const movedShortcut = await user.entriesClient.updateEntry({
  repositoryId, entryId: shortcut.id, request: new UpdateEntryRequest({
    parentId: ids.sub, name: 'sc' }) });
out.movedShortcut = entryView(movedShortcut);
out.subChildInfo = await childInfo(user, ids.sub);

// 13: deleting the target takes the shortcut (and its links) with it.
await admin.entriesClient.startDeleteEntry({ repositoryId, entryId: ids.readDoc });
out.afterTargetDeleted = {
  shortcut: await failure(() => user.entriesClient.getEntry({
    repositoryId, entryId: shortcut.id })),
  subChildInfo: await childInfo(user, ids.sub),
  doc1Links: (await user.entriesClient.listLinks({ repositoryId, entryId: ids.doc1 })).value.length,
};
console.log(JSON.stringify(out));
