#!/usr/bin/env bash
# RecPress one-command entry point (Debian 12, as root or with sudo).
#   ./run.sh demo    install what is missing, build, run the main job on the embedded data
#   ./run.sh test    install what is missing, build, run the whole test suite
#   ./run.sh bench   install, build, run the benchmarks (bench/run.sh)
#   ./run.sh build   install and build only
# Idempotent: packages are only installed when missing; ccache and a precompiled header keep
# rebuilds fast. Set RECPRESS_BUILD_DIR to build elsewhere (default: build/).
set -euo pipefail
cd "$(dirname "$0")"
mode="${1:-demo}"
shift || true

# Packages: LibTorch + its BLAS (OpenBLAS serial build: no spinning threads; the default
# reference BLAS is 7-17x slower), the libraries in DESIGN.md, and the build tools.
packages=(
  build-essential cmake ninja-build ccache pkg-config git
  libtorch-dev libgloo-dev libopenblas0-serial
  libcli11-dev libyaml-cpp-dev nlohmann-json3-dev libcpp-httplib-dev
  libflatbuffers-dev flatbuffers-compiler zlib1g-dev libhnswlib-dev gnuplot-nox
  libcurl4-openssl-dev libzip-dev libssl-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  pybind11-dev python3-dev python3-numpy python3-pandas python3-pytest
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "== installing: ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# Make sure the optimised BLAS is the one LibTorch loads (libblas.so.3 is an alternative).
if [ -e /usr/lib/x86_64-linux-gnu/openblas-serial/libblas.so.3 ]; then
  current=$(readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3 || true)
  case "$current" in
    */blas/libblas.so.3*)
      SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
      $SUDO update-alternatives --set libblas.so.3-x86_64-linux-gnu \
        /usr/lib/x86_64-linux-gnu/openblas-serial/libblas.so.3 >/dev/null ;;
  esac
fi

build_dir="${RECPRESS_BUILD_DIR:-build}"
werror=OFF
[ "${CI:-}" = "true" ] && werror=ON
export CCACHE_DIR="${CCACHE_DIR:-$HOME/.cache/ccache}"
jobs="${RECPRESS_JOBS:-2}"
if [ ! -f "$build_dir/build.ninja" ]; then
  cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DRECPRESS_WERROR=$werror >/dev/null
fi
echo "== building ($build_dir)"
cmake --build "$build_dir" -j "$jobs"

# One compute thread unless asked otherwise; passive waiting if more (see docs/design.md).
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}"

case "$mode" in
  demo)  exec "$build_dir/recpress" demo "$@" ;;
  test)
    # The LibTorch-free runtime must build and pass on its own, as an edge device builds it.
    cmake -S . -B "$build_dir/runtime-only" -G Ninja -DRECPRESS_RUNTIME_ONLY=ON \
      -DRECPRESS_WERROR=$werror >/dev/null
    cmake --build "$build_dir/runtime-only" -j "$jobs"
    ctest --test-dir "$build_dir/runtime-only" --output-on-failure
    # ...and install as a package another program finds (examples/ builds against it).
    build_abs="$(cd "$build_dir" && pwd)"
    cmake --install "$build_dir/runtime-only" --prefix "$build_abs/runtime-install" >/dev/null
    cmake -S examples -B "$build_abs/example" -G Ninja \
      -DCMAKE_PREFIX_PATH="$build_abs/runtime-install" >/dev/null
    cmake --build "$build_abs/example"
    export RECPRESS_EXAMPLE="$build_abs/example/recommend_example"  # run by tests/cli
    exec ctest --test-dir "$build_dir" --output-on-failure "$@" ;;
  bench) exec bash bench/run.sh "$build_dir" "$@" ;;
  build) ;;
  *) echo "usage: $0 demo|test|bench|build" >&2; exit 2 ;;
esac
