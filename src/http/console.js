"use strict";
// credd's staging console. It gets a token at the token endpoint with a worker's
// client credentials and then only calls credd's public API with it. The token is
// kept in this tab's sessionStorage, never in a URL. What the API answers is put in
// the page as text and attributes, never parsed as HTML; its bidirectional controls
// are shown as markers and each value is isolated, so no name can reorder the page.

const SESSION_KEY = "credd-console";
const USERS_PER_PAGE = 20;
const NOTIFICATIONS_PER_PAGE = 25;
// Link schemes a click must never run (wallet apps may use their own schemes).
const UNSAFE_SCHEMES = new Set(["javascript", "data", "vbscript", "file", "blob"]);
const LINK = /\b[a-z][a-z0-9+.-]*:\/\/[^\s<>"']+/gi;
// One-time codes in messages: 6 to 10 digits on their own.
const CODE = /\b\d{6,10}\b/g;
// Bidirectional embeddings, overrides, isolates and marks: in a value, one of these
// would reorder what follows it (U+202E shows "exe.txt" as "txt.exe").
const BIDI_CONTROLS = /[\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/g;

const $ = (id) => document.getElementById(id);

let session = null; // { environmentId, token, expiresAt, picked }
let environments = [];
let walletApplications = new Map();
let blobUrls = []; // the QR images on screen, released when the view is redrawn
let view = 0; // each redraw's number: loads of an older view drop their results
let userCursor = null;
let notificationCursor = null;

// Elements --------------------------------------------------------------------------

/** `text` with each bidirectional control shown as a marker, such as ⟨U+202E⟩. */
function visible(text) {
  return String(text).replace(BIDI_CONTROLS, (c) => `⟨U+${c.codePointAt(0).toString(16).toUpperCase().padStart(4, "0")}⟩`);
}

/**
 * An element; each string among `children` is a value shown as it is spelled, isolated
 * from the text around it (a <bdi>, or within an <option>, which holds text only, the
 * isolate characters FSI and PDI).
 */
function el(tag, attributes, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) {
    if (value !== undefined && value !== null && value !== false) node.setAttribute(name, value);
  }
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false || child === "") continue;
    if (typeof child !== "string") node.append(child);
    else if (tag === "option") node.append(`\u2068${visible(child)}\u2069`);
    else node.append(Object.assign(document.createElement("bdi"), { textContent: visible(child) }));
  }
  return node;
}

/** Text shown as it is spelled, not isolated: a part of a longer value. */
function textOf(value) {
  return document.createTextNode(visible(value));
}

function badge(status) {
  return el("span", { class: `badge s-${String(status).toLowerCase()}` }, status);
}

function when(timestamp) {
  if (!timestamp) return "";
  const date = new Date(timestamp);
  return el("time", { datetime: timestamp, title: timestamp }, date.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "medium" }));
}

/** `name value` pairs in small print; absent values are left out. */
function facts(...pairs) {
  return el("div", { class: "facts" },
    pairs.filter((pair) => pair && pair[1]).map(([name, value]) =>
      el("span", null, `${name} `, typeof value === "string" ? el("code", null, value) : value)));
}

function link(href, className) {
  const scheme = href.split(":", 1)[0].toLowerCase();
  if (UNSAFE_SCHEMES.has(scheme)) return el("code", null, href);
  return el("a", { href, class: className, target: "_blank", rel: "noopener noreferrer" }, href);
}

/** A message's text with its links clickable and its codes marked. */
function message(text) {
  const parts = [];
  let at = 0;
  for (const match of text.matchAll(LINK)) {
    const href = match[0].replace(/[.,;:!?)\]]+$/, "");
    parts.push(codes(text.slice(at, match.index)), link(href, "message-link"));
    at = match.index + href.length;
  }
  parts.push(codes(text.slice(at)));
  return parts;
}

function codes(text) {
  const parts = [];
  let at = 0;
  for (const match of text.matchAll(CODE)) {
    parts.push(textOf(text.slice(at, match.index)), el("mark", { class: "code" }, match[0]));
    at = match.index + match[0].length;
  }
  parts.push(textOf(text.slice(at)));
  return parts;
}

function shortId(id) {
  return el("code", { title: id }, `${id.slice(0, 8)}…`);
}

function showError(id, text) {
  $(id).textContent = visible(text || "");
  $(id).hidden = !text;
}

// The API ---------------------------------------------------------------------------

class ApiError extends Error {
  constructor(status, body) {
    const detail = body && body.details && body.details[0] && body.details[0].message;
    const said = (body && (body.error_description || detail || body.message)) || "The request failed.";
    super(`${status}${body && body.code ? ` ${body.code}` : ""}: ${said}`);
    this.status = status;
  }
}

