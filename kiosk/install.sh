#!/usr/bin/env bash
# Install, re-install or upgrade Wallboard on one machine, by role:
#
#   wallboard  a wall screen (Raspberry Pi, Kivy on KMS/DRM): wallboard-kiosk, display timers
#   desk       a desk unit (Raspberry Pi, gpiozero): wallboard-desk
#   hub        the site hub: mosquitto, influxdb, wallboard-controller, wallboard-recorder
#   telephony  the Asterisk adapter, where it can read the queue_log (usually the Asterisk
#              server): wallboard-telephony
#
# Usage, as root, from the Wallboard source tree (units, broker and example configs come
# from it; --wheel replaces only the Python package):
#
#   kiosk/install.sh --role ROLE [--wheel FILE] [--config FILE] [--device-config FILE]...
#                    [--ca-file FILE] [--force-config]
#   kiosk/install.sh --role ROLE --upgrade --wheel FILE [--health-wait SECONDS]
#   kiosk/install.sh --role ROLE --dry-run --root DIR [any of the above]
#
#   --config FILE         the config to start from (default: docs/wallboard.example.toml, or
#                         firmware/desk.example.toml for a desk); never replaces an existing
#                         one without --force-config
#   --device-config FILE  this machine's login: the JSON object of `wallboard provision-device
#                         ... --json > FILE`, password included (keep FILE secret). Its keys are
#                         merged into the config the service's unit reads (--config in its
#                         ExecStart); the password goes to the unit's EnvironmentFile
#                         (/etc/wallboard/mqtt.env, 0600 root). Two services that read one
#                         config cannot each get a login: it refuses (one login serves one
#                         connection). On the hub, a floor-kiosk login (e.g. `--id
#                         hub-health --broker-host 127.0.0.1`) goes to
#                         /etc/wallboard/healthcheck.env, for the upgrade's health check
#   --ca-file FILE        the site CA (ca.crt), installed as /etc/wallboard/broker-ca.pem
#   --upgrade             install the wheel into a new venv, /opt/wallboard/releases/VERSION,
#                         check the config with it, switch /opt/wallboard/venv to it, restart
#                         the role's services, and after --health-wait seconds (default 20)
#                         check them: each active and not restarted by systemd since; on the
#                         hub, with healthcheck.env and mosquitto_sub, the controller's and
#                         recorder's retained status online, from VERSION, sent after the
#                         restart. If not: switch back, restart, exit 1 (the failed release
#                         is kept to look at). If so: releases other than the new and the
#                         previous one are removed
#   --dry-run --root DIR  run nothing: lay out every file under DIR and list every command
#                         in DIR/install-plan.txt (and on stdout)
#
# The programs: /opt/wallboard/venv/bin/wallboard (and wallboard-desk); the venv is a link
# to releases/VERSION. A plain install never switches releases: that is --upgrade's job.
# Running it again changes only what differs; on the hub --init-db runs once (it also applies
# retention changes, and a shorter one deletes data). docs/security.md and docs/storage.md
# say what the broker, the logins and the database need; kiosk/systemd/README.md what the
# units need; tests/test_install.py checks each role's dry run.
#
# Exit codes: 0 done, 1 a step failed (an upgrade: after rolling back), 2 bad arguments.
set -euo pipefail

PROG=${0##*/}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC=$(dirname "$HERE")  # the source tree: kiosk/, docs/, firmware/, pyproject.toml

OPT=/opt/wallboard           # releases/<version>/ are venvs; venv -> releases/<version>
ETC=/etc/wallboard
UNIT_DIR=/etc/systemd/system
USER_NAME=wallboard

usage_error() { echo "$PROG: $*" >&2; exit 2; }
fail() { echo "$PROG: $*" >&2; exit 1; }
warn() { echo "$PROG: warning: $*" >&2; }

# --- arguments ------------------------------------------------------------------------------

ROLE="" WHEEL="" CONFIG="" CA_FILE="" ROOT="" HEALTH_WAIT=20
DEVICE_CONFIGS=()
DRY_RUN=0 UPGRADE=0 FORCE_CONFIG=0

need_value() {  # need_value OPTION "$#": the option must be followed by a value
  [[ $2 -ge 2 ]] || usage_error "$1 needs a value"
}

while [[ $# -gt 0 ]]; do
  case $1 in
    --role) need_value "$1" $#; ROLE=$2; shift 2 ;;
    --wheel) need_value "$1" $#; WHEEL=$2; shift 2 ;;
    --config) need_value "$1" $#; CONFIG=$2; shift 2 ;;
    --device-config) need_value "$1" $#; DEVICE_CONFIGS+=("$2"); shift 2 ;;
    --ca-file) need_value "$1" $#; CA_FILE=$2; shift 2 ;;
    --root) need_value "$1" $#; ROOT=$2; shift 2 ;;
    --health-wait) need_value "$1" $#; HEALTH_WAIT=$2; shift 2 ;;
    --force-config) FORCE_CONFIG=1; shift ;;
    --dry-run) DRY_RUN=1; shift ;;
    --upgrade) UPGRADE=1; shift ;;
    -h|--help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
    *) usage_error "unknown option '$1' (see --help)" ;;
  esac
done

[[ -n $ROLE ]] || usage_error "--role is required: wallboard, desk, hub or telephony"
case $ROLE in
  wallboard|desk|hub|telephony) ;;
  *) usage_error "unknown role '$ROLE': expected wallboard, desk, hub or telephony" ;;
esac
if ((UPGRADE)) && [[ -z $WHEEL ]]; then
  usage_error "--upgrade needs --wheel FILE"
fi
if ((DRY_RUN)) && [[ -z $ROOT ]]; then
  usage_error "--dry-run needs --root DIR"
fi
if ((!DRY_RUN)) && [[ -n $ROOT ]]; then
  usage_error "--root is only for --dry-run"
fi
[[ $HEALTH_WAIT =~ ^[0-9]+$ ]] ||
  usage_error "--health-wait: '$HEALTH_WAIT' is not a number of seconds"
