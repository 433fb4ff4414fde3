"""The charts part of airlock.lock.json merges beside the images part."""

import json

from ansible_collections.airlock.airgap.plugins.module_utils.charts import lock, mirror


def result(bundle, version, digest):
    return mirror.Mirrored("app", version, "/src/app", str(bundle / "charts" / f"app-{version}.tgz"), digest, "sha256:src", [], True)


def test_charts_merge_into_a_lock_that_holds_images(tmp_path):
    path = tmp_path / "airlock.lock.json"
    path.write_text(json.dumps({"version": 1, "images": [{"destination": "oci:x", "digest": "sha256:1"}]}))
    assert lock.write(str(path), [result(tmp_path, "1.0.0", "sha256:a")])
    written = json.loads(path.read_text())
    assert written["images"] == [{"destination": "oci:x", "digest": "sha256:1"}]
    assert written["charts"] == [{"name": "app", "version": "1.0.0", "source": "/src/app", "file": "charts/app-1.0.0.tgz",
                                  "digest": "sha256:a", "source_digest": "sha256:src", "dependencies": []}]
    assert not lock.write(str(path), [result(tmp_path, "1.0.0", "sha256:a")])
    assert lock.write(str(path), [result(tmp_path, "2.0.0", "sha256:b")])
    assert [c["version"] for c in json.loads(path.read_text())["charts"]] == ["1.0.0", "2.0.0"]
