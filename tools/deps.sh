#!/usr/bin/env bash
# Installs the Debian packages the build, the demo and the tests need, if
# any is missing. Needs root (or sudo) only when something is missing.
set -euo pipefail
pkgs=(cmake make gcc pkg-config liblua5.4-dev libluajit-5.1-dev libsndfile1-dev libfftw3-dev
      libstb-dev zlib1g-dev libopenblas-dev libvulkan-dev glslc mesa-vulkan-drivers vulkan-validationlayers ffmpeg
      python3-numpy python3-scipy python3-pil clang-format clang libclang-rt-14-dev curl
      chromium  # tests/parity/live.sh drives funky live's page headless (skipped without)
      python3-torch) # the FILM/RIFE references and the converter test
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing: ${missing[*]}"
sudo=""
[ "$(id -u)" -ne 0 ] && sudo=sudo
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