if [[ -n $WHEEL ]]; then
  [[ -f $WHEEL ]] || usage_error "--wheel: no such file: $WHEEL"
  [[ ${WHEEL##*/} =~ ^wallboard-([0-9][A-Za-z0-9.+!]*)-.*\.whl$ ]] ||
    usage_error "--wheel: '${WHEEL##*/}' is not a wallboard wheel (wallboard-VERSION-....whl)"
  WHEEL=$(cd "$(dirname "$WHEEL")" && pwd)/${WHEEL##*/}
fi
for file in "$CONFIG" "$CA_FILE" "${DEVICE_CONFIGS[@]}"; do
  [[ -z $file || -f $file ]] || usage_error "no such file: $file"
done
if ((!DRY_RUN)) && [[ $(id -u) -ne 0 ]]; then
  usage_error "must run as root (or with --dry-run --root DIR)"
fi
if ((DRY_RUN)); then
  mkdir -p "$ROOT"
  ROOT=$(cd "$ROOT" && pwd)
fi
command -v python3 >/dev/null ||
  fail "python3 not found (Debian 12 and Raspberry Pi OS Bookworm ship 3.11)"

# --- what each role needs -------------------------------------------------------------------

VENV_ARGS=()
case $ROLE in
  hub)
    APT_PACKAGES=(mosquitto mosquitto-clients influxdb python3-venv)
    EXTRAS=influx,reports
    GROUPS_WANTED=()
    SERVICES=(wallboard-controller.service wallboard-recorder.service)
    CONFIG_NAME=wallboard.toml EXAMPLE=docs/wallboard.example.toml
    ;;
  wallboard)
    # Kivy's aarch64 wheels bundle SDL2 (with KMS/DRM) but use the system's Mesa: EGL,
    # GLES and GBM with the vc4/v3d driver. libmtdev1 for touch screens, v4l-utils for
    # cec-ctl (the display on/off timers switch the TV over HDMI-CEC). docs/kiosk.md.
    APT_PACKAGES=(python3-venv libgl1-mesa-dri libegl1 libgles2 libgbm1 libdrm2 libmtdev1
                  v4l-utils)
    EXTRAS=kiosk
    # The display and GPU, the touch screen, and ALSA for alert_sound (as the unit's
    # SupplementaryGroups=).
    GROUPS_WANTED=(render video input audio)
    SERVICES=(wallboard-kiosk.service)
    CONFIG_NAME=wallboard.toml EXAMPLE=docs/wallboard.example.toml
    ;;
  desk)
    # python3-lgpio: gpiozero's pin factory on Bookworm, seen through --system-site-packages.
    APT_PACKAGES=(python3-venv python3-lgpio)
    VENV_ARGS=(--system-site-packages)
    EXTRAS=desk
    GROUPS_WANTED=(gpio)
    SERVICES=(wallboard-desk.service)
    CONFIG_NAME=desk.toml EXAMPLE=firmware/desk.example.toml
    ;;
  telephony)
    # The core dependencies only. The asterisk group reads /var/log/asterisk/queue_log
    # (0640); where there is none, the adapter can still use AMI.
    APT_PACKAGES=(python3-venv)
    EXTRAS=""
    GROUPS_WANTED=(asterisk)
    SERVICES=(wallboard-telephony.service)
    CONFIG_NAME=telephony.toml EXAMPLE=docs/wallboard.example.toml
    ;;
esac

# --- helpers --------------------------------------------------------------------------------

PLAN=""
if ((DRY_RUN)); then
  PLAN=$ROOT/install-plan.txt
  : >"$PLAN"
fi
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

quote() {  # the arguments as one shell-readable line
  local out="" arg
  for arg in "$@"; do
    if [[ $arg =~ ^[A-Za-z0-9_./:=@%+,-]+$ ]]; then
      out+="$arg "
    else
      out+="'${arg//\'/\'\\\'\'}' "
    fi
  done
  printf '%s' "${out% }"
}

say() {  # a plan line: on stdout, and in the plan file in dry-run
  printf '%s\n' "$1"
  if ((DRY_RUN)); then printf '%s\n' "$1" >>"$PLAN"; fi
}

note() { say "# $*"; }

run() {  # run a command; in dry-run only list it
  if ((DRY_RUN)); then
    say "$(quote "$@")"
  else
    printf '+ %s\n' "$(quote "$@")"
    "$@"
  fi
}

run_quiet() {  # run, without the command's standard output
  if ((DRY_RUN)); then
    run "$@"
  else
    printf '+ %s\n' "$(quote "$@")"
    "$@" >/dev/null
  fi
}

at() { printf '%s%s' "$ROOT" "$1"; }  # where a target path is, under --root in dry-run

ensure_dir() {  # ensure_dir MODE OWNER:GROUP DIR
  local mode=$1 owner=$2 dir=$3
  if [[ -d $(at "$dir") ]]; then
    [[ $(stat -c %a "$(at "$dir")") == "${mode#0}" ]] || chmod "$mode" "$(at "$dir")"
  else
    note "directory $dir ($mode $owner)"
    mkdir -p "$(at "$dir")"
    chmod "$mode" "$(at "$dir")"
  fi
  if ((!DRY_RUN)); then chown "$owner" "$dir"; fi
}

