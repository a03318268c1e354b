#!/bin/sh
# Add this Debian release's backports suite (Mosquitto 2.0.12 or newer is only there on
# bookworm), from the same mirror apt already uses for the release: the line is derived
# from apt's own sources, so no mirror is written down here. Idempotent; run as root.
set -eu

codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
if [ -z "$codename" ]; then
    echo "add-backports: /etc/os-release names no release codename" >&2
    exit 1
fi
suite="$codename-backports"
# Origin last: it may hold spaces ("Debian Backports").
targets() { apt-get indextargets --format '$(CODENAME) $(REPO_URI) $(ORIGIN)'; }

if targets | awk -v s="$suite" '$1 == s { found = 1 } END { exit !found }'; then
    exit 0  # already among apt's sources
fi
apt-get update -qq
# Debian's own archive for this release (not the Raspberry Pi archive beside it).
uri=$(targets | awk -v c="$codename" '$1 == c && $3 == "Debian" && NF == 3 { print $2; exit }')
if [ -z "$uri" ]; then
    echo "add-backports: apt has no Debian $codename source to derive $suite from" >&2
    exit 1
fi
printf 'Types: deb\nURIs: %s\nSuites: %s\nComponents: main\n' "$uri" "$suite" \
    > /etc/apt/sources.list.d/wallboard-backports.sources
apt-get update -qq
echo "add-backports: added $suite"
