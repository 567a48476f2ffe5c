#!/usr/bin/env bash
# Install the LFP Desktop bundle on Linux: the program folder, `lfp-desktop` and `lfp` on the
# PATH, the menu entry, the icons at the hicolor sizes and the AppStream metadata.
#
#   install-linux.sh [--prefix DIR] [--bundle DIR] [--uninstall]
#
# Default prefix: /usr/local as root, ~/.local otherwise. Runs from the source tree
# (packaging/install-linux.sh, bundle in dist/lfp-desktop) or from inside a built bundle,
# where build.sh puts a copy of this script and of packaging/linux/.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
APP=lfp-desktop
APP_ID=io.lfpdesktop.LFPDesktop
SIZES=(16 32 48 64 128 256 512)

if [[ $(id -u) -eq 0 ]]; then PREFIX=/usr/local; else PREFIX="$HOME/.local"; fi
if [[ -x "$HERE/$APP" ]]; then BUNDLE="$HERE"; else BUNDLE="$(dirname "$HERE")/dist/$APP"; fi
UNINSTALL=0

usage() { sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; }
die() { echo "install-linux.sh: error: $*" >&2; exit 1; }

while [[ $# -gt 0 ]]; do
  case "$1" in
    --prefix) [[ $# -ge 2 ]] || die "--prefix needs a folder"; PREFIX="$2"; shift 2 ;;
    --bundle) [[ $# -ge 2 ]] || die "--bundle needs a folder"; BUNDLE="$2"; shift 2 ;;
    --uninstall) UNINSTALL=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) die "unknown option '$1' (see --help)" ;;
  esac
done

LIBDIR="$PREFIX/lib/$APP"
BINDIR="$PREFIX/bin"
SHARE="$PREFIX/share"
DESKTOP_FILE="$SHARE/applications/$APP.desktop"
METAINFO_FILE="$SHARE/metainfo/$APP_ID.metainfo.xml"

refresh_caches() {
  # Menus and icon themes pick up changes sooner with fresh caches; missing tools are fine.
  if command -v update-desktop-database >/dev/null 2>&1; then
    update-desktop-database -q "$SHARE/applications" || true
  fi
  if command -v gtk-update-icon-cache >/dev/null 2>&1; then
    gtk-update-icon-cache -q -t "$SHARE/icons/hicolor" || true
  fi
}

if [[ $UNINSTALL -eq 1 ]]; then
  rm -rf "$LIBDIR"
  rm -f "$BINDIR/lfp-desktop" "$BINDIR/lfp" "$DESKTOP_FILE" "$METAINFO_FILE"
  for s in "${SIZES[@]}"; do rm -f "$SHARE/icons/hicolor/${s}x${s}/apps/$APP.png"; done
  rm -f "$SHARE/icons/hicolor/scalable/apps/$APP.svg"
  refresh_caches
  echo "removed LFP Desktop from $PREFIX"
  exit 0
fi

[[ -x "$BUNDLE/lfp-desktop" && -x "$BUNDLE/lfp" ]] \
  || die "no built bundle in $BUNDLE; run packaging/build.sh first or pass --bundle DIR"
ICONS="$BUNDLE/_internal/resources/icons"
[[ -f "$ICONS/$APP.svg" ]] || die "the bundle in $BUNDLE has no icons ($ICONS); rebuild it"
if [[ -d "$BUNDLE/linux" ]]; then LINUX="$BUNDLE/linux"; else LINUX="$HERE/linux"; fi
[[ -f "$LINUX/$APP.desktop" ]] || die "desktop entry not found in $LINUX"

# Program folder: copy to a new folder, then swap, so a failed copy leaves the old install.
mkdir -p "$PREFIX/lib" "$BINDIR"
if [[ "$(cd "$BUNDLE" && pwd -P)" != "$(mkdir -p "$LIBDIR" && cd "$LIBDIR" && pwd -P)" ]]; then
  rm -rf "$LIBDIR.new"
  cp -a "$BUNDLE" "$LIBDIR.new"
  rm -rf "$LIBDIR"
  mv "$LIBDIR.new" "$LIBDIR"
fi
ln -sfn "$LIBDIR/lfp-desktop" "$BINDIR/lfp-desktop"
ln -sfn "$LIBDIR/lfp" "$BINDIR/lfp"

# Menu entry: an absolute Exec, since a desktop session's PATH may lack ~/.local/bin.
mkdir -p "$SHARE/applications" "$SHARE/metainfo"
sed -e "s|^Exec=lfp-desktop|Exec=$BINDIR/lfp-desktop|" -e "s|^TryExec=lfp-desktop|TryExec=$BINDIR/lfp-desktop|" \
  "$LINUX/$APP.desktop" > "$DESKTOP_FILE"
install -m 0644 "$LINUX/$APP_ID.metainfo.xml" "$METAINFO_FILE"

for s in "${SIZES[@]}"; do
  install -D -m 0644 "$ICONS/$APP-$s.png" "$SHARE/icons/hicolor/${s}x${s}/apps/$APP.png"
done
install -D -m 0644 "$ICONS/$APP.svg" "$SHARE/icons/hicolor/scalable/apps/$APP.svg"
refresh_caches

echo "installed LFP Desktop in $LIBDIR"
echo "  programs:   $BINDIR/lfp-desktop, $BINDIR/lfp"
echo "  menu entry: $DESKTOP_FILE"
case ":$PATH:" in *":$BINDIR:"*) ;; *) echo "  note: $BINDIR is not on your PATH; add it to run 'lfp' by name" ;; esac
