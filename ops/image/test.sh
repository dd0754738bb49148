#!/usr/bin/env bash
# Smoke test of the container image without a container engine: unpacks the image tar the way a
# runtime would (index.json -> manifest -> config + layers, digests verified), then runs the image's
# entrypoint + cmd inside the unpacked root file system with chroot, as the image's user, and checks
# that the gateway answers /readyz, accepts a publish and exports metrics; then stops it with SIGTERM
# (the image's stop signal) and runs `tidings log verify` on the data it wrote.
# Needs root (chroot, mount of /proc). If `skopeo` is installed it also inspects the archive.
# Usage: ops/image/test.sh [server/target/tidings-image.tar]
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
image="${1:-$root/server/target/tidings-image.tar}"
work="$(mktemp -d -t tidings-image-test.XXXXXX)"
rootfs="$work/rootfs"
gw=""
cleanup() {
  if [ -n "$gw" ]; then kill "$gw" 2>/dev/null || true; wait "$gw" 2>/dev/null || true; fi
  mountpoint -q "$rootfs/proc" && umount "$rootfs/proc" || true
  mountpoint -q "$rootfs/dev" && umount "$rootfs/dev" || true
  mountpoint -q "$rootfs" && umount "$rootfs" || true
  rm -rf "$work"
}
trap cleanup EXIT
trap 'echo "image test failed; gateway output:" >&2; cat "$work/gateway.log" >&2 2>/dev/null || true' ERR

python3 - "$image" "$rootfs" "$work/runtime.json" <<'EOF'
import hashlib, io, json, sys, tarfile
image, rootfs, out = sys.argv[1:]
with tarfile.open(image) as t:
    def blob(d):
        data = t.extractfile("blobs/sha256/" + d["digest"].split(":")[1]).read()
        assert "sha256:" + hashlib.sha256(data).hexdigest() == d["digest"], "digest mismatch " + d["digest"]
        assert len(data) == d["size"], "size mismatch"
        return data
    layout = json.load(t.extractfile("oci-layout"))
    assert layout["imageLayoutVersion"] == "1.0.0"
    index = json.load(t.extractfile("index.json"))
    manifest = json.loads(blob(index["manifests"][0]))
    config = json.loads(blob(manifest["config"]))
    docker = json.load(t.extractfile("manifest.json"))
    assert docker[0]["Config"].endswith(manifest["config"]["digest"].split(":")[1])
    for layer, diff_id in zip(manifest["layers"], config["rootfs"]["diff_ids"]):
        data = __import__("gzip").decompress(blob(layer))
        assert "sha256:" + hashlib.sha256(data).hexdigest() == diff_id, "diff_id mismatch"
        with tarfile.open(fileobj=io.BytesIO(data)) as lt:
            lt.extractall(rootfs, numeric_owner=True)
    print("image:", index["manifests"][0]["annotations"]["io.containerd.image.name"], index["manifests"][0]["digest"],
          f'{len(manifest["layers"])} layers, digests verified')
    json.dump(config["config"], open(out, "w"))
EOF
if command -v skopeo >/dev/null 2>&1; then
  skopeo inspect "oci-archive:$image" | python3 -c 'import json,sys; d=json.load(sys.stdin); print("skopeo:", d.get("Architecture"), d.get("Os"), len(d["Layers"]), "layers")'
fi

mapfile -t argv < <(python3 -c 'import json,sys; c=json.load(open(sys.argv[1])); print("\n".join(c["Entrypoint"] + c["Cmd"]))' "$work/runtime.json")
user=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["User"])' "$work/runtime.json")
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# like a container runtime: the root file system is a mount point, with /proc and /dev in it
mount --bind "$rootfs" "$rootfs"
mkdir -p "$rootfs/proc" "$rootfs/dev" "$rootfs/etc"
mount -t proc proc "$rootfs/proc"
mount --bind /dev "$rootfs/dev"
cp /etc/hosts "$rootfs/etc/hosts"   # a container runtime provides /etc/hosts and /etc/resolv.conf
echo "running in chroot as $user: ${argv[*]} --port $port"
chroot=$(command -v chroot)
env -i TIDINGS_PUBLISH_KEYS=image-test TIDINGS_AUDIT_KEYS=image-audit \
  TIDINGS_JWT_SECRET=image-test-secret-image-test-secret-0123 \
  "$chroot" --userspec="$user" "$rootfs" "${argv[@]}" --port "$port" > "$work/gateway.log" 2>&1 &
gw=$!
for _ in $(seq 1 300); do curl -fs -o /dev/null "http://127.0.0.1:$port/readyz" && break; sleep 0.1; done
curl -fs "http://127.0.0.1:$port/readyz" >/dev/null || { cat "$work/gateway.log"; echo "image test: gateway did not become ready" >&2; exit 1; }
offset=$(curl -fs -X POST "http://127.0.0.1:$port/v1/events" -H 'Authorization: Bearer image-test' \
  -d '{"room":"r/1","type":"t","data":{"from":"image"}}')
echo "publish: $offset"
curl -fs "http://127.0.0.1:$port/metrics" | grep -q '^tidings_log_appended_events_total{outcome="committed",} 1.0' \
  || { echo "image test: metrics do not show the publish" >&2; exit 1; }
kill -TERM "$gw"; wait "$gw" || true; gw=""
grep -q "shutting down" "$work/gateway.log" || { cat "$work/gateway.log"; echo "image test: no graceful shutdown" >&2; exit 1; }
chroot --userspec="$user" "$rootfs" "${argv[@]:0:${#argv[@]}-3}" log verify --data-dir /var/lib/tidings | tail -2
echo "image test passed"
