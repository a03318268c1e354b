#!/usr/bin/env bash
# Make the site's CA (once) and a certificate for the hub's broker, signed by it.
#
#   kiosk/mosquitto/make-certs.sh DIR NAME [NAME...]
#
# DIR gets ca.key and ca.crt (kept if they exist: every device trusts that CA), and
# server.key and server.crt for the broker. Each NAME is a DNS name or an IP address that
# devices use to reach the hub; clients check the broker's certificate against it.
# Copy ca.key somewhere safe and off the hub; docs/security.md has the whole procedure.
set -euo pipefail

if [ $# -lt 2 ]; then
  echo "usage: $0 DIR NAME [NAME...]" >&2
  exit 2
fi
dir=$1
shift
umask 077
mkdir -p "$dir"

names=""
for name in "$@"; do
  if [[ $name =~ ^[0-9.]+$ || $name == *:* ]]; then
    names="$names,IP:$name"
  else
    names="$names,DNS:$name"
  fi
done

if [ ! -f "$dir/ca.key" ]; then
  # P-256 keys: as strong as RSA-3072, and quick on a Raspberry Pi.
  openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$dir/ca.key" -out "$dir/ca.crt" -days 3650 -subj "/CN=Wallboard site CA" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign"
fi

openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
  -keyout "$dir/server.key" -out "$dir/server.csr" -subj "/CN=$1"
# 825 days: the longest lifetime TLS clients commonly accept for a server certificate.
openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" \
  -CAcreateserial -out "$dir/server.crt" -days 825 -extfile <(printf '%s\n' \
    "basicConstraints=critical,CA:FALSE" \
    "keyUsage=critical,digitalSignature" \
    "extendedKeyUsage=serverAuth" \
    "subjectKeyIdentifier=hash" \
    "authorityKeyIdentifier=keyid,issuer" \
    "subjectAltName=${names#,}")
rm -f "$dir/server.csr"
chmod 0644 "$dir/ca.crt" "$dir/server.crt"
echo "made $dir/server.crt for ${names#,}, signed by $dir/ca.crt" >&2
