#!/usr/bin/env python3
"""OpenHEXA sync benchmark: `ohx openhexa pull` of 1,000 connections and `ohx openhexa push` of
100, against the loopback OpenHEXA fixture, with the same GraphQL requests sent by this script
(Python `requests`, one session) as the reference.

Usage:  OPENHEXA_FIXTURE="$(../shared/openhexa/start STATE)" bench/openhexa.py [OHX_BINARY]
Writes bench/results/openhexa.json and prints a Markdown table. Each measured run starts from a
fresh ohx home and a fresh OpenHEXA workspace; setting them up is not timed.
"""

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

import requests

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OHX = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "target/debug/ohx"))
FIXTURE = json.loads(os.environ["OPENHEXA_FIXTURE"])
URL, ADMIN = FIXTURE["url"], FIXTURE["token"]
RUNS = int(os.environ.get("RUNS", "3"))
SESSION = requests.Session()

CONNECTION = "id name slug description type updatedAt permissions { update delete } fields { code value secret }"
LIST = "query($s: String!) { workspace(slug: $s) { slug connections { %s } } }" % CONNECTION
CREATE = ("mutation($input: CreateConnectionInput!) { createConnection(input: $input) "
          "{ success errors connection { %s } } }" % CONNECTION)


def gql(token, query, variables):
    r = SESSION.post(f"{URL}/graphql/", json={"query": query, "variables": variables},
                     headers={"Authorization": f"Bearer {token}"}, timeout=600)
    r.raise_for_status()
    body = r.json()
    if body.get("errors"):
        raise SystemExit(f"GraphQL error: {body['errors'][0].get('message')}")
    return body["data"]


def new_remote():
    org = gql(ADMIN, "{ organizations { id } }", {})["organizations"][0]["id"]
    name = f"bench {uuid.uuid4().hex[:10]}"
    slug = gql(ADMIN, "mutation($input: CreateWorkspaceInput!) { createWorkspace(input: $input) "
               "{ success workspace { slug } } }",
               {"input": {"name": name, "organizationId": org}})["createWorkspace"]["workspace"]["slug"]
    token = gql(ADMIN, "mutation($input: GenerateWorkspaceTokenInput!) { generateWorkspaceToken(input: $input) "
                "{ token } }", {"input": {"slug": slug}})["generateWorkspaceToken"]["token"]
    return slug, token


def connection_input(i):
    """A PostgreSQL connection with a secret password, like the other benchmarks' stores."""
    return {"name": f"Database {i:04d}", "slug": f"db-{i:04d}", "type": "POSTGRESQL",
            "description": "benchmark",
            "fields": [{"code": "host", "value": f"db{i}.example.org", "secret": False},
                       {"code": "port", "value": "5432", "secret": False},
                       {"code": "username", "value": "etl", "secret": False},
                       {"code": "password", "value": f"pw-{uuid.uuid4().hex}", "secret": True},
                       {"code": "db_name", "value": "dwh", "secret": False}]}


def seed_remote(n):
    slug, token = new_remote()
    for i in range(n):
        gql(token, CREATE, {"input": {**connection_input(i), "workspaceSlug": slug}})
    return slug, token


def ohx_home():
    home = tempfile.mkdtemp(prefix="ohx-bench-")
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": home,
           "OHX_HOME": os.path.join(home, "home"), "USER": "bench",
           "OHX_OPENHEXA_TIMEOUT": "600"}
    return env


def ohx(env, *args, stdin=None):
    out = subprocess.run([OHX, *args], env=env, input=stdin, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"ohx {' '.join(args)} failed: {out.stderr}")
    return out


def local_with_login(slug, token):
    env = ohx_home()
    ohx(env, "init", "--name", "bench")
    ohx(env, "workspace", "create", "bench", "--slug", "bench")
    ohx(env, "openhexa", "login", URL, "--workspace", slug, "--token", "-", stdin=token)
    return env


def timed(fn):
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def median(xs):
    return round(statistics.median(xs), 3)


def main():
    results = {"ohx": OHX, "runs": RUNS}
    print("seeding 1,000 connections on the server (not timed in the results)...", file=sys.stderr)
    started = time.perf_counter()
    slug, token = seed_remote(1000)
    results["seed_1000_s"] = round(time.perf_counter() - started, 1)

    # Pull of 1,000: the reference sends the one query ohx sends.
    results["pull_reference_s"] = median([timed(lambda: gql(token, LIST, {"s": slug})) for _ in range(RUNS)])
    pulls, again = [], []
    for _ in range(RUNS):
        env = local_with_login(slug, token)
        pulls.append(timed(lambda: ohx(env, "openhexa", "pull")))
        again.append(timed(lambda: ohx(env, "openhexa", "pull")))
    results["pull_ohx_s"], results["pull_again_ohx_s"] = median(pulls), median(again)

    # Push of 100 to an empty workspace: one listing, then 100 createConnection mutations.
    refs, pushes = [], []
    for _ in range(RUNS):
        rslug, rtoken = new_remote()
        inputs = [connection_input(i) for i in range(100)]
        refs.append(timed(lambda: [gql(rtoken, LIST, {"s": rslug})] + [
            gql(rtoken, CREATE, {"input": {**c, "workspaceSlug": rslug}}) for c in inputs]))
        pslug, ptoken = new_remote()
        env = local_with_login(pslug, ptoken)
        for c in inputs:
            f = {x["code"]: x["value"] for x in c["fields"]}
            ohx(env, "connection", "add", "postgresql", "--name", c["name"], "--slug", c["slug"],
                "--description", c["description"], "--set", f"host={f['host']}", "--set", "port=5432",
                "--set", "username=etl", "--set", "db_name=dwh", "--secret", "password=-",
                stdin=f["password"])
        pushes.append(timed(lambda: ohx(env, "openhexa", "push")))
    results["push_reference_s"], results["push_ohx_s"] = median(refs), median(pushes)

    os.makedirs(os.path.join(ROOT, "bench/results"), exist_ok=True)
    with open(os.path.join(ROOT, "bench/results/openhexa.json"), "w") as f:
        json.dump(results, f, indent=2)
    print("| operation | reference script | ohx | ohx / reference |")
    print("|---|---|---|---|")
    for what, ref, mine in [("pull of 1,000 (into an empty workspace)", "pull_reference_s", "pull_ohx_s"),
                            ("pull of 1,000, nothing changed", "pull_reference_s", "pull_again_ohx_s"),
                            ("push of 100 (to an empty workspace)", "push_reference_s", "push_ohx_s")]:
        print(f"| {what} | {results[ref]:.2f} s | {results[mine]:.2f} s | {results[mine] / results[ref]:.2f} |")
    print(f"\n(seeding 1,000 connections through GraphQL took {results['seed_1000_s']} s)")


if __name__ == "__main__":
    main()
