// A third-party ActivityPub peer built on Fedify (https://fedify.dev/),
// started by Cocreate's interop tests.  See README.md for the contract.
//
//   node tests/interop/fedify-peer/peer.mjs PORT [--rfc9421-only] [--authorized-fetch]
//
// Everything federation-related (WebFinger, document loading, HTTP
// Signatures on outgoing and incoming activities) is done by Fedify; this
// file only wires it to node:http and adds a few JSON control endpoints.

import http from "node:http";
import { AsyncLocalStorage } from "node:async_hooks";
import { randomUUID } from "node:crypto";
import { configure } from "@logtape/logtape";
import { Temporal } from "@js-temporal/polyfill";
import { createFederation, MemoryKvStore } from "@fedify/fedify";
import {
  Accept,
  Add,
  Announce,
  Create,
  Delete,
  Endpoints,
  Follow,
  Invite,
  Like,
  Note,
  Offer,
  Person,
  PUBLIC_COLLECTION,
  Reject,
  Remove,
  Undo,
  Update,
} from "@fedify/vocab";

const PORT = Number.parseInt(process.argv[2] ?? "", 10);
if (!Number.isInteger(PORT) || PORT <= 0 || PORT > 65535) {
  process.stderr.write("usage: node peer.mjs PORT\n");
  process.exit(2);
}
const ORIGIN = `http://localhost:${PORT}`;
const USER = "tester";
// --rfc9421-only: answer 401 to requests signed with draft-cavage (before Fedify sees them),
// as a server that has moved to RFC 9421 would.  --authorized-fetch: the actor document is
// served only to a request whose signature Fedify verifies (Mastodon's secure mode).
const RFC9421_ONLY = process.argv.includes("--rfc9421-only");
const AUTHORIZED_FETCH = process.argv.includes("--authorized-fetch");

/** The signature scheme of a request's headers: "rfc9421", "cavage" or "none". */
function schemeOf(headers) {
  if (headers.has("signature-input")) return "rfc9421";
  if (headers.has("signature")) return "cavage";
  return "none";
}
/** Requests this peer sent (Fedify's own fetches): {method, url, scheme, status}. */
const outgoing = [];
/** Requests this peer answered, control endpoints excepted: {method, path, scheme, status}. */
const incoming = [];

// ---------------------------------------------------------------- logging
// All logs go to stderr (stdout carries only the "ready" line).
// PEER_LOG_LEVEL=debug shows Fedify's signature-verification details.
await configure({
  contextLocalStorage: new AsyncLocalStorage(),
  sinks: {
    stderr(record) {
      const msg = record.message
        .map((part) => (typeof part === "string" ? part : fmt(part)))
        .join("");
      process.stderr.write(
        `[fedify-peer:${PORT}] ${record.level.toUpperCase()} ` +
          `${record.category.join(".")}: ${msg}\n`,
      );
    },
  },
  filters: {
    // With only an RSA key (as required) Fedify warns on every send that it
    // cannot add an Ed25519 Object Integrity Proof; that is expected here.
    noProofWarning(record) {
      return !(record.level === "warning" &&
        String(record.rawMessage).startsWith("No supported key found to create a proof"));
    },
  },
  loggers: [
    {
      category: "fedify",
      sinks: ["stderr"],
      filters: ["noProofWarning"],
      lowestLevel: process.env.PEER_LOG_LEVEL ?? "warning",
    },
    {
      category: ["logtape", "meta"],
      sinks: ["stderr"],
      lowestLevel: "warning",
    },
  ],
});

function fmt(value) {
  if (value instanceof Error) return value.stack ?? String(value);
  if (typeof value === "string") return value;
  try {
    return JSON.stringify(value);
  } catch {
    return String(value);
  }
}

function logError(what, error) {
  process.stderr.write(`[fedify-peer:${PORT}] ERROR ${what}: ${fmt(error)}\n`);
}

process.on("unhandledRejection", (e) => logError("unhandled rejection", e));
process.on("uncaughtException", (e) => logError("uncaught exception", e));

