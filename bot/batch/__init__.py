"""Batch jobs: one prompt template over every row of a CSV, through Claude's Message Batches API.

Pure parts: `table` (CSV parsing and checks), `template` (rendering), `plan` (requests, splitting,
estimates), `results` (merging answers back into rows), `jobs` (the job record). Adapters: `api`
(the SDK), `store` (Redis: jobs, results, the poller's leader lock), `poller` (the loop)."""
