"""The local mesh's certificate authority: a CA made at each start and one short-lived
certificate per workload identity, with its SPIFFE ID as URI SAN.

    from mesh.ca import issue
    certs = issue(folder, {"audience": ("spiffe://cluster.local/ns/marketing/sa/audience", ["audience"])})
    certs.ca, certs.cert("audience"), certs.key("audience")

Made with the `openssl` command line (Debian's, /usr/bin/openssl): the Python `cryptography`
package is not among the platform's dependencies. Keys are EC P-256, owner-only files. A
workload certificate is valid for 24 hours (as Istio's by default) and renewed by the supervisor
every 12 hours (`issue_into` again: new keys, same CA); the CA (30 days) and every certificate
are made again at every start.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

VALID_DAYS = 1  # a workload certificate
CA_VALID_DAYS = 30
CA_NAME = "ca"
_SUBJECT_ORG = "marketing-platform"
_EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]


class CertificateError(RuntimeError):
    pass


@dataclass(frozen=True)
class Certificates:
    """Where the CA's and each identity's files are."""

    folder: Path

    @property
    def ca(self) -> Path:
        return self.folder / f"{CA_NAME}.crt"

    @property
    def ca_key(self) -> Path:
        return self.folder / f"{CA_NAME}.key"

    def cert(self, name: str) -> Path:
        return self.folder / f"{name}.crt"

    def key(self, name: str) -> Path:
        return self.folder / f"{name}.key"


def openssl() -> str:
    found = shutil.which("openssl")
    if not found:
        raise CertificateError("the local mesh needs the openssl command (Debian: apt-get install openssl); "
                               "or run without the mesh: MKT_MESH=off")
    return found


def _run_all(commands: Iterable[list[str]]) -> None:
    """Runs the openssl commands side by side and fails with the first error."""
    running = [(command, subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                          stdin=subprocess.DEVNULL)) for command in commands]
    failures = []
    for command, process in running:
        out, err = process.communicate(timeout=60)
        if process.returncode != 0:
            failures.append(f"{' '.join(command[:3])} ...: {(err or out).decode(errors='replace').strip()}")
    if failures:
        raise CertificateError("making the local mesh's certificates failed: " + failures[0])


def make_ca(folder: Path, common_name: str = "marketing-platform local mesh CA") -> Certificates:
    """A new CA in `folder` (replacing any earlier one)."""
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    certs = Certificates(folder)
    _run_all([[openssl(), "req", "-x509", "-new", *_EC, "-keyout", str(certs.ca_key), "-out", str(certs.ca),
               "-subj", f"/O={_SUBJECT_ORG}/CN={common_name}", "-days", str(CA_VALID_DAYS),
               "-addext", "basicConstraints=critical,CA:TRUE",
               "-addext", "keyUsage=critical,keyCertSign,cRLSign"]])
    return certs


def issue_into(certs: Certificates, identities: Mapping[str, tuple[str, Iterable[str]]]) -> Certificates:
    """Signs one certificate per identity with the CA in `certs`: name -> (SPIFFE ID, DNS names).
    Usable by a server and a client alike (mutual TLS). Each key and certificate is made in a
    scratch folder and then moved into place, so a reader never sees half a file."""
    scratch = certs.folder / ".new"
    if scratch.exists():
        shutil.rmtree(scratch)
    scratch.mkdir(mode=0o700)
    made = Certificates(scratch)
    commands = []
    for name, (spiffe_id, dns_names) in identities.items():
        if name == CA_NAME:
            raise CertificateError(f"{CA_NAME!r} is the CA's own file name")
        sans = ",".join([f"URI:{spiffe_id}", *(f"DNS:{dns}" for dns in dns_names)])
        commands.append([openssl(), "req", "-x509", "-new", *_EC, "-keyout", str(made.key(name)),
                         "-out", str(made.cert(name)), "-subj", f"/O={_SUBJECT_ORG}/CN={name}",
                         "-CA", str(certs.ca), "-CAkey", str(certs.ca_key), "-days", str(VALID_DAYS),
                         "-addext", f"subjectAltName={sans}",
                         "-addext", "basicConstraints=critical,CA:FALSE",
                         "-addext", "keyUsage=critical,digitalSignature,keyAgreement",
                         "-addext", "extendedKeyUsage=serverAuth,clientAuth"])
    _run_all(commands)
    for name in identities:
        os.chmod(made.key(name), 0o600)
        os.replace(made.key(name), certs.key(name))
        os.replace(made.cert(name), certs.cert(name))
    scratch.rmdir()
    return certs


def issue(folder: Path, identities: Mapping[str, tuple[str, Iterable[str]]]) -> Certificates:
    """A new CA and a certificate per identity, in a folder emptied first."""
    if folder.exists():
        shutil.rmtree(folder)
    return issue_into(make_ca(folder), identities)
