"""A mixed concurrent load on a running server: many clients of several users and
profiles sending good reads, good writes and bad traffic, each answer checked.

Every action knows what it must get: success for good traffic, one documented code for
bad traffic (README "Errors and input rules", "Profile context rules"). Anything else is
an unexpected answer. Every id and name an answer returns is checked to belong to the
client's own profile (seeded names carry the profile's marker; the seeded ids of every
other profile are known): a client never sees another profile's data.

Used by tests/robustness/test_concurrency.py (asserts) and bench/load_mixed.py
(latency figures).
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import jwt

from tests.robustness.client import Answer, bearer, collect_ids, post
from tests.robustness.seed import Tenant, World

LIST = """query($first: Int, $after: String) {
  projects(first: $first, after: $after) {
    edges { cursor node { id name clips(first: 2) { edges { node { id } } } } }
    pageInfo { endCursor hasNextPage }
  }
}"""
GET = "query($id: ID!) { project(id: $id) { id name description segments { id } } }"
CURRENT = "{ currentProfile { id name isDefault } }"
ME = "{ me { id profiles { id name } } }"
JOBS = "{ jobs(first: 5) { edges { node { id status } } } }"
CREATE = "mutation($input: CreateProjectInput!) { createProject(input: $input) { id name } }"
UPDATE = (
    "mutation($id: ID!, $input: UpdateProjectInput!) "
    "{ updateProject(id: $id, input: $input) { id name description } }"
)
DELETE = "mutation($id: ID!) { deleteProject(id: $id) }"
# The query of issue 7 that once wedged the embedded server: a bad nested cursor beside
# sibling fields that still run.
NESTED_BAD_CURSOR = """{ projects { edges { node { id
  clips(first: 5, after: "garbage") { edges { node { id } } }
  segments { id } voiceovers { id } } } } }"""

READ, WRITE, BAD = "read", "write", "bad"


@dataclass
class Outcome:
    action: str
    kind: str
    seconds: float
    unexpected: str | None = None
    leak: str | None = None


@dataclass
class LoadReport:
    seconds: float
    clients: int
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def unexpected(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.unexpected]

    @property
    def leaks(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.leak]

    def latencies(self, kind: str | None = None) -> list[float]:
        return sorted(o.seconds for o in self.outcomes if kind is None or o.kind == kind)

    def describe(self, shown: int = 10) -> str:
        lines = [
            f"{len(self.outcomes)} requests from {self.clients} clients in "
            f"{self.seconds:.1f} s ({len(self.outcomes) / self.seconds:.0f} req/s), "
            f"{len(self.unexpected)} unexpected answers, {len(self.leaks)} seeing another "
            "profile's data"
        ]
        for kind in (None, READ, WRITE, BAD):
            values = self.latencies(kind)
            if values:
                p50, p95, p99 = (percentile(values, q) for q in (50, 95, 99))
                lines.append(
                    f"  {kind or 'all':5} n={len(values):6} p50 {p50 * 1000:7.1f} ms  "
                    f"p95 {p95 * 1000:7.1f} ms  p99 {p99 * 1000:7.1f} ms"
                )
        counts: dict[str, int] = defaultdict(int)
        for o in self.outcomes:
            counts[o.action] += 1
        lines.append(f"  actions: {dict(sorted(counts.items()))}")
        for o in (self.unexpected + self.leaks)[:shown]:
            lines.append(f"  --- {o.action}: {o.unexpected or o.leak}")
        return "\n".join(lines)


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of an already sorted list."""
    if not sorted_values:
        return 0.0
    rank = max(1, round(q / 100 * len(sorted_values) + 0.5))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def forged_tokens(tenant: Tenant, secret: str) -> list[str]:
    """Tokens the server must refuse: another secret, alg none, and with the server's own
    secret an expired one and one for another audience; a broken signature; no JWT."""
    now = int(time.time())
    claims = {"sub": tenant.user_id, "aud": "authenticated", "iat": now, "exp": now + 600}
    return [
        jwt.encode(claims, "not-the-server-secret-0123456789-abcdefghij", algorithm="HS256"),
        jwt.encode(claims, "", algorithm="none"),
        jwt.encode({**claims, "iat": now - 7200, "exp": now - 3600}, secret, algorithm="HS256"),
        jwt.encode({**claims, "aud": "someone-else"}, secret, algorithm="HS256"),
        tenant.token[:-4] + ("AAAA" if not tenant.token.endswith("AAAA") else "BBBB"),
        "not-a-jwt",
    ]


