"""Fetching media by URL, without letting the service be aimed at its own network.

Only http and https. Every address the host name resolves to must be public (not loopback,
private, link-local such as cloud metadata at 169.254.169.254, multicast, reserved or
unspecified), on the first request and on every redirect, unless the operator allows private
addresses. Limitation: the name is resolved again when connecting, so a DNS answer that
changes between the check and the connection (rebinding) is not caught; deployments that
face hostile users should also restrict egress at the network level.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from collections.abc import Callable
from email.message import Message
from pathlib import PurePosixPath
from urllib.parse import unquote, urljoin, urlsplit

import httpx

from audiosvc import retry
from audiosvc.deadline import Deadline
from audiosvc.errors import InvalidRequestError
from audiosvc.names import clean_name
from audiosvc.storage import UploadWriter

Resolver = Callable[[str], list[str]]


def resolve(host: str) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except socket.gaierror as exc:
        raise InvalidRequestError(f"cannot resolve host {host!r}", param="url") from exc
    return sorted({str(info[4][0]) for info in infos})


def _forbidden(address: str) -> str | None:
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address):
        mapped = ip.ipv4_mapped or ip.sixtofour
        if mapped is not None:
            ip = mapped
    for attr, why in (
        ("is_loopback", "loopback"), ("is_link_local", "link-local"),
        ("is_private", "private"), ("is_multicast", "multicast"),
        ("is_reserved", "reserved"), ("is_unspecified", "unspecified"),
    ):  # fmt: skip
        if getattr(ip, attr):
            return why
    if not ip.is_global:  # what the list does not name: shared (100.64/10), benchmarking, ...
        return "non-global"
    return None


def public_peer(address: str) -> bool:
    """Whether a connected peer's address is one the service may talk to."""
    return _forbidden(address) is None


def refused_peer(address: str) -> InvalidRequestError:
    return InvalidRequestError(
        f"the url's host connected to a {_forbidden(address)} address ({address}); such "
        "addresses are refused",
        param="url",
    )


def validate_url(url: str, *, allow_private: bool, resolver: Resolver = resolve) -> str:
    """``url`` if it may be fetched, else :class:`InvalidRequestError` saying why."""
    url = url.strip()
    try:  # e.g. 'http://[::1/' or a control character was a 500, or a job's internal error
        parts = urlsplit(url)
        _ = parts.port  # a port out of range raises only when read
        httpx.URL(url)  # the parser of the download and of the webhooks
    except (ValueError, httpx.InvalidURL) as exc:
        raise InvalidRequestError(f"url is malformed: {exc}", param="url") from None
    if parts.scheme not in ("http", "https"):
        raise InvalidRequestError("url must be http or https", param="url")
    if not parts.hostname:
        raise InvalidRequestError("url has no host", param="url")
    if not allow_private:
        for address in resolver(parts.hostname):
            why = _forbidden(address)
            if why:
                raise InvalidRequestError(
                    f"url host {parts.hostname!r} resolves to a {why} address ({address}); "
                    "such addresses are refused",
                    param="url",
                )
    return url


def _filename(resp: httpx.Response) -> str | None:
    """The remote server's name for the file (its Content-Disposition, else the URL's path),
    cleaned: it is the remote server's to choose, so it is shown, never trusted."""
    disposition = resp.headers.get("content-disposition")
    if disposition:
        msg = Message()
        msg["content-disposition"] = disposition
        name = clean_name(msg.get_filename())
        if name:
            return name
    return clean_name(PurePosixPath(unquote(resp.url.path)).name)


class DownloadStopped(Exception):
    """``should_stop`` said so (the job was cancelled): not the URL's fault."""


class _Transient(Exception):
    """A failure before the first byte that the same request may not meet again."""

    def __init__(self, what: str, retry_after: float | None = None) -> None:
        super().__init__(what)
        self.retry_after = retry_after


def download(
    url: str,
    writer: UploadWriter,
    *,
    allow_private: bool,
    timeout: float,
    max_seconds: float = float("inf"),
    should_stop: Callable[[], bool] = lambda: False,
    max_redirects: int = 5,
    resolver: Resolver = resolve,
    policy: retry.Policy | None = None,
) -> str | None:
    """Stream ``url`` into ``writer`` (its size limit applies); returns a file name.

    Every wait has a bound: ``timeout`` for each read (a server that goes silent), and
    ``max_seconds`` for the whole download, retries included, however slowly the server
    trickles its headers or its body. ``should_stop`` is asked about once a second while data
    arrives; when it says yes, the download ends with :class:`DownloadStopped`. A transient
    failure before the first byte (no connection, a timeout, a retryable status) is retried
    under ``policy`` (:mod:`audiosvc.retry`; none by default); once bytes have arrived, a
    failure is final (the writer cannot take them back)."""
    started = time.monotonic()
    with Deadline(max_seconds, peer_ok=None if allow_private else public_peer) as deadline:

        def attempt() -> str | None:
            return _fetch(
                url, writer, deadline, timeout, should_stop, max_redirects, resolver, allow_private
            )

        try:
            if policy is None:
                return attempt()
            retrying = policy.retrying(
                lambda exc: (
                    isinstance(exc, _Transient)
                    and not deadline.expired
                    and deadline.refused is None
                ),
                call="download",
                deadline=max_seconds if max_seconds != float("inf") else None,
            )
            return retrying(attempt)
        except (_Transient, httpx.HTTPError) as exc:
            if deadline.refused is not None:
                raise refused_peer(deadline.refused) from exc
            if deadline.expired or time.monotonic() - started > max_seconds:
                raise InvalidRequestError(
                    f"fetching the url took longer than {max_seconds:g} s", param="url"
                ) from exc
            raise InvalidRequestError(f"fetching the url failed: {exc}", param="url") from exc


def _fetch(
    url: str,
    writer: UploadWriter,
    deadline: Deadline,
    timeout: float,
    should_stop: Callable[[], bool],
    max_redirects: int,
    resolver: Resolver,
    allow_private: bool,
) -> str | None:
    """One attempt: follow redirects (checking each host), stream the body to ``writer``."""
    asked = time.monotonic()
    with httpx.Client(timeout=timeout, follow_redirects=False) as client:
        for _ in range(max_redirects + 1):
            validate_url(url, allow_private=allow_private, resolver=resolver)
            try:
                with client.stream("GET", url, extensions=deadline.extensions) as resp:
                    if resp.is_redirect:
                        url = urljoin(url, resp.headers.get("location", ""))
                        continue
                    if resp.status_code >= 400:
                        what = f"HTTP {resp.status_code}"
                        if retry.retryable_status(resp.status_code):
                            raise _Transient(what, retry.retry_after(resp.headers))
                        raise InvalidRequestError(f"fetching the url failed: {what}", param="url")
                    for block in resp.iter_bytes():  # as it comes: no waiting to fill a block
                        writer.write(block)
                        now = time.monotonic()
                        if now - asked >= 1.0:
                            asked = now
                            if should_stop():
                                raise DownloadStopped(url)
                    return _filename(resp)
            except (httpx.TimeoutException, httpx.NetworkError) as exc:
                if writer.size:
                    raise
                raise _Transient(type(exc).__name__) from exc
    raise InvalidRequestError("fetching the url failed: too many redirects", param="url")
