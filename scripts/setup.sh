#!/usr/bin/env bash
# Installs what llmc's build and tests need, only what is missing; safe to
# run again. Debian 12 packages (LLVM/MLIR 19 toolchain, FlatBuffers, fmt,
# GoogleTest, Ninja, ccache, the aarch64 cross glibc/libstdc++ and qemu-user
# for the aarch64 suite, PoCL and Oclgrind for the OpenCL suite, Mesa's
# lavapipe, the Vulkan headers and loader, the validation layers and
# spirv-tools and glslang for the Vulkan suite) and the Python packages the fixtures need.
set -euo pipefail

APT_PACKAGES=(
  cmake ninja-build ccache python3 python3-pip pkg-config
  llvm-19-dev libmlir-19-dev mlir-19-tools llvm-19-tools clang-19 lld-19 liblld-19-dev
  libflatbuffers-dev flatbuffers-compiler libfmt-dev
  libgtest-dev googletest
  qemu-user-static gcc-aarch64-linux-gnu g++-aarch64-linux-gnu libc6-dev-arm64-cross
  pocl-opencl-icd ocl-icd-libopencl1 oclgrind
  mesa-vulkan-drivers libvulkan-dev libvulkan1 vulkan-validationlayers spirv-tools
  glslang-tools
  openjdk-17-jdk-headless
)
PIP_PACKAGES=(numpy regex gguf)

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

missing=()
for p in "${APT_PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
else
  echo "setup: Debian packages present"
fi

PYTHON=${PYTHON:-python3}
pip_missing=()
for p in "${PIP_PACKAGES[@]}"; do
  if ! "$PYTHON" -c "import $p" 2>/dev/null; then pip_missing+=("$p"); fi
done
if [ ${#pip_missing[@]} -gt 0 ]; then
  echo "setup: installing Python packages: ${pip_missing[*]}"
  "$PYTHON" -m pip install -q "${pip_missing[@]}" 2>/dev/null \
    || "$PYTHON" -m pip install -q --break-system-packages "${pip_missing[@]}"
else
  echo "setup: Python packages present"
fi

# Sanity: the tools the build and lit rely on.
for t in /usr/lib/llvm-19/bin/FileCheck /usr/lib/llvm-19/bin/not \
         /usr/lib/llvm-19/build/utils/lit/lit.py /usr/lib/llvm-19/lib/libMLIR.so; do
  [ -e "$t" ] || { echo "setup: missing $t after install" >&2; exit 1; }
done
echo "setup: done"
