# Sourced by tests/run.sh and demo.sh (not run on its own): makes the virtual
# environment the project runs in and sets PY to its python.
#   VG4D_VENV       where (default .venv)
#   VG4D_TORCH_SPEC the torch/torchvision pair (default the one the tests use:
#                   open_clip needs a torchvision built for the very same torch)
#   PYTHON          the interpreter that creates it (default python3, 3.10+)
#   VG4D_ROS        0 skips ROS 2 (rclpy + generated vision_msgs); default 1
# A venv that already holds torch and torchvision keeps them.
VENV=${VG4D_VENV:-.venv}
PYTHON=${PYTHON:-python3}
TORCH_SPEC=${VG4D_TORCH_SPEC:-"torch==2.14.1 torchvision==0.29.1"}

if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 10))'; then
    echo "[vg4d] $PYTHON is $("$PYTHON" --version 2>&1); vg4d needs Python 3.10 or newer (set PYTHON=...)" >&2
    exit 2
fi
if [ ! -x "$VENV/bin/python" ]; then
    echo "[vg4d] creating virtual environment $VENV"
    "$PYTHON" -m venv "$VENV"
fi
PY="$VENV/bin/python"
# The project's own install is redone only when its packaging files, this
# checkout's path or TORCH_SPEC change (stamp in the venv), so that a rerun on
# a ready venv takes seconds.
_vg4d_stamp="$VENV/share/vg4d/project-install.sha256"
_vg4d_sum=$( { echo "$PWD|$TORCH_SPEC"; cat src/vg4d_core/setup.py src/vg4d_core/setup.cfg src/vg4d_core/package.xml \
    src/vg4d_ros/setup.py src/vg4d_ros/setup.cfg src/vg4d_ros/package.xml 2>/dev/null; } | sha256sum | cut -d' ' -f1)
if [ "$(cat "$_vg4d_stamp" 2>/dev/null)" != "$_vg4d_sum" ]; then
    "$PY" -m pip install --quiet --upgrade pip setuptools wheel
    # torch + torchvision first, so that the packages' "torch>=2.4" is already
    # satisfied and the resolver does not swap in another build (CPU vs CUDA, or a
    # torchvision for another torch) behind your back.
    # shellcheck disable=SC2086  # TORCH_SPEC is a list of requirements
    if ! "$PY" -c "import torch, torchvision" 2>/dev/null; then
        # The default pair is a CUDA build: about 6.5 GB in the venv with the
        # rest, and the tests write some 0.3 GB more. Say so up front, so that
        # pip or the tests running out of disk halfway is not a mystery.
        _vg4d_free_kb=$(df -Pk "$VENV" | awk 'NR == 2 {print $4}')
        if [ -n "$_vg4d_free_kb" ] && [ "$_vg4d_free_kb" -lt $((7 * 1024 * 1024)) ]; then
            echo "[vg4d] WARNING: only $((_vg4d_free_kb / 1024)) MB free where $VENV lies; torch with its CUDA" \
                 "libraries and the rest take about 6.5 GB and the tests 0.3 GB more (free some disk, or point" \
                 "VG4D_VENV elsewhere)" >&2
        fi
        unset _vg4d_free_kb
        "$PY" -m pip install --quiet $TORCH_SPEC
    fi
    "$PY" -m pip install --quiet -e "src/vg4d_core[test,clip]" -e "src/vg4d_ros[test]"
    mkdir -p "$(dirname "$_vg4d_stamp")" && echo "$_vg4d_sum" > "$_vg4d_stamp"
fi
# ROS 2 Jazzy from PyPI wheels, every version pinned in
# scripts/ros_interfaces/requirements.txt, then the interface packages that are
# not on PyPI (vision_msgs) generated into the venv by
# scripts/build_ros_interfaces.sh. Both keep a stamp in the venv, so a rerun
# on a ready venv costs well under a second. No environment variable needed
# afterwards: the wheels' own .pth (ros_wheels_bootstrapper) sets up the
# library path whenever the venv's python starts.
if [ "${VG4D_ROS:-1}" != 0 ]; then
    _vg4d_t0=$SECONDS
    _vg4d_req=scripts/ros_interfaces/requirements.txt
    _vg4d_stamp="$VENV/share/vg4d/ros-requirements.sha256"
    _vg4d_sum=$(sha256sum "$_vg4d_req" | cut -d' ' -f1)
    if [ "$(cat "$_vg4d_stamp" 2>/dev/null)" = "$_vg4d_sum" ] && compgen -G "$VENV/lib/python3*/site-packages/rclpy" >/dev/null; then
        _vg4d_wheels="already installed"
    else
        "$PY" -m pip install --quiet -r "$_vg4d_req" || {
            echo "[vg4d] installing the ROS 2 wheels failed (VG4D_ROS=0 skips ROS 2)" >&2; exit 1; }
        mkdir -p "$(dirname "$_vg4d_stamp")" && echo "$_vg4d_sum" > "$_vg4d_stamp"
        _vg4d_wheels="installed"
    fi
    _vg4d_ifaces=$(bash scripts/build_ros_interfaces.sh --summary "$VENV") || {
        echo "[vg4d] generating the ROS interface packages failed (VG4D_ROS=0 skips ROS 2)" >&2; exit 1; }
    echo "[vg4d] ROS 2 Jazzy rclpy $(sed -n 's/^ros-jazzy-rclpy==//p' "$_vg4d_req") (pinned PyPI wheels, $_vg4d_wheels), interfaces: $_vg4d_ifaces [$((SECONDS - _vg4d_t0)) s]"
    unset _vg4d_t0 _vg4d_req _vg4d_wheels _vg4d_ifaces
fi
unset _vg4d_stamp _vg4d_sum
echo "[vg4d] $("$PY" -c 'import torch, sys; import torchvision; print(f"python {sys.version.split()[0]}, torch {torch.__version__}, torchvision {torchvision.__version__}, cuda {torch.cuda.is_available()}")')"
