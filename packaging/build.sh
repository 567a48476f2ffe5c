#!/usr/bin/env bash
# Build the LFP Desktop bundle (dist/lfp-desktop/: `lfp-desktop` and `lfp` sharing one folder)
# with PyInstaller, then smoke-test it. Safe to run again: the build venv is reused while its
# pins and pyproject.toml are unchanged, and the bundle is rebuilt in place.
#
#   packaging/build.sh           build venv (when needed), bundle, smoke test
#   packaging/build.sh --venv    only make the build venv (build/venv)
#   packaging/build.sh --smoke   only smoke-test the existing dist/lfp-desktop
#
# Environment: PYTHON (python3), LFP_BUILD_VENV (build/venv), TORCH_SPEC (torch==2.13.0: the
# CPU build here; a machine whose pip serves the CUDA build bundles that instead),
# LFP_SMOKE_GUI_MS (how long the offscreen GUI runs before quitting, default 8000).
set -euo pipefail

START=$(date +%s)
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

PYTHON=${PYTHON:-python3}
VENV=${LFP_BUILD_VENV:-$ROOT/build/venv}
TORCH_SPEC=${TORCH_SPEC:-torch==2.13.0}
PYINSTALLER_SPEC="pyinstaller>=6.10,<7"
BUNDLE="$ROOT/dist/lfp-desktop"
SMOKE="$ROOT/build/smoke"
VERSION=$(sed -n 's/^__version__ = "\(.*\)"$/\1/p' lfp_desktop/__init__.py)

log() { printf '\n== %s\n' "$*"; }
die() { echo "build.sh: error: $*" >&2; exit 1; }

check_sources() {
  [[ -n "$VERSION" ]] || die "could not read __version__ from lfp_desktop/__init__.py"
  grep -q "<release version=\"$VERSION\"" packaging/linux/io.lfpdesktop.LFPDesktop.metainfo.xml \
    || die "packaging/linux/io.lfpdesktop.LFPDesktop.metainfo.xml has no <release> for version $VERSION; add one"
  [[ -f resources/icons/lfp-desktop.svg ]] || die "resources/icons/ is empty; run: python packaging/make_icons.py"
}

make_venv() {
  local want
  # Where pip looks decides which torch build (CPU or CUDA) is bundled, so it is part of the pins.
  want="$TORCH_SPEC | $PYINSTALLER_SPEC | $(sha256sum pyproject.toml | cut -d' ' -f1)"
  want+=" | ${PIP_INDEX_URL:-} | ${PIP_EXTRA_INDEX_URL:-} | ${PIP_FIND_LINKS:-}"
  if [[ -f "$VENV/.lfp-build-stamp" && "$(cat "$VENV/.lfp-build-stamp")" == "$want" ]] \
     && "$VENV/bin/python" -c "import PyInstaller, torch, lfp_desktop" 2>/dev/null; then
    log "reusing the build venv $VENV"
    return
  fi
  log "making the build venv $VENV"
  rm -rf "$VENV"
  "$PYTHON" -m venv "$VENV"
  "$VENV/bin/python" -m pip install -q --upgrade pip
  # The pinned torch first, so the project's own install never pulls another build.
  "$VENV/bin/python" -m pip install -q "$TORCH_SPEC"
  "$VENV/bin/python" -m pip install -q -e "$ROOT"
  "$VENV/bin/python" -m pip install -q "$PYINSTALLER_SPEC"
  echo "$want" > "$VENV/.lfp-build-stamp"
}

build_bundle() {
  log "running PyInstaller ($("$VENV/bin/python" -m PyInstaller --version))"
  local t0=$SECONDS
  "$VENV/bin/python" -m PyInstaller --noconfirm --log-level WARN \
    --distpath "$ROOT/dist" --workpath "$ROOT/build/pyinstaller" packaging/lfp-desktop.spec
  # A copied bundle installs itself: install-linux.sh looks for linux/ beside it.
  cp packaging/install-linux.sh "$BUNDLE/install-linux.sh"
  rm -rf "$BUNDLE/linux"
  cp -r packaging/linux "$BUNDLE/linux"
  echo "PyInstaller took $((SECONDS - t0)) s"
}

json_python() {
  # Any Python parses the smoke test's JSON; the bundle itself needs none.
  if [[ -x "$VENV/bin/python" ]]; then echo "$VENV/bin/python"; else echo "$PYTHON"; fi
}

smoke_version() {
  log "smoke: lfp --version"
  local out
  out=$("$BUNDLE/lfp" --version)
  echo "$out"
  grep -q -- "$VERSION" <<<"$out" || die "'lfp --version' does not name version $VERSION"
}

