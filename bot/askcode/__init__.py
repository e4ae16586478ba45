"""/ask-code: git checkouts, file selection, repository context, code tools and citations."""
