# Shared by scripts/demo and scripts/test-all: installs what Booth needs on Debian 12.
# Sourced, not run. Every step is skipped when already done, so reruns are quick.

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

# Debian packages: build (WebKitGTK, OpenSSL, librsvg, pcsc-lite, ALSA), the receipt font (Noto
# Sans CJK, OFL 1.1: Simplified Chinese with Latin digits and a real bold) and, for tests, the
# stand-ins (pcscd with the vpcd virtual reader driver for smart cards; a private PulseAudio with
# null sinks, sox and mpg123 for sound; a private cupsd with the cups-pdf driver, poppler to
# render and read PDFs). espeak-ng is Booth's Mandarin voice on Linux (run as a program, never
# linked: it is GPL-3.0).
booth_apt() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "==> apt-get install ${missing[*]}"
    # Another apt run (a second setup on the same machine) holds the lock: wait for it.
    $SUDO apt-get -o DPkg::Lock::Timeout=900 update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=900 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

BOOTH_BUILD_PKGS=(build-essential pkg-config curl ca-certificates libwebkit2gtk-4.1-dev libssl-dev librsvg2-dev libpcsclite-dev libasound2-dev fonts-noto-cjk)
BOOTH_RUN_PKGS=(espeak-ng)
BOOTH_TEST_PKGS=(xvfb xauth webkit2gtk-driver socat x11-xserver-utils x11-utils xdotool openbox wmctrl python3 pcscd vsmartcard-vpcd
  pulseaudio pulseaudio-utils libasound2-plugins alsa-utils sox libsox-fmt-mp3 mpg123 "${BOOTH_RUN_PKGS[@]}"
  cups cups-client cups-bsd printer-driver-cups-pdf poppler-utils)

# Rust via rustup when cargo is missing (a fresh Debian 12 has none).
booth_rust() {
  if ! command -v cargo >/dev/null 2>&1; then
    if [ -x "$HOME/.cargo/bin/cargo" ]; then
      export PATH="$HOME/.cargo/bin:$PATH"
    else
      echo "==> installing Rust (rustup)"
      curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal
      export PATH="$HOME/.cargo/bin:$PATH"
    fi
  fi
}

# A cargo-installed tool, if not on PATH already.
booth_cargo_tool() {
  local bin=$1; shift
  if ! command -v "$bin" >/dev/null 2>&1; then
    echo "==> cargo install $*"
    cargo install --locked "$@"
  fi
}

# Node.js and npm (the TypeScript declarations' check, the WebdriverIO example), from Debian when
# missing; a node installed another way is used as it is.
booth_node() {
  if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    booth_apt nodejs npm
  fi
}

# `npm ci [args…]` in a folder, unless its node_modules were installed from the current lockfile.
booth_npm_ci() {
  local dir=$1; shift
  if [ "$dir/node_modules/.package-lock.json" -nt "$dir/package-lock.json" ]; then
    return 0
  fi
  echo "==> npm ci in $dir"
  (cd "$dir" && npm ci --no-audit --no-fund "$@" >/dev/null)
}

# The debug build of the whole workspace, tests included: scripts/test-all and scripts/demo run
# the same command, so that one reuses the other's build (another cargo command may resolve
# dependency features differently and compile much of the workspace again).
booth_build() {
  cargo build --workspace --tests --bins
}
