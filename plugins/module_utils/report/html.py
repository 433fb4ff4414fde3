# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The transfer report as one self-contained HTML page: a security review reads what crossed the gap, in the
enclave too, so it carries its own style and no script, font, image or link to anything outside the file.

Every value is escaped: names and sources come from across the gap. Totals carry ids (total-images, ...) so a
reader - a person or a test - finds them by name."""

from __future__ import annotations

from html import escape

from ansible_collections.airlock.airgap.plugins.module_utils.report import units

STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 2em; color: #1b1b1b; }
h1 { font-size: 1.6em; } h2 { margin-top: 1.6em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; width: 100%; } th, td { text-align: left; padding: .25em .6em; vertical-align: top; }
tr:nth-child(even) td { background: #f4f4f4; } code { font-size: .85em; word-break: break-all; }
.totals td { font-size: 1.2em; font-weight: bold; } .ok { color: #16622b; } .bad { color: #a11; font-weight: bold; }
"""


def _cell(value, code=False):
    text = escape(str(value))
    return f"<td><code>{text}</code></td>" if code else f"<td>{text}</td>"


def _table(headers, rows, empty):
    if not rows:
        return f"<p>{escape(empty)}</p>"
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join('<tr>' + ''.join(r) + '</tr>' for r in rows)}</tbody></table>"


def _totals(totals):
    rows = [("images", totals["images"], "Images"), ("image-bytes", units.size(totals["image_bytes"]), "Image data"),
            ("platforms", ", ".join(totals["platforms"]) or "-", "Platforms"), ("charts", totals["charts"], "Charts"),
            ("models", totals["models"], "Models"), ("model-bytes", units.size(totals["model_bytes"]), "Model data"),
            ("files", totals["files"], "Files, wheels, datasets"), ("volumes", totals["volumes"], "Volumes"),
            ("volume-bytes", units.size(totals["volume_bytes"]), "Carried in volumes")]
    cells = "".join(f'<tr><th>{escape(label)}</th><td id="total-{key}">{escape(str(value))}</td></tr>' for key, value, label in rows)
    return f'<table class="totals">{cells}</table>'


def _verdict(result):
    css = "ok" if result == "verified" else "bad"
    return f'<span class="{css}">{escape(result or "not verified")}</span>'


def _verification(title, found, key):
    if not found:
        return f'<p id="{key}">{escape(title)}: <span class="bad">not verified here yet</span></p>'
    problem = f" - {escape(found['problem'])}" if found.get("problem") else ""
    sums = f", SHA256SUMS <code>{escape(found['sums_file_sha256'])}</code>" if found.get("sums_file_sha256") else ""
    return (f'<p id="{key}">{escape(title)}: {_verdict(found["result"])}{problem} at {escape(found["checked_at"])} '
            f'in <code>{escape(found["where"])}</code>{sums}</p>')


def _audit(audit):
    if not audit:
        return '<p id="audit">Not audited in this report (the enclave playbook audits the deployment).</p>'
    violations = audit.get("violations", 0)
    verdict = '<span class="ok">nothing points outside the enclave</span>' if not violations else \
        f'<span class="bad">{escape(str(violations))} references point outside the enclave</span>'
    return f'<p id="audit">{verdict}: {escape(str(audit.get("summary", "")))}</p>'


def render(summary):
    """The page for one summary of evidence.collect."""
    evidence = summary["evidence"]
    volumes = [[_cell(v["name"]), _cell(units.size(v["size"])), _cell(v["sha256"], True)] for v in evidence["volumes"]]
    name = escape(summary["name"])
    return "\n".join([
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        f"<title>Transfer report: {name}</title><style>{STYLE}</style></head><body>",
        f"<h1>Transfer report: {name}</h1>",
        "<h2>Totals</h2>", _totals(summary["totals"]),
        "<h2>Verification evidence</h2>",
        f'<p>Lock <code id="lock-sha256">{escape(evidence["lock_sha256"] or "-")}</code>, '
        f'SHA256SUMS <code id="sums-sha256">{escape(evidence["sums_sha256"] or "-")}</code>, '
        f'packed at {escape(evidence["packed_at"] or "-")}</p>',
        _table(["volume", "size", "sha256"], volumes, "No volumes beside this bundle."),
        _verification("Volumes as carried", evidence["volume_verification"], "volume-verification"),
        _verification("Bundle as unpacked, against SHA256SUMS", evidence["bundle_verification"], "bundle-verification"),
        "<h2>Egress audit</h2>", _audit(summary["audit"]),
        *_contents(summary),
        "</body></html>", ""])


def _contents(summary):
    """The sections listing what the bundle carries: images, charts, models (and their files), files."""
    images = [[_cell(i["source"]), _cell(", ".join(i["platforms"])), _cell(units.size(i["bytes"])), _cell(i["digest"], True),
               _cell(i["source_digest"], True)] for i in summary["images"]]
    charts = [[_cell(c["name"]), _cell(c["version"]), _cell(", ".join(c["dependencies"]) or "-"), _cell(c["digest"], True),
               _cell(c["source"])] for c in summary["charts"]]
    models = [[_cell(m["name"]), _cell(m["revision"]), _cell(m["commit"], True), _cell(len(m["files"])), _cell(units.size(m["bytes"])),
               _cell(m["source"])] for m in summary["models"]]
    model_files = [[_cell(m["name"]), _cell(f["path"]), _cell(units.size(f["size"])), _cell(f["sha256"], True)]
                   for m in summary["models"] for f in m["files"]]
    files = [[_cell(f["kind"]), _cell(f["name"]), _cell(units.size(f["bytes"])), _cell(f["sha256"], True), _cell(f["source"])]
             for f in summary["files"]]
    return [
        "<h2>Images</h2>", _table(["image", "platforms", "size", "digest", "source digest"], images, "No images."),
        "<h2>Charts</h2>", _table(["chart", "version", "dependencies", "digest", "source"], charts, "No charts."),
        "<h2>Models</h2>", _table(["model", "revision", "commit", "files", "size", "source"], models, "No models."),
        _table(["model", "file", "size", "sha256"], model_files, ""),
        "<h2>Files, wheels and datasets</h2>", _table(["kind", "name", "size", "sha256", "source"], files, "No files."),
    ]
