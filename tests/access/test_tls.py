"""``--tls auto``'s local CA and server certificate, and the checks of ``--tls-cert/--tls-key``."""

from __future__ import annotations

import datetime as dt
import ipaddress
import stat
from pathlib import Path

import pytest
from cryptography import x509

from podium.access.tls import (
    RENEW_BEFORE,
    SERVER_DAYS,
    ServerTls,
    auto_certificate,
    client_verify,
    server_tls,
)
from podium.errors import InvalidInputError


def _names(path: Path) -> set[str]:
    cert = x509.load_pem_x509_certificate(path.read_bytes())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return {str(v) for v in san.get_values_for_type(x509.IPAddress)} | set(
        san.get_values_for_type(x509.DNSName)
    )


def _not_after(path: Path) -> dt.datetime:
    return x509.load_pem_x509_certificate(path.read_bytes()).not_valid_after_utc


def test_auto_makes_a_ca_and_a_server_certificate_once(tmp_path: Path) -> None:
    made = auto_certificate(tmp_path, "127.0.0.1")
    assert made.ca == tmp_path / "tls" / "ca.pem"
    assert (made.cert, made.key) == (tmp_path / "tls/server.pem", tmp_path / "tls/server-key.pem")
    assert _names(made.cert) == {"127.0.0.1", "localhost", "::1"}
    for key in (made.key, tmp_path / "tls" / "ca-key.pem"):
        assert stat.S_IMODE(key.stat().st_mode) == 0o600
    server = x509.load_pem_x509_certificate(made.cert.read_bytes())
    ca = x509.load_pem_x509_certificate(made.ca.read_bytes())
    server.verify_directly_issued_by(ca)
    first = (made.cert.read_bytes(), made.key.read_bytes(), made.ca.read_bytes())
    again = auto_certificate(tmp_path, "localhost")  # a later start: nothing changes
    assert again == made
    assert (again.cert.read_bytes(), again.key.read_bytes(), again.ca.read_bytes()) == first


def test_another_host_gets_a_new_certificate_from_the_same_ca(tmp_path: Path) -> None:
    made = auto_certificate(tmp_path, "127.0.0.1")
    ca = made.ca.read_bytes()  # type: ignore[union-attr]
    old = made.cert.read_bytes()
    auto_certificate(tmp_path, "10.1.2.3")
    assert made.cert.read_bytes() != old and made.ca.read_bytes() == ca  # type: ignore[union-attr]
    assert "10.1.2.3" in _names(made.cert)
    auto_certificate(tmp_path, "podium.internal.example")
    assert "podium.internal.example" in _names(made.cert)


def test_an_expiring_certificate_is_renewed(tmp_path: Path) -> None:
    made = auto_certificate(tmp_path, "127.0.0.1")
    old = made.cert.read_bytes()
    expiry = _not_after(made.cert)
    assert expiry - dt.datetime.now(dt.UTC) > dt.timedelta(days=SERVER_DAYS - 1)
    later = expiry - RENEW_BEFORE + dt.timedelta(hours=1)  # inside the renewal window
    auto_certificate(tmp_path, "127.0.0.1", now=later)
    assert made.cert.read_bytes() != old
    assert _not_after(made.cert) > expiry


def test_a_damaged_certificate_is_made_again(tmp_path: Path) -> None:
    made = auto_certificate(tmp_path, "127.0.0.1")
    made.cert.write_text("not a certificate")
    auto_certificate(tmp_path, "127.0.0.1")
    assert _names(made.cert) == {"127.0.0.1", "localhost", "::1"}


def test_a_server_on_every_interface_names_this_machine(tmp_path: Path) -> None:
    made = auto_certificate(tmp_path, "0.0.0.0")
    names = _names(made.cert)
    assert {"127.0.0.1", "localhost", "::1"} < names
    assert not any(ipaddress.ip_address(n).is_unspecified for n in names if n[0].isdigit())


def test_given_files_are_checked_to_load_together(tmp_path: Path) -> None:
    mine = auto_certificate(tmp_path / "a", "127.0.0.1")
    other = auto_certificate(tmp_path / "b", "127.0.0.1")
    given = server_tls(tmp_path, mode=None, cert=mine.cert, key=mine.key, host="127.0.0.1")
    assert given == ServerTls(cert=mine.cert, key=mine.key)
    with pytest.raises(InvalidInputError, match="do not load together") as mismatched:
        server_tls(tmp_path, mode=None, cert=mine.cert, key=other.key, host="127.0.0.1")
    assert mismatched.value.remedy
    with pytest.raises(InvalidInputError, match="does not exist"):
        server_tls(tmp_path, mode=None, cert=tmp_path / "no.pem", key=mine.key, host="x")


@pytest.mark.parametrize(
    ("mode", "cert", "key", "complaint"),
    [
        ("on", None, None, "must be 'auto' or 'off'"),
        ("auto", "c.pem", "k.pem", "not both"),
        ("off", "c.pem", "k.pem", "plain HTTP"),
        (None, "c.pem", None, "--tls-key is missing"),
        (None, None, "k.pem", "--tls-cert is missing"),
    ],
)
def test_bad_option_combinations_name_the_fix(
    tmp_path: Path, mode: str | None, cert: str | None, key: str | None, complaint: str
) -> None:
    with pytest.raises(InvalidInputError) as refused:
        server_tls(
            tmp_path,
            mode=mode,
            cert=None if cert is None else tmp_path / cert,
            key=None if key is None else tmp_path / key,
            host="127.0.0.1",
        )
    assert complaint in str(refused.value)
    assert refused.value.remedy
    assert not (tmp_path / "tls").exists()


def test_no_option_is_plain_http(tmp_path: Path) -> None:
    assert server_tls(tmp_path, mode=None, cert=None, key=None, host="127.0.0.1") is None
    assert server_tls(tmp_path, mode="off", cert=None, key=None, host="127.0.0.1") is None


def test_a_missing_ca_bundle_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="PODIUM_CA_BUNDLE") as refused:
        client_verify(tmp_path, ca_bundle=tmp_path / "nowhere.pem")
    assert refused.value.field == "ca_bundle"
    (tmp_path / "junk.pem").write_text("junk")
    with pytest.raises(InvalidInputError, match="not PEM"):
        client_verify(tmp_path, ca_bundle=tmp_path / "junk.pem")
