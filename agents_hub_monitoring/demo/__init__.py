"""The offline demo: a scripted multi-turn agent, no keys and no servers needed."""

from agents_hub_monitoring.demo.run import build_demo_monitor, run_demo

__all__ = ["build_demo_monitor", "run_demo"]
