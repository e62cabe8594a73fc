#!/bin/sh
# Rebuilds the fake CUDA library the tests of package cuda load
# (linux/amd64, no C library needed at run time).
set -eu
cd "$(dirname "$0")"
gcc -shared -fPIC -O2 -nostdlib -s -o libfakecuda_linux_amd64.so fakecuda.c
