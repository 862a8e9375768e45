-- 0005: the Slack outbox. A campaign run's summary is stored here before it is sent, one row per run
-- and channel (or webhook), so a Slack failure never loses it: it stays 'pending' with the error and
-- `perfcampaign notify --pending` sends it later, exactly once (a row is claimed before it is sent;
-- the posted message's ts and the uploaded chart's file ids are kept, so a retry never posts twice).
-- Tokens are never stored: only their references ('${env:SLACK_BOT_TOKEN}', '${prefect:slack-bot}').

CREATE TABLE notifications (
    notification_id VARCHAR PRIMARY KEY,            -- uuid5 of the runs and the destination: idempotent
    campaign        VARCHAR NOT NULL,
    environments    VARCHAR[] NOT NULL,             -- the environments the message covers
    run_ids         VARCHAR[] NOT NULL,
    flow_run_id     VARCHAR,
    transport       VARCHAR NOT NULL,               -- bot (chat.postMessage + files_upload_v2) | webhook
    channel         VARCHAR,                        -- '#perf-demo' or a channel id (bot)
    level           VARCHAR NOT NULL,               -- always | on_failure | on_regression
    verdict         VARCHAR NOT NULL,               -- passed | regressed | failed | error | interrupted
    text            VARCHAR NOT NULL,               -- the fallback text (notifications, screen readers)
    blocks          JSON NOT NULL,                  -- the Block Kit message
    attachment      VARCHAR,                        -- the PNG uploaded into the message's thread (bot)
    report_html     VARCHAR,
    token_ref       VARCHAR,                        -- reference resolved at send time
    webhook_ref     VARCHAR,
    status          VARCHAR NOT NULL,               -- pending | sending | sent | failed | skipped
    attempts        INTEGER NOT NULL DEFAULT 0,
    max_attempts    INTEGER NOT NULL DEFAULT 5,
    last_error      VARCHAR,                        -- why the last attempt failed, or why it was skipped
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL,
    sent_at         TIMESTAMPTZ,
    message_ts      VARCHAR,                        -- Slack's ts of the posted message, once posted
    posted_channel  VARCHAR,                        -- the channel id Slack answered with
    file_ids        VARCHAR[]                       -- the uploaded chart, once uploaded
);
