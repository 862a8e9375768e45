"""The campaign file's ``notify:`` section: when and how a run is announced in Slack.

```yaml
slack_channel: "#perf-demo"                 # the campaign's channel (existing field)
environments:
  production: {kind: production, base_url: …, slack_channel: "#perf-prod"}   # per environment
notify:
  level: on_failure                         # always | on_failure | on_regression
  levels: {dev: on_regression}              # per environment
  token: ${env:SLACK_BOT_TOKEN}             # or ${prefect:slack-bot-token} (a Prefect Secret block)
  webhook: ${env:SLACK_WEBHOOK_URL}         # incoming webhook instead of a bot (no chart upload)
  report_url: https://perf.example.com/reports   # where <warehouse folder>/reports is served
```

Levels: ``always`` — every run; ``on_failure`` — an environment failed, errored, regressed or was
interrupted; ``on_regression`` — only when a regression (a change point in the bad direction, or a
first-night suspect) was found.

Channels: an environment's ``slack_channel``, else the campaign's. Environments that share a channel
share one message: one message per campaign run and channel, never one per stage or shard.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator

from campaigns.model import Strict
from campaigns.types import REF

NotifyLevel = Literal["always", "on_failure", "on_regression"]
DEFAULT_TOKEN_REF = "${env:SLACK_BOT_TOKEN}"


def _reference(value: str | None, what: str) -> str | None:
    if value is None:
        return None
    if not REF.fullmatch(value.strip()):
        raise ValueError(f"{what} is a secret: write a reference such as '${{env:NAME}}' or "
                         f"'${{prefect:block-name}}', not the value")
    return value.strip()


class NotifySettings(Strict):
    """How and when a campaign run is announced in Slack."""

    level: NotifyLevel = Field("always", description="always | on_failure | on_regression.")
    levels: dict[str, NotifyLevel] = Field(default_factory=dict, description="Per environment overrides.")
    token: str = Field(DEFAULT_TOKEN_REF, description="Bot token reference: ${env:NAME} or ${prefect:block}.")
    webhook: str | None = Field(None, description="Incoming webhook URL reference (instead of the bot token).")
    upload_chart: bool = Field(True, description="Upload the summary PNG into the message's thread (bot only).")
    report_url: str | None = Field(None, description="HTTP(S) base URL serving the reports folder; links "
                                                     "in Slack point there instead of the local path.")
    mention: str | None = Field(None, description="Prepended when an environment failed, e.g. '<!here>'.")
    max_attempts: int = Field(5, ge=1, le=100, description="Sends tried before a summary is marked failed.")

    @field_validator("token")
    @classmethod
    def _token(cls, value: str) -> str:
        return _reference(value, "notify.token") or DEFAULT_TOKEN_REF

    @field_validator("webhook")
    @classmethod
    def _webhook(cls, value: str | None) -> str | None:
        return _reference(value, "notify.webhook")

    @field_validator("report_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("report_url is an http(s) URL (the folder that serves <warehouse>/reports)")
        return value.rstrip("/") if value else value

    def level_for(self, environment: str) -> NotifyLevel:
        return self.levels.get(environment, self.level)


def settings_of(campaign: Any) -> NotifySettings:
    """The campaign's ``notify:`` section, or the defaults when it has none (or no such field yet)."""
    value = getattr(campaign, "notify", None)
    if isinstance(value, NotifySettings):
        return value
    if isinstance(value, dict):
        return NotifySettings.model_validate(value)
    return NotifySettings()


def channel_for(campaign: Any, environment: str) -> str | None:
    """An environment's ``slack_channel``, else the campaign's (None: no Slack for it)."""
    envs = getattr(campaign, "environments", {}) or {}
    env = envs.get(environment)
    return getattr(env, "slack_channel", None) or getattr(campaign, "slack_channel", None)
