#!/usr/bin/env bash
# Generates the ROS 2 interface packages under scripts/ros_interfaces/ (each
# folder holding a package.xml, e.g. vision_msgs, which is not on PyPI) and
# installs them into a venv that already holds the pinned ROS 2 Jazzy wheels
# (scripts/ros_interfaces/requirements.txt; scripts/setup_env.sh installs
# those, then calls this).
#   bash scripts/build_ros_interfaces.sh [--summary] [VENV]   (default $VG4D_VENV or .venv)
#
# The venv itself is the ament prefix the wheels use: libraries land in
# $VENV/lib next to the wheels' own (the wheels' ros_wheels_bootstrapper .pth
# puts that folder on LD_LIBRARY_PATH when the venv's python starts, for its
# subprocesses too), Python code in site-packages, share/<pkg> for CMake and
# the ament index. So `from vision_msgs.msg import ...` works in the venv's
# python with no environment variable set, as on a robot.
#
# A package is rebuilt only when its sources, the pinned requirements, this
# script, the Python version or numpy's major version change (stamp:
# $VENV/share/vg4d/ros_interfaces/<pkg>.stamp); a rebuild first removes the
# files the previous build installed.
# Needs cmake, make, a C/C++ compiler and the Python headers: installed with
# apt-get when missing (as root). --summary prints one line for setup_env.sh
# ("vision_msgs built (19 s)" / "vision_msgs up to date") instead of a
# [vg4d] line; build logs are shown only on failure.
set -euo pipefail

SUMMARY_ONLY=0
if [ "${1:-}" = "--summary" ]; then SUMMARY_ONLY=1; shift; fi
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SRC_ROOT="$HERE/ros_interfaces"
VENV_ARG=${1:-${VG4D_VENV:-.venv}}
VENV="$(cd "$VENV_ARG" 2>/dev/null && pwd)" || { echo "[vg4d] no venv at $VENV_ARG" >&2; exit 2; }
PY="$VENV/bin/python"
STAMPS="$VENV/share/vg4d/ros_interfaces"
JOBS=$(nproc 2>/dev/null || echo 2)

say() { echo "[vg4d] $*" >&2; }

