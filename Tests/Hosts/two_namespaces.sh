#!/usr/bin/env bash
# Two "hosts" on one machine: mpirun -np 2 vae train across two network namespaces joined by a veth pair, over Open MPI's TCP transport, checked bit for bit against one process.
# Usage: bash Tests/Hosts/two_namespaces.sh [VAE_BINARY] [--bench]
#   VAE_BINARY defaults to .build/release/vae, else .build/debug/vae. --bench also times the
#   gradient sum of each preset between the two namespaces (vae bench --allreduce).
# Needs root (ip netns) and mpirun; without either it says so and exits 0 (skipped).
# Traffic stays on the veth pair between the two namespaces made here (no route leaves them);
# both are deleted on exit, failure included.
set -euo pipefail
cd "$(dirname "$0")/../.."
vae="" bench=0
for a in "$@"; do case "$a" in --bench) bench=1 ;; *) vae="$a" ;; esac; done
[ -n "$vae" ] || { [ -x .build/release/vae ] && vae=.build/release/vae || vae=.build/debug/vae; }
[ -x "$vae" ] || { echo "two_namespaces: $vae is not built (swift build)" >&2; exit 1; }
vae="$(cd "$(dirname "$vae")" && pwd)/$(basename "$vae")"
skip() { echo "two_namespaces: skipped: $*"; exit 0; }
command -v mpirun >/dev/null || skip "mpirun is not on the PATH (Debian: apt-get install openmpi-bin)"
command -v ip >/dev/null || skip "ip is not on the PATH (Debian: apt-get install iproute2)"
[ "$(id -u)" = 0 ] || skip "ip netns needs root"

id=$$ a="vaeA$id" b="vaeB$id" net=192.168.231
work="$(mktemp -d /tmp/vae-hosts.XXXXXX)"
cleanup() {
    local status=$?
    # The progress bar and any error of the last run go to this file: shown when something failed.
    [ "$status" = 0 ] || cat "$work/stderr" >&2 2>/dev/null || true
    ip netns del "$a" 2>/dev/null || true
    ip netns del "$b" 2>/dev/null || true   # deleting a namespace deletes its end of the veth pair
    rm -rf "$work"
}
trap cleanup EXIT
ip netns add "$a" 2>/dev/null || skip "ip netns add is not permitted here"
ip netns add "$b"
ip link add "va$id" type veth peer name "vb$id" 2>/dev/null || skip "cannot make a veth pair here"
ip link set "va$id" netns "$a"
ip link set "vb$id" netns "$b"
ip -n "$a" addr add "$net.1/24" dev "va$id"
ip -n "$b" addr add "$net.2/24" dev "vb$id"
for ns in "$a" "$b"; do ip -n "$ns" link set lo up; done
ip -n "$a" link set "va$id" up
ip -n "$b" link set "vb$id" up

# The launch agent mpirun runs in place of ssh: "agent HOST COMMAND…" runs COMMAND in HOST's namespace.
cat > "$work/agent" <<AGENT
#!/bin/sh
host="\$1"; shift
case "\$host" in $net.1) ns=$a ;; $net.2) ns=$b ;; *) echo "agent: unknown host \$host" >&2; exit 1 ;; esac
exec ip netns exec "\$ns" /bin/sh -c "\$*"
AGENT
chmod +x "$work/agent"
# mpirun runs in the first "host"; the hosts are named by address, so it launches the second through the agent.
mpi() {
    ip netns exec "$a" timeout 300 mpirun --allow-run-as-root --oversubscribe -np 2 --host "$net.1:1,$net.2:1" \
        --mca plm_rsh_agent "$work/agent" --mca pml ob1 --mca btl tcp,self \
        --mca btl_tcp_if_include "$net.0/24" --mca oob_tcp_if_include "$net.0/24" "$@"
}

# The epoch lines of a run's output, without the progress bar.
summary() { grep -E '^(epoch [0-9]+/[0-9]+ |done:)' | cut -c1-120 || true; }
tiny=(--size 16 --widths 8,16 --latent 4 --batch 6 --seed 3 --shards 2 --epochs 2)
echo "one process:"
"$vae" train Datasets/sample --out "$work/one" "${tiny[@]}" 2>"$work/stderr" | summary
echo "two ranks, one in each namespace ($net.1 and $net.2 over veth, Open MPI TCP):"
mpi "$vae" train Datasets/sample --out "$work/two" "${tiny[@]}" --bucket-mb 0.002 2>"$work/stderr" | summary
# What crossed the veth pair: the ranks did talk between the namespaces.
echo "veth $net.1 sent $(ip netns exec "$a" cat "/sys/class/net/va$id/statistics/tx_bytes") bytes, received $(ip netns exec "$a" cat "/sys/class/net/va$id/statistics/rx_bytes")"
cmp "$work/one/model.safetensors" "$work/two/model.safetensors"
# The training state's tensors and header, but for the run id and the wall-clock seconds.
python3 - "$work/one/training_state.safetensors" "$work/two/training_state.safetensors" <<'PY'
import json, struct, sys
def state(path):
    data = open(path, "rb").read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    for key in ("run_id", "train_seconds"): header.get("__metadata__", {}).pop(key, None)
    return header, data[8 + n:]
if state(sys.argv[1]) != state(sys.argv[2]): sys.exit("two_namespaces: the training states differ")
PY
echo "two_namespaces: model.safetensors and the training state equal one process's, bit for bit"

if [ "$bench" = 1 ]; then
    for preset in fmnist rgb64; do
        mpi "$vae" bench --allreduce --preset "$preset" --steps 30 --threads 1
    done
fi
