-- 0009: who or what started each run, and whether the process running it is still alive (issue 14).
--
-- Audit: the trigger (already in runs.trigger: cli | schedule | manual | ci …) is joined by who asked
-- (an OS user, a Prefect user, a schedule, an automation), the deployment and schedule of a Prefect
-- flow run, and the parameters the run was asked with (secrets redacted); the campaign's hash is
-- runs.campaign_sha256 and the flow run runs.flow_run_id.
--
-- Liveness: a run holds a lease renewed by a heartbeat while its process lives. A `running` run
-- whose process is gone (same host: its pid is not alive, or is another process now; any host: no
-- heartbeat for 2 × lease_s + 15 s) is marked `crashed` at the next start or by
-- `perfcampaign runs --repair`, with when and why (repaired_at, repair_note).

ALTER TABLE runs ADD COLUMN triggered_by VARCHAR;      -- user:alice | schedule:nightly-staging | prefect-user:… | automation:…
ALTER TABLE runs ADD COLUMN deployment VARCHAR;        -- Prefect deployment (flow/deployment name), when run by one
ALTER TABLE runs ADD COLUMN schedule VARCHAR;          -- the deployment schedule's slug, when a schedule created the flow run
ALTER TABLE runs ADD COLUMN parameters JSON;           -- what the run was asked with (CLI options or flow parameters)
ALTER TABLE runs ADD COLUMN pid INTEGER;               -- the process running it
ALTER TABLE runs ADD COLUMN pid_started_at DOUBLE;     -- that process's start (epoch s): a reused pid is another process
ALTER TABLE runs ADD COLUMN heartbeat_at TIMESTAMPTZ;  -- renewed every lease_s / 2 while the run lives
ALTER TABLE runs ADD COLUMN lease_s DOUBLE;            -- the lease; silent for 2 × lease_s + 15 s = crashed
ALTER TABLE runs ADD COLUMN repaired_at TIMESTAMPTZ;   -- when the run was marked crashed
ALTER TABLE runs ADD COLUMN repair_note VARCHAR;       -- why (the process gone, the heartbeat silent)

-- Exactly-once Slack: set just before chat.postMessage (or the webhook post) and cleared once Slack
-- answered; still set with no message_ts means the last post's outcome is unknown (its reply was
-- lost), so the outbox looks for the message's idempotency key in the channel's history before it
-- ever posts again (tasks/notify/outbox.py).
ALTER TABLE notifications ADD COLUMN posting_since TIMESTAMPTZ;
