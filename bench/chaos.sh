#!/usr/bin/env bash
# Engine chaos test (issue "Truthful container state", item 9). Not part of CI.
#
# WORKERS processes (default 8) work for SECONDS_PER_RUN seconds (default 60) on ONE
# fresh store, picking random operations: run --rm; run -d + exec + stop + rm;
# run -d --rm; long-running containers kept and dropped; exec into anyone's running
# container; pull and rmi of an image from a registry on 127.0.0.1; build; container
# prune; image prune; ps/images. Meanwhile a killer SIGKILLs one random berth process
# of THIS store about every KILL_INTERVAL seconds (monitors included). Afterwards:
#  (a) every container `ps` shows running has a live init that belongs to it, and no
#      process of a container runs unless `ps` shows that container running;
#  (b) `berth system check` exits 0 with "No problems found";
#  (c) after `rm -af -t 0` and `rmi -af`: no mounts under the store, no cgroups of
#      the run's containers, no monitors, no sockets, no netns, no container state;
#  (d) every failure a command printed is one of the retryable conflicts listed in
#      CONFLICTS below, or the killer's doing (the command itself, a berth process
#      under it, or the container's process before its exec was killed); anything
#      else is a FINDING.
# RUNS runs (default 20) in a row; prints per run ops, failures by class and the
# invariants, and at the end "N/RUNS clean". Logs stay in $WORK/logs/run-N/ (ops.W:
# every command with its exit code, stderr and stdout; kills; result.json), and the
# store of a run that was not clean in $WORK/logs/run-N/store (unmounted).
#
#   bash bench/chaos.sh                      # the full 20 x 60 s (~25 min)
#   RUNS=1 SECONDS_PER_RUN=20 bash bench/chaos.sh
#
# Knobs: WORKERS SECONDS_PER_RUN RUNS KILL_INTERVAL (0.5) CMD_TIMEOUT (120 s, a command
# that takes longer is a FINDING) WORK (/dev/shm/berth-chaos) BERTH (default: a copy of
# target/debug/berth made into $WORK at start, so that rebuilds of target/ do not
# change the binary under test).
WORK=${WORK:-/dev/shm/berth-chaos}
GIVEN_BERTH=${BERTH:-}
source "$(dirname "$0")/lib.sh"
source "$ROOT/scripts/oci-layout.sh"
WORKERS=${WORKERS:-8}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-60}
RUNS=${RUNS:-20}
KILL_INTERVAL=${KILL_INTERVAL:-0.5}
CMD_TIMEOUT=${CMD_TIMEOUT:-120}
TAG=$$

