"""A throwaway Apache Pulsar broker (standalone mode) for tests and local development.

    python -m devstack.servers.pulsar             # runs one in the foreground, prints its URLs, Ctrl-C stops it
    python -m devstack.servers.pulsar --install   # only installs it (jars and class-data archive), then exits

In code:

    with ThrowawayPulsar() as broker:
        client = pulsar.Client(broker.service_url)       # pulsar://127.0.0.1:PORT
        broker.admin("PUT", "/admin/v2/namespaces/public/default/schemaCompatibilityStrategy", "BACKWARD")
        broker.admin_url                                  # http://127.0.0.1:PORT, the admin REST API

It is the real broker: `org.apache.pulsar.PulsarStandaloneStarter` from Maven Central's
`org.apache.pulsar:pulsar-broker`, in one JVM with one in-process bookie and its metadata in RocksDB,
all in a temporary folder that is deleted when it stops. No ZooKeeper, no functions worker, no
packages management, no transactions, no WebSocket proxy, no topic-level policies (namespace policies,
the schema registry, dead-letter topics and negative acks all work). Only two ports are opened, both
on 127.0.0.1: the binary protocol and the HTTP admin API.

The jars (about 230 MB) are resolved once with Maven (devstack/servers/pulsar/pom.xml) into
~/.cache/marketing-platform/pulsar-VERSION/lib, or into $MKT_PULSAR_HOME/lib when that is set; a marker
file there says the copy is complete. A trial start then records the classes the broker loads into a
class-data-sharing archive (cds/ beside lib/, one per Java), which cuts later starts by about a third;
MKT_PULSAR_CLASS_ARCHIVE=0 skips it. MKT_PULSAR_JAVA_OPTS adds JVM options. Needs `java` (17 or newer;
JAVA_HOME is honoured) and, the first time only, `mvn`. See devstack/servers/pulsar/README.md for measurements.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import string
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from devstack.processes import cache_home, file_lock, free_port, tail
from devstack.servers.lifecycle import LaunchedServer, ServerUnavailable, run_in_foreground

SOURCE_DIR = Path(__file__).resolve().parent / "pulsar"
POM = SOURCE_DIR / "pom.xml"
CONF_TEMPLATE = SOURCE_DIR / "standalone.conf.template"
LOG4J_CONFIG = SOURCE_DIR / "log4j2.xml"
HOME_VARIABLE = "MKT_PULSAR_HOME"
JAVA_OPTS_VARIABLE = "MKT_PULSAR_JAVA_OPTS"
CLASS_ARCHIVE_VARIABLE = "MKT_PULSAR_CLASS_ARCHIVE"  # "0": neither record nor use the class-data archive
MARKER = ".complete"
MAIN_CLASS = "org.apache.pulsar.PulsarStandaloneStarter"
MIN_JAVA = 17
READY_TIMEOUT = 120.0
STOP_TIMEOUT = 15.0
NAMESPACE = "public/default"
FAILED_START_LOG = Path(tempfile.gettempdir()) / "mkt-pulsar-failed-start.log"

# Start-up speed over peak throughput: a test broker lives for minutes and moves little data.
JVM_OPTIONS = [
    "-Xms128m", "-Xmx1g", "-XX:MaxDirectMemorySize=512m",
    "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
    "-XX:+ExitOnOutOfMemoryError",
    "-Djava.net.preferIPv4Stack=true",
    "-Djava.util.logging.manager=org.apache.logging.log4j.jul.LogManager",
    "-Dio.netty.tryReflectionSetAccessible=true",
    # Netty, BookKeeper and the broker's JVM metrics reach into these on Java 17 (as bin/pulsar does).
    "--add-opens", "java.base/java.lang=ALL-UNNAMED",
    "--add-opens", "java.base/java.io=ALL-UNNAMED",
    "--add-opens", "java.base/java.util.zip=ALL-UNNAMED",
    "--add-opens", "java.base/sun.net=ALL-UNNAMED",
    "--add-opens", "java.base/jdk.internal.misc=ALL-UNNAMED",
    "--add-opens", "java.base/jdk.internal.platform=ALL-UNNAMED",
    "--add-opens", "java.management/sun.management=ALL-UNNAMED",
    "--add-opens", "jdk.management/com.sun.management.internal=ALL-UNNAMED",
]


class PulsarUnavailable(ServerUnavailable):
    """The throwaway broker cannot be installed or started here; the message says why and what to do."""


# -- installation -------------------------------------------------------------------------------------


def pulsar_version() -> str:
    match = re.search(r"<pulsar\.version>([^<]+)</pulsar\.version>", POM.read_text())
    if not match:
        raise PulsarUnavailable(f"no <pulsar.version> property in {POM}")
    return match.group(1).strip()


def pulsar_home() -> Path:
    return cache_home(HOME_VARIABLE, f"pulsar-{pulsar_version()}")


def _pom_digest() -> str:
    return hashlib.sha256(POM.read_bytes()).hexdigest()


def _installed(lib: Path) -> bool:
    try:
        return (lib / MARKER).read_text().strip() == _pom_digest()
    except OSError:
        return False


def ensure_installed(quiet: bool = False) -> Path:
    """The folder of the broker's jars, resolved with Maven the first time; fast when already there.

    The first time (and again for another Java) it also records which classes the broker loads into a
    class-data-sharing archive, which makes every later start about a third faster.
    """
    lib, fetched = _ensure_jars(quiet)
    try:
        _ensure_class_archive(lib, quiet or fetched)  # the line about fetching announced the trial start
    except OSError as error:  # e.g. a read-only MKT_PULSAR_HOME: start without the archive
        print(f"note: no class-data archive for the Pulsar broker ({error})", file=sys.stderr)
    return lib


def _ensure_jars(quiet: bool) -> tuple[Path, bool]:
    """The jars' folder, and whether they were fetched just now."""
    home = pulsar_home()
    lib = home / "lib"
    if _installed(lib):
        return lib, False
    mvn = shutil.which("mvn")
    if mvn is None:
        raise PulsarUnavailable(
            "Maven (mvn) is needed once, to fetch the Pulsar broker's jars from Maven Central, and is not "
            "on PATH: install it (Debian: apt-get install maven), or point "
            f"{HOME_VARIABLE} at a folder whose lib/ already holds them")
    _java()  # fail early, before a long download, when there is no usable Java
    home.mkdir(parents=True, exist_ok=True)
    with file_lock(home / ".lock"):
        if _installed(lib):  # another process resolved them while this one waited
            return lib, False
        if not quiet:
            then = ", then a trial start of the broker" if _class_archive_wanted() else ""
            print(f"==> fetching the Apache Pulsar {pulsar_version()} broker's jars with Maven into {lib} "
                  f"(first time only: about 230 MB{then})", file=sys.stderr, flush=True)
        staging = Path(tempfile.mkdtemp(prefix="lib.partial-", dir=home))
        try:
            result = subprocess.run(
                [mvn, "-B", "-q", "-f", str(POM), "dependency:copy-dependencies", f"-Dlib.dir={staging}"],
                capture_output=True, text=True, stdin=subprocess.DEVNULL, cwd=SOURCE_DIR)
            if result.returncode != 0:
                output = "\n".join((result.stdout + result.stderr).strip().splitlines()[-20:])
                raise PulsarUnavailable(f"mvn could not resolve the Pulsar broker's jars "
                                        f"(exit {result.returncode}):\n{output}")
            if not any(staging.glob("pulsar-broker-*.jar")):
                raise PulsarUnavailable(f"mvn succeeded but left no pulsar-broker jar in {staging}")
            (staging / MARKER).write_text(_pom_digest() + "\n")
            shutil.rmtree(lib, ignore_errors=True)
            shutil.rmtree(home / "cds", ignore_errors=True)  # archives of the old jars are useless
            staging.chmod(0o755)
            staging.rename(lib)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
            # Maven's own target/ folder is not wanted next to the POM.
            shutil.rmtree(SOURCE_DIR / "target", ignore_errors=True)
    return lib, True


