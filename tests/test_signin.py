"""Member sign-in (issue 18): OpenID Connect tokens, built-in sessions, roles.

Every test goes through the HTTP API of an app built as deployed (the credential cache on
at 5 s) against real PostgreSQL, and every OIDC token is checked by the real verifier
against a real provider on 127.0.0.1 (``tests/oidc_provider.py``). Time never passes by
sleeping: the app's clock is the ``clock`` fixture (token times) and one fake monotonic
timer drives both the credential cache and the key-set cache (``timer``). Names never
reach a real resolver: the only resolver the app gets is ``names``, which answers the
names a test gave it and fails the test on any other.
"""

from __future__ import annotations

import base64
import functools
import json
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
import jwt
import pytest
from sqlalchemy import text

from app.clock import FrozenClock
from app.db import Database
from app.main import create_app
from app.services.platform import auth
from app.services.platform.oidc import IdentityProviders
from app.services.platform.sessions import AUDIENCE as SESSION_AUDIENCE
from app.services.platform.sessions import ISSUER as SESSION_ISSUER
from app.state import AppState
from tests.conftest import Tenant, make_settings, make_tenant
from tests.oidc_provider import DEFAULT_AUDIENCE, OidcProvider, SigningKey, new_key, running

A_EMAIL, B_EMAIL, ADMIN_EMAIL = "a@example.com", "b@example.com", "boss@example.com"
SESSION_KEY = "test-only session signing key, 32+ bytes long"  # make_settings'
LEEWAY = timedelta(seconds=60)  # the settings' default oidc_leeway_seconds
PROBLEM = "application/problem+json"