smoke_gui() {
  log "smoke: lfp-desktop offscreen, quitting after ${LFP_SMOKE_GUI_MS:-8000} ms"
  local rc=0
  QT_QPA_PLATFORM=offscreen LFP_QUIT_AFTER_MS=${LFP_SMOKE_GUI_MS:-8000} \
    timeout 300 "$BUNDLE/lfp-desktop" >"$SMOKE/gui.log" 2>&1 || rc=$?
  tail -n 20 "$SMOKE/gui.log"
  [[ $rc -eq 0 ]] || die "the bundled GUI exited with status $rc (log: $SMOKE/gui.log)"
  echo "GUI exited 0"
}

smoke_demo() {
  log "smoke: lfp demo init + lfp attribute on one demo evidence image"
  if [[ ! -f "$BUNDLE/_internal/resources/demo/generator.pt" ]]; then
    echo "SKIPPED: the bundle has no demo model (resources/demo/generator.pt was missing at build time)"
    return
  fi
  "$BUNDLE/lfp" demo init --dir "$SMOKE/demo"
  local py image expected
  py=$(json_python)
  # The first fingerprinted image without post-processing, and the user it was made for.
  read -r image expected < <("$py" - "$SMOKE/demo/evidence/manifest.json" <<'EOF'
import json, sys
entries = json.load(open(sys.argv[1], encoding="utf-8"))
e = next(e for e in entries if e["kind"] == "fingerprinted" and e["postprocess"] == "none")
print(e["file"], e["user_name"])
EOF
)
  [[ -n "$image" && -n "$expected" ]] || die "no fingerprinted image in the demo manifest"
  local t0=$SECONDS
  "$BUNDLE/lfp" attribute "$SMOKE/demo/evidence/$image" --registry "$SMOKE/demo/demo-registry.lfpreg" \
    --json >"$SMOKE/attribute.json"
  "$py" - "$SMOKE/attribute.json" "$expected" <<'EOF'
import json, sys
text = open(sys.argv[1], encoding="utf-8").read()
record, _ = json.JSONDecoder().raw_decode(text[text.index("{"):])
named, expected = record.get("user_name"), sys.argv[2]
print(f"verdict {record.get('verdict')}, user {named} (expected {expected}), "
      f"distance {record.get('hamming_distance')}/{record.get('key_len')}, p {record.get('p_value')}")
sys.exit(0 if named == expected else 1)
EOF
  echo "attribution named the right user in $((SECONDS - t0)) s"
}

smoke_report() {
  log "smoke: lfp report verify on the bundled sample report (packaging/make_sample_report.py)"
  local pdf="$BUNDLE/_internal/resources/sample-report.pdf"
  local cert="$BUNDLE/_internal/resources/sample-report-lab-cert.pem"
  if [[ ! -f "$pdf" || ! -f "$cert" ]]; then
    echo "SKIPPED: resources/sample-report.pdf or sample-report-lab-cert.pem is not in the bundle (not in the source tree at build time)"
    return
  fi
  "$BUNDLE/lfp" report verify "$pdf" --trust "$cert" \
    || die "the bundled sample report does not verify with the bundled lab certificate"
  # One changed byte must make the bundled verifier fail.
  "$(json_python)" - "$pdf" "$SMOKE/changed-report.pdf" <<'EOF'
import sys
data = bytearray(open(sys.argv[1], "rb").read())
data[len(data) // 3] ^= 0x01
open(sys.argv[2], "wb").write(bytes(data))
EOF
  if "$BUNDLE/lfp" report verify "$SMOKE/changed-report.pdf" --trust "$cert" \
       >"$SMOKE/changed-report.log" 2>&1; then
    die "a copy of the sample report with one changed byte passed verification (log: $SMOKE/changed-report.log)"
  fi
  echo "a copy with one changed byte fails verification, as it must"
}

smoke_test() {
  [[ -x "$BUNDLE/lfp" && -x "$BUNDLE/lfp-desktop" ]] || die "no bundle in $BUNDLE; run packaging/build.sh"
  rm -rf "$SMOKE"
  mkdir -p "$SMOKE"
  # The bundle must find its own resources and must not touch the user's folders.
  unset LFP_RESOURCES
  export LFP_HOME="$SMOKE/home"
  smoke_version
  smoke_gui
  smoke_demo
  smoke_report
  log "smoke test passed"
}

case "${1:-}" in
  --venv) check_sources; make_venv ;;
  --smoke) smoke_test ;;
  "") check_sources; make_venv; build_bundle; smoke_test ;;
  -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) die "unknown option '$1' (see --help)" ;;
esac

if [[ -d "$BUNDLE" ]]; then
  echo "bundle: $BUNDLE ($(du -sh "$BUNDLE" | cut -f1))"
fi
echo "total time: $(( $(date +%s) - START )) s"
