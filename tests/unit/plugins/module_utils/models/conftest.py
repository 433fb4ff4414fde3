"""An in-memory S3 client with just the calls the model store makes, so push and pull run without a server."""

import io

import pytest
from botocore.exceptions import ClientError

from ansible_collections.airlock.airgap.plugins.module_utils.models import s3store


def _missing(operation):
    return ClientError({"Error": {"Code": "404", "Message": "Not Found"}}, operation)


class FakePaginator:  # pylint: disable=too-few-public-methods
    def __init__(self, objects):
        self.objects = objects

    def paginate(self, Bucket, Prefix="", Delimiter=None):  # noqa: N803  pylint: disable=invalid-name,unused-argument
        keys = sorted(key for key in self.objects if key.startswith(Prefix))
        if Delimiter:
            folders = sorted({Prefix + key[len(Prefix):].split(Delimiter, 1)[0] + Delimiter for key in keys if Delimiter in key[len(Prefix):]})
            yield {"CommonPrefixes": [{"Prefix": folder} for folder in folders]}
            return
        yield {"Contents": [{"Key": key, "Size": len(self.objects[key][0])} for key in keys]}


class FakeS3:
    """key -> (bytes, metadata); calls records every (operation, key, metadata)."""

    def __init__(self):
        self.objects = {}
        self.calls = []

    def head_bucket(self, Bucket):  # noqa: N803  pylint: disable=invalid-name,unused-argument
        return {}

    def head_object(self, Bucket, Key):  # noqa: N803  pylint: disable=invalid-name,unused-argument
        if Key not in self.objects:
            raise _missing("HeadObject")
        body, metadata = self.objects[Key]
        return {"ContentLength": len(body), "Metadata": dict(metadata)}

    def put_object(self, Bucket, Key, Body, Metadata=None, ChecksumSHA256=None):  # noqa: N803  pylint: disable=invalid-name,unused-argument
        data = Body if isinstance(Body, bytes) else Body.read()
        self.calls.append(("put_object", Key, dict(Metadata or {})))
        self.objects[Key] = (data, dict(Metadata or {}))

    def upload_fileobj(self, Fileobj, Bucket, Key, ExtraArgs=None, Config=None):  # noqa: N803  pylint: disable=invalid-name,unused-argument
        """As s3transfer does: read the stream to its end (in parts) before the object is completed."""
        metadata = dict((ExtraArgs or {}).get("Metadata", {}))
        parts = []
        while True:
            part = Fileobj.read(64)
            if not part:
                break
            parts.append(part)
        self.calls.append(("upload_fileobj", Key, metadata))
        self.objects[Key] = (b"".join(parts), metadata)

    def delete_object(self, Bucket, Key):  # noqa: N803  pylint: disable=invalid-name,unused-argument
        self.calls.append(("delete_object", Key, {}))
        self.objects.pop(Key, None)

    def get_object(self, Bucket, Key):  # noqa: N803  pylint: disable=invalid-name,unused-argument
        if Key not in self.objects:
            raise _missing("GetObject")
        return {"Body": io.BytesIO(self.objects[Key][0])}

    def download_fileobj(self, Bucket, Key, Fileobj, Config=None):  # noqa: N803  pylint: disable=invalid-name,unused-argument
        self.calls.append(("download_fileobj", Key, {}))
        if Key not in self.objects:
            raise _missing("GetObject")
        Fileobj.write(self.objects[Key][0])

    def get_paginator(self, name):
        assert name == "list_objects_v2"
        return FakePaginator(self.objects)

    def put_text(self, key, text, metadata=None):
        """Plant an object as a hostile or broken store would."""
        self.objects[key] = (text.encode() if isinstance(text, str) else text, dict(metadata or {}))


@pytest.fixture
def fake_s3():
    return FakeS3()


@pytest.fixture
def store_for(fake_s3):
    """store_for(**settings) -> a Store on the in-memory client (bucket b, prefix p)."""
    def make(**settings):
        values = {"bucket": "b", "prefix": "p", "endpoint_url": "http://127.0.0.1:9", "access_key": "a", "secret_key": "s"}
        values.update(settings)
        store = s3store.Store(s3store.S3Settings(**values))
        store.client = fake_s3
        return store
    return make