def _class_archive_wanted() -> bool:
    return os.environ.get(CLASS_ARCHIVE_VARIABLE, "1").strip().lower() not in ("0", "no", "false", "off")


def _class_archive(java: str, java_version: str) -> Path:
    """Where the class-data archive for this Java and these jars is (or would be)."""
    key = hashlib.sha256(f"{os.path.realpath(java)}\n{java_version}\n{_pom_digest()}".encode()).hexdigest()
    return pulsar_home() / "cds" / f"{key[:16]}.jsa"


def _ensure_class_archive(lib: Path, quiet: bool) -> None:
    """Trains the class-data-sharing archive once: a broker started with -XX:ArchiveClassesAtExit
    writes the classes it loaded when it stops. Without it the broker still starts, only slower."""
    if not _class_archive_wanted():
        return
    java, java_version = _java()
    archive = _class_archive(java, java_version)
    failed = archive.with_suffix(".failed")
    if archive.exists() or failed.exists():
        return
    archive.parent.mkdir(parents=True, exist_ok=True)
    with file_lock(archive.parent / ".lock"):
        if archive.exists() or failed.exists():
            return
        if not quiet:
            print("==> one trial start of the Pulsar broker, to record its classes for faster starts "
                  "(once per Java version)", file=sys.stderr, flush=True)
        partial = archive.with_suffix(f".partial-{os.getpid()}")
        partial.unlink(missing_ok=True)
        trial = ThrowawayPulsar(_lib=lib, _record_classes_to=partial)
        try:
            with trial:  # a broker that does not start raises here, and the next call tries again
                pass
            # A JVM killed while writing (negative exit code) may leave half an archive.
            if (trial.exit_code or 0) >= 0 and partial.exists() and partial.stat().st_size > 0:
                partial.rename(archive)
            else:  # this Java cannot write one: don't try again at every start
                failed.write_text(f"the trial broker exited with {trial.exit_code} and wrote no archive\n")
        finally:
            partial.unlink(missing_ok=True)