# ---------------------------------------------------------------------------------
# (d) The documented retryable conflicts: CLASS;OPS (comma list, * = any);REGEX;reason.
# A failure matches when its op is listed and its stderr matches the regex.
CONFLICTS=$(cat <<'EOC'
no-such-container;exec_any,cycle_stop,cycle_rm,drop_stop,drop_rm,rmrm_stop;no container with name or ID .* found: no such container;the target was taken from a ps snapshot, or is a stopped container that another worker's `container prune` (or its --rm monitor) removed meanwhile
not-running;exec_any;can only create exec sessions on running containers: container state improper|cannot exec in a stopped container;exec into a container picked from a ps snapshot that stopped meanwhile (the engine's check, or the runtime's own a moment later)
image-not-known;rmi,rmi_built,run_rm_other;image not known;another worker's rmi removed the image first (run_rm_other: runs of the pulled or built images; never the base image)
image-in-use;rmi,rmi_built;image is in use by a container;rmi of an image a container (any worker's) is using: podman refuses it the same way
EOC
)
log "chaos: WORKERS=$WORKERS SECONDS_PER_RUN=$SECONDS_PER_RUN RUNS=$RUNS WORK=$WORK"
if [ -n "$GIVEN_BERTH" ]; then
  BERTH=$GIVEN_BERTH
  ORIGIN="given"
else
  if [ ! -x "$ROOT/target/debug/berth" ]; then
    (cd "$ROOT" && cargo build -p berth-cli)
  fi
  cp "$ROOT/target/debug/berth" "$WORK/berth.new" && mv "$WORK/berth.new" "$WORK/berth"
  BERTH=$WORK/berth
  ORIGIN="copied from target/debug/berth built $(date -r "$ROOT/target/debug/berth" +%H:%M:%S); HEAD now $(cd "$ROOT" && git rev-parse --short HEAD)"
fi
[ -x "$BERTH" ] || { log "no berth binary at $BERTH"; exit 1; }
log "berth: $BERTH (sha256 $(sha256sum "$BERTH" | cut -c1-12), $ORIGIN)"

# ---------------------------------------------------------------------------------
# Helpers in Python: the killer (with a watcher that records every container ID the
# store ever held), process scans for the invariants, and the log analysis.
PY=$WORK/chaos.py
cat > "$PY" <<'EOPY'
import json, os, random, re, signal, sys, time

def argv_of(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return [a.decode("utf-8", "replace") for a in f.read().split(b"\0")[:-1]]
    except OSError:
        return None

def stat_of(pid):
    """(ppid, starttime) or None."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            s = f.read()
    except OSError:
        return None
    rest = s[s.rindex(")") + 2:].split()
    return int(rest[1]), int(rest[19])

def cgroup_ids(pid):
    try:
        with open(f"/proc/{pid}/cgroup") as f:
            txt = f.read()
    except OSError:
        return set()
    return set(re.findall(r"/berth/([0-9a-f]{64})\b", txt))

def pids():
    for d in os.listdir("/proc"):
        if d.isdigit() and int(d) > 1 and int(d) != os.getpid():
            yield int(d)

def is_store_berth(argv, root, berth, exedir):
    """A berth process of this store: argv[0] is our binary (or its read-only
    self-image under the exe dir) and `--root ROOT` is on its command line."""
    if not argv:
        return False
    if argv[0] != berth and not argv[0].startswith(exedir + "/"):
        return False
    return any(argv[i] == "--root" and argv[i + 1] == root for i in range(len(argv) - 1))

def store_berths(root, berth, exedir):
    out = []
    for p in pids():
        a = argv_of(p)
        if is_store_berth(a, root, berth, exedir):
            st = stat_of(p)
            if st:
                out.append((p, st[0], st[1], a))
    return out

def ancestors(pid):
    chain = []
    while pid > 1 and len(chain) < 8:
        st = stat_of(pid)
        if not st:
            break
        chain.append(pid)
        pid = st[0]
    return chain

def kill_proven(pid, start, argv, check):
    """SIGKILL pid only if, with a pidfd held on it, it is still the process we
    found (same start time, same command line, check() true). Returns the chain of
    ancestors read just before the kill, or None."""
    if pid <= 1:
        return None
    try:
        fd = os.pidfd_open(pid)
    except OSError:
        return None
    try:
        st = stat_of(pid)
        if not st or st[1] != start or argv_of(pid) != argv or not check(argv):
            return None
        chain = ancestors(pid)
        signal.pidfd_send_signal(fd, signal.SIGKILL)
        return chain
    except OSError:
        return None
    finally:
        os.close(fd)

def killer(root, berth, exedir, stopfile, killlog, idsfile, interval, seed):
    rng = random.Random(int(seed))
    seen = set()
    def collect():
        try:
            with open(os.path.join(root, "store.json")) as f:
                for c in json.load(f)["containers"]:
                    if c["id"] not in seen:
                        seen.add(c["id"])
                        with open(idsfile, "a") as o:
                            o.write(c["id"] + "\n")
        except (OSError, ValueError, KeyError, TypeError):
            pass
    check = lambda a: is_store_berth(a, root, berth, exedir)
    next_kill = time.time() + float(interval) * rng.uniform(0.5, 1.5)
    with open(killlog, "a", buffering=1) as log:
        while not os.path.exists(stopfile):
            # The watcher: every 20 ms, so that even short-lived containers are seen.
            collect()
            if time.time() < next_kill:
                time.sleep(0.02)
                continue
            next_kill = time.time() + float(interval) * rng.uniform(0.5, 1.5)
            cands = store_berths(root, berth, exedir)
            if cands:
                pid, ppid, start, argv = rng.choice(cands)
                # A child with its parent's very command line is a container's (or an
                # exec's) process before its exec: the runtime forks it from berth.
                role = "init" if argv_of(ppid) == argv else (
                    "monitor" if "__monitor" in argv else "cli")
                before = time.time()
                chain = kill_proven(pid, start, argv, check)
                if chain is not None:
                    i = argv.index("--storage-driver") + 2 if "--storage-driver" in argv else 1
                    log.write("%.6f\t%d\t%s\t%s\t%s\t%.6f\n" % (time.time(), pid, role,
                              ",".join(map(str, chain)), " ".join(argv[i:])[:300], before))
        collect()

def monitors(root, berth, exedir):
    """`ID PID` of this store's live monitors."""
    for p, _, _, a in store_berths(root, berth, exedir):
        if "__monitor" in a:
            i = a.index("__monitor")
            print(a[i + 1] if i + 1 < len(a) else "?", p)

def kill_store(root, berth, exedir, marker, idsfile):
    """Cleanup: SIGKILL this store's berth processes and its containers' processes
    (in a /berth/ID cgroup of an ID this run recorded, or carrying the run's marker)."""
    ids = set(open(idsfile).read().split()) if os.path.exists(idsfile) else set()
    n = 0
    for p, _, start, a in store_berths(root, berth, exedir):
        if kill_proven(p, start, a, lambda x: is_store_berth(x, root, berth, exedir)) is not None:
            n += 1
    for p in pids():
        cg = cgroup_ids(p)
        a = argv_of(p)
        if a and cg and (cg & ids or marker in " ".join(a)):
            st = stat_of(p)
            if st and kill_proven(p, st[1], a, lambda x: True) is not None:
                n += 1
    print(n)

def procs_check(psfile, marker, idsfile, phase):
    """(a): running per ps <=> a live process of that container. Prints violations."""
    ps = json.load(open(psfile))
    ids = set(open(idsfile).read().split()) if os.path.exists(idsfile) else set()
    ids |= {e["Id"] for e in ps}
    state = {e["Id"]: e["State"] for e in ps}
    bad = 0
    for e in ps:
        if e["State"] != "running":
            continue
        pid, cid = e["Pid"], e["Id"]
        a = argv_of(pid) if pid > 0 else None
        if not a:
            print(f"VIOLATION {phase}: {cid[:12]} ps says running with Pid {pid}, no live process (zombie or gone)")
            bad += 1
        elif marker not in " ".join(a) or cid not in cgroup_ids(pid):
            print(f"VIOLATION {phase}: {cid[:12]} ps says running with Pid {pid}, which is {' '.join(a)[:80]!r} in cgroups {sorted(x[:12] for x in cgroup_ids(pid))}")
            bad += 1
    for p in pids():
        cg = cgroup_ids(p)
        a = argv_of(p)
        if not a or not cg:
            continue
        for cid in cg:
            if cid in ids or marker in " ".join(a):
                if state.get(cid) != "running":
                    print(f"VIOLATION {phase}: process {p} ({' '.join(a)[:60]!r}) of container {cid[:12]} runs; ps says {state.get(cid, 'absent')}")
                    bad += 1
    return bad

def analyze(oplogs, killlog, conflicts, outjson):
    kills = []
    if os.path.exists(killlog):
        for l in open(killlog):
            t, pid, role, chain, cmd, before = l.rstrip("\n").split("\t", 5)
            kills.append((float(t), int(pid), role, [int(x) for x in chain.split(",") if x], cmd, float(before)))
    # Containers whose init the killer killed before its exec (it still had the
    # monitor's command line): what fails on them afterwards is the kill's doing.
    init_killed = {}
    for k in kills:
        m = re.search(r"__monitor ([0-9a-f]{64})", k[4])
        if k[2] == "init" and m:
            init_killed.setdefault(m.group(1), k[5])
    rules = []
    for l in conflicts.strip().splitlines():
        cls, ops, rx, _reason = l.split(";", 3)
        rules.append((cls, ops.split(","), re.compile(rx)))
    ops = 0
    by_op = {}
    classes = {}
    examples = {}
    findings = []
    for path in oplogs:
        for l in open(path):
            f = l.rstrip("\n").split("\t")
            if len(f) < 8:
                continue
            t0, t1, w, op, pid, rc, err, args = float(f[0]), float(f[1]), f[2], f[3], int(f[4]), int(f[5]), f[6], f[7]
            ops += 1
            by_op.setdefault(op, [0, 0])
            by_op[op][0] += 1
            if rc == 0:
                continue
            by_op[op][1] += 1
            if rc == 137:
                cls = "killed"
            elif any(t0 - 0.05 <= k[5] and k[5] <= t1 + 0.05 and pid in k[3] for k in kills):
                cls = "killed-child"  # the killer killed a berth process under it (its monitor, ...)
            elif any(cid in args and tk <= t1 for cid, tk in init_killed.items()):
                cls = "killed-child"  # the container's init was killed before its exec
            elif rc == 124:
                cls = "FINDING"
                err = f"timed out after {t1 - t0:.0f} s; " + err
            else:
                cls = next((c for c, o, rx in rules if (op in o or "*" in o) and rx.search(err)), "FINDING")
            classes[cls] = classes.get(cls, 0) + 1
            examples.setdefault(cls, f"{op}: {err[:160]}")
            if cls == "FINDING":
                findings.append({"t": t0, "worker": w, "op": op, "rc": rc, "stderr": err, "args": args})
    res = {"ops": ops, "by_op": by_op, "classes": classes, "findings": findings,
           "kills": len(kills), "kills_monitor": sum(1 for k in kills if k[2] == "monitor"),
           "kills_init": sum(1 for k in kills if k[2] == "init")}
    json.dump(res, open(outjson, "w"), indent=1)
    print(f"ops {ops}; kills {len(kills)} ({res['kills_monitor']} monitors, {res['kills_init']} container inits before their exec)")
    print("ops by kind (done/failed): " + ", ".join(f"{k} {v[0]}/{v[1]}" for k, v in sorted(by_op.items())))
    print("failures by class: " + (", ".join(f"{k} {v}" for k, v in sorted(classes.items())) or "none"))
    for k, v in sorted(examples.items()):
        if k != "FINDING":
            print(f"    {k}, e.g. {v}")
    seen = {}
    for x in findings:
        key = re.sub(r"[0-9a-f]{12,64}", "ID", x["stderr"])
        key = re.sub(r"\d+", "N", key)
        seen.setdefault((x["op"], key), []).append(x)
    for (op, key), xs in sorted(seen.items()):
        x = xs[0]
        print(f"FINDING x{len(xs)}: {op} (rc {x['rc']}): {x['stderr'][:400]}")
        print(f"    e.g. berth {x['args'][:300]}")

if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "killer":
        killer(*args)
    elif cmd == "monitors":
        monitors(*args)
    elif cmd == "kill-store":
        kill_store(*args)
    elif cmd == "procs":
        sys.exit(1 if procs_check(*args) else 0)
    elif cmd == "analyze":
        analyze(args[0].split(), args[1], os.environ["CHAOS_CONFLICTS"], args[2])
EOPY

# ---------------------------------------------------------------------------------
# Shared set-up: the busybox rootfs, the registry with a pushed image, registries.conf.
KILLER_PID=; WORKER_PIDS=(); G=(); D=; ROOTD=; RUNR=; MARK=; IDS=; STOPF=
# Whether a process of ours still runs (a zombie does not).
running() { local s; s=$(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null) && [ -n "$s" ] && [ "$s" != Z ]; }
# Stops our own child processes by pid, polling (bounded): in a trap after Ctrl-C,
# `wait` can block on a job bash has already reaped.
stop_pids() {
  local p left
  for p in "$@"; do kill "$p" 2>/dev/null || true; done
  for _ in $(seq 100); do
    left=0
    for p in "$@"; do ! running "$p" || left=1; done
    [ "$left" = 1 ] || return 0
    sleep 0.1
  done
}
cleanup_run() {
  # Everything of the current run: workers, killer, berth processes, containers, mounts.
  [ -n "$D" ] || return 0
  [ -z "$STOPF" ] || touch "$STOPF" 2>/dev/null || true
  stop_pids "${WORKER_PIDS[@]}" $KILLER_PID
  WORKER_PIDS=(); KILLER_PID=
  if [ -d "$ROOTD" ]; then
    timeout 60 "$BERTH" "${G[@]}" rm -af -t 0 >/dev/null 2>&1 || true
    python3 "$PY" kill-store "$ROOTD" "$BERTH" "$D/exe" "$MARK" "$IDS" >/dev/null 2>&1 || true
  fi
  umount_all
  # The store of a run that was not clean stays (unmounted) for a post-mortem.
  if [ "${KEEP_STORE:-0}" = 1 ]; then mv "$D" "$LOGD/store" 2>/dev/null || rm -rf "$D"; else rm -rf "$D"; fi
  D= KEEP_STORE=0
}
on_exit() {
  local rc=$?
  trap - EXIT INT TERM
  cleanup_run
  [ -z "${REG_PID:-}" ] || stop_pids "$REG_PID"
  REG_PID=
  stop_registry
  umount_all
  [ "$rc" = 0 ] || log "chaos: stopped (exit $rc); logs in $WORK/logs"
  exit "$rc"
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Leftovers of an earlier, interrupted chaos run in this WORK.
umount_all
rm -rf "$WORK/runs" "$WORK/setup" "$WORK/logs" "$WORK/registry"
mkdir -p "$WORK/runs" "$WORK/logs"

SETUP=$WORK/setup
mkdir -p "$SETUP/rootfs" "$SETUP/pullme"
busybox_rootfs "$SETUP/rootfs" >/dev/null
tar -C "$SETUP/rootfs" -cf "$SETUP/rootfs.tar" .
start_registry
cat > "$WORK/registries.conf" <<EOC
[[registry]]
location = "$REG"
insecure = true
EOC
export CONTAINERS_REGISTRIES_CONF=$WORK/registries.conf
# The pulled image: the busybox layer plus one more, so that pull and rmi share a
# layer with the base image every container and build uses.
printf 'FROM localhost/bb:1\nRUN echo pullme > /pullme\n' > "$SETUP/pullme/Containerfile"
SG=(--root "$SETUP/root" --runroot "$SETUP/run" --storage-driver overlay)
export BERTH_OCI_EXE_DIR=$SETUP/exe
"$BERTH" "${SG[@]}" import -q "$SETUP/rootfs.tar" localhost/bb:1 >/dev/null
"$BERTH" "${SG[@]}" build -q -t "$REG/chaos/pullme:1" "$SETUP/pullme" >/dev/null
"$BERTH" "${SG[@]}" push -q "$REG/chaos/pullme:1" >/dev/null
"$BERTH" "${SG[@]}" rmi -af >/dev/null
umount_all
rm -rf "$SETUP/root" "$SETUP/run" "$SETUP/exe"
PULLME=$REG/chaos/pullme:1
log "registry $REG holds $PULLME"

# ---------------------------------------------------------------------------------
# One worker: random operations until the deadline. Each berth command is logged
# as: start end worker op pid rc stderr args stdout (tab-separated, one line each).
bcmd() { # OP ARGS... -> RC, OUT
  local op=$1; shift
  local t0=$EPOCHREALTIME pid
  timeout -k 5 "$CMD_TIMEOUT" "$BERTH" "${G[@]}" "$@" >"$TMPO" 2>"$TMPE" </dev/null &
  pid=$!
  wait "$pid" && RC=0 || RC=$?
  OUT=$(cat "$TMPO")
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$t0" "$EPOCHREALTIME" "$W" "$op" "$pid" "$RC" \
    "$(head -c 2000 "$TMPE" | tr '\n\t' '  ')" "$*" "$(head -c 1000 "$TMPO" | tr '\n\t' '  ')" >> "$OPLOG"
  ops=$((ops + 1))
}
pick() { local n=$#; [ "$n" -gt 0 ] || return 1; shift $((RANDOM % n)); echo "$1"; }
long_cmd() { # a container that runs until stopped: trapping SIGTERM or not
  if ((RANDOM % 2)); then echo "sh -c 'trap \"exit 0\" TERM; sleep 1000 & wait' $MARK"
  else echo "sh -c 'sleep 1000; :' $MARK"; fi
}
worker() {
  set +e
  W=$1
  local end=$2 own=() built=() id img op t n=0
  OPLOG=$LOGD/ops.$W TMPO=$D/w$W.out TMPE=$D/w$W.err ops=0
  RANDOM=$(( (W + 1) * 7919 + TAG + RUN * 104729 ))
  while (( ${EPOCHREALTIME%.*} < end )) && [ ! -e "$STOPF" ]; do
    n=$((n + 1))
    local r=$((RANDOM % 100))
    if ((r < 16)); then # run --rm in the foreground
      img=localhost/bb:1 op=run_rm
      ((RANDOM % 4 == 0)) && img=$PULLME op=run_rm_other
      ((RANDOM % 6 == 0)) && [ ${#built[@]} -gt 0 ] && img=$(pick "${built[@]}") op=run_rm_other
      bcmd "$op" run --rm --cidfile "$LOGD/cid/$W.$n" --network none "$img" sh -c 'echo hi; :' "$MARK"
    elif ((r < 34)); then # run -d, exec, stop, rm
      eval "set -- $(long_cmd)"
      bcmd cycle_run run -d --cidfile "$LOGD/cid/$W.$n" --network none localhost/bb:1 "$@"
      id=$OUT
      if [ "$RC" = 0 ] && [ -n "$id" ]; then
        bcmd cycle_exec exec "$id" sh -c ':' "$MARK-exec"
        bcmd cycle_stop stop -t 1 "$id"
        if [ "$RC" = 0 ]; then bcmd cycle_rm rm "$id"; else bcmd cycle_rm rm -f -t 0 "$id"; fi
      fi
    elif ((r < 42)); then # run -d --rm: the monitor removes it; sometimes stopped first
      bcmd rmrm_run run -d --rm --cidfile "$LOGD/cid/$W.$n" --network none localhost/bb:1 sh -c 'sleep 1; :' "$MARK"
      id=$OUT
      if [ "$RC" = 0 ] && [ -n "$id" ] && ((RANDOM % 2)); then bcmd rmrm_stop stop -t 1 "$id"; fi
    elif ((r < 48)); then # keep a long-running container (at most 3 a worker)
      if [ ${#own[@]} -lt 3 ]; then
        eval "set -- $(long_cmd)"
        bcmd keep_run run -d --cidfile "$LOGD/cid/$W.$n" --network none localhost/bb:1 "$@"
        [ "$RC" = 0 ] && [ -n "$OUT" ] && own+=("$OUT")
      fi
    elif ((r < 53)); then # drop one of them
      if [ ${#own[@]} -gt 0 ]; then
        id=${own[0]}; own=("${own[@]:1}")
        if ((RANDOM % 2)); then bcmd drop_rm rm -f -t 0 "$id"
        else bcmd drop_stop stop -t 1 "$id"; bcmd drop_rm rm -f -t 0 "$id"; fi
      fi
    elif ((r < 61)); then # exec into anyone's running container
      bcmd ps ps -a --format json
      id=$(printf '%s' "$OUT" | jq -r '.[] | select(.State == "running") | .Id' 2>/dev/null | shuf -n 1)
      [ -n "$id" ] && bcmd exec_any exec "$id" sh -c ':' "$MARK-exec"
    elif ((r < 69)); then
      bcmd pull pull -q "$PULLME"
    elif ((r < 75)); then
      bcmd rmi rmi "$PULLME"
    elif ((r < 82)); then # build, tagged or not, cached or not
      t=()
      ((RANDOM % 4)) && t=(-t "localhost/built-$W-$n:1")
      if ((RANDOM % 2)); then bcmd build build -q "${t[@]}" --build-arg "N=$W-$n" "$CTX"
      else bcmd build build -q "${t[@]}" "$CTX"; fi
      [ "$RC" = 0 ] && [ ${#t[@]} -gt 0 ] && built+=("${t[1]}")
    elif ((r < 87)); then
      if [ ${#built[@]} -gt 0 ]; then
        img=${built[0]}; built=("${built[@]:1}")
        bcmd rmi_built rmi "$img"
      fi
    elif ((r < 92)); then
      bcmd container_prune container prune -f
    elif ((r < 96)); then
      bcmd image_prune image prune -f
    elif ((r < 98)); then
      bcmd ps ps -a
    else
      bcmd images images -a
    fi
  done
  echo "$ops" > "$LOGD/opcount.$W"
}

# ---------------------------------------------------------------------------------
SUMMARY=$WORK/logs/summary.tsv
printf 'run\tclean\tops\tkills\tmonitor_kills\tfailures\tinvariants\n' > "$SUMMARY"
clean_runs=0
for RUN in $(seq "$RUNS"); do
  D=$WORK/runs/$RUN ROOTD=$WORK/runs/$RUN/root RUNR=$WORK/runs/$RUN/run
  LOGD=$WORK/logs/run-$RUN MARK=chaos-$TAG-$RUN IDS=$LOGD/ids STOPF=$D/stop
  mkdir -p "$D" "$LOGD/cid"
  ls /sys/fs/cgroup/pids/berth/ 2>/dev/null | sort > "$LOGD/cgroups-before" || true
  export BERTH_OCI_EXE_DIR=$D/exe
  G=(--root "$ROOTD" --runroot "$RUNR" --storage-driver overlay)
  CTX=$D/ctx
  mkdir -p "$CTX"
  printf 'FROM localhost/bb:1\nARG N=0\nRUN echo "$N" > /n # %s\nCOPY f /f\nCMD ["cat", "/n"]\n' "$MARK" > "$CTX/Containerfile"
  echo data > "$CTX/f"
  "$BERTH" "${G[@]}" import -q "$SETUP/rootfs.tar" localhost/bb:1 >/dev/null
  log "run $RUN/$RUNS: $WORKERS workers for ${SECONDS_PER_RUN}s on $ROOTD (marker $MARK)"

  python3 "$PY" killer "$ROOTD" "$BERTH" "$D/exe" "$STOPF" "$LOGD/kills" "$IDS" "$KILL_INTERVAL" "$((TAG + RUN))" &
  KILLER_PID=$!
  END=$(( ${EPOCHREALTIME%.*} + SECONDS_PER_RUN ))
  WORKER_PIDS=()
  # (A worker's stderr holds bash's notes on the commands the killer killed.)
  for w in $(seq "$WORKERS"); do worker "$w" "$END" 2>>"$LOGD/worker.$w.err" & WORKER_PIDS+=($!); done
  for p in "${WORKER_PIDS[@]}"; do wait "$p" || true; done
  WORKER_PIDS=()
  touch "$STOPF"
  kill "$KILLER_PID" 2>/dev/null || true
  wait "$KILLER_PID" 2>/dev/null || true
  KILLER_PID=
  # Every container ID: the watcher's, the cidfiles', and those the store holds now.
  for f in "$LOGD"/cid/*; do [ ! -s "$f" ] || { cat "$f"; echo; }; done | grep -E '^[0-9a-f]{64}$' >> "$IDS" || true
  python3 - "$ROOTD/store.json" "$IDS" <<'EOPY' || true
import json, sys
try:
    ids = [c["id"] for c in json.load(open(sys.argv[1]))["containers"]]
except (OSError, ValueError):
    ids = []
open(sys.argv[2], "a").write("".join(i + "\n" for i in ids))
EOPY
  touch "$IDS"

  # Settle: wait (at most 30 s) until every live monitor watches a running container
  # that is not --rm, and no --rm container still runs.
  settled=no
  for _ in $(seq 60); do
    PSJ=$("$BERTH" "${G[@]}" ps -a --format json 2>/dev/null) || PSJ='[]'
    mons=$(python3 "$PY" monitors "$ROOTD" "$BERTH" "$D/exe" | awk '{print $1}')
    pending=$(printf '%s' "$PSJ" | jq -r --arg m "$mons" '
      ($m | split("\n") | map(select(. != ""))) as $mon
      | ([.[] | select(.State == "running" and (.AutoRemove | not)) | .Id]) as $ok
      | ([.[] | select(.AutoRemove and .State == "running")] | length)
        + ([$mon[] | select(. as $x | $ok | index($x) | not)] | length)')
    if [ "$pending" = 0 ]; then settled=yes; break; fi
    sleep 0.5
  done

  inv=()
  vio=0
  [ "$settled" = yes ] || { inv+=("settle: timed out, $pending monitors/--rm containers still busy"); vio=$((vio + 1)); }
  # (a) ps against the processes.
  "$BERTH" "${G[@]}" ps -a --external --format json > "$LOGD/ps.json" 2>"$LOGD/ps.err" ||
    { inv+=("a: ps failed: $(head -c 300 "$LOGD/ps.err")"); vio=$((vio + 1)); echo '[]' > "$LOGD/ps.json"; }
  running=$(jq '[.[] | select(.State == "running")] | length' "$LOGD/ps.json")
  if out=$(python3 "$PY" procs "$LOGD/ps.json" "$MARK" "$IDS" after-chaos); then
    inv+=("a: ok ($running running)")
  else
    inv+=("a: $(printf '%s' "$out" | head -5 | tr '\n' ';')"); vio=$((vio + 1))
  fi
  # (b) system check.
  if "$BERTH" "${G[@]}" system check > "$LOGD/check.out" 2>&1 && grep -q 'No problems found' "$LOGD/check.out"; then
    inv+=("b: ok")
  else
    inv+=("b: $(head -c 400 "$LOGD/check.out" | tr '\n' ' ')"); vio=$((vio + 1))
  fi
  # (c) remove everything, then look for leftovers.
  vio_before_c=$vio
  if ! "$BERTH" "${G[@]}" rm -af -t 0 > /dev/null 2>"$LOGD/rm.err"; then
    inv+=("c: rm -af -t 0 failed: $(head -c 300 "$LOGD/rm.err" | tr '\n' ' ')"); vio=$((vio + 1))
  fi
  "$BERTH" "${G[@]}" ps -a --external --format json > "$LOGD/ps-after-rm.json" 2>/dev/null || echo '[]' > "$LOGD/ps-after-rm.json"
  left=$(jq -r '.[] | "\(.Id[:12]) \(.State) \(.Labels["io.berth.builder"] // "")"' "$LOGD/ps-after-rm.json")
  if [ -n "$left" ]; then
    # Working containers of builds the killer stopped (buildah keeps them too): rm them.
    nb=$(printf '%s\n' "$left" | grep -c ' true$' || true)
    nc=$(printf '%s\n' "$left" | grep -vc ' true$' || true)
    [ "$nc" = 0 ] || { inv+=("c: $nc containers left after rm -af: $(printf '%s\n' "$left" | grep -v ' true$' | head -3 | tr '\n' ';')"); vio=$((vio + 1)); }
    [ "$nb" = 0 ] || inv+=("c: note: $nb working containers of killed builds removed by rm -f")
    for id in $(jq -r '.[].Id' "$LOGD/ps-after-rm.json"); do
      "$BERTH" "${G[@]}" rm -f -t 0 "$id" >/dev/null 2>>"$LOGD/rm.err" ||
        { inv+=("c: rm -f $id failed: $(tail -1 "$LOGD/rm.err")"); vio=$((vio + 1)); }
    done
  fi
  if ! "$BERTH" "${G[@]}" rmi -af > /dev/null 2>"$LOGD/rmi.err"; then
    inv+=("c: rmi -af failed: $(head -c 300 "$LOGD/rmi.err" | tr '\n' ' ')"); vio=$((vio + 1))
  fi
  nimg=$("$BERTH" "${G[@]}" images -a -q 2>/dev/null | wc -l)
  [ "$nimg" = 0 ] || { inv+=("c: $nimg images left after rmi -af"); vio=$((vio + 1)); }
  mnts=$(awk -v r="$ROOTD/" -v s="$RUNR/" 'index($5, r) == 1 || index($5, s) == 1 {print $5}' /proc/self/mountinfo)
  [ -z "$mnts" ] || { inv+=("c: $(printf '%s\n' "$mnts" | wc -l) mounts left: $(printf '%s\n' "$mnts" | head -3 | tr '\n' ' ')"); vio=$((vio + 1)); }
  cgs=$(for id in $(sort -u "$IDS"); do for c in /sys/fs/cgroup/*/berth/"$id"; do [ ! -e "$c" ] || echo "$c"; done; done)
  [ -z "$cgs" ] || { inv+=("c: $(printf '%s\n' "$cgs" | wc -l) cgroup dirs left ($(printf '%s\n' "$cgs" | sed 's,.*/,,' | sort -u | wc -l) containers): $(printf '%s\n' "$cgs" | head -2 | tr '\n' ' ')"); vio=$((vio + 1)); }
  mons=$(python3 "$PY" monitors "$ROOTD" "$BERTH" "$D/exe")
  [ -z "$mons" ] || { inv+=("c: monitors left: $(printf '%s\n' "$mons" | cut -c1-20 | tr '\n' ' ')"); vio=$((vio + 1)); }
  socks=$(ls -A "$RUNR/sockets" 2>/dev/null || true)
  [ -z "$socks" ] || { inv+=("c: $(printf '%s\n' "$socks" | wc -l) sockets left: $(printf '%s\n' "$socks" | head -3 | tr '\n' ' ')"); vio=$((vio + 1)); }
  netns=$( { find "$RUNR" -name '*netns*' ! -type d 2>/dev/null; awk -v s="$RUNR/" 'index($5, s) == 1 && $9 == "nsfs" {print $5}' /proc/self/mountinfo; } | head -3)
  [ -z "$netns" ] || { inv+=("c: netns left: $netns"); vio=$((vio + 1)); }
  state=$(for d in containers oci mounts; do ls -A "$RUNR/$d" 2>/dev/null | sed "s,^,$d/,"; done)
  [ -z "$state" ] || { inv+=("c: $(printf '%s\n' "$state" | wc -l) container state entries left: $(printf '%s\n' "$state" | head -3 | cut -c1-30 | tr '\n' ' ')"); vio=$((vio + 1)); }
  layers=$(ls -A "$ROOTD/overlay" 2>/dev/null || true)
  [ -z "$layers" ] || { inv+=("c: $(printf '%s\n' "$layers" | wc -l) layer/container dirs left in the driver's directory: $(printf '%s\n' "$layers" | head -3 | cut -c1-12 | tr '\n' ' ')"); vio=$((vio + 1)); }
  echo '[]' > "$LOGD/ps-empty.json"
  if ! out=$(python3 "$PY" procs "$LOGD/ps-empty.json" "$MARK" "$IDS" after-rm); then
    inv+=("c: $(printf '%s' "$out" | head -3 | tr '\n' ';')"); vio=$((vio + 1))
  fi
  # cgroups made during the run by containers whose ID no one saw (a build's working
  # container can come and go between two looks): reported, not counted, since other
  # processes on this machine may make /berth/ID cgroups too.
  unknown=$(ls /sys/fs/cgroup/pids/berth/ 2>/dev/null | sort | comm -13 "$LOGD/cgroups-before" - | grep -vxFf <(sort -u "$IDS") || true)
  [ -z "$unknown" ] || inv+=("c: note: $(printf '%s\n' "$unknown" | wc -l) new /sys/fs/cgroup/pids/berth/ dirs of IDs not seen in this store: $(printf '%s\n' "$unknown" | head -3 | cut -c1-12 | tr '\n' ' ')")
  exits=$(ls -A "$RUNR/exits" 2>/dev/null | wc -l)
  [ "$exits" = 0 ] || inv+=("c: note: $exits exit-code files kept in RUNROOT/exits")
  tmps=$(ls -A "$ROOTD" 2>/dev/null | grep -c '\.tmp-' || true)
  [ "$tmps" = 0 ] || inv+=("c: note: $tmps stale metadata temp files in the graph root")
  [ "$vio" -gt "$vio_before_c" ] || inv+=("c: ok")
  # The leaked (empty) cgroups of this run's containers go, once counted.
  for c in $cgs; do rmdir "$c" 2>/dev/null || true; done
  # (d) the commands' failures.
  CHAOS_CONFLICTS=$CONFLICTS python3 "$PY" analyze "$(ls "$LOGD"/ops.* | tr '\n' ' ')" "$LOGD/kills" "$LOGD/result.json" > "$LOGD/analysis.txt"
  nfind=$(jq '.findings | length' "$LOGD/result.json")
  [ "$nfind" = 0 ] || vio=$((vio + 1))
  printf '%s\n' "${inv[@]}" > "$LOGD/invariants.txt"
  echo "== run $RUN/$RUNS: $([ "$vio" = 0 ] && echo CLEAN || echo "NOT CLEAN ($nfind findings)")"
  cat "$LOGD/analysis.txt"
  printf '  %s\n' "${inv[@]}"
  [ "$vio" = 0 ] && clean_runs=$((clean_runs + 1))
  [ "$vio" = 0 ] || KEEP_STORE=1
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$RUN" "$([ "$vio" = 0 ] && echo yes || echo no)" \
    "$(jq .ops "$LOGD/result.json")" "$(jq .kills "$LOGD/result.json")" "$(jq .kills_monitor "$LOGD/result.json")" \
    "$(jq -r '.classes | to_entries | map("\(.key) \(.value)") | join(", ")' "$LOGD/result.json")" \
    "$(printf '%s; ' "${inv[@]}")" >> "$SUMMARY"
  cleanup_run
done
echo "chaos: $clean_runs/$RUNS clean (per-run table: $SUMMARY, logs: $WORK/logs)"
