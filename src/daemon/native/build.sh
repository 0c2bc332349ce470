#!/bin/sh
# Build the sd_notify N-API addon into build/sd_notify.node (run from anywhere; needs a C
# compiler and Node's headers). Failure is not fatal: sacbridge then falls back to spawning
# systemd-notify, which needs NotifyAccess=all in the unit.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
out="$root/build/sd_notify.node"
cc=${CC:-}
if [ -z "$cc" ]; then
  for c in cc gcc clang; do
    if command -v "$c" >/dev/null 2>&1; then cc=$c; break; fi
  done
fi
if [ -z "$cc" ]; then
  echo "sd_notify addon: no C compiler (cc, gcc, clang); systemd-notify fallback will be used" >&2
  exit 0
fi
inc=$(node -p "require('path').resolve(process.execPath, '../../include/node')")
if [ ! -f "$inc/node_api.h" ]; then
  echo "sd_notify addon: no Node headers at $inc; systemd-notify fallback will be used" >&2
  exit 0
fi
mkdir -p "$root/build"
if "$cc" -O2 -Wall -Wextra -fPIC -shared -DNODE_GYP_MODULE_NAME=sd_notify -I"$inc" -o "$out.tmp.$$" "$here/sd_notify.c"; then
  mv "$out.tmp.$$" "$out"
  echo "sd_notify addon: built $out"
else
  rm -f "$out.tmp.$$"
  echo "sd_notify addon: build failed; systemd-notify fallback will be used" >&2
fi
exit 0