const environmentPath = (id) => `v1/environments/${encodeURIComponent(id)}`;

/** A GET with the session's token, paths relative to the page so a path prefix works. */
async function call(path) {
  const response = await fetch(path, { headers: { Authorization: `Bearer ${session.token}` }, cache: "no-store" });
  if (response.status === 401) {
    signOut("The session ended (the token expired or was refused): sign in again.");
    throw new ApiError(401, null);
  }
  if (!response.ok) throw new ApiError(response.status, await response.json().catch(() => null));
  return response;
}

const read = async (path) => (await call(path)).json();

/** One page of a collection, and the cursor of the next one (null at the end). */
async function page(path, name, limit, cursor) {
  const query = new URLSearchParams({ limit: String(limit) });
  if (cursor) query.set("cursor", cursor);
  const body = await read(`${path}${path.includes("?") ? "&" : "?"}${query}`);
  const next = body._links && body._links.next;
  return {
    items: (body._embedded && body._embedded[name]) || [],
    next: next ? new URL(next.href, location.href).searchParams.get("cursor") : null,
  };
}

async function everything(path, name) {
  const items = [];
  let cursor = null;
  do {
    const result = await page(path, name, 1000, cursor);
    items.push(...result.items);
    cursor = result.next;
  } while (cursor);
  return items;
}

async function requestToken(environmentId, clientId, secret) {
  const url = `${encodeURIComponent(environmentId)}/as/token`;
  const form = new URLSearchParams({ grant_type: "client_credentials" });
  // client_secret_basic first (the administrator's method); a worker made for
  // client_secret_post is refused that way and sends its credentials in the form.
  let response = await fetch(url, { method: "POST", headers: { Authorization: `Basic ${btoa(`${clientId}:${secret}`)}` }, body: form });
  if (response.status === 401) {
    form.set("client_id", clientId);
    form.set("client_secret", secret);
    response = await fetch(url, { method: "POST", body: form });
  }
  const body = await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, body);
  return body;
}

// Session ---------------------------------------------------------------------------

function savedSession() {
  try {
    const saved = JSON.parse(sessionStorage.getItem(SESSION_KEY));
    return saved && saved.token && saved.expiresAt > Date.now() ? saved : null;
  } catch {
    return null;
  }
}

function keepSession() {
  sessionStorage.setItem(SESSION_KEY, JSON.stringify(session));
}

async function signIn(event) {
  event.preventDefault();
  showError("sign-in-error", "");
  $("sign-in-button").disabled = true;
  try {
    const environmentId = $("environment-id").value.trim();
    const token = await requestToken(environmentId, $("client-id").value.trim(), $("client-secret").value);
    session = { environmentId, token: token.access_token, expiresAt: Date.now() + token.expires_in * 1000, picked: null };
    keepSession();
    $("client-secret").value = "";
    await openConsole();
  } catch (error) {
    signOut(`Sign-in failed: ${error.message}`);
  } finally {
    $("sign-in-button").disabled = false;
  }
}

function signOut(why) {
  session = null;
  view += 1;
  sessionStorage.removeItem(SESSION_KEY);
  releaseImages();
  $("users").replaceChildren();
  $("notifications").replaceChildren();
  $("console").hidden = true;
  $("session-bar").hidden = true;
  $("sign-in").hidden = false;
  showError("sign-in-error", typeof why === "string" ? why : "");
  document.body.dataset.state = "signed-out";
}

function releaseImages() {
  blobUrls.forEach((url) => URL.revokeObjectURL(url));
  blobUrls = [];
}

// The console -----------------------------------------------------------------------

/** The environments this token may see: every one for an administrator, else its own. */
async function visibleEnvironments() {
  try {
    return await everything("v1/environments", "environments");
  } catch (error) {
    if (error.status !== 403) throw error;
    return [await read(environmentPath(session.environmentId))];
  }
}

async function openConsole() {
  $("sign-in").hidden = true;
  $("console").hidden = false;
  $("session-bar").hidden = false;
  document.body.dataset.state = "loading";
  environments = await visibleEnvironments();
  const picker = $("environment-picker");
  picker.replaceChildren(...environments.map((e) => el("option", { value: e.id }, e.name, ` (${e.id.slice(0, 8)}…)`)));
  // The one picked last in this tab, else the newest (lists are in creation order).
  const picked = environments.find((e) => e.id === session.picked) || environments[environments.length - 1];
  picker.value = picked.id;
  await redraw();
}

/** Runs a load for the current view; the page's state says when everything is shown. */
async function showing(load) {
  const mine = view;
  document.body.dataset.state = "loading";
  showError("console-error", "");
  try {
    await load(mine);
    if (mine === view) document.body.dataset.state = "loaded";
  } catch (error) {
    if (mine === view && session) {
      showError("console-error", error.message);
      document.body.dataset.state = "error";
    }
  }
}

