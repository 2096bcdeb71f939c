"""Token authentication with roles, and the audit trail of every access.

Tokens are long random strings given to each kiosk and care-team member; the server
keeps only their SHA-256 (``[api.tokens]`` in the config maps hash -> role), so a
stolen config file does not leak working tokens. A browser sends the token once to
``/login`` and then carries it in an HttpOnly cookie; programs send
``Authorization: Bearer <token>``. The audit log names the role and the first 8 hex
digits of the token's hash, never the token.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from fastapi import HTTPException, Request, status

COOKIE = "glucogate_token"


class Role(StrEnum):
    """Who is asking (DESIGN.md section 9)."""

    KIOSK = "kiosk"
    EDUCATOR = "educator"
    CLINICIAN = "clinician"
    PHARMACIST = "pharmacist"
    CHW = "chw"
    ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller: the role and an audit-safe id."""

    role: Role
    actor: str


def token_hash(token: str) -> str:
    """SHA-256 of a token, hex (what the config stores)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def authenticate(request: Request, tokens: Mapping[str, Role]) -> Principal | None:
    """The caller behind the request's bearer token or cookie, if the token is known."""
    header = request.headers.get("authorization", "")
    token = header[7:] if header.lower().startswith("bearer ") else request.cookies.get(COOKIE)
    if not token:
        return None
    digest = token_hash(token)
    role = tokens.get(digest)
    return None if role is None else Principal(role, f"{role.value}:{digest[:8]}")


def require(tokens: Mapping[str, Role], *allowed: Role) -> Callable[[Request], Principal]:
    """A FastAPI dependency: 401 without a valid token, 403 for a role not allowed."""

    def dependency(request: Request) -> Principal:
        who = authenticate(request, tokens)
        if who is None:
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, "sign in with your token")
        if who.role not in allowed:
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"not allowed for role {who.role}")
        return who

    return dependency
