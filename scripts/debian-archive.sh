#!/usr/bin/env bash
# Prints the first Debian archive URI this machine's apt already uses (deb822 or one-line format),
# so that no script names an archive's host itself. $1 names the caller in the error.
set -euo pipefail
archive=$(
  {
    grep -h '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}'
    grep -h '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
      sed -E 's/^deb (\[[^]]*\] )?([^ ]+).*/\2/'
  } | grep -v -- '-security' | head -1
) || true
if [ -z "$archive" ]; then
  echo "${1:-debian-archive}: no Debian archive in /etc/apt/sources.list.d/*.sources or sources.list" >&2
  exit 1
fi
echo "$archive"