// ------------------------------------------------- WebFinger over http://
// Fedify's WebFinger client always queries https://HOST/.well-known/webfinger
// for acct: handles.  This loopback test setup has no TLS, so requests for
// that one path on a loopback host are rewritten to http://.  Nothing else is
// touched: documents, keys and inboxes are fetched at the http:// URLs the
// other side publishes.
const LOOPBACK_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]"]);
const realFetch = globalThis.fetch;
globalThis.fetch = (input, init) => {
  try {
    const url = new URL(input instanceof Request ? input.url : String(input));
    if (
      url.protocol === "https:" &&
      LOOPBACK_HOSTS.has(url.hostname) &&
      url.pathname === "/.well-known/webfinger"
    ) {
      url.protocol = "http:";
      input = input instanceof Request ? new Request(url, input) : url;
    }
  } catch {
    // Not a URL we understand; leave it alone.
  }
  // Record what was sent and how it was answered (signature scheme, status).
  // (Read from the arguments: a new Request would take over the body of `input`.)
  const isRequest = input instanceof Request;
  const entry = {
    method: init?.method ?? (isRequest ? input.method : "GET"),
    url: isRequest ? input.url : String(input),
    scheme: schemeOf(new Headers(init?.headers ?? (isRequest ? input.headers : undefined))),
    status: null,
  };
  outgoing.push(entry);
  return realFetch(input, init).then((response) => {
    entry.status = response.status;
    return response;
  });
};

// ------------------------------------------------------------------ state
const keyPair = await crypto.subtle.generateKey(
  {
    name: "RSASSA-PKCS1-v1_5",
    modulusLength: 2048,
    publicExponent: new Uint8Array([1, 0, 1]),
    hash: "SHA-256",
  },
  true,
  ["sign", "verify"],
);
/** Verified activities received in tester's inbox or the shared inbox. */
const inboxLog = [];
/** Follower actor ids, in the order they followed. */
const followers = [];
/** Actor ids whose Accept of one of our Follows arrived. */
const following = [];
/** Follows we sent: follow id -> target actor id. */
const sentFollows = new Map();
/** Objects we serve: uuid -> Note / Create / Follow. */
const notes = new Map();
const creates = new Map();
const follows = new Map();

// ------------------------------------------------------------- federation
const federation = createFederation({
  kv: new MemoryKvStore(),
  // No queue: activities are sent immediately, inbox listeners run inline.
  origin: ORIGIN,
  // Loopback test setup: let Fedify fetch from localhost / private addresses.
  allowPrivateAddress: true,
  userAgent: { software: "cocreate-fedify-peer/0.1" },
});

federation
  .setActorDispatcher("/users/{identifier}", async (ctx, identifier) => {
    if (identifier !== USER) return null;
    const keys = await ctx.getActorKeyPairs(identifier);
    return new Person({
      id: ctx.getActorUri(identifier),
      preferredUsername: identifier,
      name: "Fedify interop tester",
      summary: "A Fedify-based peer used by Cocreate's interop tests.",
      url: ctx.getActorUri(identifier),
      inbox: ctx.getInboxUri(identifier),
      outbox: ctx.getOutboxUri(identifier),
      followers: ctx.getFollowersUri(identifier),
      endpoints: new Endpoints({ sharedInbox: ctx.getInboxUri() }),
      manuallyApprovesFollowers: false,
      publicKey: keys[0]?.cryptographicKey,
      assertionMethods: keys.map((k) => k.multikey),
    });
  })
  .setKeyPairsDispatcher(async (_ctx, identifier) =>
    identifier === USER ? [keyPair] : []
  )
  .mapHandle((_ctx, username) => (username === USER ? USER : null))
  .authorize(async (ctx, _identifier) =>
    !AUTHORIZED_FETCH || (await ctx.getSignedKey()) != null
  );

federation.setOutboxDispatcher("/users/{identifier}/outbox", (_ctx, identifier) =>
  identifier === USER ? { items: [...creates.values()] } : null
);

federation
  .setFollowersDispatcher("/users/{identifier}/followers", (_ctx, identifier) =>
    identifier === USER
      ? { items: followers.map((id) => ({ id: new URL(id), inboxId: null })) }
      : null
  )
  .setCounter((_ctx, identifier) => (identifier === USER ? followers.length : null));

federation.setObjectDispatcher(Note, "/notes/{id}", (_ctx, { id }) => notes.get(id) ?? null);
federation.setObjectDispatcher(Create, "/creates/{id}", (_ctx, { id }) => creates.get(id) ?? null);
federation.setObjectDispatcher(Follow, "/follows/{id}", (_ctx, { id }) => follows.get(id) ?? null);

