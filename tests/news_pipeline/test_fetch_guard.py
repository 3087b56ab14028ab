"""Fetches reach public addresses only: loopback, private, link-local (a cloud metadata
endpoint), multicast and reserved addresses are refused after name resolution and at every
redirect, unless the host is listed in HOPTAC_FETCH_ALLOWED_HOSTS; the refusal is one line
naming that setting, and nothing is sent to the refused address."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from ipaddress import ip_address
from pathlib import Path

import pytest
from pydantic import ValidationError

from hoptac.settings import Settings
from hoptac.wiring import bot_config
from news_pipeline.addresses import ALLOW_SETTING, AllowedHosts, IPAddress, address_problem, allowed_host_entry
from news_pipeline.fetch import MAX_REDIRECTS, FetchError, fetch, web_client
from tests.bot_harness import make_settings
from tests.fake_site import HOST, FakeSite

LIMITS = {"timeout_s": 5.0, "max_bytes": 100_000}
PAGE = "<html><body><p>Bắc Ninh và Lạng Sơn hợp tác phát triển logistics.</p></body></html>".encode()
METADATA = "http://169.254.169.254/latest/meta-data/"


@pytest.fixture
def site() -> Iterator[FakeSite]:
    with FakeSite() as running:
        running.put("/bai/logistics.html", PAGE)
        yield running


class FixedResolver:
    """Names to the addresses a test chooses, counting the look-ups."""

    def __init__(self, answers: dict[str, list[str]]) -> None:
        self.answers = answers
        self.lookups: list[str] = []

    async def __call__(self, host: str, port: int) -> list[IPAddress]:
        self.lookups.append(host)
        return [ip_address(a) for a in self.answers[host]]


async def refusal(url: str, allowed: list[str] | None = None, resolver: FixedResolver | None = None) -> str:
    kwargs = {"resolve": resolver} if resolver else {}
    async with web_client(allowed or [], **kwargs) as client:
        with pytest.raises(FetchError) as refused:
            await fetch(client, url, **LIMITS)
    return str(refused.value)


# --- what counts as public --------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("127.8.9.10", "loopback"),
        ("10.0.0.5", "mạng riêng"),
        ("172.16.4.2", "mạng riêng"),
        ("192.168.1.1", "mạng riêng"),
        ("169.254.169.254", "link-local"),  # the metadata endpoint of AWS, GCP, Azure, ...
        ("100.100.100.200", "không công khai"),  # Alibaba Cloud's metadata, in the carriers' 100.64/10
        ("0.0.0.0", "không xác định"),
        ("224.0.0.1", "multicast"),
        ("::1", "loopback"),
        ("::", "không xác định"),
        ("fe80::1", "link-local"),
        ("fd00:ec2::254", "mạng riêng"),  # AWS's IPv6 metadata endpoint
        ("ff02::1", "multicast"),
        ("::ffff:127.0.0.1", "loopback"),  # IPv4-mapped
        ("::ffff:169.254.169.254", "link-local"),
        ("::ffff:10.0.0.5", "mạng riêng"),
        ("2002:a00:5::1", "mạng riêng"),  # 6to4 of 10.0.0.5
        ("64:ff9b::a9fe:a9fe", "link-local"),  # NAT64 of the metadata address
    ],
)
def test_addresses_that_are_not_public_say_what_they_are(address: str, kind: str) -> None:
    problem = address_problem(ip_address(address))

    assert problem is not None and kind in problem


@pytest.mark.parametrize(
    "address", ["8.8.8.8", "113.160.1.1", "2606:4700:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808"]
)
def test_public_addresses_pass(address: str) -> None:
    assert address_problem(ip_address(address)) is None


def test_one_private_address_among_public_ones_refuses_the_host() -> None:
    addresses = [ip_address("113.160.1.1"), ip_address("10.0.0.5")]

    refused = AllowedHosts().refusal("baobacninh.example", addresses)

    assert refused is not None and refused.address == ip_address("10.0.0.5")
    assert str(refused) == (
        f"baobacninh.example trỏ tới 10.0.0.5, địa chỉ mạng riêng (muốn cho phép thì thêm máy này vào {ALLOW_SETTING})"
    )


def test_the_allow_list_takes_names_addresses_and_networks() -> None:
    allowed = AllowedHosts.parse(["Intranet.Example.", "127.0.0.1", "10.1.0.0/16", "[::1]"])
    private = ip_address("10.1.2.3")

    assert allowed.refusal("intranet.example", [ip_address("192.168.0.9")]) is None
    assert allowed.refusal("anything.example", [private]) is None
    assert allowed.refusal("localhost", [ip_address("127.0.0.1"), ip_address("::1")]) is None
    assert allowed.refusal("other.example", [ip_address("10.2.0.1")]) is not None


@pytest.mark.parametrize("entry", ["http://10.0.0.5", "intranet.example:8080", "10.0.0.0/99", "a b", ""])
def test_an_allow_list_entry_that_is_not_a_host_is_refused(entry: str) -> None:
    with pytest.raises(ValueError, match="not a"):
        allowed_host_entry(entry)


def test_the_setting_takes_a_comma_list_or_a_json_list_and_reaches_the_bot(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(ALLOW_SETTING, "127.0.0.1, intranet.example")
    assert Settings(_env_file=None).fetch_allowed_hosts == ["127.0.0.1", "intranet.example"]  # type: ignore[call-arg]
    monkeypatch.setenv(ALLOW_SETTING, '["10.1.0.0/16"]')
    assert Settings(_env_file=None).fetch_allowed_hosts == ["10.1.0.0/16"]  # type: ignore[call-arg]
    monkeypatch.setenv(ALLOW_SETTING, "http://10.0.0.5/")
    with pytest.raises(ValidationError, match="not a host name"):
        Settings(_env_file=None)  # type: ignore[call-arg]
    monkeypatch.delenv(ALLOW_SETTING)

    config = bot_config(make_settings("http://127.0.0.1:9", tmp_path, fetch_allowed_hosts="127.0.0.1"))

    assert config.fetch_allowed_hosts == ("127.0.0.1",)


# --- fetching ---------------------------------------------------------------------------


async def test_a_loopback_server_is_refused_in_one_line_naming_the_setting(site: FakeSite) -> None:
    url = site.url("/bai/logistics.html")

    message = await refusal(url)

    assert message == (
        f"từ chối tải {url}: 127.0.0.1 là địa chỉ loopback (chính máy này) "
        f"(muốn cho phép thì thêm máy này vào {ALLOW_SETTING})"
    )
    assert "\n" not in message
    assert site.requests == []


async def test_the_same_server_is_fetched_once_its_host_is_allowed(site: FakeSite) -> None:
    async with web_client([HOST]) as client:
        page = await fetch(client, site.url("/bai/logistics.html"), **LIMITS)

    assert page.status == 200 and page.content == PAGE


@pytest.mark.parametrize("host", ["localhost", "2130706433"])  # a name, and 127.0.0.1 written as one number
async def test_names_are_judged_by_the_addresses_they_resolve_to(site: FakeSite, host: str) -> None:
    message = await refusal(f"http://{host}:{site.port}/bai/logistics.html")

    assert f"{host} trỏ tới " in message and "loopback" in message and ALLOW_SETTING in message
    assert site.requests == []


async def test_a_public_looking_name_that_resolves_to_a_private_address_is_refused(site: FakeSite) -> None:
    resolver = FixedResolver({"baobacninh.example": ["127.0.0.1"]})

    message = await refusal(f"http://baobacninh.example:{site.port}/bai/logistics.html", resolver=resolver)

    assert "baobacninh.example trỏ tới 127.0.0.1, địa chỉ loopback" in message
    assert site.requests == []


async def test_a_name_with_a_public_and_a_private_address_is_refused_whatever_the_order(site: FakeSite) -> None:
    resolver = FixedResolver({"tin.example": ["113.160.1.1", "127.0.0.1"]})

    message = await refusal(f"http://tin.example:{site.port}/bai/logistics.html", resolver=resolver)

    assert "tin.example trỏ tới 127.0.0.1" in message
    assert site.requests == []


async def test_the_connection_goes_to_the_checked_address_with_the_host_header_kept(site: FakeSite) -> None:
    # ".invalid" never resolves in real DNS: the page arrives only if the connection used
    # the address that was checked, not a second look-up of the name.
    resolver = FixedResolver({"tin-hop-tac.invalid": [HOST]})

    async with web_client(["tin-hop-tac.invalid"], resolve=resolver) as client:
        page = await fetch(client, f"http://tin-hop-tac.invalid:{site.port}/bai/logistics.html", **LIMITS)

    assert page.content == PAGE
    assert resolver.lookups == ["tin-hop-tac.invalid"]
    [(_status, headers)] = site.requests_to("/bai/logistics.html")
    assert headers["host"] == f"tin-hop-tac.invalid:{site.port}"


async def test_a_redirect_within_the_allowed_site_is_followed(site: FakeSite) -> None:
    site.redirect("/cu.html", "/bai/logistics.html", status=301)

    async with web_client([HOST]) as client:
        page = await fetch(client, site.url("/cu.html"), **LIMITS)

    assert page.content == PAGE and page.url == site.url("/bai/logistics.html")


async def test_a_redirect_to_the_metadata_endpoint_is_refused(site: FakeSite) -> None:
    site.redirect("/cu.html", METADATA)

    message = await refusal(site.url("/cu.html"), allowed=[HOST])

    assert message == (
        f"từ chối tải {METADATA} (chuyển hướng từ {site.url('/cu.html')}): 169.254.169.254 là địa chỉ link-local "
        f"(như máy chủ metadata của đám mây) (muốn cho phép thì thêm máy này vào {ALLOW_SETTING})"
    )


@pytest.fixture
def ipv6_loopback_listener() -> Iterator[socket.socket]:
    listener = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    try:
        listener.bind(("::1", 0))
    except OSError:
        listener.close()
        pytest.skip("no IPv6 loopback on this machine")
    listener.listen()
    listener.setblocking(False)
    yield listener
    listener.close()


async def test_a_redirect_to_a_disallowed_address_never_connects_there(
    site: FakeSite, ipv6_loopback_listener: socket.socket
) -> None:
    target = f"http://[::1]:{ipv6_loopback_listener.getsockname()[1]}/admin"
    site.redirect("/cu.html", target, status=307)

    message = await refusal(site.url("/cu.html"), allowed=[HOST])

    assert message.startswith(f"từ chối tải {target} (chuyển hướng từ {site.url('/cu.html')}): ::1 là địa chỉ loopback")
    with pytest.raises(BlockingIOError):
        ipv6_loopback_listener.accept()  # nobody ever knocked


@pytest.mark.parametrize("target", ["file:///etc/passwd", "ftp://127.0.0.1/x", "gopher://127.0.0.1:25/"])
async def test_a_redirect_to_another_scheme_is_refused(site: FakeSite, target: str) -> None:
    site.redirect("/cu.html", target)

    message = await refusal(site.url("/cu.html"), allowed=[HOST])

    assert message.startswith(f"từ chối tải {target.split(':')[0]}:")
    assert message.endswith(f"(chuyển hướng từ {site.url('/cu.html')}): chỉ tải địa chỉ http:// và https://")


async def test_redirects_are_followed_a_bounded_number_of_times(site: FakeSite) -> None:
    site.redirect("/vong.html", "/vong.html")

    message = await refusal(site.url("/vong.html"), allowed=[HOST])

    assert message == f"quá nhiều lần chuyển hướng (hơn {MAX_REDIRECTS})"
    assert len(site.requests_to("/vong.html")) == MAX_REDIRECTS + 1
