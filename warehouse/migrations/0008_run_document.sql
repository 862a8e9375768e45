-- 0008: what the run document needs to be rebuilt from the warehouse alone (warehouse/documents.py):
-- the campaign's team, the stages the user asked for by name (NULL: all the environment allows; a
-- stage asked for by name and refused makes the run's exit code 2), and how the verdict treats
-- numbers the load generator could not vouch for (warn | fail, the campaign's verdict.untrustworthy).

ALTER TABLE runs ADD COLUMN team VARCHAR;
ALTER TABLE runs ADD COLUMN requested_stages VARCHAR[];
ALTER TABLE runs ADD COLUMN trust_policy VARCHAR;
ALTER TABLE runs ADD COLUMN error VARCHAR;                      -- why the run errored (service start, target)
