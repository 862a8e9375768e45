"""Flows whose Prefect form offers one campaign's environments as a drop-down.

The generic flow (``flows/campaign.py:campaign``) takes any campaign file, so its form can only
offer a free list of environment names. A deployment for one campaign points at one of these
instead (``prefect.yaml``'s ad-hoc deployment: ``entrypoint: flows/forms.py:demo``): the same flow,
named ``campaign``, whose form defaults to that file and lists that campaign's environments.

Add a line per campaign a team runs from the UI, then ``prefect deploy``::

    shop = campaign_form("campaigns/shop.yaml")

The environments are read when the deployment is made (and when a worker loads the flow): after
adding an environment to a campaign, deploy again so the form shows it.
"""

from __future__ import annotations

from flows.campaign import campaign_form

demo = campaign_form("campaigns/demo.yaml")
