#!/bin/sh
# Regenerates the figures in docs/img from the shipped examples with `cnnc solve`
# and `cnnc plot` (docs/cli.md, "Plots"). Run from the repository root:
#
#   sh docs/img/make.sh
#
# It takes about two minutes; examples/fashion_gap.cnn needs the Fashion-MNIST files
# in /usr/share/datasets/fashion-mnist (without them that example is skipped).
# examples/circ3_signals.cnn ends with status inaccurate (exit 3) at the conic
# solver's default tolerance; its figures are drawn all the same.
set -e
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/cnnc" ./cmd/cnnc
for ex in quickstart circular_signal circ3_signals fashion_gap; do
    if [ "$ex" = fashion_gap ] && [ ! -d /usr/share/datasets/fashion-mnist ]; then
        echo "skipping $ex: /usr/share/datasets/fashion-mnist is absent"
        continue
    fi
    code=0
    "$tmp/cnnc" solve "examples/$ex.cnn" -o "$tmp/$ex" --quiet >/dev/null || code=$?
    if [ "$code" -ne 0 ] && [ "$code" -ne 3 ]; then
        exit "$code"
    fi
    "$tmp/cnnc" plot "$tmp/$ex" -o docs/img --prefix "$ex"
done
