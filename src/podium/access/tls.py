"""TLS for the server and trust for its clients: ``--tls auto`` and ``--tls-cert/--tls-key``.

``--tls auto`` makes a local certificate authority and a server certificate signed by it
under ``PODIUM_HOME/tls/`` (``ca.pem``, ``ca-key.pem``, ``server.pem``,
``server-key.pem``; the keys readable by their owner only) the first time, and reuses
them on later starts. The server certificate names ``127.0.0.1``, ``localhost``, ``::1``
and the host the server listens on; it is made again when it expires within
:data:`RENEW_BEFORE`, when it does not name the host asked for, or when the CA changed.

The SDK and CLI of the same ``PODIUM_HOME`` trust that CA for ``https://`` URLs
(:func:`client_verify`), beside the usual roots (``SSL_CERT_FILE``, ``SSL_CERT_DIR``,
else certifi's); ``PODIUM_CA_BUNDLE`` names another CA file to trust instead.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import ipaddress
import os
import socket
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from podium.errors import InvalidInputError

__all__ = [
    "CA_DAYS",
    "LOOPBACK_NAMES",
    "RENEW_BEFORE",
    "SERVER_DAYS",
    "ServerTls",
    "auto_certificate",
    "client_verify",
    "given_certificate",
    "server_tls",
    "tls_dir",
]

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")
CA_DAYS = 3650
# Under the 398 days browsers accept for a server certificate.
SERVER_DAYS = 397
RENEW_BEFORE = dt.timedelta(days=30)
_EVERY_INTERFACE = ("0.0.0.0", "::", "")


@dataclass(frozen=True)
class ServerTls:
    """The files a TLS server needs: its certificate chain and key, and the CA that
    signed it when podium made it (``None`` for a certificate given by the user)."""

    cert: Path
    key: Path
    ca: Path | None = None

    def pem_pair(self) -> tuple[bytes, bytes]:
        """The key and certificate chain as PEM bytes (what gRPC's credentials take)."""
        return self.key.read_bytes(), self.cert.read_bytes()


def tls_dir(home: Path) -> Path:
    """Where ``--tls auto`` keeps its CA and server certificate: ``home/tls``."""
    return home / "tls"


def server_tls(
    home: Path,
    *,
    mode: str | None,
    cert: Path | None,
    key: Path | None,
    host: str,
) -> ServerTls | None:
    """The TLS of a server from its command line: ``--tls auto|off`` or
    ``--tls-cert F --tls-key F`` (``None``: plain HTTP). Bad combinations are an
    InvalidInputError naming the fix."""
    chosen = (mode or "").strip().lower()
    if chosen not in ("", "auto", "off"):
        raise InvalidInputError(
            f"--tls must be 'auto' or 'off'; got {mode!r} instead",
            field="tls",
            remedy="pass --tls auto, or give your own with --tls-cert FILE --tls-key FILE",
        )
    given = cert is not None or key is not None
    if chosen == "auto" and given:
        raise InvalidInputError(
            "--tls auto makes its own certificate; --tls-cert and --tls-key give one",
            field="tls",
            remedy="pass either --tls auto or --tls-cert FILE --tls-key FILE, not both",
        )
    if chosen == "off" and given:
        raise InvalidInputError(
            "--tls off serves plain HTTP, yet a certificate was given",
            field="tls",
            remedy="drop --tls off to serve with the certificate, or drop --tls-cert/--tls-key",
        )
    if given:
        if cert is None or key is None:
            missing = "--tls-key" if key is None else "--tls-cert"
            raise InvalidInputError(
                f"{missing} is missing: a certificate needs its private key, and the reverse",
                field=missing.removeprefix("--").replace("-", "_"),
                remedy="pass both --tls-cert FILE and --tls-key FILE (PEM)",
            )
        return given_certificate(cert, key)
    if chosen == "auto":
        return auto_certificate(home, host)
    return None


def given_certificate(cert: Path, key: Path) -> ServerTls:
    """A user's certificate chain and key (PEM), checked to load and to match."""
    for path, option in ((cert, "--tls-cert"), (key, "--tls-key")):
        if not path.is_file():
            raise InvalidInputError(
                f"the file {str(path)!r} given to {option} does not exist",
                field=option.removeprefix("--").replace("-", "_"),
                remedy=f"pass the path of a PEM file to {option}",
            )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        context.load_cert_chain(str(cert), str(key))
    except (ssl.SSLError, OSError) as exc:
        raise InvalidInputError(
            f"the certificate {str(cert)!r} and key {str(key)!r} do not load together "
            f"({exc.__class__.__name__}: {exc})",
            field="tls_cert",
            remedy="give a PEM certificate chain and its own unencrypted PEM private key",
        ) from None
    return ServerTls(cert=cert.resolve(), key=key.resolve())


def auto_certificate(home: Path, host: str, *, now: dt.datetime | None = None) -> ServerTls:
    """The CA and server certificate of ``home`` for a server on ``host``: made the
    first time, reused while valid for :data:`RENEW_BEFORE` more and naming ``host``."""
    now = now or dt.datetime.now(dt.UTC)
    folder = tls_dir(home)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    names = _names_for(host)
    ca_path, ca_key_path = folder / "ca.pem", folder / "ca-key.pem"
    paths = ServerTls(cert=folder / "server.pem", key=folder / "server-key.pem", ca=ca_path)
    with _locked(folder / ".lock"):
        ca_cert, ca_key = _load_ca(ca_path, ca_key_path, now)
        if ca_cert is None or ca_key is None:
            ca_key = ec.generate_private_key(ec.SECP256R1())
            ca_cert = _make_ca(ca_key, now)
            _write(ca_key_path, _key_pem(ca_key), private=True)
            _write(ca_path, ca_cert.public_bytes(serialization.Encoding.PEM))
        if not _server_usable(paths, ca_cert, names, now):
            key = ec.generate_private_key(ec.SECP256R1())
            cert = _make_server(key, ca_cert, ca_key, names, now)
            _write(paths.key, _key_pem(key), private=True)
            _write(paths.cert, cert.public_bytes(serialization.Encoding.PEM))
    return paths


def client_verify(home: Path, *, ca_bundle: Path | None = None) -> ssl.SSLContext:
    """The trust of a client of ``home`` for ``https://`` URLs.

    ``ca_bundle`` (``PODIUM_CA_BUNDLE``) alone when given; otherwise the usual roots
    (``SSL_CERT_FILE`` / ``SSL_CERT_DIR`` when set, else certifi's) plus the CA that
    ``--tls auto`` made under ``home``, when there is one.
    """
    if ca_bundle is not None:
        if not ca_bundle.is_file():
            raise InvalidInputError(
                f"the CA bundle {str(ca_bundle)!r} (PODIUM_CA_BUNDLE) does not exist",
                field="ca_bundle",
                remedy="point PODIUM_CA_BUNDLE at a PEM file of the CA that signed the "
                "server's certificate (a --tls auto server's is PODIUM_HOME/tls/ca.pem)",
            )
        try:
            return ssl.create_default_context(cafile=str(ca_bundle))
        except ssl.SSLError as exc:
            raise InvalidInputError(
                f"the CA bundle {str(ca_bundle)!r} (PODIUM_CA_BUNDLE) is not PEM "
                f"certificates ({exc})",
                field="ca_bundle",
                remedy="give a PEM file of CA certificates",
            ) from None
    context = httpx.create_ssl_context()  # SSL_CERT_FILE, SSL_CERT_DIR, else certifi
    own = tls_dir(home) / "ca.pem"
    if own.is_file():
        with contextlib.suppress(ssl.SSLError):  # a damaged file trusts nothing extra
            context.load_verify_locations(cafile=str(own))
    return context


def _names_for(host: str) -> tuple[str, ...]:
    """The names a certificate for a server on ``host`` must carry."""
    bare = host.strip("[]").lower()
    extra: list[str] = []
    if bare in _EVERY_INTERFACE:
        extra.append(socket.gethostname().lower())
    elif bare not in LOOPBACK_NAMES:
        extra.append(bare)
    return tuple(dict.fromkeys([*LOOPBACK_NAMES, *extra]))


def _san(names: tuple[str, ...]) -> x509.SubjectAlternativeName:
    entries: list[x509.GeneralName] = []
    for name in names:
        try:
            entries.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            entries.append(x509.DNSName(name))
    return x509.SubjectAlternativeName(entries)


def _make_ca(key: ec.EllipticCurvePrivateKey, now: dt.datetime) -> x509.Certificate:
    name = x509.Name(
        [x509.NameAttribute(NameOID.COMMON_NAME, f"podium local CA ({socket.gethostname()})")]
    )
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )


