#!/usr/bin/env bash
# Builds and tests neuralstyle's TensorFlow backend (build tag "tensorflow").
#
# usage: scripts/tf.sh fetch            print the TensorFlow root (include/, lib/), fetching it once
#        scripts/tf.sh env              print the CGO_* exports for that root (eval "$(scripts/tf.sh env)")
#        scripts/tf.sh build [OUT]      build bin/neuralstyle-tf (or OUT) with -tags tensorflow
#        scripts/tf.sh test [ARGS...]   run the tagged tests (go test ARGS, default ./internal/tfbackend/)
#        scripts/tf.sh bench [ARGS...]  run the tagged benchmarks
#
# The TensorFlow C library comes from one of:
#   - TENSORFLOW_ROOT: a folder with include/tensorflow/c/c_api.h and lib/ holding
#     libtensorflow.so.2 (the official libtensorflow tarball, CPU or GPU build) or
#     libtensorflow_cc.so.2 + libtensorflow_framework.so.2 (a pip wheel's layout);
#   - otherwise the tensorflow-cpu wheel from PyPI (pinned version and SHA-256), downloaded
#     once per machine into $NEURALSTYLE_CACHE (default ~/.cache/neuralstyle) with pip, and
#     reduced to the two shared libraries and the C headers.
# Any failure to get the library stops the script with an error: nothing is skipped.
set -euo pipefail
# Failures inside $(...) must stop the script too.
shopt -s inherit_errexit

TF_VERSION=2.21.0
# The cp311 manylinux x86_64 wheel; its shared libraries do not depend on the Python version.
TF_WHEEL=tensorflow_cpu-${TF_VERSION}-cp311-cp311-manylinux_2_27_x86_64.whl
TF_WHEEL_SHA256=2b847d217b02ee7731ed91431daf3250daa0196c3c94614d23be27232e6e5b6c

REPO=$(cd "$(dirname "$0")/.." && pwd)
GO=${GO:-go}

die() { echo "tf.sh: $*" >&2; exit 1; }

cache_dir() { echo "${NEURALSTYLE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/neuralstyle}/tf"; }

download_wheel() { # $1: destination folder
	local dst=$1
	mkdir -p "$dst"
	if [ -f "$dst/$TF_WHEEL" ]; then return; fi
	local pip
	pip=$(command -v pip || command -v pip3 || true)
	if [ -z "$pip" ] && python3 -m pip --version >/dev/null 2>&1; then pip="python3 -m pip"; fi
	[ -n "$pip" ] || die "pip is needed to download tensorflow-cpu $TF_VERSION (apt-get install python3-pip), or set TENSORFLOW_ROOT"
	echo "tf.sh: downloading tensorflow-cpu $TF_VERSION with pip into $dst" >&2
	$pip download --no-deps --only-binary=:all: --platform manylinux_2_27_x86_64 \
		--python-version 3.11 "tensorflow-cpu==$TF_VERSION" -d "$dst" >&2 ||
		die "pip download tensorflow-cpu==$TF_VERSION failed"
	[ -f "$dst/$TF_WHEEL" ] || die "expected $dst/$TF_WHEEL after the download"
}

