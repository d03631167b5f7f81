"""Case `ssh`: photo-like files uploaded to a private sshd on loopback.

`rsync -a -e ssh` (one run for the whole tree) against mediacourier's SFTP and rsync-over-SSH
destinations doing `put` with N parallel transfers — each file sent to a temp name, its
sha256 computed on the target, given its mtime and renamed into place. Each destination tree
is checked afterwards with `rsync -rcn` (untimed): any difference fails the benchmark.
"""

from __future__ import annotations

import hashlib
import statistics
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench import data
from bench.procs import run_timed
from bench.sshd import SshServer
from shared.config import TargetConfig
from shared.remote import KINDS, RemoteTransfer
from shared.transfer import Expected

PARALLEL = 4


def _target(server: SshServer, root: Path, kind: str) -> TargetConfig:
    return TargetConfig(name="bench", kind=kind, root=str(root), host=server.host,
                        port=server.port, user=server.user, key_file=server.key_file,
                        known_hosts=server.known_hosts, parallel=PARALLEL, timeout=30.0)


def differences(src: Path, dst: Path) -> list[str]:
    done = subprocess.run(["rsync", "-rcn", "--out-format=%n", f"{src}/", f"{dst}/"],
                          capture_output=True, text=True, check=True)
    return [line for line in done.stdout.splitlines() if line and not line.endswith("/")]


def upload(server: SshServer, tree: data.Tree, dst: Path, kind: str) -> float:
    destination = KINDS[kind](_target(server, dst, kind))
    started = time.perf_counter()
    try:
        with ThreadPoolExecutor(PARALLEL) as pool:
            jobs = [pool.submit(destination.put, tree.root / rel, rel,
                                (tree.root / rel).stat().st_mtime_ns, False)
                    for rel in tree.files]
            for job in jobs:
                job.result()
    finally:
        destination.close()
    return time.perf_counter() - started


def ingest_batch(server: SshServer, tree: data.Tree, dst: Path, kind: str) -> float:
    """What the ingest of one batch does with a library on the target, less Redis: hash each
    source (sha256), send the batch ahead, place each file (checked, fsynced, renamed without
    overwriting) and verify it (the target's sha256), one file after the other."""
    backend = RemoteTransfer(KINDS[kind](_target(server, dst, kind)))
    root = Path(str(dst))
    started = time.perf_counter()
    try:
        files = []
        for rel in tree.files:
            src = tree.root / rel
            info = src.stat()
            files.append((str(src), rel, info.st_size, info.st_mtime_ns,
                          hashlib.sha256(src.read_bytes()).hexdigest()))
        backend.prepare(root, [(src, rel, size, mtime) for src, rel, size, mtime, _ in files])
        for src, rel, size, mtime, sha in files:
            placed = backend.place(src, root, rel, Expected(size, mtime, sha), link_ok=False)
            if placed is None or backend.digest(root, rel) != (size, sha):
                raise RuntimeError(f"{kind} batch: {rel} not placed and verified")
        backend.done_preparing()
    finally:
        backend.destination.close()
    return time.perf_counter() - started


def measure(work: Path, tree: data.Tree, rounds: int, logs: Path) -> dict:
    rounds = max(rounds, 3)  # medians of three runs at least: the machine is shared
    server = SshServer(work / "sshd")
    server.start()
    times: dict[str, list[float]] = {"rsync -a -e ssh": [], "sftp": [], "rsync": [],
                                     "rsync batch": []}
    try:
        ssh = " ".join(server.ssh_command()[:-1])
        for round_no in range(1, rounds + 1):
            for name in times:
                dst = work / f"ssh-{name.split()[0]}-{name[-3:]}-{round_no}"
                if name.startswith("rsync -a"):
                    done = run_timed(["rsync", "-a", "-e", ssh, f"{tree.root}/",
                                      f"{server.user}@{server.host}:{dst}/"],
                                     logs / f"ssh-rsync-{round_no}.log")
                    if done.returncode != 0:
                        raise RuntimeError(f"rsync -e ssh exited {done.returncode}: "
                                           f"{done.output[-500:]}")
                    seconds = done.seconds
                elif name == "rsync batch":
                    seconds = ingest_batch(server, tree, dst, "rsync")
                else:
                    seconds = upload(server, tree, dst, name)
                wrong = differences(tree.root, dst)
                if wrong:
                    raise RuntimeError(f"{name}: {len(wrong)} files differ, e.g. {wrong[:3]}")
                times[name].append(seconds)
                subprocess.run(["rm", "-rf", str(dst)], check=True)
    finally:
        server.stop()
    best = {name: min(values) for name, values in times.items()}
    median = {name: statistics.median(values) for name, values in times.items()}
    base = median["rsync -a -e ssh"]
    return {"files": tree.count, "mb": round(tree.total_bytes / 1e6, 1), "parallel": PARALLEL,
            "seconds": {k: [round(x, 3) for x in v] for k, v in times.items()},
            "best": {k: round(v, 3) for k, v in best.items()},
            "median": {k: round(v, 3) for k, v in median.items()},
            "ratio_sftp": round(median["sftp"] / base, 2),
            "ratio_rsync": round(median["rsync"] / base, 2),
            "ratio_rsync_batch": round(median["rsync batch"] / base, 2)}


def render(row: dict) -> str:
    best = row["median"]
    mb = row["mb"]
    return (f"ssh     {row['files']} files, {mb} MB to a loopback sshd (medians): rsync -a -e ssh "
            f"{best['rsync -a -e ssh']:.2f} s ({mb / best['rsync -a -e ssh']:.0f} MB/s); "
            f"mediacourier SFTP put x{row['parallel']} {best['sftp']:.2f} s "
            f"(ratio {row['ratio_sftp']:.2f}); rsync-over-SSH put x{row['parallel']} "
            f"{best['rsync']:.2f} s (ratio {row['ratio_rsync']:.2f}); ingest batch to an rsync "
            f"target {best['rsync batch']:.2f} s (ratio {row['ratio_rsync_batch']:.2f}); "
            "every mediacourier file "
            "verified by sha256 on the target")
