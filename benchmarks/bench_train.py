"""Measure training speed and peak memory of each model at one configuration on the CPU.

Each model runs in its own process so that its peak resident memory is its own. A step is one
forward pass, one backward pass and one AdamW update on a batch of random track windows.

    .venv/bin/python benchmarks/bench_train.py                 # the configuration in docs/benchmarks.md
    .venv/bin/python benchmarks/bench_train.py --steps 5 --models lstm,mann
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time

import torch

from segue.models import NEURAL_MODEL_NAMES, ModelConfig, NextTrackModel


def measure(args: argparse.Namespace) -> dict:
    """Train one model on random windows; return milliseconds per step and sequences per second."""
    torch.manual_seed(0)
    torch.set_num_threads(args.threads)
    config = ModelConfig(
        model=args.model, embedding_dim=args.embedding, hidden_size=args.hidden, memory_slots=args.slots,
        memory_width=args.width, read_heads=args.heads, dropout=0.1,
    )
    model = NextTrackModel(config, args.vocabulary + 2)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    batches = [torch.randint(2, args.vocabulary + 2, (args.batch, args.length + 1)) for _ in range(4)]

    times = []
    for step in range(args.warmup + args.steps):
        tokens = batches[step % len(batches)]
        started = time.perf_counter()
        loss, count = model.loss(tokens[:, :-1], tokens[:, 1:])
        optimizer.zero_grad(set_to_none=True)
        (loss / count).backward()
        optimizer.step()
        if step >= args.warmup:
            times.append(time.perf_counter() - started)

    step_ms = 1000 * statistics.median(times)
    return {
        "model": args.model,
        "parameters": sum(p.numel() for p in model.parameters()),
        "step_ms": step_ms,
        "step_ms_min": 1000 * min(times),
        "sequences_per_second": args.batch / (step_ms / 1000),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(NEURAL_MODEL_NAMES), help="comma-separated models (default: all)")
    parser.add_argument("--batch", type=int, default=64, help="windows per batch (default: 64)")
    parser.add_argument("--length", type=int, default=50, help="steps per window (default: 50)")
    parser.add_argument("--embedding", type=int, default=128, help="embedding width (default: 128)")
    parser.add_argument("--hidden", type=int, default=128, help="LSTM or controller units (default: 128)")
    parser.add_argument("--slots", type=int, default=128, help="memory slots (default: 128)")
    parser.add_argument("--width", type=int, default=40, help="memory slot width (default: 40)")
    parser.add_argument("--heads", type=int, default=4, help="read heads (default: 4)")
    parser.add_argument("--vocabulary", type=int, default=25_000, help="vocabulary tracks (default: 25,000)")
    parser.add_argument("--steps", type=int, default=20, help="measured steps per model (default: 20)")
    parser.add_argument("--warmup", type=int, default=3, help="unmeasured steps first (default: 3)")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads(), help="torch threads (default: all cores)")
    parser.add_argument("--model", help=argparse.SUPPRESS)  # set in the child process that measures one model
    parser.add_argument("--json", action="store_true", help="print JSON lines instead of a table")
    args = parser.parse_args()

    if args.model:
        print(json.dumps(measure(args)))
        return

    results = []
    for name in args.models.split(","):
        child = [a for a in sys.argv[1:] if a != "--json"] + ["--model", name]
        output = subprocess.run([sys.executable, __file__, *child], capture_output=True, text=True, check=True)
        results.append(json.loads(output.stdout))

    if args.json:
        for result in results:
            print(json.dumps(result))
        return
    print(
        f"batch {args.batch} x {args.length} steps, embedding {args.embedding}, controller {args.hidden}, "
        f"memory {args.slots} x {args.width}, {args.heads} read heads, vocabulary {args.vocabulary:,}, "
        f"{args.threads} thread(s), median of {args.steps} steps"
    )
    lstm = next((r["step_ms"] for r in results if r["model"] == "lstm"), None)
    print("| model | parameters | ms per step | sequences/s | x LSTM | peak RSS MB |")
    print("|---|---|---|---|---|---|")
    for r in results:
        ratio = f"{r['step_ms'] / lstm:.2f}" if lstm else "-"
        print(
            f"| {r['model']} | {r['parameters']:,} | {r['step_ms']:.0f} | {r['sequences_per_second']:.0f} | "
            f"{ratio} | {r['peak_rss_mb']:.0f} |"
        )


if __name__ == "__main__":
    main()
