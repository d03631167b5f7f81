"""Where the Redis memory of an ingested file goes: `python -m bench.redis_bytes [--files N]`.

`./dev bench` prints one figure for the goal (used_memory added by a first import, per file);
this is its profile. A first `mediacourier sync` of N tiny files (case c's tree) runs into a
private Redis; then every key of the deployment's prefix is measured with `MEMORY USAGE
key SAMPLES 0` (every element counted, not an estimate) and grouped by kind: the part of its
name after the prefix up to the next ':' (file records, the content index, the library index,
the journal stream, …). The table gives each kind's keys, bytes per file and share.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter

import redis

from bench import data
from bench.procs import mc_sync, scratch_redis, write_config

PREFIX = "redis-bytes"


def kind_of(key: str, prefix: str) -> str:
    """'redis-bytes:file:src:…' -> 'file'; a key of the prefix alone is '(prefix)'."""
    rest = key[len(prefix):].lstrip(":")
    return rest.split(":", 1)[0] or "(prefix)"


def measure(client: redis.Redis, prefix: str) -> tuple[Counter[str], Counter[str]]:
    """(bytes, keys) per kind of every key under prefix."""
    sizes: Counter[str] = Counter()
    counts: Counter[str] = Counter()
    for raw in client.scan_iter(match=f"{prefix}*", count=1000):
        key = raw.decode("utf-8", "surrogateescape")
        kind = kind_of(key, prefix)
        sizes[kind] += int(client.memory_usage(raw, samples=0) or 0)
        counts[kind] += 1
    return sizes, counts


def report(sizes: Counter[str], counts: Counter[str], files: int) -> list[str]:
    total = sum(sizes.values())
    lines = [f"{'kind':<24} {'keys':>9} {'bytes/file':>11} {'share':>7}"]
    for kind, size in sizes.most_common():
        lines.append(f"{kind:<24} {counts[kind]:>9,} {size / files:>11.0f} {size / total:>7.1%}")
    lines.append(f"{'all keys':<24} {sum(counts.values()):>9,} {total / files:>11.0f} "
                 f"{1:>7.0%}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.redis_bytes", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=10_000)
    args = parser.parse_args(argv)
    with scratch_redis("redis-bytes-") as (work, redis_url):
        tree = data.big_tree(work / "src", args.files, 1)
        cfg = write_config(work / "rb.toml", redis_url=redis_url, key_prefix=PREFIX,
                           data_dir=work / "data", source_name="src", source=tree.root,
                           library=work / "lib")
        client = redis.Redis.from_url(redis_url)
        before = int(client.info("memory")["used_memory"])
        done = mc_sync(cfg, work / "sync.log")
        if done.returncode != 0:
            print(done.output[-2000:], file=sys.stderr)
            return 1
        used = (int(client.info("memory")["used_memory"]) - before) / tree.count
        sizes, counts = measure(client, PREFIX)
        print(f"first import of {tree.count:,} files: used_memory +{used:.0f} bytes/file "
              "(the bench's figure); by key kind (MEMORY USAGE):")
        print("\n".join(report(sizes, counts, tree.count)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
