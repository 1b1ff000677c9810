#!/usr/bin/env bash
# `make mujoco`: install what the `mujoco` cargo feature builds against into third_party/mujoco/
# (git-ignored), from the two wheels pinned with their SHA-256 in scripts/mujoco-requirements.txt:
#
#   lib/libmujoco.so.3.17.0, lib/libmujoco.so -> libmujoco.so.3.17.0   (the `mujoco` wheel)
#   include/mujoco/*.h                                                  (the `mujoco` wheel)
#   assets/*.xml        Gymnasium 1.4.0's envs/mujoco/assets/           (the `gymnasium` wheel)
#   licenses/           the two packages' license files
#   wheels/             the two wheels (tests/data/gym/make_mujoco_reference.py installs them)
#
# pip downloads them with --require-hashes (and --no-deps: nothing else is needed), so a file
# that differs from the pinned one is refused. Idempotent: when the installed copy matches the
# pinned list it says so and exits at once. Linux on x86_64 only (the wheel's platform).
set -euo pipefail
cd "$(dirname "$0")/.."
requirements=scripts/mujoco-requirements.txt
dest=third_party/mujoco
stamp=$dest/.installed
python=${PYTHON:-python3}

fail() { echo "Error: make mujoco: $*" >&2; exit 1; }

if [ -f "$stamp" ] && cmp -s "$requirements" "$stamp" && [ -e "$dest/lib/libmujoco.so" ]; then
    echo "MuJoCo 3.17.0 and Gymnasium 1.4.0's models are installed in $dest"
    exit 0
fi
[ "$(uname -s)/$(uname -m)" = "Linux/x86_64" ] \
    || fail "the pinned mujoco wheel is for Linux on x86_64, not $(uname -s) on $(uname -m)"
"$python" -m pip --version >/dev/null 2>&1 \
    || fail "needs $python with pip (e.g. apt install python3-pip) to download mujoco==3.17.0 and gymnasium==1.4.0 from PyPI"

work=$(mktemp -d "${TMPDIR:-/tmp}/hesscale-mujoco.XXXXXX")
trap 'rm -rf "$work"' EXIT
echo "Downloading mujoco==3.17.0 and gymnasium==1.4.0 from PyPI (about 27 MB, checked against their SHA-256)"
"$python" -m pip download --quiet --disable-pip-version-check --retries 2 --no-deps --require-hashes \
    --only-binary=:all: --platform manylinux_2_28_x86_64 --python-version 3.11 \
    --implementation cp --abi cp311 -r "$requirements" -d "$work/wheels" >"$work/pip.log" 2>&1 \
    || fail "could not download mujoco==3.17.0 and gymnasium==1.4.0 from PyPI with the hashes of $requirements (is https://pypi.org reachable? pip: $(grep -m1 '^ERROR' "$work/pip.log" || tail -n1 "$work/pip.log"))"

"$python" - "$work" <<'PY' || fail "could not unpack the wheels"
import glob, os, shutil, sys, zipfile
work = sys.argv[1]
out = os.path.join(work, "mujoco")
def extract(wheel, pick):
    with zipfile.ZipFile(wheel) as archive:
        for name in archive.namelist():
            target = pick(name)
            if target is None or name.endswith("/"):
                continue
            path = os.path.join(out, target)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with archive.open(name) as src, open(path, "wb") as dst:
                shutil.copyfileobj(src, dst)
def mujoco(name):
    if name == "mujoco/libmujoco.so.3.17.0":
        return "lib/libmujoco.so.3.17.0"
    if name.startswith("mujoco/include/mujoco/") and name.count("/") == 3 and name.endswith(".h"):
        return "include/mujoco/" + os.path.basename(name)
    if name.startswith("mujoco-3.17.0.dist-info/") and "LICENSE" in name.upper():
        return "licenses/mujoco/" + os.path.basename(name)
    return None
def gymnasium(name):
    if name.startswith("gymnasium/envs/mujoco/assets/") and name.endswith(".xml"):
        return "assets/" + os.path.basename(name)
    if name.startswith("gymnasium-1.4.0.dist-info/") and "LICENSE" in name.upper():
        return "licenses/gymnasium/" + os.path.basename(name)
    return None
(mj,) = glob.glob(os.path.join(work, "wheels", "mujoco-3.17.0-*.whl"))
(gym,) = glob.glob(os.path.join(work, "wheels", "gymnasium-1.4.0-*.whl"))
extract(mj, mujoco)
extract(gym, gymnasium)
for required in ("lib/libmujoco.so.3.17.0", "include/mujoco/mujoco.h", "assets/half_cheetah.xml"):
    if not os.path.isfile(os.path.join(out, required)):
        sys.exit(f"{required} is missing from the wheels")
os.symlink("libmujoco.so.3.17.0", os.path.join(out, "lib", "libmujoco.so"))
shutil.move(os.path.join(work, "wheels"), os.path.join(out, "wheels"))
PY

cp "$requirements" "$work/mujoco/.installed"
mkdir -p third_party
rm -rf "$dest"
mv "$work/mujoco" "$dest"
echo "Installed MuJoCo 3.17.0 (lib/, include/) and Gymnasium 1.4.0's models (assets/) in $dest"
