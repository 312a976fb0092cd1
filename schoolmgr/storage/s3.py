"""Stored files in an S3-compatible bucket (AWS S3, MinIO, Ceph RADOS Gateway) through boto3.

Credentials come from boto3's usual places: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (and
AWS_SESSION_TOKEN), AWS_PROFILE, or the instance's role. A single PUT, and a multipart upload
once completed, are atomic in S3: readers see the whole object or none.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import IO

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError
from flask import Response, current_app, redirect, send_file

from schoolmgr.storage import (
    MissingFileError,
    Storage,
    StoredObject,
    check_key,
    content_disposition,
)

MISSING_CODES = {"404", "NoSuchKey", "NotFound"}


_sessions: dict[int, boto3.session.Session] = {}


def _session() -> boto3.session.Session:
    """One boto3 session per process: a new one reloads the service models (~100 ms CPU)."""
    pid = os.getpid()  # a forked worker builds its own
    if pid not in _sessions:
        _sessions.clear()
        _sessions[pid] = boto3.session.Session()
    return _sessions[pid]


def _missing(err: ClientError) -> bool:
    return str(err.response.get("Error", {}).get("Code")) in MISSING_CODES


def _client(endpoint: str | None, config: dict):
    """A boto3 S3 client of `endpoint` (None: AWS) with the app's settings."""
    return _session().client(
        "s3",
        endpoint_url=endpoint,
        region_name=config.get("S3_REGION") or None,
        config=Config(
            signature_version="s3v4",
            # MinIO and Ceph are usually reached by path (http://host:9000/bucket/key).
            s3={"addressing_style": "path" if endpoint else "auto"},
            retries={"max_attempts": 3, "mode": "standard"},
            # boto3's default CRC checksums on every PUT are refused by some S3-compatible
            # services (older Ceph RGW, MinIO); TLS protects the transfer (over plain HTTP
            # SigV4 signs the payload's SHA-256) and `storage migrate` checks SHA-256.
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
            max_pool_connections=32,
            connect_timeout=5,
            read_timeout=30,
        ),
    )


class S3Storage(Storage):
    name = "s3"
    remote = True

    def __init__(self, client, bucket: str, prefix: str = "", presigner=None):
        self.client = client
        # Signs download links for browsers: a client of the public address when the app
        # reaches the storage at a private one (presigning is local: it sends nothing).
        self.presigner = presigner or client
        self.bucket = bucket
        self.prefix = f"{prefix.strip('/')}/" if prefix.strip("/") else ""

    @classmethod
    def from_config(cls, config: dict) -> S3Storage:
        if not config.get("S3_BUCKET"):
            raise ValueError("STORAGE_BACKEND=s3 needs S3_BUCKET")
        endpoint = config.get("S3_ENDPOINT_URL") or None
        public = config.get("S3_PUBLIC_ENDPOINT_URL") or None
        client = _client(endpoint, config)
        presigner = _client(public, config) if public and public != endpoint else None
        return cls(client, config["S3_BUCKET"], config.get("S3_PREFIX") or "", presigner)

    def _key(self, key: str) -> str:
        return self.prefix + check_key(key)

    def save(self, key: str, content: bytes) -> None:
        self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=content)

    def put_file(self, key: str, path: Path) -> None:
        # Large files go up in parts; the object appears only when the upload completes.
        self.client.upload_file(str(path), self.bucket, self._key(key))
        path.unlink(missing_ok=True)

    def _get(self, key: str, **extra) -> dict:
        try:
            return self.client.get_object(Bucket=self.bucket, Key=self._key(key), **extra)
        except ClientError as err:
            if _missing(err):
                raise MissingFileError(key) from err
            raise

    def _head(self, key: str) -> dict:
        try:
            return self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as err:
            if _missing(err):
                raise MissingFileError(key) from err
            raise

    def open(self, key: str) -> IO[bytes]:
        return self._get(key)["Body"]

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._key(key))

    def exists(self, key: str) -> bool:
        try:
            self._head(key)
        except MissingFileError:
            return False
        return True

    def size(self, key: str) -> int:
        return self._head(key)["ContentLength"]

    def list(self, prefix: str) -> Iterator[StoredObject]:
        folder = self._key(prefix.rstrip("/")) + "/"
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=folder):
            for item in page.get("Contents", []):
                key = item["Key"][len(self.prefix) :]
                yield StoredObject(key, item["Size"], item["LastModified"])

    def abort_stale_uploads(self, older_than: datetime) -> int:
        """Abort multipart uploads started before `older_than` (a killed upload's parts)."""
        aborted = 0
        paginator = self.client.get_paginator("list_multipart_uploads")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix):
            for upload in page.get("Uploads", []):
                if upload["Initiated"] < older_than:
                    self.client.abort_multipart_upload(
                        Bucket=self.bucket, Key=upload["Key"], UploadId=upload["UploadId"]
                    )
                    aborted += 1
        return aborted

    def send(self, key: str, *, mimetype: str, download_name: str, as_attachment: bool) -> Response:
        disposition = content_disposition(download_name, as_attachment)
        if current_app.config.get("STORAGE_DOWNLOADS") == "redirect":
            self._head(key)  # a missing file answers 404 here, not an S3 error page
            url = self.presigner.generate_presigned_url(
                "get_object",
                Params={
                    "Bucket": self.bucket,
                    "Key": self._key(key),
                    "ResponseContentType": mimetype,
                    "ResponseContentDisposition": disposition,
                    "ResponseCacheControl": "private, no-store",
                },
                ExpiresIn=current_app.config.get("STORAGE_URL_SECONDS", 60),
            )
            return redirect(url, code=302)
        found = self._get(key)
        response = send_file(
            found["Body"],
            mimetype=mimetype,
            as_attachment=as_attachment,
            download_name=download_name,
            conditional=False,
            max_age=0,
        )
        response.content_length = found["ContentLength"]
        return response
