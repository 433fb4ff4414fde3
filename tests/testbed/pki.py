"""A throw-away CA and server certificate for the private registry, made at start.

Tests then prove the real thing: TLS verified against this CA, and a clear failure without it.
"""

import os
import subprocess


def make_ca_and_server_cert(directory, openssl="openssl", addresses=("127.0.0.1",)):
    """Write ca.crt/ca.key and server.crt/server.key (localhost and addresses) under directory."""
    os.makedirs(directory, exist_ok=True)
    paths = {name: os.path.join(directory, name) for name in
             ("ca.crt", "ca.key", "server.crt", "server.key", "server.csr", "server.ext")}
    ec_key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    _run([openssl, "req", "-x509", *ec_key, "-keyout", paths["ca.key"], "-out", paths["ca.crt"],
          "-days", "7", "-subj", "/CN=airlock testbed CA",
          "-addext", "basicConstraints=critical,CA:TRUE",
          "-addext", "keyUsage=critical,keyCertSign,cRLSign"])
    _run([openssl, "req", "-new", *ec_key, "-keyout", paths["server.key"],
          "-out", paths["server.csr"], "-subj", "/CN=localhost"])
    with open(paths["server.ext"], "w", encoding="ascii") as ext:
        ext.write("subjectAltName=DNS:localhost," + ",".join(f"IP:{a}" for a in addresses) + "\n"
                  "extendedKeyUsage=serverAuth\n"
                  "keyUsage=critical,digitalSignature\n"
                  "authorityKeyIdentifier=keyid\n")
    _run([openssl, "x509", "-req", "-in", paths["server.csr"], "-CA", paths["ca.crt"],
          "-CAkey", paths["ca.key"], "-CAcreateserial", "-out", paths["server.crt"],
          "-days", "7", "-extfile", paths["server.ext"]])
    return paths


def make_htpasswd(path, user, password, htpasswd="htpasswd"):
    """bcrypt entries: the only kind the distribution registry accepts."""
    entry = _run([htpasswd, "-Bbn", user, password]).strip()
    with open(path, "w", encoding="ascii") as handle:
        handle.write(entry + "\n")


def _run(argv):
    result = subprocess.run(argv, check=False, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"{argv[0]} {argv[1]} failed: {result.stderr.strip()}")
    return result.stdout
