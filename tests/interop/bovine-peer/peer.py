"""A bovine_herd server (PyPI `bovine-herd`, https://bovine-herd.readthedocs.io/) as a
third-party ActivityPub peer for Cocreate's interop tests.  See README.md.

    .venv/bin/python peer.py PORT DATA_DIR

Serves bovine_herd on http://localhost:PORT with one actor, `tester`, registered the way
`bovine-tool register` and `bovine-tool manage --new_did_key` do it.  Everything the actor does
goes through bovine's own client-to-server API: a `bovine.BovineClient` authenticated with
Moo-Auth-1 posts activities to the actor's outbox, and bovine_herd signs and delivers them,
resolves handles with WebFinger, verifies incoming HTTP signatures and fills the inbox.  This
file only adds a few JSON endpoints under /control/ that drive that client.

stdout carries a single line, "ready", once the server answers and the client has signed in;
logs go to stderr (PEER_LOG_LEVEL=DEBUG for bovine's details).
"""

import asyncio
import json
import logging
import os
import sys

if len(sys.argv) != 3 or not sys.argv[1].isdigit():
    sys.stderr.write("usage: peer.py PORT DATA_DIR\n")
    sys.exit(2)
PORT = int(sys.argv[1])
DATA_DIR = os.path.abspath(sys.argv[2])
ORIGIN = f"http://localhost:{PORT}"

# bovine keeps its JSON-LD context cache in ./bovine_jsonld_cache.sqlite, made on import.
os.chdir(DATA_DIR)
# bovine looks handles up at https://HOST/.well-known/webfinger and falls back to http:// only
# with this switch (bovine/clients/__init__.py); the test setup is plain http on loopback.
os.environ.setdefault("BUTCHER_ALLOW_HTTP", "1")

logging.basicConfig(
    stream=sys.stderr,
    level=os.environ.get("PEER_LOG_LEVEL", "WARNING"),
    format=f"[bovine-peer:{PORT}] %(levelname)s %(name)s: %(message)s",
)
if "PEER_LOG_LEVEL" not in os.environ:
    # Offline, bovine cannot load the W3C security and DID JSON-LD contexts; it warns and goes
    # on with an empty context for them.  Its inbox still requires and checks HTTP signatures.
    logging.getLogger("bovine.jsonld").setLevel(logging.ERROR)

from hypercorn.asyncio import serve  # noqa: E402
from hypercorn.config import Config  # noqa: E402
from quart import Quart, request  # noqa: E402

from bovine import BovineClient  # noqa: E402
from bovine.clients import lookup_uri_with_webfinger  # noqa: E402
from bovine.crypto import (  # noqa: E402
    generate_ed25519_private_key,
    private_key_to_did_key,
)
from bovine_herd import BovineHerd  # noqa: E402
from bovine_store import BovineAdminStore  # noqa: E402

PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
USER = "tester"

log = logging.getLogger("bovine-peer")

app = Quart(__name__)
BovineHerd(app, db_url=f"sqlite://{os.path.join(DATA_DIR, 'bovine.sqlite3')}")

SECRET = generate_ed25519_private_key()
state: dict = {"client": None}


@app.before_serving
async def register_actor():
    # Runs after bovine_herd's own startup (database schema): the same calls as
    # `bovine-tool register tester --domain ORIGIN` and `bovine-tool manage NAME --new_did_key`.
    store = BovineAdminStore(domain=ORIGIN)
    bovine_name = await store.register(USER)
    await store.add_identity_string_to_actor(
        bovine_name, "key-from-tool", private_key_to_did_key(SECRET)
    )
    app.add_background_task(sign_in)


async def sign_in():
    """Signs the client in once the server answers (the WebFinger lookup of the did:key
    needs it), then tells the test it may start."""
    for _ in range(200):
        client = BovineClient(domain=ORIGIN, secret=SECRET)
        try:
            await client.init()
        except Exception as e:  # the server is not listening yet
            log.debug("sign-in not yet possible: %r", e)
            await client.session.close()
            await asyncio.sleep(0.1)
            continue
        state["client"] = client
        print("ready", flush=True)
        return
    log.error("the client could not sign in to the bovine_herd server")
    os._exit(1)


def client() -> BovineClient:
    if state["client"] is None:
        raise RuntimeError("not signed in yet")
    return state["client"]


async def collection(url: str) -> list:
    """The items of a collection of the actor, through bovine's C2S client (ids)."""
    return [item async for item in client().collection_helper(url)]


async def resolve(item, depth: int = 2):
    """An inbox item as bovine stored it, with `object` resolved (through the actor's
    proxyUrl, from bovine's store or fetched signed) down to `depth` levels."""
    if isinstance(item, str):
        try:
            item = await client().proxy(item)
        except Exception as e:
            return {"id": item, "error": repr(e)}
    if depth > 0 and isinstance(item, dict) and isinstance(item.get("object"), (str, dict)):
        item = {**item, "object": await resolve(item["object"], depth - 1)}
    return item


def answer(body, status=200):
    return json.dumps(body), status, {"content-type": "application/json"}


@app.get("/control/actor")
async def control_actor():
    return answer(client().information)


@app.get("/control/inbox")
async def control_inbox():
    items = await collection(client().information["inbox"])
    return answer([await resolve(i) for i in reversed(items)])


@app.get("/control/following")
async def control_following():
    return answer(await collection(client().information["following"]))


@app.post("/control/follow")
async def control_follow():
    body = await request.get_json()
    handle = (body or {}).get("handle")
    if not isinstance(handle, str):
        return answer({"error": "handle (string) required"}, 400)
    c = client()
    target, _ = await lookup_uri_with_webfinger(c.session, "acct:" + handle)
    if target is None:
        return answer({"error": f"WebFinger found no actor for {handle}"}, 502)
    follow = c.activity_factory.follow(target).build()
    response = await c.send_to_outbox(follow)
    if response.status != 201:
        return answer({"error": f"outbox said {response.status}"}, 502)
    return answer({"followed": target, "follow": response.headers.get("location")})


@app.post("/control/reply")
async def control_reply():
    body = await request.get_json() or {}
    in_reply_to, content = body.get("in_reply_to"), body.get("content")
    if not isinstance(in_reply_to, str) or not isinstance(content, str):
        return answer({"error": "in_reply_to and content (strings) required"}, 400)
    c = client()
    # Fetch what is replied to through the actor's proxyUrl (a signed GET by bovine_herd),
    # and address the reply to its author and its room, in public.
    target = await c.proxy(in_reply_to)
    author = target.get("attributedTo")
    to = {author["id"] if isinstance(author, dict) else author}
    for key in ("audience", "context"):
        if isinstance(target.get(key), str) and target[key].startswith("http"):
            to.add(target[key])
            break
    note = c.object_factory.note(
        content=content, in_reply_to=in_reply_to, to=to, cc={PUBLIC}
    ).build()
    response = await c.send_to_outbox(c.activity_factory.create(note).build())
    if response.status != 201:
        return answer({"error": f"outbox said {response.status}"}, 502)
    return answer({"create": response.headers.get("location"), "to": sorted(to)})


async def main():
    config = Config()
    config.bind = [f"127.0.0.1:{PORT}"]
    config.accesslog = None
    config.errorlog = log
    await serve(app, config)


if __name__ == "__main__":
    asyncio.run(main())
