"""A real OpenID Connect provider for sign-in tests, on 127.0.0.1 only, in the test process.

Rapport's verifier is exercised end to end: it fetches this provider's discovery document
and key set over real sockets (through its SSRF guard, pinned to the vetted address) and
checks signatures made here with real keys. Nothing is mocked, so a test can only pass if
the verifier really fetched, cached and checked what it should.

As ``tests/webhook_receiver.py`` does, the server is ``http.server.ThreadingHTTPServer``
in a daemon thread; the app under test runs on the test's event loop and reaches it like
any remote host. The provider:

* serves ``<issuer path>/.well-known/openid-configuration`` (``issuer``, ``jwks_uri``)
  and ``<issuer path>/jwks`` with ``Cache-Control: max-age=<max_age>``;
* holds signing keys (RSA for RS256, EC P-256 for ES256, Ed25519 for EdDSA) made with
  ``cryptography``; ``add_key`` publishes a new ``kid``, ``remove_key`` withdraws one
  (a rotation is the two, some time apart); ``unpublished_key`` makes a key that signs
  but is never served (an attacker's key);
* counts requests per path, so a test can tell whether (and how often) it was contacted;
* mints tokens with PyJWT, with any claims and headers a test wants, and forges the ones
  PyJWT refuses to make (``mint_hs256_with_public_key``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal
from urllib.parse import urlsplit

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

Algorithm = Literal["RS256", "ES256", "EdDSA"]
PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey
DEFAULT_AUDIENCE = "rapport-web"


@dataclass(frozen=True)
class SigningKey:
    """A private key, its ``kid`` and algorithm, and the public JWK the provider serves."""

    kid: str
    algorithm: Algorithm
    private: PrivateKey
    use: str = "sig"
    #: The JWK's ``alg`` member; ``None`` leaves it out (the key type then implies it).
    jwk_alg: str | None = None

    @property
    def public_jwk(self) -> dict[str, Any]:
        public = self.private.public_key()
        jwk: dict[str, Any]
        if isinstance(public, rsa.RSAPublicKey):
            jwk = RSAAlgorithm.to_jwk(public, as_dict=True)
        elif isinstance(public, ec.EllipticCurvePublicKey):
            jwk = ECAlgorithm.to_jwk(public, as_dict=True)
        else:
            jwk = OKPAlgorithm.to_jwk(public, as_dict=True)
        jwk.pop("key_ops", None)
        jwk.update(kid=self.kid, use=self.use)
        if self.jwk_alg is not None:
            jwk["alg"] = self.jwk_alg
        return jwk

    @property
    def public_pem(self) -> bytes:
        """The public key as PEM: what an attacker who read the JWKS holds."""
        return self.private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )


def new_key(
    kid: str,
    algorithm: Algorithm = "RS256",
    *,
    use: str = "sig",
    jwk_alg: str | None = None,
    with_alg: bool = True,
) -> SigningKey:
    """A fresh key; its JWK's ``alg`` is ``algorithm``, or ``jwk_alg``, or (``with_alg``
    false) absent, as some providers publish it."""
    private: PrivateKey
    if algorithm == "RS256":
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    elif algorithm == "ES256":
        private = ec.generate_private_key(ec.SECP256R1())
    else:
        private = ed25519.Ed25519PrivateKey.generate()
    published_alg = (jwk_alg or algorithm) if with_alg else None
    return SigningKey(kid=kid, algorithm=algorithm, private=private, use=use, jwk_alg=published_alg)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class OidcProvider:
    """A local issuer. ``issuer`` defaults to ``http://127.0.0.1:<port><path>``; a test
    of the SSRF guard passes ``host`` (a name its fake resolver maps to 127.0.0.1)."""

    def __init__(
        self, *, path: str = "", host: str = "127.0.0.1", max_age: int | None = 300
    ) -> None:
        self.max_age = max_age
        self.down = False
        self.requests: Counter[str] = Counter()
        self.lock = threading.Lock()
        self._keys: dict[str, SigningKey] = {}
        self._path = path.rstrip("/")
        provider = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                if provider.down:  # a kept-alive connection of a provider that went down
                    self.close_connection = True
                    return
                path = urlsplit(self.path).path
                with provider.lock:
                    provider.requests[path] += 1
                status, headers, body = provider.answer(path)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                return

        class Server(ThreadingHTTPServer):
            daemon_threads = True

        self.server = Server(("127.0.0.1", 0), Handler)
        self.port: int = self.server.server_address[1]
        self.issuer = f"http://{host}:{self.port}{self._path}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    # -- what it serves ------------------------------------------------------------------

    @property
    def discovery_path(self) -> str:
        return f"{self._path}/.well-known/openid-configuration"

    @property
    def jwks_path(self) -> str:
        return f"{self._path}/jwks"

    def answer(self, path: str) -> tuple[int, dict[str, str], bytes]:
        if path == self.discovery_path:
            document: dict[str, Any] = {
                "issuer": self.issuer,
                "jwks_uri": f"{self.issuer}/jwks",
                "id_token_signing_alg_values_supported": ["RS256", "ES256", "EdDSA"],
            }
        elif path == self.jwks_path:
            with self.lock:
                document = {"keys": [k.public_jwk for k in self._keys.values()]}
        else:
            return 404, {"Content-Type": "text/plain"}, b"not found"
        headers = {"Content-Type": "application/json"}
        if self.max_age is not None:
            headers["Cache-Control"] = f"public, max-age={self.max_age}"
        return 200, headers, json.dumps(document).encode()

    def fetches(self, path: str) -> int:
        with self.lock:
            return self.requests[path]

    @property
    def jwks_fetches(self) -> int:
        return self.fetches(self.jwks_path)

    @property
    def total_requests(self) -> int:
        with self.lock:
            return sum(self.requests.values())

    # -- keys ----------------------------------------------------------------------------

    def add_key(
        self,
        kid: str,
        algorithm: Algorithm = "RS256",
        *,
        use: str = "sig",
        jwk_alg: str | None = None,
        with_alg: bool = True,
    ) -> SigningKey:
        """Publish a new key (the first half of a rotation); ``use="enc"`` publishes an
        encryption key, as Keycloak does next to its signing keys."""
        key = new_key(kid, algorithm, use=use, jwk_alg=jwk_alg, with_alg=with_alg)
        with self.lock:
            self._keys[kid] = key
        return key

    def remove_key(self, kid: str) -> None:
        """Withdraw a key from the JWKS (the second half of a rotation)."""
        with self.lock:
            del self._keys[kid]

    def stop(self) -> None:
        """The provider goes down: new connections are refused, kept-alive ones closed."""
        self.down = True
        self.server.shutdown()
        self.server.server_close()

    def key(self, kid: str) -> SigningKey:
        with self.lock:
            return self._keys[kid]

    # -- tokens --------------------------------------------------------------------------

    def claims(
        self,
        *,
        at: datetime,
        email: str | None = "a@example.com",
        audience: str | list[str] = DEFAULT_AUDIENCE,
        lifetime: timedelta = timedelta(minutes=10),
        **extra: Any,
    ) -> dict[str, Any]:
        """Typical ID-token claims issued at ``at`` (the app's clock); ``extra`` adds or
        replaces any (``exp=...``, ``iss=...``); a value ``None`` drops the claim."""
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": f"user-{email}",
            "aud": audience,
            "email": email,
            "iat": int(at.timestamp()),
            "nbf": int(at.timestamp()),
            "exp": int((at + lifetime).timestamp()),
        }
        claims.update(extra)
        return {k: v for k, v in claims.items() if v is not None}

    def mint(
        self,
        claims: Mapping[str, Any],
        *,
        key: SigningKey | str | None = None,
        headers: Mapping[str, Any] | None = None,
    ) -> str:
        """A token signed with ``key`` (a published key's ``kid``, any ``SigningKey``, or
        by default the first published key); ``headers`` add or replace header fields."""
        if not isinstance(key, SigningKey):
            with self.lock:
                key = self._keys[key] if key is not None else next(iter(self._keys.values()))
        header: dict[str, Any] = {"kid": key.kid, **(headers or {})}
        return jwt.encode(dict(claims), key.private, algorithm=key.algorithm, headers=header)

    @staticmethod
    def mint_unsigned(claims: Mapping[str, Any], *, kid: str | None = None) -> str:
        """``alg: none``: no signature at all."""
        headers = {"kid": kid} if kid is not None else None
        return jwt.encode(dict(claims), None, algorithm="none", headers=headers)

    @staticmethod
    def mint_hs256_with_public_key(claims: Mapping[str, Any], key: SigningKey) -> str:
        """The algorithm-confusion forgery: HS256 keyed with the public key's PEM, which a
        verifier that lets the token pick its algorithm would accept. PyJWT refuses to
        make it (an asymmetric key is no HMAC secret), so it is built by hand."""
        header = {"alg": "HS256", "typ": "JWT", "kid": key.kid}
        signing_input = ".".join(
            _b64(json.dumps(part, separators=(",", ":")).encode()) for part in (header, claims)
        )
        signature = hmac.new(key.public_pem, signing_input.encode(), hashlib.sha256).digest()
        return f"{signing_input}.{_b64(signature)}"


@contextmanager
def running(
    *,
    path: str = "",
    host: str = "127.0.0.1",
    max_age: int | None = 300,
    keys: tuple[tuple[str, Algorithm], ...] = (("k1", "RS256"),),
) -> Iterator[OidcProvider]:
    """A started provider publishing ``keys``; stopped and closed on exit."""
    provider = OidcProvider(path=path, host=host, max_age=max_age)
    for kid, algorithm in keys:
        provider.add_key(kid, algorithm)
    provider.thread.start()
    try:
        yield provider
    finally:
        provider.stop()