SERVICES_CHANGED=0  # a config, environment file, unit or release changed: restart them
put_file() {  # put_file MODE OWNER:GROUP SOURCE DEST WHAT: install SOURCE as DEST if it differs
  local mode=$1 owner=$2 src=$3 dest=$4 what=$5 target
  target=$(at "$dest")
  if [[ -f $target ]] && cmp -s "$src" "$target"; then
    [[ $(stat -c %a "$target") == "${mode#0}" ]] || chmod "$mode" "$target"
    if ((!DRY_RUN)); then chown "$owner" "$target"; fi
    return 1  # unchanged
  fi
  note "write $dest ($mode $owner): $what"
  case $dest in $ETC/*|$UNIT_DIR/*) SERVICES_CHANGED=1 ;; esac
  mkdir -p "$(dirname "$target")"
  # A temp file beside it and a rename: a service never reads a half-written file.
  install -m "$mode" "$src" "$target.new"
  if ((!DRY_RUN)); then chown "$owner" "$target.new"; fi
  mv -f "$target.new" "$target"
}

# One Python helper (system python3, tomllib) for what bash does badly: reading the JSON
# `provision-device --json` prints, merging its keys into a config, reading TOML values.
read -r -d '' PYHELPER <<'PY' || true
import json, os, re, sys, tomllib

SECTION = re.compile(r"^\s*\[\s*([A-Za-z0-9_.-]+)\s*\]\s*(#.*)?$")
KEY = re.compile(r"^\s*([A-Za-z0-9_-]+)\s*=")
COMMENTED_KEY = re.compile(r"^\s*#\s*([A-Za-z0-9_-]+)\s*=")
# Printed on one line for bash's `read`, or written as NAME=VALUE into an environment file
# that bash also sources: nothing a shell or systemd would split, quote or expand.
WORD = re.compile(r"[A-Za-z0-9_.:-]+")
SECRET = re.compile(r"[A-Za-z0-9_.+/=-]+")
FIELDS = ("role", "id", "username", "password_env", "config")

def fail(msg):
    print(msg, file=sys.stderr)
    sys.exit(1)

def device(path, toml_out, password_out):
    """Split the JSON of `provision-device --json` into its config (TOML) and password;
    print its role, id, user name and password variable."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    what = "not the JSON that `wallboard provision-device ... --json > FILE` prints"
    try:
        login = json.loads(text)
    except ValueError as exc:
        first = next((line for line in text.splitlines() if line.strip()), "")
        fail(f"{path}: {what} ({exc}; it begins {first[:80]!r})")
    if not isinstance(login, dict):
        fail(f"{path}: {what} (not an object)")
    for key in FIELDS:
        if not isinstance(login.get(key), str):
            fail(f"{path}: {what} (no string {key!r})")
        if key != "config" and not WORD.fullmatch(login[key]):
            fail(f"{path}: {key} {login[key][:80]!r} is not a plain name")
    password = login.get("password")
    if password is not None and not (isinstance(password, str) and SECRET.fullmatch(password)):
        fail(f"{path}: password: not one word of letters, digits and _.+/=-")
    try:
        config = tomllib.loads(login["config"])
    except tomllib.TOMLDecodeError as exc:
        fail(f"{path}: its config is not TOML ({exc})")
    if config.get("mqtt", {}).get("username") != login["username"]:
        fail(f"{path}: its config's [mqtt] username is not {login['username']!r}")
    with open(toml_out, "w", encoding="utf-8") as f:
        f.write(login["config"])
    if password is not None:
        fd = os.open(password_out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(password + "\n")
    print(*(login[key] for key in FIELDS[:-1]))

def bounds(lines, section):
    """(header index, end index) of [section] in lines, or None."""
    start = None
    for i, line in enumerate(lines):
        match = SECTION.match(line)
        if match and start is not None:
            return start, i
        if match and match.group(1) == section:
            start = i
    return None if start is None else (start, len(lines))

def merge(target, piece):
    """Print target with every key of piece set, in place; comments and order are kept."""
    with open(target, encoding="utf-8") as f:
        lines = f.read().splitlines()
    with open(piece, encoding="utf-8") as f:
        piece_text = f.read()
    wanted = tomllib.loads(piece_text)
    section, keys = None, {}
    for line in piece_text.splitlines():
        match = SECTION.match(line)
        if match:
            section = match.group(1)
            keys.setdefault(section, [])
        elif section and KEY.match(line):
            keys[section].append((KEY.match(line).group(1), line.strip()))
    for section, pairs in keys.items():
        for key, line in pairs:
            where = bounds(lines, section)
            if where is None:
                lines += ["", f"[{section}]"]
                where = bounds(lines, section)
            start, end = where
            active = [i for i in range(start + 1, end)
                      if KEY.match(lines[i]) and KEY.match(lines[i]).group(1) == key]
            commented = [i for i in range(start + 1, end) if COMMENTED_KEY.match(lines[i])
                         and COMMENTED_KEY.match(lines[i]).group(1) == key]
            if active:
                lines[active[0]] = line
            else:
                # Beside the commented-out example of the key, if there is one.
                lines.insert(commented[0] + 1 if commented else start + 1, line)
    text = "\n".join(lines) + "\n"
    try:
        merged = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        fail(f"{target}: merging {piece} made it invalid TOML ({exc}); edit it by hand")
    for section, values in wanted.items():
        for key, value in values.items():
            if merged.get(section, {}).get(key) != value:
                fail(f"{target}: could not set [{section}] {key}; edit it by hand")
    sys.stdout.write(text)

def get(path, dotted, default):
    """Print one value of a TOML file (a JSON literal unless it is a string)."""
    with open(path, "rb") as f:
        value = tomllib.load(f)
    for part in dotted.split("."):
        if not isinstance(value, dict) or part not in value:
            print(default)
            return
        value = value[part]
    print(value if isinstance(value, str) else json.dumps(value))

def project_version(pyproject):
    with open(pyproject, "rb") as f:
        print(tomllib.load(f)["project"]["version"])

def status(text, version, since):
    """Exit 0 if a retained ServiceStatus payload is online, from `version`, since `since`."""
    try:
        payload = json.loads(text)
    except ValueError:
        fail(f"not JSON: {text[:80]!r}")
    problems = []
    if payload.get("online") is not True:
        problems.append("not online")
    if version and payload.get("version") != version:
        problems.append(f"version {payload.get('version')!r}, not {version!r}")
    if float(payload.get("ts", 0)) < float(since):
        problems.append("status is older than the restart")
    if problems:
        fail(", ".join(problems))

command, *args = sys.argv[1:]
{"device": device, "merge": merge, "get": get, "version": project_version,
 "status": status}[command](*args)
PY

py() { python3 -c "$PYHELPER" "$@"; }

# --- steps ----------------------------------------------------------------------------------

install_packages() {
  note "apt packages for $ROLE"
  if ((!DRY_RUN)); then
    local missing=() pkg
    for pkg in "${APT_PACKAGES[@]}"; do
      dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || missing+=("$pkg")
    done
    if [[ ${#missing[@]} -eq 0 ]]; then
      echo "apt packages already installed: ${APT_PACKAGES[*]}"
      return
    fi
  fi
  run apt-get update -qq
  run env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
    "${APT_PACKAGES[@]}"
}

create_user() {
  note "system user and group $USER_NAME"
  if ((DRY_RUN)) || ! getent group "$USER_NAME" >/dev/null; then
    run groupadd --system "$USER_NAME"
  fi
  if ((DRY_RUN)) || ! getent passwd "$USER_NAME" >/dev/null; then
    run useradd --system --gid "$USER_NAME" --home-dir /var/lib/wallboard --no-create-home \
      --shell /usr/sbin/nologin --comment "Wallboard services" "$USER_NAME"
  fi
  local group present=()
  for group in "${GROUPS_WANTED[@]}"; do
    if ((DRY_RUN)) || getent group "$group" >/dev/null; then
      present+=("$group")
    else
      warn "group $group does not exist here (not the machine it is for?); skipped"
    fi
  done
  if [[ ${#present[@]} -gt 0 ]]; then
    run usermod --append --groups "$(IFS=,; echo "${present[*]}")" "$USER_NAME"
  fi
}

release_version() {  # the version a --wheel or the source tree installs
  if [[ -n $WHEEL ]]; then
    [[ ${WHEEL##*/} =~ ^wallboard-([^-]+)- ]] && echo "${BASH_REMATCH[1]}"
  else
    [[ -f $SRC/pyproject.toml ]] || fail "no --wheel, and no pyproject.toml in $SRC"
    py version "$SRC/pyproject.toml"
  fi
}

