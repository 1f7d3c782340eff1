"""A throwaway Kubernetes control plane for the cluster tests: etcd, kube-apiserver, and optionally
kube-controller-manager and istiod (pilot-discovery), as child processes on free ports of 127.0.0.1, with
no container runtime and no kubelet (pods are scheduled nowhere and stay Pending).

    python -m devstack.servers.kube [--controller-manager] [--istiod]   # in the foreground; prints the kubeconfig

In code:

    with ThrowawayKube(controller_manager=True, istiod=True, setup=install_crds) as kube:
        kube.api.apply(obj)          # server-side apply (PATCH application/apply-patch+yaml)
        kube.api.get("/apis/apps/v1/namespaces/x/replicasets")
        kube.kubeconfig              # a kubeconfig file with the admin token
        kube.istiod_http_url, kube.istiod_grpc_address   # /debug/..., plaintext xDS (ADS)

The binaries are devstack/tools/controlplanes.py's, built once from the Go module proxy (about 13 minutes of
compiling the first time). Everything else is made in a temporary folder at each start, with `cryptography`:
a CA, the API server's serving certificate (127.0.0.1, localhost, the `kubernetes` service's names), the
service-account signing key pair, a token file whose one token is an admin in group system:masters, and
a kubeconfig. etcd keeps its data there too (no fsync). `setup(api)` runs once the API server is ready and
before the controller manager and istiod start (the tests install the Istio and Prometheus Operator CRDs
there, which istiod watches from its start). Ready means etcd's /health, the API server's /readyz, the
controller manager's /healthz and istiod's /ready; each start that fails says which and ends with the last
lines of that process's log."""

from __future__ import annotations

import datetime
import ipaddress
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests
import yaml

from devstack.processes import free_ports, stop_process, tail
from devstack.servers.lifecycle import ServerUnavailable, ThrowawayServer, run_in_foreground
from devstack.tools import controlplanes

READY_TIMEOUT = 60.0
SERVICE_CIDR = "10.96.0.0/16"
ADMIN_USER = "mkt-admin"
FAILED_START_LOGS = Path(tempfile.gettempdir()) / "mkt-kube-failed-start"
ISTIO_NAMESPACE = "istio-system"


class KubeUnavailable(ServerUnavailable):
    """The control plane cannot be built or started here; the message says why and what to do."""


class KubeAPIError(RuntimeError):
    """The API server refused a request: `status` is the HTTP code, `body` its Status object (decoded)."""

    def __init__(self, method: str, path: str, status: int, body: Any):
        self.status, self.body = status, body
        message = body.get("message") if isinstance(body, dict) else body
        super().__init__(f"{method} {path}: {status} {message}")

    @property
    def message(self) -> str:
        return self.body.get("message", "") if isinstance(self.body, dict) else str(self.body)


# -- the API client ------------------------------------------------------------------------------------------


