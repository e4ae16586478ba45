"""The usage ledger, budgets and usage reports: what each Claude call cost, and who may spend more.

Pure parts (records, budget, keys) apart from the Redis adapter (ledger) and the UsageGuard the
core calls (guard).
"""