pip_spec() {  # what pip installs: the wheel or the source tree, with the role's extras
  local what=$SRC
  if [[ -n $WHEEL ]]; then what=$WHEEL; fi
  echo "$what${EXTRAS:+[$EXTRAS]}"  # none: the core dependencies only
}

build_release() {  # build_release VERSION: a venv at $OPT/releases/VERSION with the project
  local rel=$OPT/releases/$1
  note "venv $rel with $(pip_spec)"
  if ((DRY_RUN)); then
    mkdir -p "$(at "$rel")"
    printf 'dry run: %s would be a venv here, made by:\n  python3 -m venv %s%s\n  %s\n' \
      "$rel" "${VENV_ARGS[*]}${VENV_ARGS[*]:+ }" "$rel" \
      "$rel/bin/pip install $(pip_spec)" >"$(at "$rel")/DRY-RUN"
  fi
  # Explicit returns: upgrade() calls this in a condition, where set -e does not apply.
  if ((DRY_RUN)) || [[ ! -x $rel/bin/python ]]; then
    run python3 -m venv "${VENV_ARGS[@]}" "$rel" || return 1
  fi
  run "$rel/bin/pip" install --quiet --disable-pip-version-check "$(pip_spec)" || return 1
}

switch_venv() {  # switch_venv releases/VERSION: point $OPT/venv at it in one rename
  local link
  link=$(at "$OPT/venv")
  if [[ -e $link && ! -L $link ]]; then
    fail "$OPT/venv is a directory, not a link to a release: move it away first"
  fi
  note "link $OPT/venv -> $1"
  if ((DRY_RUN)); then
    ln -sfn "$1" "$link"
  else
    run ln -sfn "$1" "$OPT/venv.new"
    run mv -T "$OPT/venv.new" "$OPT/venv"
  fi
}

install_venv() {
  local version current="" installed=""
  version=$(release_version)
  ensure_dir 0755 root:root "$OPT"
  ensure_dir 0755 root:root "$OPT/releases"
  if [[ -L $(at "$OPT/venv") ]]; then current=$(readlink "$(at "$OPT/venv")"); fi
  if [[ -n $current && $current != "releases/$version" ]]; then
    # Switching releases is an upgrade's job, with its health check and rollback.
    note "keep $OPT/venv -> $current (--upgrade --wheel FILE installs $version)"
    return
  fi
  if ((DRY_RUN)) && [[ -f $(at "$OPT/releases/$version/DRY-RUN") ]]; then
    installed=$version  # an earlier dry run under the same root "built" it
  elif ((!DRY_RUN)) && [[ -x $OPT/releases/$version/bin/python ]]; then
    installed=$("$OPT/releases/$version/bin/python" -c \
      'import importlib.metadata as m; print(m.version("wallboard"))' 2>/dev/null) || :
  fi
  if [[ $installed == "$version" ]]; then
    note "keep $OPT/releases/$version (wallboard $version is installed there)"
  else
    build_release "$version"
    SERVICES_CHANGED=1
  fi
  [[ $current == "releases/$version" ]] || switch_venv "releases/$version"
}

unit_config() {  # unit_config SERVICE: the config file its ExecStart passes with --config
  local path="" unit=$SRC/kiosk/systemd/$1
  if [[ -f $unit ]]; then
    path=$(sed -n 's/^ExecStart=.*--config[= ]\([^ ]*\).*/\1/p' "$unit" | head -n 1)
  fi
  echo "${path:-$ETC/$CONFIG_NAME}"
}

unit_env() {  # unit_env SERVICE: its first EnvironmentFile=, where the MQTT password goes
  local path="" unit=$SRC/kiosk/systemd/$1
  if [[ -f $unit ]]; then
    path=$(sed -n 's/^EnvironmentFile=-\{0,1\}//p' "$unit" | head -n 1)
  fi
  echo "${path:-$ETC/mqtt.env}"
}

service_for() {  # service_for DEVICE_ROLE: the service on this machine that uses the login
  case $ROLE:$1 in
    desk:desk) echo wallboard-desk.service ;;
    wallboard:floor-kiosk|wallboard:supervisor-kiosk) echo wallboard-kiosk.service ;;
    hub:controller) echo wallboard-controller.service ;;
    hub:recorder) echo wallboard-recorder.service ;;
    telephony:telephony) echo wallboard-telephony.service ;;
    # A floor kiosk's login on the hub: read-only, used by the upgrade's health check.
    hub:floor-kiosk) echo healthcheck ;;
    *) return 1 ;;
  esac
}

base_config() {  # base_config FILE: the starting config, from --config or the example
  local example=$SRC/$EXAMPLE
  if [[ -n $CONFIG ]]; then
    cp "$CONFIG" "$1"
    return
  fi
  [[ -f $example ]] || fail "no --config, and no $EXAMPLE in $SRC"
  cp "$example" "$1"
  if [[ $ROLE == hub ]]; then
    # The example names a remote InfluxDB; the hub runs its own.
    printf '[influx]\nurl = "http://localhost:8086"\n' >"$WORK/hub.toml"
    py merge "$1" "$WORK/hub.toml" >"$1.merged"
    mv "$1.merged" "$1"
  fi
}