function record(ctx, activity) {
  // ctx.data.raw is the request body exactly as received (see the HTTP
  // adapter below); listeners only run once Fedify has verified it.
  const json = ctx.data?.raw ?? null;
  const entry = {
    type: json?.type ?? activity.constructor.name,
    id: activity.id?.href ?? json?.id ?? null,
    actor: activity.actorId?.href ?? null,
    inbox: ctx.recipient == null ? "shared" : ctx.recipient,
    json,
  };
  inboxLog.push(entry);
  return entry;
}

const listeners = federation
  .setInboxListeners("/users/{identifier}/inbox", "/inbox")
  .on(Follow, async (ctx, follow) => {
    record(ctx, follow);
    if (follow.id == null || follow.actorId == null || follow.objectId == null) {
      logError("Follow", "missing id, actor or object");
      return;
    }
    const target = ctx.parseUri(follow.objectId);
    if (target?.type !== "actor" || target.identifier !== USER) {
      logError("Follow", `object is not ${USER}: ${follow.objectId.href}`);
      return;
    }
    const follower = await follow.getActor(ctx);
    if (follower == null) {
      logError("Follow", `could not load actor ${follow.actorId.href}`);
      return;
    }
    if (!followers.includes(follower.id.href)) followers.push(follower.id.href);
    await ctx.sendActivity(
      { identifier: USER },
      follower,
      new Accept({
        id: new URL(`${ORIGIN}/accepts/${randomUUID()}`),
        actor: ctx.getActorUri(USER),
        // Embed the Follow as received (id, actor, object), not re-derived.
        object: new Follow({
          id: follow.id,
          actor: follow.actorId,
          object: follow.objectId,
        }),
        to: follower.id,
      }),
    );
  })
  .on(Undo, async (ctx, undo) => {
    record(ctx, undo);
    const json = ctx.data?.raw;
    const obj = json?.object;
    const isFollow = typeof obj === "object" && obj != null && obj.type === "Follow";
    if (isFollow && undo.actorId != null) {
      const i = followers.indexOf(undo.actorId.href);
      if (i >= 0) followers.splice(i, 1);
    }
  })
  .on(Accept, async (ctx, accept) => {
    record(ctx, accept);
    // Match against our Follows without dereferencing anything.
    const followId = accept.objectId?.href;
    const target = followId == null ? null : sentFollows.get(followId);
    if (target != null && target === accept.actorId?.href && !following.includes(target)) {
      following.push(target);
    }
  })
  .onError((_ctx, error) => logError("inbox", error));
for (const cls of [Reject, Announce, Create, Update, Delete, Like, Add, Remove, Invite, Offer]) {
  listeners.on(cls, async (ctx, activity) => {
    record(ctx, activity);
  });
}

// ---------------------------------------------------------------- control
function json(status, body) {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "Content-Type": "application/json" },
  });
}

