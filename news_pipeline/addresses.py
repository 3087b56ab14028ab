"""Where hoptac may fetch from: public addresses, and the hosts an operator allows.

    allowed = AllowedHosts.parse(["127.0.0.1", "intranet.example", "10.1.0.0/16"])
    addresses = await resolve_host("baobacninh.vn", 443)      # every address of the name
    refusal = allowed.refusal("baobacninh.vn", addresses)      # None, or an AddressRefused
    address_problem(ip_address("169.254.169.254"))             # "địa chỉ link-local (...)"

A URL sent with ``/add``, or found in a feed or a redirect, is someone else's choice: left
alone, it could make hoptac read its own machine, the private network behind it or a
cloud metadata endpoint and store the answer where an admin may see it (server-side
request forgery). So every address a host name resolves to must be public (``is_global``
and none of loopback, private, link-local, multicast, reserved or unspecified, also
when an IPv6 address carries an IPv4 one); a single non-public answer among public ones
refuses the host, as it is what DNS rebinding looks like. Hosts listed in
``HOPTAC_FETCH_ALLOWED_HOSTS`` (names, addresses or networks) are exempt.

The check and the connection use the same resolution (:mod:`news_pipeline.fetch` connects
to the very addresses checked here), so a name cannot resolve to a public address for the
check and to a private one for the connection.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network

IPAddress = IPv4Address | IPv6Address
IPNetwork = IPv4Network | IPv6Network

#: The setting that lists the hosts that may be private; named in every refusal.
ALLOW_SETTING = "HOPTAC_FETCH_ALLOWED_HOSTS"

#: Every address a host name resolves to, for a TCP connection to ``port``.
Resolver = Callable[[str, int], Awaitable[list[IPAddress]]]

_NAT64 = IPv6Network("64:ff9b::/96")  # RFC 6052: the last 32 bits are an IPv4 address


def _embedded_ipv4(address: IPv6Address) -> IPv4Address | None:
    """The IPv4 address an IPv6 one reaches through (mapped, 6to4, Teredo, NAT64), if any."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]  # the client's address
    if address in _NAT64:
        return IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def address_problem(address: IPAddress) -> str | None:
    """None for a public address; otherwise what it is, in words for the refusal."""
    if isinstance(address, IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            problem = address_problem(embedded)
            if problem is not None or address.ipv4_mapped is not None or address in _NAT64:
                return problem  # a mapped or translated address is its IPv4 address, nothing more
    if address.is_unspecified:
        return "địa chỉ không xác định (0.0.0.0 hay ::, tức chính máy này)"
    if address.is_loopback:
        return "địa chỉ loopback (chính máy này)"
    if address.is_link_local:
        return "địa chỉ link-local (như máy chủ metadata của đám mây)"
    if address.is_multicast:
        return "địa chỉ multicast"
    if address.is_private:
        return "địa chỉ mạng riêng"
    if address.is_reserved:
        return "địa chỉ dành riêng"
    if not address.is_global:  # e.g. 100.64.0.0/10, the carriers' shared space
        return "địa chỉ không công khai"
    return None


class AddressRefused(Exception):
    """A host that may not be fetched from; ``str()`` is the reason, naming the setting."""

    def __init__(self, host: str, address: IPAddress, problem: str) -> None:
        self.host, self.address, self.problem = host, address, problem
        where = f"{host} là" if _is_literal(host) else f"{host} trỏ tới {address},"
        super().__init__(f"{where} {problem} (muốn cho phép thì thêm máy này vào {ALLOW_SETTING})")


def _is_literal(host: str) -> bool:
    try:
        ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def normalize_host(host: str) -> str:
    """A host name as connections and the allow-list compare it: lower case, no final dot,
    IDNA for a Vietnamese domain, no brackets around an IPv6 address."""
    host = host.strip().strip("[]").rstrip(".").lower()
    if not host.isascii():
        host = host.encode("idna").decode("ascii")
    return host


def allowed_host_entry(entry: str) -> str | IPNetwork:
    """One entry of the allow-list: a host name, an address or a network (``10.1.0.0/16``).

    Raises ``ValueError`` with one line for anything else (a URL, a port)."""
    text = entry.strip()
    if "/" in text and "://" not in text:
        try:
            return ip_network(text, strict=False)
        except ValueError:
            raise ValueError(f"{entry!r} is not a network such as 10.1.0.0/16") from None
    try:
        return ip_network(text.strip("[]"))  # one address: a network of one
    except ValueError:
        pass
    try:
        host = normalize_host(text)
    except UnicodeError:
        host = ""
    labels = host.split(".")
    if not host or not all(label and len(label) <= 63 and label.replace("-", "").isalnum() for label in labels):
        raise ValueError(f"{entry!r} is not a host name, an address or a network (no scheme, no port)")
    return host


@dataclass(frozen=True)
class AllowedHosts:
    """The hosts whose addresses may be private (``HOPTAC_FETCH_ALLOWED_HOSTS``).

    A host name allows whatever it resolves to; an address or a network allows those
    addresses under any name."""

    names: frozenset[str] = frozenset()
    networks: tuple[IPNetwork, ...] = ()

    @classmethod
    def parse(cls, entries: Iterable[str]) -> AllowedHosts:
        """Raises ``ValueError`` for an entry :func:`allowed_host_entry` refuses."""
        names, networks = set(), []
        for entry in entries:
            parsed = allowed_host_entry(entry)
            if isinstance(parsed, str):
                names.add(parsed)
            else:
                networks.append(parsed)
        return cls(frozenset(names), tuple(networks))

    def allows(self, host: str, address: IPAddress) -> bool:
        if normalize_host(host) in self.names:
            return True
        return any(address.version == network.version and address in network for network in self.networks)

    def refusal(self, host: str, addresses: Sequence[IPAddress]) -> AddressRefused | None:
        """Why ``host`` may not be connected to at ``addresses`` (all its addresses), or None."""
        for address in addresses:
            problem = address_problem(address)
            if problem is not None and not self.allows(host, address):
                return AddressRefused(host, address, problem)
        return None


async def resolve_host(host: str, port: int) -> list[IPAddress]:
    """Every address of ``host`` (an address is itself), in the resolver's order, no repeats.

    Raises ``OSError`` (``socket.gaierror``) when the name does not resolve."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses: list[IPAddress] = []
    for _family, _type, _proto, _name, sockaddr in infos:
        address = ip_address(str(sockaddr[0]).split("%")[0])  # drop an IPv6 zone ("fe80::1%eth0")
        if address not in addresses:
            addresses.append(address)
    return addresses
