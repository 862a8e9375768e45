"""Load profiles, one executor per file (named after its type string), and their registry."""

from tasks.load.executors.base import REGISTRY, ArrivalExecutor, Executor, VUExecutor, executor_for, register
from tasks.load.executors import constant_arrival_rate, constant_vus, ramping_arrival_rate, ramping_vus  # noqa: F401

__all__ = ["REGISTRY", "ArrivalExecutor", "Executor", "VUExecutor", "executor_for", "register"]
