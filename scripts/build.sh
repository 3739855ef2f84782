#!/bin/bash
# build: configure (once) and build one build directory; the compiler's
# output is shown only when the build fails.
#   scripts/build.sh DIR [meson options...]
set -euo pipefail
dir=$1
shift
cd "$(dirname "$0")/.."
if [ ! -f "$dir/build.ninja" ]; then
	meson setup "$dir" "$@" >"/tmp/meson-setup-$$.log" 2>&1 || {
		cat "/tmp/meson-setup-$$.log"
		exit 1
	}
	rm -f "/tmp/meson-setup-$$.log"
fi
if ! ninja -C "$dir" >"$dir/ninja.log" 2>&1; then
	cat "$dir/ninja.log"
	echo "build: $dir failed" >&2
	exit 1
fi
