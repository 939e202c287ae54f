// The workbench's one door to the server: the three HTTP faces (Arvados, Laserfiche, native),
// the bearer token, and errors turned into one message whatever dialect the face speaks.

const TOKEN_KEY = "linkbase.token";
const ORIGIN_KEY = "linkbase.tokenOrigin"; // "password": issued for this session, revoked on sign-out

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

export const session = {
  get token() { return sessionStorage.getItem(TOKEN_KEY) || ""; },
  get fromPassword() { return sessionStorage.getItem(ORIGIN_KEY) === "password"; },
  set(token, origin) {
    sessionStorage.setItem(TOKEN_KEY, token);
    sessionStorage.setItem(ORIGIN_KEY, origin);
  },
  clear() {
    sessionStorage.removeItem(TOKEN_KEY);
    sessionStorage.removeItem(ORIGIN_KEY);
  },
};

function messageOf(status, body) {
  if (body && Array.isArray(body.errors)) {
    // Arvados errors end with " (req-...)": the request id helps no one reading the page.
    return body.errors.map((e) => String(e).replace(/ \(req-[0-9a-z]+\)$/, "")).join("; ");
  }
  if (body && body.title) return body.detail && body.detail !== body.title ? `${body.title}: ${body.detail}` : body.title;
  if (body && body.detail) return typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail);
  return `HTTP ${status}`;
}

export async function request(method, path, { query, json, form, auth = true } = {}) {
  const url = new URL(path, location.origin);
  for (const [key, value] of query instanceof URLSearchParams ? query : Object.entries(query || {})) {
    if (value === undefined || value === null) continue;
    url.searchParams.append(key, typeof value === "string" ? value : JSON.stringify(value));
  }
  const headers = { Accept: "application/json" };
  if (auth && session.token) headers.Authorization = `Bearer ${session.token}`;
  let body;
  if (json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(json);
  } else if (form) {
    body = new URLSearchParams(form);
  }
  let response;
  try {
    response = await fetch(url, { method, headers, body });
  } catch (error) {
    throw new ApiError(0, `The server cannot be reached (${error.message})`);
  }
  const text = await response.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  if (!response.ok) throw new ApiError(response.status, messageOf(response.status, data));
  return data;
}

// -- Arvados v1 ----------------------------------------------------------------------------

export const RESOURCE_BY_INFIX = {
  tpzed: ["users", "user"], j7d0g: ["groups", "group"], "4zz18": ["collections", "collection"],
  o0j2j: ["links", "link"], gj3su: ["api_client_authorizations", "api_client_authorization"],
};

export function infixOf(uuid) {
  return /^[0-9a-z]{5}-[0-9a-z]{5}-[0-9a-z]{15}$/.test(uuid || "") ? uuid.slice(6, 11) : null;
}

export const arv = {
  list: (resource, { filters, order, limit = 20, offset = 0, select } = {}) =>
    request("GET", `/arvados/v1/${resource}`, { query: { filters, order, limit, offset, select } }),
  get: (resource, uuid) => request("GET", `/arvados/v1/${resource}/${uuid}`),
  create: (resource, wrapper, attrs) => request("POST", `/arvados/v1/${resource}`, { json: { [wrapper]: attrs } }),
  update: (resource, wrapper, uuid, attrs) =>
    request("PUT", `/arvados/v1/${resource}/${uuid}`, { json: { [wrapper]: attrs } }),
  remove: (resource, uuid) => request("DELETE", `/arvados/v1/${resource}/${uuid}`),
  current: () => request("GET", "/arvados/v1/users/current"),
  permissions: (uuid) => request("GET", `/arvados/v1/permissions/${uuid}`),
};

// -- Laserfiche v2 -------------------------------------------------------------------------

const repo = (id) => `/v2/Repositories/${encodeURIComponent(id)}`;

export const lf = {
  repositories: () => request("GET", "/v2/Repositories", { auth: false }),
  token: (repository, username, password) =>
    request("POST", `/v1/Repositories/${encodeURIComponent(repository)}/Token`,
      { auth: false, form: { grant_type: "password", username, password } }),
  children: (repository, entry, top, skip) =>
    request("GET", `${repo(repository)}/Entries/${entry}/Folder/Children`,
      { query: { $top: String(top), $skip: String(skip), $count: "true" } }),
  definitions: (repository) => request("GET", `${repo(repository)}/LinkDefinitions`),
  async allLinks(repository, entry) {
    let page = await request("GET", `${repo(repository)}/Entries/${entry}/Links`, { query: { $top: "150" } });
    const links = [...page.value];
    while (page["@odata.nextLink"]) {
      const next = new URL(page["@odata.nextLink"]);
      page = await request("GET", next.pathname + next.search);
      links.push(...page.value);
    }
    return links;
  },
  setLinks: (repository, entry, links) =>
    request("PUT", `${repo(repository)}/Entries/${entry}/Links`, { json: { links } }),
};

// -- Linkbase native -----------------------------------------------------------------------

export const native = {
  summary: (uuid) => request("GET", `/linkbase/v1/objects/${uuid}`),
  entry: (repository, entry) => request("GET", `/linkbase/v1/entries/${encodeURIComponent(repository)}/${entry}`),
  async describe(uuids) {
    const wanted = [...new Set(uuids.filter((u) => infixOf(u)))];
    if (!wanted.length) return new Map();
    const query = new URLSearchParams(wanted.map((u) => ["uuid", u]));
    const found = await request("GET", "/linkbase/v1/objects", { query });
    return new Map(found.items.map((item) => [item.uuid, item]));
  },
  neighbors: (uuid, depth, direction, linkClass) => {
    const query = new URLSearchParams({ uuid, depth: String(depth), direction });
    if (linkClass) query.append("link_class", linkClass);
    return request("GET", "/linkbase/v1/graph/neighbors", { query });
  },
  explain: (user, target) => request("GET", "/linkbase/v1/permissions/explain", { query: { user, target } }),
};