def _java() -> tuple[str, str]:
    """The java binary (JAVA_HOME's, else the one on PATH) and its `java -version` text."""
    java_home = os.environ.get("JAVA_HOME")
    java = str(Path(java_home) / "bin" / "java") if java_home else shutil.which("java")
    if not java or not os.access(java, os.X_OK):
        raise PulsarUnavailable(
            f"Java {MIN_JAVA} or newer is needed to run the Pulsar broker and `java` was not found "
            f"({'JAVA_HOME=' + java_home if java_home else 'not on PATH'}): install it "
            f"(Debian: apt-get install openjdk-{MIN_JAVA}-jre-headless)")
    result = subprocess.run([java, "-version"], capture_output=True, text=True, stdin=subprocess.DEVNULL)
    match = re.search(r'version "(\d+)(?:\.(\d+))?', result.stderr)
    if result.returncode != 0 or not match:
        raise PulsarUnavailable(f"`{java} -version` failed (exit {result.returncode}): {result.stderr.strip()}")
    major = int(match.group(1)) if match.group(1) != "1" else int(match.group(2) or 0)
    if major < MIN_JAVA:
        raise PulsarUnavailable(f"the Pulsar broker needs Java {MIN_JAVA} or newer; {java} is Java {major}")
    return java, result.stderr.strip()


# -- the broker ---------------------------------------------------------------------------------------


def _http(method: str, url: str, body: bytes | None = None, timeout: float = 5.0) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=body, method=method)
    if body is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


