"""Overhead of agents_hub_monitoring against no instrumentation and a hand-written OpenTelemetry span.

Every variant runs in a fresh process (``_workloads.py``) so imports, caches and GC state never
leak between variants; a local OTLP/HTTP receiver in its own process (``_receiver.py``) decodes
and counts every span. Measured for a trivial sync and async function and a 6-span agent run:

- wall time per call on the calling thread (median of the repetitions), with two figures that
  explain it: the calling thread's own CPU per call, and garbage collection time per call,
- CPU per span including the export thread (process CPU over the timed phase and its flushes),
- function calls per call (cProfile, deterministic: primitive calls / calls),
- spans received vs sent, peak RSS.

Variants: ``none``; ``otel``, the hand-written span (``start_as_current_span`` with 3 attributes,
BatchSpanProcessor, official OTLP/HTTP exporter); ``otel-same``, hand-written OTel code that records
the same span attributes and metrics as ours (``_same_telemetry.py``); ``sdk-floor``, only the OTel
SDK's share of that telemetry (attributes precomputed, measurements recorded at the flush, our fast
encoder; ``_sdk_floor.py``); ``ours-fast`` and ``ours-stock``, OTLPMonitor (metrics recorded, content
capture at its default) with our exporter's fast encoder or the official encoding. Targets apply to
the encoding OTLPMonitor uses by default, against ``otel``; the table's ratios are to ``otel`` too.
A last section, without targets, sets ours against ``otel-same`` and ``sdk-floor``.
Every repetition is flushed, so the batch queue (2048 spans) never overflows: a lost span is a bug.

Targets print PASS or FAIL; the exit status is 1 only if a span was lost (2 if a variant crashed).
Default run about 65 s on 2 cores, ``--quick`` about 5 s. From the repository root::

    .venv/bin/python benchmarks/overhead.py [--quick] [--json out.json] [--api cm] [--content off]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

__all__ = ["main"]

HERE = Path(__file__).resolve().parent
WORKLOADS = ("sync", "async", "agent")
# (label, variant, encoder): the hand-written span always uses the official exporter.
VARIANTS = (("none", "none", None), ("otel", "otel", None), ("otel-same", "otel-same", None),
            ("sdk-floor", "sdk-floor", None), ("ours-fast", "ours", "fast"), ("ours-stock", "ours", "stock"))
SAME_TELEMETRY = ("otel-same", "sdk-floor")  # record what ours records: compared without targets
RUNS = {  # a repetition holds at most 1500 spans: below the batch queue's 2048, so nothing is dropped
    "default": {"rounds": 3, "reps": 15, "calls": {"sync": 1000, "async": 1000, "agent": 250},
                "profile_calls": {"sync": 500, "async": 500, "agent": 100}},
    "quick": {"rounds": 1, "reps": 4, "calls": {"sync": 300, "async": 300, "agent": 60},
              "profile_calls": {"sync": 100, "async": 100, "agent": 20}},
}
TARGETS = (  # (metric, workloads, limit) on ours / hand-written
    ("wall_us", ("sync", "async", "agent"), 1.3),
    ("calls_per_call", ("sync", "async"), 1.3),
    ("cpu_us_per_span", ("sync", "async", "agent"), 1.0),
)


class Receiver:
    """The receiver process: started on enter, stopped (stdin closed) on exit."""

    def __enter__(self) -> Receiver:
        self.process = subprocess.Popen([sys.executable, str(HERE / "_receiver.py")], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, text=True, env=_clean_env())
        self.url = f"http://127.0.0.1:{int(self.process.stdout.readline())}"  # type: ignore[union-attr]
        return self

    def spans(self, prefix: str) -> int:
        with urllib.request.urlopen(f"{self.url}/counts", timeout=10) as response:
            return int(json.load(response)["spans"].get(prefix, 0))

    def __exit__(self, *exc: object) -> None:
        self.process.stdin.close()  # type: ignore[union-attr]
        self.process.wait(timeout=10)


def _clean_env() -> dict[str, str]:
    # The user's OTEL_* / AGENTS_HUB_* settings must not redirect or reconfigure the variants.
    return {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "AGENTS_HUB_"))}


def run_variant(receiver: Receiver, run: dict[str, Any], workload: str, label: str, variant: str,
                encoder: str | None, round_: int) -> dict[str, Any]:
    prefix = f"/r{round_}-{workload}-{label}"
    config = {"variant": variant, "workload": workload, "encoder": encoder, "endpoint": receiver.url + prefix,
              "api": run["api"], "content": run["content"],
              "calls": run["calls"][workload], "reps": run["reps"], "profile_calls": run["profile_calls"][workload]}
    try:
        done = subprocess.run([sys.executable, str(HERE / "_workloads.py"), json.dumps(config)],
                              capture_output=True, text=True, timeout=300, env=_clean_env())
    except subprocess.TimeoutExpired:
        return {"error": "timed out after 300 s"}
    try:
        result = json.loads(done.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):  # crashed: reported as a failed variant, the run goes on
        return {"error": (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1]}
    result["spans_received"] = receiver.spans(prefix)
    return result


def summarise(samples: list[dict[str, Any]]) -> dict[str, Any]:
    if any("error" in sample for sample in samples):
        return {"error": next(sample["error"] for sample in samples if "error" in sample)}
    cpu = [s["cpu_us_per_span"] for s in samples if s["cpu_us_per_span"] is not None]
    return {
        "wall_us": statistics.median(w for s in samples for w in s["wall_ns"]) / 1000,
        "cpu_us_per_span": statistics.median(cpu) if cpu else None,
        "thread_cpu_us": statistics.median(s["thread_cpu_us_per_call"] for s in samples),
        "gc_us": statistics.median(s["gc_us_per_call"] for s in samples),
        "calls_per_call": statistics.median(s["calls_per_call"] for s in samples),
        "python_calls_per_call": statistics.median(s["python_calls_per_call"] for s in samples),
        "spans_sent": sum(s["spans_sent"] for s in samples),
        "spans_received": sum(s["spans_received"] for s in samples),
        "rss_mb": statistics.median(s["rss_mb"] for s in samples),
        "api": samples[0]["api"], "encoder": samples[0]["encoder"],
    }


def default_label(results: dict[str, dict[str, Any]]) -> str:
    """The variant OTLPMonitor builds without tweaks (its encoder is reported as 'default: ...')."""
    encoder = str(results.get("sync/ours-fast", {}).get("encoder", ""))
    return "ours-fast" if "default: fast" in encoder else "ours-stock"


def _ratio(ours: Any, theirs: Any) -> float | None:
    return ours / theirs if isinstance(ours, (int, float)) and isinstance(theirs, (int, float)) and theirs else None


def _cell(value: Any, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def print_table(results: dict[str, dict[str, Any]]) -> None:
    head = (f"{'workload':8} {'variant':11} {'wall us/call':>12} {'x':>5} {'thread CPU':>10} {'GC us':>6} "
            f"{'CPU us/span':>11} {'x':>5} "
            f"{'calls/call':>10} {'x':>5} {'py calls':>8} {'sent':>7} {'recv':>7} {'RSS MB':>7} {'x':>5}  api")
    print(head)
    print("-" * len(head))
    for workload in WORKLOADS:
        otel = results.get(f"{workload}/otel", {})
        for label, _, _ in VARIANTS:
            row = results.get(f"{workload}/{label}", {})
            if "error" in row:
                print(f"{workload:8} {label:11} FAILED: {row['error']}")
                continue
            ratio = {key: _ratio(row.get(key), otel.get(key)) for key in
                     ("wall_us", "cpu_us_per_span", "calls_per_call", "rss_mb")}
            print(f"{workload:8} {label:11} {_cell(row.get('wall_us')):>12} {_cell(ratio['wall_us']):>5} "
                  f"{_cell(row.get('thread_cpu_us')):>10} {_cell(row.get('gc_us'), 1):>6} "
                  f"{_cell(row.get('cpu_us_per_span')):>11} {_cell(ratio['cpu_us_per_span']):>5} "
                  f"{_cell(row.get('calls_per_call'), 1):>10} {_cell(ratio['calls_per_call']):>5} "
                  f"{_cell(row.get('python_calls_per_call'), 1):>8} {row.get('spans_sent', 0):>7} "
                  f"{row.get('spans_received', 0):>7} {_cell(row.get('rss_mb'), 1):>7} {_cell(ratio['rss_mb']):>5}"
                  f"  {row.get('api', '')}")


def check_targets(results: dict[str, dict[str, Any]]) -> tuple[list[dict[str, Any]], int]:
    ours = default_label(results)
    checks = []
    for metric, workloads, limit in TARGETS:
        for workload in workloads:
            ratio = _ratio(results.get(f"{workload}/{ours}", {}).get(metric),
                           results.get(f"{workload}/otel", {}).get(metric))
            checks.append({"target": f"{metric} {workload} <= {limit}x hand-written", "ratio": ratio,
                           "pass": ratio is not None and ratio <= limit})
    lost = sum(row.get("spans_sent", 0) - row.get("spans_received", 0) for row in results.values())
    checks.append({"target": "no span lost (all variants)", "ratio": None, "lost": lost, "pass": lost == 0})
    print(f"\nTargets for ours as OTLPMonitor builds it ({ours}), ratio = ours / hand-written span:")
    for check in checks:
        shown = f"{check['ratio']:.3f}x" if check["ratio"] is not None else f"lost={check.get('lost', '?')}"
        print(f"  {'PASS' if check['pass'] else 'FAIL'}  {check['target']:45} {shown}")
    return checks, lost


def compare_same_telemetry(results: dict[str, dict[str, Any]]) -> dict[str, dict[str, dict[str, float | None]]]:
    """Ours / variants recording the same telemetry (no target): the cost of the monitor itself."""
    ours = default_label(results)
    ratios: dict[str, dict[str, dict[str, float | None]]] = {}
    for baseline in SAME_TELEMETRY:
        print(f"\nAgainst {baseline}, which records the same telemetry (no target), ratio = {ours} / {baseline}:")
        ratios[baseline] = {}
        for workload in WORKLOADS:
            mine, same = results.get(f"{workload}/{ours}", {}), results.get(f"{workload}/{baseline}", {})
            row = ratios[baseline][workload] = {metric: _ratio(mine.get(metric), same.get(metric))
                                                for metric in ("wall_us", "thread_cpu_us", "cpu_us_per_span")}
            print(f"  {workload:6} wall {_cell(row['wall_us'], 3)}x   thread CPU {_cell(row['thread_cpu_us'], 3)}x   "
                  f"CPU per span {_cell(row['cpu_us_per_span'], 3)}x")
    return ratios


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke run (fewer calls, one round)")
    parser.add_argument("--json", type=Path, help="write the figures to this file")
    parser.add_argument("--content", choices=("on", "off"), default="on",
                        help="ours: content capture at its default (on), or off (what content costs)")
    parser.add_argument("--api", choices=("auto", "cm"), default="auto",
                        help="ours: decorators when BaseMonitor has them (auto), or context managers (cm)")
    args = parser.parse_args(argv)
    run = {**RUNS["quick" if args.quick else "default"], "api": args.api, "content": args.content == "on"}
    started = time.perf_counter()
    samples: dict[str, list[dict[str, Any]]] = {}
    with Receiver() as receiver:
        for round_ in range(run["rounds"]):  # rounds interleave the variants, so drift hits all alike
            for workload in WORKLOADS:
                for label, variant, encoder in VARIANTS:
                    result = run_variant(receiver, run, workload, label, variant, encoder, round_)
                    samples.setdefault(f"{workload}/{label}", []).append(result)
    results = {key: summarise(value) for key, value in samples.items()}
    print(f"agents_hub_monitoring overhead ({'quick' if args.quick else 'default'} run"
          f"{'' if run['content'] else ', ours with content capture off'}; python "
          f"{platform.python_version()}, {os.cpu_count()} CPUs, {run['rounds']} round(s) x {run['reps']} reps)\n")
    print_table(results)
    checks, lost = check_targets(results)
    same = compare_same_telemetry(results)
    elapsed = time.perf_counter() - started
    print(f"\n{elapsed:.1f}s in total")
    if args.json:
        args.json.write_text(json.dumps({"run": run, "quick": args.quick, "python": platform.python_version(),
                                         "cpus": os.cpu_count(), "results": results, "targets": checks,
                                         "same_telemetry": same,
                                         "elapsed_s": elapsed}, indent=2))
    if any("error" in row for row in results.values()):
        return 2
    return 1 if lost else 0


if __name__ == "__main__":
    sys.exit(main())
