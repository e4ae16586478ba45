"""The usage ledger, budgets and usage reports: what each Claude call cost, and who may spend more.

Pure parts (records, budget, keys) apart from the Redis adapters (ledger; holds, the spend
reservations) and the UsageGuard the core calls (guard); batches holds the budget side of
/claude-batch.
"""
