"""RSA key pairs for the fakes and the app: generated at test time, or once under var/keys for `make run`."""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa


def generate_rsa_keypair() -> tuple[str, str]:
    """(private key as PKCS#8 PEM, public key as SubjectPublicKeyInfo PEM), 2048-bit."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


def ensure_keypair(directory: Path, name: str) -> tuple[Path, Path]:
    """`<name>_private.pem` and `<name>_public.pem` in `directory`, made once and reused after."""
    directory = Path(directory)
    private_path, public_path = directory / f"{name}_private.pem", directory / f"{name}_public.pem"
    if not (private_path.is_file() and public_path.is_file()):
        directory.mkdir(parents=True, exist_ok=True)
        private, public = generate_rsa_keypair()
        private_path.write_text(private)
        private_path.chmod(0o600)
        public_path.write_text(public)
    return private_path, public_path


def load_rsa_private_key(pem: str) -> rsa.RSAPrivateKey:
    """A PEM private key that must be RSA (the providers sign with RSA2 / SHA256-RSA2048 only)."""
    key = serialization.load_pem_private_key(pem.encode(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise TypeError(f"an RSA private key is needed, not {type(key).__name__}")
    return key


def load_rsa_public_key(pem: str) -> rsa.RSAPublicKey:
    """A PEM public key that must be RSA."""
    key = serialization.load_pem_public_key(pem.encode())
    if not isinstance(key, rsa.RSAPublicKey):
        raise TypeError(f"an RSA public key is needed, not {type(key).__name__}")
    return key
