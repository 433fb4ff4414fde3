"""Signatures made by tools this collection did not write: openssl, securesystemslib, the npm @sigstore packages.

Only the envelopes around them (the cosign-style manifests, the simple-signing JSON) are written
here, as cosign lays them out; every signature byte comes from the independent tool.
"""

import base64
import json
import os
import subprocess

from cryptography.hazmat.primitives import serialization
from securesystemslib.dsse import Envelope
from securesystemslib.signer import CryptoSigner

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NPM_DIR = os.path.join(REPO, ".cache", "npm-sigstore")
NPM_PACKAGES = ["@sigstore/sign@4.1.1", "@sigstore/verify@3.1.1", "@sigstore/bundle@4.0.0", "@sigstore/protobuf-specs@0.5.2"]

SIGN_JS = r"""
const crypto = require('crypto'); const fs = require('fs');
const {DSSEBundleBuilder} = require('@sigstore/sign'); const {bundleToJSON} = require('@sigstore/bundle');
const [keyPath, payloadPath] = process.argv.slice(1);
const key = crypto.createPrivateKey(fs.readFileSync(keyPath));
const publicKey = crypto.createPublicKey(key);
const hint = crypto.createHash('sha256').update(publicKey.export({type: 'spki', format: 'der'})).digest('hex');
const signer = {sign: async (data) => ({signature: crypto.sign('sha256', data, key),
                                         key: {$case: 'publicKey', publicKey: publicKey.export({type: 'spki', format: 'pem'}), hint}})};
new DSSEBundleBuilder({signer, witnesses: []})
  .create({data: fs.readFileSync(payloadPath), type: 'application/vnd.in-toto+json'})
  .then((bundle) => process.stdout.write(JSON.stringify(bundleToJSON(bundle))));
"""

VERIFY_JS = r"""
const crypto = require('crypto'); const fs = require('fs');
const {Verifier, toTrustMaterial, toSignedEntity} = require('@sigstore/verify');
const {bundleFromJSON} = require('@sigstore/bundle'); const {TrustedRoot, PublicKeyDetails} = require('@sigstore/protobuf-specs');
const [publicKeyPath, bundlePath, artifactPath] = process.argv.slice(1);
const bundle = bundleFromJSON(JSON.parse(fs.readFileSync(bundlePath)));
const hint = bundle.verificationMaterial.content.publicKey.hint;
const raw = crypto.createPublicKey(fs.readFileSync(publicKeyPath)).export({type: 'spki', format: 'der'});
const root = TrustedRoot.fromJSON({mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
                                   tlogs: [], certificateAuthorities: [], ctlogs: [], timestampAuthorities: []});
const keys = {[hint]: {rawBytes: raw, keyDetails: PublicKeyDetails.PKIX_ECDSA_P256_SHA_256, validFor: {start: new Date(0)}}};
const verifier = new Verifier(toTrustMaterial(root, keys), {tlogThreshold: 0, ctlogThreshold: 0, timestampThreshold: 0});
verifier.verify(toSignedEntity(bundle, fs.readFileSync(artifactPath)));
process.stdout.write('verified by ' + hint + '\n');
"""


def openssl_keypair(directory, name):
    """An ECDSA P-256 key pair from openssl: (private PEM path, public PEM path)."""
    private, public = os.path.join(directory, f"{name}.key"), os.path.join(directory, f"{name}.pub")
    subprocess.run(["openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", private], check=True, timeout=30)
    subprocess.run(["openssl", "pkey", "-in", private, "-pubout", "-out", public], check=True, timeout=30)
    return private, public


def openssl_sign(private_key, data):
    """DER ECDSA over SHA-256 of data, by openssl dgst."""
    return subprocess.run(["openssl", "dgst", "-sha256", "-sign", private_key], input=data, capture_output=True,
                          check=True, timeout=30).stdout


def simple_signing_payload(reference, digest):
    """The payload cosign signs for an image (its simple-signing JSON)."""
    return json.dumps({"critical": {"identity": {"docker-reference": reference}, "image": {"docker-manifest-digest": digest},
                                    "type": "cosign container image signature"}, "optional": None}).encode()


def in_toto_statement(digest):
    return json.dumps({"_type": "https://in-toto.io/Statement/v1", "subject": [{"name": "image", "digest": {"sha256": digest.split(":")[1]}}],
                       "predicateType": "https://slsa.dev/provenance/v1", "predicate": {"builder": {"id": "tests"}}}).encode()


def securesystemslib_envelope(private_key, statement):
    """A DSSE envelope (dict) signed by securesystemslib's CryptoSigner."""
    with open(private_key, "rb") as handle:
        signer = CryptoSigner(serialization.load_pem_private_key(handle.read(), None))
    envelope = Envelope(payload=statement, payload_type="application/vnd.in-toto+json", signatures={})
    envelope.sign(signer)
    return envelope.to_dict()


def npm_sigstore():
    """The npm @sigstore packages, installed once into the repository's .cache from the configured npm registry."""
    if not os.path.isdir(os.path.join(NPM_DIR, "node_modules", "@sigstore", "verify")):
        os.makedirs(NPM_DIR, exist_ok=True)
        subprocess.run(["npm", "install", "--prefix", NPM_DIR, "--no-audit", "--no-fund", "--no-save", *NPM_PACKAGES],
                       check=True, capture_output=True, timeout=300)
    return os.path.join(NPM_DIR, "node_modules")


def sigstore_js_bundle(node_modules, private_key, statement, scratch):
    """A v0.3 sigstore bundle (DSSE, key hint) made by @sigstore/sign."""
    payload = os.path.join(scratch, "statement.json")
    with open(payload, "wb") as handle:
        handle.write(statement)
    completed = _node(node_modules, SIGN_JS, [private_key, payload])
    return json.loads(completed.stdout)


def sigstore_js_verify(node_modules, public_key, bundle_path, artifact_path):
    """@sigstore/verify's verdict on a message-signature bundle: (passed, output)."""
    completed = _node(node_modules, VERIFY_JS, [public_key, bundle_path, artifact_path], check=False)
    return completed.returncode == 0, completed.stdout + completed.stderr


def b64(data):
    return base64.b64encode(data).decode()


def _node(node_modules, script, arguments, check=True):
    return subprocess.run(["node", "-e", script, *arguments], capture_output=True, text=True, timeout=120, check=check,
                          env=dict(os.environ, NODE_PATH=node_modules))
