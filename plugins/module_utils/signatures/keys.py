# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Public keys as cosign writes them (PEM, PKIX) and the private key that signs a bundle.

A key is named by its fingerprint (SHA256 of its DER SubjectPublicKeyInfo, as the sigstore
bundle's publicKey hint and `cosign public-key` users compare it), so a verdict says which
key signed without quoting the key. Signing goes through the Signer interface (sign bytes,
give the public key), so a KMS or HSM signer can stand in for the PEM file later.
"""

from __future__ import annotations

import base64
import hashlib
import os

from ansible_collections.airlock.airgap.plugins.module_utils.signatures.errors import SignatureError

try:
    from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa, utils
except ImportError:  # the modules report it through require_cryptography
    serialization = None

PEM_MARK = "-----BEGIN"


class PublicKey:
    """One allowed public key: verifies signatures over bytes or over a SHA-256 digest."""

    def __init__(self, key, origin):
        if not isinstance(key, (ec.EllipticCurvePublicKey, ed25519.Ed25519PublicKey, rsa.RSAPublicKey)):
            raise SignatureError(f"{origin}: a {type(key).__name__} cannot verify signatures here; give an ECDSA, Ed25519 or RSA public key")
        self.key = key
        self.origin = origin
        self.der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        self.fingerprint = "SHA256:" + hashlib.sha256(self.der).hexdigest()

    @property
    def pem(self):
        return self.key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()

    def verifies(self, signature, data):
        """True when signature (raw bytes: DER for ECDSA) is this key's over data."""
        return self._verifies(signature, data, hashes.SHA256())

    def verifies_digest(self, signature, sha256_digest):
        """True when signature is this key's over the message whose SHA-256 is sha256_digest (bytes)."""
        if isinstance(self.key, ed25519.Ed25519PublicKey):
            return False  # Ed25519 signs the message itself, never a digest
        return self._verifies(signature, sha256_digest, utils.Prehashed(hashes.SHA256()))

    def _verifies(self, signature, data, algorithm):
        try:
            if isinstance(self.key, ec.EllipticCurvePublicKey):
                self.key.verify(signature, data, ec.ECDSA(algorithm))
            elif isinstance(self.key, rsa.RSAPublicKey):
                self.key.verify(signature, data, padding.PKCS1v15(), algorithm)
            else:
                self.key.verify(signature, data)
        except (InvalidSignature, ValueError):
            return False
        return True


def require_cryptography():
    """Refuse to go on without the library every signature check needs, saying how to get it."""
    if serialization is None:
        raise SignatureError("the Python library 'cryptography' is required to verify and make signatures: "
                             "pip install cryptography (it is in the collection's requirements.txt)")


def load_public_key(text, origin="public key"):
    """A PEM public key, given as its text or as a path to it."""
    require_cryptography()
    pem = _pem_text(text, origin)
    try:
        return PublicKey(serialization.load_pem_public_key(pem.encode()), origin)
    except (ValueError, UnsupportedAlgorithm) as error:
        raise SignatureError(f"{origin} is not a PEM public key ({error}): give the key as 'cosign public-key' "
                             "or 'openssl pkey -pubout' writes it") from error


def load_der_public_key(raw, origin):
    require_cryptography()
    try:
        return PublicKey(serialization.load_der_public_key(raw), origin)
    except (ValueError, UnsupportedAlgorithm) as error:
        raise SignatureError(f"{origin} is not a DER public key ({error})") from error


def load_public_keys(texts, origin):
    return [load_public_key(text, f"{origin}[{number}]") for number, text in enumerate(texts)]


def matching(keys, fingerprint_or_none):
    """The keys a signature may be checked with: the one its hint names when it names one of them, else all."""
    named = [key for key in keys if key.fingerprint == fingerprint_or_none or key.fingerprint.split(":")[1] == fingerprint_or_none]
    return named or keys


class Signer:
    """Signs bytes with an ECDSA P-256 private key (encrypted PEM), as cosign sign-blob does."""

    def __init__(self, private_key, origin):
        if not isinstance(private_key, ec.EllipticCurvePrivateKey) or private_key.curve.name != "secp256r1":
            raise SignatureError(f"{origin} is not an ECDSA P-256 private key: generate one with "
                                 "'cosign generate-key-pair' or 'openssl ecparam -name prime256v1 -genkey'")
        self._private_key = private_key
        self.public_key = PublicKey(private_key.public_key(), f"public key of {origin}")

    def sign(self, data):
        """DER ECDSA signature over SHA-256 of data."""
        return self._private_key.sign(data, ec.ECDSA(hashes.SHA256()))


def load_signer(path, password):
    """The signer of a PEM private key file, decrypted with password (None for an unencrypted key)."""
    require_cryptography()
    try:
        with open(path, "rb") as handle:
            pem = handle.read()
    except OSError as error:
        raise SignatureError(f"signing key {path} cannot be read ({error.strerror}): give the path of the PEM private key") from error
    try:
        private_key = serialization.load_pem_private_key(pem, password.encode() if password else None)
    except TypeError as error:
        raise SignatureError(f"signing key {path} is encrypted and no password was given, or it is not encrypted and one was: "
                             "set the password variable to the key's password, or leave it unset") from error
    except (ValueError, UnsupportedAlgorithm) as error:
        raise SignatureError(f"signing key {path} could not be read as a PEM private key with this password: "
                             "check the password and that the file is the private key") from error
    return Signer(private_key, f"signing key {path}")


def b64decode(text, what):
    """Strict base64, refusing what is not, with a message naming what it was."""
    try:
        return base64.b64decode(text, validate=True)
    except (ValueError, TypeError) as error:
        raise SignatureError(f"{what} is not base64") from error


def _pem_text(text, origin):
    if not isinstance(text, str) or not text.strip():
        raise SignatureError(f"{origin} must be a PEM public key or the path of one")
    if PEM_MARK in text:
        return text
    try:
        with open(os.path.expanduser(text), encoding="ascii") as handle:
            return handle.read()
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise SignatureError(f"{origin}: {text!r} cannot be read ({error}); give the PEM text or a readable path") from error
