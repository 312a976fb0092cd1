"""A real S3 HTTP endpoint on 127.0.0.1 for tests and benches: moto's standalone server.

Production talks to a real S3 service (AWS S3, MinIO, Ceph RGW); moto speaks the same protocol.
"""

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import boto3

CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a running process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextlib.contextmanager
def moto_server() -> Iterator[str]:
    """Start `moto_server` in its own process on a free port; yields its endpoint URL.

    `moto_server.pid` is the server's process id meanwhile (benches read its CPU time)."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    moto_server.pid = process.pid
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("moto_server did not start") from None
                time.sleep(0.1)
        yield endpoint
    finally:
        process.terminate()
        process.wait(timeout=10)


def use_credentials() -> None:
    """The dummy credentials moto accepts, where boto3 reads them (the environment)."""
    for key, value in CREDENTIALS.items():
        os.environ.setdefault(key, value)


def create_bucket(endpoint: str, bucket: str) -> None:
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    with contextlib.suppress(client.exceptions.BucketAlreadyOwnedByYou):
        client.create_bucket(Bucket=bucket)


def s3_settings(endpoint: str, bucket: str, prefix: str = "schoolmgr") -> dict:
    return {
        "STORAGE_BACKEND": "s3",
        "S3_BUCKET": bucket,
        "S3_PREFIX": prefix,
        "S3_ENDPOINT_URL": endpoint,
        "S3_REGION": "us-east-1",
    }