# --- which packages, in dependency order, with their source hashes ----------
# catkin_pkg (pinned with the ROS wheels) orders them; a package's hash covers
# its files, the hashes of the local packages it depends on, the pinned
# requirements, this script, the Python version and numpy's major version.
plan=$(VG4D_SRC_ROOT="$SRC_ROOT" VG4D_SELF="${BASH_SOURCE[0]}" "$PY" - <<'EOF'
import hashlib, os, sys
from pathlib import Path
from catkin_pkg.package import parse_package
from catkin_pkg.topological_order import topological_order_packages

root = Path(os.environ["VG4D_SRC_ROOT"])
common = hashlib.sha256()
for extra in (root / "requirements.txt", root / "vg4d_fixup.cmake", Path(os.environ["VG4D_SELF"])):
    if extra.is_file():
        common.update(extra.read_bytes())
common.update(sys.version.encode())
try:  # the generated extensions are compiled against numpy's headers
    import numpy
    common.update(numpy.__version__.split(".")[0].encode())
except ImportError:
    pass
hashes = {}
# every folder of root with a package.xml (root's COLCON_IGNORE, which keeps a
# colcon workspace that holds this repo from building them, is not a reason here)
found = {d.name: parse_package(str(d)) for d in sorted(root.iterdir()) if (d / "package.xml").is_file()}
for path, pkg in topological_order_packages(found):
    h = hashlib.sha256(common.digest())
    folder = root / path
    for f in sorted(p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        h.update(str(f.relative_to(folder)).encode() + b"\0" + f.read_bytes() + b"\0")
    deps = {d.name for d in pkg.build_depends + pkg.buildtool_depends + pkg.exec_depends}
    for dep in sorted(deps & hashes.keys()):
        h.update(hashes[dep].encode())
    hashes[pkg.name] = h.hexdigest()
    print(pkg.name, folder, hashes[pkg.name], sep="\t")
EOF
)

todo=()
done_msg=()
while IFS=$'\t' read -r name folder hash; do
    [ -n "$name" ] || continue
    if [ "$(cat "$STAMPS/$name.stamp" 2>/dev/null)" = "$hash" ]; then
        done_msg+=("$name up to date")
    else
        todo+=("$name"$'\t'"$folder"$'\t'"$hash")
    fi
done <<< "$plan"

# --- build tools (only when something is to be built) -----------------------
if [ ${#todo[@]} -gt 0 ]; then
    need_apt=()
    for tool in cmake:cmake make:make gcc:gcc g++:g++; do
        command -v "${tool%%:*}" >/dev/null 2>&1 || need_apt+=("${tool#*:}")
    done
    PY_INCLUDE=$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')
    if [ ! -f "$PY_INCLUDE/Python.h" ]; then
        # Debian's interpreter keeps its headers in a separate package
        need_apt+=("lib$(basename "$PY_INCLUDE")-dev")
    fi
    if [ ${#need_apt[@]} -gt 0 ]; then
        say "installing build tools with apt-get: ${need_apt[*]}"
        if [ "$(id -u)" != 0 ]; then
            say "not root: install ${need_apt[*]} yourself (or set VG4D_ROS=0 to skip ROS 2 setup)"
            exit 1
        fi
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq >/dev/null
        apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
    fi
    NUMPY_INCLUDE=$("$PY" -c 'import numpy; print(numpy.get_include())')
fi

# The wheels' exported CMake targets name include folders of the wheel builder's machine:
# scripts/ros_interfaces/vg4d_fixup.cmake, included through CMAKE_PROJECT_INCLUDE, swaps them for this
# venv's Python / numpy headers (see that file).
FIXUP="$SRC_ROOT/vg4d_fixup.cmake"

# --- build + install each stale package --------------------------------------
for entry in ${todo[@]+"${todo[@]}"}; do
    IFS=$'\t' read -r name folder hash <<< "$entry"
    start=$SECONDS
    build=$(mktemp -d "${TMPDIR:-/tmp}/vg4d-ros-$name.XXXXXX")
    log="$build/build.log"
    mkdir -p "$STAMPS"
    # files of the previous build: removed so that a dropped .msg does not linger
    if [ -f "$STAMPS/$name.manifest" ]; then
        while IFS= read -r f; do
            case "$f" in "$VENV"/*) rm -f -- "$f" ;; esac
        done < "$STAMPS/$name.manifest"
        rm -f "$STAMPS/$name.stamp" "$STAMPS/$name.manifest"
    fi
    if ! (
        cd "$build" &&
        export AMENT_PREFIX_PATH="$VENV" CMAKE_PREFIX_PATH="$VENV" PATH="$VENV/bin:$PATH"
        # (errexit does not apply inside a tested subshell: chain with &&)
        cmake -S "$folder" -B . \
            -DCMAKE_INSTALL_PREFIX="$VENV" \
            -DCMAKE_BUILD_TYPE=Release \
            -DBUILD_TESTING=OFF \
            -DPython3_EXECUTABLE="$PY" -DPYTHON_EXECUTABLE="$PY" \
            -DCMAKE_PROJECT_INCLUDE="$FIXUP" \
            -DVG4D_PYTHON_INCLUDE_DIR="$PY_INCLUDE" \
            -DVG4D_NUMPY_INCLUDE_DIR="$NUMPY_INCLUDE" &&
        make -j"$JOBS" &&
        make install
    ) > "$log" 2>&1; then
        tail -n 40 "$log" >&2
        say "building ROS interface package $name failed (full log: $log)"
        exit 1
    fi
    if ! "$PY" -c "import $name" 2>>"$log"; then
        tail -n 5 "$log" >&2
        say "$name was built but does not import in $PY (log: $log)"
        exit 1
    fi
    cp "$build/install_manifest.txt" "$STAMPS/$name.manifest"
    echo "$hash" > "$STAMPS/$name.stamp"
    rm -rf "$build"
    done_msg+=("$name built ($((SECONDS - start)) s)")
done

line=$(IFS=,; echo "${done_msg[*]:-none}" | sed 's/,/, /g')
if [ "$SUMMARY_ONLY" = 1 ]; then
    echo "$line"
else
    echo "[vg4d] ROS interface packages in $VENV: $line"
fi
