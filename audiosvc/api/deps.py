"""Shared request dependencies: settings, the job store, storage, and the caller's identity."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from starlette.requests import HTTPConnection

from audiosvc.api import quota
from audiosvc.api.signing import LinkSigner
from audiosvc.errors import AuthenticationError
from audiosvc.jobqueue import JobQueue
from audiosvc.jobs import JobStore, owner_of
from audiosvc.settings import Settings
from audiosvc.storage import Storage


@dataclass(frozen=True)
class Services:
    settings: Settings
    store: JobStore
    storage: Storage
    queue: JobQueue
    signer: LinkSigner


def services(request: Request) -> Services:
    svc: Services = request.app.state.services
    return svc


@dataclass(frozen=True)
class Caller:
    """Who is calling: ``owner`` tags the jobs a key creates; with no keys configured the
    service is open and every job is visible to everyone."""

    owner: str | None
    restricted: bool


def caller(request: Request, svc: Annotated[Services, Depends(services)]) -> Caller:
    """Who is calling, and, for a key, one more request on its budget
    (:mod:`audiosvc.api.quota`)."""
    who = identify(request, svc)
    if who.owner is not None:
        budget = quota.count_request(svc.store.r, who.owner, svc.settings.key_requests_per_minute)
        if budget is not None:  # told in the response's headers (quota.BudgetHeaders)
            setattr(request.state, quota.STATE, budget)
    return who


def identify(request: HTTPConnection, svc: Services, token: str | None = None) -> Caller:
    """The caller of ``request`` by its Bearer key (or ``token``, a key sent another way)."""
    keys = svc.settings.api_key_list()
    if not keys:
        return Caller(owner=None, restricted=False)
    if token is None:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        token = token.strip() if scheme.lower() == "bearer" else ""
    if not token:
        raise AuthenticationError("missing API key: send 'Authorization: Bearer <key>'")
    if not any(hmac.compare_digest(token.encode(), k.encode()) for k in keys):
        raise AuthenticationError("invalid API key")
    return Caller(owner=owner_of(token), restricted=True)


ServicesDep = Annotated[Services, Depends(services)]
CallerDep = Annotated[Caller, Depends(caller)]
