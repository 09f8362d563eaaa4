# shellcheck shell=bash
# TLS material for the local SASL_SSL broker and the TLS Redis (source it after lib.sh; do not run it).
# Uses openssl only. Keys are 0600, in the service's data directory (never in git).

# random_secret : a 32-character random password (letters and digits), on stdout.
random_secret() { openssl rand -hex 16; }

# ensure_ca DIR : a self-signed CA (DIR/ca.key, DIR/ca.crt), made once; reuse it with TLS_CA_DIR.
ensure_ca() {
  local dir="$1"
  mkdir -p "$dir"; chmod 700 "$dir"
  [ -f "$dir/ca.crt" ] && [ -f "$dir/ca.key" ] && return 0
  openssl req -x509 -newkey rsa:2048 -nodes -days 825 -subj "/CN=emopipe local CA" \
    -keyout "$dir/ca.key" -out "$dir/ca.crt" 2>/dev/null || die "openssl could not make a CA in $dir"
  chmod 600 "$dir/ca.key"
}

# ensure_server_cert CA_DIR OUT_DIR NAME SANS : OUT_DIR/NAME.key + NAME.crt signed by the CA,
# SANS like "IP:127.0.0.1,DNS:localhost". Re-made when the SANs change.
ensure_server_cert() {
  local ca="$1" dir="$2" name="$3" sans="$4"
  mkdir -p "$dir"; chmod 700 "$dir"
  if [ -f "$dir/$name.crt" ] && [ "$(cat "$dir/$name.sans" 2>/dev/null)" = "$sans" ]; then return 0; fi
  openssl req -newkey rsa:2048 -nodes -subj "/CN=$name" -keyout "$dir/$name.key" -out "$dir/$name.csr" 2>/dev/null \
    || die "openssl could not make a key for $name"
  printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth\n' "$sans" > "$dir/$name.ext"
  openssl x509 -req -in "$dir/$name.csr" -CA "$ca/ca.crt" -CAkey "$ca/ca.key" -CAcreateserial -days 825 \
    -extfile "$dir/$name.ext" -out "$dir/$name.crt" 2>/dev/null || die "openssl could not sign the $name certificate"
  chmod 600 "$dir/$name.key"; echo "$sans" > "$dir/$name.sans"; rm -f "$dir/$name.csr"
}

# secret_file PATH [VALUE] : print the secret kept in PATH (0600), writing VALUE or a random one first if absent.
secret_file() {
  local path="$1" value="${2:-}"
  if [ ! -f "$path" ]; then
    ( umask 077; printf '%s' "${value:-$(random_secret)}" > "$path" )
  fi
  cat "$path"
}