set_env() {  # set_env FILE WHY NAME=VALUE...: write an environment file (0600 root)
  local file=$1 why=$2
  shift 2
  (umask 077 && printf '# %s\n' "$why" >"$WORK/env" && printf '%s\n' "$@" >>"$WORK/env")
  # systemd reads an EnvironmentFile as root, before it drops to the service's user.
  put_file 0600 root:root "$WORK/env" "$file" "$why" || :
}

# The logins given with --device-config, read and checked before anything changes.
DEV_FILE=() DEV_CFG=() DEV_ENV=() DEV_VAR=() DEV_USER=() DEV_LABEL=()
read_devices() {
  local device role ident username env_name service cfg env other n=0 used=" "
  local first=${SERVICES[0]} second=${SERVICES[1]:-}
  if [[ -n $second && $(unit_config "$first") == "$(unit_config "$second")" ]]; then
    warn "$first and $second both read $(unit_config "$first"), so" \
      "they would share one MQTT login, and one login serves one connection" \
      "(docs/security.md): each needs a config file of its own before it can log in"
  fi
  for device in "${DEVICE_CONFIGS[@]}"; do
    n=$((n + 1))
    read -r role ident username env_name < <(py device "$device" "$WORK/device-$n.toml" \
      "$WORK/password-$n") || fail "cannot use --device-config $device"
    service=$(service_for "$role") ||
      fail "--device-config $device is the login of a $role, which does not run on a $ROLE"
    [[ $used != *" $service "* ]] || fail "--device-config: two logins for $service"
    used+="$service "
    if [[ $service == healthcheck ]]; then
      cfg=healthcheck env=$ETC/healthcheck.env
      [[ -f $WORK/password-$n ]] ||
        fail "--device-config $device: no password in it (the health check needs one)"
    else
      cfg=$(unit_config "$service") env=$(unit_env "$service")
      for other in "${SERVICES[@]}"; do
        if [[ $other != "$service" ]] &&
            [[ $(unit_config "$other") == "$cfg" || $(unit_env "$other") == "$env" ]]; then
          # use_username_as_clientid: a second connection with a login drops the first.
          fail "--device-config $device: $service and $other both read $cfg and $env," \
            "so both would log in as $username, but one login serves one connection" \
            "(docs/security.md); their units need config and environment files of their own"
        fi
      done
    fi
    DEV_FILE+=("$device") DEV_CFG+=("$cfg") DEV_ENV+=("$env") DEV_VAR+=("$env_name")
    DEV_USER+=("$username") DEV_LABEL+=("$role $ident")
  done
}