async function control(request, path) {
  const ctx = federation.createContext(new URL(ORIGIN), { raw: null });
  if (request.method === "GET" && path === "/control/inbox") return json(200, inboxLog);
  if (request.method === "GET" && path === "/control/followers") return json(200, followers);
  if (request.method === "GET" && path === "/control/following") return json(200, following);
  if (request.method === "GET" && path === "/control/outgoing") return json(200, outgoing);
  if (request.method === "GET" && path === "/control/incoming") return json(200, incoming);
  if (request.method !== "POST" || !["/control/follow", "/control/reply"].includes(path)) {
    return json(404, { error: `no control endpoint ${request.method} ${path}` });
  }
  let body;
  try {
    body = await request.json();
  } catch (e) {
    return json(400, { error: `invalid JSON body: ${e.message}` });
  }
  try {
    if (path === "/control/follow") {
      if (typeof body?.handle !== "string") return json(400, { error: "handle (string) required" });
      const actor = await ctx.lookupObject(body.handle);
      if (actor == null || actor.id == null || actor.inboxId == null) {
        throw new Error(`could not resolve ${body.handle} to an actor with an inbox`);
      }
      const uuid = randomUUID();
      const follow = new Follow({
        id: new URL(`${ORIGIN}/follows/${uuid}`),
        actor: ctx.getActorUri(USER),
        object: actor.id,
        to: actor.id,
      });
      follows.set(uuid, follow);
      sentFollows.set(follow.id.href, actor.id.href);
      await ctx.sendActivity({ identifier: USER }, actor, follow);
      return json(200, { followed: actor.id.href });
    }
    // /control/reply
    const { in_reply_to, content, to, inbox } = body ?? {};
    if (typeof in_reply_to !== "string" || typeof content !== "string" ||
        typeof inbox !== "string" || !Array.isArray(to)) {
      return json(400, { error: "in_reply_to, content, inbox (strings) and to (array) required" });
    }
    const uuid = randomUUID();
    const noteId = new URL(`${ORIGIN}/notes/${uuid}`);
    const createId = new URL(`${ORIGIN}/creates/${uuid}`);
    const toUrls = to.map((u) => new URL(u));
    // Millisecond precision (Temporal would otherwise give nanoseconds).
    const published = Temporal.Instant.fromEpochMilliseconds(Date.now());
    const note = new Note({
      id: noteId,
      attribution: ctx.getActorUri(USER),
      content,
      replyTarget: new URL(in_reply_to),
      tos: toUrls,
      cc: PUBLIC_COLLECTION,
      published,
      url: noteId,
    });
    const create = new Create({
      id: createId,
      actor: ctx.getActorUri(USER),
      object: note,
      tos: toUrls,
      cc: PUBLIC_COLLECTION,
      published,
    });
    notes.set(uuid, note);
    creates.set(uuid, create);
    await ctx.sendActivity(
      { identifier: USER },
      { id: toUrls[0] ?? null, inboxId: new URL(inbox) },
      create,
    );
    return json(200, { id: noteId.href, activity: createId.href });
  } catch (e) {
    logError(path, e);
    return json(500, { error: String(e?.message ?? e) });
  }
}

// ------------------------------------------------------------ HTTP server
async function handle(req, res) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  const body = Buffer.concat(chunks);
  const url = new URL(req.url ?? "/", `http://${req.headers.host ?? `localhost:${PORT}`}`);
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (Array.isArray(value)) for (const v of value) headers.append(name, v);
    else if (value != null) headers.set(name, value);
  }
  const method = req.method ?? "GET";
  const request = new Request(url, {
    method,
    headers,
    body: method === "GET" || method === "HEAD" ? undefined : body,
  });

  let response;
  if (url.pathname.startsWith("/control/")) {
    response = await control(request, url.pathname);
  } else if (RFC9421_ONLY && schemeOf(headers) === "cavage") {
    response = new Response("draft-cavage signatures are not accepted here\n", {
      status: 401,
      headers: { "Content-Type": "text/plain" },
    });
  } else {
    let raw = null;
    if (method === "POST" && body.length > 0) {
      try {
        raw = JSON.parse(body.toString("utf8"));
      } catch {
        // Fedify answers malformed JSON itself.
      }
    }
    response = await federation.fetch(request, {
      contextData: { raw },
      onNotFound: () => new Response("Not found\n", { status: 404 }),
      onNotAcceptable: () => new Response("Not acceptable\n", { status: 406 }),
    });
  }
  if (!url.pathname.startsWith("/control/")) {
    incoming.push({
      method,
      path: url.pathname,
      scheme: schemeOf(headers),
      status: response.status,
    });
  }
  const outHeaders = {};
  response.headers.forEach((v, k) => {
    outHeaders[k] = v;
  });
  const out = Buffer.from(await response.arrayBuffer());
  res.writeHead(response.status, outHeaders);
  res.end(method === "HEAD" ? undefined : out);
}

const server = http.createServer((req, res) => {
  handle(req, res).catch((e) => {
    logError(`${req.method} ${req.url}`, e);
    if (!res.headersSent) {
      res.writeHead(500, { "Content-Type": "application/json" });
      res.end(JSON.stringify({ error: String(e?.message ?? e) }));
    } else {
      res.destroy();
    }
  });
});
server.on("clientError", (e, socket) => {
  logError("client", e);
  socket.destroy();
});
server.listen(PORT, "127.0.0.1", () => {
  process.stdout.write("ready\n");
});