fetch() {
	if [ -n "${TENSORFLOW_ROOT:-}" ]; then
		check_root "$TENSORFLOW_ROOT"
		echo "$TENSORFLOW_ROOT"
		return
	fi
	local cache root
	cache=$(cache_dir)
	root=$cache/$TF_VERSION
	if [ -f "$root/.complete" ]; then
		echo "$root"
		return
	fi
	command -v unzip >/dev/null 2>&1 || die "unzip is needed to unpack the tensorflow-cpu wheel"
	download_wheel "$cache/wheel"
	local sum
	sum=$(sha256sum "$cache/wheel/$TF_WHEEL" | cut -d' ' -f1)
	if [ "$sum" != "$TF_WHEEL_SHA256" ]; then
		rm -f "$cache/wheel/$TF_WHEEL"
		die "SHA-256 of $TF_WHEEL is $sum, want $TF_WHEEL_SHA256 (file removed)"
	fi
	local tmp=$cache/unpack.$$
	rm -rf "$tmp" "$root"
	mkdir -p "$tmp"
	# The C API headers include a few headers of tsl and xla/tsl; nothing else is needed.
	unzip -q -o "$cache/wheel/$TF_WHEEL" -d "$tmp" \
		'tensorflow/libtensorflow_cc.so.2' 'tensorflow/libtensorflow_framework.so.2' \
		'tensorflow/include/tensorflow/c/*' 'tensorflow/include/tensorflow/core/platform/*' \
		'tensorflow/include/tsl/*' 'tensorflow/include/xla/tsl/*' || die "unzip of $TF_WHEEL failed"
	mkdir -p "$root/lib"
	mv "$tmp/tensorflow/include" "$root/include"
	mv "$tmp/tensorflow/libtensorflow_cc.so.2" "$tmp/tensorflow/libtensorflow_framework.so.2" "$root/lib/"
	rm -rf "$tmp"
	# The Go binding links -ltensorflow; in the wheel the C API lives in libtensorflow_cc.
	ln -sf libtensorflow_cc.so.2 "$root/lib/libtensorflow.so"
	check_root "$root"
	touch "$root/.complete"
	echo "$root"
}

check_root() { # $1: a TensorFlow root
	local r=$1
	[ -f "$r/include/tensorflow/c/c_api.h" ] || die "$r/include/tensorflow/c/c_api.h is missing"
	[ -e "$r/lib/libtensorflow.so" ] || [ -e "$r/lib/libtensorflow.so.2" ] || [ -e "$r/lib/libtensorflow_cc.so.2" ] ||
		die "$r/lib holds no libtensorflow.so, libtensorflow.so.2 or libtensorflow_cc.so.2"
	if [ ! -e "$r/lib/libtensorflow.so" ]; then
		# The official tarball ships libtensorflow.so.2 and a libtensorflow.so link; a bare
		# wheel unpack ships neither: the linker needs the unversioned name.
		die "$r/lib/libtensorflow.so is missing: link it to libtensorflow.so.2 or libtensorflow_cc.so.2"
	fi
}

env_exports() {
	local root ldflags
	root=$(fetch) || exit 1
	ldflags="-L$root/lib -Wl,-rpath,$root/lib"
	# The wheel's libtensorflow_cc leaves TF_NewTensor and friends to
	# libtensorflow_framework, which the linker does not search on its own.
	if [ -e "$root/lib/libtensorflow_framework.so.2" ]; then
		ldflags="$ldflags -l:libtensorflow_framework.so.2"
	fi
	echo "export CGO_ENABLED=1"
	echo "export CGO_CFLAGS='-I$root/include'"
	echo "export CGO_LDFLAGS='$ldflags'"
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case "$cmd" in
fetch) fetch ;;
env) env_exports ;;
build)
	exports=$(env_exports) || exit 1
	eval "$exports"
	out=${1:-bin/neuralstyle-tf}
	cd "$REPO"
	"$GO" build -tags tensorflow -o "$out" ./cmd/neuralstyle
	echo "tf.sh: built $out" >&2
	;;
test)
	exports=$(env_exports) || exit 1
	eval "$exports"
	cd "$REPO"
	"$GO" vet -tags tensorflow ./internal/tfbackend/
	[ $# -gt 0 ] || set -- ./internal/tfbackend/
	"$GO" test -count=1 -tags tensorflow "$@"
	;;
bench)
	exports=$(env_exports) || exit 1
	eval "$exports"
	cd "$REPO"
	[ $# -gt 0 ] || set -- -run='^$' -bench=. -benchtime=3x ./internal/tfbackend/
	"$GO" test -tags tensorflow "$@"
	;;
*) die "usage: $0 fetch|env|build [OUT]|test [ARGS...]|bench [ARGS...]" ;;
esac
