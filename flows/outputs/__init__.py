"""The outputs of a run, one module each, behind one interface and one manager.

``base`` holds the contract (:class:`Output`, opt-in :class:`WithLifecycle` / :class:`WithProgress`,
:class:`OutputOptions`, :class:`OutputContext`); ``manager`` starts, feeds and publishes them
(:func:`build_outputs` is the registry, :func:`publish_run` the whole of it). Outputs, in
publishing order: ``report`` (HTML + PNGs), ``junit``, ``pushgateway``, ``slack``, ``artifacts``
(Prefect), ``json`` (``run.json``). Adding an output is adding a module and a line in
``build_outputs``; ``tests/flows/test_outputs.py`` checks every registered one against the contract.
"""

from flows.outputs.base import Output, OutputContext, OutputOptions, WithLifecycle, WithProgress
from flows.outputs.manager import OutputManager, build_outputs, campaign_of, publish_run

__all__ = ["Output", "OutputContext", "OutputManager", "OutputOptions", "WithLifecycle", "WithProgress",
           "build_outputs", "campaign_of", "publish_run"]