install_config() {
  ensure_dir 0755 root:root "$ETC"
  local -A pieces=() what=()
  local cfg env user n targets=() unit
  for unit in "${SERVICES[@]}"; do
    cfg=$(unit_config "$unit")
    [[ " ${targets[*]} " == *" $cfg "* ]] || targets+=("$cfg")
  done
  for ((n = 1; n <= ${#DEV_FILE[@]}; n++)); do
    cfg=${DEV_CFG[n - 1]} env=${DEV_ENV[n - 1]} user=${DEV_USER[n - 1]}
    if [[ $cfg == healthcheck ]]; then
      set_env "$env" "the upgrade health check's login, from wallboard provision-device" \
        "MQTT_USERNAME=$user" "MQTT_PASSWORD=$(cat "$WORK/password-$n")"
      continue
    fi
    pieces[$cfg]+="$WORK/device-$n.toml "
    what[$cfg]+=", login $user (${DEV_LABEL[n - 1]}) from ${DEV_FILE[n - 1]}"
    if [[ -f $WORK/password-$n ]]; then
      set_env "$env" "the broker password of $user, from wallboard provision-device" \
        "${DEV_VAR[n - 1]}=$(cat "$WORK/password-$n")"
    elif [[ ! -f $(at "$env") ]]; then
      warn "no password in ${DEV_FILE[n - 1]}: put ${DEV_VAR[n - 1]}=<password> in $env" \
        "(mode 0600)"
    fi
  done
  local origin piece
  for cfg in "${targets[@]}"; do
    base_config "$WORK/config"
    origin="from ${CONFIG:-$EXAMPLE}"
    if [[ -z $CONFIG && $ROLE == hub ]]; then origin+=" with InfluxDB on localhost"; fi
    if [[ -f $(at "$cfg") ]] && ((!FORCE_CONFIG)); then
      if [[ -n $CONFIG ]] && ! cmp -s "$WORK/config" "$(at "$cfg")"; then
        warn "$cfg exists and differs from $CONFIG: kept (--force-config replaces it)"
      fi
      note "keep $cfg (it exists; --force-config replaces it)"
      cp "$(at "$cfg")" "$WORK/config"
      origin="the existing file"
    elif [[ -z ${pieces[$cfg]:-} && -z $CONFIG ]]; then
      warn "no --device-config: set the [mqtt] login in $cfg (wallboard provision-device)"
    fi
    for piece in ${pieces[$cfg]:-}; do
      py merge "$WORK/config" "$piece" >"$WORK/config.merged"
      mv "$WORK/config.merged" "$WORK/config"
    done
    put_file 0640 "root:$USER_NAME" "$WORK/config" "$cfg" "$origin${what[$cfg]:-}" || :
  done
  if [[ -n $CA_FILE ]]; then
    put_file 0644 root:root "$CA_FILE" "$ETC/broker-ca.pem" "the site CA, from $CA_FILE" || :
  fi
  local ca
  for cfg in "${targets[@]}"; do
    ca=$(py get "$(at "$cfg")" mqtt.ca_file "")
    if [[ -n $ca && ! -f $(at "$ca") ]]; then
      warn "$cfg names ca_file $ca, which is missing: copy the site's ca.crt there (--ca-file)"
    fi
  done
}

check_state_dirs() {  # the config's state directory must be one its unit may write
  local unit key default dir writable path
  case $ROLE in
    desk) unit=wallboard-desk.service key=desk.state_dir default=/var/lib/wallboard-desk ;;
    # The kiosk writes nothing; the hub's units pass --state-dir and --spool-dir themselves.
    *) return 0 ;;
  esac
  # systemd makes the directory (StateDirectory=); ProtectSystem=strict leaves every other
  # path read-only to the service.
  writable=$(sed -n 's/^ReadWritePaths=//p' "$SRC/kiosk/systemd/$unit" | tr '\n' ' ')
  [[ -n $writable ]] || return 0
  dir=$(py get "$(at "$CONFIG_PATH")" "$key" "$default")
  for path in $writable; do
    if [[ $dir == "$path" || $dir == "$path"/* ]]; then return 0; fi
  done
  warn "$CONFIG_PATH: $key is $dir, but $unit may write only to ${writable% }:" \
    "set $key = \"$default\""
}

MOSQUITTO_CHANGED=0
install_broker() {  # hub: the broker's config and ACL, as docs/security.md installs them
  local conf=/etc/mosquitto/conf.d/wallboard.conf acl=/etc/mosquitto/wallboard.acl
  if [[ -f $(at "$conf") ]] && ! cmp -s "$SRC/kiosk/mosquitto/wallboard.conf" "$(at "$conf")" &&
      ((!FORCE_CONFIG)); then
    warn "$conf differs from kiosk/mosquitto/wallboard.conf: kept (--force-config replaces it)"
  elif put_file 0644 root:root "$SRC/kiosk/mosquitto/wallboard.conf" "$conf" \
      "kiosk/mosquitto/wallboard.conf"; then
    MOSQUITTO_CHANGED=1
  fi
  # The ACL holds every provisioned device's block: never replaced once there.
  if [[ ! -f $(at "$acl") ]]; then
    put_file 0600 mosquitto:mosquitto "$SRC/kiosk/mosquitto/wallboard.acl" "$acl" \
      "kiosk/mosquitto/wallboard.acl (no devices yet)" || :
    MOSQUITTO_CHANGED=1
  fi
}

restart_broker() {
  if ((!MOSQUITTO_CHANGED)); then return; fi
  local missing=() file
  for file in /etc/mosquitto/certs/ca.crt /etc/mosquitto/certs/server.crt \
              /etc/mosquitto/certs/server.key /etc/mosquitto/wallboard.passwd; do
    if ((!DRY_RUN)) && [[ ! -f $file ]]; then missing+=("$file"); fi
  done
  if ((DRY_RUN)); then
    note "restart mosquitto if its certificates and password file exist (docs/security.md):"
  elif [[ ${#missing[@]} -gt 0 ]]; then
    # Mosquitto would refuse to start with wallboard.conf: leave the running one alone.
    warn "not restarting mosquitto: missing ${missing[*]} (docs/security.md: certificates," \
      "then wallboard provision-device); restart it after that"
    return
  fi
  run systemctl restart mosquitto.service
}

# Units this role needs, from kiosk/systemd/: its services; for a wall screen also the
# display timers and path unit (enabled) with the services they start (only installed).
UNITS=() ENABLE=()
find_units() {
  local dir=$SRC/kiosk/systemd unit missing=()
  for unit in "${SERVICES[@]}"; do
    if [[ -f $dir/$unit ]]; then UNITS+=("$unit") ENABLE+=("$unit"); else missing+=("$unit"); fi
  done
  if [[ $ROLE == wallboard ]]; then
    for unit in wallboard-display-on.timer wallboard-display-off.timer; do
      [[ -f $dir/$unit ]] || missing+=("$unit")
    done
    for unit in "$dir"/wallboard-display*.timer "$dir"/wallboard-display*.path; do
      [[ -f $unit ]] || continue
      unit=${unit##*/}
      [[ -f $dir/${unit%.*}.service ]] || missing+=("${unit%.*}.service")
      UNITS+=("$unit" "${unit%.*}.service") ENABLE+=("$unit")
    done
    [[ -f $SRC/kiosk/display/wallboard-display ]] || missing+=("../display/wallboard-display")
  fi
  if [[ ${#missing[@]} -gt 0 ]]; then
    fail "missing for role $ROLE in kiosk/systemd/: ${missing[*]}"
  fi
}

install_units() {
  local unit
  for unit in "${UNITS[@]}"; do
    put_file 0644 root:root "$SRC/kiosk/systemd/$unit" "$UNIT_DIR/$unit" \
      "kiosk/systemd/$unit" || :
  done
  run systemctl daemon-reload
}

append_missing() {  # append_missing FILE SNIPPET: add the snippet's lines the file lacks
  local file=$1 snippet=$2 line missing=()
  if [[ ! -f $(at "$file") ]]; then
    note "no $file here (not a Raspberry Pi?): add $(grep -v '^#' "$snippet" | tr '\n' ' ')by hand"
    return
  fi
  while IFS= read -r line; do
    [[ -z $line || $line == \#* || $line == '[all]' ]] && continue
    grep -q -F -x "$line" "$(at "$file")" || missing+=("$line")
  done <"$snippet"
  [[ ${#missing[@]} -gt 0 ]] || return 0
  note "append to $file: ${missing[*]} (takes effect at the next boot)"
  cp "$(at "$file")" "$WORK/append"
  { echo; cat "$snippet"; } >>"$WORK/append"
  put_file "0$(stat -c %a "$(at "$file")")" root:root "$WORK/append" "$file" \
    "kiosk/display/${snippet##*/}" || :
}

install_pi_extras() {  # the hardware watchdog (kiosk and desk); for a wall screen, its display
  local boot=/boot/firmware dir=$SRC/kiosk
  # Bookworm mounts the boot partition at /boot/firmware; earlier releases at /boot.
  if [[ ! -f $(at $boot/config.txt) && -f $(at /boot/config.txt) ]]; then boot=/boot; fi
  if [[ -f $dir/systemd/system.conf.d/wallboard-watchdog.conf ]]; then
    put_file 0644 root:root "$dir/systemd/system.conf.d/wallboard-watchdog.conf" \
      /etc/systemd/system.conf.d/wallboard-watchdog.conf \
      "kiosk/systemd/system.conf.d/wallboard-watchdog.conf (from the next boot)" || :
    [[ ! -f $dir/display/config.txt.append ]] ||
      append_missing "$boot/config.txt" "$dir/display/config.txt.append"
  fi
  [[ $ROLE == wallboard ]] || return 0
  put_file 0755 root:root "$dir/display/wallboard-display" /usr/local/sbin/wallboard-display \
    "kiosk/display/wallboard-display" || :
  if [[ -f $dir/display/display.env ]]; then
    if [[ -f $(at "$ETC/display.env") ]] && ((!FORCE_CONFIG)); then
      note "keep $ETC/display.env (it exists; --force-config replaces it)"
    else
      put_file 0644 root:root "$dir/display/display.env" "$ETC/display.env" \
        "kiosk/display/display.env" || :
    fi
  fi
  # No console blanking under the kiosk: one line, space-separated options.
  if [[ -f $dir/display/cmdline.txt.append ]]; then
    local file=$boot/cmdline.txt option options=()
    read -r -a options <"$dir/display/cmdline.txt.append"
    if [[ ! -f $(at "$file") ]]; then
      note "no $file here (not a Raspberry Pi?): add ${options[*]} to its line by hand"
    else
      cp "$(at "$file")" "$WORK/cmdline"
      for option in "${options[@]}"; do
        # A consoleblank= already there, whatever its value, is the site's choice.
        [[ " $(head -n 1 "$WORK/cmdline") " == *" ${option%%=*}"[=\ ]* ]] ||
          sed -i "1s/\$/ $option/" "$WORK/cmdline"
      done
      put_file "0$(stat -c %a "$(at "$file")")" root:root "$WORK/cmdline" "$file" \
        "kiosk/display/cmdline.txt.append (from the next boot)" || :
    fi
  fi
}

INIT_DB_DONE=/var/lib/wallboard/influxdb-set-up
init_database() {  # hub: wait for InfluxDB, then create the database and its policies, once
  local init=("$OPT/venv/bin/wallboard" recorder --config "$RECORDER_CONFIG" --init-db
              --log-level WARNING)
  run systemctl enable --now influxdb.service
  if [[ -f $(at "$INIT_DB_DONE") ]]; then
    # Not again: --init-db also applies retention changes, and a shorter one deletes data.
    note "keep InfluxDB as set up on $(cat "$(at "$INIT_DB_DONE")"); to apply retention"
    note "changes, run it yourself: $(quote "${init[@]}")"
    return
  fi
  note "wait for InfluxDB (up to 60 s), then set up its database (docs/storage.md):"
  if ((DRY_RUN)); then
    run "${init[@]}"
  else
    local try
    for try in $(seq 31); do
      ((try <= 30)) ||
        fail "wallboard recorder --init-db kept failing: is influxdb up? (journalctl -u influxdb)"
      if run "${init[@]}"; then break; fi
      echo "InfluxDB not ready (try $try of 30); again in 2 s"
      sleep 2
    done
  fi
  ensure_dir 0755 root:root "$(dirname "$INIT_DB_DONE")"
  date -u +%Y-%m-%dT%H:%M:%SZ >"$WORK/init-db"
  put_file 0644 root:root "$WORK/init-db" "$INIT_DB_DONE" "when --init-db ran" || :
}

# --- health check and upgrade ---------------------------------------------------------------
#
# An upgrade builds the new release beside the running one, checks the config with the new
# code, switches the venv link in one rename and restarts the role's services. Then, after
# --health-wait seconds, every service must be active and not restarted by systemd since; on
# the hub, with a login in /etc/wallboard/healthcheck.env, the controller's and recorder's
# retained status must also say online, the new version, and a time after the restart. If
# not, the link goes back, the services restart on the old release, and it exits 1.

unit_restarts() {  # how often systemd restarted the unit by itself (Restart=)
  systemctl show --property NRestarts --value "$1" 2>/dev/null || echo 0
}

mqtt_status() {  # mqtt_status SERVICE VERSION SINCE: check the hub's retained service status
  local root site topic payload problem
  root=$(py get "$CONFIG_PATH" mqtt.topic_root wallboard)
  site=$(py get "$CONFIG_PATH" site.id main)
  topic=$root/$site/service/$1/status
  # Its own login (one login serves one connection): MQTT_USERNAME and MQTT_PASSWORD.
  local MQTT_USERNAME="" MQTT_PASSWORD=""
  # shellcheck source=/dev/null
  source "$ETC/healthcheck.env"
  mkdir -p "$WORK/mqtt"
  chmod 0700 "$WORK/mqtt"
  # In a file mosquitto_sub reads by itself: a password in argv would show in ps.
  printf -- '-h 127.0.0.1\n-p 1883\n-u %s\n-P %s\n' "$MQTT_USERNAME" "$MQTT_PASSWORD" \
    >"$WORK/mqtt/mosquitto_sub"
  if ! payload=$(XDG_CONFIG_HOME=$WORK/mqtt mosquitto_sub -t "$topic" -C 1 -W 5 \
      --retained-only 2>&1); then
    echo "health check: $topic: no retained status (${payload:-timeout})"
    return 1
  fi
  if ! problem=$(py status "$payload" "$2" "$3" 2>&1); then
    echo "health check: $topic: $problem"
    return 1
  fi
  echo "health check: $topic: online, $2"
}

health_check() {  # health_check VERSION SINCE RESTARTS...: 0 if every service is well
  local version=$1 since=$2 ok=0 unit i=0 state
  shift 2
  local restarts=("$@")
  echo "health check: waiting $HEALTH_WAIT s"
  sleep "$HEALTH_WAIT"
  for unit in "${SERVICES[@]}"; do
    state=$(systemctl is-active "$unit" || :)
    if [[ $state != active ]]; then
      echo "health check: $unit is $state"
      ok=1
    elif [[ $(unit_restarts "$unit") != "${restarts[i]}" ]]; then
      echo "health check: $unit crashed and was restarted by systemd since the upgrade"
      ok=1
    else
      echo "health check: $unit is active"
    fi
    i=$((i + 1))
  done
  if [[ $ROLE == hub ]]; then
    if [[ -f $ETC/healthcheck.env ]] && command -v mosquitto_sub >/dev/null; then
      mqtt_status controller "$version" "$since" || ok=1
      mqtt_status "recorder-$(py get "$RECORDER_CONFIG" recorder.id main)" "$version" \
        "$since" || ok=1
    else
      echo "health check: no $ETC/healthcheck.env (or mosquitto_sub): retained status not checked"
    fi
  fi
  return "$ok"
}

point_venv() {  # point_venv releases/VERSION: switch the link in one rename (listed in dry-run)
  run ln -sfn "$1" "$OPT/venv.new"
  run mv -T "$OPT/venv.new" "$OPT/venv"
}

upgrade() {
  local version current new since restarts=() unit
  version=$(release_version)
  new=releases/$version
  if ((DRY_RUN)); then
    current=$(readlink "$(at "$OPT/venv")" 2>/dev/null) || current="releases/CURRENT"
  else
    current=$(readlink "$OPT/venv") ||
      fail "$OPT/venv is not a link to a release: install first (without --upgrade)"
    [[ -f $(at "$CONFIG_PATH") ]] || fail "$CONFIG_PATH is missing: install first"
  fi
  if [[ $current == "$new" ]]; then
    echo "already running $version ($OPT/venv -> $new): nothing to do"
    return
  fi
  note "upgrade $ROLE: $OPT/venv -> $current now; build $new beside it"
  if ((DRY_RUN)); then  # only listed: an upgrade's dry run writes nothing but the plan
    run rm -rf "$OPT/$new"
    run python3 -m venv "${VENV_ARGS[@]}" "$OPT/$new"
    run "$OPT/$new/bin/pip" install --quiet --disable-pip-version-check "$(pip_spec)"
  else
    rm -rf "${OPT:?}/$new"  # a leftover of a failed try: never the running release
    if ! build_release "$version"; then
      rm -rf "${OPT:?}/$new"
      fail "could not build $OPT/$new: nothing changed, still on $current"
    fi
  fi
  local cfg checked=" "
  for unit in "${SERVICES[@]}"; do
    cfg=$(unit_config "$unit")
    [[ $checked == *" $cfg "* ]] && continue
    checked+="$cfg "
    note "check $cfg with the new code before switching"
    if [[ $ROLE == desk ]]; then
      run "$OPT/$new/bin/python" -c "import pathlib, wallboard_desk.config as c; \
c.load_desk_config(pathlib.Path('$cfg'))" ||
        fail "$cfg does not suit $version: nothing changed, still on $current"
    else
      run_quiet "$OPT/$new/bin/wallboard" check-config "$cfg" ||
        fail "$cfg does not suit $version: nothing changed, still on $current"
    fi
  done
  note "switch $OPT/venv -> $new and restart"
  point_venv "$new"
  if ((DRY_RUN)); then
    run systemctl restart "${SERVICES[@]}"
    note "health check: wait $HEALTH_WAIT s; then each service must be active, and its"
    note "NRestarts unchanged since before the restart (no crash loop):"
    for unit in "${SERVICES[@]}"; do
      run systemctl is-active "$unit"
      run systemctl show --property NRestarts --value "$unit"
    done
    if [[ $ROLE == hub ]]; then
      local prefix=ROOT/SITE recorder=ID
      if [[ -f $(at "$CONFIG_PATH") ]]; then
        prefix=$(py get "$(at "$CONFIG_PATH")" mqtt.topic_root wallboard)/$(py get \
          "$(at "$CONFIG_PATH")" site.id main)
        recorder=$(py get "$(at "$RECORDER_CONFIG")" recorder.id main)
      fi
      note "health check: with the login in $ETC/healthcheck.env, the retained statuses must"
      note "say online, version $version, and a ts after the restart:"
      run mosquitto_sub -h 127.0.0.1 -p 1883 -t "$prefix/service/controller/status" \
        -C 1 -W 5 --retained-only
      run mosquitto_sub -h 127.0.0.1 -p 1883 -t "$prefix/service/recorder-$recorder/status" \
        -C 1 -W 5 --retained-only
    fi
    note "if the health check fails, roll back to $current, check it the same way, exit 1:"
    point_venv "$current"
    run systemctl restart "${SERVICES[@]}"
    note "if it passes, remove the releases other than $new and $current"
    return
  fi
  for unit in "${SERVICES[@]}"; do restarts+=("$(unit_restarts "$unit")"); done
  since=$(date +%s)
  run systemctl restart "${SERVICES[@]}"
  if health_check "$version" "$since" "${restarts[@]}"; then
    local rel
    for rel in "$OPT"/releases/*; do
      if [[ releases/${rel##*/} != "$new" && releases/${rel##*/} != "$current" ]]; then
        run rm -rf "$rel"
      fi
    done
    echo "upgraded $ROLE to $version; $current is kept for a manual rollback"
    return
  fi
  echo "upgrade to $version failed its health check: rolling back to $current"
  point_venv "$current"
  restarts=()
  for unit in "${SERVICES[@]}"; do restarts+=("$(unit_restarts "$unit")"); done
  since=$(date +%s)
  run systemctl restart "${SERVICES[@]}"
  local after="it is healthy again"
  health_check "${current#releases/}" "$since" "${restarts[@]}" ||
    after="and it is NOT healthy either: look at the services now"
  fail "upgrade to $version failed its health check; rolled back to $current, $after" \
    "(journalctl -u ${SERVICES[0]}; $OPT/$new is kept to look at)"
}

# --- main -----------------------------------------------------------------------------------

if ((DRY_RUN)); then
  note "dry run of $PROG --role $ROLE under $ROOT: commands are listed, not run"
fi

# The config each service reads is the one its unit passes (--config in ExecStart).
CONFIG_PATH=$(unit_config "${SERVICES[0]}")
RECORDER_CONFIG=$(unit_config wallboard-recorder.service)

if ((UPGRADE)); then
  upgrade
  exit 0
fi

find_units
read_devices
install_packages
create_user
install_venv
install_config
check_state_dirs
if [[ $ROLE == hub ]]; then
  install_broker
  restart_broker
fi
install_units
if [[ $ROLE == wallboard || $ROLE == desk ]]; then
  install_pi_extras
fi
if [[ $ROLE == hub ]]; then
  init_database
fi
if ((SERVICES_CHANGED)); then
  # Running ones pick up what changed; enable --now then starts the others.
  note "restart the role's services that are running, for what changed:"
  run systemctl try-restart "${SERVICES[@]}"
fi
run systemctl enable --now "${ENABLE[@]}"
note "done: $ROLE installed"