class KubeAPI:
    """A small client of the API server (`requests` with the admin token): raw requests, server-side
    apply of any kind (the kind's resource found through discovery), and waits."""

    def __init__(self, url: str, token: str, ca_file: Path):
        self.url = url
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"
        self.ca_file = str(ca_file)  # given to each request: a Session's `verify` loses to REQUESTS_CA_BUNDLE
        self._resources: dict[tuple[str, str], tuple[str, bool]] = {}  # (apiVersion, kind) -> (plural, namespaced)

    def request(self, method: str, path: str, *, body: Any = None, content_type: str = "application/json",
                params: dict | None = None, timeout: float = 30.0) -> Any:
        data = None
        if body is not None:
            data = body if isinstance(body, (bytes, str)) else json.dumps(body)
        headers = {"Content-Type": content_type} if data is not None else None
        response = self.session.request(method, self.url + path, data=data, params=params, timeout=timeout,
                                        verify=self.ca_file, headers=headers)
        try:
            decoded = response.json()
        except ValueError:
            decoded = response.text
        if response.status_code >= 400:
            raise KubeAPIError(method, path, response.status_code, decoded)
        return decoded

    def get(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, params=params or None)

    def delete(self, path: str) -> Any:
        return self.request("DELETE", path)

    # -- kinds and paths ----------------------------------------------------------------------------------

    def _discover(self, api_version: str) -> None:
        base = f"/api/{api_version}" if "/" not in api_version else f"/apis/{api_version}"
        try:
            listing = self.get(base)
        except KubeAPIError as error:
            if error.status == 404:
                return
            raise
        for resource in listing.get("resources", []):
            if "/" not in resource["name"]:  # not a subresource
                self._resources[(api_version, resource["kind"])] = (resource["name"], resource["namespaced"])

    def resource(self, api_version: str, kind: str) -> tuple[str, bool]:
        """(plural, namespaced) of a kind; discovery is asked again when the kind is new (a CRD just added)."""
        key = (api_version, kind)
        if key not in self._resources:
            self._discover(api_version)
        if key not in self._resources:
            raise KubeAPIError("GET", f"discovery of {api_version}", 404,
                               {"message": f"no kind {kind} in {api_version}"})
        return self._resources[key]

    def collection_path(self, api_version: str, kind: str, namespace: str | None = None) -> str:
        plural, namespaced = self.resource(api_version, kind)
        base = f"/api/{api_version}" if "/" not in api_version else f"/apis/{api_version}"
        if namespaced:
            if not namespace:
                raise ValueError(f"{kind} is namespaced: give a namespace")
            return f"{base}/namespaces/{namespace}/{plural}"
        return f"{base}/{plural}"

    def path(self, obj: dict, namespace: str | None = None) -> str:
        metadata = obj["metadata"]
        return (f"{self.collection_path(obj['apiVersion'], obj['kind'], metadata.get('namespace') or namespace)}"
                f"/{metadata['name']}")

    # -- server-side apply -------------------------------------------------------------------------------

    def apply(self, obj: dict, field_manager: str = "mkt-tests", force: bool = True,
              namespace: str | None = None, dry_run: bool = False) -> dict:
        """PATCH application/apply-patch+yaml (sent as JSON, which is YAML): creates or updates `obj`; the API
        server's answer (the object).
        KubeAPIError (422 for an invalid object, with the server's message) when refused."""
        params = {"fieldManager": field_manager, "force": "true" if force else "false"}
        if dry_run:
            params["dryRun"] = "All"
        return self.request("PATCH", self.path(obj, namespace), body=json.dumps(obj),
                            content_type="application/apply-patch+yaml", params=params)

    def apply_all(self, objects: list[dict], field_manager: str = "mkt-tests", namespace: str | None = None,
                  workers: int = 4) -> dict[str, dict | KubeAPIError]:
        """Applies every object, `workers` requests at a time (their kinds must be served already: CRDs
        Established, namespaces made); "Kind/name" -> the answer, or the error that refused it."""
        from concurrent.futures import ThreadPoolExecutor

        for obj in objects:  # discovery once per group/version, before the requests run in parallel
            try:
                self.resource(obj["apiVersion"], obj["kind"])
            except KubeAPIError:
                pass  # a kind not served: its apply below says so

        def one(obj: dict) -> dict | KubeAPIError:
            try:
                return self.apply(obj, field_manager, namespace=namespace)
            except KubeAPIError as error:
                return error

        with ThreadPoolExecutor(max_workers=workers) as pool:
            answers = list(pool.map(one, objects))
        return {f"{obj['kind']}/{obj['metadata']['name']}": answer for obj, answer in zip(objects, answers)}

    def items(self, api_version: str, kind: str, namespace: str | None = None, **params: Any) -> list[dict]:
        return self.get(self.collection_path(api_version, kind, namespace), **params).get("items", [])

    def wait_established(self, crd_names: list[str], timeout: float = 60.0) -> None:
        """Waits until each CustomResourceDefinition is Established (its kind then served)."""
        deadline = time.monotonic() + timeout
        pending = set(crd_names)
        while pending:
            for name in sorted(pending):
                crd = self.get(f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{name}")
                conditions = {c["type"]: c["status"] for c in crd.get("status", {}).get("conditions", [])}
                if conditions.get("Established") == "True":
                    pending.discard(name)
            if pending and time.monotonic() > deadline:
                raise TimeoutError(f"CRDs not Established after {timeout:.0f} s: {sorted(pending)}")
            if pending:
                time.sleep(0.1)

    def wait_for(self, what: str, check: Callable[[], Any], timeout: float = 60.0, interval: float = 0.2) -> Any:
        """Polls `check()` until it returns something true; TimeoutError naming `what` and the last value."""
        deadline = time.monotonic() + timeout
        while True:
            value = check()
            if value:
                return value
            if time.monotonic() > deadline:
                raise TimeoutError(f"{what}: not so after {timeout:.0f} s (last: {value!r})")
            time.sleep(interval)


# -- certificates ---------------------------------------------------------------------------------------------


def _key():
    from cryptography.hazmat.primitives.asymmetric import ec

    return ec.generate_private_key(ec.SECP256R1())


def _pem_key(key) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _pem_cert(cert) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return cert.public_bytes(serialization.Encoding.PEM)


def write_certificates(folder: Path, service_ip: str = "10.96.0.1") -> dict[str, Path]:
    """A CA, the API server's serving certificate signed by it, and the service-account key pair, as PEM files
    in `folder`: names -> paths (ca.crt, ca.key, apiserver.crt, apiserver.key, sa.key, sa.pub)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.timezone.utc)
    not_before, not_after = now - datetime.timedelta(hours=1), now + datetime.timedelta(days=2)
    ca_key, server_key, sa_key = _key(), _key(), _key()
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "mkt-tests-kubernetes-ca")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(not_before).not_valid_after(not_after)
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                       content_commitment=False, key_encipherment=False, data_encipherment=False,
                                       key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    names = ["localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc",
             "kubernetes.default.svc.cluster.local"]
    server = (x509.CertificateBuilder()
              .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kube-apiserver")]))
              .issuer_name(ca_name).public_key(server_key.public_key()).serial_number(x509.random_serial_number())
              .not_valid_before(not_before).not_valid_after(not_after)
              .add_extension(x509.SubjectAlternativeName(
                  [x509.DNSName(n) for n in names]
                  + [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ("127.0.0.1", service_ip)]), critical=False)
              .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
              .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
              .sign(ca_key, hashes.SHA256()))
    files = {
        "ca.crt": _pem_cert(ca), "ca.key": _pem_key(ca_key),
        "apiserver.crt": _pem_cert(server), "apiserver.key": _pem_key(server_key),
        "sa.key": _pem_key(sa_key),
        "sa.pub": sa_key.public_key().public_bytes(serialization.Encoding.PEM,
                                                   serialization.PublicFormat.SubjectPublicKeyInfo),
    }
    paths = {}
    for name, content in files.items():
        path = folder / name
        path.write_bytes(content)
        path.chmod(0o600)
        paths[name] = path
    return paths


def write_kubeconfig(path: Path, server: str, ca_file: Path, token: str, user: str = ADMIN_USER) -> None:
    config = {
        "apiVersion": "v1", "kind": "Config", "current-context": "mkt-tests",
        "clusters": [{"name": "mkt-tests", "cluster": {"server": server, "certificate-authority": str(ca_file)}}],
        "users": [{"name": user, "user": {"token": token}}],
        "contexts": [{"name": "mkt-tests", "context": {"cluster": "mkt-tests", "user": user}}],
    }
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    path.chmod(0o600)


# -- the control plane ---------------------------------------------------------------------------------------


_MESH_CONFIG = """\
rootNamespace: istio-system
trustDomain: cluster.local
enableTracing: false
accessLogFile: ""
defaultConfig:
  discoveryAddress: 127.0.0.1:{secure_grpc_port}
"""


# A process to start: its command, its environment's additions, and the check that it is ready.
_Launch = tuple[list[str], dict[str, str], Callable[[], bool]]


class ThrowawayKube(ThrowawayServer):
    """etcd and kube-apiserver (and kube-controller-manager, istiod when asked) in a temporary folder."""

    def __init__(self, controller_manager: bool = False, istiod: bool = False,
                 setup: Callable[[KubeAPI], None] | None = None, ready_timeout: float = READY_TIMEOUT,
                 build: bool = True):
        self.with_controller_manager = controller_manager
        self.with_istiod = istiod
        self.setup = setup
        self.ready_timeout = ready_timeout
        self.build = build  # False: fail at once when a binary is not built yet
        self.folder: Path | None = None
        self.processes: dict[str, subprocess.Popen] = {}
        self.api: KubeAPI | None = None
        self.url: str | None = None
        self.token: str | None = None
        self.istiod_http_port: int | None = None
        self.istiod_grpc_port: int | None = None
        self.timings: dict[str, float] = {}  # process name -> seconds from launch to ready

    # -- public ------------------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return bool(self.processes) and all(p.poll() is None for p in self.processes.values())

    @property
    def kubeconfig(self) -> Path:
        if self.folder is None:
            raise RuntimeError("the control plane is not running; call start() or use it as a context manager")
        return self.folder / "kubeconfig"

    @property
    def ca_file(self) -> Path:
        return self.kubeconfig.parent / "pki" / "ca.crt"

    @property
    def istiod_http_url(self) -> str:
        if self.istiod_http_port is None:
            raise RuntimeError("istiod is not running (ThrowawayKube(istiod=True))")
        return f"http://127.0.0.1:{self.istiod_http_port}"

    @property
    def istiod_grpc_address(self) -> str:
        """Plaintext xDS (ADS) of istiod, host:port."""
        if self.istiod_grpc_port is None:
            raise RuntimeError("istiod is not running (ThrowawayKube(istiod=True))")
        return f"127.0.0.1:{self.istiod_grpc_port}"

    def log_file(self, name: str) -> Path:
        """The log of one process ("etcd", "kube-apiserver", "kube-controller-manager", "istiod")."""
        if self.folder is None:
            raise RuntimeError("the control plane is not running")
        return self.folder / f"{name}.log"

    @property
    def log_path(self) -> Path:
        return self.log_file("kube-apiserver")

    def log_tail(self, name: str, lines: int = 25) -> str:
        return tail(self.log_file(name), lines)

    # -- lifecycle -----------------------------------------------------------------------------------------

    def _binaries(self) -> dict[str, Path]:
        names = ["etcd", "kube-apiserver"]
        if self.with_controller_manager:
            names.append("kube-controller-manager")
        if self.with_istiod:
            names.append("pilot-discovery")
        missing = [name for name in names if controlplanes.installed(name) is None]
        if missing and not self.build:
            raise KubeUnavailable(f"not built: {', '.join(missing)}; build them once with "
                                  f"`.venv/bin/python -m devstack.tools.controlplanes --install` (about 13 minutes)")
        try:
            return controlplanes.ensure_installed(*names)
        except controlplanes.ControlPlaneUnavailable as error:
            raise KubeUnavailable(str(error)) from None

    def _start(self) -> None:
        binaries = self._binaries()
        self.folder = Path(tempfile.mkdtemp(prefix="mkt-kube-"))
        try:
            pki = self.folder / "pki"
            pki.mkdir()
            certs = write_certificates(pki)
            self.token = secrets.token_urlsafe(32)
            tokens = self.folder / "tokens.csv"
            tokens.write_text(f'{self.token},{ADMIN_USER},{ADMIN_USER},"system:masters"\n')
            tokens.chmod(0o600)

            etcd_port, _ = self._launch_with_ports("etcd", 2, lambda ports: self._etcd(binaries["etcd"], *ports))
            api_port, = self._launch_with_ports(
                "kube-apiserver", 1, lambda ports: self._apiserver(binaries["kube-apiserver"], certs, tokens,
                                                                   etcd_port, *ports))
            self.url = f"https://127.0.0.1:{api_port}"
            write_kubeconfig(self.kubeconfig, self.url, certs["ca.crt"], self.token)
            self.api = KubeAPI(self.url, self.token, certs["ca.crt"])
            if self.setup is not None:
                self.setup(self.api)
            if self.with_controller_manager:
                self._launch_with_ports("kube-controller-manager", 1, lambda ports: self._controller_manager(
                    binaries["kube-controller-manager"], certs, *ports))
            if self.with_istiod:
                self._start_istiod(binaries["pilot-discovery"])
        except BaseException as error:
            self._keep_logs()
            self._stop()
            if isinstance(error, KubeAPIError):
                raise KubeUnavailable(f"setting up the control plane failed: {error}") from None
            raise

    def start_istiod(self) -> None:
        """Starts istiod on a running control plane (ThrowawayKube(istiod=True) does it at start); it reads
        the objects applied before and after. KubeUnavailable when it cannot be built or started."""
        if self.api is None:
            raise RuntimeError("the control plane is not running")
        if "istiod" in self.processes:
            return
        binary = controlplanes.installed("pilot-discovery")
        if binary is None:
            if not self.build:
                raise KubeUnavailable("pilot-discovery is not built; build it once with "
                                      "`.venv/bin/python -m devstack.tools.controlplanes --install`")
            try:
                binary = controlplanes.ensure_installed("pilot-discovery")["pilot-discovery"]
            except controlplanes.ControlPlaneUnavailable as error:
                raise KubeUnavailable(str(error)) from None
        try:
            self._start_istiod(binary)
        except KubeUnavailable:
            self._keep_logs()
            raise

    def stop_istiod(self) -> None:
        stop_process(self.processes.pop("istiod", None), grace=10.0)
        self.istiod_http_port = self.istiod_grpc_port = None

    def _start_istiod(self, binary: Path) -> None:
        self.api.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ISTIO_NAMESPACE}})
        self.istiod_grpc_port, _, self.istiod_http_port, _, _ = self._launch_with_ports(
            "istiod", 5, lambda ports: self._istiod(binary, *ports))

    def _stop(self) -> None:
        # The clients first (istiod, the controller manager), etcd last.
        for name in reversed(list(self.processes)):
            stop_process(self.processes.pop(name), grace=10.0)
        self.api = self.url = None
        self.istiod_http_port = self.istiod_grpc_port = None
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None

    def _keep_logs(self) -> None:
        if self.folder is None:
            return
        shutil.rmtree(FAILED_START_LOGS, ignore_errors=True)
        FAILED_START_LOGS.mkdir(parents=True, exist_ok=True)
        for log in self.folder.glob("*.log"):
            shutil.copyfile(log, FAILED_START_LOGS / log.name)

    def _launch_with_ports(self, name: str, count: int, launch: Callable[[list[int]], _Launch]) -> list[int]:
        """Starts `name` on `count` free ports and waits until it is ready; other ports when one was taken."""
        for attempt in range(3):
            ports = free_ports(count)
            command, env, ready = launch(ports)
            log_path = self.log_file(name)
            began = time.monotonic()
            with open(log_path, "ab") as log:
                self.processes[name] = subprocess.Popen(command, cwd=self.folder, env={**os.environ, **env},
                                                        stdin=subprocess.DEVNULL, stdout=log,
                                                        stderr=subprocess.STDOUT, start_new_session=True)
            try:
                self._wait_ready(name, ready, began)
                self.timings[name] = time.monotonic() - began
                return ports
            except KubeUnavailable:
                stop_process(self.processes.pop(name), grace=2.0)
                if "address already in use" in tail(log_path, 200).lower() and attempt < 2:
                    continue
                raise
        raise AssertionError("not reached")

    def _wait_ready(self, name: str, ready: Callable[[], bool], began: float) -> None:
        process = self.processes[name]
        deadline = began + self.ready_timeout
        last = "no answer yet"
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise KubeUnavailable(f"{name} exited with code {process.returncode} while starting; the last lines "
                                      f"of its log ({FAILED_START_LOGS}/{name}.log):\n{self.log_tail(name)}")
            try:
                if ready():
                    return
                last = "not ready"
            except (requests.RequestException, OSError) as error:
                last = str(error)
            time.sleep(0.1)
        raise KubeUnavailable(f"{name} was not ready after {self.ready_timeout:.0f} s ({last}); the last lines of "
                              f"its log ({FAILED_START_LOGS}/{name}.log):\n{self.log_tail(name)}")

    # -- the processes -------------------------------------------------------------------------------------------

    def _etcd(self, binary: Path, client_port: int, peer_port: int):
        client, peer = f"http://127.0.0.1:{client_port}", f"http://127.0.0.1:{peer_port}"
        command = [str(binary), "--name=mkt", f"--data-dir={self.folder / 'etcd'}",
                   f"--listen-client-urls={client}", f"--advertise-client-urls={client}",
                   f"--listen-peer-urls={peer}", f"--initial-advertise-peer-urls={peer}",
                   f"--initial-cluster=mkt={peer}", "--unsafe-no-fsync", "--log-level=warn"]

        def ready() -> bool:
            answer = requests.get(f"{client}/health", timeout=1).json()
            return answer.get("health") == "true"

        return command, {}, ready

    def _apiserver(self, binary: Path, certs: dict[str, Path], tokens: Path, etcd_port: int, port: int):
        command = [str(binary), f"--etcd-servers=http://127.0.0.1:{etcd_port}",
                   "--bind-address=127.0.0.1", f"--secure-port={port}", "--advertise-address=127.0.0.1",
                   "--endpoint-reconciler-type=none", f"--cert-dir={self.folder / 'apiserver-certs'}",
                   f"--tls-cert-file={certs['apiserver.crt']}", f"--tls-private-key-file={certs['apiserver.key']}",
                   f"--client-ca-file={certs['ca.crt']}", f"--token-auth-file={tokens}",
                   "--authorization-mode=RBAC",
                   "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
                   f"--service-account-key-file={certs['sa.pub']}",
                   f"--service-account-signing-key-file={certs['sa.key']}",
                   f"--service-cluster-ip-range={SERVICE_CIDR}", "--allow-privileged=true", "--profiling=false"]
        url = f"https://127.0.0.1:{port}"

        def ready() -> bool:
            answer = requests.get(f"{url}/readyz", timeout=2, verify=str(certs["ca.crt"]),
                                  headers={"Authorization": f"Bearer {self.token}"})
            return answer.status_code == 200

        return command, {}, ready

    def _controller_manager(self, binary: Path, certs: dict[str, Path], port: int):
        kubeconfig = str(self.kubeconfig)
        command = [str(binary), f"--kubeconfig={kubeconfig}", f"--authentication-kubeconfig={kubeconfig}",
                   f"--authorization-kubeconfig={kubeconfig}", "--leader-elect=false",
                   "--use-service-account-credentials=false", "--controllers=*",
                   f"--service-account-private-key-file={certs['sa.key']}", f"--root-ca-file={certs['ca.crt']}",
                   f"--cluster-signing-cert-file={certs['ca.crt']}", f"--cluster-signing-key-file={certs['ca.key']}",
                   f"--service-cluster-ip-range={SERVICE_CIDR}", "--bind-address=127.0.0.1",
                   f"--secure-port={port}", f"--tls-cert-file={certs['apiserver.crt']}",
                   f"--tls-private-key-file={certs['apiserver.key']}", "--profiling=false"]

        def ready() -> bool:  # serves with the API server's certificate (127.0.0.1), so the CA verifies it
            answer = requests.get(f"https://127.0.0.1:{port}/healthz", timeout=2, verify=str(certs["ca.crt"]))
            return answer.status_code == 200

        return command, {}, ready

    def _istiod(self, binary: Path, grpc_port: int, secure_grpc_port: int, http_port: int, monitoring_port: int,
                https_port: int):
        mesh = self.folder / "mesh.yaml"
        mesh.write_text(_MESH_CONFIG.format(secure_grpc_port=secure_grpc_port))
        networks = self.folder / "meshNetworks.yaml"
        networks.write_text("networks: {}\n")
        command = [str(binary), "discovery", f"--kubeconfig={self.kubeconfig}", f"--meshConfig={mesh}",
                   f"--networksConfig={networks}", "--domain=cluster.local",
                   f"--grpcAddr=127.0.0.1:{grpc_port}", f"--secureGRPCAddr=127.0.0.1:{secure_grpc_port}",
                   f"--httpAddr=127.0.0.1:{http_port}", f"--monitoringAddr=127.0.0.1:{monitoring_port}",
                   f"--httpsAddr=127.0.0.1:{https_port}", "--log_output_level=default:warn"]
        env = {"POD_NAMESPACE": ISTIO_NAMESPACE, "POD_NAME": "istiod-local", "REVISION": "default",
               "CLUSTER_ID": "Kubernetes", "PILOT_ENABLE_GATEWAY_API": "false", "ENABLE_CA_SERVER": "true"}

        def ready() -> bool:
            return requests.get(f"http://127.0.0.1:{http_port}/ready", timeout=2).status_code == 200

        return command, env, ready


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m devstack.servers.kube", description=__doc__.split("\n\n")[0])
    parser.add_argument("--controller-manager", action="store_true", help="also run kube-controller-manager")
    parser.add_argument("--istiod", action="store_true", help="also run istiod (pilot-discovery)")
    args = parser.parse_args(argv)

    def announce(kube: ThrowawayKube) -> None:
        print(kube.kubeconfig, flush=True)
        extra = (f"; istiod {kube.istiod_http_url}/debug/registryz, xDS {kube.istiod_grpc_address}"
                 if args.istiod else "")
        timings = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in kube.timings.items())
        print(f"API server {kube.url} (ready: {timings}){extra}; KUBECONFIG={kube.kubeconfig}; Ctrl-C stops it",
              file=sys.stderr, flush=True)

    return run_in_foreground(ThrowawayKube(args.controller_manager, args.istiod).start, "the control plane", announce)


if __name__ == "__main__":
    sys.exit(main())