class LoadClient:
    """One client: one user's token and one profile, its own random stream."""

    def __init__(
        self,
        index: int,
        tenant: Tenant,
        world: World,
        http: httpx.AsyncClient,
        *,
        seed: int,
        secret: str,
    ) -> None:
        self.index = index
        self.tenant = tenant
        self.world = world
        self.http = http
        self.rng = random.Random(seed)
        # Default profiles are reached both ways: with X-Profile-Id and without.
        self.explicit = not tenant.is_default or index % 2 == 1
        self.created: list[str] = []
        self.cursor: str | None = None
        self.foreign_ids = {i for t in world.tenants if t is not tenant for i in t.seeded_ids()}
        self.foreign_projects = [p for t in world.tenants if t is not tenant for p in t.project_ids]
        self.other_users_profiles = [
            t.profile_id for t in world.tenants if t.user_id != tenant.user_id
        ]
        self.my_profiles = {t.profile_id for t in world.of_user(tenant.user_id)}
        self.forged = forged_tokens(tenant, secret)
        self.actions: list[tuple[str, str, Callable[[], Awaitable[Outcome]]]] = [
            ("list", READ, self.list_projects),
            ("list", READ, self.list_projects),
            ("next_page", READ, self.next_page),
            ("get", READ, self.get_project),
            ("get", READ, self.get_project),
            ("current_profile", READ, self.current_profile),
            ("me", READ, self.me),
            ("jobs", READ, self.jobs),
            ("create", WRITE, self.create),
            ("create", WRITE, self.create),
            ("update", WRITE, self.update),
            ("delete", WRITE, self.delete),
            ("bad_cursor", BAD, self.bad_cursor),
            ("nested_bad_cursor", BAD, self.nested_bad_cursor),
            ("nul_string", BAD, self.nul_string),
            ("lone_surrogate", BAD, self.lone_surrogate),
            ("foreign_id", BAD, self.foreign_id),
            ("foreign_write", BAD, self.foreign_write),
            ("malformed_id", BAD, self.malformed_id),
            ("forged_token", BAD, self.forged_token),
            ("other_users_profile", BAD, self.other_users_profile),
            ("malformed_profile_header", BAD, self.malformed_profile_header),
        ]

    # --- plumbing ------------------------------------------------------------------------

    def headers(self) -> dict[str, str]:
        return self.tenant.headers(explicit=self.explicit)

    async def ask(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Answer:
        return await post(
            self.http, query, variables, self.headers() if headers is None else headers
        )

    def outcome(self, action: str, kind: str, answer: Answer, unexpected: str | None) -> Outcome:
        leak = self.leak_in(answer)
        if unexpected is not None:
            unexpected = f"{unexpected}; {answer.short()}"
        return Outcome(action, kind, answer.seconds, unexpected, leak)

    def leak_in(self, answer: Answer) -> str | None:
        """Another profile's seeded id, or a project name without this profile's marker."""
        found: set[str] = set()
        collect_ids(answer.data, found)
        # me.profiles lists the user's own profiles: those are its data too.
        seen = found & (self.foreign_ids - self.my_profiles)
        if seen:
            return f"ids of another profile {sorted(seen)} in {answer.text[:300]}"
        for name in _project_names(answer.data):
            if not self.tenant.owns_name(name):
                return f"project name {name!r} of another profile in {answer.text[:300]}"
        return None

    def expect_ok(self, action: str, kind: str, answer: Answer) -> Outcome:
        bad = None
        if answer.status != 200 or answer.errors or not isinstance(answer.data, dict):
            bad = "expected success"
        return self.outcome(action, kind, answer, bad)

    def expect_code(self, action: str, answer: Answer, code: str) -> Outcome:
        bad = None
        if answer.status >= 500 or answer.body is None or not answer.codes:
            bad = f"expected {code}"
        elif set(answer.codes) != {code}:
            bad = f"expected only {code}, got {answer.codes}"
        return self.outcome(action, BAD, answer, bad)

    # --- good reads ----------------------------------------------------------------------

    async def list_projects(self) -> Outcome:
        answer = await self.ask(LIST, {"first": self.rng.choice([2, 5, 20])})
        page = (answer.data or {}).get("projects") or {}
        info = page.get("pageInfo") or {}
        if info.get("hasNextPage"):
            self.cursor = info.get("endCursor")
        return self.expect_ok("list", READ, answer)

    async def next_page(self) -> Outcome:
        answer = await self.ask(LIST, {"first": 2, "after": self.cursor})
        return self.expect_ok("next_page", READ, answer)

    async def get_project(self) -> Outcome:
        project_id = self.rng.choice(self.tenant.project_ids)
        answer = await self.ask(GET, {"id": project_id})
        outcome = self.expect_ok("get", READ, answer)
        got = ((answer.data or {}).get("project") or {}).get("id")
        if outcome.unexpected is None and got != project_id:
            outcome.unexpected = f"asked {project_id}, got {got}"
        return outcome

    async def current_profile(self) -> Outcome:
        answer = await self.ask(CURRENT)
        outcome = self.expect_ok("current_profile", READ, answer)
        got = ((answer.data or {}).get("currentProfile") or {}).get("id")
        if outcome.unexpected is None and got != self.tenant.profile_id:
            outcome.leak = f"currentProfile {got}, not {self.tenant.profile_id}"
        return outcome

    async def me(self) -> Outcome:
        answer = await self.ask(ME)
        outcome = self.expect_ok("me", READ, answer)
        me = (answer.data or {}).get("me") or {}
        listed = {p.get("id") for p in me.get("profiles") or []}
        if outcome.unexpected is None and (
            me.get("id") != self.tenant.user_id or listed != self.my_profiles
        ):
            outcome.leak = f"me answered {me}, not user {self.tenant.user_id}'s profiles"
        return outcome

    async def jobs(self) -> Outcome:
        return self.expect_ok("jobs", READ, await self.ask(JOBS))

    # --- good writes ---------------------------------------------------------------------

    async def create(self) -> Outcome:
        name = f"{self.tenant.marker}:load {self.index} {uuid.uuid4().hex[:8]}"
        answer = await self.ask(CREATE, {"input": {"name": name}})
        outcome = self.expect_ok("create", WRITE, answer)
        made = (answer.data or {}).get("createProject") or {}
        if outcome.unexpected is None:
            if made.get("name") != name:
                outcome.unexpected = f"created {name!r}, answered {made}"
            else:
                self.created.append(str(made["id"]))
        return outcome

    async def update(self) -> Outcome:
        project_id = self.rng.choice(self.tenant.project_ids)
        description = f"updated by client {self.index} at {time.monotonic():.3f}"
        answer = await self.ask(UPDATE, {"id": project_id, "input": {"description": description}})
        return self.expect_ok("update", WRITE, answer)

    async def delete(self) -> Outcome:
        if not self.created:
            return await self.create()
        project_id = self.created.pop(self.rng.randrange(len(self.created)))
        answer = await self.ask(DELETE, {"id": project_id})
        outcome = self.expect_ok("delete", WRITE, answer)
        if outcome.unexpected is None and (answer.data or {}).get("deleteProject") != project_id:
            outcome.unexpected = f"deleted {project_id}, answered {answer.data}"
        return outcome

    # --- bad traffic ---------------------------------------------------------------------

    async def bad_cursor(self) -> Outcome:
        # (An empty "after" is read as no cursor, not as a malformed one: not sent here.)
        cursor = self.rng.choice(["garbage", "\u00ff" * 10, "MTIz", "x" * 300])
        answer = await self.ask(LIST, {"first": 5, "after": cursor})
        return self.expect_code("bad_cursor", answer, "BAD_USER_INPUT")

    async def nested_bad_cursor(self) -> Outcome:
        answer = await self.ask(NESTED_BAD_CURSOR)
        return self.expect_code("nested_bad_cursor", answer, "BAD_USER_INPUT")

    async def nul_string(self) -> Outcome:
        name = f"{self.tenant.marker}:nul\u0000here"
        answer = await self.ask(CREATE, {"input": {"name": name}})
        return self.expect_code("nul_string", answer, "BAD_USER_INPUT")

    async def lone_surrogate(self) -> Outcome:
        # Sent as the JSON escape "\ud800" (tests/robustness/client.py).
        answer = await self.ask(
            UPDATE,
            {"id": self.tenant.project_ids[0], "input": {"description": "half \ud800 a pair"}},
        )
        return self.expect_code("lone_surrogate", answer, "BAD_USER_INPUT")

    async def foreign_id(self) -> Outcome:
        answer = await self.ask(GET, {"id": self.rng.choice(self.foreign_projects)})
        return self.expect_code("foreign_id", answer, "NOT_FOUND")

    async def foreign_write(self) -> Outcome:
        project_id = self.rng.choice(self.foreign_projects)
        if self.rng.random() < 0.5:
            answer = await self.ask(DELETE, {"id": project_id})
        else:
            answer = await self.ask(
                UPDATE, {"id": project_id, "input": {"name": f"{self.tenant.marker}:stolen"}}
            )
        return self.expect_code("foreign_write", answer, "NOT_FOUND")

    async def malformed_id(self) -> Outcome:
        bad_id = self.rng.choice(["garbage", "", "1", str(uuid.uuid4())[:-1], "' OR 1=1 --"])
        answer = await self.ask(GET, {"id": bad_id})
        return self.expect_code("malformed_id", answer, "NOT_FOUND")

    async def forged_token(self) -> Outcome:
        headers = {"Authorization": f"Bearer {self.rng.choice(self.forged)}"}
        if self.explicit:
            headers["X-Profile-Id"] = self.tenant.profile_id
        answer = await self.ask(self.rng.choice([LIST, CURRENT, ME]), headers=headers)
        return self.expect_code("forged_token", answer, "UNAUTHENTICATED")

    async def other_users_profile(self) -> Outcome:
        headers = bearer(self.tenant.token, self.rng.choice(self.other_users_profiles))
        answer = await self.ask(self.rng.choice([LIST, CURRENT, JOBS]), headers=headers)
        return self.expect_code("other_users_profile", answer, "FORBIDDEN")

    async def malformed_profile_header(self) -> Outcome:
        header = self.rng.choice(["not-a-uuid", "", str(uuid.uuid4()), "null", "1 OR 1=1"])
        headers = {"Authorization": f"Bearer {self.tenant.token}", "X-Profile-Id": header}
        if header == "":
            # An empty header is no header: the default profile, a good read.
            answer = await self.ask(CURRENT, headers=headers)
            return self.expect_ok("malformed_profile_header", BAD, answer)
        answer = await self.ask(CURRENT, headers=headers)
        return self.expect_code("malformed_profile_header", answer, "NOT_FOUND")

    async def run(self, deadline: float, report: LoadReport) -> None:
        while time.monotonic() < deadline:
            _, _, action = self.rng.choice(self.actions)
            report.outcomes.append(await action())


def _project_names(data: Any) -> list[str]:
    """Names of projects in an answer (nodes of ``projects``, ``project``, mutations)."""
    names: list[str] = []
    if not isinstance(data, dict):
        return names
    for node in [
        *[e.get("node") for e in ((data.get("projects") or {}).get("edges") or [])],
        data.get("project"),
        data.get("createProject"),
        data.get("updateProject"),
    ]:
        if isinstance(node, dict) and isinstance(node.get("name"), str):
            names.append(node["name"])
    return names


async def run_load(
    base_url: str,
    world: World,
    *,
    clients: int,
    seconds: float,
    base_seed: int,
    jwt_secret: str,
) -> LoadReport:
    """``clients`` concurrent clients (each its own connection) for ``seconds``;
    ``jwt_secret`` is the server's (for tokens that are well signed but still refused)."""
    report = LoadReport(seconds=seconds, clients=clients)
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base_url, timeout=30, limits=limits) as http:
        workers = [
            LoadClient(
                i,
                world.tenants[i % len(world.tenants)],
                world,
                http,
                seed=base_seed + i,
                secret=jwt_secret,
            )
            for i in range(clients)
        ]
        started = time.monotonic()
        await asyncio.gather(*(w.run(started + seconds, report) for w in workers))
        report.seconds = time.monotonic() - started
    return report