def _make_server(
    key: ec.EllipticCurvePrivateKey,
    ca_cert: x509.Certificate,
    ca_key: ec.EllipticCurvePrivateKey,
    names: tuple[str, ...],
    now: dt.datetime,
) -> x509.Certificate:
    until = min(now + dt.timedelta(days=SERVER_DAYS), ca_cert.not_valid_after_utc)
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(until)
        .add_extension(_san(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )


def _load_ca(
    cert_path: Path, key_path: Path, now: dt.datetime
) -> tuple[x509.Certificate | None, ec.EllipticCurvePrivateKey | None]:
    """The CA under the home when it loads, matches its key and stays valid long enough."""
    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError):
        return None, None
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        return None, None
    if not _same_key(cert, key) or cert.not_valid_after_utc - RENEW_BEFORE <= now:
        return None, None
    return cert, key


def _server_usable(
    paths: ServerTls, ca_cert: x509.Certificate, names: tuple[str, ...], now: dt.datetime
) -> bool:
    try:
        cert = x509.load_pem_x509_certificate(paths.cert.read_bytes())
        key = serialization.load_pem_private_key(paths.key.read_bytes(), password=None)
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        cert.verify_directly_issued_by(ca_cert)
    except (OSError, ValueError, TypeError, x509.ExtensionNotFound, InvalidSignature):
        return False  # missing, damaged, or signed by another CA than today's
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        return False
    if not _same_key(cert, key):
        return False
    if cert.not_valid_after_utc - RENEW_BEFORE <= now:
        return False
    carried = {str(v) for v in san.get_values_for_type(x509.IPAddress)}
    carried |= {v.lower() for v in san.get_values_for_type(x509.DNSName)}
    return all(_canonical(name) in carried for name in names)


def _same_key(cert: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> bool:
    spki = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return cert.public_key().public_bytes(*spki) == key.public_key().public_bytes(*spki)


def _canonical(name: str) -> str:
    try:
        return str(ipaddress.ip_address(name))
    except ValueError:
        return name


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _write(path: Path, data: bytes, *, private: bool = False) -> None:
    """Write ``path`` whole or not at all (a temporary file renamed over it); a private
    file is readable by its owner only (0600) from its first byte."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
    try:
        if private:
            os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Servers starting at once on one home make the certificate once (POSIX lock)."""
    try:
        import fcntl
    except ImportError:  # Windows: no lock; the writes stay whole
        yield
        return
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
