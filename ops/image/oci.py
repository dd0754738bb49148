#!/usr/bin/env python3
"""Writes a container image as a tar, without a container engine (stdlib only).

  oci.py OUT.tar --name tidings:0.1.0 --config config.json LAYER_DIR [LAYER_DIR ...]

Each LAYER_DIR becomes one gzip layer (its contents land at / in the image, in the given order).
`config.json` holds the image config's "config" object (Entrypoint, Cmd, Env, User, ...).
Ownership: files are root:root, except paths listed in config.json's "x-owned-by"
({"path": "uid:gid"}), which (with everything under them) get that owner.

The tar is an OCI image layout (oci-layout, index.json, blobs/sha256/...) that also carries
Docker's manifest.json, so all of these accept it:
  docker load -i OUT.tar | podman load -i OUT.tar | skopeo copy oci-archive:OUT.tar docker://REGISTRY/tidings:0.1.0
The output is reproducible: fixed timestamps (SOURCE_DATE_EPOCH, default 0), sorted entries,
normalised owners, gzip without a timestamp — the same inputs give the same digests.
"""
import argparse
import gzip
import hashlib
import io
import json
import os
import stat
import sys
import tarfile
import time

EPOCH = int(os.environ.get("SOURCE_DATE_EPOCH", "0"))


def layer_tar(directory, owners):
    """An uncompressed, deterministic tar of `directory`'s contents (paths relative to /)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        entries = []
        for base, dirs, files in os.walk(directory):
            dirs.sort()
            for name in dirs + sorted(files):
                entries.append(os.path.join(base, name))
        for path in sorted(entries, key=lambda p: os.path.relpath(p, directory)):
            rel = os.path.relpath(path, directory)
            info = tar.gettarinfo(path, arcname=rel)
            info.mtime = EPOCH
            info.uname = info.gname = ""
            info.uid = info.gid = 0
            for owned, ug in owners.items():
                o = owned.strip("/")
                if rel == o or rel.startswith(o + "/"):
                    info.uid, info.gid = (int(x) for x in ug.split(":"))
            if info.isreg():
                with open(path, "rb") as f:
                    tar.addfile(info, f)
            else:
                tar.addfile(info)
    return buf.getvalue()


def blob(out, data, media_type):
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    name = "blobs/sha256/" + digest.split(":")[1]
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = EPOCH
    info.mode = 0o644
    out.addfile(info, io.BytesIO(data))
    return {"mediaType": media_type, "digest": digest, "size": len(data)}, name


def add_file(out, name, data):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = EPOCH
    info.mode = 0o644
    out.addfile(info, io.BytesIO(data))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out")
    ap.add_argument("--name", required=True, help="repository:tag, e.g. tidings:0.1.0")
    ap.add_argument("--config", required=True, help="JSON file with the image's runtime config")
    ap.add_argument("layers", nargs="+")
    a = ap.parse_args()
    with open(a.config) as f:
        runtime = json.load(f)
    owners = runtime.pop("x-owned-by", {})
    labels = runtime.get("Labels", {})
    created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(EPOCH))

    with tarfile.open(a.out, "w", format=tarfile.PAX_FORMAT) as out:
        add_file(out, "oci-layout", json.dumps({"imageLayoutVersion": "1.0.0"}).encode())
        layers, diff_ids, layer_paths, history = [], [], [], []
        for d in a.layers:
            raw = layer_tar(d, owners)
            diff_ids.append("sha256:" + hashlib.sha256(raw).hexdigest())
            gz = gzip.compress(raw, compresslevel=6, mtime=0)
            desc, path = blob(out, gz, "application/vnd.oci.image.layer.v1.tar+gzip")
            layers.append(desc)
            layer_paths.append(path)
            history.append({"created": created, "created_by": "ops/image/oci.py " + os.path.basename(d.rstrip("/"))})
            print(f"layer {os.path.basename(d.rstrip('/'))}: {len(raw) / 1e6:.1f} MB, {len(gz) / 1e6:.1f} MB gzipped", file=sys.stderr)
        config = {"created": created, "architecture": "amd64", "os": "linux", "config": runtime,
                  "rootfs": {"type": "layers", "diff_ids": diff_ids}, "history": history}
        cfg_desc, cfg_path = blob(out, json.dumps(config, sort_keys=True).encode(),
                                  "application/vnd.oci.image.config.v1+json")
        manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "config": cfg_desc, "layers": layers, "annotations": dict(labels)}
        man_desc, _ = blob(out, json.dumps(manifest, sort_keys=True).encode(), "application/vnd.oci.image.manifest.v1+json")
        repo, _, tag = a.name.rpartition(":")
        man_desc["annotations"] = {"org.opencontainers.image.ref.name": tag, "io.containerd.image.name": a.name}
        add_file(out, "index.json", json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                                                "manifests": [man_desc]}, sort_keys=True).encode())
        add_file(out, "manifest.json", json.dumps([{"Config": cfg_path, "RepoTags": [a.name],
                                                    "Layers": layer_paths}]).encode())
    print(f"{a.out}: {a.name} {man_desc['digest']}", file=sys.stderr)


if __name__ == "__main__":
    main()
