"""Webhook deliveries over HTTP with httpx, pinned to the address the SSRF guard checked.

The host is resolved once (`resolve`); the use case checks every address, then `post`
connects to the checked IP itself, with the URL's host in the Host header and as the TLS
server name (SNI and certificate check). A second lookup at connect time, which a DNS
rebinding attack would answer with an internal address, never happens. Redirects are not
followed (a 3xx is a failed delivery), proxies from the environment are not used, and the
answer's body is not read.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl

import httpx

from app.events.ports import WebhookCallFailed, WebhookPost

_TLS = ssl.create_default_context()


class HttpWebhookTransport:
    async def resolve(self, host: str, port: int) -> list[str]:
        try:
            return [str(ipaddress.ip_address(host))]
        except ValueError:
            pass
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(
                host, port, type=socket.SOCK_STREAM
            )
        except (socket.gaierror, UnicodeError) as error:
            raise WebhookCallFailed(f"{host} does not resolve: {error}") from None
        addresses: list[str] = []
        for info in infos:
            address = str(info[4][0])
            if address not in addresses:
                addresses.append(address)
        return addresses

    async def post(self, request: WebhookPost) -> int:
        """Tries the addresses in turn while a connection cannot be made (nothing was sent
        yet, so that repeats nothing); any other failure ends the attempt."""
        failure = WebhookCallFailed("no address to connect to")
        for address in request.addresses:
            try:
                return await self._post_to(address, request)
            except httpx.ConnectError as error:
                failure = WebhookCallFailed(f"cannot connect to {address}: {error}"[:500])
        raise failure

    async def _post_to(self, address: str, request: WebhookPost) -> int:
        target = request.target
        shown = f"[{address}]" if ":" in address else address
        url = f"{target.scheme}://{shown}:{target.port}{target.path}"
        extensions = {}
        if target.scheme == "https" and not _is_ip(target.host):
            extensions["sni_hostname"] = target.host
        headers = {**request.headers, "host": target.host_header}
        timeout = httpx.Timeout(request.timeout_seconds)
        try:
            async with (
                httpx.AsyncClient(
                    verify=_TLS, timeout=timeout, follow_redirects=False, trust_env=False
                ) as client,
                client.stream(
                    "POST", url, content=request.body, headers=headers, extensions=extensions
                ) as response,
            ):
                return response.status_code
        except httpx.ConnectError:
            raise
        except httpx.TimeoutException:
            raise WebhookCallFailed(f"no answer within {request.timeout_seconds:g} s") from None
        except httpx.HTTPError as error:
            raise WebhookCallFailed(f"{type(error).__name__}: {error}"[:500]) from None


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True
