#!/usr/bin/env bash
# Builds the libFuzzer targets into .build/fuzz, makes the seed corpus if missing, and runs each target for N seconds.
# usage: bash Tests/Fuzz/run.sh [SECONDS=20] [TARGET...]   (targets: png jpeg exif safetensors config cache)
# Exits non-zero when any target crashes, leaks, times out or runs out of memory; the input is in .build/fuzz/artifacts/.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
seconds=${1:-20}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(png jpeg exif safetensors config cache)
for t in "${targets[@]}"; do
    case $t in png|jpeg|exif|safetensors|config|cache) ;; *) echo "fuzz: no target '$t' (png jpeg exif safetensors config cache)" >&2; exit 2;; esac
done
out=$root/.build/fuzz
swiftc=${SWIFTC:-swiftc}
clang=${CLANG:-clang}
mkdir -p "$out/obj" "$out/bin" "$out/logs" "$out/seeds" "$out/corpus" "$out/artifacts"

# The modules are compiled with swiftc directly rather than through SwiftPM: a SwiftPM build with
# -sanitize=fuzzer would also instrument and link the `vae` executable and the tests (whose main
# functions clash with libFuzzer's), and fuzz products in Package.swift would break a plain
# `swift build`. Every module gets ASan; the code under test also gets coverage for libFuzzer.
# -O (not the package's -Ounchecked) keeps overflow and bounds checks: those traps are findings.
build() {
    local obj=$out/obj mods=$out/obj/modulemaps
    echo "fuzz: building into $out"
    for c in CPNG:png_shim CJPEG:jpeg_shim CGIF:gif_shim CFloatEnv:float_env CBF16:bf16_round CBF16:cpu_features CBF16:dnnl_gemm CMPI:mpi_shim; do
        local mod=${c%%:*} file=${c##*:}
        local header=$(ls "$root/Sources/$mod/include/"*.h)
        mkdir -p "$mods/$mod"
        printf 'module %s {\n    header "%s"\n    export *\n}\n' "$mod" "$header" > "$mods/$mod/module.modulemap"
        "$clang" -O1 -g -fsanitize=fuzzer-no-link,address -I "$root/Sources/$mod/include" \
            -c "$root/Sources/$mod/$file.c" -o "$obj/$file.o"
    done
    local includes=(-I "$obj" -I "$mods/CPNG" -I "$mods/CJPEG" -I "$mods/CGIF" -I "$mods/CFloatEnv" -I "$mods/CBF16" -I "$mods/CMPI" -I "$root/Sources/CBLAS")
    module() {  # name, sanitizers, sources...
        local name=$1 sanitize=$2; shift 2
        "$swiftc" -O -g -sanitize="$sanitize" -enable-testing -parse-as-library -wmo -module-name "$name" \
            -emit-module -emit-module-path "$obj/$name.swiftmodule" -c -o "$obj/$name.o" "${includes[@]}" "$@"
    }
    module ImageIO fuzzer,address $(find "$root/Sources/ImageIO" -name '*.swift' | sort)
    # The GEMM and layer code is not under test: no coverage feedback from it.
    module VAECore address $(find "$root/Sources/VAECore" -name '*.swift' | sort)
    module VAE fuzzer,address $(find "$root/Sources/VAE" -name '*.swift' | sort)
    for t in png jpeg exif safetensors config cache; do
        local deps=("$obj/ImageIO.o" "$obj/png_shim.o" "$obj/jpeg_shim.o" "$obj/gif_shim.o")
        [ "$t" = safetensors ] || [ "$t" = config ] || [ "$t" = cache ] && deps+=("$obj/VAE.o" "$obj/VAECore.o" "$obj/float_env.o" "$obj/bf16_round.o" "$obj/cpu_features.o" "$obj/dnnl_gemm.o" "$obj/mpi_shim.o")
        "$swiftc" -O -g -sanitize=fuzzer,address -parse-as-library -use-ld=lld "${includes[@]}" \
            "$root/Tests/Fuzz/fuzz_$t.swift" "${deps[@]}" -lpng16 -lz -ljpeg -lgif -lopenblas -ldnnl -lgomp -ldl -o "$out/bin/fuzz_$t"
    done
    "$clang" -O1 "$root/Tests/Fuzz/jpegwrite.c" -ljpeg -o "$out/bin/jpegwrite"
}

# FUZZ_NO_BUILD=1 reuses the binaries of the last build (to run again while editing sources).
[ "${FUZZ_NO_BUILD:-0}" = 1 ] && [ -x "$out/bin/fuzz_config" ] || build
[ -d "$out/seeds/cache" ] || python3 "$root/Tests/Fuzz/make_corpus.py" "$out/seeds" "$out/bin/jpegwrite"

# Longest input worth trying per target: larger files only slow the search down.
declare -A max_len=([png]=4096 [jpeg]=8192 [exif]=1024 [safetensors]=2048 [config]=2048 [cache]=8192)
# Crash inputs kept as regression tests are replayed first, so CI re-checks every fix.
declare -A regressions=([png]=Tests/ImageIOTests/Fixtures/fuzz-regressions [jpeg]=Tests/ImageIOTests/Fixtures/fuzz-regressions
    [exif]=Tests/ImageIOTests/Fixtures/fuzz-regressions [safetensors]=Tests/VAETests/Fixtures/fuzz-regressions
    [config]=Tests/VAETests/Fixtures/fuzz-regressions [cache]=Tests/VAETests/Fixtures/fuzz-regressions)
dict() { case $1 in safetensors|config) echo "-dict=$root/Tests/Fuzz/json.dict";; png) echo "-dict=$root/Tests/Fuzz/png.dict";; esac; }

# A Swift trap then reaches libFuzzer's crash handler (with the input saved) rather than Swift's backtracer.
export SWIFT_BACKTRACE=enable=no
failed=()
for t in "${targets[@]}"; do
    mkdir -p "$out/corpus/$t" "$out/artifacts/$t"
    extra=()
    [ -d "$root/${regressions[$t]}" ] && extra+=("$root/${regressions[$t]}")
    echo "fuzz: $t for ${seconds}s (log: $out/logs/$t.log)"
    status=0
    nice -n 19 "$out/bin/fuzz_$t" -max_total_time="$seconds" -rss_limit_mb=2048 -max_len="${max_len[$t]}" \
        -timeout=10 -use_value_profile=1 -print_final_stats=1 -artifact_prefix="$out/artifacts/$t/" $(dict "$t") \
        "$out/corpus/$t" "$out/seeds/$t" "${extra[@]}" > "$out/logs/$t.log" 2>&1 || status=$?
    execs=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$out/logs/$t.log" | grep -o '[0-9]*$' || true)
    cov=$(grep -o 'cov: [0-9]* ft: [0-9]*' "$out/logs/$t.log" | tail -1 || true)
    echo "fuzz: $t exit $status, ${execs:-?} execs/s, ${cov:-no coverage line}"
    if [ "$status" -ne 0 ]; then
        failed+=("$t")
        grep -E '^(==[0-9]+==ERROR|SUMMARY|Fatal error|.*artifact)' "$out/logs/$t.log" | head -5 || true
    fi
done
if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzz: FAILED: ${failed[*]} (inputs in $out/artifacts/, logs in $out/logs/)"
    exit 1
fi
echo "fuzz: all ${#targets[@]} targets ran ${seconds}s without a finding"
