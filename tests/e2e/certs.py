"""Certificates made by the tests: a CA with a server certificate for 127.0.0.1 (TLS), and
self-signed signing certificates (Celery message signing)."""

from __future__ import annotations

import datetime
import ipaddress
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def _write_key(key: rsa.RSAPrivateKey, path: Path) -> None:
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                       serialization.PrivateFormat.TraditionalOpenSSL,
                                       serialization.NoEncryption()))
    path.chmod(0o600)


def _certificate(subject: str, key: rsa.RSAPrivateKey, issuer: str,
                 issuer_key: rsa.RSAPrivateKey, ca: bool,
                 san: x509.SubjectAlternativeName | None = None) -> x509.Certificate:
    now = datetime.datetime.now(datetime.UTC)
    builder = (x509.CertificateBuilder().subject_name(_name(subject)).issuer_name(_name(issuer))
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(minutes=5))
               .not_valid_after(now + datetime.timedelta(days=1))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if san is not None:
        builder = builder.add_extension(san, critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def make_tls_files(folder: Path) -> dict[str, Path]:
    """ca.crt, server.crt and server.key (for 127.0.0.1 and localhost) in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    ca_key, server_key = _key(), _key()
    ca = _certificate("mediacourier test CA", ca_key, "mediacourier test CA", ca_key, ca=True)
    san = x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                       x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])
    server = _certificate("127.0.0.1", server_key, "mediacourier test CA", ca_key, ca=False,
                          san=san)
    files = {"ca": folder / "ca.crt", "cert": folder / "server.crt", "key": folder / "server.key"}
    files["ca"].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    files["cert"].write_bytes(server.public_bytes(serialization.Encoding.PEM))
    _write_key(server_key, files["key"])
    return files


def make_signing_files(folder: Path, name: str) -> tuple[Path, Path]:
    """A key and a self-signed certificate for `name`; returns (key, cert)."""
    folder.mkdir(parents=True, exist_ok=True)
    key = _key()
    cert = _certificate(name, key, name, key, ca=False)
    key_path, cert_path = folder / f"{name}.key", folder / f"{name}.pem"
    _write_key(key, key_path)
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return key_path, cert_path