class FakeTimer:
    """The monotonic time of the credential cache and of the key-set cache."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Names:
    """The only DNS the app gets: names a test maps to addresses; any other name fails
    the test, so nothing can resolve (let alone reach) an outside host."""

    def __init__(self) -> None:
        self.answers: dict[str, list[str]] = {}
        self.calls: list[str] = []

    async def __call__(self, host: str, port: int) -> list[str]:
        self.calls.append(host)
        if host not in self.answers:
            raise AssertionError(f"a test tried to resolve {host!r}")
        return self.answers[host]


@pytest.fixture
def timer() -> FakeTimer:
    return FakeTimer()


@pytest.fixture
def names(monkeypatch: pytest.MonkeyPatch, timer: FakeTimer) -> Names:
    """Every app built from now on: its resolver and providers use ``timer`` and ``names``
    (the app's own wiring, ``credential_resolver(settings)``, is otherwise unchanged)."""
    fake = Names()
    monkeypatch.setattr(
        auth, "CredentialResolver", functools.partial(auth.CredentialResolver, timer=timer)
    )
    monkeypatch.setattr(
        auth, "IdentityProviders", functools.partial(IdentityProviders, timer=timer, resolver=fake)
    )
    return fake


@asynccontextmanager
async def app_client(
    db: Database, clock: FrozenClock, **overrides: object
) -> AsyncIterator[httpx.AsyncClient]:
    """The app as deployed (credential cache 5 s), with test settings ``overrides``."""
    settings = make_settings(**{"api_key_cache_seconds": 5.0, **overrides})
    app = create_app(settings, database=db, clock=clock)
    state: AppState = app.state.rapport
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://rapport.test") as c:
            yield c
    finally:
        await state.keys.close()  # the lifespan would; ASGITransport runs none


@pytest.fixture
async def api(db: Database, clock: FrozenClock, names: Names) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(db, clock) as client:
        yield client


@pytest.fixture
def idp() -> Iterator[OidcProvider]:
    with running() as provider:
        yield provider


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_problem(response: httpx.Response, status: int) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["status"] == status


async def add_member(
    api: httpx.AsyncClient, tenant: Tenant, email: str, role: str = "agent"
) -> str:
    body = {"name": email.split("@")[0].title(), "email": email, "role": role}
    response = await api.post("/v1/members", json=body, headers=tenant.headers)
    assert response.status_code == 201, response.text
    member_id: str = response.json()["id"]
    return member_id


async def register(
    api: httpx.AsyncClient, tenant: Tenant, issuer: str, **body: str
) -> httpx.Response:
    payload = {"issuer": issuer, "audience": DEFAULT_AUDIENCE, **body}
    return await api.put("/v1/workspace/identity-provider", json=payload, headers=tenant.headers)


async def new_key_of(api: httpx.AsyncClient, tenant: Tenant, **body: Any) -> str:
    response = await api.post("/v1/api-keys", json={"name": "k", **body}, headers=tenant.headers)
    assert response.status_code == 201, response.text
    key: str = response.json()["key"]
    return key


@dataclass
class Team:
    """A workspace with the local provider registered and three members: agents A and B
    and an admin; ``token`` mints the provider's tokens at the app's current time."""

    api: httpx.AsyncClient
    idp: OidcProvider
    tenant: Tenant
    clock: FrozenClock
    timer: FakeTimer
    a: str
    b: str
    admin: str

    def token(
        self,
        email: str | None = A_EMAIL,
        *,
        key: SigningKey | str | None = None,
        headers: dict[str, Any] | None = None,
        **claims: Any,
    ) -> str:
        payload = self.idp.claims(at=self.clock.now(), email=email, **claims)
        return self.idp.mint(payload, key=key, headers=headers)

    async def me(self, token: str) -> httpx.Response:
        return await self.api.get("/v1/me", headers=bearer(token))

    async def session_for(self, member_id: str) -> dict[str, Any]:
        response = await self.api.post(
            f"/v1/members/{member_id}/sessions", headers=self.tenant.headers
        )
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created


@pytest.fixture
async def team(
    api: httpx.AsyncClient, idp: OidcProvider, tenant: Tenant, clock: FrozenClock, timer: FakeTimer
) -> Team:
    a = await add_member(api, tenant, A_EMAIL)
    b = await add_member(api, tenant, B_EMAIL)
    admin = await add_member(api, tenant, ADMIN_EMAIL, role="admin")
    registered = await register(api, tenant, idp.issuer)
    assert registered.status_code == 200, registered.text
    return Team(api, idp, tenant, clock, timer, a, b, admin)


# -- signing in with the provider's tokens -------------------------------------------------


async def test_a_member_token_reads_the_members_contacts_and_says_who_it_is(
    team: Team,
) -> None:
    """The first promise of issue 18: a browser app holding only the provider's token calls
    Rapport as member A (the claim ``email`` names A), and ``/v1/me`` tells it who that is."""
    created = await team.api.post(
        "/v1/contacts",
        json={"first_name": "Ada", "owner_id": team.a},
        headers=team.tenant.headers,
    )
    assert created.status_code == 201, created.text
    token = team.token(A_EMAIL)
    listed = await team.api.get("/v1/contacts", headers=bearer(token))
    assert listed.status_code == 200, listed.text
    assert [c["id"] for c in listed.json()["data"]] == [created.json()["id"]]
    one = await team.api.get(f"/v1/contacts/{created.json()['id']}", headers=bearer(token))
    assert one.status_code == 200
    me = (await team.me(token)).json()
    assert me["member"]["id"] == team.a
    assert me["member"]["email"] == A_EMAIL
    assert me["role"] == "agent"
    assert me["actor"] == {"type": "member", "id": team.a, "name": "A"}
    assert me["scopes"] == ["read", "write"]


async def test_registration_reads_discovery_and_keys_once_and_later_tokens_use_the_cache(
    team: Team,
) -> None:
    """The PUT fetched both documents (so a bad issuer fails there); tokens verified
    afterwards, within the JWKS's max-age, cost no request to the provider."""
    assert team.idp.fetches(team.idp.discovery_path) == 1
    assert team.idp.jwks_fetches == 1
    shown = await team.api.get("/v1/workspace/identity-provider", headers=team.tenant.headers)
    assert shown.json() == {
        "issuer": team.idp.issuer,
        "audience": DEFAULT_AUDIENCE,
        "member_claim": "email",
        "unknown_members": "refuse",
    }
    for email in (A_EMAIL, B_EMAIL, A_EMAIL):
        assert (await team.me(team.token(email))).status_code == 200
    assert team.idp.total_requests == 2


@pytest.mark.parametrize("algorithm", ["ES256", "EdDSA"])
async def test_ec_and_eddsa_keys_sign_members_in_too(team: Team, algorithm: Any) -> None:
    """The three accepted algorithms all verify: ES256 (P-256) and EdDSA (Ed25519) besides
    the RS256 of the other tests."""
    team.idp.add_key("other", algorithm)
    team.timer.advance(61)  # past the refresh limit: the new kid may be fetched
    response = await team.me(team.token(A_EMAIL, key="other"))
    assert response.status_code == 200, response.text


async def test_an_issuer_without_a_usable_discovery_document_is_422_naming_issuer(
    api: httpx.AsyncClient, idp: OidcProvider, tenant: Tenant
) -> None:
    """A typo in the issuer fails at registration, not at every member's sign-in."""
    response = await register(api, tenant, idp.issuer + "/realms/typo")
    assert_problem(response, 422)
    assert response.json()["errors"][0]["loc"] == ["body", "issuer"]
    assert idp.fetches("/realms/typo/.well-known/openid-configuration") == 1
    missing = await api.get("/v1/workspace/identity-provider", headers=tenant.headers)
    assert missing.status_code == 404


async def test_two_workspaces_cannot_share_an_issuer_and_audience(
    team: Team, other_tenant: Tenant
) -> None:
    """A token names its workspace by issuer and audience, so the pair is one workspace's."""
    response = await register(team.api, other_tenant, team.idp.issuer)
    assert_problem(response, 409)


# -- key rotation --------------------------------------------------------------------------


async def test_a_rotated_in_key_is_accepted_on_its_first_request(team: Team) -> None:
    """An unknown ``kid`` makes the key set be fetched again (a minute after the last
    fetch), so the provider's new key works on its very first token, then from the cache."""
    assert (await team.me(team.token(A_EMAIL))).status_code == 200
    team.idp.add_key("k2", "ES256")
    team.timer.advance(61)  # a minute after the last fetch, well within the max-age
    fetched = team.idp.jwks_fetches
    response = await team.me(team.token(A_EMAIL, key="k2"))
    assert response.status_code == 200, response.text
    assert team.idp.jwks_fetches == fetched + 1
    assert (await team.me(team.token(B_EMAIL, key="k2"))).status_code == 200
    assert team.idp.jwks_fetches == fetched + 1  # and cached from then on


async def test_a_withdrawn_key_is_refused_once_the_cached_key_set_is_refreshed(
    team: Team,
) -> None:
    """A rotation end to end: ``k2`` is published and used, then ``k1`` withdrawn. A token
    signed by ``k1`` lasts only as long as the cached key set (the JWKS's ``max-age``,
    300 s); the next fetch no longer has ``k1`` and the token is refused for good."""
    k1_token = team.token(A_EMAIL, key="k1", lifetime=timedelta(hours=1))
    assert (await team.me(k1_token)).status_code == 200
    team.idp.add_key("k2", "ES256")
    team.timer.advance(61)
    assert (await team.me(team.token(A_EMAIL, key="k2"))).status_code == 200
    team.idp.remove_key("k1")
    team.timer.advance(10)  # past the credential cache, within the key set's max-age
    assert (await team.me(k1_token)).status_code == 200
    fetched = team.idp.jwks_fetches
    team.timer.advance(300)  # the set fetched at +61 s is stale now
    refused = await team.me(k1_token)
    assert_problem(refused, 401)
    assert "signing key" in refused.json()["detail"]
    assert team.idp.jwks_fetches == fetched + 1
    assert (await team.me(team.token(A_EMAIL, key="k2", jti="after"))).status_code == 200


async def test_unknown_kids_make_the_key_set_be_fetched_at_most_once_a_minute(
    team: Team,
) -> None:
    """A flood of tokens naming made-up kids must not turn Rapport into a client
    hammering the provider."""
    stranger = new_key("made-up")
    fetched = team.idp.jwks_fetches
    team.timer.advance(61)
    for _ in range(5):
        assert_problem(await team.me(team.token(A_EMAIL, key=stranger)), 401)
        team.timer.advance(5)
    assert team.idp.jwks_fetches == fetched + 1
    team.timer.advance(60)
    assert_problem(await team.me(team.token(A_EMAIL, key=stranger)), 401)
    assert team.idp.jwks_fetches == fetched + 2


async def test_the_key_set_is_cached_as_long_as_its_cache_control_says(
    api: httpx.AsyncClient, tenant: Tenant, clock: FrozenClock, timer: FakeTimer
) -> None:
    """``Cache-Control: max-age=120`` keeps the key set 120 s, no more (not the 300 s default):
    the provider decides how long its keys may be trusted without asking again."""
    with running(max_age=120) as idp:
        await add_member(api, tenant, A_EMAIL)
        assert (await register(api, tenant, idp.issuer)).status_code == 200
        for step in (0, 60, 59):  # 119 s after the registration's fetch
            timer.advance(step)
            token = idp.mint(idp.claims(at=clock.now(), email=A_EMAIL, jti=str(step)))
            assert (await api.get("/v1/me", headers=bearer(token))).status_code == 200
        assert idp.jwks_fetches == 1
        timer.advance(2)
        token = idp.mint(idp.claims(at=clock.now(), email=A_EMAIL, jti="late"))
        assert (await api.get("/v1/me", headers=bearer(token))).status_code == 200
        assert idp.jwks_fetches == 2


async def test_encryption_keys_in_the_key_set_neither_break_sign_in_nor_verify_tokens(
    team: Team,
) -> None:
    """Keycloak publishes an RSA-OAEP encryption key next to its signing keys: the set must
    stay usable, and a key marked ``use: enc`` verifies no signature (RFC 7517 4.2), even
    when its JWK names no algorithm (the key type alone would say RS256)."""
    team.idp.add_key("enc-oaep", use="enc", jwk_alg="RSA-OAEP")
    team.idp.add_key("enc-bare", use="enc", with_alg=False)
    team.timer.advance(301)  # the cached set is stale: the next token refetches it
    assert (await team.me(team.token(A_EMAIL))).status_code == 200
    assert team.idp.jwks_fetches == 2
    assert_problem(await team.me(team.token(A_EMAIL, key="enc-bare")), 401)


async def test_a_provider_outage_is_unnoticed_while_cached_then_answers_503(
    team: Team,
) -> None:
    """Tokens keep working from the cached documents; once they are stale and the
    provider cannot be reached, tokens cannot be checked: 503 (try again), not 401 (which
    would sign the person out) nor a 500."""
    team.idp.stop()
    team.timer.advance(200)
    assert (await team.me(team.token(A_EMAIL))).status_code == 200
    team.timer.advance(101)
    refused = await team.me(team.token(A_EMAIL, jti="after the max-age"))
    assert_problem(refused, 503)
    assert "could not be reached" in refused.json()["detail"]


# -- tokens that must be refused -----------------------------------------------------------

Forge = Callable[[Team], str]


def _tampered(team: Team) -> str:
    """A's real token with its claims swapped for B's after signing."""
    header, _payload, signature = team.token(A_EMAIL).split(".")
    claims = team.idp.claims(at=team.clock.now(), email=B_EMAIL)
    payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{header}.{payload}.{signature}"


def _flipped_signature(team: Team) -> str:
    token = team.token(A_EMAIL)
    head, _, signature = token.rpartition(".")
    raw = bytearray(base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4)))
    raw[len(raw) // 2] ^= 0x01
    return f"{head}.{base64.urlsafe_b64encode(bytes(raw)).rstrip(b'=').decode()}"


FORGERIES: dict[str, Forge] = {
    "expired": lambda t: t.token(
        exp=int((t.clock.now() - LEEWAY - timedelta(seconds=1)).timestamp())
    ),
    "no exp": lambda t: t.token(exp=None),
    "nbf in the future": lambda t: t.token(
        nbf=int((t.clock.now() + timedelta(minutes=5)).timestamp())
    ),
    "iat in the future": lambda t: t.token(
        iat=int((t.clock.now() + timedelta(minutes=5)).timestamp())
    ),
    "wrong audience": lambda t: t.token(audience="someone-else"),
    "no audience": lambda t: t.token(aud=None),
    "wrong issuer": lambda t: t.token(iss=t.idp.issuer + "/elsewhere"),
    "no issuer": lambda t: t.token(iss=None),
    "alg none": lambda t: t.idp.mint_unsigned(t.idp.claims(at=t.clock.now()), kid="k1"),
    "HS256 with the public key": lambda t: t.idp.mint_hs256_with_public_key(
        t.idp.claims(at=t.clock.now()), t.idp.key("k1")
    ),
    "claims changed after signing": _tampered,
    "bad signature": _flipped_signature,
    "an outsider's key under the provider's kid": lambda t: t.token(key=new_key("k1")),
    "an ES256 token naming the RSA key's kid": lambda t: t.token(key=new_key("k1", "ES256")),
    "no member claim": lambda t: t.token(email=None),
    "not a JWT": lambda t: "not.a.jwt",
}


@pytest.mark.parametrize("forge", FORGERIES.values(), ids=FORGERIES.keys())
async def test_invalid_and_forged_tokens_are_401_problems(team: Team, forge: Forge) -> None:
    """Each way a token can be wrong or forged is refused with a 401 problem document, on
    the lean contact route as on ``/v1/me``; the genuine token works first, so the
    refusal is the forgery's, not the setup's."""
    assert (await team.me(team.token(A_EMAIL))).status_code == 200  # the control
    team.timer.advance(61)  # an unknown kid may refetch: the refusal is not the limiter's
    for path in ("/v1/me", "/v1/contacts"):
        response = await team.api.get(path, headers=bearer(forge(team)))
        assert_problem(response, 401)
        assert response.headers["www-authenticate"] == "Bearer"


async def test_expiry_allows_the_leeway_and_no_more(team: Team) -> None:
    """``exp`` is checked against the app's clock with 60 s of leeway for clocks apart."""
    token = team.token(A_EMAIL, exp=int(team.clock.now().timestamp()))
    team.clock.advance(LEEWAY - timedelta(seconds=1))
    assert (await team.me(token)).status_code == 200
    team.clock.advance(timedelta(seconds=2))  # no cache outlives the token's own exp
    assert_problem(await team.me(token), 401)


async def test_a_token_relabelled_for_another_workspaces_issuer_is_refused(
    team: Team, other_tenant: Tenant
) -> None:
    """Workspace 2's provider is another issuer; a token signed by provider 1 but naming
    issuer 2 is checked against issuer 2's keys, which did not sign it."""
    with running(keys=(("k1", "RS256"),)) as second:
        await add_member(team.api, other_tenant, A_EMAIL)
        assert (await register(team.api, other_tenant, second.issuer)).status_code == 200
        genuine = second.mint(second.claims(at=team.clock.now(), email=A_EMAIL))
        me = (await team.me(genuine)).json()
        assert me["workspace_id"] == str(other_tenant.id)
        team.timer.advance(61)
        relabelled = team.token(A_EMAIL, iss=second.issuer)
        assert_problem(await team.me(relabelled), 401)


# -- people the workspace does not know ----------------------------------------------------


async def test_an_unknown_person_is_refused_when_the_workspace_says_refuse(team: Team) -> None:
    """By default the provider vouching for someone does not make them a member."""
    response = await team.me(team.token("stranger@example.com"))
    assert_problem(response, 401)
    members = await team.api.get("/v1/members", headers=team.tenant.headers)
    assert "stranger@example.com" not in {m["email"] for m in members.json()["data"]}


async def test_an_unknown_person_joins_as_an_agent_when_the_workspace_says_create(
    committed_db: Database, clock: FrozenClock, names: Names, idp: OidcProvider
) -> None:
    """The first sign-in is a GET (``/v1/me``) yet writes the member: on the resolver's
    own write connection. Run on a database with real read and write pools (as deployed;
    the shared test connection would nest that write in the GET's read-only savepoint)."""
    tenant = await make_tenant(committed_db)
    async with app_client(committed_db, clock) as api:
        registered = await register(api, tenant, idp.issuer, unknown_members="create")
        assert registered.json()["unknown_members"] == "create"

        def token(email: str, **claims: Any) -> str:
            return idp.mint(idp.claims(at=clock.now(), email=email, **claims))

        first = await api.get(
            "/v1/me", headers=bearer(token("New.Person@example.com", name="New Person"))
        )
        assert first.status_code == 200, first.text
        me = first.json()
        assert me["role"] == "agent"
        assert me["member"]["name"] == "New Person"
        again = await api.get("/v1/me", headers=bearer(token("new.person@example.com")))
        assert again.json()["member"]["id"] == me["member"]["id"]  # one member, not two
        members = await api.get("/v1/members", headers=tenant.headers)
        listed = [m for m in members.json()["data"] if m["id"] == me["member"]["id"]]
        assert [(m["role"], m["active"]) for m in listed] == [("agent", True)]
        contacts = await api.get(
            "/v1/contacts", headers=bearer(token("new.person@example.com", jti="x"))
        )
        assert contacts.status_code == 200
        log = await api.get(
            "/v1/audit-log", params={"resource_id": me["member"]["id"]}, headers=tenant.headers
        )
        joined = log.json()["data"]
        assert [e["action"] for e in joined] == ["member.created"]
        assert joined[0]["actor"]["name"] == "identity provider sign-in"
        unverified = token("someone.else@example.com", email_verified=False)
        assert_problem(await api.get("/v1/me", headers=bearer(unverified)), 401)


# -- removed and deactivated members -------------------------------------------------------


async def _credential(team: Team, kind: str, member_id: str, email: str) -> str:
    if kind == "oidc":
        return team.token(email, lifetime=timedelta(hours=1))
    if kind == "session":
        token: str = (await team.session_for(member_id))["token"]
        return token
    return await new_key_of(team.api, team.tenant, member_id=member_id)


@pytest.mark.parametrize("kind", ["oidc", "session", "bound key"])
@pytest.mark.parametrize("action", ["delete", "deactivate"])
async def test_a_removed_or_deactivated_members_credential_is_401_even_just_after_use(
    team: Team, kind: str, action: str
) -> None:
    """The credential was used a moment ago, so this replica holds it in its 5 s cache;
    removal and deactivation must still take effect at once here."""
    credential = await _credential(team, kind, team.a, A_EMAIL)
    assert (await team.me(credential)).status_code == 200
    url = f"/v1/members/{team.a}"
    if action == "delete":
        done = await team.api.delete(url, headers=team.tenant.headers)
        assert done.status_code == 204
    else:
        done = await team.api.patch(url, json={"active": False}, headers=team.tenant.headers)
        assert done.status_code == 200, done.text
    response = await team.api.get("/v1/contacts", headers=bearer(credential))
    assert_problem(response, 401)
    assert (await team.me(await _credential(team, "oidc", team.b, B_EMAIL))).status_code == 200


async def test_a_role_change_applies_to_a_cached_token_at_once(team: Team) -> None:
    """A promotion reaches a token this replica has cached, on the very next request."""
    token = team.token(A_EMAIL)
    assert_problem(await team.api.get("/v1/api-keys", headers=bearer(token)), 403)
    promoted = await team.api.patch(
        f"/v1/members/{team.a}", json={"role": "admin"}, headers=team.tenant.headers
    )
    assert promoted.status_code == 200
    assert (await team.api.get("/v1/api-keys", headers=bearer(token))).status_code == 200


async def test_removing_the_identity_provider_stops_its_tokens(team: Team) -> None:
    """Within the credential cache's 5 s (the documented promise for this replica too)."""
    token = team.token(A_EMAIL)
    assert (await team.me(token)).status_code == 200
    removed = await team.api.delete("/v1/workspace/identity-provider", headers=team.tenant.headers)
    assert removed.status_code == 204
    team.timer.advance(5.01)
    assert_problem(await team.me(token), 401)
    assert_problem(await team.me(team.token(A_EMAIL, jti="fresh")), 401)


# -- built-in sessions ---------------------------------------------------------------------


async def test_a_session_token_works_until_expires_at_and_not_after(team: Team) -> None:
    """A built-in session lasts exactly until the ``expires_at`` its mint answered (the
    clock moves, nothing sleeps): the front end can trust that time to sign in again."""
    minted_at = team.clock.now()
    created = await team.session_for(team.a)
    assert created["member_id"] == team.a
    expires_at = datetime.fromisoformat(created["expires_at"])
    assert expires_at == minted_at + timedelta(minutes=60)  # RAPPORT_SESSION_MINUTES
    token = created["token"]
    me = await team.me(token)
    assert me.json()["member"]["id"] == team.a
    assert me.json()["actor"]["type"] == "member"
    team.clock.set(expires_at - timedelta(seconds=1))
    assert (await team.api.get("/v1/contacts", headers=bearer(token))).status_code == 200
    team.clock.set(expires_at + timedelta(seconds=1))
    assert_problem(await team.api.get("/v1/contacts", headers=bearer(token)), 401)


async def test_only_an_admin_credential_mints_sessions(team: Team) -> None:
    """Minting a session is acting as anyone: only ``admin`` may (a key or a member)."""
    url = f"/v1/members/{team.b}/sessions"
    read_write = await new_key_of(team.api, team.tenant, scopes=["read", "write"])
    for credential in (read_write, team.token(A_EMAIL)):
        assert_problem(await team.api.post(url, headers=bearer(credential)), 403)
    as_admin = await team.api.post(url, headers=bearer(team.token(ADMIN_EMAIL)))
    assert as_admin.status_code == 201, as_admin.text


async def test_no_session_for_an_inactive_member_or_another_workspaces(
    team: Team, other_tenant: Tenant
) -> None:
    """An inactive member gets no session (422); another workspace's member does not exist
    for this key (404)."""
    await team.api.patch(
        f"/v1/members/{team.b}", json={"active": False}, headers=team.tenant.headers
    )
    inactive = await team.api.post(f"/v1/members/{team.b}/sessions", headers=team.tenant.headers)
    assert_problem(inactive, 422)
    theirs = await team.api.post(f"/v1/members/{team.a}/sessions", headers=other_tenant.headers)
    assert_problem(theirs, 404)


async def test_a_session_token_reads_nothing_of_another_workspace(
    team: Team, other_tenant: Tenant
) -> None:
    """A member token is bound to its workspace like an API key: another's records are 404
    and its lists show nothing of them."""
    contact = await team.api.post(
        "/v1/contacts", json={"first_name": "Theirs"}, headers=other_tenant.headers
    )
    their_member = await add_member(team.api, other_tenant, "c@example.com")
    token = (await team.session_for(team.a))["token"]
    h = bearer(token)
    assert (
        await team.api.get(f"/v1/contacts/{contact.json()['id']}", headers=h)
    ).status_code == 404
    assert (await team.api.get(f"/v1/members/{their_member}", headers=h)).status_code == 404
    assert (await team.api.get("/v1/contacts", headers=h)).json()["data"] == []
    listed = (await team.api.get("/v1/members", headers=h)).json()["data"]
    assert their_member not in {m["id"] for m in listed}


async def test_a_session_token_naming_another_workspace_is_refused(
    team: Team, other_tenant: Tenant
) -> None:
    """Even signed with the real key: member A is not a member of workspace 2."""
    now = int(team.clock.now().timestamp())
    claims = {
        "iss": SESSION_ISSUER,
        "aud": SESSION_AUDIENCE,
        "sub": team.a,
        "ws": str(other_tenant.id),
        "iat": now,
        "exp": now + 600,
    }
    token = jwt.encode(claims, SESSION_KEY, algorithm="HS256")
    assert_problem(await team.me(token), 401)
    genuine = jwt.encode({**claims, "ws": str(team.tenant.id)}, SESSION_KEY, algorithm="HS256")
    assert (await team.me(genuine)).status_code == 200  # the control: only `ws` differs


async def test_forged_session_tokens_are_refused(team: Team) -> None:
    """A session token signed with a guessed key, unsigned, or meant for another audience."""
    now = int(team.clock.now().timestamp())
    claims = {
        "iss": SESSION_ISSUER,
        "aud": SESSION_AUDIENCE,
        "sub": team.admin,
        "ws": str(team.tenant.id),
        "iat": now,
        "exp": now + 600,
    }
    forged = (
        jwt.encode(claims, "a guessed key that is long enough to pass", algorithm="HS256"),
        OidcProvider.mint_unsigned(claims),
        jwt.encode({**claims, "aud": DEFAULT_AUDIENCE}, SESSION_KEY, algorithm="HS256"),
    )
    for token in forged:
        assert_problem(await team.me(token), 401)


# -- roles ---------------------------------------------------------------------------------

ADMIN_OPERATIONS: list[tuple[str, str, dict[str, Any] | None]] = [
    ("POST", "/v1/api-keys", {"name": "mine", "scopes": ["read", "write", "admin"]}),
    ("GET", "/v1/api-keys", None),
    ("PUT", "/v1/workspace/identity-provider", {"issuer": "http://127.0.0.1:9/x", "audience": "x"}),
    ("GET", "/v1/workspace/identity-provider", None),
    ("DELETE", "/v1/workspace/identity-provider", None),
    ("POST", "/v1/members", {"name": "Mallory", "email": "mallory@example.com", "role": "admin"}),
    ("PATCH", "/v1/members/{a}", {"role": "admin"}),
    ("DELETE", "/v1/members/{b}", None),
    ("POST", "/v1/members/{a}/sessions", None),
    ("PATCH", "/v1/workspace", {"visibility": "team"}),
]


@pytest.mark.parametrize(
    ("method", "path", "body"), ADMIN_OPERATIONS, ids=[f"{m} {p}" for m, p, _ in ADMIN_OPERATIONS]
)
async def test_an_agent_token_cannot_call_admin_operations(
    team: Team, method: str, path: str, body: dict[str, Any] | None
) -> None:
    """An agent must not manage the workspace: not mint keys or sessions, not register a
    provider, not add, promote or remove members (itself included), with an OIDC token
    or a built-in session alike; the refusal is a 403 problem naming the role."""
    url = path.format(a=team.a, b=team.b)
    for credential in (team.token(A_EMAIL), (await team.session_for(team.a))["token"]):
        response = await team.api.request(method, url, json=body, headers=bearer(credential))
        assert_problem(response, 403)
        assert "agent" in response.json()["detail"]
    admin = team.tenant.headers  # and nothing changed:
    assert (await team.api.get(f"/v1/members/{team.a}", headers=admin)).json()["role"] == "agent"
    assert (await team.api.get(f"/v1/members/{team.b}", headers=admin)).status_code == 200
    provider = await team.api.get("/v1/workspace/identity-provider", headers=admin)
    assert provider.json()["issuer"] == team.idp.issuer
    keys = (await team.api.get("/v1/api-keys", headers=admin)).json()["data"]
    assert len(keys) == 1  # the workspace's own key only


async def test_an_admin_token_can_call_admin_operations(team: Team) -> None:
    """The control of the test above: a member with the ``admin`` role manages the workspace."""
    h = bearer(team.token(ADMIN_EMAIL))
    member = {"name": "C", "email": "c@example.com"}
    assert (await team.api.post("/v1/members", json=member, headers=h)).status_code == 201
    key = await team.api.post("/v1/api-keys", json={"name": "ops"}, headers=h)
    assert key.status_code == 201
    session = await team.api.post(f"/v1/members/{team.a}/sessions", headers=h)
    assert session.status_code == 201
    shown = await team.api.get("/v1/workspace/identity-provider", headers=h)
    assert shown.json()["issuer"] == team.idp.issuer
    again = await team.api.put(
        "/v1/workspace/identity-provider",
        json={"issuer": team.idp.issuer, "audience": DEFAULT_AUDIENCE, "unknown_members": "create"},
        headers=h,
    )
    assert again.status_code == 200, again.text
    me = (await team.me(team.token(ADMIN_EMAIL))).json()
    assert (me["role"], me["scopes"]) == ("admin", ["admin", "read", "write"])


async def test_a_key_bound_to_a_member_acts_as_that_member_within_the_role(team: Team) -> None:
    """A key bound to agent A is A (actor, member, role), and its ``admin`` scope is cut to
    what the role grants; an unbound key stays the workspace's key."""
    key = await new_key_of(
        team.api, team.tenant, member_id=team.a, scopes=["read", "write", "admin"]
    )
    me = (await team.me(key)).json()
    assert me["member"]["id"] == team.a
    assert me["actor"]["type"] == "member"
    assert me["actor"]["id"] == team.a
    assert (me["role"], me["scopes"]) == ("agent", ["read", "write"])  # no admin: the role's
    assert_problem(
        await team.api.post("/v1/api-keys", json={"name": "x"}, headers=bearer(key)), 403
    )
    plain = (await team.me(team.tenant.key)).json()
    assert (plain["member"], plain["actor"]["type"]) == (None, "api_key")


async def test_a_calendar_token_needs_read_as_well_as_write(team: Team) -> None:
    """The feed token reads the member's touches: a write-only key must not mint one."""
    url = f"/v1/members/{team.a}/calendar-token"
    for scopes in (["write"], ["read"]):
        key = await new_key_of(team.api, team.tenant, scopes=scopes)
        assert_problem(await team.api.post(url, headers=bearer(key)), 403)
    both = await new_key_of(team.api, team.tenant, scopes=["read", "write"])
    assert (await team.api.post(url, headers=bearer(both))).status_code == 201


async def test_an_agent_mints_only_their_own_calendar_token(team: Team) -> None:
    """Minting revokes the member's previous token: another agent must not be able to
    (under ``team`` visibility too); an admin may."""
    a_session = (await team.session_for(team.a))["token"]
    own = await team.api.post(f"/v1/members/{team.a}/calendar-token", headers=bearer(a_session))
    assert own.status_code == 201, own.text
    other = f"/v1/members/{team.b}/calendar-token"
    assert_problem(await team.api.post(other, headers=bearer(a_session)), 403)
    admin_session = (await team.session_for(team.admin))["token"]
    assert (await team.api.post(other, headers=bearer(admin_session))).status_code == 201


# -- the SSRF guard on the issuer ----------------------------------------------------------

IDP_HOST = "idp.example.test"


@pytest.mark.parametrize("address", ["127.0.0.1", "::1", "::ffff:127.0.0.1"])
async def test_an_issuer_resolving_to_a_private_address_is_refused_before_connecting(
    db: Database, clock: FrozenClock, names: Names, tenant: Tenant, address: str
) -> None:
    """The issuer is a tenant's input: under the production guard, a name that resolves
    into the private network is refused, and the provider listening there never hears
    of it (the name resolves to where the provider really runs)."""
    with running(host=IDP_HOST) as idp:
        names.answers[IDP_HOST] = [address]
        async with app_client(db, clock, oidc_allow_private_networks=False) as api:
            response = await register(api, tenant, idp.issuer)
        assert_problem(response, 422)
        assert response.json()["errors"][0]["loc"] == ["body", "issuer"]
        assert "non-public" in response.json()["detail"]
        assert names.calls == [IDP_HOST]
        assert idp.total_requests == 0


async def test_an_issuer_the_operator_trusts_may_be_private(
    db: Database, clock: FrozenClock, names: Names, tenant: Tenant
) -> None:
    """The control for the test above: the same name and address work once the operator
    lists the issuer, so the refusal there was the guard's."""
    with running(host=IDP_HOST) as idp:
        names.answers[IDP_HOST] = ["127.0.0.1"]
        settings = {"oidc_allow_private_networks": False, "oidc_trusted_issuers": idp.issuer}
        async with app_client(db, clock, **settings) as api:
            await add_member(api, tenant, A_EMAIL)
            assert (await register(api, tenant, idp.issuer)).status_code == 200
            token = idp.mint(idp.claims(at=clock.now(), email=A_EMAIL))
            assert (await api.get("/v1/me", headers=bearer(token))).status_code == 200
        assert idp.total_requests == 2


async def test_a_plain_http_issuer_is_refused_unless_allowed(
    db: Database, clock: FrozenClock, names: Names, tenant: Tenant, idp: OidcProvider
) -> None:
    """In production issuers are https only: plain http is refused before any request."""
    async with app_client(db, clock, oidc_allow_http=False) as api:
        response = await register(api, tenant, idp.issuer)
    assert_problem(response, 422)
    assert idp.total_requests == 0


async def test_tokens_are_refused_when_the_guard_refuses_the_issuer_at_use(
    db: Database, clock: FrozenClock, names: Names, tenant: Tenant
) -> None:
    """The guard runs again on each fetch (the name may resolve elsewhere by then): a
    replica under the production guard refuses the token without contacting anyone."""
    with running(host=IDP_HOST) as idp:
        names.answers[IDP_HOST] = ["127.0.0.1"]
        async with app_client(db, clock) as lenient:
            await add_member(lenient, tenant, A_EMAIL)
            assert (await register(lenient, tenant, idp.issuer)).status_code == 200
        before = idp.total_requests
        token = idp.mint(idp.claims(at=clock.now(), email=A_EMAIL))
        async with app_client(db, clock, oidc_allow_private_networks=False) as strict:
            response = await strict.get("/v1/me", headers=bearer(token))
        assert_problem(response, 401)
        assert idp.total_requests == before


async def test_the_guard_holds_for_an_issuer_written_directly_to_the_database(
    db: Database, clock: FrozenClock, names: Names, tenant: Tenant, idp: OidcProvider
) -> None:
    """Whatever put the issuer there, verification fetches only through the guard."""
    async with db.transaction() as session:
        await session.execute(
            text("UPDATE workspaces SET idp_issuer = :i, idp_audience = :a WHERE id = :ws"),
            {"i": idp.issuer, "a": DEFAULT_AUDIENCE, "ws": tenant.id},
        )
    async with app_client(db, clock, oidc_allow_private_networks=False) as api:
        token = idp.mint(idp.claims(at=clock.now()))
        assert_problem(await api.get("/v1/me", headers=bearer(token)), 401)
    assert idp.total_requests == 0
