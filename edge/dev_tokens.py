"""Development JWTs: a local signing key pair (ES256 and RS256) made on the first
`make run` under <state>/auth, the JWKS file the edge verifies with, and tokens
signed by it (`mkt token dev`). Production verifies tokens from a real identity
provider instead (MKT_AUTH_JWKS_URL or MKT_AUTH_JWKS_FILE).

Token claims: `iss` (MKT_AUTH_JWT_ISSUER), `aud` (MKT_AUTH_JWT_AUDIENCE), `sub`,
`iat`, `exp`, and `workspaces`: {"<workspace id>": "viewer" | "editor" | "admin"}
("*" as the id: every workspace)."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

AUTH_DIR = "auth"
KEYS = {"ES256": ("dev-es256.pem", "dev-es256"), "RS256": ("dev-rs256.pem", "dev-rs256")}
JWKS_NAME = "jwks.json"
DEFAULT_TTL = 3600


def _write_private(path: Path, data: bytes) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)


def _new_private(algorithm: str):
    if algorithm == "ES256":
        return ec.generate_private_key(ec.SECP256R1())
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _load(folder: Path, algorithm: str):
    path = folder / KEYS[algorithm][0]
    return serialization.load_pem_private_key(path.read_bytes(), password=None)


def ensure_dev_keys(state_dir: Path, jwks_file: Path | None = None) -> Path:
    """The development signing keys and their JWKS, made once; returns the JWKS file."""
    folder = state_dir / AUTH_DIR
    folder.mkdir(parents=True, exist_ok=True)
    jwks_file = jwks_file or folder / JWKS_NAME
    for algorithm, (name, _) in KEYS.items():
        if not (folder / name).is_file():
            key = _new_private(algorithm)
            _write_private(folder / name, key.private_bytes(serialization.Encoding.PEM,
                                                            serialization.PrivateFormat.PKCS8,
                                                            serialization.NoEncryption()))
    keys = []
    for algorithm, (_, kid) in KEYS.items():
        public = _load(folder, algorithm).public_key()
        jwk = json.loads(jwt.algorithms.get_default_algorithms()[algorithm].to_jwk(public))
        keys.append({**jwk, "kid": kid, "alg": algorithm, "use": "sig"})
    document = json.dumps({"keys": keys}, indent=2)
    if not jwks_file.is_file() or jwks_file.read_text() != document:
        jwks_file.parent.mkdir(parents=True, exist_ok=True)
        jwks_file.write_text(document)
    return jwks_file


def mint(state_dir: Path, workspaces: Mapping[str, str], *, subject: str = "dev", ttl: int = DEFAULT_TTL,
         algorithm: str = "ES256", issuer: str = "mkt-dev", audience: str = "marketing-platform",
         now: int | None = None) -> str:
    """A JWT signed by the development key (ensure_dev_keys first)."""
    now = int(time.time()) if now is None else now
    claims = {"iss": issuer, "aud": audience, "sub": subject, "iat": now, "exp": now + ttl,
              "workspaces": dict(workspaces)}
    key = _load(state_dir / AUTH_DIR, algorithm)
    return jwt.encode(claims, key, algorithm=algorithm, headers={"kid": KEYS[algorithm][1]})
