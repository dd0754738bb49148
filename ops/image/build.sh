#!/usr/bin/env bash
# Builds the Tidings container image without a container engine or a registry (docs/decisions.md):
#   layer "base":    the C libraries the Java runtime links against (copied from this build host,
#                    found with ldd), /etc/passwd|group|nsswitch.conf, /tmp, /var/lib/tidings
#   layer "runtime": a Java runtime cut to the modules Tidings needs (jlink from the local JDK)
#   layer "app":     server/target/tidings.jar
# Output: server/target/tidings-image.tar, an OCI image layout that docker/podman load and skopeo copy.
# The entrypoint is the command ops/bin/tidings would run (same JVM flags), with paths of the image.
#
# Usage: ops/image/build.sh [--test]     (--test: also run the image's files with chroot, see test.sh)
# Needs: a JDK 17+ with jmods (Debian: openjdk-17-jdk-headless + openjdk-17-jmods), python3, ldd.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
jar="$root/server/target/tidings.jar"
[ -f "$jar" ] || mvn -B -q -DskipTests package -pl server -am
version=$(TIDINGS_JAR="$jar" ops/bin/tidings --version | awk '{print $2}')
java_home="${JAVA_HOME:-$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")}"
[ -d "$java_home/jmods" ] || { echo "image: $java_home has no jmods (Debian: apt-get install openjdk-17-jmods)" >&2; exit 1; }

work="$root/server/target/image"
rm -rf "$work" && mkdir -p "$work"/{base,runtime,app}

# ---- runtime: jlink -------------------------------------------------------------------------------
# jdeps' list for the jar, plus: jdk.crypto.ec (TLS with EC keys), jdk.compiler (Chronicle compiles
# generated code at run time; the manifest's Add-Exports names it), jdk.zipfs, jdk.localedata off.
modules=$("$java_home/bin/jdeps" --print-module-deps --ignore-missing-deps --multi-release 17 "$jar")
modules="$modules,jdk.crypto.ec,jdk.compiler"
"$java_home/bin/jlink" --module-path "$java_home/jmods" --add-modules "$modules" \
  --strip-debug --no-man-pages --no-header-files --compress=2 --output "$work/runtime/opt/tidings/jre"
# Debian's JDK links its CA store (lib/security/cacerts) to /etc/ssl/certs/java/cacerts: copy the content
if [ -L "$work/runtime/opt/tidings/jre/lib/security/cacerts" ] || [ ! -s "$work/runtime/opt/tidings/jre/lib/security/cacerts" ]; then
  rm -f "$work/runtime/opt/tidings/jre/lib/security/cacerts"
  cp -L "$java_home/lib/security/cacerts" "$work/runtime/opt/tidings/jre/lib/security/cacerts" 2>/dev/null || true
fi

# ---- base: C libraries the runtime needs, minimal /etc ----------------------------------------------
# (not for the AWT/sound libraries java.desktop brings along: a headless server never loads them, and
# they would pull in X11, freetype, ALSA …; java.desktop itself is needed for java.beans)
libs=$(find "$work/runtime/opt/tidings/jre" -type f \( -name '*.so' -o -path '*/bin/*' \) \
    ! -name 'libawt_xawt.so' ! -name 'libfontmanager.so' ! -name 'libsplashscreen.so' ! -name 'libjsound.so' \
    ! -name 'liblcms.so' ! -name 'libjavajpeg.so' ! -name 'libjawt.so' -print0 \
  | xargs -0 ldd 2>/dev/null | awk '/=>/ {print $3} /^\s*\/.*ld-linux/ {print $1}' | grep '^/' \
  | grep -v "^$work/" | sort -u)
for lib in $libs; do
  mkdir -p "$work/base$(dirname "$lib")"
  cp -L "$lib" "$work/base$lib"
done
# the dynamic loader at its canonical path, whatever ldd printed
loader=$(readelf -l "$work/runtime/opt/tidings/jre/bin/java" | sed -n 's/.*interpreter: \(.*\)]/\1/p')
mkdir -p "$work/base$(dirname "$loader")" && cp -L "$loader" "$work/base$loader"
# their licences (the runtime's own are in /opt/tidings/jre/legal)
if command -v dpkg >/dev/null 2>&1; then
  for lib in $libs $loader; do
    pkg=$({ dpkg -S "$lib" 2>/dev/null || dpkg -S "$(readlink -f "$lib")" 2>/dev/null; } | head -1 | cut -d: -f1) || true
    if [ -n "$pkg" ] && [ -f "/usr/share/doc/$pkg/copyright" ]; then
      mkdir -p "$work/base/usr/share/doc/$pkg" && cp "/usr/share/doc/$pkg/copyright" "$work/base/usr/share/doc/$pkg/"
    fi
  done
fi
mkdir -p "$work/base/etc" "$work/base/tmp" "$work/base/var/lib/tidings" "$work/base/dev" "$work/base/proc"
chmod 1777 "$work/base/tmp"
printf 'root:x:0:0:root:/root:/sbin/nologin\ntidings:x:10001:10001:tidings:/var/lib/tidings:/sbin/nologin\n' > "$work/base/etc/passwd"
printf 'root:x:0:\ntidings:x:10001:\n' > "$work/base/etc/group"
printf 'hosts: files dns\n' > "$work/base/etc/nsswitch.conf"

# ---- app ----------------------------------------------------------------------------------------
mkdir -p "$work/app/opt/tidings/lib"
cp "$jar" "$work/app/opt/tidings/lib/tidings.jar"

# ---- config: the launcher's command, with the image's paths ------------------------------------
mapfile -t command < <(TIDINGS_JAVA="$work/runtime/opt/tidings/jre/bin/java" TIDINGS_JAR="$jar" TIDINGS_PRINT_COMMAND=1 ops/bin/tidings)
python3 - "$work/config.json" "$version" "${command[@]}" <<'EOF'
import json, sys
out, version, cmd = sys.argv[1], sys.argv[2], sys.argv[3:]
cmd[0] = "/opt/tidings/jre/bin/java"
cmd = [c for c in cmd]
cmd[cmd.index("-jar") + 1] = "/opt/tidings/lib/tidings.jar"
# container memory: size the heap from the cgroup limit
cmd.insert(1, "-XX:MaxRAMPercentage=75")
json.dump({
    "Entrypoint": cmd,
    "Cmd": ["serve", "--data-dir", "/var/lib/tidings"],
    "Env": ["PATH=/opt/tidings/jre/bin:/usr/bin:/bin", "JAVA_HOME=/opt/tidings/jre"],
    "User": "10001:10001",
    "WorkingDir": "/var/lib/tidings",
    "ExposedPorts": {"8080/tcp": {}},
    "Volumes": {"/var/lib/tidings": {}},
    "StopSignal": "SIGTERM",
    "Labels": {"org.opencontainers.image.title": "tidings",
               "org.opencontainers.image.description": "Durable notification gateway",
               "org.opencontainers.image.version": version},
    "x-owned-by": {"/var/lib/tidings": "10001:10001"},
}, open(out, "w"), indent=2)
EOF
python3 ops/image/oci.py "$root/server/target/tidings-image.tar" --name "tidings:$version" --config "$work/config.json" \
  "$work/base" "$work/runtime" "$work/app"
if [ "${1:-}" = "--test" ]; then ops/image/test.sh "$root/server/target/tidings-image.tar"; fi
