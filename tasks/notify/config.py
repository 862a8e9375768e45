"""The campaign's ``notify:`` section lives with the campaign model (``campaigns/notify.py``)."""

from campaigns.notify import DEFAULT_TOKEN_REF, NotifyLevel, NotifySettings, channel_for, settings_of

__all__ = ["DEFAULT_TOKEN_REF", "NotifyLevel", "NotifySettings", "channel_for", "settings_of"]