class ThrowawayPulsar(LaunchedServer):
    """A Pulsar broker in a temporary folder, on free ports of 127.0.0.1."""

    folder_prefix = "mkt-pulsar-"
    log_name = "broker.log"
    failed_start_log = FAILED_START_LOG
    stop_timeout = STOP_TIMEOUT

    def __init__(self, ready_timeout: float = READY_TIMEOUT, *, _lib: Path | None = None,
                 _record_classes_to: Path | None = None):
        super().__init__()
        self.ready_timeout = ready_timeout
        self.broker_port: int | None = None
        self.web_port: int | None = None
        self._lib = _lib
        self._record_classes_to = _record_classes_to  # the trial start of _ensure_class_archive
        self._lib_dir: Path | None = None  # the jars, found (or installed) by start()

    # -- public ---------------------------------------------------------------------------------------

    @property
    def service_url(self) -> str:
        self._require_running()
        return f"pulsar://127.0.0.1:{self.broker_port}"

    @property
    def admin_url(self) -> str:
        self._require_running()
        return f"http://127.0.0.1:{self.web_port}"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None and self.broker_port is not None

    def admin(self, method: str, path: str, payload=None) -> tuple[int, object]:
        """One call to the admin REST API (`path` starts with /admin/); returns (status, decoded JSON or text)."""
        body = None if payload is None else json.dumps(payload).encode()
        status, raw = _http(method, self.admin_url + path, body)
        text = raw.decode(errors="replace")
        try:
            return status, json.loads(text) if text else None
        except ValueError:
            return status, text

    # -- internals ------------------------------------------------------------------------------------

    def _require_running(self) -> None:
        if self.broker_port is None:
            raise RuntimeError("the broker is not running; call start() or use it as a context manager")

    def _prepare(self) -> list[str]:
        self._lib_dir = self._lib or ensure_installed()
        java, java_version = _java()
        if self._record_classes_to is not None:
            class_data = [f"-XX:ArchiveClassesAtExit={self._record_classes_to}"]
        else:
            archive = _class_archive(java, java_version)
            use = archive.exists() and _class_archive_wanted()
            class_data = [f"-XX:SharedArchiveFile={archive}"] if use else []
        return [java, *JVM_OPTIONS, *class_data]

    def _pick_ports(self) -> tuple[int, int]:
        broker_port, web_port = free_port(), free_port()
        while web_port == broker_port:
            web_port = free_port()
        return broker_port, web_port

    def _set_ports(self, ports: tuple[int, ...] | None) -> None:
        self.broker_port, self.web_port = ports or (None, None)

    def _stop_timeout(self) -> float:
        # Writing the class-data archive at exit takes a while longer.
        return STOP_TIMEOUT if self._record_classes_to is None else 4 * STOP_TIMEOUT

    def _launch(self, java: list[str], broker_port: int, web_port: int) -> None:
        assert self.folder is not None
        lib = self._lib_dir
        data = self.folder / "data"
        shutil.rmtree(data, ignore_errors=True)
        conf = self.folder / "standalone.conf"
        conf.write_text(string.Template(CONF_TEMPLATE.read_text()).substitute(
            broker_port=broker_port, web_port=web_port))
        extra = os.environ.get(JAVA_OPTS_VARIABLE, "").split()
        command = [
            *java, *extra,
            f"-Dlog4j2.configurationFile={LOG4J_CONFIG}",
            "-cp", f"{lib}{os.sep}*", MAIN_CLASS,
            "--config", str(conf),
            "--no-functions-worker", "--no-stream-storage", "--wipe-data",
            "--advertised-address", "127.0.0.1",
            "--metadata-dir", str(data / "metadata"),
            "--bookkeeper-dir", str(data / "bookkeeper"),
        ]
        with open(self.log_path, "ab") as log:
            # Its own session: a Ctrl-C in the terminal reaches Python, which then stops the broker.
            # The working folder matters: the starter switches to ZooKeeper mode when it finds
            # ./data/standalone/zookeeper.
            self.process = subprocess.Popen(command, cwd=self.folder, stdin=subprocess.DEVNULL, stdout=log,
                                            stderr=subprocess.STDOUT, start_new_session=True)

    def _wait_until_ready(self, broker_port: int, web_port: int) -> None:
        """Ready: the health check (a real produce and consume) passes and public/default exists."""
        base = f"http://127.0.0.1:{web_port}"
        deadline = time.monotonic() + self.ready_timeout
        healthy = False
        last = "no answer yet"
        while time.monotonic() < deadline:
            assert self.process is not None
            code = self.process.poll()
            if code is not None:
                raise PulsarUnavailable(f"the Pulsar broker exited with code {code} while starting; "
                                        f"the last lines of its log:\n{tail(self.log_path)}")
            try:
                if not healthy:
                    status, body = _http("GET", base + "/admin/v2/brokers/health")
                    healthy = status == 200
                    last = f"health check: HTTP {status} {body[:200]!r}"
                if healthy:
                    status, body = _http("GET", base + "/admin/v2/tenants")
                    last = f"tenants: HTTP {status} {body[:200]!r}"
                    if status == 200 and "public" in json.loads(body):
                        status, body = _http("GET", base + "/admin/v2/namespaces/public")
                        if status == 200 and NAMESPACE in json.loads(body):
                            return
                        status, body = _http("PUT", f"{base}/admin/v2/namespaces/{NAMESPACE}")
                        last = f"create {NAMESPACE}: HTTP {status} {body[:200]!r}"
                        if status in (204, 409):
                            return
            except (OSError, ValueError) as error:  # not listening yet, reset, or a half-written answer
                last = f"{type(error).__name__}: {error}"
            time.sleep(0.2)
        raise PulsarUnavailable(f"the Pulsar broker was not ready after {self.ready_timeout:.0f} s ({last}); "
                                f"the last lines of its log:\n{tail(self.log_path)}")


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args not in ([], ["--install"]):
        print("usage: python -m devstack.servers.pulsar [--install]", file=sys.stderr)
        return 2
    if args == ["--install"]:
        try:
            print(ensure_installed())
        except PulsarUnavailable as error:
            print(f"cannot install Pulsar: {error}", file=sys.stderr)
            return 1
        return 0

    def announce(broker: ThrowawayPulsar) -> None:
        print(f"service URL: {broker.service_url}", flush=True)
        print(f"admin URL:   {broker.admin_url}", flush=True)
        print(f"ready in {broker.startup_seconds:.1f} s; log in {broker.log_path}; "
              f"Ctrl-C stops the broker and deletes its data", file=sys.stderr, flush=True)

    return run_in_foreground(ThrowawayPulsar().start, "Pulsar", announce)


if __name__ == "__main__":
    sys.exit(main())
