"""OpenID Connect: verifying the bearer tokens a workspace's identity provider issues.

A workspace registers its provider's ``issuer`` and ``audience`` (the client id). A token
names its issuer; the issuer's discovery document (``/.well-known/openid-configuration``)
names its JWKS, whose keys verify the token's signature. Both documents are fetched with
httpx through the same SSRF guard as webhooks (the issuer URL comes from a tenant, so it
must not reach the operator's internal network unless the operator lists it in
``RAPPORT_OIDC_TRUSTED_ISSUERS``), pinned to the addresses the guard vetted, and cached as
long as their ``Cache-Control: max-age`` says (between a minute and a day). A token signed
with a key id the cached set lacks makes the set be fetched again, at most once a minute
per issuer, so a provider's key rotation is picked up within one request.

Only asymmetric algorithms are accepted (RS256, ES256, EdDSA): ``alg: none`` and HS256
(which would let anyone holding the public key sign) are refused before any key is used.
Times are checked against the app's clock with a small leeway.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import jwt
from jwt import PyJWK, PyJWKSet

from app.errors import ServiceUnavailable, Unauthenticated, ValidationFailed
from app.services.platform.sessions import check_times
from app.services.platform.ssrf import Resolver, UnsafeUrl, check_url, system_resolver

ALGORITHMS = ("RS256", "ES256", "EdDSA")
DEFAULT_MAX_AGE = 300.0
MIN_MAX_AGE, MAX_MAX_AGE = 60.0, 86_400.0
REFRESH_AT_MOST_EVERY = 60.0
MAX_DOCUMENT_BYTES = 256 * 1024
_MAX_AGE = re.compile(r"max-age=(\d+)")


class ProviderError(Exception):
    """The provider could not be reached or answered something unusable."""


@dataclass
class _Cached:
    value: Any
    fresh_until: float
    fetched_at: float


def _max_age(headers: httpx.Headers) -> float:
    control = headers.get("cache-control", "")
    if "no-store" in control or "no-cache" in control:
        return MIN_MAX_AGE
    found = _MAX_AGE.search(control)
    seconds = float(found.group(1)) if found else DEFAULT_MAX_AGE
    return min(max(seconds, MIN_MAX_AGE), MAX_MAX_AGE)


class IdentityProviders:
    """Discovery documents and key sets of every issuer in use, shared by the process."""

    def __init__(
        self,
        *,
        allow_private: bool,
        allow_http: bool,
        trusted_issuers: frozenset[str] = frozenset(),
        timeout_seconds: float = 5.0,
        resolver: Resolver = system_resolver,
        timer: Callable[[], float] = time.monotonic,
    ) -> None:
        self.allow_private = allow_private
        self.allow_http = allow_http
        self.trusted_issuers = trusted_issuers
        self.timeout = timeout_seconds
        self.resolver = resolver
        self.timer = timer
        self._discovery: dict[str, _Cached] = {}
        self._keys: dict[str, _Cached] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._client: httpx.AsyncClient | None = None

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def forget(self) -> None:
        self._discovery.clear()
        self._keys.clear()

    async def check_issuer(self, issuer: str) -> None:
        """Registration: the issuer's discovery document and key set must be usable now,
        so a typo is a 422 today rather than every member's 401 tomorrow."""
        try:
            await self._key_set(issuer, refresh=True)
        except (ProviderError, UnsafeUrl) as exc:
            raise ValidationFailed.on(["body", "issuer"], str(exc)) from exc

    async def verify(
        self, token: str, *, issuer: str, audience: str, at: datetime, leeway: timedelta
    ) -> dict[str, Any]:
        """The token's claims once its signature, issuer, audience and times check out."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise Unauthenticated(f"malformed token: {exc}") from exc
        algorithm = header.get("alg")
        if algorithm not in ALGORITHMS:
            raise Unauthenticated(f"token algorithm {algorithm!r} is not accepted")
        key = await self._signing_key(issuer, header.get("kid"), algorithm)
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key.key,
                algorithms=[algorithm],
                audience=audience,
                issuer=issuer,
                options={"verify_exp": False, "verify_iat": False, "verify_nbf": False},
            )
        except jwt.PyJWTError as exc:
            raise Unauthenticated(f"invalid token: {exc}") from exc
        check_times(claims, at=at, leeway=leeway)
        return claims

    async def _signing_key(self, issuer: str, kid: Any, algorithm: str) -> PyJWK:
        try:
            keys = await self._key_set(issuer, refresh=False)
            found = _pick(keys, kid, algorithm)
            if found is None and self._may_refresh(issuer):
                keys = await self._key_set(issuer, refresh=True)
                found = _pick(keys, kid, algorithm)
        except ProviderError as exc:  # an outage, not a bad token: the app should retry,
            # not sign the person out
            raise ServiceUnavailable(f"the identity provider could not be reached: {exc}") from exc
        except UnsafeUrl as exc:
            raise Unauthenticated(f"the identity provider's address is refused: {exc}") from exc
        if found is None:
            raise Unauthenticated("the token's signing key is not in the provider's key set")
        return found

    def _may_refresh(self, issuer: str) -> bool:
        cached = self._keys.get(issuer)
        return cached is None or self.timer() - cached.fetched_at >= REFRESH_AT_MOST_EVERY

    async def _key_set(self, issuer: str, *, refresh: bool) -> PyJWKSet:
        lock = self._locks.setdefault(issuer, asyncio.Lock())
        async with lock:  # concurrent requests of one issuer share one fetch
            now = self.timer()
            cached = self._keys.get(issuer)
            if cached is not None and cached.fresh_until > now and not refresh:
                value: PyJWKSet = cached.value
                return value
            if cached is not None and refresh and now - cached.fetched_at < 1.0:
                value = cached.value  # fetched an instant ago by the request before
                return value
            discovery = await self._discovery_document(issuer)
            document, max_age = await self._get_json(str(discovery["jwks_uri"]), issuer)
            try:
                keys = PyJWKSet.from_dict(document)
            except jwt.PyJWTError as exc:
                raise ProviderError(f"unusable key set: {exc}") from exc
            self._keys[issuer] = _Cached(keys, now + max_age, now)
            return keys

    async def _discovery_document(self, issuer: str) -> dict[str, Any]:
        now = self.timer()
        cached = self._discovery.get(issuer)
        if cached is not None and cached.fresh_until > now:
            value: dict[str, Any] = cached.value
            return value
        url = issuer.rstrip("/") + "/.well-known/openid-configuration"
        document, max_age = await self._get_json(url, issuer)
        if document.get("issuer") != issuer:
            raise ProviderError("the discovery document names another issuer")
        if not isinstance(document.get("jwks_uri"), str):
            raise ProviderError("the discovery document has no jwks_uri")
        self._discovery[issuer] = _Cached(document, now + max_age, now)
        return document

    async def _get_json(self, url: str, issuer: str) -> tuple[dict[str, Any], float]:
        trusted = issuer in self.trusted_issuers
        target = await check_url(
            url,
            allow_private=self.allow_private or trusted,
            allow_http=self.allow_http,
            resolver=self.resolver,
        )
        parts = urlsplit(url)
        address = target.addresses[0]
        host = f"[{address}]" if ":" in address else address
        pinned = urlunsplit(
            (parts.scheme, f"{host}:{target.port}", parts.path or "/", parts.query, "")
        )
        client = self._client or httpx.AsyncClient(follow_redirects=False, timeout=self.timeout)
        self._client = client
        try:
            async with client.stream(
                "GET",
                pinned,
                headers={"Host": parts.netloc, "Accept": "application/json"},
                extensions={"sni_hostname": target.host},
            ) as response:
                if response.status_code != 200:
                    raise ProviderError(f"{url} answered {response.status_code}")
                body = b""
                async for chunk in response.aiter_bytes():
                    body += chunk
                    if len(body) > MAX_DOCUMENT_BYTES:
                        raise ProviderError(f"{url} answered more than {MAX_DOCUMENT_BYTES} bytes")
                headers = response.headers
        except httpx.HTTPError as exc:
            raise ProviderError(f"{url}: {exc.__class__.__name__}") from exc
        try:
            document = json.loads(body)
        except ValueError as exc:
            raise ProviderError(f"{url} did not answer JSON") from exc
        if not isinstance(document, dict):
            raise ProviderError(f"{url} did not answer a JSON object")
        return document, _max_age(headers)


def _pick(keys: PyJWKSet, kid: Any, algorithm: str) -> PyJWK | None:
    """The key named ``kid`` (the only key, when the token names none), for ``algorithm``:
    a key of another type or algorithm never verifies a token, whatever its header says,
    nor does an encryption key (``use: enc``, as Keycloak publishes beside its signing keys)."""
    signing = [k for k in keys.keys if k.public_key_use in (None, "sig")]
    candidates = [k for k in signing if kid is None or k.key_id == kid]
    if kid is None and len(candidates) != 1:
        return None  # no key id and several keys: which one is not for us to guess
    for key in candidates:
        if key.algorithm_name == algorithm:
            return key
    return None