async function redraw() {
  view += 1;
  releaseImages();
  userCursor = notificationCursor = null;
  const environmentId = $("environment-picker").value;
  const environment = environments.find((e) => e.id === environmentId);
  $("environment-summary").replaceChildren(
    el("strong", null, environment.name), ` ${environment.type || ""} · ${environment.region || ""} · `,
    el("code", null, environment.id), environment.description ? [" · ", el("span", null, environment.description)] : "");
  $("users").replaceChildren(el("p", { class: "empty" }, "Loading…"));
  $("notifications").replaceChildren();
  await showing(async (mine) => {
    const applications = await everything(`${environmentPath(environmentId)}/digitalWalletApplications`, "digitalWalletApplications");
    walletApplications = new Map(applications.map((a) => [a.id, a]));
    await Promise.all([loadUsers(environmentId, mine, true), loadNotifications(environmentId, mine, true)]);
  });
}

function usersPath(environmentId) {
  const username = $("username-filter").value.trim();
  // Each user comes with their population, whose name the card shows.
  const query = new URLSearchParams({ expand: "population" });
  if (username) query.set("filter", `username eq ${JSON.stringify(username)}`);
  return `${environmentPath(environmentId)}/users?${query}`;
}

async function loadUsers(environmentId, mine, first) {
  const { items, next } = await page(usersPath(environmentId), "users", USERS_PER_PAGE, first ? null : userCursor);
  const cards = await Promise.all(items.map((user) => userCard(environmentId, user)));
  if (mine !== view) return;
  if (first) $("users").replaceChildren();
  $("users").append(...cards);
  if (first && !items.length) $("users").append(el("p", { class: "empty" }, "No user here."));
  userCursor = next;
  $("more-users").hidden = !next;
}

/** A part of a user's card; a failed read shows its error there, not everywhere. */
async function part(title, className, load) {
  let content;
  try {
    const items = await load();
    content = items.length ? items : el("p", { class: "empty" }, "None.");
  } catch (error) {
    if (error.status === 401) throw error;
    content = el("p", { class: "error" }, error.message);
  }
  return el("section", { class: `part ${className}` }, el("h4", null, title), content);
}

async function userCard(environmentId, user) {
  const base = `${environmentPath(environmentId)}/users/${user.id}`;
  const name = user.name && (user.name.formatted || [user.name.given, user.name.family].filter(Boolean).join(" "));
  // The credentials' copies name their wallets, so the wallets come first.
  const wallets = everything(`${base}/digitalWallets`, "digitalWallets");
  const parts = await Promise.all([
    part("Digital wallets", "wallets", async () => Promise.all((await wallets).map((w) => walletItem(base, w)))),
    part("Credentials", "credentials", async () => {
      // null when the wallets could not be read (their part says why).
      const named = await wallets.then((all) => new Map(all.map((w) => [w.id, walletName(w)])), () => null);
      const credentials = await everything(`${base}/credentials`, "items");
      return Promise.all(credentials.map((c) => credentialItem(base, c, named)));
    }),
    part("MFA devices", "devices", async () => (await everything(`${base}/devices`, "devices")).map(deviceItem)),
    part("Groups", "groups", async () =>
      (await everything(`${base}/memberOfGroups`, "groupMemberships")).map(groupItem)),
  ]);
  return el("article", { class: "card user", "data-user-id": user.id },
    el("header", null,
      el("h3", { class: "username" }, user.username),
      name ? el("span", null, name) : null,
      user.email ? el("span", null, user.email) : null,
      user.mobilePhone || user.primaryPhone ? el("span", null, user.mobilePhone || user.primaryPhone) : null,
      facts(["id", user.id], ["population", populationName(user)], ["created", when(user.createdAt)])),
    el("div", { class: "parts" }, parts));
}

/** The name of the population `user` is in, from `expand=population`. */
function populationName(user) {
  const population = user._embedded && user._embedded.population;
  return population ? el("span", { class: "population" }, population.name) : user.population.id;
}

function walletName(wallet) {
  const application = walletApplications.get(wallet.digitalWalletApplication.id);
  return application ? application.name : "Wallet";
}

async function walletItem(base, wallet) {
  const item = el("div", { class: "item wallet", "data-wallet-id": wallet.id, "data-status": wallet.status },
    el("div", { class: "line" }, badge(wallet.status), el("strong", null, walletName(wallet))),
    facts(["id", wallet.id], ["created", when(wallet.createdAt)],
      ["instance", wallet.applicationInstance && wallet.applicationInstance.id]));
  const pairing = wallet.pairingSession;
  if (wallet.status === "PAIRING_REQUIRED" && pairing) {
    const image = el("img", { class: "qr", alt: "The wallet's pairing QR code", width: 256, height: 256 });
    const response = await call(`${base}/digitalWallets/${wallet.id}/pairingQr`);
    const url = URL.createObjectURL(await response.blob());
    blobUrls.push(url);
    image.src = url;
    await image.decode();
    const appOpen = wallet._links && wallet._links.appOpen;
    item.append(el("div", { class: "pairing" }, image,
      el("div", { class: "how" },
        el("p", null, "Scan with the wallet app, or open the pairing link on the phone:"),
        appOpen ? el("p", null, link(appOpen.href, "pairing-link")) : null,
        facts(["qrUrl", pairing.qrUrl]),
        facts(["session", pairing.status], ["expires", when(pairing.expiresAt)]))));
  }
  return item;
}

async function credentialItem(base, credential, walletNames) {
  const copies = (await read(`${base}/credentials/${credential.id}/provisionedCredentials`))._embedded.provisionedCredentials;
  const rows = copies.map((copy) => el("tr", { "data-status": copy.status },
    el("td", null, walletNames ? walletNames.get(copy.digitalWallet.id) || "A deleted wallet" : "Wallet", " ",
      shortId(copy.digitalWallet.id)),
    el("td", null, badge(copy.status)),
    el("td", null,
      el("ul", { class: "actions" }, copy.walletActions.map((a) => el("li", null, a.action, " ", when(a.occurredAt)))),
      copy.deliveryError ? el("p", { class: "error" }, copy.deliveryError) : null)));
  return el("div", { class: "item credential", "data-credential-id": credential.id, "data-status": credential.status },
    el("div", { class: "line" }, badge(credential.status), el("strong", null, credential.title)),
    facts(["id", credential.id], ["created", when(credential.createdAt)], ["expires", when(credential.expiresAt)]),
    rows.length
      ? el("table", { class: "copies" },
        el("thead", null, el("tr", null, el("th", null, "Copy"), el("th", null, "Status"), el("th", null, "Wallet actions"))),
        el("tbody", null, rows))
      : el("p", { class: "empty" }, "No copy in a wallet yet."));
}

function deviceItem(device) {
  return el("div", { class: "item device", "data-device-id": device.id, "data-status": device.status },
    el("div", { class: "line" }, badge(device.status), el("strong", null, device.type),
      device.phone || device.email ? el("span", null, device.phone || device.email) : null,
      device.nickname ? el("em", null, device.nickname) : null),
    facts(["id", device.id], ["created", when(device.createdAt)],
      ["locked until", device.lock && when(device.lock.expiresAt)]));
}

/** A group the user is in: added to it (DIRECT), or through its filter or a nested group (INDIRECT). */
function groupItem(membership) {
  return el("div", { class: "item group", "data-group-id": membership.id },
    el("div", { class: "line" }, badge(membership.type), el("strong", null, membership.name)));
}

async function loadNotifications(environmentId, mine, first) {
  const path = `${environmentPath(environmentId)}/notifications`;
  const { items, next } = await page(path, "notifications", NOTIFICATIONS_PER_PAGE, first ? null : notificationCursor);
  if (mine !== view) return;
  if (first && !items.length) $("notifications").append(el("p", { class: "empty" }, "No notification sent."));
  $("notifications").append(...items.map(notificationItem));
  notificationCursor = next;
  $("more-notifications").hidden = !next;
}

function notificationItem(notification) {
  return el("article", { class: "item notification", "data-notification-id": notification.id },
    el("div", { class: "line" }, badge(notification.status),
      el("strong", null, notification.template.name),
      el("span", null, notification.deliveryMethod, " to ", notification.recipient),
      el("span", { class: "when" }, when(notification.createdAt))),
    notification.subject ? el("div", { class: "subject", dir: "auto" }, notification.subject) : null,
    el("div", { class: "message", dir: "auto" }, message(notification.body)),
    notification.error ? el("p", { class: "error" }, notification.error) : null);
}

// Start -----------------------------------------------------------------------------

$("sign-in").addEventListener("submit", signIn);
$("sign-out").addEventListener("click", () => signOut());
$("refresh").addEventListener("click", () => redraw());
$("environment-picker").addEventListener("change", () => {
  session.picked = $("environment-picker").value;
  keepSession();
  $("username-filter").value = "";
  redraw();
});
$("user-search").addEventListener("submit", (event) => {
  event.preventDefault();
  redraw();
});
$("more-users").addEventListener("click", () =>
  showing((mine) => loadUsers($("environment-picker").value, mine, false)));
$("more-notifications").addEventListener("click", () =>
  showing((mine) => loadNotifications($("environment-picker").value, mine, false)));

session = savedSession();
if (session) {
  openConsole().catch((error) => signOut(error.message));
} else {
  signOut();
}
